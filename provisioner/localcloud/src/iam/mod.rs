//! Identity-policy evaluation for the local S3 endpoint: does a role's
//! inline policy (the one `up` generated from stack.yaml) allow an action on
//! a resource?
//!
//! As IAM does for one identity policy: an explicit `Deny` wins, else an
//! `Allow` whose `Action` and `Resource` match allows, else the request is
//! implicitly denied. Actions match case-insensitively, resources
//! case-sensitively, both with `*` (any run) and `?` (one character).
//! `NotAction`/`NotResource` are honoured; a statement with a `Condition`
//! is not evaluated (never allows; a conditional Deny is ignored), since
//! the generated policies have none.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Tags;
use crate::store::Record;
use crate::wildcard::Glob;

/// An IAM role, as stored: its trust policy and its one inline policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub name: String,
    /// JSON text.
    pub trust_policy: String,
    /// The inline policy (JSON text); `None` when absent.
    pub policy: Option<String>,
    pub tags: Tags,
}

impl Record for Role {
    const KIND: &'static str = "role";
    fn record_name(&self) -> String {
        self.name.clone()
    }
}

/// The outcome of evaluating a policy for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// No statement allows (implicit deny).
    NotAllowed,
    /// A statement denies explicitly.
    Denied,
}

/// Evaluates `policy` (JSON text) for `action` (like `s3:GetObject`) on
/// `resource` (an ARN). Unparseable policies allow nothing.
pub fn evaluate(policy: &str, action: &str, resource: &str) -> Decision {
    let Ok(doc) = serde_json::from_str::<Value>(policy) else {
        return Decision::NotAllowed;
    };
    let statements = match doc.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect::<Vec<_>>(),
        Some(s @ Value::Object(_)) => vec![s],
        _ => return Decision::NotAllowed,
    };
    let mut allowed = false;
    for s in statements {
        if s.get("Condition").is_some() {
            continue;
        }
        let applies = matches_any(s, "Action", "NotAction", action, true)
            && matches_any(s, "Resource", "NotResource", resource, false);
        if !applies {
            continue;
        }
        match s.get("Effect").and_then(Value::as_str) {
            Some("Deny") => return Decision::Denied,
            Some("Allow") => allowed = true,
            _ => {}
        }
    }
    if allowed {
        Decision::Allow
    } else {
        Decision::NotAllowed
    }
}

/// Whether `key` (or, inverted, `not_key`) of statement `s` covers `value`.
fn matches_any(s: &Value, key: &str, not_key: &str, value: &str, ignore_case: bool) -> bool {
    let list = |v: &Value| -> Vec<String> {
        match v {
            Value::String(x) => vec![x.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
            _ => Vec::new(),
        }
    };
    if let Some(v) = s.get(key) {
        list(v).iter().any(|p| glob(p, value, ignore_case))
    } else if let Some(v) = s.get(not_key) {
        !list(v).iter().any(|p| glob(p, value, ignore_case))
    } else {
        false
    }
}

/// IAM wildcard matching: `*` any run (possibly empty), `?` one character.
pub fn glob(pattern: &str, text: &str, ignore_case: bool) -> bool {
    if ignore_case {
        Glob::iam(&pattern.to_lowercase()).matches(&text.to_lowercase())
    } else {
        Glob::iam(pattern).matches(text)
    }
}

/// The IAM action and resource ARN an S3 operation needs: `op` is the S3
/// operation name (`GetObject`), `bucket`/`key` what it addresses, and
/// `versioned` whether it names a version id (GetObject of a version needs
/// `s3:GetObjectVersion`).
pub fn s3_action(
    op: &str,
    bucket: Option<&str>,
    key: Option<&str>,
    versioned: bool,
) -> (String, String) {
    let action = match (op, versioned) {
        ("GetObject" | "HeadObject", false) => "s3:GetObject".to_owned(),
        ("GetObject" | "HeadObject", true) => "s3:GetObjectVersion".to_owned(),
        ("DeleteObject", false) => "s3:DeleteObject".to_owned(),
        ("DeleteObject", true) => "s3:DeleteObjectVersion".to_owned(),
        (
            "PutObject"
            | "CopyObject"
            | "CreateMultipartUpload"
            | "UploadPart"
            | "CompleteMultipartUpload",
            _,
        ) => "s3:PutObject".to_owned(),
        ("AbortMultipartUpload", _) => "s3:AbortMultipartUpload".to_owned(),
        ("ListObjects" | "ListObjectsV2" | "HeadBucket", _) => "s3:ListBucket".to_owned(),
        ("ListObjectVersions", _) => "s3:ListBucketVersions".to_owned(),
        ("ListBuckets", _) => "s3:ListAllMyBuckets".to_owned(),
        ("ListMultipartUploads", _) => "s3:ListBucketMultipartUploads".to_owned(),
        ("ListParts", _) => "s3:ListMultipartUploadParts".to_owned(),
        (other, _) => format!("s3:{other}"),
    };
    let resource = match (bucket, key) {
        (Some(b), Some(k)) => format!("arn:aws:s3:::{b}/{k}"),
        (Some(b), None) => format!("arn:aws:s3:::{b}"),
        _ => "*".to_owned(),
    };
    (action, resource)
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"ReadObjects","Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::raw/*"]},
        {"Sid":"List","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::raw"},
        {"Sid":"No","Effect":"Deny","Action":"s3:*","Resource":"arn:aws:s3:::raw/secret/*"}]}"#;

    #[test]
    fn allow_deny_and_implicit_deny() {
        assert_eq!(
            evaluate(POLICY, "s3:GetObject", "arn:aws:s3:::raw/a.csv"),
            Decision::Allow
        );
        assert_eq!(
            evaluate(POLICY, "S3:getobject", "arn:aws:s3:::raw/a.csv"),
            Decision::Allow
        );
        assert_eq!(
            evaluate(POLICY, "s3:PutObject", "arn:aws:s3:::raw/a.csv"),
            Decision::NotAllowed
        );
        assert_eq!(
            evaluate(POLICY, "s3:GetObject", "arn:aws:s3:::other/a.csv"),
            Decision::NotAllowed
        );
        assert_eq!(
            evaluate(POLICY, "s3:ListBucket", "arn:aws:s3:::raw"),
            Decision::Allow
        );
        assert_eq!(
            evaluate(POLICY, "s3:ListBucket", "arn:aws:s3:::raw2"),
            Decision::NotAllowed
        );
        assert_eq!(
            evaluate(POLICY, "s3:GetObject", "arn:aws:s3:::raw/secret/x"),
            Decision::Denied
        );
        assert_eq!(
            evaluate("not json", "s3:GetObject", "x"),
            Decision::NotAllowed
        );
    }

    #[test]
    fn globs() {
        assert!(glob("a*c", "abbbc", false));
        assert!(glob("a?c", "abc", false));
        assert!(!glob("a?c", "abbc", false));
        assert!(glob("*", "", false));
        assert!(!glob("A*", "abc", false));
        assert!(glob("A*", "abc", true));
    }
}
