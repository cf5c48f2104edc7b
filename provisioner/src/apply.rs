//! The engine: reads live state through a [`Cloud`] and executes a plan,
//! wave by wave, the steps of a wave in parallel.

use std::collections::BTreeSet;
use std::sync::Arc;

use serde::Serialize;
use tokio::task::JoinSet;

use crate::model::*;
use crate::plan::{Action, LiveState, Plan, Step};
use crate::provider::{BucketData, Cloud, ProviderError, ResourceProvider};

/// Reads the live counterpart of every desired resource, and everything
/// else the stack owns, all kinds and names in parallel.
pub async fn read_live<C: Cloud>(
    cloud: Arc<C>,
    stack: &str,
    desired: &[Resource],
) -> Result<LiveState, ProviderError> {
    let mut tasks: JoinSet<Result<Vec<Resource>, ProviderError>> = JoinSet::new();
    for kind in Kind::ALL {
        let names: BTreeSet<String> = desired
            .iter()
            .filter(|r| r.kind() == kind)
            .map(Resource::name)
            .collect();
        for name in names.clone() {
            let cloud = cloud.clone();
            tasks.spawn(async move {
                read_one(&*cloud, kind, &name)
                    .await
                    .map(|r| r.into_iter().collect())
            });
        }
        if kind.is_tagged() {
            let (cloud, stack) = (cloud.clone(), stack.to_owned());
            tasks.spawn(async move { list_owned(&*cloud, kind, &stack, &names).await });
        }
    }
    let mut live = LiveState::new();
    while let Some(joined) = tasks.join_next().await {
        let found =
            joined.map_err(|e| ProviderError::Other(format!("a read task failed: {e}")))??;
        for r in found {
            live.insert(r.id(), r);
        }
    }
    Ok(live)
}

async fn read_one<C: Cloud>(
    c: &C,
    kind: Kind,
    name: &str,
) -> Result<Option<Resource>, ProviderError> {
    async fn read<C: ResourceProvider<R>, R: ResourceKind>(
        c: &C,
        name: &str,
    ) -> Result<Option<Resource>, ProviderError> {
        Ok(c.read(name).await?.map(R::into_resource))
    }
    each_kind!(kind, R => read::<C, R>(c, name).await)
}

async fn list_owned<C: Cloud>(
    c: &C,
    kind: Kind,
    stack: &str,
    known: &BTreeSet<String>,
) -> Result<Vec<Resource>, ProviderError> {
    async fn list<C: ResourceProvider<R>, R: ResourceKind>(
        c: &C,
        stack: &str,
        known: &BTreeSet<String>,
    ) -> Result<Vec<Resource>, ProviderError> {
        let found = c.list_owned(stack, known).await?;
        Ok(found.into_iter().map(R::into_resource).collect())
    }
    each_kind!(kind, R => list::<C, R>(c, stack, known).await)
}

/// One executed step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepResult {
    pub id: ResourceId,
    pub action: &'static str,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplyReport {
    pub results: Vec<StepResult>,
}

impl std::fmt::Display for StepResult {
    /// `update bucket cartpipe-raw`, then `: <error>` for a failed step.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.action, self.id)?;
        match &self.error {
            Some(error) => write!(f, ": {error}"),
            None => Ok(()),
        }
    }
}

impl ApplyReport {
    pub fn failed(&self) -> impl Iterator<Item = &StepResult> {
        self.results.iter().filter(|r| r.error.is_some())
    }

    /// One line per failed step, for an error message.
    pub fn failed_lines(&self) -> Vec<String> {
        self.failed().map(ToString::to_string).collect()
    }
}

/// Observes progress; the CLI draws it, tests ignore it.
pub trait Progress: Send + Sync {
    fn started(&self, _step: &Step) {}
    fn finished(&self, _result: &StepResult) {}
}

pub struct NoProgress;
impl Progress for NoProgress {}

/// What each bucket about to be deleted holds, read in parallel.
pub async fn read_contents<C: Cloud>(
    cloud: Arc<C>,
    buckets: Vec<String>,
) -> Result<std::collections::BTreeMap<String, BucketContents>, ProviderError> {
    let mut tasks = JoinSet::new();
    for name in buckets {
        let cloud = cloud.clone();
        tasks.spawn(async move {
            let c = BucketData::contents(&*cloud, &name).await?;
            Ok::<_, ProviderError>((name, c))
        });
    }
    let mut out = std::collections::BTreeMap::new();
    while let Some(joined) = tasks.join_next().await {
        let (name, c) =
            joined.map_err(|e| ProviderError::Other(format!("a read task failed: {e}")))??;
        out.insert(name, c);
    }
    Ok(out)
}

/// Executes `plan`. A wave starts only when the previous one fully
/// succeeded; on failure the steps already done stay done (the next run
/// reads them back and plans the rest).
///
/// A bucket is emptied before its delete only when the plan carries the
/// run's `--delete-data`; otherwise the provider's plain delete refuses a
/// bucket that holds anything, even an object written after the plan.
pub async fn apply<C: Cloud>(
    cloud: Arc<C>,
    plan: &Plan,
    progress: Arc<dyn Progress>,
) -> ApplyReport {
    apply_while(cloud, plan, progress, || true).await
}

/// [`apply`], checking `may_continue` before each wave: a run that lost
/// its lock stops there (the steps of a started wave finish).
pub async fn apply_while<C: Cloud>(
    cloud: Arc<C>,
    plan: &Plan,
    progress: Arc<dyn Progress>,
    may_continue: impl Fn() -> bool,
) -> ApplyReport {
    let mut results = Vec::new();
    for wave in plan.waves() {
        if !may_continue() {
            results.push(StepResult {
                id: wave[0].id.clone(),
                action: wave[0].action.name(),
                error: Some(
                    "not started: this run lost its lock to another run, so it stopped".into(),
                ),
            });
            break;
        }
        let mut tasks = JoinSet::new();
        for step in wave {
            progress.started(step);
            let (cloud, step) = (cloud.clone(), step.clone());
            let delete_data = plan.delete_data;
            tasks.spawn(async move {
                let outcome = execute(&*cloud, &step, delete_data).await;
                StepResult {
                    action: step.action.name(),
                    id: step.id,
                    error: outcome.err().map(|e| e.to_string()),
                }
            });
        }
        let mut failed = false;
        while let Some(joined) = tasks.join_next().await {
            let result = joined.unwrap_or_else(|e| StepResult {
                id: ResourceId::new(Kind::Bucket, "?"),
                action: "?",
                error: Some(format!("task failed: {e}")),
            });
            failed |= result.error.is_some();
            progress.finished(&result);
            results.push(result);
        }
        if failed {
            break;
        }
    }
    ApplyReport { results }
}

async fn execute<C: Cloud>(c: &C, step: &Step, delete_data: bool) -> Result<(), ProviderError> {
    async fn create<C: ResourceProvider<R>, R: ResourceKind>(
        c: &C,
        d: &R,
    ) -> Result<(), ProviderError> {
        c.create(d).await
    }
    async fn update<C: ResourceProvider<R>, R: ResourceKind>(
        c: &C,
        live: &Resource,
        d: &R,
    ) -> Result<(), ProviderError> {
        // The planner pairs live and desired by id, so by kind too.
        let Some(l) = R::from_resource(live) else {
            return Err(ProviderError::Other(format!(
                "{}: live is a {}, desired a {}",
                d.id(),
                live.kind(),
                R::KIND
            )));
        };
        c.update(l, d, &l.changes_to(d)).await
    }
    async fn delete<C: ResourceProvider<R>, R: ResourceKind>(
        c: &C,
        l: &R,
    ) -> Result<(), ProviderError> {
        c.delete(l).await
    }
    match &step.action {
        Action::Delete(Resource::Bucket(b)) if delete_data => {
            BucketData::delete_with_data(c, b).await
        }
        Action::Create(d) => each_kind!(resource d, d => create(c, d).await),
        Action::Update { live, desired, .. } => {
            each_kind!(resource desired, d => update(c, live, d).await)
        }
        Action::Delete(l) => each_kind!(resource l, l => delete(c, l).await),
        Action::NoOp(_) | Action::Retain(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_lines_name_each_failed_step_with_its_error_and_no_other() {
        let step = |name: &str, error: Option<&str>| StepResult {
            id: ResourceId::new(Kind::Bucket, name),
            action: "update",
            error: error.map(str::to_owned),
        };
        let report = ApplyReport {
            results: vec![
                step("raw", None),
                step("consumption", Some("AccessDenied: s3:PutBucketPolicy")),
            ],
        };
        assert_eq!(report.results[0].to_string(), "update bucket raw");
        assert_eq!(
            report.failed_lines(),
            ["update bucket consumption: AccessDenied: s3:PutBucketPolicy"]
        );
    }
}
