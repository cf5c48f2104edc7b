//! One invocation on one process: dispatch, wait for the runtime's answer,
//! the process's exit or the deadline, then frame the logs as Lambda does.

use std::os::unix::process::ExitStatusExt;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::api::{Dispatch, MAX_RESPONSE_BYTES, ProcEvent};
use super::process::Process;
use super::{FunctionProcessSpec, InvocationResult, InvocationStatus, LogEvent, clock};

/// Lambda's limit on the init phase of an on-demand function.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// How often peak memory is sampled while an invocation runs.
const MEMORY_SAMPLE: Duration = Duration::from_millis(20);
/// How long a dead process's pipes get to deliver their last lines.
const DRAIN: Duration = Duration::from_millis(300);

enum Outcome {
    Response(Bytes),
    TooLarge,
    Error {
        error_type: String,
        message: String,
    },
    InitError {
        error_type: String,
        message: String,
    },
    Exited(ExitStatus),
    /// The invocation's deadline passed.
    TimedOut,
    /// The runtime never asked for the invocation in time (`init`: a cold
    /// start exceeded Lambda's init limit).
    NotPolled {
        init: bool,
    },
    /// The process's Runtime API is gone (cannot happen while it lives).
    Unavailable,
}

fn error_document(error_type: &str, message: &str) -> Vec<u8> {
    serde_json::json!({ "errorType": error_type, "errorMessage": message })
        .to_string()
        .into_bytes()
}

/// Go's wording of an exit status, which Lambda's messages use.
fn exit_wording(status: ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("exit status {code}");
    }
    match status.signal() {
        Some(sig) => {
            let name = match sig {
                1 => "hangup",
                2 => "interrupt",
                3 => "quit",
                4 => "illegal instruction",
                6 => "aborted",
                7 => "bus error",
                8 => "floating point exception",
                9 => "killed",
                11 => "segmentation fault",
                13 => "broken pipe",
                15 => "terminated",
                _ => return format!("signal {sig}"),
            };
            format!("signal: {name}")
        }
        None => "unknown exit".to_owned(),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The result for a bootstrap that could not be started at all.
pub(super) fn entrypoint_failure(
    spec: &FunctionProcessSpec,
    request_id: String,
    err: &std::io::Error,
) -> InvocationResult {
    let error_type = "Runtime.InvalidEntrypoint".to_owned();
    let error_message = format!("{}: {err}", spec.bootstrap.display());
    let now = clock::now_ms();
    let line = |message: String| LogEvent {
        timestamp_ms: now,
        message,
    };
    let logs = vec![
        line(format!(
            "INIT_REPORT Init Duration: 0.00 ms\tPhase: init\tStatus: error\tError Type: {error_type}"
        )),
        line(format!("START RequestId: {request_id} Version: $LATEST")),
        line(format!("RequestId: {request_id} Error: {error_message}")),
        line(error_type.clone()),
        line(format!("END RequestId: {request_id}")),
        line(format!(
            "REPORT RequestId: {request_id}\tDuration: 0.00 ms\tBilled Duration: 0 ms\tMemory Size: {} MB\tMax Memory Used: 0 MB\tInit Duration: 0.00 ms\tStatus: error\tError Type: {error_type}",
            spec.memory_mb
        )),
    ];
    InvocationResult {
        request_id,
        function_name: spec.function_name.clone(),
        response: error_document(&error_type, &error_message),
        status: InvocationStatus::InitError {
            error_type,
            error_message,
        },
        duration_ms: 0.0,
        billed_duration_ms: 0,
        max_memory_used_mb: 0,
        init_duration_ms: Some(0.0),
        log_stream: clock::log_stream_name(now),
        logs,
    }
}

/// Runs one invocation on `p`. Returns the result and whether the process
/// may serve another invocation.
pub(super) async fn run(
    p: &mut Process,
    spec: &FunctionProcessSpec,
    request_id: String,
    payload: Vec<u8>,
    cold: bool,
) -> (InvocationResult, bool) {
    let timeout = Duration::from_secs(u64::from(spec.timeout_s.max(1)));
    let mut pre_start: Vec<LogEvent> = Vec::new();
    if cold {
        pre_start.push(LogEvent {
            timestamp_ms: p.spawned_wall_ms,
            message: "INIT_START Runtime Version: provided:al2023 (stackctl local emulator)"
                .to_owned(),
        });
    }
    let wait_start = Instant::now();
    let sent = p.dispatch.try_send(Dispatch {
        request_id: request_id.clone(),
        payload: Bytes::from(payload),
        timeout_ms: u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
        function_arn: spec.function_arn(),
    });

    // (when `next` handed the event over, its wall-clock time)
    let mut started: Option<(Instant, i64)> = None;
    let mut ticker = tokio::time::interval(MEMORY_SAMPLE);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let outcome = if sent.is_err() {
        Outcome::Unavailable
    } else {
        loop {
            let deadline = match started {
                Some((at, _)) => at + timeout,
                None if cold => wait_start + INIT_TIMEOUT,
                None => wait_start + timeout,
            };
            tokio::select! {
                biased;
                event = p.events.recv() => match event {
                    Some(ProcEvent::Dispatched { request_id: id, at, wall_ms }) if id == request_id => {
                        started = Some((at, wall_ms));
                        // Everything printed so far belongs to init (or to
                        // the time between invocations): before START.
                        p.settle_output().await;
                        pre_start.extend(p.output.take());
                    }
                    Some(ProcEvent::Response { request_id: id, body }) if id == request_id => {
                        break Outcome::Response(body);
                    }
                    Some(ProcEvent::ResponseTooLarge { request_id: id, .. }) if id == request_id => {
                        break Outcome::TooLarge;
                    }
                    Some(ProcEvent::Error { request_id: id, error_type, error_message }) if id == request_id => {
                        break Outcome::Error { error_type, message: error_message };
                    }
                    Some(ProcEvent::InitError { error_type, error_message }) => {
                        break Outcome::InitError { error_type, message: error_message };
                    }
                    Some(_) => {} // about an earlier invocation
                    None => break Outcome::Unavailable,
                },
                status = p.child.wait() => match status {
                    Ok(status) => break Outcome::Exited(status),
                    Err(_) => break Outcome::Unavailable,
                },
                _ = tokio::time::sleep_until(deadline.into()) => {
                    break if started.is_some() {
                        Outcome::TimedOut
                    } else {
                        Outcome::NotPolled { init: cold }
                    };
                }
                _ = ticker.tick() => {
                    if let Some(kb) = super::process::vm_hwm_kb(p.pid) {
                        p.peak_kb = p.peak_kb.max(kb);
                    }
                }
            }
        }
    };
    let ended = Instant::now();
    let ended_wall = clock::now_ms();
    p.sample_memory();

    let id = &request_id;
    let timeout_s = timeout.as_secs_f64();
    // (status, response, reusable, lines after the output, REPORT suffix)
    let (status, response, reusable, trailer, report_status): (
        InvocationStatus,
        Vec<u8>,
        bool,
        Vec<String>,
        String,
    ) = match outcome {
        Outcome::Response(body) => (
            InvocationStatus::Succeeded,
            body.to_vec(),
            true,
            vec![],
            String::new(),
        ),
        Outcome::TooLarge => {
            let error_type = "Function.ResponseSizeTooLarge".to_owned();
            let error_message = format!(
                "Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
            );
            (
                InvocationStatus::FunctionError {
                    error_type: error_type.clone(),
                    error_message: error_message.clone(),
                },
                error_document(&error_type, &error_message),
                true,
                vec![
                    format!("RequestId: {id} Error: {error_message}"),
                    error_type,
                ],
                String::new(),
            )
        }
        Outcome::Error {
            error_type,
            message,
        } => (
            InvocationStatus::FunctionError {
                error_type: error_type.clone(),
                error_message: message.clone(),
            },
            error_document(&error_type, &message),
            true,
            vec![],
            String::new(),
        ),
        Outcome::InitError {
            error_type,
            message,
        } => (
            InvocationStatus::InitError {
                error_type: error_type.clone(),
                error_message: message.clone(),
            },
            error_document(&error_type, &message),
            false,
            vec![
                format!("RequestId: {id} Error: {message}"),
                error_type.clone(),
            ],
            format!("\tStatus: error\tError Type: {error_type}"),
        ),
        Outcome::Exited(exit) => {
            let exit = exit_wording(exit);
            let message = format!("RequestId: {id} Error: Runtime exited with error: {exit}");
            // Anything the runtime left behind in its group goes too.
            p.kill().await;
            p.drain_output(DRAIN).await;
            (
                InvocationStatus::Crashed {
                    exit,
                    stderr_tail: p.output.stderr_tail(),
                },
                error_document("Runtime.ExitError", &message),
                false,
                vec![message, "Runtime.ExitError".to_owned()],
                "\tStatus: error\tError Type: Runtime.ExitError".to_owned(),
            )
        }
        timeout @ (Outcome::TimedOut | Outcome::NotPolled { .. }) => {
            let message = if matches!(timeout, Outcome::NotPolled { init: true }) {
                format!(
                    "Init phase exceeded {:.2} seconds without asking for an invocation",
                    INIT_TIMEOUT.as_secs_f64()
                )
            } else {
                format!("Task timed out after {timeout_s:.2} seconds")
            };
            (
                InvocationStatus::TimedOut,
                error_document(
                    "Sandbox.Timedout",
                    &format!("RequestId: {id} Error: {message}"),
                ),
                false,
                vec![format!("{} {id} {message}", clock::iso8601(ended_wall))],
                "\tStatus: timeout".to_owned(),
            )
        }
        Outcome::Unavailable => {
            let exit = "runtime API unavailable".to_owned();
            let message = format!("RequestId: {id} Error: {exit}");
            (
                InvocationStatus::Crashed {
                    exit,
                    stderr_tail: p.output.stderr_tail(),
                },
                error_document("Runtime.ExitError", &message),
                false,
                vec![message, "Runtime.ExitError".to_owned()],
                "\tStatus: error\tError Type: Runtime.ExitError".to_owned(),
            )
        }
    };

    // Collect the invocation's output.
    if reusable {
        p.settle_output().await;
    } else if p.is_running() {
        p.kill().await;
        p.drain_output(DRAIN).await;
    } else {
        p.drain_output(DRAIN).await;
    }
    let mut lines = p.output.take();

    let duration = started.map_or(Duration::ZERO, |(at, _)| {
        ended.saturating_duration_since(at)
    });
    let init = cold.then(|| {
        let ready = p.api.first_next.get().copied().unwrap_or(ended);
        ready.saturating_duration_since(p.spawned_at)
    });
    let duration_ms = ms(duration);
    let init_duration_ms = init.map(ms);
    let billed_duration_ms = (duration_ms + init_duration_ms.unwrap_or(0.0)).ceil() as u64;
    let max_memory_used_mb = p.peak_kb.div_ceil(1024);

    let mut logs = pre_start;
    let start_wall = match started {
        Some((_, wall)) => wall,
        None => {
            // Never dispatched: every line is init output, then INIT_REPORT.
            logs.append(&mut lines);
            let init_ms = init_duration_ms.unwrap_or(0.0);
            let phase_status = match &status {
                InvocationStatus::TimedOut => "timeout".to_owned(),
                _ => format!(
                    "error\tError Type: {}",
                    report_status
                        .rsplit("Error Type: ")
                        .next()
                        .unwrap_or("Unknown")
                ),
            };
            logs.push(LogEvent {
                timestamp_ms: ended_wall,
                message: format!(
                    "INIT_REPORT Init Duration: {init_ms:.2} ms\tPhase: init\tStatus: {phase_status}"
                ),
            });
            ended_wall
        }
    };
    logs.push(LogEvent {
        timestamp_ms: start_wall,
        message: format!("START RequestId: {id} Version: $LATEST"),
    });
    logs.append(&mut lines);
    for message in trailer {
        logs.push(LogEvent {
            timestamp_ms: ended_wall,
            message,
        });
    }
    logs.push(LogEvent {
        timestamp_ms: ended_wall,
        message: format!("END RequestId: {id}"),
    });
    let mut report = format!(
        "REPORT RequestId: {id}\tDuration: {duration_ms:.2} ms\tBilled Duration: {billed_duration_ms} ms\tMemory Size: {} MB\tMax Memory Used: {max_memory_used_mb} MB",
        spec.memory_mb
    );
    if let Some(init_ms) = init_duration_ms {
        report.push_str(&format!("\tInit Duration: {init_ms:.2} ms"));
    }
    report.push_str(&report_status);
    logs.push(LogEvent {
        timestamp_ms: ended_wall,
        message: report,
    });

    let result = InvocationResult {
        request_id,
        function_name: spec.function_name.clone(),
        status,
        response,
        duration_ms,
        billed_duration_ms,
        max_memory_used_mb,
        init_duration_ms,
        log_stream: p.log_stream.clone(),
        logs,
    };
    (result, reusable)
}
