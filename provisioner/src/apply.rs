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
    Ok(match kind {
        Kind::Bucket => ResourceProvider::<Bucket>::read(c, name)
            .await?
            .map(Resource::Bucket),
        Kind::Role => ResourceProvider::<Role>::read(c, name)
            .await?
            .map(Resource::Role),
        Kind::LogGroup => ResourceProvider::<LogGroup>::read(c, name)
            .await?
            .map(Resource::LogGroup),
        Kind::Function => ResourceProvider::<Function>::read(c, name)
            .await?
            .map(Resource::Function),
        Kind::Rule => ResourceProvider::<Rule>::read(c, name)
            .await?
            .map(Resource::Rule),
        Kind::Permission => ResourceProvider::<Permission>::read(c, name)
            .await?
            .map(Resource::Permission),
        Kind::Notification => ResourceProvider::<Notification>::read(c, name)
            .await?
            .map(Resource::Notification),
    })
}

async fn list_owned<C: Cloud>(
    c: &C,
    kind: Kind,
    stack: &str,
    known: &BTreeSet<String>,
) -> Result<Vec<Resource>, ProviderError> {
    fn wrap<R>(v: Vec<R>, f: fn(R) -> Resource) -> Vec<Resource> {
        v.into_iter().map(f).collect()
    }
    Ok(match kind {
        Kind::Bucket => wrap(
            ResourceProvider::<Bucket>::list_owned(c, stack, known).await?,
            Resource::Bucket,
        ),
        Kind::Role => wrap(
            ResourceProvider::<Role>::list_owned(c, stack, known).await?,
            Resource::Role,
        ),
        Kind::LogGroup => wrap(
            ResourceProvider::<LogGroup>::list_owned(c, stack, known).await?,
            Resource::LogGroup,
        ),
        Kind::Function => wrap(
            ResourceProvider::<Function>::list_owned(c, stack, known).await?,
            Resource::Function,
        ),
        Kind::Rule => wrap(
            ResourceProvider::<Rule>::list_owned(c, stack, known).await?,
            Resource::Rule,
        ),
        Kind::Permission | Kind::Notification => Vec::new(),
    })
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

impl ApplyReport {
    pub fn failed(&self) -> impl Iterator<Item = &StepResult> {
        self.results.iter().filter(|r| r.error.is_some())
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
                action: action_name(&wave[0].action),
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
                    action: action_name(&step.action),
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

fn action_name(a: &Action) -> &'static str {
    match a {
        Action::Create => "create",
        Action::Update(_) => "update",
        Action::Delete => "delete",
        Action::NoOp => "no-op",
        Action::Retain => "retain",
    }
}

async fn execute<C: Cloud>(c: &C, step: &Step, delete_data: bool) -> Result<(), ProviderError> {
    if delete_data
        && step.is_delete()
        && let Some(Resource::Bucket(b)) = &step.live
    {
        return BucketData::delete_with_data(c, b).await;
    }
    macro_rules! dispatch {
        ($variant:ident, $ty:ty) => {{
            let desired = match &step.desired {
                Some(Resource::$variant(r)) => Some(r),
                _ => None,
            };
            let live = match &step.live {
                Some(Resource::$variant(r)) => Some(r),
                _ => None,
            };
            match (&step.action, desired, live) {
                (Action::Create, Some(d), _) => ResourceProvider::<$ty>::create(c, d).await,
                (Action::Update(changes), Some(d), Some(l)) => {
                    ResourceProvider::<$ty>::update(c, l, d, changes).await
                }
                (Action::Delete, _, Some(l)) => ResourceProvider::<$ty>::delete(c, l).await,
                (Action::NoOp | Action::Retain, ..) => Ok(()),
                _ => Err(ProviderError::Other(format!(
                    "{}: malformed plan step",
                    step.id
                ))),
            }
        }};
    }
    match step.id.kind {
        Kind::Bucket => dispatch!(Bucket, Bucket),
        Kind::Role => dispatch!(Role, Role),
        Kind::LogGroup => dispatch!(LogGroup, LogGroup),
        Kind::Function => dispatch!(Function, Function),
        Kind::Rule => dispatch!(Rule, Rule),
        Kind::Permission => dispatch!(Permission, Permission),
        Kind::Notification => dispatch!(Notification, Notification),
    }
}
