//! `stackctl diff`: the plan, and nothing mutated.

use std::process::ExitCode;
use std::sync::Arc;

use super::Session;
use crate::apply::read_live;
use crate::output::{PlanView, Printer};
use crate::plan::{self, Plan};
use crate::provider::Cloud;
use crate::spec::Target;

pub async fn run(session: &Session, printer: &Printer) -> anyhow::Result<ExitCode> {
    match session.target {
        Target::Aws { .. } => run_on(session, printer, session.aws().await?).await,
        Target::Local { .. } => run_on(session, printer, session.local()?).await,
    }
}

async fn run_on<C: Cloud>(
    session: &Session,
    printer: &Printer,
    cloud: Arc<C>,
) -> anyhow::Result<ExitCode> {
    let packages = session.build_packages(printer).await?;
    let (target, plan) = plan_up(session, cloud.clone(), &packages, false).await?;
    show_unchanged(printer, &plan);
    printer.result(&PlanView::new(target, &plan));
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

/// Reads live state and plans `up`; shared by `diff` and `up`.
pub async fn plan_up<C: Cloud>(
    session: &Session,
    cloud: Arc<C>,
    packages: &std::collections::BTreeMap<String, crate::desired::PackageRef>,
    adopt: bool,
) -> anyhow::Result<(String, Plan)> {
    let (ctx, desired) = session.desired(&*cloud, packages).await?;
    let live = read_live(cloud, &session.stack.name, &desired).await?;
    let plan = plan::plan_up(
        &session.stack.name,
        &desired,
        &live,
        plan::Options {
            adopt,
            region: Some(ctx.region.clone()),
        },
    );
    Ok((session.describe_target(&ctx), plan))
}
