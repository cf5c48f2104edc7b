//! S3: buckets and their notification documents (records), object
//! versions ([`objects`]), the REST endpoint ([`endpoint`]), and what a
//! write sends ([`notify`]).

mod endpoint;
pub mod notify;
mod objects;

use serde::{Deserialize, Serialize};

use crate::Tags;
use crate::store::Record;

pub use endpoint::{FunctionCredentials, S3Endpoint, decode_aws_chunked, start};
pub use notify::{NoEvents, ObjectCreated, ObjectEvents};
pub use objects::{
    Checksum, DeleteOutcome, IncomingObject, ListedVersion, MAX_FILE_NAME, NULL_VERSION,
    ObjectVersion, md5_hex, sequencer,
};

/// A bucket's configuration, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    pub name: String,
    pub versioning: bool,
    /// All four public-access-block flags on.
    pub public_access_block: bool,
    /// Default encryption algorithm (`AES256`), `None` when unset.
    pub encryption: Option<String>,
    /// The bucket policy (JSON text), `None` when the bucket has none.
    pub policy: Option<String>,
    pub tags: Tags,
}

impl Record for Bucket {
    const KIND: &'static str = "bucket";
    fn record_name(&self) -> String {
        self.name.clone()
    }
}

/// One Lambda configuration of a bucket's notification document.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LambdaConfiguration {
    pub id: String,
    pub function_arn: String,
    pub events: Vec<String>,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
}

/// A bucket's whole notification document (S3 replaces it in one call).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub bucket: String,
    pub lambda: Vec<LambdaConfiguration>,
    pub eventbridge: bool,
}

impl Record for Notification {
    const KIND: &'static str = "notification";
    fn record_name(&self) -> String {
        self.bucket.clone()
    }
}
