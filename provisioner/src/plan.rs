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

use crate::model::{BucketContents, Kind, Resource, ResourceId};

/// Live state as read from the cloud, by identity.
pub type LiveState = BTreeMap<ResourceId, Resource>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldChange {
    pub field: String,
    pub old: String,
    pub new: String,
    /// For JSON documents (policies, patterns): a line diff of the two,
    /// pretty-printed with sorted keys, each line starting with `+`, `-`
    /// or ` `, so a reviewer sees which statement, action or resource
    /// changes. Empty for plain values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diff: Vec<String>,
}

impl FieldChange {
    pub fn new(field: &str, old: String, new: String) -> Self {
        let diff = json_diff(&old, &new);
        Self {
            field: field.to_owned(),
            old,
            new,
            diff,
        }
    }
}

/// The line diff of two JSON documents (see [`FieldChange::diff`]); empty
/// when either side is not a JSON object or array. An absent document
/// (`(none)`) diffs as empty.
pub fn json_diff(old: &str, new: &str) -> Vec<String> {
    fn pretty(text: &str) -> Option<String> {
        if text == "(none)" {
            return Some(String::new());
        }
        let v: serde_json::Value = serde_json::from_str(text).ok()?;
        if !(v.is_object() || v.is_array()) {
            return None;
        }
        let canonical = crate::model::canonical_json(text);
        let v: serde_json::Value = serde_json::from_str(&canonical).ok()?;
        serde_json::to_string_pretty(&v).ok().map(|s| s + "\n")
    }
    let (Some(old), Some(new)) = (pretty(old), pretty(new)) else {
        return Vec::new();
    };
    if old.is_empty() && new.is_empty() {
        return Vec::new();
    }
    similar::TextDiff::from_lines(&old, &new)
        .iter_all_changes()
        .map(|c| {
            let sign = match c.tag() {
                similar::ChangeTag::Delete => '-',
                similar::ChangeTag::Insert => '+',
                similar::ChangeTag::Equal => ' ',
            };
            format!("{sign}{}", c.value().trim_end_matches('\n'))
        })
        .collect()
}

/// What a step does, with the resources it does it to: a create carries
/// what to create, a delete what to delete, an update both sides, so no
/// step lacks what its action needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Create(Resource),
    Update {
        /// Boxed: two resources side by side would make every action large.
        live: Box<Resource>,
        desired: Resource,
        changes: Vec<FieldChange>,
    },
    Delete(Resource),
    /// Live equals desired (the resource, as it is and should be).
    NoOp(Resource),
    /// A delete the planner refused: the bucket is marked `retain`
    /// (`stackctl:retain`), so it and its data stay where they are.
    Retain(Resource),
}

/// How an action shows in `--json`: `{"action": "update", "changes": [..]}`.
#[derive(Serialize)]
#[serde(rename_all = "snake_case", tag = "action", content = "changes")]
enum ActionView<'a> {
    Create,
    Update(&'a [FieldChange]),
    Delete,
    NoOp,
    Retain,
}

impl Serialize for Action {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Action::Create(_) => ActionView::Create,
            Action::Update { changes, .. } => ActionView::Update(changes),
            Action::Delete(_) => ActionView::Delete,
            Action::NoOp(_) => ActionView::NoOp,
            Action::Retain(_) => ActionView::Retain,
        }
        .serialize(s)
    }
}

impl Action {
    /// `create`, `update`, `delete`, `no-op` or `retain`.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Create(_) => "create",
            Action::Update { .. } => "update",
            Action::Delete(_) => "delete",
            Action::NoOp(_) => "no-op",
            Action::Retain(_) => "retain",
        }
    }

    /// The field changes of an update (none for other actions).
    pub fn changes(&self) -> &[FieldChange] {
        match self {
            Action::Update { changes, .. } => changes,
            _ => &[],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub id: ResourceId,
    #[serde(flatten)]
    pub action: Action,
    /// A bucket delete: what the bucket holds (read just before planning).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holds: Option<BucketContents>,
    /// Deleting it destroys data: only with `--delete-data`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub needs_delete_data: bool,
}

impl Step {
    fn new(action: Action) -> Self {
        let id = match &action {
            Action::Create(r)
            | Action::Update { desired: r, .. }
            | Action::Delete(r)
            | Action::NoOp(r)
            | Action::Retain(r) => r.id(),
        };
        Self {
            id,
            action,
            holds: None,
            needs_delete_data: false,
        }
    }

    /// What the step leaves in place: the created, updated or unchanged
    /// resource; `None` for a delete.
    pub fn desired(&self) -> Option<&Resource> {
        match &self.action {
            Action::Create(r) | Action::NoOp(r) | Action::Update { desired: r, .. } => Some(r),
            Action::Delete(_) | Action::Retain(_) => None,
        }
    }

    pub fn is_change(&self) -> bool {
        !matches!(self.action, Action::NoOp(_) | Action::Retain(_))
    }

    pub fn is_delete(&self) -> bool {
        matches!(self.action, Action::Delete(_))
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
    /// The run's `--delete-data`: bucket deletes may take the bucket's
    /// object versions with them. Never set by the planner.
    #[serde(skip)]
    pub delete_data: bool,
}

impl Plan {
    /// Buckets this plan deletes: the ones whose contents must be read
    /// before the plan can be judged.
    pub fn bucket_deletes(&self) -> Vec<String> {
        self.steps
            .iter()
            .filter(|s| s.is_delete() && s.id.kind == Kind::Bucket)
            .map(|s| s.id.name.clone())
            .collect()
    }

    /// Records what each deleted bucket holds; a bucket holding any object
    /// version or delete marker needs `--delete-data`.
    pub fn with_contents(mut self, contents: &BTreeMap<String, BucketContents>) -> Self {
        for step in &mut self.steps {
            if step.is_delete()
                && step.id.kind == Kind::Bucket
                && let Some(c) = contents.get(&step.id.name)
            {
                step.holds = Some(*c);
                step.needs_delete_data = !c.is_empty();
            }
        }
        self
    }

    /// Deletes that destroy data, which the run may do only with
    /// `--delete-data`.
    pub fn data_deletes(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|s| s.needs_delete_data)
    }

    /// Steps left in place because they are retained.
    pub fn retained(&self) -> impl Iterator<Item = &Step> {
        self.steps
            .iter()
            .filter(|s| matches!(s.action, Action::Retain(_)))
    }

    pub fn deletes(&self) -> usize {
        self.steps.iter().filter(|s| s.is_delete()).count()
    }

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
                Action::Delete(_) => (true, -rank),
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
    /// Resources an earlier run of this stack began to create and was
    /// killed before tagging (the lock's journal), known to hold no data:
    /// one found without any owner tag is finished as ours, not a conflict.
    pub recover: BTreeSet<ResourceId>,
}

/// Plans `up`: bring live to desired, and delete what the stack owns that is
/// no longer desired.
pub fn plan_up(stack: &str, desired: &[Resource], live: &LiveState, options: Options) -> Plan {
    let region = options.region.as_deref();
    let owned = |r: &Resource| owned_by(stack, region, r, live);
    // Begun by an interrupted run of this stack, and tagged by no one (an
    // untagged kind, a bucket's notification, goes with its parent).
    let recovering = |id: &ResourceId, r: &Resource| {
        let begun = options.recover.contains(id)
            || r.parent().is_some_and(|p| options.recover.contains(&p));
        begun && owner_of(r, live).is_none()
    };
    let mut steps = Vec::new();
    let mut conflicts = Vec::new();
    let mut desired_ids = BTreeSet::new();
    let mut sorted: Vec<&Resource> = desired.iter().collect();
    sorted.sort_by_key(|r| r.id());
    for want in sorted {
        let id = want.id();
        desired_ids.insert(id.clone());
        let action = match live.get(&id) {
            None => Action::Create(want.clone()),
            Some(have) if !(owned(have) || options.adopt || recovering(&id, have)) => {
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
                    Action::NoOp(want.clone())
                } else {
                    Action::Update {
                        live: Box::new(have.clone()),
                        desired: want.clone(),
                        changes,
                    }
                }
            }
        };
        steps.push(Step::new(action));
    }
    for (id, have) in live {
        if !desired_ids.contains(id) && owned(have) {
            steps.push(delete_step(have));
        }
    }
    sort_steps(&mut steps);
    Plan {
        stack: stack.to_owned(),
        steps,
        conflicts,
        delete_data: false,
    }
}

/// Plans `down`: delete everything the stack owns in `region` (`None`: any
/// region), and nothing else.
pub fn plan_down(stack: &str, region: Option<&str>, live: &LiveState) -> Plan {
    let mut steps: Vec<Step> = live
        .iter()
        .filter(|(_, r)| owned_by(stack, region, r, live))
        .map(|(_, r)| delete_step(r))
        .collect();
    sort_steps(&mut steps);
    Plan {
        stack: stack.to_owned(),
        steps,
        conflicts: Vec::new(),
        delete_data: false,
    }
}

/// Deleting `have`, unless it is a bucket marked `retain`: then a
/// [`Action::Retain`] step, which the engine never executes.
fn delete_step(have: &Resource) -> Step {
    Step::new(match have {
        Resource::Bucket(b) if b.is_retained() => Action::Retain(have.clone()),
        _ => Action::Delete(have.clone()),
    })
}

fn sort_steps(steps: &mut [Step]) {
    steps.sort_by(|a, b| {
        let del = |s: &Step| matches!(s.action, Action::Delete(_) | Action::Retain(_));
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
            (old != new).then(|| FieldChange::new(field, old, new))
        })
        .collect()
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
        assert_eq!(plan.steps[0].action, Action::Create(desired[0].clone()));
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
            plan.steps[0].action.changes(),
            [FieldChange::new(
                "versioning",
                "disabled".into(),
                "enabled".into()
            )]
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
        assert_eq!(plan.steps[0].action.name(), "delete");
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
        assert!(matches!(plan.steps[0].action, Action::Update { .. }));
    }

    fn retained(name: &str) -> Resource {
        let Resource::Bucket(mut b) = bucket(name, Some("s"), true) else {
            unreachable!()
        };
        b.tags.insert(RETAIN_TAG.into(), "true".into());
        Resource::Bucket(b)
    }

    #[test]
    fn a_retained_bucket_is_never_deleted_by_up_or_down() {
        let live = live_of(&[retained("keep"), bucket("drop", Some("s"), true)]);
        for plan in [
            plan_up("s", &[], &live, Options::default()),
            plan_down("s", None, &live),
        ] {
            let actions: Vec<(&str, &str)> = plan
                .steps
                .iter()
                .map(|s| (s.id.name.as_str(), s.action.name()))
                .collect();
            assert_eq!(actions, vec![("drop", "delete"), ("keep", "retain")]);
            assert_eq!(plan.bucket_deletes(), vec!["drop".to_owned()]);
            assert_eq!(plan.retained().count(), 1);
            // A retain step is not a change: the engine never runs it.
            assert!(plan.waves().iter().flatten().all(|s| s.id.name == "drop"));
        }
    }

    #[test]
    fn deleting_a_bucket_that_holds_data_needs_delete_data() {
        let live = live_of(&[
            bucket("full", Some("s"), true),
            bucket("empty", Some("s"), true),
        ]);
        let contents: BTreeMap<String, BucketContents> = [
            (
                "full".to_owned(),
                BucketContents {
                    object_versions: 0,
                    delete_markers: 1,
                    bytes: 0,
                },
            ),
            ("empty".to_owned(), BucketContents::default()),
        ]
        .into();
        let plan = plan_down("s", None, &live).with_contents(&contents);
        let blocked: Vec<&str> = plan.data_deletes().map(|s| s.id.name.as_str()).collect();
        // A delete marker alone is data: a versioned bucket's history.
        assert_eq!(blocked, vec!["full"]);
        let json = serde_json::to_value(&plan).expect("plan JSON");
        let full = &json["steps"][1];
        assert_eq!(full["id"]["name"], "full");
        assert_eq!(full["needs_delete_data"], true);
        assert_eq!(full["holds"]["delete_markers"], 1);
        assert!(json["steps"][0].get("needs_delete_data").is_none());
    }

    #[test]
    fn a_half_created_resource_of_this_stack_is_finished_not_refused() {
        let desired = vec![bucket("a", Some("s"), true), bucket("b", Some("s"), true)];
        // Both exist untagged; only `a` is in the journal; `b` is someone's.
        let live = live_of(&[bucket("a", None, false), bucket("b", None, false)]);
        let recover: BTreeSet<ResourceId> = [ResourceId::new(Kind::Bucket, "a")].into();
        let plan = plan_up(
            "s",
            &desired,
            &live,
            Options {
                recover: recover.clone(),
                ..Options::default()
            },
        );
        assert_eq!(plan.steps.len(), 1);
        assert_eq!(plan.steps[0].id.name, "a");
        assert!(matches!(plan.steps[0].action, Action::Update { .. }));
        assert_eq!(plan.conflicts.len(), 1);
        assert_eq!(plan.conflicts[0].id.name, "b");
        // The half-created bucket's notification goes with it.
        let notification = |eventbridge| {
            Resource::Notification(Notification {
                bucket: "a".into(),
                lambda: Vec::new(),
                eventbridge,
            })
        };
        let mut with_child = desired[..1].to_vec();
        with_child.push(notification(true));
        let live = live_of(&[bucket("a", None, false), notification(false)]);
        let plan = plan_up(
            "s",
            &with_child,
            &live,
            Options {
                recover: recover.clone(),
                ..Options::default()
            },
        );
        assert!(plan.conflicts.is_empty(), "{:?}", plan.conflicts);
        assert_eq!(plan.changes().count(), 2);
        // The journal never hands over what another stack tagged.
        let live = live_of(&[bucket("a", Some("t"), false)]);
        let plan = plan_up(
            "s",
            &desired[..1],
            &live,
            Options {
                recover,
                ..Options::default()
            },
        );
        assert_eq!(plan.conflicts.len(), 1);
    }

    #[test]
    fn a_policy_change_is_a_readable_statement_diff() {
        let old = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Read","Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::raw/*"},{"Sid":"Write","Effect":"Allow","Action":["s3:PutObject"],"Resource":"arn:aws:s3:::out/*"}]}"#;
        let new = old.replace("arn:aws:s3:::out/*", "arn:aws:s3:::other/*");
        let change = FieldChange::new("policy", old.to_owned(), new);
        let changed: Vec<&str> = change
            .diff
            .iter()
            .filter(|l| !l.starts_with(' '))
            .map(String::as_str)
            .collect();
        assert_eq!(
            changed,
            [
                r#"-      "Resource": "arn:aws:s3:::out/*","#,
                r#"+      "Resource": "arn:aws:s3:::other/*","#
            ]
        );
        // The statement's Sid is in the context around it.
        assert!(
            change.diff.iter().any(|l| l == r#"       "Sid": "Write""#),
            "{:#?}",
            change.diff
        );
        // A policy appearing diffs as all additions; plain values get none.
        let added = FieldChange::new("policy", "(none)".into(), old.to_owned());
        assert!(added.diff.iter().all(|l| l.starts_with('+')));
        assert!(
            FieldChange::new("memory_mb", "128".into(), "512".into())
                .diff
                .is_empty()
        );
    }
}
