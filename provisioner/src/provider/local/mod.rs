//! The local target: the whole stack in an embedded cloud kept as plain
//! files under the target's directory (`.stackctl/` by default), no AWS
//! account needed.
//!
//! The cloud itself is the `localcloud` crate, a fake AWS that knows
//! nothing of stackctl (as moto knows nothing of boto3's users). This module
//! is the thin adapter that drives it, as `provider/aws` drives the SDK:
//!
//! - [`LocalCloud`]: [`Cloud`] and every [`ResourceProvider`] over the
//!   local cloud's store, so the same planner and engine run `diff`, `up`
//!   and `down` here as on AWS; a setting edited by hand in a stored JSON
//!   file is drift. Each call checks what the AWS API would (an existing
//!   resource of someone else, a role that does not exist, a notification
//!   whose function does not allow S3).
//! - one file per kind: its [`ResourceProvider`] and its conversion to and
//!   from the local cloud's record ([`Stored`]), field for field (the
//!   records were the model's own JSON before the local cloud became a
//!   crate, so a directory written by an older stackctl reads the same).
//! - [`lock`]: the run lock as a file with compare-and-swap.

mod bucket;
mod database;
mod function;
mod functions;
mod log_group;
mod notification;
mod permission;
mod query;
mod role;
mod rule;
mod table;
mod workgroup;
pub use functions::Serving;
pub mod lock;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use localcloud::store::Record;
use localcloud::{events, iam, lambda, s3};

use crate::model::*;
use crate::provider::{
    ApiStats, BucketData, CallCounter, Cloud, ProviderError, ResourceProvider, Result,
    bucket_not_empty,
};

/// The local cloud's one region.
pub const LOCAL_REGION: &str = localcloud::REGION;
pub use localcloud::{Store as LocalStore, StoreError};

/// The account id of the local cloud.
pub const LOCAL_ACCOUNT: &str = localcloud::ACCOUNT;

impl From<StoreError> for ProviderError {
    fn from(e: StoreError) -> Self {
        ProviderError::Other(e.to_string())
    }
}

fn api(resource: String, operation: &str, code: &str, message: impl Into<String>) -> ProviderError {
    ProviderError::api(resource, operation, code, message)
}

/// The local implementation of [`Cloud`].
#[derive(Debug)]
pub struct LocalCloud {
    store: Arc<LocalStore>,
    counter: CallCounter,
}

impl LocalCloud {
    /// The local cloud kept in `dir` (created when missing).
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self> {
        Ok(Self::new(Arc::new(LocalStore::open(dir)?)))
    }

    /// Over an open store (shared with the S3 endpoint and the runtime).
    pub fn new(store: Arc<LocalStore>) -> Self {
        Self {
            store,
            counter: CallCounter::default(),
        }
    }

    pub fn store(&self) -> &Arc<LocalStore> {
        &self.store
    }

    pub fn context_now() -> Context {
        Context {
            account: LOCAL_ACCOUNT.to_owned(),
            region: LOCAL_REGION.to_owned(),
        }
    }

    fn record(&self, op: &str) {
        self.counter.record(op);
    }

    fn get<R: Stored>(&self, name: &str) -> Result<Option<R>> {
        Ok(self.store.get::<R::Record>(name)?.map(R::from_record))
    }

    fn put<R: Stored>(&self, r: &R) -> Result<()> {
        Ok(self.store.put(&r.to_record())?)
    }

    fn remove<R: Stored>(&self, name: &str) -> Result<()> {
        self.store.remove::<R::Record>(name)?;
        Ok(())
    }

    /// Creating over an existing resource: ours (same owner tag) is
    /// replaced, anyone else's is a conflict, as `BucketAlreadyOwnedByYou`
    /// and `EntityAlreadyExists` are on AWS.
    fn check_not_foreign<R: Stored>(
        &self,
        name: &str,
        desired_tags: &Tags,
        what: &str,
        tags_of: fn(&R) -> &Tags,
    ) -> Result<()> {
        if let Some(live) = self.get::<R>(name)? {
            let want = desired_tags.get(OWNER_TAG);
            if want.is_none() || tags_of(&live).get(OWNER_TAG) != want {
                return Err(ProviderError::Conflict {
                    resource: format!("{what} {name}"),
                    message: format!(
                        "it already exists in the local cloud without the tag {OWNER_TAG}={}; \
                         it is not changed (delete {}, or take it over with --adopt)",
                        want.map_or("?", String::as_str),
                        self.store.resource_path(R::Record::KIND, name).display()
                    ),
                });
            }
        }
        Ok(())
    }

    fn list_owned_of<R: Stored>(
        &self,
        stack: &str,
        known: &BTreeSet<String>,
        tags_of: fn(&R) -> &Tags,
    ) -> Result<Vec<R>> {
        Ok(self
            .store
            .list::<R::Record>()?
            .into_iter()
            .filter(|r| !known.contains(&r.record_name()))
            .map(R::from_record)
            .filter(|r| tags_of(r).get(OWNER_TAG).is_some_and(|s| s == stack))
            .collect())
    }

    /// The role a function's `role_arn` names must exist (Lambda: "The role
    /// defined for the function cannot be assumed by Lambda").
    fn check_role(&self, f: &Function, operation: &str) -> Result<()> {
        let role = f.role_arn.rsplit('/').next().unwrap_or_default();
        let account_ok = f
            .role_arn
            .strip_prefix("arn:aws:iam::")
            .is_some_and(|r| r.starts_with(&format!("{LOCAL_ACCOUNT}:role/")));
        if !account_ok || !self.store.exists(iam::Role::KIND, role) {
            return Err(api(
                format!("function {}", f.name),
                operation,
                "InvalidParameterValueException",
                format!(
                    "The role defined for the function cannot be assumed by Lambda ({} does not \
                     exist in the local cloud)",
                    f.role_arn
                ),
            ));
        }
        Ok(())
    }

    /// Copies the function's package in (off the async threads); returns
    /// its CodeSha256.
    async fn install_package(&self, f: &Function, operation: &str) -> Result<String> {
        let Some(zip) = f.package.clone() else {
            return Err(api(
                format!("function {}", f.name),
                operation,
                "InvalidParameterValueException",
                "no package to deploy: `stackctl up` builds the function's package first",
            ));
        };
        let (store, name) = (self.store.clone(), f.name.clone());
        tokio::task::spawn_blocking(move || store.install_package(&name, &zip))
            .await
            .map_err(|e| ProviderError::Other(format!("installing a package: {e}")))?
            .map_err(ProviderError::from)
    }
}

impl Cloud for LocalCloud {
    type Lock = lock::LocalLock;

    async fn lock_store(&self, stack: &str) -> Result<lock::LocalLock> {
        Ok(lock::LocalLock::new(self.store.root(), stack))
    }

    async fn context(&self) -> Result<Context> {
        Ok(Self::context_now())
    }

    fn stats(&self) -> ApiStats {
        self.counter.snapshot()
    }
}

/// A model kind the local cloud keeps as one record.
pub(crate) trait Stored: Sized {
    type Record: Record;
    fn to_record(&self) -> Self::Record;
    fn from_record(r: Self::Record) -> Self;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The constants stackctl's spec knows the local cloud by are the
    /// local cloud's own.
    #[test]
    fn the_spec_and_the_local_cloud_agree() {
        assert_eq!(crate::spec::LOCAL_REGION, localcloud::REGION);
        assert_eq!(crate::spec::S3_EVENT_TYPES, s3::notify::EVENT_TYPES);
        assert_eq!(crate::package::BOOTSTRAP, lambda::BOOTSTRAP);
        let zip = b"PK\x05\x06 any bytes";
        assert_eq!(crate::package::code_sha256(zip), lambda::code_sha256(zip));
    }
}
