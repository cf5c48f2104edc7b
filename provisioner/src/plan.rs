//! The planner: desired resources against live ones gives a plan. Pure: no
//! I/O, no SDK types; the apply engine executes what it returns.
//!
//! The contract it holds (tested below and end to end against moto):
//! - level-based: the plan depends only on (desired, live), never on history;
//! - idempotent: when live equals desired, every step is a no-op;
//! - never touches what it does not own: a live resource whose owner tag is
//!   not this stack is a conflict, unless adoption was asked for.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::model::{Kind, OWNER_TAG, Resource, ResourceId};

/// Live state as read from the cloud, by identity.
pub type LiveState = BTreeMap<ResourceId, Resource>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub field: String,
    pub old: String,
    pub new: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action", content = "changes")]
pub enum Action {
    Create,
    Update(Vec<FieldChange>),
    Delete,
    NoOp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub id: ResourceId,
    #[serde(flatten)]
    pub action: Action,
    #[serde(skip)]
    pub desired: Option<Resource>,
    #[serde(skip)]
    pub live: Option<Resource>,
}

impl Step {
    pub fn is_change(&self) -> bool {
        !matches!(self.action, Action::NoOp)
    }
}

/// A same-named resource this stack does not own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    pub id: ResourceId,
    /// The stack named by its owner tag, if it has one.
    pub owner: Option<String>,
    /// Set when the owner is this very stack, deployed to another region
    /// (the `stackctl:region` tag of an IAM role).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub stack: String,
    /// In dependency order: creates and updates by kind, deletes last in
    /// reverse kind order.
    pub steps: Vec<Step>,
    pub conflicts: Vec<Conflict>,
}

impl Plan {
    pub fn changes(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| s.is_change())
    }

    pub fn has_changes(&self) -> bool {
        self.changes().next().is_some()
    }

    /// Steps grouped into waves: every step of a wave depends only on
    /// earlier waves, so a wave's steps may run in parallel.
    pub fn waves(&self) -> Vec<Vec<&Step>> {
        let mut waves: BTreeMap<(bool, i32), Vec<&Step>> = BTreeMap::new();
        for step in self.changes() {
            let rank = Kind::ALL
                .iter()
                .position(|k| *k == step.id.kind)
                .unwrap_or(0) as i32;
            let key = match step.action {
                Action::Delete => (true, -rank),
                _ => (false, rank),
            };
            waves.entry(key).or_default().push(step);
        }
        waves.into_values().collect()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// Take over same-named resources that lack our owner tag.
    pub adopt: bool,
    /// The region deployed to: a resource tagged with another region
    /// (`stackctl:region`, on roles) belongs to the same stack deployed
    /// there and is not ours. `None`: not checked.
    pub region: Option<String>,
}

/// Plans `up`: bring live to desired, and delete what the stack owns that is
/// no longer desired.
pub fn plan_up(stack: &str, desired: &[Resource], live: &LiveState, options: Options) -> Plan {
    let region = options.region.as_deref();
    let owned = |r: &Resource| owned_by(stack, region, r, live);
    let mut steps = Vec::new();
    let mut conflicts = Vec::new();
    let mut desired_ids = BTreeSet::new();
    let mut sorted: Vec<&Resource> = desired.iter().collect();
    sorted.sort_by_key(|r| r.id());
    for want in sorted {
        let id = want.id();
        desired_ids.insert(id.clone());
        let action = match live.get(&id) {
            None => Action::Create,
            Some(have) if !owned(have) && !options.adopt => {
                let owner = owner_of(have, live);
                conflicts.push(Conflict {
                    id: id.clone(),
                    owner: owner.map(str::to_owned),
                    region: have
                        .region_tag()
                        .filter(|_| owner == Some(stack))
                        .map(str::to_owned),
                });
                continue;
            }
            Some(have) => {
                let changes = diff_fields(have, want);
                if changes.is_empty() {
                    Action::NoOp
                } else {
                    Action::Update(changes)
                }
            }
        };
        steps.push(Step {
            live: live.get(&id).cloned(),
            desired: Some(want.clone()),
            id,
            action,
        });
    }
    for (id, have) in live {
        if !desired_ids.contains(id) && owned(have) {
            steps.push(delete_step(id, have));
        }
    }
    sort_steps(&mut steps);
    Plan {
        stack: stack.to_owned(),
        steps,
        conflicts,
    }
}

/// Plans `down`: delete everything the stack owns in `region` (`None`: any
/// region), and nothing else.
pub fn plan_down(stack: &str, region: Option<&str>, live: &LiveState) -> Plan {
    let mut steps: Vec<Step> = live
        .iter()
        .filter(|(_, r)| owned_by(stack, region, r, live))
        .map(|(id, r)| delete_step(id, r))
        .collect();
    sort_steps(&mut steps);
    Plan {
        stack: stack.to_owned(),
        steps,
        conflicts: Vec::new(),
    }
}

fn delete_step(id: &ResourceId, have: &Resource) -> Step {
    Step {
        id: id.clone(),
        action: Action::Delete,
        desired: None,
        live: Some(have.clone()),
    }
}

fn sort_steps(steps: &mut [Step]) {
    steps.sort_by(|a, b| {
        let del = |s: &Step| matches!(s.action, Action::Delete);
        match (del(a), del(b)) {
            (false, true) => std::cmp::Ordering::Less,
            (true, false) => std::cmp::Ordering::Greater,
            (true, true) => b.id.kind.cmp(&a.id.kind).then(a.id.name.cmp(&b.id.name)),
            (false, false) => a.id.cmp(&b.id),
        }
    });
}

fn owner_of<'a>(r: &'a Resource, live: &'a LiveState) -> Option<&'a str> {
    match r.parent() {
        Some(parent) => live.get(&parent).and_then(|p| p.owner()),
        None => r.owner(),
    }
}

/// Untagged kinds (permissions, notifications) are owned with their parent.
/// A resource tagged with another region is that region's.
fn owned_by(stack: &str, region: Option<&str>, r: &Resource, live: &LiveState) -> bool {
    let tagged = match r.parent() {
        Some(parent) => live.get(&parent),
        None => Some(r),
    };
    let other_region = match (region, tagged.and_then(Resource::region_tag)) {
        (Some(ours), Some(theirs)) => ours != theirs,
        _ => false,
    };
    owner_of(r, live) == Some(stack) && !other_region
}

/// Field-by-field differences, old (live) → new (desired).
pub fn diff_fields(live: &Resource, desired: &Resource) -> Vec<FieldChange> {
    let old: BTreeMap<_, _> = live.fields().into_iter().collect();
    desired
        .fields()
        .into_iter()
        .filter_map(|(field, new)| {
            let old = old.get(field).cloned().unwrap_or_default();
            (old != new).then(|| FieldChange {
                field: field.to_owned(),
                old,
                new,
            })
        })
        .collect()
}

/// The owner tags every tagged resource of `stack` carries.
pub fn owner_tags(stack: &str) -> crate::model::Tags {
    [(OWNER_TAG.to_owned(), stack.to_owned())].into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn bucket(name: &str, owner: Option<&str>, versioning: bool) -> Resource {
        Resource::Bucket(Bucket {
            name: name.into(),
            versioning,
            public_access_block: true,
            encryption: Some("AES256".into()),
            policy: Some("{}".into()),
            tags: owner.map(owner_tags).unwrap_or_default(),
        })
    }

    fn live_of(rs: &[Resource]) -> LiveState {
        rs.iter().map(|r| (r.id(), r.clone())).collect()
    }

    #[test]
    fn empty_live_creates_everything() {
        let desired = vec![bucket("a", Some("s"), true)];
        let plan = plan_up("s", &desired, &LiveState::new(), Options::default());
        assert_eq!(plan.steps.len(), 1);
        assert_eq!(plan.steps[0].action, Action::Create);
    }

    #[test]
    fn live_equal_to_desired_is_all_no_ops() {
        let desired = vec![bucket("a", Some("s"), true)];
        let plan = plan_up("s", &desired, &live_of(&desired), Options::default());
        assert!(!plan.has_changes());
    }

    #[test]
    fn drift_is_reported_field_by_field() {
        let desired = vec![bucket("a", Some("s"), true)];
        let live = live_of(&[bucket("a", Some("s"), false)]);
        let plan = plan_up("s", &desired, &live, Options::default());
        assert_eq!(
            plan.steps[0].action,
            Action::Update(vec![FieldChange {
                field: "versioning".into(),
                old: "disabled".into(),
                new: "enabled".into()
            }])
        );
    }

    #[test]
    fn resources_without_our_tag_are_conflicts_not_changes() {
        let desired = vec![bucket("a", Some("s"), true)];
        let live = live_of(&[bucket("a", None, false)]);
        let plan = plan_up("s", &desired, &live, Options::default());
        assert!(plan.steps.is_empty());
        assert_eq!(plan.conflicts.len(), 1);
        let adopted = plan_up(
            "s",
            &desired,
            &live,
            Options {
                adopt: true,
                ..Options::default()
            },
        );
        assert!(adopted.has_changes() && adopted.conflicts.is_empty());
    }

    #[test]
    fn owned_leftovers_are_deleted_and_foreign_ones_kept() {
        let live = live_of(&[
            bucket("old", Some("s"), true),
            bucket("theirs", Some("t"), true),
        ]);
        let plan = plan_up("s", &[], &live, Options::default());
        assert_eq!(plan.steps.len(), 1);
        assert_eq!(plan.steps[0].id.name, "old");
        assert_eq!(plan.steps[0].action, Action::Delete);
        let down = plan_down("s", None, &live);
        assert_eq!(down.steps.len(), 1);
    }

    #[test]
    fn waves_create_parents_first_and_delete_them_last() {
        let f = Resource::Permission(Permission {
            function: "f".into(),
            statement_id: "x".into(),
            principal: "s3.amazonaws.com".into(),
            source_arn: "arn".into(),
            source_account: None,
        });
        let desired = vec![f, bucket("a", Some("s"), true)];
        let plan = plan_up("s", &desired, &LiveState::new(), Options::default());
        let kinds: Vec<Kind> = plan.waves().iter().map(|w| w[0].id.kind).collect();
        assert_eq!(kinds, vec![Kind::Bucket, Kind::Permission]);
    }

    #[test]
    fn a_role_of_the_same_stack_in_another_region_is_not_ours() {
        let role = |region: &str| {
            let mut tags = owner_tags("s");
            tags.insert(REGION_TAG.into(), region.into());
            Resource::Role(Role {
                name: "s-f".into(),
                trust_policy: "{}".into(),
                policy: None,
                tags,
            })
        };
        let in_region = |r: &str| Options {
            region: Some(r.into()),
            ..Options::default()
        };
        let live = live_of(&[role("eu-west-1")]);
        // down in another region leaves it; down in its own removes it.
        assert!(plan_down("s", Some("us-east-1"), &live).steps.is_empty());
        assert_eq!(plan_down("s", Some("eu-west-1"), &live).steps.len(), 1);
        // up in another region: a conflict naming the region, not an update.
        let plan = plan_up("s", &[role("us-east-1")], &live, in_region("us-east-1"));
        assert!(plan.steps.is_empty());
        assert_eq!(plan.conflicts[0].owner.as_deref(), Some("s"));
        assert_eq!(plan.conflicts[0].region.as_deref(), Some("eu-west-1"));
        // A role from before the region tag is still ours (up adds the tag).
        let legacy = live_of(&[Resource::Role(Role {
            name: "s-f".into(),
            trust_policy: "{}".into(),
            policy: None,
            tags: owner_tags("s"),
        })]);
        let plan = plan_up("s", &[role("us-east-1")], &legacy, in_region("us-east-1"));
        assert!(plan.conflicts.is_empty());
        assert!(matches!(plan.steps[0].action, Action::Update(_)));
    }
}
