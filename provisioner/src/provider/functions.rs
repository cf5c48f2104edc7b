//! Running a stack's functions and reading their logs: what `invoke` and
//! `logs` need from a target, so both verbs are generic over it.
//!
//! The targets answer an invoke differently, as they are: AWS runs the one
//! synchronous invocation and returns its log tail (the cascade it starts
//! runs on in AWS); the local cloud runs the whole cascade the invocation
//! sets off and reports every invocation in it.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use serde::Serialize;

use super::Result;

/// Told of what goes wrong beside the answer (a write the local cloud
/// cannot route, logs it cannot store), for the operator to see.
pub type Notes = Arc<dyn Fn(String) + Send + Sync>;

/// One log event of a group.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LogEvent {
    pub timestamp_ms: u64,
    pub stream: String,
    pub message: String,
}

pub trait Functions: Send + Sync {
    /// Invokes `function` with `payload` and waits for the outcome.
    fn invoke(
        &self,
        function: &str,
        payload: Vec<u8>,
        notes: Notes,
    ) -> impl Future<Output = Result<Invocation>> + Send;

    /// The events of log group `group` at or after `since_ms`, oldest first.
    fn log_events(
        &self,
        group: &str,
        since_ms: Option<u64>,
    ) -> impl Future<Output = Result<Vec<LogEvent>>> + Send;

    /// How far back each `logs --follow` poll looks again: how late an
    /// event may land behind newer ones on this target.
    fn log_lookback_ms(&self) -> u64;
}

/// What an invoke did.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Invocation {
    /// One synchronous invocation (AWS).
    Single(InvokeReport),
    /// The invocation and every one it set off (the local cloud).
    Cascade(CascadeReport),
}

impl Invocation {
    pub fn failed(&self) -> bool {
        match self {
            Invocation::Single(r) => r.failed(),
            Invocation::Cascade(c) => c.failed > 0,
        }
    }
}

impl fmt::Display for Invocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Invocation::Single(r) => r.fmt(f),
            Invocation::Cascade(c) => c.fmt(f),
        }
    }
}

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

/// One finished invocation of a cascade.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InvocationRecord {
    pub function: String,
    pub request_id: String,
    /// `direct`, `s3:<configuration id>` or `rule:<rule name>`.
    pub trigger: String,
    /// `Succeeded`, `FunctionError`, `TimedOut`, `Crashed` or `InitError`.
    pub status: String,
    pub error: Option<String>,
    pub duration_ms: f64,
    pub init_duration_ms: Option<f64>,
    pub max_memory_used_mb: u64,
    /// `s3://bucket/key` of each object the function wrote meanwhile.
    pub objects_written: Vec<String>,
    pub log_group: String,
    pub log_stream: String,
    pub response: serde_json::Value,
    /// The invocation's log lines (START … REPORT).
    #[serde(skip)]
    pub logs: Vec<String>,
}

impl InvocationRecord {
    pub fn succeeded(&self) -> bool {
        self.status == "Succeeded"
    }
}

/// What a local invoke ran: the invocation asked for, and every one it set
/// off through S3 notifications and EventBridge rules.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
                // An invocation that never started has no log stream.
                if !r.log_stream.is_empty() {
                    writeln!(f, "    log ({} {}):", r.log_group, r.log_stream)?;
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn record(function: &str, trigger: &str, error: Option<&str>) -> InvocationRecord {
        InvocationRecord {
            function: function.into(),
            request_id: "r".into(),
            trigger: trigger.into(),
            status: if error.is_some() {
                "FunctionError"
            } else {
                "Succeeded"
            }
            .into(),
            error: error.map(str::to_owned),
            duration_ms: 12.25,
            init_duration_ms: (trigger == "direct").then_some(31.5),
            max_memory_used_mb: 20,
            objects_written: if error.is_none() {
                vec![format!("s3://s-consumption/{function}.csv")]
            } else {
                vec![]
            },
            log_group: format!("/aws/lambda/{function}"),
            log_stream: "2026/12/01/[$LATEST]abc".into(),
            response: serde_json::Value::Null,
            logs: vec![
                "START RequestId: r Version: $LATEST".into(),
                "END RequestId: r".into(),
            ],
        }
    }

    /// What `invoke` prints on the local target: one line per invocation,
    /// what each wrote, and a failure's error with its log lines.
    #[test]
    fn the_cascade_report_shows_each_invocation() {
        let report = CascadeReport {
            invocations: vec![
                record("s-generator", "direct", None),
                record("s-processor", "s3:stackctl-processor", None),
                record(
                    "s-promotion",
                    "rule:s-promotion-raw",
                    Some("MissingColumns: no quantity"),
                ),
            ],
            failed: 1,
        };
        insta::assert_snapshot!(Invocation::Cascade(report).to_string());
    }

    /// An invocation that never started (no such function) has no log
    /// stream to point at: the error alone.
    #[test]
    fn an_invocation_that_never_started_shows_its_error_alone() {
        let mut never = record("s-generator", "direct", Some("no function `s-generator`"));
        never.status = "InitError".into();
        never.log_stream.clear();
        never.logs.clear();
        let shown = Invocation::Cascade(CascadeReport {
            invocations: vec![never],
            failed: 1,
        })
        .to_string();
        assert!(
            shown.contains("\n    error: no function `s-generator`\n1 invocations, 1 failed."),
            "{shown}"
        );
    }
}
