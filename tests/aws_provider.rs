//! The AWS provider against moto's server, beyond the contract every
//! target keeps (tests/provider_contract: create, read back, update and
//! drift in each field, ownership, delete): the calls each operation
//! makes, S3 versions and delete markers, IAM propagation, region and
//! naming quirks, and the whole stack's no-op read budget and down. Every
//! test uses its own stack name on the binary's shared moto server, so
//! tests run in parallel without seeing each other.
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

use crate::moto::moto_or_skip;
use crate::{moto, packages};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use packages::{tiny_packages, tiny_zip};
use stackctl::apply::{NoProgress, apply, read_live};
use stackctl::desired::desired;
use stackctl::model::*;
use stackctl::plan::{Options, plan_down, plan_up};
use stackctl::provider::aws::{AwsClients, AwsCloud, AwsOptions};
use stackctl::provider::{BucketData, Cloud, ProviderError, ResourceProvider};

// ---- fixtures ---------------------------------------------------------------

struct Fixture {
    cloud: Arc<AwsCloud>,
    raw: AwsClients,
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
        let spec = packages::repo_stack(stack);
        let dir = tempfile::tempdir().expect("tempdir");
        let packages = tiny_packages(&spec, dir.path());
        let desired = desired(&spec, &ctx, &packages);
        Fixture {
            cloud,
            raw,
            stack: stack.to_owned(),
            desired,
            _packages: dir,
        }
    }

    fn all<R: ResourceKind>(&self) -> Vec<R> {
        of_kind::<R>(&self.desired).cloned().collect()
    }

    fn one<R: ResourceKind>(&self) -> R {
        self.all().into_iter().next().expect("the stack has one")
    }
}

/// Reads `name` and asserts it equals `desired` in every compared field.
async fn assert_live_equals<R>(cloud: &AwsCloud, name: &str, desired: &R)
where
    R: ResourceKind,
    AwsCloud: ResourceProvider<R>,
{
    let live = ResourceProvider::<R>::read(cloud, name)
        .await
        .expect("read")
        .unwrap_or_else(|| panic!("{name} is missing"));
    assert_eq!(
        live.fields(),
        desired.fields(),
        "{name} differs from desired"
    );
}

/// The live resource and the fields where it differs from `desired`.
async fn drift<R>(cloud: &AwsCloud, name: &str, desired: &R) -> (R, Changes<R::Field>)
where
    R: ResourceKind,
    AwsCloud: ResourceProvider<R>,
{
    let live = ResourceProvider::<R>::read(cloud, name)
        .await
        .expect("read")
        .expect("present");
    let changes = live.changes_to(desired);
    (live, changes)
}

async fn update_to<R>(cloud: &AwsCloud, live: &R, desired: &R)
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

/// Calls of `op` made between two snapshots.
fn calls(
    before: &stackctl::provider::ApiStats,
    after: &stackctl::provider::ApiStats,
    op: &str,
) -> u64 {
    count(after, op) - count(before, op)
}

// ---- buckets ------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_bucket_is_created_in_six_calls_read_in_five_and_updated_field_by_field() {
    let moto = moto_or_skip!();
    let f = Fixture::new(moto, "t-buckets").await;
    let want: Bucket = f.one();
    let name = want.name.clone();
    let cloud = &*f.cloud;

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
        assert_eq!(calls(&before, &after, op), 1, "{op}: {after:?}");
    }
    assert_eq!(after.mutations() - before.mutations(), 6);

    let before = cloud.stats();
    assert_live_equals(cloud, &name, &want).await;
    let after = cloud.stats();
    assert_eq!(
        after.reads() - before.reads(),
        5,
        "a bucket read is 5 calls: {after:?}"
    );

    // Three fields drifted: one call each to repair.
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
    let (live, changed) = drift(cloud, &name, &want).await;
    assert_eq!(
        changed,
        Changes::new([
            BucketField::Versioning,
            BucketField::PublicAccessBlock,
            BucketField::Policy
        ])
    );
    let before = cloud.stats();
    update_to(cloud, &live, &want).await;
    let after = cloud.stats();
    assert_eq!(
        after.mutations() - before.mutations(),
        3,
        "only the changed fields: {after:?}"
    );
    assert_live_equals(cloud, &name, &want).await;
    ResourceProvider::<Bucket>::delete(cloud, &want)
        .await
        .expect("delete");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bucket_with_versions_is_deleted_only_with_its_data() {
    let moto = moto_or_skip!();
    let f = Fixture::new(moto, "t-bucket-data").await;
    let want: Bucket = f.one();
    let name = want.name.clone();
    let cloud = &*f.cloud;
    ResourceProvider::<Bucket>::create(cloud, &want)
        .await
        .expect("create");

    // Several versions and delete markers: the plain delete refuses, and
    // only delete_with_data empties them all.
    let s3 = &f.raw.s3;
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
    assert_eq!(calls(&before, &after, "DeleteBucketPolicy"), 1);
    assert_eq!(calls(&before, &after, "DeleteBucket"), 1);
    assert!(
        ResourceProvider::<Bucket>::read(cloud, &name)
            .await
            .expect("read")
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_own_bucket_without_our_tag_is_a_conflict_outside_us_east_1() {
    let moto = moto_or_skip!();
    // Outside us-east-1, S3 answers BucketAlreadyOwnedByYou (us-east-1
    // answers 200, and the provider looks first: the contract covers it).
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
    assert_live_equals(&cloud, name, &want).await;
    ResourceProvider::<Bucket>::delete(&cloud, &want)
        .await
        .expect("delete");
}

// ---- roles, log groups, functions, rules -------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_role_whose_inline_policy_was_deleted_reads_as_none_and_a_foreign_role_is_refused() {
    let moto = moto_or_skip!();
    let f = Fixture::new(moto, "t-roles").await;
    let cloud = &*f.cloud;
    let want: Role = f.one();
    let name = want.name.clone();
    ResourceProvider::<Role>::create(cloud, &want)
        .await
        .expect("create");
    f.raw
        .iam
        .delete_role_policy()
        .role_name(&name)
        .policy_name("stackctl-access")
        .send()
        .await
        .expect("delete");
    let (live, changed) = drift(cloud, &name, &want).await;
    assert_eq!(changed, Changes::new([RoleField::Policy]));
    assert_eq!(live.policy, None);
    update_to(cloud, &live, &want).await;
    assert_live_equals(cloud, &name, &want).await;
    ResourceProvider::<Role>::delete(cloud, &want)
        .await
        .expect("delete");

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

/// DescribeLogGroups matches by prefix: a group whose name extends ours is
/// another group.
#[tokio::test(flavor = "multi_thread")]
async fn a_log_group_is_read_by_its_exact_name() {
    let moto = moto_or_skip!();
    let f = Fixture::new(moto, "t-logs").await;
    let cloud = &*f.cloud;
    let want: LogGroup = f.one();
    let name = want.name.clone();
    f.raw
        .logs
        .create_log_group()
        .log_group_name(format!("{name}-other"))
        .send()
        .await
        .expect("other group");
    assert!(
        ResourceProvider::<LogGroup>::read(cloud, &name)
            .await
            .expect("read")
            .is_none()
    );
    ResourceProvider::<LogGroup>::create(cloud, &want)
        .await
        .expect("create");
    assert_live_equals(cloud, &name, &want).await;
    ResourceProvider::<LogGroup>::delete(cloud, &want)
        .await
        .expect("delete");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_waits_for_its_role_and_updates_call_only_what_changed() {
    let moto = moto_or_skip!();
    let f = Fixture::new(moto, "t-functions").await;
    let cloud = &*f.cloud;
    let want: Function = f.one();
    let name = want.name.clone();
    let role = f
        .all::<Role>()
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
    assert_live_equals(cloud, &name, &want).await;
    let live = ResourceProvider::<Function>::read(cloud, &name)
        .await
        .expect("read")
        .expect("present");
    assert_eq!(
        live.code_sha256, want.code_sha256,
        "moto reports base64(sha256(zip)) as CodeSha256"
    );

    // Configuration drift: one configuration call, no code upload.
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
    let (live, changed) = drift(cloud, &name, &want).await;
    assert_eq!(
        changed,
        Changes::new([FunctionField::MemoryMb, FunctionField::Environment])
    );
    let before = cloud.stats();
    update_to(cloud, &live, &want).await;
    let after = cloud.stats();
    assert_eq!(calls(&before, &after, "UpdateFunctionConfiguration"), 1);
    assert_eq!(
        calls(&before, &after, "UpdateFunctionCode"),
        0,
        "no code upload"
    );
    assert_live_equals(cloud, &name, &want).await;

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
    let before = cloud.stats();
    update_to(cloud, &want, &v2).await;
    let after = cloud.stats();
    assert_eq!(calls(&before, &after, "UpdateFunctionCode"), 1);
    assert_eq!(calls(&before, &after, "UpdateFunctionConfiguration"), 0);
    assert_live_equals(cloud, &name, &v2).await;

    ResourceProvider::<Function>::delete(cloud, &want)
        .await
        .expect("delete");
    ResourceProvider::<Role>::delete(cloud, &role)
        .await
        .expect("delete role");
}

/// EventBridge refuses to delete a rule that has targets: they go first.
#[tokio::test(flavor = "multi_thread")]
async fn a_rule_is_deleted_after_its_targets() {
    let moto = moto_or_skip!();
    let f = Fixture::new(moto, "t-rules").await;
    let cloud = &*f.cloud;
    let want: Rule = f.one();
    ResourceProvider::<Rule>::create(cloud, &want)
        .await
        .expect("create");
    let before = cloud.stats();
    ResourceProvider::<Rule>::delete(cloud, &want)
        .await
        .expect("delete");
    let after = cloud.stats();
    assert_eq!(calls(&before, &after, "RemoveTargets"), 1, "{after:?}");
    assert_eq!(calls(&before, &after, "DeleteRule"), 1, "{after:?}");
    assert!(
        ResourceProvider::<Rule>::read(cloud, &want.name)
            .await
            .expect("read")
            .is_none()
    );
}

/// S3 keeps no notification for a deleted bucket: it reads as absent, and
/// deleting it is fine.
#[tokio::test(flavor = "multi_thread")]
async fn a_gone_buckets_notification_reads_as_absent() {
    let moto = moto_or_skip!();
    let f = Fixture::new(moto, "t-notes").await;
    let cloud = &*f.cloud;
    let note = f
        .all::<Notification>()
        .into_iter()
        .find(|n| !n.lambda.is_empty())
        .expect("the raw bucket's");
    assert!(
        ResourceProvider::<Notification>::read(cloud, &note.bucket)
            .await
            .expect("read")
            .is_none()
    );
    ResourceProvider::<Notification>::delete(cloud, &note)
        .await
        .expect("delete without bucket");
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
            (Kind::Database, 1),
            (Kind::Table, 3),
            (Kind::Workgroup, 1),
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
    // changes, no mutating call, at most 50 reads: 40 for the pipeline's
    // 16 resources, 10 for the catalog's 5 (a database's GetDatabase and
    // GetTags, a GetTable each, the workgroup's GetWorkGroup and
    // ListTagsForResource, and the listings of other owned ones:
    // GetDatabases twice, GetTables, ListWorkGroups).
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
        stats.reads() - count(&stats, "GetCallerIdentity") <= 50,
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
