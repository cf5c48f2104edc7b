//! The contract on the local target: a fresh local cloud per test.

use std::sync::Arc;

use stackctl::desired::desired;
use stackctl::model::*;
use stackctl::provider::local::LocalCloud;

use super::suite::{Aux, Case, Target, contract};
use crate::packages;

pub struct Local {
    cloud: Arc<LocalCloud>,
    stack: String,
    desired: Vec<Resource>,
    aux: Aux,
    _dir: tempfile::TempDir,
}

impl Local {
    pub fn new() -> Local {
        let spec = packages::repo_stack("cartpipe");
        let dir = tempfile::tempdir().expect("tempdir");
        let cloud =
            Arc::new(LocalCloud::open(dir.path().join(".stackctl")).expect("open the store"));
        let ctx = LocalCloud::context_now();
        let packages = packages::tiny_packages(&spec, dir.path());
        let desired = desired(&spec, &ctx, &packages);
        let aux = Aux::new(&ctx.account, &desired, dir.path());
        Local {
            cloud,
            stack: spec.name,
            desired,
            aux,
            _dir: dir,
        }
    }
}

impl Target for Local {
    type Cloud = LocalCloud;

    fn cloud(&self) -> &LocalCloud {
        &self.cloud
    }

    fn stack(&self) -> &str {
        &self.stack
    }

    fn desired(&self) -> &[Resource] {
        &self.desired
    }

    fn aux(&self) -> &Aux {
        &self.aux
    }

    /// A hand edit: the stored JSON rewritten (the record's JSON is the
    /// model's, field for field).
    async fn drift(&self, _live: &Resource, drifted: &Resource) {
        let mut v = serde_json::to_value(drifted).expect("JSON");
        v.as_object_mut().expect("object").remove("kind");
        if let Resource::Table(_) = drifted {
            v = glue_record(v);
        }
        let path = self
            .cloud
            .store()
            .resource_path(drifted.kind().as_str(), &drifted.name());
        std::fs::write(&path, serde_json::to_string_pretty(&v).expect("JSON"))
            .unwrap_or_else(|e| panic!("edit {}: {e}", path.display()));
    }
}

/// A table as the local Glue stores it: the format's fields at the top,
/// the owner mark among the table parameters (Glue tables have no tags).
fn glue_record(mut v: serde_json::Value) -> serde_json::Value {
    let o = v.as_object_mut().expect("object");
    let serde_json::Value::Object(format) = o.remove("format").expect("format") else {
        panic!("format is an object");
    };
    let tags = o.remove("tags").expect("tags");
    for (k, x) in format {
        o.insert(k, x);
    }
    let params = o["parameters"].as_object_mut().expect("parameters");
    for (k, x) in tags.as_object().expect("tags") {
        params.insert(k.clone(), x.clone());
    }
    v
}

async fn run<R: Case>()
where
    LocalCloud: stackctl::provider::ResourceProvider<R>,
{
    contract::<Local, R>(&Local::new()).await;
}

#[tokio::test]
async fn bucket() {
    run::<Bucket>().await;
}

#[tokio::test]
async fn role() {
    run::<Role>().await;
}

#[tokio::test]
async fn log_group() {
    run::<LogGroup>().await;
}

#[tokio::test]
async fn function() {
    run::<Function>().await;
}

#[tokio::test]
async fn rule() {
    run::<Rule>().await;
}

#[tokio::test]
async fn permission() {
    run::<Permission>().await;
}

#[tokio::test]
async fn notification() {
    run::<Notification>().await;
}

#[tokio::test]
async fn database() {
    run::<Database>().await;
}

#[tokio::test]
async fn table() {
    run::<Table>().await;
}

#[tokio::test]
async fn workgroup() {
    run::<Workgroup>().await;
}
