//! `stackctl query "SQL" [--format table|csv|json]`: SQL over the stack's
//! catalog, through the target's `Query` (Athena in the stack's workgroup,
//! or the local cloud's engine). A failed query exits 1 with the engine's
//! reason.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::bail;

use super::Session;
use crate::output::{Printer, QueryFormat};
use crate::provider::Cloud;
use crate::provider::query::QueryTarget;
use crate::spec::Target;

pub async fn run(
    session: &Session,
    printer: &Printer,
    sql: &str,
    format: QueryFormat,
) -> anyhow::Result<ExitCode> {
    let Some(catalog) = &session.stack.catalog else {
        bail!(
            "stack {} declares no tables to query: add a `catalog:` section to {} \
             (docs/stack-yaml.md#catalog), then run `stackctl up`",
            session.stack.name,
            session.file.display()
        );
    };
    if sql.trim().is_empty() {
        bail!(
            "the query is empty: pass the SQL as one argument, e.g. stackctl query \"SELECT count(*) FROM carts\""
        );
    }
    let target = QueryTarget {
        database: catalog.database.clone(),
        workgroup: session.stack.workgroup_name(),
    };
    match session.target {
        Target::Aws { .. } => {
            run_on(session, printer, &target, sql, format, session.aws().await?).await
        }
        Target::Local { .. } => {
            run_on(session, printer, &target, sql, format, session.local()?).await
        }
    }
}

async fn run_on<C: Cloud>(
    session: &Session,
    printer: &Printer,
    target: &QueryTarget,
    sql: &str,
    format: QueryFormat,
    cloud: Arc<C>,
) -> anyhow::Result<ExitCode> {
    let result = cloud.query(target, sql).await;
    if session.stats {
        printer.stats(&cloud.stats());
    }
    printer.query(&result?, format);
    Ok(ExitCode::SUCCESS)
}
