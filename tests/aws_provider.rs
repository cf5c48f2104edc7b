//! The AWS provider against moto's server: real HTTP, the real SDK.
//!
//! Per kind: create → read equals desired; a drift made behind stackctl's
//! back through the raw SDK is read back; update restores it; delete
//! removes it. Then the whole stack: a no-op read within the call budget,
//! and down. Every test uses its own stack name on the binary's shared moto
//! server, so tests run in parallel without seeing each other.
//!
//! moto quirks met here (moto 5.x):
//! - CreateBucket in us-east-1 on an existing bucket of the same account
//!   answers 200 (like AWS), so BucketAlreadyOwnedByYou is tested in
//!   eu-west-1;
//! - CreateFunction answers "The role defined for the function cannot be
//!   assumed by Lambda" when the role does not exist in moto's IAM (AWS says
//!   it while IAM propagates): our retry path, tested here too;
//! - functions are Active at once and LastUpdateStatus is Successful after
//!   an update, so the wait loop ends on the first answer;
//! - AddPermission accepts a statement id that already exists (AWS answers
//!   ResourceConflictException), so the upsert is tested against a mock;
//! - bucket policies are evaluated with conditions other than StringEquals
//!   ignored: the TLS-only Deny statement denies every object request over
//!   HTTP; the harness (tests/support/moto.rs) patches that, and
//!   GetBucketNotificationConfiguration's missing EventBridgeConfiguration;
//! - GetBucketVersioning answers `<GetBucketVersioningResponse>` and an
//!   empty GetBucketNotificationConfiguration `<GetBucketNotificationResponse/>`
//!   instead of AWS's root elements, which the Rust SDK rejects; the
//!   provider reads those two bodies leniently;
//! - PutBucketNotificationConfiguration does not validate destinations, so
//!   "Unable to validate the following destination configurations" is never
//!   produced (the retry is exercised only against a mock).

#![allow(clippy::unwrap_used)] // tests fail loudly; that is the point

#[path = "support/moto.rs"]
mod moto;

#[path = "support/cli.rs"]
mod cli;
#[path = "support/packages.rs"]
mod packages;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use cli::repo_root;
use packages::{tiny_packages, tiny_zip};
use stackctl::apply::{NoProgress, apply, read_live};
use stackctl::desired::desired;
use stackctl::model::*;
use stackctl::plan::{Options, diff_fields, plan_down, plan_up};
use stackctl::provider::aws::{AwsClients, AwsCloud, AwsOptions};
use stackctl::provider::{BucketData, Cloud, ProviderError, ResourceProvider};

// ---- fixtures ---------------------------------------------------------------

struct Fixture {
    cloud: Arc<AwsCloud>,
    raw: AwsClients,
    ctx: Context,
    stack: String,
    desired: Vec<Resource>,
    _packages: tempfile::TempDir,
}

impl Fixture {
    /// The repo's stack.yaml under another stack name, with tiny packages.
    async fn new(moto: &moto::Moto, stack: &str) -> Fixture {
        let config = moto.sdk_config("us-east-1");
        let cloud = Arc::new(AwsCloud::new(&config, AwsOptions::fast()));
        let raw = AwsClients::new(&config);
        let ctx = cloud.context().await.expect("context");
        let root = repo_root();
        let src = std::fs::read_to_string(root.join("stack.yaml"))
            .expect("the repo's stack.yaml")
            .replace("stack: cartpipe", &format!("stack: {stack}"));
        let spec =
            stackctl::spec::parse_str(&src, "stack.yaml", &root, &[]).expect("stack.yaml is valid");
        let dir = tempfile::tempdir().expect("tempdir");
        let packages = tiny_packages(&spec, dir.path());
        let desired = desired(&spec, &ctx, &packages);
        Fixture {
            cloud,
            raw,
            ctx,
            stack: stack.to_owned(),
            desired,
            _packages: dir,
        }
    }

    fn all<R>(&self, pick: fn(&Resource) -> Option<&R>) -> Vec<R>
    where
        R: Clone,
    {
        self.desired.iter().filter_map(pick).cloned().collect()
    }

    fn one<R: Clone>(&self, pick: fn(&Resource) -> Option<&R>) -> R {
        self.all(pick)
            .into_iter()
            .next()
            .expect("the stack has one")
    }
}

fn bucket(r: &Resource) -> Option<&Bucket> {
    if let Resource::Bucket(x) = r {
        Some(x)
    } else {
        None
    }
}
fn role(r: &Resource) -> Option<&Role> {
    if let Resource::Role(x) = r {
        Some(x)
    } else {
        None
    }
}
fn log_group(r: &Resource) -> Option<&LogGroup> {
    if let Resource::LogGroup(x) = r {
        Some(x)
    } else {
        None
    }
}
fn function(r: &Resource) -> Option<&Function> {
    if let Resource::Function(x) = r {
        Some(x)
    } else {
        None
    }
}
fn rule(r: &Resource) -> Option<&Rule> {
    if let Resource::Rule(x) = r {
        Some(x)
    } else {
        None
    }
}
fn permission(r: &Resource) -> Option<&Permission> {
    if let Resource::Permission(x) = r {
        Some(x)
    } else {
        None
    }
}
fn notification(r: &Resource) -> Option<&Notification> {
    if let Resource::Notification(x) = r {
        Some(x)
    } else {
        None
    }
}

/// Reads `name` and asserts it equals `desired` in every compared field.
async fn assert_live_equals<R>(cloud: &AwsCloud, name: &str, desired: &R, wrap: fn(R) -> Resource)
where
    R: ResourceKind,
    AwsCloud: ResourceProvider<R>,
{
    let live = ResourceProvider::<R>::read(cloud, name)
        .await
        .expect("read")
        .unwrap_or_else(|| panic!("{name} is missing"));
    let changes = diff_fields(&wrap(live.clone()), &wrap(desired.clone()));
    assert!(
        changes.is_empty(),
        "{name} differs from desired: {changes:#?}\nlive: {live:#?}"
    );
}

/// The changes an update must make to go from live to desired.
async fn drift<R>(
    cloud: &AwsCloud,
    name: &str,
    desired: &R,
    wrap: fn(R) -> Resource,
) -> (R, Vec<String>)
where
    R: ResourceKind,
    AwsCloud: ResourceProvider<R>,
{
    let live = ResourceProvider::<R>::read(cloud, name)
        .await
        .expect("read")
        .expect("present");
    let changes = diff_fields(&wrap(live.clone()), &wrap(desired.clone()));
    (live, changes.into_iter().map(|c| c.field).collect())
}

async fn update_to<R>(cloud: &AwsCloud, live: &R, desired: &R, _wrap: fn(R) -> Resource)
where
    R: ResourceKind,
    AwsCloud: ResourceProvider<R>,
{
    ResourceProvider::<R>::update(cloud, live, desired, &live.changes_to(desired))
        .await
        .expect("update");
}

fn count(stats: &stackctl::provider::ApiStats, op: &str) -> u64 {
    stats
        .read
        .get(op)
        .or_else(|| stats.mutating.get(op))
        .copied()
        .unwrap_or(0)
}

// ---- per kind ----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn buckets_create_read_drift_update_delete() {
    let moto = moto_or_skip!();
    let f = Fixture::new(moto, "t-buckets").await;
    let want = f.one(bucket);
    let name = want.name.clone();
    let cloud = &*f.cloud;
    assert!(
        ResourceProvider::<Bucket>::read(cloud, &name)
            .await
            .expect("read")
            .is_none()
    );

    let before = cloud.stats();
    ResourceProvider::<Bucket>::create(cloud, &want)
        .await
        .expect("create");
    let after = cloud.stats();
    for op in [
        "CreateBucket",
        "PutBucketTagging",
        "PutBucketVersioning",
        "PutPublicAccessBlock",
        "PutBucketEncryption",
        "PutBucketPolicy",
    ] {
        assert_eq!(count(&after, op) - count(&before, op), 1, "{op}: {after:?}");
    }
    assert_eq!(after.mutations() - before.mutations(), 6);

    let before = cloud.stats();
    assert_live_equals(cloud, &name, &want, Resource::Bucket).await;
    let after = cloud.stats();
    assert_eq!(
        after.reads() - before.reads(),
        5,
        "a bucket read is 5 calls: {after:?}"
    );
    assert_eq!(after.mutations(), before.mutations());

    // Drift: suspend versioning, drop the public-access block and the
    // policy, change a tag.
    let s3 = &f.raw.s3;
    s3.put_bucket_versioning()
        .bucket(&name)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Suspended)
                .build(),
        )
        .send()
        .await
        .expect("suspend versioning");
    s3.delete_public_access_block()
        .bucket(&name)
        .send()
        .await
        .expect("delete pab");
    s3.delete_bucket_policy()
        .bucket(&name)
        .send()
        .await
        .expect("delete policy");
    let (live, changed) = drift(cloud, &name, &want, Resource::Bucket).await;
    assert_eq!(changed, ["versioning", "public_access_block", "policy"]);
    assert!(!live.versioning && !live.public_access_block && live.policy.is_none());

    let before = cloud.stats();
    update_to(cloud, &live, &want, Resource::Bucket).await;
    let after = cloud.stats();
    assert_eq!(
        after.mutations() - before.mutations(),
        3,
        "only the changed fields: {after:?}"
    );
    assert_live_equals(cloud, &name, &want, Resource::Bucket).await;

    // Several versions and delete markers: the plain delete refuses, and
    // only delete_with_data empties them all.
    for i in 0..3 {
        s3.put_object()
            .bucket(&name)
            .key("a.csv")
            .body(format!("v{i}").into_bytes().into())
            .send()
            .await
            .expect("put");
        s3.put_object()
            .bucket(&name)
            .key(format!("dir/{i}.csv"))
            .body(b"x".to_vec().into())
            .send()
            .await
            .expect("put");
    }
    s3.delete_object()
        .bucket(&name)
        .key("a.csv")
        .send()
        .await
        .expect("delete marker");
    s3.delete_object()
        .bucket(&name)
        .key("dir/0.csv")
        .send()
        .await
        .expect("delete marker");
    let versions = s3
        .list_object_versions()
        .bucket(&name)
        .send()
        .await
        .expect("list versions");
    assert_eq!(versions.versions().len(), 6);
    assert_eq!(versions.delete_markers().len(), 2);

    // A policy denying deletes does not keep the bucket: delete removes
    // it first (on AccessDenied), then empties the bucket.
    let deny_delete = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Principal":"*","Action":"s3:DeleteObject*","Resource":"arn:aws:s3:::{name}/*"}}]}}"#
    );
    s3.put_bucket_policy()
        .bucket(&name)
        .policy(deny_delete)
        .send()
        .await
        .expect("deny deletes");
    let contents = BucketData::contents(cloud, &name).await.expect("contents");
    assert_eq!(
        contents,
        BucketContents {
            object_versions: 6,
            delete_markers: 2,
            bytes: 9
        }
    );
    let refused = ResourceProvider::<Bucket>::delete(cloud, &want).await;
    assert!(
        matches!(&refused, Err(ProviderError::Conflict { message, .. }) if message.contains("--delete-data")),
        "{refused:?}"
    );
    assert_eq!(
        BucketData::contents(cloud, &name).await.expect("contents"),
        contents,
        "a refused delete deletes nothing"
    );
    let before = cloud.stats();
    BucketData::delete_with_data(cloud, &want)
        .await
        .expect("delete");
    let after = cloud.stats();
    assert_eq!(
        count(&after, "DeleteBucketPolicy") - count(&before, "DeleteBucketPolicy"),
        1
    );
    assert_eq!(
        count(&after, "DeleteBucket") - count(&before, "DeleteBucket"),
        1
    );
    assert!(
        ResourceProvider::<Bucket>::read(cloud, &name)
            .await
            .expect("read")
            .is_none()
    );
    // Deleting what is gone is fine.
    ResourceProvider::<Bucket>::delete(cloud, &want)
        .await
        .expect("delete again");
}

#[tokio::test(flavor = "multi_thread")]
async fn bucket_already_owned_without_our_tag_is_a_conflict() {
    let moto = moto_or_skip!();
    // In us-east-1 S3 (and moto) re-creates an own bucket silently; other
    // regions answer BucketAlreadyOwnedByYou.
    let config = moto.sdk_config("eu-west-1");
    let cloud = AwsCloud::new(&config, AwsOptions::fast());
    let raw = AwsClients::new(&config);
    let name = "t-foreign-bucket-eu";
    raw.s3
        .create_bucket()
        .bucket(name)
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .expect("create the foreign bucket");
    let want = Bucket {
        name: name.into(),
        versioning: true,
        public_access_block: true,
        encryption: Some("AES256".into()),
        policy: None,
        tags: [(OWNER_TAG.to_owned(), "t-foreign".to_owned())].into(),
    };
    // read returns it, with its (absent) tags: the planner decides.
    let live = ResourceProvider::<Bucket>::read(&cloud, name)
        .await
        .expect("read")
        .expect("exists");
    assert!(live.tags.is_empty());

    let err = ResourceProvider::<Bucket>::create(&cloud, &want)
        .await
        .expect_err("conflict");
    assert!(matches!(&err, ProviderError::Conflict { .. }), "{err:?}");
    assert!(err.to_string().contains(OWNER_TAG), "{err}");
    let after = ResourceProvider::<Bucket>::read(&cloud, name)
        .await
        .expect("read")
        .expect("exists");
    assert_eq!(after, live, "a bucket we do not own is left untouched");
    assert_eq!(
        cloud.stats().mutations(),
        1,
        "only the refused CreateBucket: {:?}",
        cloud.stats()
    );

    // With our tag it is ours: create converges it.
    raw.s3
        .put_bucket_tagging()
        .bucket(name)
        .tagging(
            aws_sdk_s3::types::Tagging::builder()
                .tag_set(
                    aws_sdk_s3::types::Tag::builder()
                        .key(OWNER_TAG)
                        .value("t-foreign")
                        .build()
                        .expect("tag"),
                )
                .build()
                .expect("tagging"),
        )
        .send()
        .await
        .expect("tag it");
    ResourceProvider::<Bucket>::create(&cloud, &want)
        .await
        .expect("ours: converge");
    assert_live_equals(&cloud, name, &want, Resource::Bucket).await;
    ResourceProvider::<Bucket>::delete(&cloud, &want)
        .await
        .expect("delete");
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_create_read_drift_update_delete() {
    let moto = moto_or_skip!();
    let f = Fixture::new(moto, "t-roles").await;
    let cloud = &*f.cloud;
    let want = f.one(role);
    let name = want.name.clone();
    ResourceProvider::<Role>::create(cloud, &want)
        .await
        .expect("create");
    assert_live_equals(cloud, &name, &want, Resource::Role).await;

    // Drift: edit the inline policy, add a tag.
    let edited = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
    f.raw
        .iam
        .put_role_policy()
        .role_name(&name)
        .policy_name("stackctl-access")
        .policy_document(edited)
        .send()
        .await
        .expect("edit policy");
    f.raw
        .iam
        .tag_role()
        .role_name(&name)
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("extra")
                .value("1")
                .build()
                .expect("tag"),
        )
        .send()
        .await
        .expect("tag");
    let (live, changed) = drift(cloud, &name, &want, Resource::Role).await;
    assert_eq!(changed, ["policy", "tags"]);
    assert_eq!(
        live.policy.as_deref(),
        Some(canonical_json(edited).as_str())
    );
    update_to(cloud, &live, &want, Resource::Role).await;
    assert_live_equals(cloud, &name, &want, Resource::Role).await;

    // Deleting the inline policy behind our back reads as "none".
    f.raw
        .iam
        .delete_role_policy()
        .role_name(&name)
        .policy_name("stackctl-access")
        .send()
        .await
        .expect("delete");
    let (live, changed) = drift(cloud, &name, &want, Resource::Role).await;
    assert_eq!(changed, ["policy"]);
    update_to(cloud, &live, &want, Resource::Role).await;
    assert_live_equals(cloud, &name, &want, Resource::Role).await;

    ResourceProvider::<Role>::delete(cloud, &want)
        .await
        .expect("delete");
    assert!(
        ResourceProvider::<Role>::read(cloud, &name)
            .await
            .expect("read")
            .is_none()
    );
    ResourceProvider::<Role>::delete(cloud, &want)
        .await
        .expect("delete again");

    // A role without our tag is read back as it is; the planner refuses it.
    f.raw
        .iam
        .create_role()
        .role_name(&name)
        .assume_role_policy_document(&want.trust_policy)
        .send()
        .await
        .expect("foreign role");
    let live = ResourceProvider::<Role>::read(cloud, &name)
        .await
        .expect("read")
        .expect("exists");
    assert!(live.tags.is_empty() && live.policy.is_none());
    let live_state = [(ResourceId::new(Kind::Role, &name), Resource::Role(live))].into();
    let plan = plan_up(
        &f.stack,
        &[Resource::Role(want.clone())],
        &live_state,
        Options::default(),
    );
    assert_eq!(plan.conflicts.len(), 1);
    assert!(!plan.has_changes());
}

#[tokio::test(flavor = "multi_thread")]
async fn log_groups_create_read_drift_update_delete() {
    let moto = moto_or_skip!();
    let f = Fixture::new(moto, "t-logs").await;
    let cloud = &*f.cloud;
    let want = f.one(log_group);
    let name = want.name.clone();
    assert!(
        ResourceProvider::<LogGroup>::read(cloud, &name)
            .await
            .expect("read")
            .is_none()
    );
    ResourceProvider::<LogGroup>::create(cloud, &want)
        .await
        .expect("create");
    assert_live_equals(cloud, &name, &want, Resource::LogGroup).await;

    // A group whose name extends ours is not ours.
    f.raw
        .logs
        .create_log_group()
        .log_group_name(format!("{name}-other"))
        .send()
        .await
        .expect("other group");
    assert_live_equals(cloud, &name, &want, Resource::LogGroup).await;

    f.raw
        .logs
        .put_retention_policy()
        .log_group_name(&name)
        .retention_in_days(30)
        .send()
        .await
        .expect("change retention");
    let (live, changed) = drift(cloud, &name, &want, Resource::LogGroup).await;
    assert_eq!(changed, ["retention_days"]);
    assert_eq!(live.retention_days, Some(30));
    update_to(cloud, &live, &want, Resource::LogGroup).await;
    assert_live_equals(cloud, &name, &want, Resource::LogGroup).await;

    ResourceProvider::<LogGroup>::delete(cloud, &want)
        .await
        .expect("delete");
    assert!(
        ResourceProvider::<LogGroup>::read(cloud, &name)
            .await
            .expect("read")
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn functions_create_read_drift_update_delete() {
    let moto = moto_or_skip!();
    let f = Fixture::new(moto, "t-functions").await;
    let cloud = &*f.cloud;
    let want = f.one(function);
    let name = want.name.clone();
    let role = f
        .all(role)
        .into_iter()
        .find(|r| want.role_arn.ends_with(&format!("/{}", r.name)))
        .expect("role");

    // moto, like IAM while it propagates, refuses a role it does not know
    // yet: create keeps retrying until the role appears.
    let creating = {
        let (cloud, want) = (f.cloud.clone(), want.clone());
        tokio::spawn(async move { ResourceProvider::<Function>::create(&*cloud, &want).await })
    };
    // Once the first attempt has been refused (a second one is on its way),
    // the role appears.
    let waiting = std::time::Instant::now();
    while count(&cloud.stats(), "CreateFunction") < 2 {
        assert!(!creating.is_finished(), "created without a role?");
        assert!(waiting.elapsed() < Duration::from_secs(20), "no retry");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    ResourceProvider::<Role>::create(cloud, &role)
        .await
        .expect("role");
    creating
        .await
        .expect("join")
        .expect("create after the role appeared");
    assert!(
        count(&cloud.stats(), "CreateFunction") >= 2,
        "{:?}",
        cloud.stats()
    );
    assert_live_equals(cloud, &name, &want, Resource::Function).await;
    let live = ResourceProvider::<Function>::read(cloud, &name)
        .await
        .expect("read")
        .expect("present");
    assert_eq!(
        live.code_sha256, want.code_sha256,
        "moto reports base64(sha256(zip)) as CodeSha256"
    );

    // Drift: memory and environment, behind our back.
    f.raw
        .lambda
        .update_function_configuration()
        .function_name(&name)
        .memory_size(256)
        .environment(
            aws_sdk_lambda::types::Environment::builder()
                .variables("X", "1")
                .build(),
        )
        .send()
        .await
        .expect("drift");
    let (live, changed) = drift(cloud, &name, &want, Resource::Function).await;
    assert_eq!(changed, ["memory_mb", "environment"]);
    let before = cloud.stats();
    update_to(cloud, &live, &want, Resource::Function).await;
    let after = cloud.stats();
    assert_eq!(
        count(&after, "UpdateFunctionConfiguration")
            - count(&before, "UpdateFunctionConfiguration"),
        1
    );
    assert_eq!(
        count(&after, "UpdateFunctionCode"),
        count(&before, "UpdateFunctionCode"),
        "no code upload"
    );
    assert_live_equals(cloud, &name, &want, Resource::Function).await;

    // New code: only the code is uploaded.
    let (bytes, sha) = tiny_zip("#!/bin/sh\necho v2\n");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v2.zip");
    std::fs::write(&path, bytes).expect("write");
    let v2 = Function {
        code_sha256: sha,
        package: Some(path),
        ..want.clone()
    };
    let live = ResourceProvider::<Function>::read(cloud, &name)
        .await
        .expect("read")
        .expect("present");
    let before = cloud.stats();
    update_to(cloud, &live, &v2, Resource::Function).await;
    let after = cloud.stats();
    assert_eq!(
        count(&after, "UpdateFunctionCode") - count(&before, "UpdateFunctionCode"),
        1
    );
    assert_eq!(
        count(&after, "UpdateFunctionConfiguration"),
        count(&before, "UpdateFunctionConfiguration")
    );
    assert_live_equals(cloud, &name, &v2, Resource::Function).await;

    // Tags: an extra one is removed.
    f.raw
        .lambda
        .tag_resource()
        .resource(f.ctx.function_arn(&name))
        .tags("extra", "1")
        .send()
        .await
        .expect("tag");
    let (live, changed) = drift(cloud, &name, &v2, Resource::Function).await;
    assert_eq!(changed, ["tags"]);
    update_to(cloud, &live, &v2, Resource::Function).await;
    assert_live_equals(cloud, &name, &v2, Resource::Function).await;

    ResourceProvider::<Function>::delete(cloud, &want)
        .await
        .expect("delete");
    assert!(
        ResourceProvider::<Function>::read(cloud, &name)
            .await
            .expect("read")
            .is_none()
    );
    ResourceProvider::<Function>::delete(cloud, &want)
        .await
        .expect("delete again");
    ResourceProvider::<Role>::delete(cloud, &role)
        .await
        .expect("delete role");
}

#[tokio::test(flavor = "multi_thread")]
async fn permissions_and_notifications() {
    let moto = moto_or_skip!();
    let f = Fixture::new(moto, "t-perms").await;
    let cloud = &*f.cloud;
    // Parents first: buckets, roles, functions.
    for b in f.all(bucket) {
        ResourceProvider::<Bucket>::create(cloud, &b)
            .await
            .expect("bucket");
    }
    for r in f.all(role) {
        ResourceProvider::<Role>::create(cloud, &r)
            .await
            .expect("role");
    }
    for x in f.all(function) {
        ResourceProvider::<Function>::create(cloud, &x)
            .await
            .expect("function");
    }

    let perms = f.all(permission);
    assert_eq!(perms.len(), 2);
    for p in &perms {
        let name = Permission::id_name(&p.function, &p.statement_id);
        assert!(
            ResourceProvider::<Permission>::read(cloud, &name)
                .await
                .expect("read")
                .is_none()
        );
        ResourceProvider::<Permission>::create(cloud, p)
            .await
            .expect("create");
        assert_live_equals(cloud, &name, p, Resource::Permission).await;
    }

    // Drift: the S3 permission replaced with another source.
    let s3p = perms
        .iter()
        .find(|p| p.principal == "s3.amazonaws.com")
        .expect("s3 permission");
    let name = Permission::id_name(&s3p.function, &s3p.statement_id);
    f.raw
        .lambda
        .remove_permission()
        .function_name(&s3p.function)
        .statement_id(&s3p.statement_id)
        .send()
        .await
        .expect("remove");
    f.raw
        .lambda
        .add_permission()
        .function_name(&s3p.function)
        .statement_id(&s3p.statement_id)
        .action("lambda:InvokeFunction")
        .principal("s3.amazonaws.com")
        .source_arn("arn:aws:s3:::someone-else")
        .send()
        .await
        .expect("add");
    let (live, changed) = drift(cloud, &name, s3p, Resource::Permission).await;
    assert_eq!(changed, ["source_arn", "source_account"]);
    update_to(cloud, &live, s3p, Resource::Permission).await;
    assert_live_equals(cloud, &name, s3p, Resource::Permission).await;

    // Notifications: one document per bucket.
    let notes = f.all(notification);
    assert_eq!(notes.len(), 2);
    for n in &notes {
        ResourceProvider::<Notification>::create(cloud, n)
            .await
            .expect("put");
        assert_live_equals(cloud, &n.bucket, n, Resource::Notification).await;
    }
    let raw_note = notes
        .iter()
        .find(|n| !n.lambda.is_empty())
        .expect("the raw bucket's");
    assert!(raw_note.eventbridge);
    f.raw
        .s3
        .put_bucket_notification_configuration()
        .bucket(&raw_note.bucket)
        .notification_configuration(aws_sdk_s3::types::NotificationConfiguration::builder().build())
        .send()
        .await
        .expect("clear");
    let (live, changed) = drift(cloud, &raw_note.bucket, raw_note, Resource::Notification).await;
    assert_eq!(changed, ["lambda", "eventbridge"]);
    update_to(cloud, &live, raw_note, Resource::Notification).await;
    assert_live_equals(cloud, &raw_note.bucket, raw_note, Resource::Notification).await;

    // Delete: the document emptied; the permission removed.
    ResourceProvider::<Notification>::delete(cloud, raw_note)
        .await
        .expect("delete");
    let live = ResourceProvider::<Notification>::read(cloud, &raw_note.bucket)
        .await
        .expect("read")
        .expect("bucket");
    assert!(live.lambda.is_empty() && !live.eventbridge);
    for p in &perms {
        ResourceProvider::<Permission>::delete(cloud, p)
            .await
            .expect("delete");
        let name = Permission::id_name(&p.function, &p.statement_id);
        assert!(
            ResourceProvider::<Permission>::read(cloud, &name)
                .await
                .expect("read")
                .is_none()
        );
        ResourceProvider::<Permission>::delete(cloud, p)
            .await
            .expect("delete again");
    }

    // A gone bucket's notification: read None, delete fine.
    for b in f.all(bucket) {
        ResourceProvider::<Bucket>::delete(cloud, &b)
            .await
            .expect("bucket");
    }
    assert!(
        ResourceProvider::<Notification>::read(cloud, &raw_note.bucket)
            .await
            .expect("read")
            .is_none()
    );
    ResourceProvider::<Notification>::delete(cloud, raw_note)
        .await
        .expect("delete without bucket");
    for x in f.all(function) {
        ResourceProvider::<Function>::delete(cloud, &x)
            .await
            .expect("function");
    }
    for r in f.all(role) {
        ResourceProvider::<Role>::delete(cloud, &r)
            .await
            .expect("role");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn rules_create_read_drift_update_delete() {
    let moto = moto_or_skip!();
    let f = Fixture::new(moto, "t-rules").await;
    let cloud = &*f.cloud;
    let want = f.one(rule);
    let name = want.name.clone();
    assert!(
        ResourceProvider::<Rule>::read(cloud, &name)
            .await
            .expect("read")
            .is_none()
    );
    ResourceProvider::<Rule>::create(cloud, &want)
        .await
        .expect("create");
    assert_live_equals(cloud, &name, &want, Resource::Rule).await;

    // Drift: the target removed, the pattern changed.
    f.raw
        .events
        .remove_targets()
        .rule(&name)
        .ids(&want.target_id)
        .send()
        .await
        .expect("remove target");
    f.raw
        .events
        .put_rule()
        .name(&name)
        .event_pattern(r#"{"source":["aws.s3"]}"#)
        .send()
        .await
        .expect("edit pattern");
    let (live, changed) = drift(cloud, &name, &want, Resource::Rule).await;
    assert_eq!(changed, ["pattern", "target"]);
    assert_eq!(live.target_arn, None);
    update_to(cloud, &live, &want, Resource::Rule).await;
    assert_live_equals(cloud, &name, &want, Resource::Rule).await;

    // Delete removes the targets first (EventBridge refuses otherwise).
    ResourceProvider::<Rule>::delete(cloud, &want)
        .await
        .expect("delete");
    assert!(
        ResourceProvider::<Rule>::read(cloud, &name)
            .await
            .expect("read")
            .is_none()
    );
    ResourceProvider::<Rule>::delete(cloud, &want)
        .await
        .expect("delete again");
    let stats = cloud.stats();
    assert!(
        count(&stats, "RemoveTargets") >= 1 && count(&stats, "DeleteRule") == 1,
        "{stats:?}"
    );
}

// ---- the whole stack ----------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn whole_stack_up_noop_read_budget_and_down() {
    let moto = moto_or_skip!();
    let f = Fixture::new(moto, "t-stack").await;
    let kinds: BTreeMap<Kind, usize> = f.desired.iter().fold(BTreeMap::new(), |mut m, r| {
        *m.entry(r.kind()).or_default() += 1;
        m
    });
    assert_eq!(
        kinds,
        [
            (Kind::Bucket, 2),
            (Kind::Role, 3),
            (Kind::LogGroup, 3),
            (Kind::Function, 3),
            (Kind::Rule, 1),
            (Kind::Permission, 2),
            (Kind::Notification, 2),
        ]
        .into()
    );

    // Up from empty.
    let live = read_live(f.cloud.clone(), &f.stack, &f.desired)
        .await
        .expect("read");
    assert!(live.is_empty(), "{live:#?}");
    let plan = plan_up(&f.stack, &f.desired, &live, Options::default());
    let report = apply(f.cloud.clone(), &plan, Arc::new(NoProgress)).await;
    assert_eq!(report.failed().count(), 0, "{report:#?}");

    // A fresh provider (a new process) reads back the same model: no
    // changes, no mutating call, at most 40 reads.
    let fresh = Arc::new(AwsCloud::new(
        &moto.sdk_config("us-east-1"),
        AwsOptions::fast(),
    ));
    let _ = fresh.context().await.expect("context");
    let started = std::time::Instant::now();
    let live = read_live(fresh.clone(), &f.stack, &f.desired)
        .await
        .expect("read");
    let elapsed = started.elapsed();
    let plan = plan_up(&f.stack, &f.desired, &live, Options::default());
    let changes: Vec<_> = plan.changes().collect();
    assert!(changes.is_empty(), "a no-op plan expected: {changes:#?}");
    let stats = fresh.stats();
    eprintln!(
        "no-op read of the whole stack: {} read calls ({} with GetCallerIdentity), {} mutating, {elapsed:?}: {:?}",
        stats.reads() - count(&stats, "GetCallerIdentity"),
        stats.reads(),
        stats.mutations(),
        stats.read
    );
    assert_eq!(stats.mutations(), 0);
    assert!(
        stats.reads() - count(&stats, "GetCallerIdentity") <= 40,
        "read budget: {stats:?}"
    );

    // Something the stack owns but no longer wants is found and deleted.
    let extra = LogGroup {
        name: format!("/aws/lambda/{}-gone", f.stack),
        retention_days: Some(1),
        tags: [(OWNER_TAG.to_owned(), f.stack.clone())].into(),
    };
    ResourceProvider::<LogGroup>::create(&*fresh, &extra)
        .await
        .expect("extra");
    let live = read_live(fresh.clone(), &f.stack, &f.desired)
        .await
        .expect("read");
    let plan = plan_up(&f.stack, &f.desired, &live, Options::default());
    let changes: Vec<_> = plan
        .changes()
        .map(|s| (s.id.clone(), s.action.name()))
        .collect();
    assert_eq!(
        changes,
        [(ResourceId::new(Kind::LogGroup, &extra.name), "delete")]
    );

    // Down: everything tagged goes.
    let live = read_live(fresh.clone(), &f.stack, &f.desired)
        .await
        .expect("read");
    let plan = plan_down(&f.stack, Some("us-east-1"), &live);
    assert_eq!(plan.steps.len(), f.desired.len() + 1);
    let report = apply(fresh.clone(), &plan, Arc::new(NoProgress)).await;
    assert_eq!(report.failed().count(), 0, "{report:#?}");
    let live = read_live(fresh.clone(), &f.stack, &f.desired)
        .await
        .expect("read");
    let left: BTreeSet<_> = live.keys().cloned().collect();
    assert!(left.is_empty(), "left after down: {left:#?}");
}
