//! `stackctl up`: build, plan, apply, then print the outputs.

use std::collections::BTreeMap;
use std::fmt;
use std::process::ExitCode;

use anyhow::bail;
use serde::Serialize;

use super::Session;
use crate::apply::{ApplyReport, apply};
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

pub async fn run(session: &Session, printer: &Printer, adopt: bool) -> anyhow::Result<ExitCode> {
    match session.target {
        Target::Aws { .. } => run_on(session, printer, adopt, session.aws().await?).await,
        Target::Local { .. } => run_on(session, printer, adopt, session.local()?).await,
    }
}

async fn run_on<C: Cloud>(
    session: &Session,
    printer: &Printer,
    adopt: bool,
    cloud: Arc<C>,
) -> anyhow::Result<ExitCode> {
    let packages = session.build_packages(printer).await?;
    let (target, plan) = super::diff::plan_up(session, cloud.clone(), &packages, adopt).await?;
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
    let changes = plan.changes().count();
    if changes > 0 {
        printer.note(PlanView::new(target.clone(), &plan));
    }
    let applied = apply(cloud.clone(), &plan, printer.progress(changes)).await;
    if session.stats {
        printer.stats(&cloud.stats());
    }
    if let Some(failed) = applied.failed().next() {
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
            "{} step(s) failed (first: {} {}); what succeeded stays, and the next `stackctl up` \
             continues from the live state:\n  {}",
            all.len(),
            failed.action,
            failed.id,
            all.join("\n  ")
        );
    }
    let outputs = outputs(
        plan.steps.iter().filter_map(|s| s.desired.as_ref()),
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
