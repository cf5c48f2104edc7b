//! Queries on Athena, in the stack's workgroup: StartQueryExecution, then
//! GetQueryExecution with backoff until the query ends, then every page of
//! GetQueryResults.

use aws_sdk_athena::types::{QueryExecutionContext, QueryExecutionState, StatementType};

use super::{AwsCloud, Service, api_error, not_ready};
use crate::provider::query::{Query, QueryResult, QueryTarget, ResultColumn};
use crate::provider::{ProviderError, Result};

/// The engine, as errors and results name it.
pub const ATHENA: &str = "Athena";

impl Query for AwsCloud {
    async fn query(&self, target: &QueryTarget, sql: &str) -> Result<QueryResult> {
        let resource = format!("workgroup {}", target.workgroup);
        let started = self
            .athena
            .start_query_execution()
            .query_string(sql)
            .work_group(&target.workgroup)
            .query_execution_context(
                QueryExecutionContext::builder()
                    .database(&target.database)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| api_error(Service::Athena, "StartQueryExecution", &resource, e))?;
        let id = started
            .query_execution_id()
            .ok_or_else(|| ProviderError::Other("StartQueryExecution returned no id".into()))?
            .to_owned();

        // Queued and running are "not yet": the backoff waits them out.
        let execution = self
            .options
            .query_wait
            .run(
                || async {
                    let out = self
                        .athena
                        .get_query_execution()
                        .query_execution_id(&id)
                        .send()
                        .await
                        .map_err(|e| {
                            api_error(Service::Athena, "GetQueryExecution", &resource, e)
                        })?;
                    let execution = out.query_execution().cloned().ok_or_else(|| {
                        ProviderError::Other(format!("GetQueryExecution of {id} returned nothing"))
                    })?;
                    match execution.status().and_then(|s| s.state()) {
                        Some(
                            QueryExecutionState::Succeeded
                            | QueryExecutionState::Failed
                            | QueryExecutionState::Cancelled,
                        ) => Ok(execution),
                        state => Err(not_ready(
                            format!("query {id}"),
                            format!(
                                "still {}",
                                state.map_or("starting", |s| s.as_str()).to_lowercase()
                            ),
                        )),
                    }
                },
                super::is_not_ready,
            )
            .await?;
        let status = execution.status();
        match status.and_then(|s| s.state()) {
            Some(QueryExecutionState::Succeeded) => {}
            state => {
                let reason = status
                    .and_then(|s| s.state_change_reason())
                    .or_else(|| {
                        status
                            .and_then(|s| s.athena_error())
                            .and_then(|e| e.error_message())
                    })
                    .unwrap_or("no reason given");
                let state = state.map_or("ended", |s| s.as_str());
                return Err(ProviderError::Query {
                    engine: ATHENA.into(),
                    message: format!("query {id} {}: {reason}", state.to_lowercase()),
                });
            }
        }

        let mut columns: Vec<ResultColumn> = Vec::new();
        let mut rows = Vec::new();
        let mut pages = self
            .athena
            .get_query_results()
            .query_execution_id(&id)
            .into_paginator()
            .send();
        let mut first_page = true;
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| api_error(Service::Athena, "GetQueryResults", &resource, e))?;
            let Some(set) = page.result_set() else {
                continue;
            };
            if first_page && let Some(meta) = set.result_set_metadata() {
                columns = meta
                    .column_info()
                    .iter()
                    .map(|c| ResultColumn {
                        name: c.name().to_owned(),
                        ty: match c.r#type() {
                            "decimal" => format!("decimal({},{})", c.precision(), c.scale()),
                            other => other.to_owned(),
                        },
                    })
                    .collect();
            }
            let mut page_rows: Vec<Vec<Option<String>>> = set
                .rows()
                .iter()
                .map(|r| {
                    r.data()
                        .iter()
                        .map(|d| d.var_char_value().map(str::to_owned))
                        .collect()
                })
                .collect();
            // A SELECT's first row is its header: Athena returns the column
            // names as data before the rows.
            if first_page
                && execution.statement_type() == Some(&StatementType::Dml)
                && page_rows.first().is_some_and(|row| {
                    row.len() == columns.len()
                        && row
                            .iter()
                            .zip(&columns)
                            .all(|(v, c)| v.as_deref() == Some(c.name.as_str()))
                })
            {
                page_rows.remove(0);
            }
            rows.extend(page_rows);
            first_page = false;
        }
        Ok(QueryResult {
            engine: ATHENA.into(),
            query_id: Some(id),
            columns,
            rows,
            scanned_bytes: execution
                .statistics()
                .and_then(|s| s.data_scanned_in_bytes())
                .and_then(|b| u64::try_from(b).ok()),
        })
    }
}
