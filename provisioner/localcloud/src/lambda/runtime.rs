//! The local target's compute: an embedded implementation of the AWS Lambda
//! Runtime API that runs the real packaged `bootstrap` executables as child
//! processes.
//!
//! Each execution environment is one child process with its own Runtime API
//! listener on 127.0.0.1 (`AWS_LAMBDA_RUNTIME_API`): runtime clients use
//! fixed paths, so the port is what tells two processes apart. A process
//! serves one invocation at a time and stays warm for the next invocation
//! of the same function (same configuration, same bootstrap file); a
//! concurrent invocation starts another process. As on Lambda:
//!
//! - the process sees the standard Lambda variables plus the function's own
//!   environment, and nothing else of the host's but `PATH`;
//! - the first invocation of a process is a cold start: `init_duration_ms`
//!   runs from spawn to the runtime's first `next`;
//! - when the deadline passes the process group is killed, the invocation is
//!   [`InvocationStatus::TimedOut`] and the process is not reused;
//! - a process that exits mid-invocation is [`InvocationStatus::Crashed`]
//!   ("Runtime exited with error: exit status N"), with its stderr tail;
//! - stdout and stderr lines are captured with timestamps and framed by
//!   `START` / `END` / `REPORT` lines (duration, billed duration, memory
//!   size, peak RSS from `/proc/<pid>/status`, init duration on a cold start).
//!
//! [`RuntimeEmulator::invoke`] never panics and never fails: every failure
//! is a status. See the "Runtime emulator" section of docs/local-target.md.

mod api;
mod invoke;
mod process;

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::clock;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use process::{Process, Registry};

/// A warm process unused for this long is stopped at the next invocation of
/// its function (Lambda recycles idle environments after minutes too).
const IDLE_TTL: Duration = Duration::from_secs(10 * 60);
/// Idle processes kept per function; more are stopped when they finish.
const MAX_IDLE_PER_FUNCTION: usize = 4;

/// How to run one function: everything a process needs to start.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FunctionProcessSpec {
    pub function_name: String,
    /// The packaged executable (a relative path is taken from the current
    /// directory); its directory becomes `LAMBDA_TASK_ROOT` and the working
    /// directory.
    pub bootstrap: PathBuf,
    /// The function's environment from stack.yaml, plus what the caller adds
    /// (`AWS_ENDPOINT_URL`, the function's credentials). The standard Lambda
    /// variables are set by the emulator and win over these.
    pub environment: BTreeMap<String, String>,
    pub memory_mb: u32,
    pub timeout_s: u32,
    pub region: String,
    pub account: String,
    pub log_group: String,
}

impl FunctionProcessSpec {
    /// Lambda's defaults: 128 MB, 3 s, us-east-1, account `000000000000`,
    /// log group `/aws/lambda/<name>`, empty environment.
    pub fn new(function_name: impl Into<String>, bootstrap: impl Into<PathBuf>) -> Self {
        let function_name = function_name.into();
        Self {
            log_group: format!("/aws/lambda/{function_name}"),
            function_name,
            bootstrap: bootstrap.into(),
            environment: BTreeMap::new(),
            memory_mb: 128,
            timeout_s: 3,
            region: "us-east-1".to_owned(),
            account: "000000000000".to_owned(),
        }
    }

    /// `arn:aws:lambda:<region>:<account>:function:<name>`.
    pub fn function_arn(&self) -> String {
        format!(
            "arn:aws:lambda:{}:{}:function:{}",
            self.region, self.account, self.function_name
        )
    }
}

/// How an invocation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status")]
pub enum InvocationStatus {
    /// The runtime posted a response.
    Succeeded,
    /// The runtime posted an invocation error (the handler failed), or the
    /// response exceeded 6 MB (`Function.ResponseSizeTooLarge`).
    FunctionError {
        error_type: String,
        error_message: String,
    },
    /// The deadline passed (or init exceeded Lambda's 10 s); the process was
    /// killed.
    TimedOut,
    /// The process exited before answering: `exit` is Lambda's wording
    /// (`exit status 3`, `signal: killed`), `stderr_tail` its last stderr
    /// lines.
    Crashed { exit: String, stderr_tail: String },
    /// The runtime posted an init error, or the bootstrap could not be
    /// started at all (`Runtime.InvalidEntrypoint`).
    InitError {
        error_type: String,
        error_message: String,
    },
}

impl InvocationStatus {
    pub fn is_success(&self) -> bool {
        matches!(self, Self::Succeeded)
    }

    /// `Succeeded`, `FunctionError`, `TimedOut`, `Crashed` or `InitError`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Succeeded => "Succeeded",
            Self::FunctionError { .. } => "FunctionError",
            Self::TimedOut => "TimedOut",
            Self::Crashed { .. } => "Crashed",
            Self::InitError { .. } => "InitError",
        }
    }
}

/// One log line of an invocation, as it lands in the log group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEvent {
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    pub message: String,
}

/// Everything known about one invocation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InvocationResult {
    pub request_id: String,
    pub function_name: String,
    pub status: InvocationStatus,
    /// The response payload; for a failure, the error document Lambda
    /// returns (`{"errorType": .., "errorMessage": ..}`).
    pub response: Vec<u8>,
    /// From handing the event to the runtime until its answer.
    pub duration_ms: f64,
    /// `ceil(duration + init duration)`: Lambda bills the init phase of
    /// `provided` runtimes.
    pub billed_duration_ms: u64,
    /// Peak RSS of the process so far, in MB (rounded up).
    pub max_memory_used_mb: u64,
    /// On a cold start: spawn until the runtime's first `next`.
    pub init_duration_ms: Option<f64>,
    /// The process's log stream (`YYYY/MM/DD/[$LATEST]<32 hex>`).
    pub log_stream: String,
    /// `INIT_START` (cold start), output, `START`, output, `END`, `REPORT`.
    pub logs: Vec<LogEvent>,
}

impl InvocationResult {
    /// The `REPORT` line, if the logs have one.
    pub fn report_line(&self) -> Option<&str> {
        self.logs
            .iter()
            .rev()
            .map(|e| e.message.as_str())
            .find(|m| m.starts_with("REPORT RequestId: "))
    }
}

struct Inner {
    /// Warm processes by function name, most recently used last.
    idle: Mutex<HashMap<String, Vec<Process>>>,
    registry: Arc<Registry>,
    next_id: AtomicU64,
}

/// The embedded Lambda service: starts, reuses and stops function
/// processes. `Send + Sync`; share it behind an `Arc` to invoke from
/// several tasks at once.
pub struct RuntimeEmulator {
    inner: Arc<Inner>,
    addr: SocketAddr,
    status_server: JoinHandle<()>,
}

impl RuntimeEmulator {
    /// Binds the emulator's status listener on 127.0.0.1 (any port). Each
    /// process gets its own Runtime API listener when it starts.
    pub async fn start() -> std::io::Result<RuntimeEmulator> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let registry = Arc::new(Registry::default());
        let status_server = tokio::spawn(serve_status(listener, registry.clone()));
        Ok(RuntimeEmulator {
            inner: Arc::new(Inner {
                idle: Mutex::new(HashMap::new()),
                registry,
                next_id: AtomicU64::new(1),
            }),
            addr,
            status_server,
        })
    }

    /// The status listener: `GET http://<addr>/` lists the live processes
    /// (function, pid, Runtime API endpoint, log stream, busy, invocations).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Runs one invocation of `spec` with `payload` as the event, on a warm
    /// process of the same configuration or a new one. Never panics; every
    /// failure is a status of the result.
    pub async fn invoke(&self, spec: &FunctionProcessSpec, payload: Vec<u8>) -> InvocationResult {
        let request_id = clock::request_id();
        let key = spec_key(spec).await;
        let (mut process, cold) = match self.checkout(&spec.function_name, key) {
            Some(p) => (p, false),
            None => {
                let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
                match Process::spawn(spec, id, key, self.inner.registry.clone()).await {
                    Ok(p) => (p, true),
                    Err(e) => return invoke::entrypoint_failure(spec, request_id, &e),
                }
            }
        };
        process.invocations += 1;
        process.set_busy(true);
        let (result, reusable) = invoke::run(&mut process, spec, request_id, payload, cold).await;
        if reusable && process.is_running() {
            process.last_used = Instant::now();
            process.set_busy(false);
            self.checkin(&spec.function_name, process);
        } else {
            process.terminate().await;
        }
        result
    }

    /// Stops every process and the listeners.
    pub async fn shutdown(self) {
        let processes: Vec<Process> = {
            let mut idle = lock(&self.inner.idle);
            idle.drain().flat_map(|(_, v)| v).collect()
        };
        for p in processes {
            p.terminate().await;
        }
        self.status_server.abort();
    }

    /// The most recently used live idle process of `function` started with
    /// configuration `key`; stops idle processes that are stale (another
    /// configuration, exited, idle too long).
    fn checkout(&self, function: &str, key: u64) -> Option<Process> {
        let mut stale = Vec::new();
        let found = {
            let mut idle = lock(&self.inner.idle);
            let list = idle.get_mut(function)?;
            let mut keep = Vec::with_capacity(list.len());
            for mut p in list.drain(..) {
                if p.key == key && p.last_used.elapsed() < IDLE_TTL && p.is_running() {
                    keep.push(p);
                } else {
                    stale.push(p);
                }
            }
            let found = keep.pop();
            *list = keep;
            found
        };
        drop(stale); // Process::drop kills what is still running
        found
    }

    fn checkin(&self, function: &str, process: Process) {
        let surplus = {
            let mut idle = lock(&self.inner.idle);
            let list = idle.entry(function.to_owned()).or_default();
            list.push(process);
            if list.len() > MAX_IDLE_PER_FUNCTION {
                Some(list.remove(0))
            } else {
                None
            }
        };
        drop(surplus);
    }
}

impl Drop for RuntimeEmulator {
    fn drop(&mut self) {
        self.status_server.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Identifies a configuration: the spec and the bootstrap file's size and
/// modification time, so a redeployed package gets fresh processes.
async fn spec_key(spec: &FunctionProcessSpec) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    spec.hash(&mut h);
    if let Ok(meta) = tokio::fs::metadata(&spec.bootstrap).await {
        meta.len().hash(&mut h);
        meta.modified().ok().hash(&mut h);
    }
    h.finish()
}

/// The emulator's own listener ([`RuntimeEmulator::addr`]): `GET /` lists
/// the live execution environments and the Runtime API endpoint of each;
/// Runtime API paths are refused with a pointer to those endpoints.
async fn serve_status(listener: TcpListener, registry: Arc<Registry>) {
    crate::http::accept_loop(listener, std::future::pending(), move |stream, _| {
        let registry = registry.clone();
        let service = hyper::service::service_fn(move |req: hyper::Request<_>| {
            let registry = registry.clone();
            async move {
                let path = req.uri().path();
                Ok::<_, std::convert::Infallible>(if path.starts_with(api::PREFIX) {
                    api::error_reply(
                        hyper::StatusCode::NOT_FOUND,
                        "InvalidRequest",
                        "each function process has its own Runtime API endpoint \
                         (its AWS_LAMBDA_RUNTIME_API); GET / lists them",
                    )
                } else {
                    let body = serde_json::json!({ "processes": registry.snapshot() });
                    api::reply(hyper::StatusCode::OK, body.to_string())
                })
            }
        });
        crate::http::serve_connection(stream, service)
    })
    .await;
}
