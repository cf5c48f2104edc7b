//! [`Functions`] on AWS: Lambda's synchronous Invoke with the log tail, and
//! CloudWatch Logs' FilterLogEvents across every page.

use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{InvocationType, LogType};
use base64::Engine as _;

use super::{AwsCloud, Service, api_error};
use crate::provider::Result;
use crate::provider::functions::{Functions, Invocation, InvokeReport, LogEvent, Notes};

/// Lambda ships lines as they are written and CloudWatch ingests them
/// within seconds; a longer window would re-read a busy group every second
/// and run into FilterLogEvents' request quota.
const LOOKBACK_MS: u64 = 60 * 1000;

impl Functions for AwsCloud {
    async fn invoke(&self, function: &str, payload: Vec<u8>, _notes: Notes) -> Result<Invocation> {
        invoke(&self.lambda, function, payload)
            .await
            .map(Invocation::Single)
    }

    async fn log_events(&self, group: &str, since_ms: Option<u64>) -> Result<Vec<LogEvent>> {
        let mut out = Vec::new();
        let mut pages = self
            .logs
            .filter_log_events()
            .log_group_name(group)
            .set_start_time(since_ms.map(|s| s as i64))
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                api_error(
                    Service::Logs,
                    "FilterLogEvents",
                    &format!("log group {group}"),
                    e,
                )
            })?;
            for e in page.events() {
                out.push(LogEvent {
                    timestamp_ms: e.timestamp().unwrap_or(0).max(0) as u64,
                    stream: e.log_stream_name().unwrap_or("").to_owned(),
                    message: e.message().unwrap_or("").to_owned(),
                });
            }
        }
        Ok(out)
    }

    fn log_lookback_ms(&self) -> u64 {
        LOOKBACK_MS
    }
}

/// One synchronous invoke with the log tail.
pub async fn invoke(
    client: &aws_sdk_lambda::Client,
    function_name: &str,
    payload: Vec<u8>,
) -> Result<InvokeReport> {
    let out = client
        .invoke()
        .function_name(function_name)
        .invocation_type(InvocationType::RequestResponse)
        .log_type(LogType::Tail)
        .payload(Blob::new(payload))
        .send()
        .await
        .map_err(|e| {
            api_error(
                Service::Lambda,
                "Invoke",
                &format!("function {function_name}"),
                e,
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
