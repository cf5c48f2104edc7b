//! Queries on the local cloud's own engine (localcloud's Athena emulator),
//! over the same Glue tables as on AWS.

use localcloud::athena::{self, ENGINE, QueryError};

use super::*;
use crate::provider::query::{Query, QueryResult, QueryTarget, ResultColumn};

impl Query for LocalCloud {
    async fn query(&self, target: &QueryTarget, sql: &str) -> Result<QueryResult> {
        self.record("StartQueryExecution");
        // As Athena: the workgroup must exist (`stackctl up` makes it).
        if !self
            .store
            .exists(<athena::Workgroup as Record>::KIND, &target.workgroup)
        {
            return Err(ProviderError::Api {
                kind: crate::provider::ErrorKind::NotFound,
                resource: format!("workgroup {}", target.workgroup),
                operation: "StartQueryExecution".into(),
                code: "InvalidRequestException".into(),
                message: format!("WorkGroup {} is not found.", target.workgroup),
                hint: Some("run `stackctl up` first: it creates the stack's catalog".into()),
            });
        }
        let (store, database, sql) = (self.store.clone(), target.database.clone(), sql.to_owned());
        let out = tokio::task::spawn_blocking(move || store.run_query(&database, &sql))
            .await
            .map_err(|e| ProviderError::Other(format!("running a query: {e}")))?
            .map_err(|e| match e {
                QueryError::Store(e) => ProviderError::from(e),
                other => ProviderError::Query {
                    engine: ENGINE.into(),
                    message: with_hint(other.to_string()),
                },
            })?;
        Ok(QueryResult {
            engine: ENGINE.into(),
            query_id: None,
            columns: out
                .columns
                .into_iter()
                .map(|(name, ty)| ResultColumn { name, ty })
                .collect(),
            rows: out.rows,
            scanned_bytes: Some(out.scanned_bytes),
        })
    }
}

/// What polars' SQL lacks is said so, with where to look.
fn with_hint(message: String) -> String {
    let lower = message.to_ascii_lowercase();
    if [
        "unsupported",
        "not supported",
        "not currently supported",
        "not yet supported",
        "does not (yet) support",
        "not implemented",
    ]
    .iter()
    .any(|w| lower.contains(w))
    {
        format!(
            "{message} (the local engine lacks this; docs/querying.md lists the SQL that runs \
             on both targets, and `--target aws` runs it on Athena)"
        )
    } else {
        message
    }
}
