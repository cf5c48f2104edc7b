//! `stackctl down`: delete everything the stack owns, in reverse dependency
//! order, and nothing it does not own.

use std::fmt;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use serde::Serialize;

use super::Session;
use crate::apply::{ApplyReport, apply_while, read_contents, read_live};
use crate::lock::LockGuard;
use crate::output::{PlanView, Printer};
use crate::plan;
use crate::provider::Cloud;
use crate::spec::Target;
use std::sync::Arc;

#[derive(Debug, Serialize)]
pub struct DownReport {
    pub target: String,
    pub deleted: usize,
    /// Buckets marked `retain`, left in place with their data.
    pub retained: Vec<String>,
    pub applied: ApplyReport,
}

impl fmt::Display for DownReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.deleted == 0 {
            writeln!(f, "Nothing to delete on {}.", self.target)?;
        } else {
            writeln!(f, "Deleted {} resources on {}.", self.deleted, self.target)?;
        }
        for b in &self.retained {
            writeln!(
                f,
                "Kept bucket {b} and its data: it is marked `retain: true` (a later `up` takes it \
                 back as the stack's)."
            )?;
        }
        Ok(())
    }
}

pub async fn run(
    session: &Session,
    printer: &Printer,
    yes: bool,
    delete_data: bool,
    lock_timeout: Duration,
) -> anyhow::Result<ExitCode> {
    let run = (yes, delete_data, lock_timeout);
    match session.target {
        Target::Aws { .. } => run_on(session, printer, run, session.aws().await?).await,
        Target::Local { .. } => run_on(session, printer, run, session.local()?).await,
    }
}

async fn run_on<C: Cloud>(
    session: &Session,
    printer: &Printer,
    (yes, delete_data, lock_timeout): (bool, bool, Duration),
    cloud: Arc<C>,
) -> anyhow::Result<ExitCode> {
    let c = cloud.clone();
    super::locking::holding(session, printer, &*c, "down", lock_timeout, async |guard| {
        locked(session, printer, yes, delete_data, cloud, guard).await
    })
    .await
}

async fn locked<C: Cloud>(
    session: &Session,
    printer: &Printer,
    yes: bool,
    delete_data: bool,
    cloud: Arc<C>,
    guard: &LockGuard<C::Lock>,
) -> anyhow::Result<ExitCode> {
    // Names only: down needs no packages.
    let (ctx, desired) = session.desired(&*cloud, &Default::default()).await?;
    let target = session.describe_target(&ctx);
    let live = read_live(cloud.clone(), &session.stack.name, &desired).await?;
    let plan = plan::plan_down(&session.stack.name, Some(&ctx.region), &live);
    let contents = read_contents(cloud.clone(), plan.bucket_deletes()).await?;
    let mut plan = plan.with_contents(&contents);
    // Before the plan is shown, so it says whether its data deletes go ahead.
    plan.delete_data = delete_data;
    let deleted = plan.changes().count();
    if deleted > 0 || plan.retained().next().is_some() {
        printer.note(PlanView::new(target.clone(), &plan));
    }
    super::consent::check_data_deletes(
        &plan,
        delete_data,
        "To keep a bucket, mark it `retain: true` in stack.yaml and run `stackctl up` first \
         (`down` then leaves it and its data).",
    )?;
    super::consent::confirm_deletes(printer, &plan, yes, "down")?;
    let applied = apply_while(cloud.clone(), &plan, printer.progress(deleted), || {
        guard.is_held()
    })
    .await;
    if applied.failed().next().is_none() {
        // Nothing of the stack is left to finish.
        guard.set_pending(Default::default()).await?;
    }
    if session.stats {
        printer.stats(&cloud.stats());
    }
    let all = applied.failed_lines();
    if !all.is_empty() {
        bail!(
            "{} deletion(s) failed; run `stackctl down` again:\n  {}",
            all.len(),
            all.join("\n  ")
        );
    }
    let retained = plan.retained().map(|s| s.id.name.clone()).collect();
    printer.result(&DownReport {
        target,
        deleted,
        retained,
        applied,
    });
    Ok(ExitCode::SUCCESS)
}
