//! `stackctl down`: delete everything the stack owns, in reverse dependency
//! order, and nothing it does not own.

use std::fmt;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::bail;
use serde::Serialize;

use super::Session;
use crate::apply::{ApplyReport, apply, read_live};
use crate::output::{PlanView, Printer};
use crate::plan;
use crate::provider::Cloud;
use crate::spec::Target;
use std::sync::Arc;

#[derive(Debug, Serialize)]
pub struct DownReport {
    pub target: String,
    pub deleted: usize,
    pub applied: ApplyReport,
}

impl fmt::Display for DownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.deleted == 0 {
            writeln!(f, "Nothing to delete on {}.", self.target)
        } else {
            writeln!(f, "Deleted {} resources on {}.", self.deleted, self.target)
        }
    }
}

pub async fn run(session: &Session, printer: &Printer, yes: bool) -> anyhow::Result<ExitCode> {
    match session.target {
        Target::Aws { .. } => run_on(session, printer, yes, session.aws().await?).await,
        Target::Local { .. } => run_on(session, printer, yes, session.local()?).await,
    }
}

async fn run_on<C: Cloud>(
    session: &Session,
    printer: &Printer,
    yes: bool,
    cloud: Arc<C>,
) -> anyhow::Result<ExitCode> {
    // Names only: down needs no packages.
    let (ctx, desired) = session.desired(&*cloud, &Default::default()).await?;
    let target = session.describe_target(&ctx);
    let live = read_live(cloud.clone(), &session.stack.name, &desired).await?;
    let plan = plan::plan_down(&session.stack.name, Some(&ctx.region), &live);
    let deleted = plan.changes().count();
    if deleted > 0 && !yes {
        if !std::io::stdin().is_terminal() {
            bail!(
                "`down` deletes {deleted} resources and stdin is not a terminal: pass --yes to confirm"
            );
        }
        printer.note(PlanView::new(target.clone(), &plan));
        eprint!(
            "Delete these {deleted} resources of stack `{}`? [y/N] ",
            session.stack.name
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            bail!("cancelled; nothing was deleted");
        }
    }
    let applied = apply(cloud.clone(), &plan, printer.progress(deleted)).await;
    if session.stats {
        printer.stats(&cloud.stats());
    }
    if applied.failed().next().is_some() {
        let all: Vec<String> = applied
            .failed()
            .map(|r| {
                format!(
                    "{} {}: {}",
                    r.action,
                    r.id,
                    r.error.as_deref().unwrap_or("")
                )
            })
            .collect();
        bail!(
            "{} deletion(s) failed; run `stackctl down` again:\n  {}",
            all.len(),
            all.join("\n  ")
        );
    }
    printer.result(&DownReport {
        target,
        deleted,
        applied,
    });
    Ok(ExitCode::SUCCESS)
}
