//! The local target's data side: the store, the provider under the same
//! planner and engine as AWS, the S3 endpoint driven by the real
//! `aws-sdk-s3` client, IAM enforcement, EventBridge pattern matching, and
//! the event JSON the functions receive (parsed here with the functions'
//! own parsers and with `aws_lambda_events`).

#![allow(clippy::unwrap_used)] // tests fail loudly; that is the point

#[path = "support/cli.rs"]
mod cli;
#[path = "support/packages.rs"]
mod packages;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use aws_sdk_s3::error::ProvideErrorMetadata as _;
use aws_sdk_s3::primitives::ByteStream;
use serde_json::{Value, json};

use cli::repo_root;
use localcloud::StoreError;
use localcloud::events::eventbridge_event;
use localcloud::logs::LogEvent;
use localcloud::routing::{Delivery, DeliveryVia, notification_targets};
use localcloud::s3::notify::{decode_event_key, s3_event};
use localcloud::s3::{self as local_s3, ObjectCreated, ObjectEvents, md5_hex};
use packages::tiny_packages;
use stackctl::apply::{NoProgress, apply, read_live};
use stackctl::desired::{PackageRef, desired, object_created_pattern};
use stackctl::model::*;
use stackctl::plan::{Action, Options, Plan, diff_fields, plan_down, plan_up};
use stackctl::provider::local::{LOCAL_ACCOUNT, LocalCloud, LocalStore};
use stackctl::provider::{Cloud, ResourceProvider};
use stackctl::spec::Stack;

// ---- fixtures ---------------------------------------------------------------

struct Fixture {
    dir: tempfile::TempDir,
    cloud: Arc<LocalCloud>,
    spec: Stack,
    ctx: Context,
    packages: BTreeMap<String, PackageRef>,
    _zips: tempfile::TempDir,
}

impl Fixture {
    /// The repo's stack.yaml, in a fresh local cloud, with tiny packages.
    fn new() -> Fixture {
        let root = repo_root();
        let src = std::fs::read_to_string(root.join("stack.yaml")).expect("the repo's stack.yaml");
        let spec =
            stackctl::spec::parse_str(&src, "stack.yaml", &root, &[]).expect("valid stack.yaml");
        let dir = tempfile::tempdir().expect("tempdir");
        let cloud =
            Arc::new(LocalCloud::open(dir.path().join(".stackctl")).expect("open the store"));
        let zips = tempfile::tempdir().expect("tempdir");
        let packages = tiny_packages(&spec, zips.path());
        Fixture {
            dir,
            cloud,
            spec,
            ctx: LocalCloud::context_now(),
            packages,
            _zips: zips,
        }
    }

    fn store(&self) -> &LocalStore {
        self.cloud.store()
    }

    fn desired(&self) -> Vec<Resource> {
        desired(&self.spec, &self.ctx, &self.packages)
    }

    fn bucket(&self, id: &str) -> String {
        self.spec
            .bucket_name(id, &self.ctx.account, &self.ctx.region)
    }

    async fn plan(&self) -> Plan {
        let desired = self.desired();
        let live = read_live(self.cloud.clone(), &self.spec.name, &desired)
            .await
            .expect("read live");
        plan_up(&self.spec.name, &desired, &live, Options::default())
    }

    async fn up(&self) -> Plan {
        let plan = self.plan().await;
        assert!(plan.conflicts.is_empty(), "conflicts: {:?}", plan.conflicts);
        let report = apply(self.cloud.clone(), &plan, Arc::new(NoProgress)).await;
        let failed: Vec<_> = report.failed().collect();
        assert!(failed.is_empty(), "apply failed: {failed:#?}");
        plan
    }

    /// Writes `r` into the store as its JSON file, as a hand edit (or an
    /// older stackctl) would: the model's JSON is the stored record's.
    fn put_model(&self, r: &Resource) {
        let mut v = serde_json::to_value(r).expect("JSON");
        v.as_object_mut().expect("object").remove("kind");
        let path = self.store().resource_path(r.kind().as_str(), &r.name());
        std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        std::fs::write(&path, serde_json::to_string_pretty(&v).expect("JSON")).expect("write");
    }

    fn edit_json(&self, kind: Kind, name: &str, edit: impl FnOnce(&mut Value)) {
        let path = self.store().resource_path(kind.as_str(), name);
        let mut v: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("stored file"))
                .expect("JSON");
        edit(&mut v);
        std::fs::write(&path, serde_json::to_string_pretty(&v).expect("JSON")).expect("write");
    }
}

fn pick<R: Clone>(resources: &[Resource], f: fn(&Resource) -> Option<&R>) -> Vec<R> {
    resources.iter().filter_map(f).cloned().collect()
}

fn changed_fields(plan: &Plan) -> Vec<(String, String)> {
    plan.changes()
        .flat_map(|s| match &s.action {
            Action::Update { changes, .. } => changes
                .iter()
                .map(|c| (s.id.to_string(), c.field.clone()))
                .collect(),
            other => vec![(s.id.to_string(), other.name().to_owned())],
        })
        .collect()
}

// ---- the provider contract, per kind ------------------------------------------

/// create → read equals desired; a hand edit of the stored JSON → read shows
/// it and diff names `field`; update restores; delete removes (twice is
/// fine); list_owned finds only what the stack owns.
#[allow(clippy::too_many_arguments)]
async fn contract<R>(
    fx: &Fixture,
    desired: R,
    stored: fn(R) -> R,
    wrap: fn(R) -> Resource,
    absent: fn(Option<R>) -> bool,
    field: &str,
    edit: impl FnOnce(&mut Value),
    foreign: Option<R>,
) where
    LocalCloud: ResourceProvider<R>,
    R: ResourceKind,
{
    let cloud = &*fx.cloud;
    let name = wrap(desired.clone()).name();
    // Start from absent (the prerequisites stay).
    if let Some(live) = ResourceProvider::<R>::read(cloud, &name)
        .await
        .expect("read")
    {
        ResourceProvider::<R>::delete(cloud, &live)
            .await
            .expect("delete");
    }
    assert!(absent(
        ResourceProvider::<R>::read(cloud, &name)
            .await
            .expect("read")
    ));

    ResourceProvider::<R>::create(cloud, &desired)
        .await
        .expect("create");
    let live = ResourceProvider::<R>::read(cloud, &name)
        .await
        .expect("read")
        .expect("created");
    assert_eq!(live, stored(desired.clone()), "read after create");
    assert!(diff_fields(&wrap(live.clone()), &wrap(desired.clone())).is_empty());

    fx.edit_json(wrap(desired.clone()).kind(), &name, edit);
    let drifted = ResourceProvider::<R>::read(cloud, &name)
        .await
        .expect("read")
        .expect("present");
    let changes = diff_fields(&wrap(drifted.clone()), &wrap(desired.clone()));
    assert_eq!(
        changes.iter().map(|c| c.field.as_str()).collect::<Vec<_>>(),
        vec![field],
        "the hand edit is drift in exactly `{field}`"
    );

    ResourceProvider::<R>::update(cloud, &drifted, &desired, &drifted.changes_to(&desired))
        .await
        .expect("update");
    let restored = ResourceProvider::<R>::read(cloud, &name)
        .await
        .expect("read")
        .expect("present");
    assert_eq!(restored, stored(desired.clone()), "read after update");

    if let Some(foreign) = foreign {
        fx.put_model(&wrap(foreign.clone()));
        let owned = ResourceProvider::<R>::list_owned(cloud, &fx.spec.name, &BTreeSet::new())
            .await
            .expect("list_owned");
        let names: BTreeSet<String> = owned.iter().map(|r| wrap(r.clone()).name()).collect();
        assert!(names.contains(&name), "{names:?} lists ours");
        assert!(
            !names.contains(&wrap(foreign.clone()).name()),
            "{names:?} skips the foreign one"
        );
        let known: BTreeSet<String> = [name.clone()].into();
        let owned = ResourceProvider::<R>::list_owned(cloud, &fx.spec.name, &known)
            .await
            .expect("list_owned");
        assert!(
            owned.iter().all(|r| wrap(r.clone()).name() != name),
            "known names are skipped"
        );
        // Creating over a resource of another stack is a conflict.
        let mut clash = foreign.clone();
        let mut clash_json = serde_json::to_value(&desired).expect("json");
        clash_json["name"] = json!(wrap(foreign.clone()).name());
        if let Ok(c) = serde_json::from_value::<R>(clash_json) {
            clash = c;
        }
        let err = ResourceProvider::<R>::create(cloud, &clash)
            .await
            .expect_err("conflict");
        assert!(err.to_string().contains("without the tag"), "{err}");
    } else {
        let owned = ResourceProvider::<R>::list_owned(cloud, &fx.spec.name, &BTreeSet::new())
            .await
            .expect("list_owned");
        assert!(owned.is_empty(), "untagged kinds go with their parent");
    }

    ResourceProvider::<R>::delete(cloud, &restored)
        .await
        .expect("delete");
    assert!(absent(
        ResourceProvider::<R>::read(cloud, &name)
            .await
            .expect("read")
    ));
    ResourceProvider::<R>::delete(cloud, &restored)
        .await
        .expect("delete of an absent resource succeeds");
}

fn none<R>(r: Option<R>) -> bool {
    r.is_none()
}

fn foreign_tags() -> Tags {
    [(OWNER_TAG.to_owned(), "someone-else".to_owned())].into()
}

#[tokio::test]
async fn contract_bucket() {
    let fx = Fixture::new();
    let b = pick(&fx.desired(), |r| match r {
        Resource::Bucket(b) => Some(b),
        _ => None,
    })
    .remove(0);
    let foreign = Bucket {
        name: "someone-elses-bucket".into(),
        tags: foreign_tags(),
        ..b.clone()
    };
    contract(
        &fx,
        b,
        |b| b,
        Resource::Bucket,
        none,
        "versioning",
        |v| v["versioning"] = json!(false),
        Some(foreign),
    )
    .await;
}

#[tokio::test]
async fn contract_role() {
    let fx = Fixture::new();
    let r = pick(&fx.desired(), |r| match r {
        Resource::Role(r) => Some(r),
        _ => None,
    })
    .remove(0);
    let foreign = Role {
        name: "someone-elses-role".into(),
        tags: foreign_tags(),
        ..r.clone()
    };
    contract(
        &fx,
        r,
        |r| r,
        Resource::Role,
        none,
        "policy",
        |v| v["policy"] = json!(r#"{"Statement":[],"Version":"2012-10-17"}"#),
        Some(foreign),
    )
    .await;
}

#[tokio::test]
async fn contract_log_group() {
    let fx = Fixture::new();
    let l = pick(&fx.desired(), |r| match r {
        Resource::LogGroup(l) => Some(l),
        _ => None,
    })
    .remove(0);
    let foreign = LogGroup {
        name: "/aws/lambda/someone-else".into(),
        tags: foreign_tags(),
        ..l.clone()
    };
    contract(
        &fx,
        l,
        |l| l,
        Resource::LogGroup,
        none,
        "retention_days",
        |v| v["retention_days"] = json!(3),
        Some(foreign),
    )
    .await;
}

#[tokio::test]
async fn contract_function() {
    let fx = Fixture::new();
    fx.up().await;
    let f = pick(&fx.desired(), |r| match r {
        Resource::Function(f) => Some(f),
        _ => None,
    })
    .remove(0);
    let foreign = Function {
        name: "someone-elses-function".into(),
        tags: foreign_tags(),
        package: None,
        ..f.clone()
    };
    let strip = |f: Function| Function { package: None, ..f };
    contract(
        &fx,
        f.clone(),
        strip,
        Resource::Function,
        none,
        "memory_mb",
        |v| v["memory_mb"] = json!(1024),
        Some(foreign),
    )
    .await;

    // The package: copied in, `bootstrap` extracted executable.
    ResourceProvider::<Function>::create(&*fx.cloud, &f)
        .await
        .expect("create");
    let store = fx.store();
    assert!(store.package_zip(&f.name).is_file());
    let bootstrap = store.bootstrap_path(&f.name);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&bootstrap)
            .expect("bootstrap")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755, "bootstrap is executable");
    }
    // A tampered code hash is drift in code_sha256; update copies the
    // package in again.
    fx.edit_json(Kind::Function, &f.name, |v| {
        v["code_sha256"] = json!("tampered")
    });
    std::fs::remove_file(&bootstrap).expect("remove bootstrap");
    let live = ResourceProvider::<Function>::read(&*fx.cloud, &f.name)
        .await
        .expect("read")
        .expect("present");
    let changes = diff_fields(
        &Resource::Function(live.clone()),
        &Resource::Function(f.clone()),
    );
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].field, "code_sha256");
    ResourceProvider::<Function>::update(&*fx.cloud, &live, &f, &live.changes_to(&f))
        .await
        .expect("update");
    assert!(bootstrap.is_file(), "the package was installed again");
    assert_eq!(
        ResourceProvider::<Function>::read(&*fx.cloud, &f.name)
            .await
            .expect("read")
            .expect("present")
            .code_sha256,
        f.code_sha256
    );

    // Lambda refuses a role that does not exist, and a create without a package.
    let no_role = Function {
        name: "no-role".into(),
        role_arn: format!("arn:aws:iam::{LOCAL_ACCOUNT}:role/missing"),
        ..f.clone()
    };
    let err = ResourceProvider::<Function>::create(&*fx.cloud, &no_role)
        .await
        .expect_err("no role");
    assert!(
        err.to_string().contains("cannot be assumed by Lambda"),
        "{err}"
    );
    let no_package = Function {
        name: "no-package".into(),
        package: None,
        ..f
    };
    let err = ResourceProvider::<Function>::create(&*fx.cloud, &no_package)
        .await
        .expect_err("no package");
    assert!(err.to_string().contains("no package"), "{err}");
}

#[tokio::test]
async fn contract_rule() {
    let fx = Fixture::new();
    fx.up().await;
    let r = pick(&fx.desired(), |r| match r {
        Resource::Rule(r) => Some(r),
        _ => None,
    })
    .remove(0);
    let foreign = Rule {
        name: "someone-elses-rule".into(),
        tags: foreign_tags(),
        ..r.clone()
    };
    contract(
        &fx,
        r.clone(),
        |r| r,
        Resource::Rule,
        none,
        "pattern",
        |v| v["pattern"] = json!(r#"{"source":["aws.s3"]}"#),
        Some(foreign),
    )
    .await;
    let bad = Rule {
        pattern: r#"{"source":"aws.s3"}"#.into(),
        ..r
    };
    let err = ResourceProvider::<Rule>::create(&*fx.cloud, &bad)
        .await
        .expect_err("invalid pattern");
    assert!(
        err.to_string().contains("InvalidEventPatternException"),
        "{err}"
    );
    assert!(err.to_string().contains("`source`"), "{err}");
}

#[tokio::test]
async fn contract_permission() {
    let fx = Fixture::new();
    fx.up().await;
    let p = pick(&fx.desired(), |r| match r {
        Resource::Permission(p) => Some(p),
        _ => None,
    })
    .remove(0);
    contract(
        &fx,
        p.clone(),
        |p| p,
        Resource::Permission,
        none,
        "source_arn",
        |v| v["source_arn"] = json!("arn:aws:s3:::elsewhere"),
        None,
    )
    .await;
    // A permission goes with its function.
    ResourceProvider::<Permission>::create(&*fx.cloud, &p)
        .await
        .expect("create");
    let f = ResourceProvider::<Function>::read(&*fx.cloud, &p.function)
        .await
        .expect("read")
        .expect("function");
    ResourceProvider::<Function>::delete(&*fx.cloud, &f)
        .await
        .expect("delete function");
    let name = Permission::id_name(&p.function, &p.statement_id);
    assert_eq!(
        ResourceProvider::<Permission>::read(&*fx.cloud, &name)
            .await
            .expect("read"),
        None
    );
    let err = ResourceProvider::<Permission>::create(&*fx.cloud, &p)
        .await
        .expect_err("no function");
    assert!(
        err.to_string().contains("ResourceNotFoundException"),
        "{err}"
    );
}

#[tokio::test]
async fn contract_notification() {
    let fx = Fixture::new();
    fx.up().await;
    let n = pick(&fx.desired(), |r| match r {
        Resource::Notification(n) => Some(n),
        _ => None,
    })
    .into_iter()
    .find(|n| !n.lambda.is_empty())
    .expect("the raw bucket's notification");
    // With its bucket there, a notification is never absent: it is empty.
    let empty = |n: Option<Notification>| n.is_some_and(|n| n.lambda.is_empty() && !n.eventbridge);
    contract(
        &fx,
        n.clone(),
        |n| n,
        Resource::Notification,
        empty,
        "eventbridge",
        |v| v["eventbridge"] = json!(false),
        None,
    )
    .await;
    // S3 validates destinations: without the function's permission the
    // document is refused.
    let p = pick(&fx.desired(), |r| match r {
        Resource::Permission(p) if p.principal == "s3.amazonaws.com" => Some(p),
        _ => None,
    })
    .remove(0);
    ResourceProvider::<Permission>::delete(&*fx.cloud, &p)
        .await
        .expect("delete permission");
    let err = ResourceProvider::<Notification>::create(&*fx.cloud, &n)
        .await
        .expect_err("unvalidated");
    assert!(
        err.to_string()
            .contains("Unable to validate the following destination configurations"),
        "{err}"
    );
}

// ---- the whole stack --------------------------------------------------------

#[tokio::test]
async fn whole_stack_up_diff_drift_and_down() {
    let fx = Fixture::new();
    let first = fx.up().await;
    assert!(
        first
            .steps
            .iter()
            .all(|s| matches!(s.action, Action::Create(_)))
    );
    assert_eq!(first.steps.len(), fx.desired().len());

    // Idempotent: nothing to do, and a second up makes no mutating call.
    let before = fx.cloud.stats();
    let second = fx.up().await;
    assert!(!second.has_changes(), "{:?}", changed_fields(&second));
    let after = fx.cloud.stats();
    assert_eq!(
        after.mutations(),
        before.mutations(),
        "a no-op up mutates nothing"
    );
    assert!(after.reads() > before.reads());
    assert!(
        after
            .read
            .keys()
            .all(|op| stackctl::provider::ApiStats::is_read(op))
    );

    // Hand edits of stored settings are drift, field by field.
    let group = fx.spec.log_group_name("processor");
    fx.edit_json(Kind::LogGroup, &group, |v| v["retention_days"] = json!(1));
    let function = fx.spec.function_name("promotion");
    fx.edit_json(Kind::Function, &function, |v| v["memory_mb"] = json!(2048));
    let plan = fx.plan().await;
    assert_eq!(
        changed_fields(&plan),
        vec![
            (format!("log_group {group}"), "retention_days".to_owned()),
            (format!("function {function}"), "memory_mb".to_owned()),
        ]
    );
    let Action::Update { changes, .. } = &plan.changes().next().expect("a change").action else {
        panic!("an update")
    };
    assert_eq!(
        (changes[0].old.as_str(), changes[0].new.as_str()),
        ("1", "14")
    );
    fx.up().await;
    assert!(!fx.plan().await.has_changes());

    // A stored file that is not JSON is a clear error naming it.
    let role = fx.spec.role_name("generator");
    let path = fx.store().resource_path(Kind::Role.as_str(), &role);
    let good = std::fs::read_to_string(&path).expect("role file");
    std::fs::write(&path, "{ not json").expect("write");
    let err = ResourceProvider::<Role>::read(&*fx.cloud, &role)
        .await
        .expect_err("corrupt");
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{err}"
    );
    std::fs::write(&path, good).expect("write");

    // A foreign bucket survives down; objects of ours go with our bucket.
    let foreign = Bucket {
        name: "not-ours".into(),
        versioning: true,
        public_access_block: true,
        encryption: None,
        policy: None,
        tags: Tags::new(),
    };
    fx.put_model(&Resource::Bucket(foreign.clone()));
    let raw = fx.bucket("raw");
    let store = fx.store();
    store.put_object(&raw, "a.csv", b"1", None).expect("put");
    store.put_object(&raw, "a.csv", b"2", None).expect("put");
    store.delete_object(&raw, "a.csv").expect("delete marker");
    assert_eq!(
        store
            .list_object_versions(&raw, "")
            .expect("versions")
            .len(),
        3
    );

    let live = read_live(fx.cloud.clone(), &fx.spec.name, &fx.desired())
        .await
        .expect("read");
    let down = plan_down(&fx.spec.name, Some("us-east-1"), &live);
    // Without the run's --delete-data, the bucket holding versions stays
    // (its delete fails; the engine stops at that wave), data intact.
    let refused = apply(fx.cloud.clone(), &down, Arc::new(NoProgress)).await;
    let failed: Vec<_> = refused.failed().map(|r| r.id.to_string()).collect();
    assert_eq!(failed, [format!("bucket {raw}")], "{refused:?}");
    assert_eq!(
        store
            .list_object_versions(&raw, "")
            .expect("versions")
            .len(),
        3
    );
    let live = read_live(fx.cloud.clone(), &fx.spec.name, &fx.desired())
        .await
        .expect("read");
    let mut down = plan_down(&fx.spec.name, Some("us-east-1"), &live);
    down.delete_data = true;
    let report = apply(fx.cloud.clone(), &down, Arc::new(NoProgress)).await;
    assert!(report.failed().next().is_none(), "{report:?}");
    let live = read_live(fx.cloud.clone(), &fx.spec.name, &fx.desired())
        .await
        .expect("read");
    assert!(
        live.is_empty(),
        "nothing of the stack is left: {:?}",
        live.keys()
    );
    assert!(
        store.bucket_exists("not-ours"),
        "the foreign bucket is untouched"
    );
    for kind in Kind::ALL {
        let dir = store.resource_dir(kind.as_str());
        let left: Vec<_> = std::fs::read_dir(&dir)
            .map(|rd| rd.filter_map(Result::ok).map(|e| e.file_name()).collect())
            .unwrap_or_default();
        if kind == Kind::Bucket {
            assert_eq!(left, vec![std::ffi::OsString::from("not-ours.json")]);
        } else {
            assert!(left.is_empty(), "{kind}: {left:?}");
        }
    }
    assert!(
        !store.bucket_dir(&raw).exists(),
        "the bucket's versions are gone"
    );
    for id in fx.spec.functions.keys() {
        assert!(!store.package_dir(&fx.spec.function_name(id)).exists());
    }
    // And up refuses to touch a same-named foreign resource.
    fx.put_model(&Resource::Bucket(Bucket {
        name: raw.clone(),
        ..foreign
    }));
    let plan = fx.plan().await;
    let conflicts: Vec<ResourceId> = plan.conflicts.iter().map(|c| c.id.clone()).collect();
    assert_eq!(
        conflicts,
        vec![
            ResourceId::new(Kind::Bucket, &raw),
            // Its notification goes with the bucket.
            ResourceId::new(Kind::Notification, &raw),
        ]
    );
    assert!(fx.dir.path().join(".stackctl/.gitignore").is_file());
}

// ---- store details -----------------------------------------------------------

#[tokio::test]
async fn logs_keep_retention_and_need_their_group() {
    let fx = Fixture::new();
    fx.up().await;
    let store = fx.store();
    let group = fx.spec.log_group_name("generator");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as u64;
    let day = 86_400_000;
    let events = vec![
        LogEvent {
            timestamp_ms: now - 30 * day,
            message: "too old".into(),
        },
        LogEvent {
            timestamp_ms: now - 1000,
            message: "START RequestId: 1".into(),
        },
        LogEvent {
            timestamp_ms: now,
            message: "END RequestId: 1".into(),
        },
    ];
    store
        .put_log_events(&group, "2026/11/25/[$LATEST]abc", &events)
        .expect("put");
    let read = store
        .get_log_events(&group, "2026/11/25/[$LATEST]abc")
        .expect("get");
    assert_eq!(
        read,
        events[1..].to_vec(),
        "retention (14 days) drops the old event"
    );
    assert_eq!(
        store.list_log_streams(&group).expect("streams"),
        vec!["2026/11/25/[$LATEST]abc".to_owned()]
    );
    // Stored as JSON lines a human can read.
    let text = std::fs::read_to_string(store.log_stream_path(&group, "2026/11/25/[$LATEST]abc"))
        .expect("file");
    assert!(
        text.lines().all(|l| l.starts_with("{\"timestamp_ms\":")),
        "{text}"
    );
    // A shorter retention edited by hand applies on read.
    fx.edit_json(Kind::LogGroup, &group, |v| v["retention_days"] = json!(1));
    let all = store.filter_log_events(&group, None).expect("filter");
    assert_eq!(all.len(), 2);
    assert!(matches!(
        store.put_log_events("/aws/lambda/nope", "s", &events),
        Err(StoreError::NoSuchLogGroup(_))
    ));
}

#[test]
fn the_directory_lock_is_exclusive() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = LocalStore::open(dir.path()).expect("open");
    let b = LocalStore::open(dir.path()).expect("open");
    let held = a.lock().expect("first lock");
    let err = b.lock().expect_err("second lock");
    assert!(
        err.to_string()
            .contains("in use by another stackctl process"),
        "{err}"
    );
    drop(held);
    b.lock().expect("free again");
}

// ---- the S3 endpoint, with the real SDK ------------------------------------------

#[derive(Default)]
struct Collect(Mutex<Vec<ObjectCreated>>);

impl ObjectEvents for Collect {
    fn object_created(&self, event: ObjectCreated) {
        self.0.lock().expect("lock").push(event);
    }
}

impl Collect {
    fn take(&self) -> Vec<ObjectCreated> {
        std::mem::take(&mut *self.0.lock().expect("lock"))
    }
}

fn client(endpoint: &str, access_key: &str, secret: &str) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::config::Builder::new()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .force_path_style(true)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            access_key,
            secret,
            Some("token".into()),
            None,
            "test",
        ))
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

async fn started(fx: &Fixture) -> (local_s3::S3Endpoint, Arc<Collect>) {
    let events = Arc::new(Collect::default());
    let endpoint = local_s3::start(fx.cloud.store().clone(), events.clone(), 0)
        .await
        .expect("start the endpoint");
    (endpoint, events)
}

async fn body(out: aws_sdk_s3::operation::get_object::GetObjectOutput) -> Vec<u8> {
    out.body
        .collect()
        .await
        .expect("body")
        .into_bytes()
        .to_vec()
}

#[tokio::test]
async fn s3_endpoint_versions_lists_and_emits_events() {
    let fx = Fixture::new();
    fx.up().await;
    let (endpoint, events) = started(&fx).await;
    // Dummy credentials nobody registered: the account owner.
    let s3 = client(&endpoint.url(), "AKIADUMMYDUMMY", "dummy-secret");
    let raw = fx.bucket("raw");

    let one = s3
        .put_object()
        .bucket(&raw)
        .key("in/cart data.csv")
        .content_type("text/csv")
        .body(ByteStream::from_static(b"a,b\n1,2\n"))
        .send()
        .await
        .expect("put 1");
    let two = s3
        .put_object()
        .bucket(&raw)
        .key("in/cart data.csv")
        .body(ByteStream::from_static(b"a,b\n3,4\n5,6\n"))
        .send()
        .await
        .expect("put 2");
    let (v1, v2) = (one.version_id().expect("v1"), two.version_id().expect("v2"));
    assert_ne!(v1, v2, "every put is a new version");
    assert_eq!(
        two.e_tag(),
        Some(format!("\"{}\"", md5_hex(b"a,b\n3,4\n5,6\n")).as_str())
    );

    let got = s3
        .get_object()
        .bucket(&raw)
        .key("in/cart data.csv")
        .send()
        .await
        .expect("get");
    assert_eq!(got.version_id(), Some(v2));
    assert_eq!(body(got).await, b"a,b\n3,4\n5,6\n");
    let old = s3
        .get_object()
        .bucket(&raw)
        .key("in/cart data.csv")
        .version_id(v1)
        .send()
        .await
        .expect("get v1");
    assert_eq!(old.content_type(), Some("text/csv"));
    assert_eq!(body(old).await, b"a,b\n1,2\n");
    let ranged = s3
        .get_object()
        .bucket(&raw)
        .key("in/cart data.csv")
        .range("bytes=4-6")
        .send()
        .await
        .expect("ranged get");
    assert_eq!(body(ranged).await, b"3,4");
    let head = s3
        .head_object()
        .bucket(&raw)
        .key("in/cart data.csv")
        .send()
        .await
        .expect("head");
    assert_eq!(head.content_length(), Some(12));

    // Events: one per put, in order, with what S3 puts in them.
    let seen = events.take();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0].version_id.as_deref(), Some(v1));
    assert_eq!(seen[1].version_id.as_deref(), Some(v2));
    assert_eq!(seen[1].size, 12);
    assert_eq!(seen[1].reason, "PutObject");
    assert_eq!(seen[1].key, "in/cart data.csv");
    assert!(seen[0].sequencer < seen[1].sequencer);
    assert_eq!(seen[1].role, None, "written by the owner");

    // Listing: keys, prefixes, pages.
    for k in ["in/b.csv", "in/sub/c.csv", "out/d.csv", "z.csv"] {
        s3.put_object()
            .bucket(&raw)
            .key(k)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .expect("put");
    }
    let all = s3
        .list_objects_v2()
        .bucket(&raw)
        .send()
        .await
        .expect("list");
    let keys: Vec<&str> = all.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(
        keys,
        vec![
            "in/b.csv",
            "in/cart data.csv",
            "in/sub/c.csv",
            "out/d.csv",
            "z.csv"
        ]
    );
    let top = s3
        .list_objects_v2()
        .bucket(&raw)
        .delimiter("/")
        .send()
        .await
        .expect("list");
    let prefixes: Vec<&str> = top
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(prefixes, vec!["in/", "out/"]);
    assert_eq!(
        top.contents()
            .iter()
            .filter_map(|o| o.key())
            .collect::<Vec<_>>(),
        vec!["z.csv"]
    );
    let mut pages = Vec::new();
    let mut token = None;
    loop {
        let page = s3
            .list_objects_v2()
            .bucket(&raw)
            .prefix("in/")
            .max_keys(2)
            .set_continuation_token(token)
            .send()
            .await
            .expect("page");
        pages.push(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned))
                .collect::<Vec<_>>(),
        );
        token = page.next_continuation_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(
        pages,
        vec![
            vec!["in/b.csv".to_owned(), "in/cart data.csv".to_owned()],
            vec!["in/sub/c.csv".to_owned()]
        ]
    );

    // Delete: a marker; the key reads as missing; its versions stay listed.
    let del = s3
        .delete_object()
        .bucket(&raw)
        .key("in/cart data.csv")
        .send()
        .await
        .expect("delete");
    assert_eq!(del.delete_marker(), Some(true));
    let err = s3
        .get_object()
        .bucket(&raw)
        .key("in/cart data.csv")
        .send()
        .await
        .expect_err("deleted");
    assert_eq!(err.code(), Some("NoSuchKey"));
    let versions = s3
        .list_object_versions()
        .bucket(&raw)
        .prefix("in/cart")
        .send()
        .await
        .expect("versions");
    assert_eq!(versions.versions().len(), 2);
    assert_eq!(versions.delete_markers().len(), 1);
    assert_eq!(versions.delete_markers()[0].is_latest(), Some(true));
    assert_eq!(
        versions.versions()[0].version_id(),
        Some(v2),
        "newest first"
    );
    // Deleting the marker brings the object back.
    let marker = versions.delete_markers()[0]
        .version_id()
        .expect("marker id")
        .to_owned();
    s3.delete_object()
        .bucket(&raw)
        .key("in/cart data.csv")
        .version_id(&marker)
        .send()
        .await
        .expect("delete marker");
    let back = s3
        .get_object()
        .bucket(&raw)
        .key("in/cart data.csv")
        .send()
        .await
        .expect("back");
    assert_eq!(back.version_id(), Some(v2));

    // Buckets: only those `up` made; others are NoSuchBucket.
    let buckets = s3.list_buckets().send().await.expect("buckets");
    let names: BTreeSet<&str> = buckets.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(
        names,
        [raw.as_str(), fx.bucket("consumption").as_str()].into()
    );
    s3.head_bucket()
        .bucket(&raw)
        .send()
        .await
        .expect("head bucket");
    let err = s3
        .put_object()
        .bucket("no-such-bucket")
        .key("k")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect_err("unknown bucket");
    assert_eq!(err.code(), Some("NoSuchBucket"));
    let location = s3
        .get_bucket_location()
        .bucket(&raw)
        .send()
        .await
        .expect("location");
    assert_eq!(
        location.location_constraint().map_or("", |c| c.as_str()),
        "",
        "us-east-1"
    );
    endpoint.shutdown().await;
}

#[tokio::test]
async fn s3_endpoint_streaming_bodies_copies_and_multipart() {
    let fx = Fixture::new();
    fx.up().await;
    let (endpoint, events) = started(&fx).await;
    let s3 = client(&endpoint.url(), "AKIADUMMYDUMMY", "dummy-secret");
    let raw = fx.bucket("raw");

    // A file body: the SDK streams it (aws-chunked with a trailing checksum).
    let file = tempfile::NamedTempFile::new().expect("temp file");
    let content: Vec<u8> = (0..200_000u32)
        .flat_map(|i| format!("{i},x\n").into_bytes())
        .collect();
    std::fs::write(file.path(), &content).expect("write");
    s3.put_object()
        .bucket(&raw)
        .key("big.csv")
        .body(ByteStream::from_path(file.path()).await.expect("from_path"))
        .send()
        .await
        .expect("streamed put");
    let got = s3
        .get_object()
        .bucket(&raw)
        .key("big.csv")
        .send()
        .await
        .expect("get");
    assert_eq!(
        body(got).await,
        content,
        "the body arrives decoded, byte for byte"
    );

    // CopyObject: a new object, an event with reason CopyObject.
    s3.copy_object()
        .bucket(fx.bucket("consumption"))
        .key("copy.csv")
        .copy_source(format!("{raw}/big.csv"))
        .send()
        .await
        .expect("copy");
    let copied = s3
        .get_object()
        .bucket(fx.bucket("consumption"))
        .key("copy.csv")
        .send()
        .await
        .expect("get");
    assert_eq!(body(copied).await.len(), content.len());

    // Multipart, as the aws CLI does from 8 MB.
    let part = vec![b'p'; 5 * 1024 * 1024];
    let up = s3
        .create_multipart_upload()
        .bucket(&raw)
        .key("multi.csv")
        .send()
        .await
        .expect("create");
    let id = up.upload_id().expect("id").to_owned();
    let mut parts = Vec::new();
    for (n, data) in [(1, part.clone()), (2, b"tail".to_vec())] {
        let out = s3
            .upload_part()
            .bucket(&raw)
            .key("multi.csv")
            .upload_id(&id)
            .part_number(n)
            .body(ByteStream::from(data))
            .send()
            .await
            .expect("part");
        parts.push(
            aws_sdk_s3::types::CompletedPart::builder()
                .part_number(n)
                .e_tag(out.e_tag().expect("etag"))
                .build(),
        );
    }
    s3.complete_multipart_upload()
        .bucket(&raw)
        .key("multi.csv")
        .upload_id(&id)
        .multipart_upload(
            aws_sdk_s3::types::CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .expect("complete");
    let head = s3
        .head_object()
        .bucket(&raw)
        .key("multi.csv")
        .send()
        .await
        .expect("head");
    assert_eq!(head.content_length(), Some(part.len() as i64 + 4));

    let reasons: Vec<String> = events.take().into_iter().map(|e| e.reason).collect();
    assert_eq!(
        reasons,
        vec!["PutObject", "CopyObject", "CompleteMultipartUpload"]
    );
    endpoint.shutdown().await;
}

#[tokio::test]
async fn s3_endpoint_enforces_each_function_role() {
    let mut fx = Fixture::new();
    fx.up().await;
    let (endpoint, events) = started(&fx).await;
    let (raw, consumption) = (fx.bucket("raw"), fx.bucket("consumption"));
    let client_for = |function: &str| {
        let creds = endpoint.new_function_credentials(&fx.spec.role_name(function));
        client(
            &endpoint.url(),
            &creds.access_key_id,
            &creds.secret_access_key,
        )
    };
    let generator = client_for("generator");
    let processor = client_for("processor");
    let put = |c: &aws_sdk_s3::Client, bucket: &str, key: &str| {
        c.put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from_static(b"a,b\n"))
            .send()
    };

    // The generator writes raw, and nothing else.
    put(&generator, &raw, "gen.csv")
        .await
        .expect("generator writes raw");
    // A streamed (aws-chunked) body, its signature checked by s3s.
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), "a,b\n".repeat(10_000)).expect("write");
    generator
        .put_object()
        .bucket(&raw)
        .key("streamed.csv")
        .body(ByteStream::from_path(file.path()).await.expect("from_path"))
        .send()
        .await
        .expect("a function streams a file body");
    assert_eq!(
        fx.store()
            .head_object(&raw, "streamed.csv", None)
            .expect("stored")
            .size,
        40_000
    );
    let err = put(&generator, &consumption, "x.csv")
        .await
        .expect_err("not consumption");
    assert_eq!(err.code(), Some("AccessDenied"));
    assert!(
        err.message().unwrap_or_default().contains("s3:PutObject"),
        "{:?}",
        err.message()
    );
    let err = generator
        .get_object()
        .bucket(&raw)
        .key("gen.csv")
        .send()
        .await
        .expect_err("no read");
    assert_eq!(err.code(), Some("AccessDenied"));
    let err = generator
        .list_objects_v2()
        .bucket(&raw)
        .send()
        .await
        .expect_err("no list");
    assert_eq!(err.code(), Some("AccessDenied"));

    // The processor reads raw (a missing key is NoSuchKey: it may list raw),
    // writes consumption, does not write raw.
    let got = processor
        .get_object()
        .bucket(&raw)
        .key("gen.csv")
        .send()
        .await
        .expect("processor reads raw");
    assert_eq!(body(got).await, b"a,b\n");
    let err = processor
        .get_object()
        .bucket(&raw)
        .key("missing.csv")
        .send()
        .await
        .expect_err("missing");
    assert_eq!(err.code(), Some("NoSuchKey"));
    processor
        .list_objects_v2()
        .bucket(&raw)
        .send()
        .await
        .expect("processor lists raw");
    put(&processor, &consumption, "out.csv")
        .await
        .expect("processor writes consumption");
    let err = put(&processor, &raw, "loop.csv")
        .await
        .expect_err("not raw");
    assert_eq!(err.code(), Some("AccessDenied"));
    let err = processor
        .delete_object()
        .bucket(&raw)
        .key("gen.csv")
        .send()
        .await
        .expect_err("no delete");
    assert_eq!(err.code(), Some("AccessDenied"));

    let seen = events.take();
    assert_eq!(seen.len(), 3);
    assert_eq!(
        seen[0].role.as_deref(),
        Some(fx.spec.role_name("generator").as_str())
    );

    // Write access removed from stack.yaml: after `up`, AccessDenied...
    fx.spec
        .functions
        .get_mut("generator")
        .expect("generator")
        .writes
        .clear();
    let plan = fx.up().await;
    assert_eq!(
        changed_fields(&plan),
        vec![(
            format!("role {}", fx.spec.role_name("generator")),
            "policy".to_owned()
        )]
    );
    let err = put(&generator, &raw, "gen.csv")
        .await
        .expect_err("write access removed");
    assert_eq!(err.code(), Some("AccessDenied"));
    // ... and restored: works again, same credentials.
    fx.spec
        .functions
        .get_mut("generator")
        .expect("generator")
        .writes
        .push("raw".into());
    fx.up().await;
    put(&generator, &raw, "gen.csv")
        .await
        .expect("write access restored");

    // A wrong secret for a registered key is refused, not taken for the owner.
    let creds = endpoint.new_function_credentials(&fx.spec.role_name("generator"));
    let forged = client(&endpoint.url(), &creds.access_key_id, "wrong-secret");
    let err = put(&forged, &raw, "x.csv")
        .await
        .expect_err("bad signature");
    assert_eq!(err.code(), Some("SignatureDoesNotMatch"));
    // Unregistered, the key is just a dummy: the owner.
    endpoint.unregister_credentials(&creds.access_key_id);
    put(&forged, &consumption, "owner.csv")
        .await
        .expect("owner");
    endpoint.shutdown().await;
}

/// The aws CLI, as a user runs it against `stackctl serve`: any dummy
/// credentials, `--endpoint-url`. Skipped (with a note) where the CLI is not
/// installed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_cli_works_against_the_endpoint_with_dummy_credentials() {
    if std::process::Command::new("aws")
        .arg("--version")
        .output()
        .is_err()
    {
        assert!(
            std::env::var_os("STACKCTL_REQUIRE_TOOLS").is_none(),
            "the aws CLI is required here (STACKCTL_REQUIRE_TOOLS is set)"
        );
        eprintln!("skipped: the aws CLI is not installed");
        return;
    }
    let fx = Fixture::new();
    fx.up().await;
    let (endpoint, events) = started(&fx).await;
    let raw = fx.bucket("raw");
    let home = tempfile::tempdir().expect("tempdir");
    let aws = |args: &[&str]| {
        let mut cmd = tokio::process::Command::new("aws");
        cmd.arg("--endpoint-url")
            .arg(endpoint.url())
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "dummy")
            .env("AWS_SECRET_ACCESS_KEY", "dummy")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .env("AWS_CONFIG_FILE", home.path().join("config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                home.path().join("credentials"),
            )
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL");
        let what = format!("{args:?}");
        async move {
            let out = cmd.output().await.expect("run aws");
            assert!(
                out.status.success(),
                "aws {what}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        }
    };
    let small = home.path().join("cart data.csv");
    std::fs::write(&small, "a,b\n1,2\n").expect("write");
    aws(&[
        "s3",
        "cp",
        small.to_str().expect("path"),
        &format!("s3://{raw}/uploads/cart data.csv"),
    ])
    .await;
    // 9 MB: the CLI switches to a multipart upload.
    let big = home.path().join("big.csv");
    std::fs::write(&big, vec![b'x'; 9 * 1024 * 1024]).expect("write");
    aws(&[
        "s3",
        "cp",
        big.to_str().expect("path"),
        &format!("s3://{raw}/uploads/big.csv"),
    ])
    .await;

    let listing = aws(&["s3", "ls", &format!("s3://{raw}/"), "--recursive"]).await;
    assert!(listing.contains("uploads/cart data.csv"), "{listing}");
    assert!(listing.contains("uploads/big.csv"), "{listing}");
    let content = aws(&[
        "s3",
        "cp",
        &format!("s3://{raw}/uploads/cart data.csv"),
        "-",
    ])
    .await;
    assert_eq!(content, "a,b\n1,2\n");
    let versions = aws(&["s3api", "list-object-versions", "--bucket", &raw]).await;
    let versions: Value = serde_json::from_str(&versions).expect("JSON");
    assert_eq!(
        versions["Versions"].as_array().map(Vec::len),
        Some(2),
        "{versions}"
    );

    let reasons: Vec<(String, String)> = events
        .take()
        .into_iter()
        .map(|e| (e.key, e.reason))
        .collect();
    assert_eq!(
        reasons,
        vec![
            ("uploads/cart data.csv".to_owned(), "PutObject".to_owned()),
            (
                "uploads/big.csv".to_owned(),
                "CompleteMultipartUpload".to_owned()
            ),
        ]
    );
    aws(&["s3", "rm", &format!("s3://{raw}/uploads/"), "--recursive"]).await;
    let listing = aws(&["s3", "ls", &format!("s3://{raw}/"), "--recursive"]).await;
    assert!(listing.trim().is_empty(), "{listing}");
    endpoint.shutdown().await;
}

// ---- events ------------------------------------------------------------------

fn created(bucket: &str, key: &str, reason: &str) -> ObjectCreated {
    ObjectCreated {
        bucket: bucket.into(),
        key: key.into(),
        version_id: Some("3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY".into()),
        size: 1024,
        etag: "d41d8cd98f00b204e9800998ecf8427e".into(),
        sequencer: "0055AED6DCD90281E5".into(),
        reason: reason.into(),
        time_ms: 1_795_600_800_123,
        request_id: "C3D13FE58DE4C810".into(),
        host_id: "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD".into(),
        source_ip: "127.0.0.1".into(),
        principal_id: format!("AWS:{LOCAL_ACCOUNT}"),
        requester: LOCAL_ACCOUNT.into(),
        role: None,
    }
}

#[test]
fn s3_event_json_is_what_lambda_receives() {
    let key = "uploads/march été 2026 (1)+x.csv";
    let ev = created("raw-bucket", key, "PutObject");
    let json = s3_event(&ev, "stackctl-processor");
    let record = &json["Records"][0];
    assert_eq!(record["eventVersion"], "2.1");
    assert_eq!(record["eventSource"], "aws:s3");
    assert_eq!(record["awsRegion"], "us-east-1");
    assert_eq!(record["eventTime"], "2026-11-25T10:00:00.123Z");
    assert_eq!(record["eventName"], "ObjectCreated:Put");
    assert_eq!(record["s3"]["s3SchemaVersion"], "1.0");
    assert_eq!(record["s3"]["configurationId"], "stackctl-processor");
    assert_eq!(record["s3"]["bucket"]["arn"], "arn:aws:s3:::raw-bucket");
    assert_eq!(
        record["s3"]["object"]["key"],
        "uploads/march+%C3%A9t%C3%A9+2026+%281%29%2Bx.csv"
    );
    assert_eq!(
        record["s3"]["object"]["versionId"],
        "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"
    );
    assert!(record["responseElements"]["x-amz-request-id"].is_string());

    // The shape aws_lambda_events expects, and the key round-trips.
    let parsed: aws_lambda_events::event::s3::S3Event =
        serde_json::from_value(json.clone()).expect("S3Event");
    let r = &parsed.records[0];
    assert_eq!(r.event_name.as_deref(), Some("ObjectCreated:Put"));
    assert_eq!(r.s3.object.size, Some(1024));
    assert_eq!(
        r.s3.object.e_tag.as_deref(),
        Some("d41d8cd98f00b204e9800998ecf8427e")
    );
    assert_eq!(r.s3.object.sequencer.as_deref(), Some("0055AED6DCD90281E5"));
    assert_eq!(
        decode_event_key(r.s3.object.key.as_deref().expect("key")),
        key
    );
    assert_eq!(r.event_time.timestamp_millis(), 1_795_600_800_123);
    // The processor's own parser gets the bucket and the decoded key.
    assert_eq!(
        cartpipe::handlers::s3_event_objects(json).expect("the processor parses it"),
        vec![("raw-bucket".to_owned(), key.to_owned())]
    );
    // The same fields as the AWS fixture the handler tests use.
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("tests/fixtures/events/s3-put.json"))
            .expect("fixture"),
    )
    .expect("JSON");
    assert_eq!(shape(&s3_event(&ev, "x")), shape(&fixture));
}

#[test]
fn eventbridge_event_json_is_what_lambda_receives() {
    let key = "uploads/march été 2026.csv";
    let ev = created("raw-bucket", key, "PutObject");
    let json = eventbridge_event(&ev, "17793124-05d4-b198-2fde-7ededc63b103");
    assert_eq!(json["detail-type"], "Object Created");
    assert_eq!(json["source"], "aws.s3");
    assert_eq!(json["account"], LOCAL_ACCOUNT);
    assert_eq!(json["time"], "2026-11-25T10:00:00Z");
    assert_eq!(json["resources"], json!(["arn:aws:s3:::raw-bucket"]));
    assert_eq!(json["detail"]["object"]["key"], key, "not URL-encoded");
    assert_eq!(
        json["detail"]["object"]["version-id"],
        "3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"
    );
    assert_eq!(json["detail"]["reason"], "PutObject");
    let parsed: aws_lambda_events::event::eventbridge::EventBridgeEvent =
        serde_json::from_value(json.clone()).expect("EventBridgeEvent");
    assert_eq!(parsed.detail_type, "Object Created");
    assert_eq!(
        cartpipe::handlers::eventbridge_object(json.clone())
            .expect("the promotion function parses it"),
        ("raw-bucket".to_owned(), key.to_owned())
    );
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(
            repo_root().join("tests/fixtures/events/eventbridge-object-created.json"),
        )
        .expect("fixture"),
    )
    .expect("JSON");
    assert_eq!(shape(&json), shape(&fixture));
}

/// The JSON's structure: every object key path, with the type at leaves.
fn shape(v: &Value) -> BTreeSet<String> {
    fn walk(v: &Value, path: String, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    walk(v, format!("{path}.{k}"), out);
                }
            }
            Value::Array(a) => {
                for v in a {
                    walk(v, format!("{path}[]"), out);
                }
            }
            Value::String(_) => {
                out.insert(format!("{path}: string"));
            }
            Value::Number(_) => {
                out.insert(format!("{path}: number"));
            }
            other => {
                out.insert(format!("{path}: {other}"));
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(v, String::new(), &mut out);
    out
}

#[tokio::test]
async fn notification_targets_follow_the_stack() {
    let fx = Fixture::new();
    fx.up().await;
    let raw = fx.bucket("raw");
    let targets = |key: &str| -> Vec<(String, DeliveryVia)> {
        notification_targets(fx.store(), &created(&raw, key, "PutObject"))
            .expect("targets")
            .into_iter()
            .map(|d: Delivery| (d.function, d.via))
            .collect()
    };
    assert_eq!(
        targets("cart/2026.csv"),
        vec![
            (
                fx.spec.function_name("processor"),
                DeliveryVia::S3Notification {
                    configuration_id: "stackctl-processor".into()
                }
            ),
            (
                fx.spec.function_name("promotion"),
                DeliveryVia::Rule {
                    name: fx.spec.rule_name("promotion", "raw")
                }
            ),
        ]
    );
    assert!(
        targets("cart/2026.txt").is_empty(),
        "the .csv suffix filters both"
    );
    // The consumption bucket notifies nobody.
    assert!(
        notification_targets(
            fx.store(),
            &created(&fx.bucket("consumption"), "x.csv", "PutObject")
        )
        .expect("targets")
        .is_empty()
    );
    // The delivered events parse with the functions' parsers.
    for d in
        notification_targets(fx.store(), &created(&raw, "a b.csv", "PutObject")).expect("targets")
    {
        match d.via {
            DeliveryVia::S3Notification { .. } => {
                cartpipe::handlers::s3_event_objects(d.event).expect("S3 event");
            }
            DeliveryVia::Rule { .. } => {
                cartpipe::handlers::eventbridge_object(d.event).expect("EventBridge event");
            }
        }
    }
    // EventBridge off: the rule hears nothing.
    fx.edit_json(Kind::Notification, &raw, |v| {
        v["eventbridge"] = json!(false)
    });
    assert_eq!(targets("cart/2026.csv").len(), 1);
}

#[test]
fn notification_filters_event_types_prefixes_and_suffixes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = LocalStore::open(dir.path()).expect("open");
    let arn = |f: &str| format!("arn:aws:lambda:us-east-1:{LOCAL_ACCOUNT}:function:{f}");
    let config = |id: &str, events: &[&str], prefix: Option<&str>, suffix: Option<&str>| {
        localcloud::s3::LambdaConfiguration {
            id: id.into(),
            function_arn: arn(id),
            events: events.iter().map(|e| (*e).to_owned()).collect(),
            prefix: prefix.map(str::to_owned),
            suffix: suffix.map(str::to_owned),
        }
    };
    store
        .put(&localcloud::s3::Notification {
            bucket: "b".into(),
            lambda: vec![
                config("all-csv", &["s3:ObjectCreated:*"], None, Some(".csv")),
                config(
                    "put-incoming",
                    &["s3:ObjectCreated:Put"],
                    Some("incoming/"),
                    None,
                ),
                config("copies", &["s3:ObjectCreated:Copy"], None, None),
                config("removals", &["s3:ObjectRemoved:*"], None, None),
                config("both", &["s3:ObjectCreated:*"], Some("in/"), Some(".json")),
            ],
            eventbridge: true,
        })
        .expect("put");
    store
        .put(&localcloud::events::Rule {
            name: "json-rule".into(),
            pattern: canonical_json(
                &object_created_pattern("b", Some("in*/"), Some(".json")).to_string(),
            ),
            target_id: "t".into(),
            target_arn: Some(arn("rule-fn")),
            tags: Tags::new(),
        })
        .expect("put rule");
    store
        .put(&localcloud::events::Rule {
            name: "other-bucket".into(),
            pattern: canonical_json(&object_created_pattern("other", None, None).to_string()),
            target_id: "t".into(),
            target_arn: Some(arn("never")),
            tags: Tags::new(),
        })
        .expect("put rule");
    let to = |key: &str, reason: &str| -> Vec<String> {
        notification_targets(&store, &created("b", key, reason))
            .expect("targets")
            .into_iter()
            .map(|d| d.function)
            .collect()
    };
    assert_eq!(
        to("incoming/a.csv", "PutObject"),
        vec!["all-csv", "put-incoming"]
    );
    assert_eq!(to("incoming/a.txt", "PutObject"), vec!["put-incoming"]);
    assert_eq!(to("a.csv", "CopyObject"), vec!["all-csv", "copies"]);
    assert_eq!(
        to("a.csv.bak", "CompleteMultipartUpload"),
        Vec::<String>::new()
    );
    assert_eq!(
        to("in/x.json", "PutObject"),
        vec!["both"],
        "the wildcard's `*` is literal"
    );
    assert_eq!(
        to("in*/x.json", "PutObject"),
        vec!["rule-fn"],
        "through the rule"
    );
    assert_eq!(to("inX/x.json", "PutObject"), Vec::<String>::new());
    // A hand-broken rule pattern is an error naming the rule's file.
    store
        .put(&localcloud::events::Rule {
            name: "broken".into(),
            pattern: r#"{"source":"aws.s3"}"#.into(),
            target_id: "t".into(),
            target_arn: Some(arn("x")),
            tags: Tags::new(),
        })
        .expect("put rule");
    let err =
        notification_targets(&store, &created("b", "a.csv", "PutObject")).expect_err("broken");
    assert!(err.to_string().contains("broken.json"), "{err}");
}

// ---- EventBridge patterns ------------------------------------------------------
// The matcher's cases are unit tests next to it (localcloud's
// events/pattern/tests.rs); here, what stackctl writes must parse there.

#[test]
fn every_pattern_up_writes_is_a_valid_eventbridge_pattern() {
    let fx = Fixture::new();
    for r in pick(&fx.desired(), |r| match r {
        Resource::Rule(r) => Some(r),
        _ => None,
    }) {
        localcloud::events::EventPattern::parse(&r.pattern).expect("generated patterns are valid");
    }
}
