//! Resources as plain data: what the planner compares and the providers
//! read and write. No SDK types here; each provider maps to and from these.
//!
//! Policies and patterns are kept as canonical JSON text (keys sorted, no
//! whitespace), so a policy AWS returns reformatted, URL-encoded or with keys
//! in another order compares equal to the one we wrote.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

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

/// Kinds in dependency order: a kind only depends on kinds before it, so
/// creates run in this order and deletes in reverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Bucket,
    Role,
    LogGroup,
    Function,
    Rule,
    Permission,
    Notification,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Bucket,
        Kind::Role,
        Kind::LogGroup,
        Kind::Function,
        Kind::Rule,
        Kind::Permission,
        Kind::Notification,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Bucket => "bucket",
            Kind::Role => "role",
            Kind::LogGroup => "log_group",
            Kind::Function => "function",
            Kind::Rule => "rule",
            Kind::Permission => "permission",
            Kind::Notification => "notification",
        }
    }

    /// Kinds that carry the owner tag themselves; the others (a function's
    /// permission, a bucket's notification) belong to their parent.
    pub fn is_tagged(self) -> bool {
        !matches!(self, Kind::Permission | Kind::Notification)
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    pub name: String,
    pub versioning: bool,
    /// All four public-access-block flags on.
    pub public_access_block: bool,
    /// Default encryption algorithm (`AES256`), `None` when unset.
    pub encryption: Option<String>,
    /// Bucket policy, canonical JSON; `None` when the bucket has none.
    pub policy: Option<String>,
    pub tags: Tags,
}

impl Bucket {
    /// Marked `retain: true` (by its tag): never deleted.
    pub fn is_retained(&self) -> bool {
        self.tags.get(RETAIN_TAG).is_some_and(|v| v == "true")
    }
}

/// What a bucket holds: every object version and delete marker counts, as
/// they all go when a versioned bucket is deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketContents {
    pub object_versions: u64,
    pub delete_markers: u64,
    /// Sum of the versions' sizes.
    pub bytes: u64,
}

impl BucketContents {
    pub fn is_empty(&self) -> bool {
        self.object_versions == 0 && self.delete_markers == 0
    }
}

impl fmt::Display for BucketContents {
    /// `1,000 object versions, 150.0 MB` (plus delete markers when any).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plural = |n: u64, one: &str, many: &str| {
            format!("{} {}", thousands(n), if n == 1 { one } else { many })
        };
        write!(
            f,
            "{}",
            plural(self.object_versions, "object version", "object versions")
        )?;
        if self.delete_markers > 0 {
            write!(
                f,
                ", {}",
                plural(self.delete_markers, "delete marker", "delete markers")
            )?;
        }
        write!(f, ", {}", human_bytes(self.bytes))
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Decimal units, as the S3 console shows sizes: `999 B`, `1.5 kB`, `150.0 MB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1000.0;
    let mut unit = 0;
    while value >= 999.95 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub name: String,
    /// Canonical JSON.
    pub trust_policy: String,
    /// The one inline policy we manage, canonical JSON; `None` when absent.
    pub policy: Option<String>,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogGroup {
    pub name: String,
    pub retention_days: Option<u32>,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Function {
    pub name: String,
    pub role_arn: String,
    pub runtime: String,
    pub handler: String,
    pub architecture: String,
    pub memory_mb: u32,
    pub timeout_s: u32,
    pub environment: BTreeMap<String, String>,
    /// Base64 SHA-256 of the deployment zip: Lambda's CodeSha256.
    pub code_sha256: String,
    pub tags: Tags,
    /// The package to upload; not compared (code_sha256 stands for it).
    #[serde(skip)]
    pub package: Option<std::path::PathBuf>,
}

/// A resource-based policy statement letting a service invoke a function.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    pub function: String,
    pub statement_id: String,
    pub principal: String,
    pub source_arn: String,
    pub source_account: Option<String>,
}

impl Permission {
    /// Permissions are named by function and statement id.
    pub fn id_name(function: &str, statement_id: &str) -> String {
        format!("{function}/{statement_id}")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LambdaNotification {
    pub id: String,
    pub function_arn: String,
    pub events: Vec<String>,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
}

/// A bucket's whole notification document: S3 replaces it in one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub bucket: String,
    pub lambda: Vec<LambdaNotification>,
    pub eventbridge: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub name: String,
    /// Event pattern, canonical JSON.
    pub pattern: String,
    pub target_id: String,
    /// The target function's ARN; `None` when the rule has no such target.
    pub target_arn: Option<String>,
    pub tags: Tags,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Resource {
    Bucket(Bucket),
    Role(Role),
    LogGroup(LogGroup),
    Function(Function),
    Rule(Rule),
    Permission(Permission),
    Notification(Notification),
}

impl Resource {
    pub fn kind(&self) -> Kind {
        match self {
            Resource::Bucket(_) => Kind::Bucket,
            Resource::Role(_) => Kind::Role,
            Resource::LogGroup(_) => Kind::LogGroup,
            Resource::Function(_) => Kind::Function,
            Resource::Rule(_) => Kind::Rule,
            Resource::Permission(_) => Kind::Permission,
            Resource::Notification(_) => Kind::Notification,
        }
    }

    pub fn name(&self) -> String {
        match self {
            Resource::Bucket(r) => r.name.clone(),
            Resource::Role(r) => r.name.clone(),
            Resource::LogGroup(r) => r.name.clone(),
            Resource::Function(r) => r.name.clone(),
            Resource::Rule(r) => r.name.clone(),
            Resource::Permission(r) => Permission::id_name(&r.function, &r.statement_id),
            Resource::Notification(r) => r.bucket.clone(),
        }
    }

    pub fn id(&self) -> ResourceId {
        ResourceId::new(self.kind(), self.name())
    }

    pub fn tags(&self) -> Option<&Tags> {
        match self {
            Resource::Bucket(r) => Some(&r.tags),
            Resource::Role(r) => Some(&r.tags),
            Resource::LogGroup(r) => Some(&r.tags),
            Resource::Function(r) => Some(&r.tags),
            Resource::Rule(r) => Some(&r.tags),
            Resource::Permission(_) | Resource::Notification(_) => None,
        }
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
        match self {
            Resource::Permission(p) => Some(ResourceId::new(Kind::Function, &p.function)),
            Resource::Notification(n) => Some(ResourceId::new(Kind::Bucket, &n.bucket)),
            _ => None,
        }
    }

    /// The fields the planner compares, rendered as text, in a fixed order.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        fn opt<T: fmt::Display>(v: &Option<T>) -> String {
            v.as_ref()
                .map_or_else(|| "(none)".to_owned(), ToString::to_string)
        }
        fn map(m: &BTreeMap<String, String>) -> String {
            serde_json::to_string(m).unwrap_or_default()
        }
        match self {
            Resource::Bucket(b) => vec![
                ("versioning", on_off(b.versioning)),
                ("public_access_block", on_off(b.public_access_block)),
                ("encryption", opt(&b.encryption)),
                ("policy", opt(&b.policy)),
                ("tags", map(&b.tags)),
            ],
            Resource::Role(r) => vec![
                ("trust_policy", r.trust_policy.clone()),
                ("policy", opt(&r.policy)),
                ("tags", map(&r.tags)),
            ],
            Resource::LogGroup(l) => vec![
                ("retention_days", opt(&l.retention_days)),
                ("tags", map(&l.tags)),
            ],
            Resource::Function(f) => vec![
                ("code_sha256", f.code_sha256.clone()),
                ("role", f.role_arn.clone()),
                ("runtime", f.runtime.clone()),
                ("handler", f.handler.clone()),
                ("architecture", f.architecture.clone()),
                ("memory_mb", f.memory_mb.to_string()),
                ("timeout_s", f.timeout_s.to_string()),
                ("environment", map(&f.environment)),
                ("tags", map(&f.tags)),
            ],
            Resource::Rule(r) => vec![
                ("pattern", r.pattern.clone()),
                ("target", opt(&r.target_arn)),
                ("tags", map(&r.tags)),
            ],
            Resource::Permission(p) => vec![
                ("principal", p.principal.clone()),
                ("source_arn", p.source_arn.clone()),
                ("source_account", opt(&p.source_account)),
            ],
            Resource::Notification(n) => {
                let mut lambda = n.lambda.clone();
                lambda.sort();
                vec![
                    ("lambda", serde_json::to_string(&lambda).unwrap_or_default()),
                    ("eventbridge", on_off(n.eventbridge)),
                ]
            }
        }
    }
}

fn on_off(v: bool) -> String {
    if v { "enabled" } else { "disabled" }.to_owned()
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
    fn contents_read_as_a_person_would_say_them() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1500), "1.5 kB");
        assert_eq!(human_bytes(150_000_000), "150.0 MB");
        assert_eq!(human_bytes(999_999), "1.0 MB");
        let c = BucketContents {
            object_versions: 1000,
            delete_markers: 0,
            bytes: 150_000_000,
        };
        assert_eq!(c.to_string(), "1,000 object versions, 150.0 MB");
        let c = BucketContents {
            object_versions: 1,
            delete_markers: 2,
            bytes: 10,
        };
        assert_eq!(c.to_string(), "1 object version, 2 delete markers, 10 B");
        assert!(!c.is_empty() && BucketContents::default().is_empty());
    }

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
}
