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
        let path = self
            .cloud
            .store()
            .resource_path(drifted.kind().as_str(), &drifted.name());
        std::fs::write(&path, serde_json::to_string_pretty(&v).expect("JSON"))
            .unwrap_or_else(|e| panic!("edit {}: {e}", path.display()));
    }
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
