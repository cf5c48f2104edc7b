//! `stackctl` itself, as a user runs it, with the repo's stack.yaml, against
//! moto's server over HTTP through the real AWS SDK.
//!
//! Each test starts its own moto server: they all deploy the same stack
//! name, so they must not share one.

#![allow(clippy::unwrap_used)] // tests fail loudly; that is the point

use crate::{cli, moto};
use std::process::{Command, Output};

use cli::{ok, plan_changes, repo_root, text};
use serde_json::Value;

/// Same-shaped resources that are not the stack's (no owner tag).
const UNTAGGED_BUCKET: &str = "cartpipe-scratch-untagged";
const UNTAGGED_ROLE: &str = "cartpipe-scratch-untagged";
const REGION: &str = "us-east-1";
const RAW: &str = "cartpipe-raw-123456789012-us-east-1";
const CONSUMPTION: &str = "cartpipe-consumption-123456789012-us-east-1";
/// The account's lock bucket (`up` and `down` create it on first use).
const LOCK_BUCKET: &str = "stackctl-locks-123456789012-us-east-1";

fn stackctl(moto: &moto::Moto, args: &[&str]) -> Output {
    // The repo's stack.yaml: aws_command runs in the repo root.
    cli::reusing_build(&cli::repo_root().join("stack.yaml"), args, |args| {
        cli::aws_command(&moto.endpoint, REGION, args)
            .output()
            .expect("run stackctl")
    })
}

/// `{"api_calls": {"read": {...}, "mutating": {...}}}` from `--stats --json`.
fn api_calls(out: &Output) -> (u64, u64) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("{\"api_calls\""))
        .unwrap_or_else(|| panic!("no stats in {}", text(out)));
    let v: Value = serde_json::from_str(line).expect("stats JSON");
    let sum = |k: &str| {
        v["api_calls"][k]
            .as_object()
            .map_or(0, |m| m.values().filter_map(Value::as_u64).sum())
    };
    (sum("read"), sum("mutating"))
}

/// An object's bytes.
async fn object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<u8> {
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    out.body.collect().await.unwrap().into_bytes().to_vec()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("runtime")
}

#[test]
fn up_is_idempotent_repairs_drift_and_down_removes_only_what_it_owns() {
    let Some(moto) = moto::Moto::start() else {
        return;
    };
    let config = moto.sdk_config(REGION);
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    let iam = aws_sdk_iam::Client::new(&config);
    let lambda = aws_sdk_lambda::Client::new(&config);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
    let events = aws_sdk_eventbridge::Client::new(&config);
    let rt = rt();

    // Up from empty, then nothing left to do.
    ok(stackctl(&moto, &["up"]));
    let diff = stackctl(&moto, &["diff", "--json"]);
    assert_eq!(diff.status.code(), Some(0), "{}", text(&diff));
    let again = ok(stackctl(&moto, &["up", "--json", "--stats"]));
    assert_eq!(
        api_calls(&again).1,
        0,
        "a second up makes no mutating call: {}",
        text(&again)
    );
    let (reads, mutating) = api_calls(&ok(stackctl(&moto, &["diff", "--json", "--stats"])));
    assert_eq!(mutating, 0);
    // 40 for the pipeline, 10 for the catalog (tests/aws_provider.rs's
    // whole-stack budget has the accounting), and GetCallerIdentity.
    assert!(reads <= 51, "a no-op diff takes {reads} read calls");

    // `logs` reads CloudWatch Logs on an AWS target, with read-only calls.
    rt.block_on(async {
        let group = "/aws/lambda/cartpipe-processor";
        let stream = "2026/11/26/[$LATEST]0123abcd";
        logs.create_log_stream()
            .log_group_name(group)
            .log_stream_name(stream)
            .send()
            .await
            .unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64;
        logs.put_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .log_events(
                aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                    .timestamp(now)
                    .message("hello from the processor")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    });
    let read = ok(stackctl(&moto, &["logs", "processor", "--json", "--stats"]));
    let stdout = String::from_utf8_lossy(&read.stdout);
    assert!(
        stdout.contains("[$LATEST]0123abcd hello from the processor"),
        "{}",
        text(&read)
    );
    let (reads, mutating) = api_calls(&read);
    assert_eq!((reads >= 1, mutating), (true, 0), "{}", text(&read));
    // `--region` overrides the chain: that log group is not in eu-west-1.
    let elsewhere = stackctl(&moto, &["--region", "eu-west-1", "logs", "processor"]);
    assert_eq!(elsewhere.status.code(), Some(1), "{}", text(&elsewhere));
    assert!(
        String::from_utf8_lossy(&elsewhere.stderr).contains("/aws/lambda/cartpipe-processor"),
        "{}",
        text(&elsewhere)
    );

    // Drift behind stackctl's back.
    rt.block_on(async {
        use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
        s3.put_bucket_versioning()
            .bucket(RAW)
            .versioning_configuration(
                VersioningConfiguration::builder()
                    .status(BucketVersioningStatus::Suspended)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        s3.delete_public_access_block().bucket(CONSUMPTION).send().await.unwrap();
        logs.put_retention_policy()
            .log_group_name("/aws/lambda/cartpipe-processor")
            .retention_in_days(30)
            .send()
            .await
            .unwrap();
        lambda
            .update_function_configuration()
            .function_name("cartpipe-promotion")
            .memory_size(1024)
            .send()
            .await
            .unwrap();
        iam.put_role_policy()
            .role_name("cartpipe-generator")
            .policy_name("stackctl-access")
            .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#)
            .send()
            .await
            .unwrap();
        events
            .remove_targets()
            .rule("cartpipe-promotion-raw-created")
            .ids("stackctl-promotion")
            .send()
            .await
            .unwrap();
        events.delete_rule().name("cartpipe-promotion-raw-created").send().await.unwrap();
        lambda.delete_function().function_name("cartpipe-generator").send().await.unwrap();
    });
    let diff = stackctl(&moto, &["diff", "--json"]);
    assert_eq!(diff.status.code(), Some(2), "{}", text(&diff));
    let s = |x: &str| x.to_owned();
    assert_eq!(
        plan_changes(&diff),
        vec![
            (
                s("bucket"),
                s(CONSUMPTION),
                s("update"),
                vec![s("public_access_block")]
            ),
            (s("bucket"), s(RAW), s("update"), vec![s("versioning")]),
            (s("function"), s("cartpipe-generator"), s("create"), vec![]),
            (
                s("function"),
                s("cartpipe-promotion"),
                s("update"),
                vec![s("memory_mb")]
            ),
            (
                s("log_group"),
                s("/aws/lambda/cartpipe-processor"),
                s("update"),
                vec![s("retention_days")]
            ),
            (
                s("role"),
                s("cartpipe-generator"),
                s("update"),
                vec![s("policy")]
            ),
            (
                s("rule"),
                s("cartpipe-promotion-raw-created"),
                s("create"),
                vec![]
            ),
        ],
        "{}",
        text(&diff)
    );
    // The human diff shows old → new.
    let human = stackctl(&moto, &["diff"]);
    let stdout = String::from_utf8_lossy(&human.stdout);
    assert!(stdout.contains("memory_mb: 1024 → 512"), "{stdout}");
    // A policy shows as a diff of its statements: the wildcard grant that
    // was put behind stackctl's back goes, the scoped statement comes back.
    assert!(stdout.contains("      policy:\n"), "{stdout}");
    assert!(
        stdout.contains("\n        -      \"Action\": \"s3:*\","),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("        +") && l.trim_end().ends_with("\"s3:PutObject\"")),
        "{stdout}"
    );
    let json: Value = serde_json::from_slice(&diff.stdout).unwrap();
    let role_step = json["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"]["name"] == "cartpipe-generator" && s["id"]["kind"] == "role")
        .unwrap();
    assert!(
        role_step["changes"][0]["diff"]
            .as_array()
            .is_some_and(|d| d.iter().any(|l| l == "-      \"Resource\": \"*\"")),
        "{role_step}"
    );
    assert!(stdout.contains("+ function cartpipe-generator"), "{stdout}");
    ok(stackctl(&moto, &["up"]));
    let diff = stackctl(&moto, &["diff", "--json"]);
    assert_eq!(diff.status.code(), Some(0), "{}", text(&diff));

    // A fresh process reads back the same model.
    let again = stackctl(&moto, &["diff", "--json"]);
    assert_eq!(diff.stdout, again.stdout);

    // The same stack in another region of the account: its roles (IAM is
    // global) belong to us-east-1, so up there refuses and down there
    // leaves them.
    let west = stackctl(&moto, &["--region", "eu-west-1", "up"]);
    assert_eq!(west.status.code(), Some(1), "{}", text(&west));
    let stderr = String::from_utf8_lossy(&west.stderr);
    for expected in [
        "role cartpipe-processor exists and is not this stack's (owned by stack `cartpipe` in region us-east-1)",
        "each region needs its own stack name",
    ] {
        assert!(stderr.contains(expected), "{expected}: {}", text(&west));
    }
    ok(stackctl(&moto, &["--region", "eu-west-1", "down", "--yes"]));
    let diff = stackctl(&moto, &["diff"]);
    assert_eq!(
        diff.status.code(),
        Some(0),
        "us-east-1 untouched: {}",
        text(&diff)
    );

    // Resources of the same shape without the tag sit next to the stack's
    // and must survive the same `down`.
    rt.block_on(async {
        s3.create_bucket()
            .bucket(UNTAGGED_BUCKET)
            .send()
            .await
            .unwrap();
        iam.create_role()
            .role_name(UNTAGGED_ROLE)
            .assume_role_policy_document(stackctl::desired::LAMBDA_TRUST_POLICY)
            .send()
            .await
            .unwrap();
        for body in ["a", "b", "c"] {
            s3.put_object()
                .bucket(RAW)
                .key("x.txt")
                .body(body.as_bytes().to_vec().into())
                .send()
                .await
                .unwrap();
        }
        s3.delete_object()
            .bucket(RAW)
            .key("x.txt")
            .send()
            .await
            .unwrap();
        let versions = s3.list_object_versions().bucket(RAW).send().await.unwrap();
        assert_eq!(versions.versions().len(), 3);
        assert_eq!(versions.delete_markers().len(), 1);
    });
    // The raw bucket holds data now: down refuses before any change, with
    // or without --yes, and says what it would have destroyed.
    for args in [&["down"][..], &["down", "--yes"]] {
        let refused = stackctl(&moto, args);
        assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            stderr.contains(&format!(
                "bucket {RAW}: 3 object versions, 1 delete marker, 3 B"
            )),
            "{}",
            text(&refused)
        );
        assert!(stderr.contains("pass --delete-data"), "{}", text(&refused));
    }
    let diff = stackctl(&moto, &["diff"]);
    assert_eq!(
        diff.status.code(),
        Some(0),
        "nothing deleted: {}",
        text(&diff)
    );
    // Without a terminal, down needs --yes, even with --delete-data.
    let refused = stackctl(&moto, &["down", "--delete-data"]);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("pass --yes"));
    // With both, down empties versioned buckets: versions and delete markers.
    ok(stackctl(&moto, &["down", "--yes", "--delete-data"]));
    rt.block_on(async {
        let buckets = s3.list_buckets().send().await.unwrap();
        let mut buckets: Vec<&str> = buckets.buckets().iter().filter_map(|b| b.name()).collect();
        // moto lists in creation order, S3 by name.
        buckets.sort_unstable();
        assert_eq!(
            buckets,
            [
                UNTAGGED_BUCKET,
                "stackctl-locks-123456789012-eu-west-1",
                LOCK_BUCKET
            ],
            "only the untagged bucket and the lock buckets (one per region used) are left"
        );
        // The lock was released: its bucket holds no record.
        let locks = s3
            .list_objects_v2()
            .bucket(LOCK_BUCKET)
            .send()
            .await
            .unwrap();
        assert_eq!(locks.key_count(), Some(0), "{locks:?}");
        let roles = iam.list_roles().send().await.unwrap();
        let roles: Vec<&str> = roles.roles().iter().map(|r| r.role_name()).collect();
        assert_eq!(roles, [UNTAGGED_ROLE], "only the untagged role is left");
        let functions = lambda.list_functions().send().await.unwrap();
        assert!(functions.functions().is_empty());
        let groups = logs.describe_log_groups().send().await.unwrap();
        assert!(groups.log_groups().is_empty());
        let rules = events.list_rules().send().await.unwrap();
        assert!(rules.rules().is_empty());
    });
    let diff = stackctl(&moto, &["diff", "--json"]);
    assert_eq!(
        diff.status.code(),
        Some(2),
        "after down everything is to create again"
    );
}

#[test]
fn same_named_resources_without_the_tag_are_never_touched() {
    let Some(moto) = moto::Moto::start() else {
        return;
    };
    let config = moto.sdk_config(REGION);
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    );
    let iam = aws_sdk_iam::Client::new(&config);
    let rt = rt();
    rt.block_on(async {
        s3.create_bucket().bucket(RAW).send().await.unwrap();
        s3.put_object()
            .bucket(RAW)
            .key("precious.csv")
            .body(b"keep me".to_vec().into())
            .send()
            .await
            .unwrap();
        iam.create_role()
            .role_name("cartpipe-processor")
            .assume_role_policy_document(stackctl::desired::LAMBDA_TRUST_POLICY)
            .send()
            .await
            .unwrap();
    });
    let up = stackctl(&moto, &["up"]);
    assert_eq!(up.status.code(), Some(1), "{}", text(&up));
    let stderr = String::from_utf8_lossy(&up.stderr);
    assert!(stderr.contains("--adopt"), "{stderr}");
    assert!(stderr.contains(&format!("bucket {RAW}")), "{stderr}");
    assert!(stderr.contains("role cartpipe-processor"), "{stderr}");
    let diff = stackctl(&moto, &["diff"]);
    assert_eq!(diff.status.code(), Some(2), "{}", text(&diff));
    assert!(String::from_utf8_lossy(&diff.stdout).contains("is not this stack's"));
    ok(stackctl(&moto, &["down", "--yes"]));
    rt.block_on(async {
        assert_eq!(object(&s3, RAW, "precious.csv").await, b"keep me");
        assert!(
            s3.get_bucket_tagging().bucket(RAW).send().await.is_err(),
            "still untagged"
        );
        iam.get_role()
            .role_name("cartpipe-processor")
            .send()
            .await
            .unwrap();
        let functions = aws_sdk_lambda::Client::new(&config)
            .list_functions()
            .send()
            .await
            .unwrap();
        assert!(
            functions.functions().is_empty(),
            "up refused before creating anything"
        );
    });

    // `--adopt` takes them over: tagged, reconciled, their data kept.
    ok(stackctl(&moto, &["up", "--adopt"]));
    let diff = stackctl(&moto, &["diff"]);
    assert_eq!(diff.status.code(), Some(0), "{}", text(&diff));
    rt.block_on(async {
        let tags = s3.get_bucket_tagging().bucket(RAW).send().await.unwrap();
        assert!(
            tags.tag_set()
                .iter()
                .any(|t| t.key() == "stackctl:stack" && t.value() == "cartpipe"),
            "{tags:?}"
        );
        assert_eq!(object(&s3, RAW, "precious.csv").await, b"keep me");
        let policy = iam
            .get_role_policy()
            .role_name("cartpipe-processor")
            .policy_name("stackctl-access")
            .send()
            .await;
        assert!(
            policy.is_ok(),
            "the adopted role got its policy: {policy:?}"
        );
    });
}

#[test]
fn bad_flags_and_stack_files_exit_1_with_a_message() {
    let root = repo_root();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_stackctl"))
            .current_dir(&root)
            .args(args)
            .output()
            .expect("run stackctl")
    };
    let out = run(&["diff", "--var", "novalue"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not KEY=VALUE"));
    let out = run(&["-f", "tests/fixtures/bad-stacks/memory-range.yaml", "diff"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let out = run(&["--target", "nope", "diff"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope"));
    let out = run(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
}
