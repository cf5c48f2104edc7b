//! `stackctl demo`: the quick start in one command. On the local target:
//! `up`, then `invoke generator` (1,000 seeded rows) and its cascade, then
//! where the outputs are, one query over the catalog, and how to ask more.

use std::fmt;
use std::process::ExitCode;

use anyhow::bail;
use serde::Serialize;

use super::Session;
use crate::output::{Printer, QueryTable};
use crate::provider::functions::{CascadeReport, Invocation};
use crate::provider::query::{Query, QueryResult, QueryTarget};
use crate::spec::Target;

#[derive(Debug, Serialize)]
pub struct DemoReport {
    pub cascade: CascadeReport,
    /// `s3://bucket/key` → the file holding its latest version.
    pub outputs: Vec<(String, String)>,
    pub preview: Vec<String>,
    /// The demo's query over the catalog and its answer, when the stack
    /// declares the tables it reads.
    pub query: Option<(String, QueryResult)>,
}

/// The demo's question: the top five products by abandoned value.
pub const DEMO_QUERY: &str = "SELECT product_id, product_name, abandoned_carts, total_value \
     FROM product_aggregates ORDER BY total_value DESC, product_id LIMIT 5";

impl fmt::Display for DemoReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.cascade)?;
        writeln!(
            f,
            "\nOutputs (the latest version of each object, as a plain file):"
        )?;
        for (object, path) in &self.outputs {
            writeln!(f, "  {object}\n    {path}")?;
        }
        match &self.query {
            Some((sql, result)) => {
                writeln!(
                    f,
                    "\nTop products by abandoned value:\n  stackctl query \"{sql}\"\n"
                )?;
                write!(f, "{}", QueryTable(result))?;
                writeln!(
                    f,
                    "\n\nAsk your own (tables: carts, product_aggregates, promotions), e.g.\n  \
                     stackctl query \"SELECT customer_id, product_id, abandoned_value FROM promotions \
                     WHERE rank = 1 ORDER BY abandoned_value DESC LIMIT 10\""
                )?;
            }
            None => {
                writeln!(f, "\nTop products by abandoned value:")?;
                for line in &self.preview {
                    writeln!(f, "  {line}")?;
                }
            }
        }
        writeln!(
            f,
            "\nRead them with any CSV tool (e.g. `column -s, -t < FILE`), or through S3:\n  \
             stackctl serve            # prints the endpoint, then e.g.\n  \
             aws --endpoint-url http://127.0.0.1:PORT s3 cp s3://BUCKET/promotions/promotion_data.csv -\n\
             Logs: stackctl logs processor. Clean up (the buckets now hold data): stackctl down --yes --delete-data."
        )
    }
}

pub async fn run(session: &Session, printer: &Printer) -> anyhow::Result<ExitCode> {
    if !matches!(session.target, Target::Local { .. }) {
        bail!("`demo` runs on a local target; drop --target or pick a `provider: local` one");
    }
    super::up::run(session, printer, super::up::Flags::default(), None).await?;
    let generator = session
        .stack
        .functions
        .keys()
        .find(|id| id.as_str() == "generator")
        .ok_or_else(|| anyhow::anyhow!("the stack has no `generator` function"))?;
    let cloud = session.local()?;
    let invocation = super::invoke::run_on(
        session,
        printer,
        &session.stack.function_name(generator),
        br#"{"rows": 1000, "seed": 42}"#.to_vec(),
        cloud.clone(),
    )
    .await?;
    let Invocation::Cascade(cascade) = invocation else {
        bail!("the local cloud answered an invoke without its cascade");
    };
    let mut outputs = Vec::new();
    let mut preview = Vec::new();
    for r in &cascade.invocations {
        for object in &r.objects_written {
            let Some((bucket, key)) = object.trim_start_matches("s3://").split_once('/') else {
                continue;
            };
            if let Some(path) = cloud.object_file(bucket, key) {
                if key.ends_with("cart_aggregated_data.csv")
                    && let Ok(text) = std::fs::read_to_string(&path)
                {
                    preview = text.lines().take(6).map(str::to_owned).collect();
                }
                outputs.push((object.clone(), path.display().to_string()));
            }
        }
    }
    let failed = cascade.failed;
    let reads_aggregates = session
        .stack
        .catalog
        .as_ref()
        .filter(|c| c.table("product_aggregates").is_some());
    let query = match reads_aggregates {
        Some(catalog) if failed == 0 => {
            let target = QueryTarget {
                database: catalog.database.clone(),
                workgroup: session.stack.workgroup_name(),
            };
            Some((
                DEMO_QUERY.to_owned(),
                cloud.query(&target, DEMO_QUERY).await?,
            ))
        }
        _ => None,
    };
    printer.result(&DemoReport {
        cascade,
        outputs,
        preview,
        query,
    });
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
