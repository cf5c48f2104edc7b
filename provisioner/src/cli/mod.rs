//! The command line: global options, then one module per verb.

mod consent;
mod demo;
mod diff;
mod down;
mod invoke;
mod locking;
mod logs;
mod query;
mod saved;
mod serve;
mod session;
mod unlock;
mod up;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::output::{Format, Printer, QueryFormat};

pub use invoke::payload;
pub use session::Session;

#[derive(Debug, Parser)]
#[command(
    name = "stackctl",
    version,
    about = "Provision, deploy and run the cart-abandonment data lake: no Terraform, no state file"
)]
pub struct Cli {
    /// The stack definition.
    #[arg(
        short = 'f',
        long = "file",
        global = true,
        default_value = "stack.yaml"
    )]
    pub file: PathBuf,
    /// Target from stack.yaml's `targets` (default: its `default_target`).
    #[arg(long, global = true)]
    pub target: Option<String>,
    /// Override a variable of stack.yaml: `--var memory=1024` (repeatable).
    #[arg(long = "var", global = true, value_name = "KEY=VALUE", value_parser = parse_var)]
    pub vars: Vec<(String, String)>,
    /// AWS profile (overrides the target's and AWS_PROFILE).
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// AWS region (overrides the target's and AWS_REGION).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Machine-readable output.
    #[arg(long, global = true)]
    pub json: bool,
    /// Print API calls by operation, read and mutating apart (on stderr).
    #[arg(long, global = true)]
    pub stats: bool,
    /// More detail on stderr: each built package (zip, size, CodeSha256,
    /// toolchain, glibc) and the resources a plan leaves unchanged.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what `up` would change. Exit 0: no changes; 2: changes; 1: error.
    Diff {
        /// Also save the plan, with a fingerprint of what it was made from,
        /// for review and `up --plan FILE`.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Plan with the packages the last build of this workspace and
        /// profile left (in cargo's target directory,
        /// `stackctl-packages/<workspace>-<hash>/<profile>/`) without running
        /// cargo: for a pipeline that builds and tests once, then deploys
        /// that build. Nothing checks that they are as new as the sources.
        #[arg(long)]
        no_build: bool,
    },
    /// Build the packages, then create or reconcile everything the stack needs.
    Up {
        /// Take over same-named resources that lack the stack's owner tag.
        #[arg(long)]
        adopt: bool,
        /// Apply exactly this saved plan (`diff --out FILE`); refused if
        /// anything it was made from has changed.
        #[arg(long, value_name = "FILE")]
        plan: Option<PathBuf>,
        /// Don't ask before deleting resources (required off a terminal
        /// when the plan deletes anything). Never implies --delete-data.
        #[arg(long, short = 'y')]
        yes: bool,
        /// Allow deleting buckets that hold object versions, with their
        /// data. Without it such a plan stops before any change.
        #[arg(long)]
        delete_data: bool,
        /// Deploy the packages the last build of this workspace and
        /// profile left (in cargo's target directory,
        /// `stackctl-packages/<workspace>-<hash>/<profile>/`) without running
        /// cargo: for a pipeline that builds and tests once, then deploys
        /// that build. Nothing checks that they are as new as the sources.
        #[arg(long)]
        no_build: bool,
        #[command(flatten)]
        lock: LockArgs,
    },
    /// Delete everything the stack owns, and nothing else.
    Down {
        /// Don't ask (required when stdin is not a terminal). Never implies
        /// --delete-data.
        #[arg(long, short = 'y')]
        yes: bool,
        /// Also delete buckets that hold object versions, with their data.
        /// Buckets marked `retain` stay even then.
        #[arg(long)]
        delete_data: bool,
        #[command(flatten)]
        lock: LockArgs,
    },
    /// Break the stack's run lock, left by a run that is gone (asks first).
    Unlock {
        /// Don't ask (required when stdin is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Invoke a function synchronously; print its response and log tail.
    Invoke {
        /// The function's key in stack.yaml (e.g. `generator`).
        function: String,
        /// The payload, as JSON text.
        #[arg(long, conflicts_with = "payload_file")]
        payload: Option<String>,
        /// Read the payload from a file.
        #[arg(long, visible_alias = "event")]
        payload_file: Option<PathBuf>,
    },
    /// Print a function's log group (CloudWatch Logs on AWS).
    Logs {
        /// The function's key in stack.yaml.
        function: String,
        /// Keep printing new events until interrupted.
        #[arg(long)]
        follow: bool,
        /// Only events newer than this many minutes.
        #[arg(long, value_name = "MINUTES")]
        since: Option<u64>,
    },
    /// Run SQL over the stack's catalog (Athena on AWS, polars' SQL on the
    /// local target), e.g. `stackctl query "SELECT count(*) FROM carts"`.
    Query {
        /// One SQL statement, over the tables of stack.yaml's `catalog`.
        sql: String,
        /// How to print the rows (`--json` is `--format json`).
        #[arg(long, value_enum, default_value_t = QueryFormat::Table)]
        format: QueryFormat,
    },
    /// The quick start: `up` on the local target, run the pipeline on 1,000
    /// generated rows, and show where the outputs are.
    Demo,
    /// Keep the local cloud running: an S3 endpoint whose uploads trigger the
    /// pipeline, as on AWS.
    Serve {
        /// Port of the S3 endpoint on 127.0.0.1 (0: any free port).
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
}

/// How `up` and `down` wait for the run lock.
#[derive(Debug, Clone, Copy, clap::Args)]
pub struct LockArgs {
    /// Wait this long for another run's lock (`30s`, `2m`) instead of
    /// failing at once.
    #[arg(long = "lock-timeout", value_name = "DURATION", default_value = "0", value_parser = crate::lock::parse_timeout)]
    pub timeout: std::time::Duration,
}

fn parse_var(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!(
            "`{s}` is not KEY=VALUE (for example --var memory=1024)"
        )),
    }
}

/// Parses the arguments and runs; the process exit code. clap's own
/// usage errors exit 1 (2 is `diff`'s "there are changes").
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let printer = Printer::new(
        if cli.json {
            Format::Json
        } else {
            Format::Human
        },
        cli.verbose,
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            printer.error(&anyhow::anyhow!("cannot start the async runtime: {e}"));
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli, &printer)) {
        Ok(code) => code,
        Err(e) => {
            printer.error(&e);
            ExitCode::from(1)
        }
    }
}

async fn run(cli: Cli, printer: &Printer) -> anyhow::Result<ExitCode> {
    let session = Session::open(&cli)?;
    match &cli.command {
        Command::Diff { out, no_build } => {
            diff::run(&session, printer, out.as_deref(), *no_build).await
        }
        Command::Up {
            adopt,
            plan,
            yes,
            delete_data,
            no_build,
            lock,
        } => {
            let flags = up::Flags {
                adopt: *adopt,
                yes: *yes,
                delete_data: *delete_data,
                no_build: *no_build,
                lock_timeout: lock.timeout,
            };
            up::run(&session, printer, flags, plan.as_deref()).await
        }
        Command::Down {
            yes,
            delete_data,
            lock,
        } => down::run(&session, printer, *yes, *delete_data, lock.timeout).await,
        Command::Unlock { yes } => unlock::run(&session, printer, *yes).await,
        Command::Invoke {
            function,
            payload,
            payload_file,
        } => {
            let (inline, file) = (payload.as_deref(), payload_file.as_deref());
            invoke::run(&session, printer, function, inline, file).await
        }
        Command::Logs {
            function,
            follow,
            since,
        } => logs::run(&session, printer, function, *follow, *since).await,
        Command::Query { sql, format } => {
            let format = if cli.json { QueryFormat::Json } else { *format };
            query::run(&session, printer, sql, format).await
        }
        Command::Serve { port } => serve::run(&session, printer, *port).await,
        Command::Demo => demo::run(&session, printer).await,
    }
}
