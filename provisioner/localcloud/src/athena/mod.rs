//! Athena: workgroups, as stored. Queries run on the tables of a Glue
//! database ([`crate::glue`]).

pub mod query;

use serde::{Deserialize, Serialize};

pub use query::{ENGINE, QueryError};

use crate::Tags;
use crate::store::Record;

/// A workgroup, as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workgroup {
    pub name: String,
    /// `s3://bucket/prefix`: where results go.
    pub output_location: Option<String>,
    /// `SSE_S3`, `SSE_KMS`, `CSE_KMS`, or none.
    pub encryption: Option<String>,
    pub enforce_configuration: bool,
    pub tags: Tags,
}

impl Record for Workgroup {
    const KIND: &'static str = "workgroup";
    fn record_name(&self) -> String {
        self.name.clone()
    }
}

/// A query's result: its columns (name, SQL type) and rows as text
/// (`None`: SQL NULL), and the bytes of the objects read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryOutput {
    pub columns: Vec<(String, String)>,
    pub rows: Vec<Vec<Option<String>>>,
    pub scanned_bytes: u64,
}
