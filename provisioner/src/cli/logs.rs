//! `stackctl logs <function> [--follow]`: the function's log group, from the
//! local store or CloudWatch Logs.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, bail};

use super::Session;
use crate::output::Printer;
use crate::spec::Target;

const POLL: Duration = Duration::from_secs(1);

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub async fn run(
    session: &Session,
    printer: &Printer,
    function: &str,
    follow: bool,
    since_minutes: Option<u64>,
) -> anyhow::Result<ExitCode> {
    if !session.stack.functions.contains_key(function) {
        bail!("no function `{function}` in stack {}", session.stack.name);
    }
    let group = session.stack.log_group_name(function);
    let mut since = since_minutes.map(|m| now_ms().saturating_sub(m * 60_000));
    let aws = match &session.target {
        Target::Aws { .. } => Some(session.aws().await?.clients().logs),
        Target::Local { .. } => None,
    };
    let local = if aws.is_none() {
        Some(session.local()?)
    } else {
        None
    };
    loop {
        let events: Vec<(u64, String, String)> = if let Some(client) = &aws {
            let mut out = Vec::new();
            let mut pages = client
                .filter_log_events()
                .log_group_name(&group)
                .set_start_time(since.map(|s| s as i64))
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| {
                    anyhow::anyhow!(
                        "reading {group}: {}",
                        aws_sdk_cloudwatchlogs::error::DisplayErrorContext(&e)
                    )
                })?;
                for e in page.events() {
                    out.push((
                        e.timestamp().unwrap_or(0).max(0) as u64,
                        e.log_stream_name().unwrap_or("").to_owned(),
                        e.message().unwrap_or("").to_owned(),
                    ));
                }
            }
            out
        } else if let Some(cloud) = &local {
            cloud
                .store()
                .filter_log_events(&group, since)
                .with_context(|| format!("reading {group}"))?
                .into_iter()
                .map(|e| (e.event.timestamp_ms, e.stream, e.event.message))
                .collect()
        } else {
            Vec::new()
        };
        for (ts, stream, message) in &events {
            let line = format!(
                "{} {stream} {}",
                crate::provider::local::events::iso8601(*ts, true),
                message.trim_end()
            );
            printer.line(&line);
        }
        if let Some(last) = events.iter().map(|e| e.0).max() {
            since = Some(last + 1);
        }
        if !follow {
            return Ok(ExitCode::SUCCESS);
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
        }
    }
}
