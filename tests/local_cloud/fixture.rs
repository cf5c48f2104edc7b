//! A fresh local cloud with the repo's stack.yaml and tiny packages.

#![allow(dead_code, unused_imports)]

pub use std::collections::{BTreeMap, BTreeSet};
pub use std::sync::{Arc, Mutex};

pub use aws_sdk_s3::error::ProvideErrorMetadata as _;
pub use aws_sdk_s3::primitives::ByteStream;
pub use serde_json::{Value, json};

pub use crate::cli::repo_root;
pub use crate::packages::{repo_stack, tiny_packages};
pub use localcloud::StoreError;
pub use localcloud::events::eventbridge_event;
pub use localcloud::logs::LogEvent;
pub use localcloud::routing::{Delivery, DeliveryVia, notification_targets};
pub use localcloud::s3::notify::{decode_event_key, s3_event};
pub use localcloud::s3::{self as local_s3, ObjectCreated, ObjectEvents, md5_hex};
pub use stackctl::apply::{NoProgress, apply, read_live};
pub use stackctl::desired::{PackageRef, desired, object_created_pattern};
pub use stackctl::model::*;
pub use stackctl::plan::{Action, Options, Plan, diff_fields, plan_down, plan_up};
pub use stackctl::provider::local::{LOCAL_ACCOUNT, LocalCloud, LocalStore};
pub use stackctl::provider::{Cloud, ResourceProvider};
pub use stackctl::spec::Stack;

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub cloud: Arc<LocalCloud>,
    pub spec: Stack,
    pub ctx: Context,
    pub packages: BTreeMap<String, PackageRef>,
    pub _zips: tempfile::TempDir,
}

impl Fixture {
    /// The repo's stack.yaml, in a fresh local cloud, with tiny packages.
    pub fn new() -> Fixture {
        let spec = repo_stack("cartpipe");
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

    pub fn store(&self) -> &LocalStore {
        self.cloud.store()
    }

    pub fn desired(&self) -> Vec<Resource> {
        desired(&self.spec, &self.ctx, &self.packages)
    }

    pub fn bucket(&self, id: &str) -> String {
        self.spec
            .bucket_name(id, &self.ctx.account, &self.ctx.region)
    }

    pub async fn plan(&self) -> Plan {
        let desired = self.desired();
        let live = read_live(self.cloud.clone(), &self.spec.name, &desired)
            .await
            .expect("read live");
        plan_up(&self.spec.name, &desired, &live, Options::default())
    }

    pub async fn up(&self) -> Plan {
        let plan = self.plan().await;
        assert!(plan.conflicts.is_empty(), "conflicts: {:?}", plan.conflicts);
        let report = apply(self.cloud.clone(), &plan, Arc::new(NoProgress)).await;
        let failed: Vec<_> = report.failed().collect();
        assert!(failed.is_empty(), "apply failed: {failed:#?}");
        plan
    }

    /// Writes `r` into the store as its JSON file, as a hand edit (or an
    /// older stackctl) would: the model's JSON is the stored record's.
    pub fn put_model(&self, r: &Resource) {
        let mut v = serde_json::to_value(r).expect("JSON");
        v.as_object_mut().expect("object").remove("kind");
        let path = self.store().resource_path(r.kind().as_str(), &r.name());
        std::fs::create_dir_all(path.parent().expect("dir")).expect("mkdir");
        std::fs::write(&path, serde_json::to_string_pretty(&v).expect("JSON")).expect("write");
    }

    pub fn edit_json(&self, kind: Kind, name: &str, edit: impl FnOnce(&mut Value)) {
        let path = self.store().resource_path(kind.as_str(), name);
        let mut v: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).expect("stored file"))
                .expect("JSON");
        edit(&mut v);
        std::fs::write(&path, serde_json::to_string_pretty(&v).expect("JSON")).expect("write");
    }
}

pub fn changed_fields(plan: &Plan) -> Vec<(String, String)> {
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
