//! Providers: one narrow trait per resource kind ([`ResourceProvider<R>`]
//! instantiated for each model type), implemented once per target. The
//! planner and the apply engine never see an SDK type.

pub mod aws;
mod error;
pub mod functions;
pub mod local;
pub mod query;

pub use error::{ErrorKind, ProviderError};

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Mutex;

use serde::Serialize;

use crate::model::*;

pub type Result<T, E = ProviderError> = std::result::Result<T, E>;

/// Read, create, update and delete one kind of resource.
///
/// Contract: `read` returns `None` for an absent resource (not an error);
/// `create`/`update` leave the resource equal to `desired` in every field
/// the model compares; `delete` of an absent resource succeeds. `update`
/// is told which fields differ; how each is applied is the kind's
/// ([`Field::update`]), the same on every target.
pub trait ResourceProvider<R: ResourceKind>: Send + Sync {
    fn read(&self, name: &str) -> impl Future<Output = Result<Option<R>>> + Send;
    fn create(&self, desired: &R) -> impl Future<Output = Result<()>> + Send;
    fn update(
        &self,
        live: &R,
        desired: &R,
        changes: &Changes<R::Field>,
    ) -> impl Future<Output = Result<()>> + Send;
    fn delete(&self, live: &R) -> impl Future<Output = Result<()>> + Send;
    /// Resources of this kind tagged as owned by `stack`, other than those
    /// named in `known` (already read). Untagged kinds return none: they go
    /// with their parent.
    fn list_owned(
        &self,
        stack: &str,
        known: &BTreeSet<String>,
    ) -> impl Future<Output = Result<Vec<R>>> + Send;
}

/// What a bucket holds, and the one call that destroys it.
///
/// `ResourceProvider<Bucket>::delete` deletes only an empty bucket (a
/// bucket holding anything is an error naming `--delete-data`); emptying
/// is this separate, explicitly asked-for call.
pub trait BucketData: Send + Sync {
    /// Every object version and delete marker, counted (absent bucket:
    /// empty).
    fn contents(&self, bucket: &str) -> impl Future<Output = Result<BucketContents>> + Send;
    /// Deletes every object version and delete marker, then the bucket.
    fn delete_with_data(&self, live: &Bucket) -> impl Future<Output = Result<()>> + Send;
}

/// The error of a plain bucket delete that found the bucket not empty.
pub fn bucket_not_empty(bucket: &str) -> ProviderError {
    ProviderError::Conflict {
        resource: format!("bucket {bucket}"),
        message: "the bucket is not empty (an object was written after the plan was made); \
                  nothing in it was deleted. Run `stackctl diff` to see what it holds, then \
                  pass --delete-data to delete it with its data, or mark it `retain: true`"
            .into(),
    }
}

macro_rules! declare_cloud {
    (() $($Kind:ident = $name:literal,)+) => {
        /// A target: a provider for every resource kind (the model's
        /// `with_kinds!` list), bucket data, its functions and logs, plus
        /// what names and ARNs are built from.
        pub trait Cloud:
            $(ResourceProvider<$Kind> +)+
            BucketData + functions::Functions + query::Query + Send + Sync + 'static
        {
            /// The target's run lock store.
            type Lock: LockStore;
            /// The lock of `stack` on this target.
            fn lock_store(&self, stack: &str) -> impl Future<Output = Result<Self::Lock>> + Send;
            /// Account and region of the target.
            fn context(&self) -> impl Future<Output = Result<Context>> + Send;
            /// API calls made so far.
            fn stats(&self) -> ApiStats;
        }
    };
}
crate::with_kinds!([declare_cloud]);

/// Where a target keeps a stack's run lock (the protocol is `crate::lock`'s).
/// A compare-and-swap store of one lock record. `Etag`s are opaque.
pub trait LockStore: Send + Sync + 'static {
    /// Where the record lives, for messages.
    fn location(&self) -> String;
    /// The record and its ETag; `None` when there is none.
    fn read(&self)
    -> impl Future<Output = Result<Option<(Vec<u8>, String)>, ProviderError>> + Send;
    /// Writes only if there is no record: the new ETag, or `None`.
    fn create(
        &self,
        body: &[u8],
    ) -> impl Future<Output = Result<Option<String>, ProviderError>> + Send;
    /// Writes only if the record still has `etag`: the new ETag, or `None`.
    fn replace(
        &self,
        etag: &str,
        body: &[u8],
    ) -> impl Future<Output = Result<Option<String>, ProviderError>> + Send;
    /// Deletes only if the record still has `etag`; false when it moved.
    fn delete(&self, etag: &str) -> impl Future<Output = Result<bool, ProviderError>> + Send;
}

/// API calls by operation, read-only and mutating counted apart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ApiStats {
    pub read: BTreeMap<String, u64>,
    pub mutating: BTreeMap<String, u64>,
}

impl ApiStats {
    pub fn reads(&self) -> u64 {
        self.read.values().sum()
    }

    pub fn mutations(&self) -> u64 {
        self.mutating.values().sum()
    }

    /// Reads are the operations that only look: Get*, List*, Describe*,
    /// Head*, Filter* (CloudWatch Logs' FilterLogEvents).
    pub fn is_read(operation: &str) -> bool {
        ["Get", "List", "Describe", "Head", "Filter"]
            .iter()
            .any(|p| operation.starts_with(p))
    }
}

/// A thread-safe call counter providers share.
#[derive(Debug, Default)]
pub struct CallCounter(Mutex<ApiStats>);

impl CallCounter {
    pub fn record(&self, operation: &str) {
        let mut s = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let map = if ApiStats::is_read(operation) {
            &mut s.read
        } else {
            &mut s.mutating
        };
        *map.entry(operation.to_owned()).or_default() += 1;
    }

    pub fn snapshot(&self) -> ApiStats {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
