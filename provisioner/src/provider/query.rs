//! Asking the stack's catalog: what `stackctl query` needs from a target.
//! AWS runs the SQL on Athena in the stack's workgroup; the local cloud
//! runs it on its own engine over the same tables.

use std::future::Future;

use serde::Serialize;

use super::Result;

/// Where a query runs: the stack's Glue database and Athena workgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryTarget {
    pub database: String,
    pub workgroup: String,
}

pub trait Query: Send + Sync {
    /// Runs `sql` against the tables of `target.database` and waits for
    /// every row.
    fn query(
        &self,
        target: &QueryTarget,
        sql: &str,
    ) -> impl Future<Output = Result<QueryResult>> + Send;
}

/// A query's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueryResult {
    /// The engine that ran it: `Athena` or the local engine.
    pub engine: String,
    /// Athena's query execution id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_id: Option<String>,
    pub columns: Vec<ResultColumn>,
    /// Each row's values as text; `None` is SQL NULL.
    pub rows: Vec<Vec<Option<String>>>,
    /// Bytes the engine read (Athena bills by them).
    pub scanned_bytes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResultColumn {
    pub name: String,
    /// The SQL type: `varchar`, `bigint`, `decimal(12,2)`...
    #[serde(rename = "type")]
    pub ty: String,
}
