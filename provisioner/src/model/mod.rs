//! Resources as plain data: what the planner compares and the providers
//! read and write. No SDK types here; each provider maps to and from these.
//!
//! Each kind is one file: its type, its fields as an enum, and its
//! [`ResourceKind`] impl, which says what the kind is called, how it is
//! named, which fields the planner compares, and how a change to each
//! field reaches the cloud ([`UpdateKind`]): declared once, for every
//! provider. [`Resource`] is the one enum over kinds, and [`each_kind!`]
//! the one place that turns a runtime [`Kind`] into its type.
//!
//! Policies and patterns are kept as canonical JSON text (keys sorted, no
//! whitespace), so a policy AWS returns reformatted, URL-encoded or with keys
//! in another order compares equal to the one we wrote.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

mod bucket;
mod contents;
mod database;
mod function;
mod log_group;
mod notification;
mod permission;
mod role;
mod rule;
mod table;
mod workgroup;

pub use bucket::{Bucket, BucketField};
pub use contents::{BucketContents, human_bytes, thousands};
pub use database::{Database, DatabaseField};
pub use function::{Function, FunctionField};
pub use log_group::{LogGroup, LogGroupField};
pub use notification::{LambdaNotification, Notification, NotificationField};
pub use permission::{Permission, PermissionField};
pub use role::{Role, RoleField};
pub use rule::{Rule, RuleField};
pub use table::{
    CSV_INPUT_FORMAT, CSV_OUTPUT_FORMAT, CSV_SERDE, Column, TABLE_PARAMETERS, Table, TableField,
    TableFormat,
};
pub use workgroup::{Workgroup, WorkgroupField};

/// The tag that marks what a stack owns; there is no other record.
pub const OWNER_TAG: &str = "stackctl:stack";
/// On IAM roles (global, while the rest of a stack is regional): the region
/// of the stack that owns the role, so that the same stack deployed to two
/// regions of one account never takes or deletes the other's roles.
pub const REGION_TAG: &str = "stackctl:region";
/// On buckets marked `retain: true`: stackctl never deletes such a bucket,
/// whatever stack.yaml says later (CloudFormation's `DeletionPolicy: Retain`).
/// A tag, not a spec flag only, so that removing the bucket from stack.yaml
/// does not remove the protection with it.
pub const RETAIN_TAG: &str = "stackctl:retain";

pub type Tags = BTreeMap<String, String>;

/// The one list of kinds, in dependency order: a kind only depends on
/// kinds before it, so creates run in this order and deletes in reverse.
/// Each entry is the kind's model type (also its [`Kind`] and [`Resource`]
/// variant) and its name in plans. Adding a kind is a line here, its file
/// in this module, and one provider file per target.
///
/// `with_kinds!([callback] args...)` calls `callback!((args...) Bucket =
/// "bucket", ...)`: [`Kind`], [`Resource`], [`each_kind!`] and
/// `provider::Cloud` are all generated from this list.
#[doc(hidden)]
#[macro_export]
macro_rules! with_kinds {
    ([$($callback:tt)+] $($args:tt)*) => {
        $($callback)+! {
            ($($args)*)
            Bucket = "bucket",
            Role = "role",
            LogGroup = "log_group",
            Function = "function",
            Rule = "rule",
            Permission = "permission",
            Notification = "notification",
            Database = "database",
            Table = "table",
            Workgroup = "workgroup",
        }
    };
}

macro_rules! declare_kinds {
    (() $($Kind:ident = $name:literal,)+) => {
        /// A resource kind; see [`with_kinds!`] for the order.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        pub enum Kind {
            $(#[serde(rename = $name)] $Kind,)+
        }

        impl Kind {
            pub const COUNT: usize = [$($name),+].len();
            pub const ALL: [Kind; Kind::COUNT] = [$(Kind::$Kind),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Kind::$Kind => $name,)+
                }
            }
        }

        /// One resource of any kind.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(tag = "kind")]
        pub enum Resource {
            $(#[serde(rename = $name)] $Kind($Kind),)+
        }
    };
}
with_kinds!([declare_kinds]);

impl Kind {
    /// Kinds that carry the owner tag themselves; the others (a function's
    /// permission, a bucket's notification) belong to their parent.
    pub fn is_tagged(self) -> bool {
        each_kind!(self, R => R::TAGGED)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A resource's identity: its kind and its name in the cloud.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ResourceId {
    pub kind: Kind,
    pub name: String,
}

impl ResourceId {
    pub fn new(kind: Kind, name: impl Into<String>) -> Self {
        Self {
            kind,
            name: name.into(),
        }
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.name)
    }
}

/// Where the stack goes: the account and region names and ARNs are built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub account: String,
    pub region: String,
}

impl Context {
    pub fn function_arn(&self, function_name: &str) -> String {
        format!(
            "arn:aws:lambda:{}:{}:function:{function_name}",
            self.region, self.account
        )
    }

    pub fn role_arn(&self, role_name: &str) -> String {
        format!("arn:aws:iam::{}:role/{role_name}", self.account)
    }

    pub fn rule_arn(&self, rule_name: &str) -> String {
        format!(
            "arn:aws:events:{}:{}:rule/{rule_name}",
            self.region, self.account
        )
    }

    pub fn database_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:glue:{}:{}:database/{name}",
            self.region, self.account
        )
    }

    pub fn workgroup_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:athena:{}:{}:workgroup/{name}",
            self.region, self.account
        )
    }

    pub fn log_group_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:logs:{}:{}:log-group:{name}",
            self.region, self.account
        )
    }
}

/// The owner tags every tagged resource of `stack` carries.
pub fn owner_tags(stack: &str) -> Tags {
    [(OWNER_TAG.to_owned(), stack.to_owned())].into()
}

/// How a change to one field reaches the cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateKind {
    /// A configuration call (PutBucketVersioning, UpdateFunctionConfiguration, PutRule...).
    Configuration,
    /// New code: Lambda's UpdateFunctionCode (which also sets the architecture).
    Code,
    /// Tagging calls only.
    Tags,
    /// No update call exists: the resource is removed and added again
    /// (a Lambda permission statement).
    Replace,
}

/// A kind's compared fields, as an enum.
pub trait Field: Copy + Eq + Ord + fmt::Debug + Send + Sync + 'static {
    /// The field's name in plans and `--json` (`code_sha256`, `policy`...).
    fn name(self) -> &'static str;
    /// How a change to it is applied.
    fn update(self) -> UpdateKind;
}

/// The fields where live differs from desired, for a provider's update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changes<F>(Vec<F>);

impl<F: Field> Changes<F> {
    pub fn new(fields: impl IntoIterator<Item = F>) -> Self {
        let mut v: Vec<F> = fields.into_iter().collect();
        v.sort();
        v.dedup();
        Self(v)
    }

    pub fn contains(&self, field: F) -> bool {
        self.0.contains(&field)
    }

    /// Whether any changed field is applied by `kind` of call.
    pub fn any(&self, kind: UpdateKind) -> bool {
        self.0.iter().any(|f| f.update() == kind)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = F> + '_ {
        self.0.iter().copied()
    }
}

/// One resource kind: what it is, how it is named, and what is compared.
pub trait ResourceKind:
    Clone + PartialEq + fmt::Debug + Serialize + DeserializeOwned + Send + Sync + 'static
{
    const KIND: Kind;
    type Field: Field;
    /// Whether it carries the owner tag itself (else it goes with its
    /// [`parent`](Self::parent)).
    const TAGGED: bool;

    /// Its name in the cloud (a permission: `<function>/<statement id>`).
    fn name(&self) -> String;
    /// The compared fields, rendered as text, in a fixed order.
    fn fields(&self) -> Vec<(Self::Field, String)>;
    /// Its tags, for kinds that carry them (ownership is a tag).
    fn tags(&self) -> Option<&Tags> {
        None
    }
    /// The parent whose ownership an untagged resource inherits.
    fn parent(&self) -> Option<ResourceId> {
        None
    }
    fn into_resource(self) -> Resource;
    fn from_resource(r: &Resource) -> Option<&Self>;

    fn id(&self) -> ResourceId {
        ResourceId::new(Self::KIND, self.name())
    }

    /// The fields where `self` (live) differs from `desired`.
    fn changes_to(&self, desired: &Self) -> Changes<Self::Field> {
        let old = self.fields();
        Changes::new(
            desired
                .fields()
                .into_iter()
                .zip(old)
                .filter(|((_, new), (_, old))| new != old)
                .map(|((f, _), _)| f),
        )
    }
}

/// Runs `$body` with `$R` the type of kind `$kind`, or with `$r` the inner
/// value of resource `$res`: where a runtime kind becomes a type.
#[macro_export]
macro_rules! each_kind {
    (resource $res:expr, $r:ident => $body:expr) => {
        $crate::with_kinds!([$crate::__each_kind_match] @resource $res, $r, $body)
    };
    ($kind:expr, $R:ident => $body:expr) => {
        $crate::with_kinds!([$crate::__each_kind_match] @kind $kind, $R, $body)
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __each_kind_match {
    ((@kind $kind:expr, $R:ident, $body:expr) $($Kind:ident = $name:literal,)+) => {{
        match $kind {
            $($crate::model::Kind::$Kind => {
                type $R = $crate::model::$Kind;
                $body
            })+
        }
    }};
    ((@resource $res:expr, $r:ident, $body:expr) $($Kind:ident = $name:literal,)+) => {{
        match $res {
            $($crate::model::Resource::$Kind($r) => $body,)+
        }
    }};
}
pub use crate::each_kind;

impl Resource {
    pub fn kind(&self) -> Kind {
        fn kind_of<R: ResourceKind>(_: &R) -> Kind {
            R::KIND
        }
        each_kind!(resource self, r => kind_of(r))
    }

    pub fn name(&self) -> String {
        each_kind!(resource self, r => r.name())
    }

    pub fn id(&self) -> ResourceId {
        ResourceId::new(self.kind(), self.name())
    }

    pub fn tags(&self) -> Option<&Tags> {
        each_kind!(resource self, r => r.tags())
    }

    /// The owning stack by tag, for tagged kinds.
    pub fn owner(&self) -> Option<&str> {
        self.tags()
            .and_then(|t| t.get(OWNER_TAG))
            .map(String::as_str)
    }

    /// The owning stack's region by tag, for kinds that carry one (roles).
    pub fn region_tag(&self) -> Option<&str> {
        self.tags()
            .and_then(|t| t.get(REGION_TAG))
            .map(String::as_str)
    }

    /// The parent whose ownership an untagged resource inherits.
    pub fn parent(&self) -> Option<ResourceId> {
        each_kind!(resource self, r => r.parent())
    }

    /// The fields the planner compares, by name, rendered as text, in a
    /// fixed order.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        fn named<F: Field>(v: Vec<(F, String)>) -> Vec<(&'static str, String)> {
            v.into_iter().map(|(f, s)| (f.name(), s)).collect()
        }
        each_kind!(resource self, r => named(r.fields()))
    }
}

/// The resources of kind `R` among `resources`, in order.
pub fn of_kind<R: ResourceKind>(resources: &[Resource]) -> impl Iterator<Item = &R> {
    resources.iter().filter_map(R::from_resource)
}

/// `enabled` / `disabled`, as plans show switches.
pub(crate) fn on_off(v: bool) -> String {
    if v { "enabled" } else { "disabled" }.to_owned()
}

/// An optional value as plans show it: `(none)` when absent.
pub(crate) fn opt<T: fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map_or_else(|| "(none)".to_owned(), ToString::to_string)
}

/// A string map as plans show it: compact JSON, keys sorted.
pub(crate) fn map(m: &BTreeMap<String, String>) -> String {
    serde_json::to_string(m).unwrap_or_default()
}

/// Canonical JSON text: object keys sorted, no whitespace. Returns the input
/// unchanged when it is not JSON. (Array order and singleton arrays are kept:
/// EventBridge patterns need arrays, and we always write policies the same
/// way, so services return them in our form.)
pub fn canonical_json(text: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => serde_json::to_string(&canonicalize(v)).unwrap_or_else(|_| text.to_owned()),
        Err(_) => text.to_owned(),
    }
}

fn canonicalize(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            // Sort explicitly: another crate may turn on serde_json's
            // `preserve_order`, which keeps insertion order.
            let mut entries: Vec<_> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, canonicalize(v)))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.into_iter().map(canonicalize).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_ignores_key_order_and_whitespace() {
        let a = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"]}]}"#;
        let b = "{ \"Statement\": [{\"Action\": [\"s3:GetObject\"], \"Effect\": \"Allow\"}],\n \"Version\": \"2012-10-17\" }";
        assert_eq!(canonical_json(a), canonical_json(b));
        assert_ne!(
            canonical_json(r#"{"A":["x","y"]}"#),
            canonical_json(r#"{"A":["y","x"]}"#)
        );
    }

    #[test]
    fn each_kind_names_its_type_and_round_trips_through_resource() {
        for kind in Kind::ALL {
            assert_eq!(each_kind!(kind, R => R::KIND), kind);
        }
        let b = Bucket {
            name: "b".into(),
            versioning: true,
            public_access_block: true,
            encryption: None,
            policy: None,
            tags: owner_tags("s"),
        };
        let r = b.clone().into_resource();
        assert_eq!(r.kind(), Kind::Bucket);
        assert_eq!(Bucket::from_resource(&r), Some(&b));
        assert_eq!(Role::from_resource(&r), None);
        assert_eq!(r.owner(), Some("s"));
    }

    #[test]
    fn changes_name_fields_and_their_update_kind() {
        let f = Function {
            name: "f".into(),
            role_arn: "arn:aws:iam::1:role/r".into(),
            runtime: "provided.al2023".into(),
            handler: "bootstrap".into(),
            architecture: "x86_64".into(),
            memory_mb: 128,
            timeout_s: 3,
            environment: BTreeMap::new(),
            code_sha256: "a".into(),
            tags: Tags::new(),
            package: None,
        };
        let g = Function {
            architecture: "arm64".into(),
            memory_mb: 256,
            ..f.clone()
        };
        let c = f.changes_to(&g);
        assert!(c.contains(FunctionField::Architecture) && c.contains(FunctionField::MemoryMb));
        assert!(!c.contains(FunctionField::CodeSha256));
        // An architecture change is new code on Lambda, on every target.
        assert!(c.any(UpdateKind::Code) && c.any(UpdateKind::Configuration));
        assert!(!c.any(UpdateKind::Tags));
        assert!(f.changes_to(&f).is_empty());
    }
}
