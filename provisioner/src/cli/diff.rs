//! `stackctl diff`: the plan, and nothing mutated.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use super::Session;
use crate::apply::{read_contents, read_live};
use crate::model::ResourceId;
use crate::output::{PlanView, Printer};
use crate::plan::{self, LiveState, Plan};
use crate::provider::Cloud;
use crate::spec::Target;

pub async fn run(
    session: &Session,
    printer: &Printer,
    out: Option<&Path>,
    no_build: bool,
) -> anyhow::Result<ExitCode> {
    match session.target {
        Target::Aws { .. } => run_on(session, printer, out, no_build, session.aws().await?).await,
        Target::Local { .. } => run_on(session, printer, out, no_build, session.local()?).await,
    }
}

async fn run_on<C: Cloud>(
    session: &Session,
    printer: &Printer,
    out: Option<&Path>,
    no_build: bool,
    cloud: Arc<C>,
) -> anyhow::Result<ExitCode> {
    let packages = session.build_packages(printer, no_build).await?;
    let no_journal = BTreeSet::new();
    let (target, plan, live) = plan_up(
        session,
        printer,
        cloud.clone(),
        &packages,
        false,
        &no_journal,
    )
    .await?;
    // After the live state is read: a target that cannot be reached at all
    // is the plan's one error, not also a note about the lock.
    super::locking::mention_holder(session, printer, &*cloud).await;
    show_unchanged(printer, &plan);
    let view = PlanView::new(target, &plan);
    if let Some(path) = out {
        let inputs = super::saved::inputs(session, &packages, &live, &plan)?;
        super::saved::write(path, session, inputs, &view)?;
        printer.note(format!(
            "Saved the plan to {}; review it, then apply exactly it with `stackctl up --plan {}`.",
            path.display(),
            path.display()
        ));
    }
    printer.result(&view);
    if session.stats {
        printer.stats(&cloud.stats());
    }
    Ok(if plan.has_changes() || !plan.conflicts.is_empty() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// With `-v`, the resources the plan leaves alone (the plan itself lists
/// only changes).
pub fn show_unchanged(printer: &Printer, plan: &Plan) {
    for step in plan.steps.iter().filter(|s| !s.is_change()) {
        printer.detail(format!("  = {} {} (unchanged)", step.id.kind, step.id.name));
    }
}

/// Reads live state and plans `up`; shared by `diff` and `up`. `pending`
/// is the lock's journal (empty for `diff`, which takes no lock): the
/// creates an interrupted run began, which this plan may finish.
pub async fn plan_up<C: Cloud>(
    session: &Session,
    printer: &Printer,
    cloud: Arc<C>,
    packages: &std::collections::BTreeMap<String, crate::desired::PackageRef>,
    adopt: bool,
    pending: &BTreeSet<ResourceId>,
) -> anyhow::Result<(String, Plan, LiveState)> {
    let (ctx, desired) = session.desired(&*cloud, packages).await?;
    let live = read_live(cloud.clone(), &session.stack.name, &desired).await?;
    let recover = if pending.is_empty() {
        BTreeSet::new()
    } else {
        super::locking::recoverable(printer, cloud.clone(), pending, &live).await?
    };
    let plan = plan::plan_up(
        &session.stack.name,
        &desired,
        &live,
        plan::Options {
            adopt,
            region: Some(ctx.region.clone()),
            recover,
        },
    );
    let contents = read_contents(cloud, plan.bucket_deletes()).await?;
    Ok((
        session.describe_target(&ctx),
        plan.with_contents(&contents),
        live,
    ))
}
