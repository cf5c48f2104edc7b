//! `cartpipe`: the pipeline's code on local files, for debugging data and for
//! benchmarks. Outputs are written only after the whole computation
//! succeeded, each through a temporary file renamed into place.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cartpipe::contract;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cartpipe",
    version,
    about = "Run the cart pipeline on local files"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write ROWS generated rows to OUT (same seed, same bytes).
    Generate {
        rows: u64,
        out: PathBuf,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Aggregate IN by product into OUTDIR/cart_aggregated_data.csv
    /// (and OUTDIR/rejects/<IN's file name> when rows are rejected).
    Process { input: PathBuf, outdir: PathBuf },
    /// Rank each customer's top products into OUTDIR/promotion_data.csv.
    Promote {
        input: PathBuf,
        outdir: PathBuf,
        #[arg(long, default_value_t = contract::DEFAULT_TOP_N, value_parser = clap::value_parser!(usize))]
        top: usize,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<String, String> {
    match cli.command {
        Command::Generate { rows, out, seed } => {
            if rows > cartpipe::generate::MAX_ROWS {
                return Err(format!(
                    "ROWS is {rows}; allowed: 0 to {}",
                    cartpipe::generate::MAX_ROWS
                ));
            }
            let body = cartpipe::generate::generate(rows, seed);
            write_atomic(&out, [&body[..]])?;
            Ok(format!(
                "wrote {rows} rows ({} bytes) to {}",
                body.len(),
                out.display()
            ))
        }
        Command::Process { input, outdir } => {
            let bytes = read(&input)?;
            let out = contract::process(&bytes).map_err(|e| format!("{}: {e}", input.display()))?;
            let file_name = input
                .file_name()
                .ok_or_else(|| format!("{}: not a file name", input.display()))?;
            let aggregate = outdir.join(contract::AGGREGATE_KEY);
            write_atomic(&aggregate, [&out.aggregate_csv[..]])?;
            let mut summary = format!(
                "rows {} valid {} rejected {} products {}\nwrote {}",
                out.counts.rows,
                out.counts.valid,
                out.counts.rejected,
                out.counts.products,
                aggregate.display()
            );
            if let Some(rejects) = out.rejects_csv {
                let path = outdir.join("rejects").join(file_name);
                write_atomic(&path, [&rejects[..]])?;
                summary.push_str(&format!("\nwrote {}", path.display()));
            }
            Ok(summary)
        }
        Command::Promote { input, outdir, top } => {
            if top == 0 {
                return Err("--top is 0; allowed: 1 or more".into());
            }
            let bytes = read(&input)?;
            let out =
                contract::promote(&bytes, top).map_err(|e| format!("{}: {e}", input.display()))?;
            let path = outdir.join(contract::PROMOTION_KEY);
            write_atomic(&path, out.promotion_csv.iter())?;
            Ok(format!(
                "rows {} valid {} rejected {} customers {} promotion rows {}\nwrote {}",
                out.counts.rows,
                out.counts.valid,
                out.counts.rejected,
                out.counts.customers,
                out.counts.promotion_rows,
                path.display()
            ))
        }
    }
}

/// An input file's bytes: mapped when it is a regular file, read otherwise
/// (a pipe, `/dev/stdin`).
enum Input {
    Mapped(memmap2::Mmap),
    Read(Vec<u8>),
}

impl std::ops::Deref for Input {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Input::Mapped(m) => m,
            Input::Read(v) => v,
        }
    }
}

/// Maps the file rather than copying it into a fresh buffer: for a 150 MB
/// file the copy and the buffer's page faults were a fifth of promote's
/// time (docs/performance.md), and polars' own `read_csv` maps its files too.
fn read(path: &Path) -> Result<Input, String> {
    let cannot = |e: std::io::Error| format!("{}: cannot read: {e}", path.display());
    let file = std::fs::File::open(path).map_err(cannot)?;
    let meta = file.metadata().map_err(cannot)?;
    if !meta.is_file() || meta.len() == 0 {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut &file, &mut bytes).map_err(cannot)?;
        return Ok(Input::Read(bytes));
    }
    // SAFETY: the map is read-only and private. Another process writing the
    // file meanwhile changes what is read, as it would under `read(2)`; one
    // truncating it raises SIGBUS, which ends this process before any output
    // is renamed into place (`write_atomic`), so nothing stored is lost
    // either way.
    #[allow(unsafe_code)]
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(cannot)?;
    Ok(Input::Mapped(map))
}

/// Write to a sibling temporary file, then rename: readers never see a
/// partial file, and a failure leaves what was there before.
fn write_atomic<'a>(path: &Path, pieces: impl IntoIterator<Item = &'a [u8]>) -> Result<(), String> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: cannot create: {e}", dir.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let written = std::fs::File::create(&tmp).and_then(|mut file| {
        use std::io::Write;
        pieces
            .into_iter()
            .try_for_each(|piece| file.write_all(piece))
    });
    written
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("{}: cannot write: {e}", path.display())
        })
}
