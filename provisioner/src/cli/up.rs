//! `stackctl up`: build, plan, apply, then print the outputs.

use std::collections::BTreeMap;
use std::fmt;
use std::process::ExitCode;

use anyhow::bail;
use serde::Serialize;

use super::Session;
use crate::apply::{ApplyReport, apply_while};
use crate::lock::LockGuard;
use crate::model::Resource;
use crate::output::{PlanView, Printer};
use crate::provider::Cloud;
use crate::spec::Target;
use std::sync::Arc;

#[derive(Debug, Serialize)]
pub struct UpReport {
    pub target: String,
    pub changes: usize,
    pub applied: ApplyReport,
    pub outputs: BTreeMap<String, String>,
}

impl fmt::Display for UpReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.changes == 0 {
            writeln!(f, "No changes: the stack is up to date on {}.", self.target)?;
        } else {
            writeln!(f, "Applied {} changes on {}.", self.changes, self.target)?;
        }
        writeln!(f, "Outputs:")?;
        for (k, v) in &self.outputs {
            writeln!(f, "  {k} = {v}")?;
        }
        Ok(())
    }
}

/// `up`'s switches.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flags {
    pub adopt: bool,
    pub yes: bool,
    pub delete_data: bool,
    /// `--no-build`: the packages the last build left.
    pub no_build: bool,
    /// How long to wait for another run's lock.
    pub lock_timeout: std::time::Duration,
}

/// `up --plan FILE`: the saved plan to apply exactly.
pub type PlanFile<'a> = Option<&'a std::path::Path>;

pub async fn run(
    session: &Session,
    printer: &Printer,
    flags: Flags,
    plan_file: PlanFile<'_>,
) -> anyhow::Result<ExitCode> {
    // A bad plan file is refused before anything is built or locked.
    let saved = plan_file
        .map(|p| super::saved::read(p, session).map(|s| (p, s)))
        .transpose()?;
    let saved = saved.as_ref().map(|(p, s)| (*p, s));
    match session.target {
        Target::Aws { .. } => run_on(session, printer, flags, saved, session.aws().await?).await,
        Target::Local { .. } => run_on(session, printer, flags, saved, session.local()?).await,
    }
}

type Saved<'a> = Option<(&'a std::path::Path, &'a super::saved::SavedPlan)>;

async fn run_on<C: Cloud>(
    session: &Session,
    printer: &Printer,
    flags: Flags,
    saved: Saved<'_>,
    cloud: Arc<C>,
) -> anyhow::Result<ExitCode> {
    let packages = session.build_packages(printer, flags.no_build).await?;
    let c = cloud.clone();
    super::locking::holding(
        session,
        printer,
        &*c,
        "up",
        flags.lock_timeout,
        async |guard| locked(session, printer, flags, saved, cloud, &packages, guard).await,
    )
    .await
}

async fn locked<C: Cloud>(
    session: &Session,
    printer: &Printer,
    flags: Flags,
    saved: Saved<'_>,
    cloud: Arc<C>,
    packages: &BTreeMap<String, crate::desired::PackageRef>,
    guard: &LockGuard<C::Lock>,
) -> anyhow::Result<ExitCode> {
    let inherited = guard.pending().await;
    let (target, mut plan, live) = super::diff::plan_up(
        session,
        printer,
        cloud.clone(),
        packages,
        flags.adopt,
        &inherited,
    )
    .await?;
    super::diff::show_unchanged(printer, &plan);
    if !plan.conflicts.is_empty() {
        printer.note(PlanView::new(target, &plan));
        if let Some(region) = plan.conflicts.iter().find_map(|c| c.region.as_deref()) {
            bail!(
                "{} resource(s) belong to stack {} deployed in region {region}; IAM roles are \
                 account-wide, so each region needs its own stack name (for example \
                 `stack: \"{}-${{var.region}}\"`); nothing was changed",
                plan.conflicts.len(),
                session.stack.name,
                session.stack.name
            );
        }
        bail!(
            "{} resource(s) already exist without this stack's owner tag (stackctl:stack={}); \
             nothing was changed. Rename them in stack.yaml, or run `stackctl up --adopt` to take them over",
            plan.conflicts.len(),
            session.stack.name
        );
    }
    if let Some((path, saved)) = saved {
        let now = super::saved::inputs(session, packages, &live, &plan)?;
        let mut moved = super::saved::moved(&saved.inputs, &now);
        let fresh = serde_json::to_value(PlanView::new(target.clone(), &plan))?;
        if moved.is_empty() && fresh != saved.plan {
            moved.push("the plan made now differs from the saved one".to_owned());
        }
        if !moved.is_empty() {
            bail!(
                "the plan in {} is stale, made {}; since then:\n  {}\nnothing was changed. Make \
                 and review a new one with `stackctl diff --out {}`",
                path.display(),
                saved.created,
                moved.join("\n  "),
                path.display()
            );
        }
    }
    // Before the plan is shown, so it says whether its data deletes go ahead.
    plan.delete_data = flags.delete_data;
    let changes = plan.changes().count();
    if changes > 0 || plan.retained().next().is_some() {
        printer.note(PlanView::new(target.clone(), &plan));
    }
    super::consent::check_data_deletes(
        &plan,
        flags.delete_data,
        "To keep a bucket, restore it in stack.yaml under its old id; to keep it for good, \
         also mark it `retain: true` there and run `stackctl up` (stackctl then never deletes it).",
    )?;
    // A saved plan was reviewed: applying it is the consent to its deletes
    // (never to destroying data: that is --delete-data's alone).
    super::consent::confirm_deletes(printer, &plan, flags.yes || saved.is_some(), "up")?;
    let journal = super::locking::journal_for(&plan, &inherited);
    guard.set_pending(journal.clone()).await?;
    let applied = apply_while(cloud.clone(), &plan, printer.progress(changes), || {
        guard.is_held()
    })
    .await;
    guard
        .set_pending(super::locking::journal_after(&journal, &applied))
        .await?;
    if session.stats {
        printer.stats(&cloud.stats());
    }
    if let Some(failed) = applied.failed().next() {
        let all = applied.failed_lines();
        bail!(
            "{} step(s) failed (first: {} {}); what succeeded stays, and the next `stackctl up` \
             continues from the live state:\n  {}",
            all.len(),
            failed.action,
            failed.id,
            all.join("\n  ")
        );
    }
    let outputs = outputs(
        plan.steps.iter().filter_map(|s| s.desired()),
        session,
        cloud.as_ref(),
    )
    .await?;
    printer.result(&UpReport {
        target,
        changes,
        applied,
        outputs,
    });
    Ok(ExitCode::SUCCESS)
}

async fn outputs<'a, C: Cloud>(
    resources: impl Iterator<Item = &'a Resource>,
    session: &Session,
    cloud: &C,
) -> anyhow::Result<BTreeMap<String, String>> {
    let ctx = cloud.context().await?;
    let mut out = BTreeMap::new();
    for r in resources {
        match r {
            Resource::Bucket(b) => {
                if let Some(id) =
                    session.stack.buckets.keys().find(|id| {
                        session.stack.bucket_name(id, &ctx.account, &ctx.region) == b.name
                    })
                {
                    out.insert(format!("bucket.{id}"), b.name.clone());
                }
            }
            Resource::Function(f) => {
                if let Some(id) = session
                    .stack
                    .functions
                    .keys()
                    .find(|id| session.stack.function_name(id) == f.name)
                {
                    out.insert(format!("function.{id}"), ctx.function_arn(&f.name));
                }
            }
            _ => {}
        }
    }
    Ok(out)
}
