//! Taking and letting go of the run lock around `up` and `down`, and the
//! journal of creates it carries (see `crate::lock`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use super::Session;
use crate::apply::{ApplyReport, read_contents};
use crate::lock::{self, Holder, LockGuard};
use crate::model::ResourceId;
use crate::output::Printer;
use crate::plan::{Action, LiveState, Plan};
use crate::provider::Cloud;

/// Runs `f` holding the stack's lock on the session's target (waiting up
/// to `wait` for it), and releases it whatever `f` returned: an error in
/// `f` has left the journal right for the next run.
pub async fn holding<C: Cloud, T>(
    session: &Session,
    printer: &Printer,
    cloud: &C,
    verb: &str,
    wait: Duration,
    f: impl AsyncFnOnce(&LockGuard<C::Lock>) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let guard = take(session, printer, cloud, verb, wait).await?;
    let result = f(&guard).await;
    let released = guard.release().await;
    let value = result?;
    released?;
    Ok(value)
}

/// Takes the stack's lock on the session's target, waiting up to `wait`.
async fn take<C: Cloud>(
    session: &Session,
    printer: &Printer,
    cloud: &C,
    verb: &str,
    wait: Duration,
) -> anyhow::Result<LockGuard<C::Lock>> {
    let store = cloud.lock_store(&session.stack.name).await?;
    let holder = Holder::new(
        &session.stack.name,
        &session.target_name,
        &format!("stackctl {verb} --target {}", session.target_name),
    );
    let guard = lock::acquire(Arc::new(store), &holder, wait).await?;
    if let Some(old) = &guard.acquired.took_over {
        printer.note(format!(
            "note: took over the stale lock of {} (it {}){}",
            old.holder(),
            if old.expires_ms == 0 {
                "was released".to_owned()
            } else {
                format!(
                    "expired at {} or its process is gone",
                    lock::utc(old.expires_ms)
                )
            },
            if old.pending.is_empty() {
                String::new()
            } else {
                format!(
                    "; finishing the {} create(s) it began: {}",
                    old.pending.len(),
                    list(&old.pending)
                )
            }
        ));
    }
    Ok(guard)
}

/// For `diff`: a note when someone holds the lock (diff takes none).
pub async fn mention_holder<C: Cloud>(session: &Session, printer: &Printer, cloud: &C) {
    let found = match cloud.lock_store(&session.stack.name).await {
        Ok(store) => lock::read_holder(&store).await.map_err(anyhow::Error::from),
        Err(e) => Err(e.into()),
    };
    match found {
        Ok(Some(holder)) => printer.note(format!(
            "note: stack `{}` is locked by {}: a run may be changing it, so this diff may be \
             out of date when it ends",
            session.stack.name,
            holder.holder()
        )),
        Ok(None) => {}
        Err(e) => printer.note(format!("note: could not read the stack's lock: {e:#}")),
    }
}

/// The journal entries a run may finish: the resource exists, carries no
/// owner tag (the planner checks), and, for a bucket, holds nothing.
pub async fn recoverable<C: Cloud>(
    printer: &Printer,
    cloud: Arc<C>,
    pending: &BTreeSet<ResourceId>,
    live: &LiveState,
) -> anyhow::Result<BTreeSet<ResourceId>> {
    let buckets: Vec<String> = pending
        .iter()
        .filter(|id| id.kind == crate::model::Kind::Bucket && live.contains_key(id))
        .map(|id| id.name.clone())
        .collect();
    let contents: BTreeMap<_, _> = read_contents(cloud, buckets).await?;
    let mut out = BTreeSet::new();
    for id in pending {
        if contents.get(&id.name).is_some_and(|c| !c.is_empty())
            && id.kind == crate::model::Kind::Bucket
        {
            printer.note(format!(
                "note: {id} is in the journal of an interrupted run but holds data; it is not \
                 taken over (`up --adopt` does that, if it is the stack's)"
            ));
            continue;
        }
        out.insert(id.clone());
    }
    Ok(out)
}

/// The creates a plan is about to start, added to the journal before the
/// first call, so a kill after any call can be finished by the next run.
pub fn journal_for(plan: &Plan, inherited: &BTreeSet<ResourceId>) -> BTreeSet<ResourceId> {
    let mut pending = inherited.clone();
    for step in plan.changes() {
        if matches!(step.action, Action::Create(_)) && step.id.kind.is_tagged() {
            pending.insert(step.id.clone());
        }
    }
    pending
}

/// What is left of the journal once `report` ran: entries whose step
/// succeeded are finished (the resource carries its tags now).
pub fn journal_after(pending: &BTreeSet<ResourceId>, report: &ApplyReport) -> BTreeSet<ResourceId> {
    if report.failed().next().is_none() {
        // Every step succeeded: live equals desired, all of it tagged.
        return BTreeSet::new();
    }
    let done: BTreeSet<&ResourceId> = report
        .results
        .iter()
        .filter(|r| r.error.is_none())
        .map(|r| &r.id)
        .collect();
    pending
        .iter()
        .filter(|id| !done.contains(id))
        .cloned()
        .collect()
}

fn list(ids: &BTreeSet<ResourceId>) -> String {
    ids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}
