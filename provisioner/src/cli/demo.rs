//! `stackctl demo`: the quick start in one command. On the local target:
//! `up`, then `invoke generator` (1,000 seeded rows) and its cascade, then
//! where the outputs are and how to read them.

use std::fmt;
use std::process::ExitCode;

use anyhow::bail;
use serde::Serialize;

use super::Session;
use crate::output::Printer;
use crate::provider::functions::{CascadeReport, Invocation};
use crate::spec::Target;

#[derive(Debug, Serialize)]
pub struct DemoReport {
    pub cascade: CascadeReport,
    /// `s3://bucket/key` → the file holding its latest version.
    pub outputs: Vec<(String, String)>,
    pub preview: Vec<String>,
}

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
        writeln!(f, "\nTop products by abandoned value:")?;
        for line in &self.preview {
            writeln!(f, "  {line}")?;
        }
        writeln!(
            f,
            "\nRead them with any CSV tool (e.g. `column -s, -t < FILE`), or through S3:\n  \
             stackctl serve            # prints the endpoint, then e.g.\n  \
             aws --endpoint-url http://127.0.0.1:PORT s3 cp s3://BUCKET/promotion_data.csv -\n\
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
    printer.result(&DemoReport {
        cascade,
        outputs,
        preview,
    });
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
