//! Desired state: the validated spec, the target's account and region, and
//! the built packages, turned into resources. Pure.

use std::collections::BTreeMap;

use serde_json::json;

use crate::model::*;
use crate::spec::{Stack, Trigger};

/// A built function package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageRef {
    pub code_sha256: String,
    pub zip_path: std::path::PathBuf,
}

pub const LAMBDA_TRUST_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
pub const RUNTIME: &str = "provided.al2023";
pub const HANDLER: &str = "bootstrap";

pub fn s3_statement_id(bucket_id: &str) -> String {
    format!("stackctl-s3-{bucket_id}")
}

pub fn events_statement_id(rule_name: &str) -> String {
    format!("stackctl-events-{rule_name}")
}

pub fn notification_id(function_id: &str) -> String {
    format!("stackctl-{function_id}")
}

/// Every resource the stack wants, named for `ctx`. `packages` maps a
/// function id to its built package; a function without one gets an empty
/// code hash (what `diff` shows before a first build).
pub fn desired(
    stack: &Stack,
    ctx: &Context,
    packages: &BTreeMap<String, PackageRef>,
) -> Vec<Resource> {
    let tags = owner_tags(&stack.name);
    let bucket_name = |id: &str| stack.bucket_name(id, &ctx.account, &ctx.region);
    let mut out = Vec::new();
    let mut notifications: BTreeMap<String, Notification> = stack
        .buckets
        .keys()
        .map(|id| {
            let name = bucket_name(id);
            (
                id.clone(),
                Notification {
                    bucket: name,
                    lambda: Vec::new(),
                    eventbridge: false,
                },
            )
        })
        .collect();

    for (id, spec) in &stack.buckets {
        let name = bucket_name(id);
        let mut bucket_tags = tags.clone();
        if spec.retain {
            bucket_tags.insert(crate::model::RETAIN_TAG.to_owned(), "true".to_owned());
        }
        out.push(Resource::Bucket(Bucket {
            policy: Some(Bucket::tls_only_policy(&name)),
            name,
            versioning: true,
            public_access_block: true,
            encryption: Some("AES256".into()),
            tags: bucket_tags,
        }));
    }

    for (id, f) in &stack.functions {
        let function_name = stack.function_name(id);
        let role_name = stack.role_name(id);
        let log_group = stack.log_group_name(id);
        let function_arn = ctx.function_arn(&function_name);
        let mut role_tags = tags.clone();
        role_tags.insert(REGION_TAG.to_owned(), ctx.region.clone());
        out.push(Resource::Role(Role {
            name: role_name.clone(),
            trust_policy: canonical_json(LAMBDA_TRUST_POLICY),
            policy: Some(canonical_json(
                &access_policy(
                    &f.reads.iter().map(|b| bucket_name(b)).collect::<Vec<_>>(),
                    &f.writes.iter().map(|b| bucket_name(b)).collect::<Vec<_>>(),
                    &ctx.log_group_arn(&log_group),
                )
                .to_string(),
            )),
            tags: role_tags,
        }));
        out.push(Resource::LogGroup(LogGroup {
            name: log_group,
            retention_days: Some(f.log_retention_days),
            tags: tags.clone(),
        }));
        let package = packages.get(id);
        out.push(Resource::Function(Function {
            name: function_name.clone(),
            role_arn: ctx.role_arn(&role_name),
            runtime: RUNTIME.into(),
            handler: HANDLER.into(),
            architecture: f.architecture.as_str().into(),
            memory_mb: f.memory_mb,
            timeout_s: f.timeout_s,
            environment: stack.environment(id, &ctx.account, &ctx.region),
            code_sha256: package.map(|p| p.code_sha256.clone()).unwrap_or_default(),
            tags: tags.clone(),
            package: package.map(|p| p.zip_path.clone()),
        }));
        for trigger in &f.triggers {
            match trigger {
                Trigger::S3 {
                    bucket,
                    events,
                    prefix,
                    suffix,
                } => {
                    let name = bucket_name(bucket);
                    out.push(Resource::Permission(Permission {
                        function: function_name.clone(),
                        statement_id: s3_statement_id(bucket),
                        principal: "s3.amazonaws.com".into(),
                        source_arn: format!("arn:aws:s3:::{name}"),
                        source_account: Some(ctx.account.clone()),
                    }));
                    if let Some(n) = notifications.get_mut(bucket) {
                        n.lambda.push(LambdaNotification {
                            id: notification_id(id),
                            function_arn: function_arn.clone(),
                            events: events.clone(),
                            prefix: prefix.clone(),
                            suffix: suffix.clone(),
                        });
                    }
                }
                Trigger::EventBridge {
                    bucket,
                    prefix,
                    suffix,
                } => {
                    let rule_name = stack.rule_name(id, bucket);
                    out.push(Resource::Rule(Rule {
                        pattern: canonical_json(
                            &object_created_pattern(
                                &bucket_name(bucket),
                                prefix.as_deref(),
                                suffix.as_deref(),
                            )
                            .to_string(),
                        ),
                        target_id: notification_id(id),
                        target_arn: Some(function_arn.clone()),
                        tags: tags.clone(),
                        name: rule_name.clone(),
                    }));
                    out.push(Resource::Permission(Permission {
                        function: function_name.clone(),
                        statement_id: events_statement_id(&rule_name),
                        principal: "events.amazonaws.com".into(),
                        source_arn: ctx.rule_arn(&rule_name),
                        source_account: None,
                    }));
                    if let Some(n) = notifications.get_mut(bucket) {
                        n.eventbridge = true;
                    }
                }
            }
        }
    }
    for mut n in notifications.into_values() {
        n.lambda.sort();
        out.push(Resource::Notification(n));
    }
    if let Some(catalog) = &stack.catalog {
        let location =
            |l: &crate::spec::Location| format!("s3://{}/{}", bucket_name(&l.bucket), l.prefix);
        out.push(Resource::Database(Database {
            name: catalog.database.clone(),
            description: Some(format!("The tables of stackctl stack {}", stack.name)),
            tags: tags.clone(),
        }));
        for t in &catalog.tables {
            out.push(Resource::Table(Table {
                database: catalog.database.clone(),
                name: t.name.clone(),
                location: location(&t.location),
                columns: t
                    .columns
                    .iter()
                    .map(|c| Column {
                        name: c.name.clone(),
                        ty: c.ty.glue_name(),
                    })
                    .collect(),
                format: TableFormat::csv(),
                tags: tags.clone(),
            }));
        }
        out.push(Resource::Workgroup(Workgroup {
            name: stack.workgroup_name(),
            output_location: Some(location(&catalog.results)),
            // Results are data: encrypted like the buckets (SSE-S3), and
            // the workgroup's settings win over a client's.
            encryption: Some("SSE_S3".into()),
            enforce_configuration: true,
            tags: tags.clone(),
        }));
    }
    out
}

/// Least privilege from what stack.yaml says a function reads and writes:
/// only those S3 actions on those exact buckets and objects, and writing to
/// its own log group. `s3:ListBucket` on read buckets makes a missing object
/// answer NoSuchKey rather than AccessDenied, so errors say what happened.
pub fn access_policy(
    reads: &[String],
    writes: &[String],
    log_group_arn: &str,
) -> serde_json::Value {
    let mut statements = vec![json!({
        "Sid": "Logs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": [format!("{log_group_arn}:*")]
    })];
    if !reads.is_empty() {
        statements.push(json!({
            "Sid": "ReadObjects",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": reads.iter().map(|b| format!("arn:aws:s3:::{b}/*")).collect::<Vec<_>>()
        }));
        statements.push(json!({
            "Sid": "ListReadBuckets",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": reads.iter().map(|b| format!("arn:aws:s3:::{b}")).collect::<Vec<_>>()
        }));
    }
    if !writes.is_empty() {
        // Abort: a writer's failed multipart upload (functions/src/s3.rs)
        // is aborted, or its parts stay, billed, until a lifecycle rule.
        statements.push(json!({
            "Sid": "WriteObjects",
            "Effect": "Allow",
            "Action": ["s3:AbortMultipartUpload", "s3:PutObject"],
            "Resource": writes.iter().map(|b| format!("arn:aws:s3:::{b}/*")).collect::<Vec<_>>()
        }));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// EventBridge pattern for S3 "Object Created" on one bucket.
pub fn object_created_pattern(
    bucket: &str,
    prefix: Option<&str>,
    suffix: Option<&str>,
) -> serde_json::Value {
    let mut detail = json!({"bucket": {"name": [bucket]}});
    // Matchers in one array are OR-ed; both filters at once (AND) need a
    // wildcard, where `*` and `\` in the literal parts are escaped.
    let escape = |s: &str| s.replace('\\', "\\\\").replace('*', "\\*");
    let key = match (
        prefix.filter(|p| !p.is_empty()),
        suffix.filter(|s| !s.is_empty()),
    ) {
        (Some(p), Some(s)) => Some(json!({"wildcard": format!("{}*{}", escape(p), escape(s))})),
        (Some(p), None) => Some(json!({"prefix": p})),
        (None, Some(s)) => Some(json!({"suffix": s})),
        (None, None) => None,
    };
    if let Some(key) = key {
        detail["object"] = json!({"key": [key]});
    }
    json!({"source": ["aws.s3"], "detail-type": ["Object Created"], "detail": detail})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_stack() -> Stack {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../stack.yaml");
        crate::spec::load(&path, &[]).unwrap_or_else(|e| panic!("{e}"))
    }

    fn ctx() -> Context {
        Context {
            account: "111122223333".into(),
            region: "eu-west-1".into(),
        }
    }

    fn role_policy(resources: &[Resource], role: &str) -> serde_json::Value {
        resources
            .iter()
            .find_map(|r| match r {
                Resource::Role(r) if r.name == role => r.policy.clone(),
                _ => None,
            })
            .and_then(|p| serde_json::from_str(&p).ok())
            .unwrap_or_else(|| panic!("no policy for role {role}"))
    }

    /// The repo's processor may read the raw bucket, write the consumption
    /// bucket and its own log group, and nothing else. Written by hand.
    #[test]
    fn the_processor_role_allows_exactly_what_stack_yaml_says() {
        let resources = desired(&repo_stack(), &ctx(), &BTreeMap::new());
        let raw = "cartpipe-raw-111122223333-eu-west-1";
        let consumption = "cartpipe-consumption-111122223333-eu-west-1";
        let want = json!({
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "Logs",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": ["arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/cartpipe-processor:*"]
                },
                {
                    "Sid": "ReadObjects",
                    "Effect": "Allow",
                    "Action": ["s3:GetObject"],
                    "Resource": [format!("arn:aws:s3:::{raw}/*")]
                },
                {
                    "Sid": "ListReadBuckets",
                    "Effect": "Allow",
                    "Action": ["s3:ListBucket"],
                    "Resource": [format!("arn:aws:s3:::{raw}")]
                },
                {
                    "Sid": "WriteObjects",
                    "Effect": "Allow",
                    "Action": ["s3:AbortMultipartUpload", "s3:PutObject"],
                    "Resource": [format!("arn:aws:s3:::{consumption}/*")]
                }
            ]
        });
        assert_eq!(role_policy(&resources, "cartpipe-processor"), want);
    }

    #[test]
    fn no_role_gets_a_wildcard_action_or_creates_log_groups() {
        let resources = desired(&repo_stack(), &ctx(), &BTreeMap::new());
        let mut roles = 0;
        for r in &resources {
            let Resource::Role(role) = r else { continue };
            roles += 1;
            assert_eq!(role.trust_policy, canonical_json(LAMBDA_TRUST_POLICY));
            let policy = role_policy(&resources, &role.name);
            let statements = policy["Statement"].as_array().cloned().unwrap_or_default();
            assert!(!statements.is_empty(), "{}", role.name);
            // A string or a list: IAM takes both.
            let list = |v: &serde_json::Value| match v {
                serde_json::Value::Array(a) => a.clone(),
                other => vec![other.clone()],
            };
            for s in statements {
                assert_eq!(s["Effect"], "Allow");
                for action in list(&s["Action"]) {
                    let action = action.as_str().unwrap_or_default();
                    assert!(!action.contains('*'), "{}: {action}", role.name);
                    assert_ne!(action, "logs:CreateLogGroup", "{}", role.name);
                }
                for resource in list(&s["Resource"]) {
                    let resource = resource.as_str().unwrap_or_default();
                    assert!(
                        resource.ends_with(":*")
                            || resource.ends_with("/*")
                            || !resource.contains('*'),
                        "{}: {resource}",
                        role.name
                    );
                }
            }
        }
        assert_eq!(roles, 3);
        // The generator writes the raw bucket and reads nothing.
        let generator = role_policy(&resources, "cartpipe-generator");
        let sids: Vec<&str> = generator["Statement"]
            .as_array()
            .map(|s| s.iter().filter_map(|s| s["Sid"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(sids, ["Logs", "WriteObjects"]);
    }

    #[test]
    fn every_bucket_denies_requests_without_tls() {
        let resources = desired(&repo_stack(), &ctx(), &BTreeMap::new());
        let buckets: Vec<&Bucket> = resources
            .iter()
            .filter_map(|r| match r {
                Resource::Bucket(b) => Some(b),
                _ => None,
            })
            .collect();
        assert_eq!(buckets.len(), 2);
        for b in buckets {
            let name = &b.name;
            let want = json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [format!("arn:aws:s3:::{name}"), format!("arn:aws:s3:::{name}/*")],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}}
                }]
            });
            let got: serde_json::Value =
                serde_json::from_str(b.policy.as_deref().unwrap_or("null")).unwrap_or_default();
            assert_eq!(got, want, "{name}");
            assert!(b.versioning && b.public_access_block, "{name}");
            assert_eq!(b.encryption.as_deref(), Some("AES256"), "{name}");
        }
    }
}
