//! `stackctl invoke <function>`: a synchronous invoke that prints the
//! response and the log tail; non-zero exit when the function failed.

use std::fmt;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{InvocationType, LogType};
use base64::Engine as _;
use serde::Serialize;

use super::Session;
use crate::output::Printer;
use crate::spec::Target;
use localcloud::running::{InvocationRecord, RunningCloud};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InvokeReport {
    pub function: String,
    pub status_code: i32,
    /// Lambda's `FunctionError` (`Unhandled`), when the function failed.
    pub function_error: Option<String>,
    /// The response payload: JSON when it parses, text otherwise.
    pub response: serde_json::Value,
    pub log_tail: Option<String>,
}

impl InvokeReport {
    pub fn failed(&self) -> bool {
        self.function_error.is_some() || !(200..300).contains(&self.status_code)
    }
}

impl fmt::Display for InvokeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = match &self.function_error {
            Some(e) => format!("FAILED ({e})"),
            None => "ok".to_owned(),
        };
        writeln!(f, "{}: {status}", self.function)?;
        writeln!(
            f,
            "{}",
            serde_json::to_string_pretty(&self.response).unwrap_or_default()
        )?;
        if let Some(logs) = &self.log_tail {
            writeln!(f, "--- log tail ---")?;
            write!(f, "{logs}")?;
            if !logs.ends_with('\n') {
                writeln!(f)?;
            }
        }
        Ok(())
    }
}

/// Reads the payload from `--payload` or `--payload-file`, checking it is
/// JSON (Lambda would refuse it later with a vaguer message).
pub fn payload(inline: Option<&str>, file: Option<&Path>) -> anyhow::Result<Vec<u8>> {
    let (text, origin) = match (inline, file) {
        (Some(t), _) => (t.to_owned(), "--payload".to_owned()),
        (None, Some(path)) => (
            std::fs::read_to_string(path)
                .with_context(|| format!("reading --payload-file {}", path.display()))?,
            path.display().to_string(),
        ),
        (None, None) => ("{}".to_owned(), "default".to_owned()),
    };
    if let Err(e) = serde_json::from_str::<serde_json::Value>(&text) {
        bail!(
            "{origin}: the payload is not JSON: {e} (line {}, column {})",
            e.line(),
            e.column()
        );
    }
    Ok(text.into_bytes())
}

/// One synchronous invoke with the log tail.
pub async fn invoke_aws(
    client: &aws_sdk_lambda::Client,
    function_name: &str,
    payload: Vec<u8>,
) -> anyhow::Result<InvokeReport> {
    let out = client
        .invoke()
        .function_name(function_name)
        .invocation_type(InvocationType::RequestResponse)
        .log_type(LogType::Tail)
        .payload(Blob::new(payload))
        .send()
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "invoking {function_name}: {}",
                aws_sdk_lambda::error::DisplayErrorContext(&e)
            )
        })?;
    let body = out.payload.map(Blob::into_inner).unwrap_or_default();
    let response = serde_json::from_slice(&body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&body).into_owned()));
    let log_tail = out.log_result.and_then(|b64| {
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .ok()
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
    });
    Ok(InvokeReport {
        function: function_name.to_owned(),
        status_code: out.status_code,
        function_error: out.function_error,
        response,
        log_tail,
    })
}

/// What a local invoke ran: the invocation asked for, and every one it set
/// off through S3 notifications and EventBridge rules.
#[derive(Debug, Clone, Serialize)]
pub struct CascadeReport {
    pub invocations: Vec<InvocationRecord>,
    pub failed: usize,
}

impl fmt::Display for CascadeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for r in &self.invocations {
            writeln!(
                f,
                "{:<24} {:<40} {:<13} {:>9.1} ms{}",
                r.function,
                r.trigger,
                r.status,
                r.duration_ms,
                r.init_duration_ms
                    .map_or_else(String::new, |i| format!(" (cold start {i:.1} ms)"))
            )?;
            for o in &r.objects_written {
                writeln!(f, "    wrote {o}")?;
            }
            if let Some(e) = &r.error {
                writeln!(f, "    error: {e}")?;
                writeln!(f, "    log ({} {}):", r.log_group, r.log_stream)?;
                for line in &r.logs {
                    writeln!(f, "      {line}")?;
                }
            }
        }
        if self.failed == 0 {
            writeln!(f, "{} invocations, all succeeded.", self.invocations.len())
        } else {
            writeln!(
                f,
                "{} invocations, {} failed.",
                self.invocations.len(),
                self.failed
            )
        }
    }
}

/// Invokes a function of the local cloud and waits for the whole cascade.
pub async fn run_local(
    session: &Session,
    printer: &Printer,
    function_name: &str,
    payload: Vec<u8>,
) -> anyhow::Result<CascadeReport> {
    let cloud = session.local()?;
    let _lock = cloud
        .store()
        .lock()
        .context("another stackctl owns the local cloud")?;
    let services =
        RunningCloud::start(cloud.store().clone(), 0, super::serve::problems_to(printer)).await?;
    services
        .invoke(function_name, payload, "direct".into())
        .await;
    services.wait_idle().await;
    let invocations = services.records();
    services.shutdown().await;
    let failed = invocations.iter().filter(|r| !r.succeeded()).count();
    Ok(CascadeReport {
        invocations,
        failed,
    })
}

pub async fn run(
    session: &Session,
    printer: &Printer,
    function: &str,
    inline: Option<&str>,
    file: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    if !session.stack.functions.contains_key(function) {
        let known: Vec<&str> = session.stack.functions.keys().map(String::as_str).collect();
        bail!(
            "no function `{function}` in stack {}; known: {}",
            session.stack.name,
            known.join(", ")
        );
    }
    let payload = payload(inline, file)?;
    let function_name = session.stack.function_name(function);
    if matches!(session.target, Target::Local { .. }) {
        let report = run_local(session, printer, &function_name, payload).await?;
        printer.result(&report);
        return Ok(if report.failed > 0 {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        });
    }
    let cloud = session.aws().await?;
    let report = invoke_aws(&cloud.clients().lambda, &function_name, payload).await?;
    printer.result(&report);
    if session.stats {
        printer.stats(&crate::provider::Cloud::stats(&*cloud));
    }
    Ok(if report.failed() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
