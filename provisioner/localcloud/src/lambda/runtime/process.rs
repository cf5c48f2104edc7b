//! One execution environment: a `bootstrap` child process in its own
//! process group, its own Runtime API listener, the capture of its stdout
//! and stderr, and its peak memory.

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::api::{self, Dispatch, ProcApi, ProcEvent};
use super::{FunctionProcessSpec, LogEvent, clock};

/// Lambda splits longer lines into several events.
const MAX_LINE_BYTES: usize = 256 * 1024;
/// Lines kept for one invocation before the rest are counted, not stored.
const MAX_PENDING_LINES: usize = 100_000;
/// Lines of stderr kept for a crash report.
const STDERR_TAIL_LINES: usize = 20;
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The environment of a function process: `PATH` from the host, the
/// function's own variables, then the standard Lambda variables (which win,
/// as Lambda refuses reserved keys in a function's configuration).
pub(crate) fn environment(
    spec: &FunctionProcessSpec,
    task_root: &Path,
    runtime_api: SocketAddr,
    log_stream: &str,
) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    env.insert(
        "PATH".to_owned(),
        std::env::var("PATH").unwrap_or_else(|_| DEFAULT_PATH.to_owned()),
    );
    env.insert("LANG".to_owned(), "en_US.UTF-8".to_owned());
    for (k, v) in &spec.environment {
        env.insert(k.clone(), v.clone());
    }
    let lambda = [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", spec.function_name.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            spec.memory_mb.to_string(),
        ),
        ("AWS_LAMBDA_LOG_GROUP_NAME", spec.log_group.clone()),
        ("AWS_LAMBDA_LOG_STREAM_NAME", log_stream.to_owned()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
        ("AWS_REGION", spec.region.clone()),
        ("AWS_DEFAULT_REGION", spec.region.clone()),
        ("_HANDLER", "bootstrap".to_owned()),
        ("LAMBDA_TASK_ROOT", task_root.display().to_string()),
        ("TZ", ":UTC".to_owned()),
    ];
    for (k, v) in lambda {
        env.insert(k.to_owned(), v);
    }
    env
}

/// Captured output of one process, waiting to be framed into an invocation.
#[derive(Default)]
pub(crate) struct Output {
    lines: Mutex<(Vec<LogEvent>, usize)>,
    stderr_tail: Mutex<VecDeque<String>>,
}

impl Output {
    fn push(&self, message: String, stderr: bool) {
        if stderr {
            let mut tail = lock(&self.stderr_tail);
            if tail.len() == STDERR_TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(message.clone());
        }
        let mut lines = lock(&self.lines);
        if lines.0.len() < MAX_PENDING_LINES {
            lines.0.push(LogEvent {
                timestamp_ms: clock::now_ms(),
                message,
            });
        } else {
            lines.1 += 1;
        }
    }

    /// Lines captured so far (and a note of any dropped), emptying the buffer.
    pub(crate) fn take(&self) -> Vec<LogEvent> {
        let mut lines = lock(&self.lines);
        let (mut events, dropped) = (std::mem::take(&mut lines.0), std::mem::take(&mut lines.1));
        if dropped > 0 {
            events.push(LogEvent {
                timestamp_ms: clock::now_ms(),
                message: format!("[stackctl] {dropped} more output lines were dropped"),
            });
        }
        events
    }

    pub(crate) fn stderr_tail(&self) -> String {
        let tail = lock(&self.stderr_tail);
        tail.iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A request to a reader task: answer once everything readable is read.
type FlushRequest = oneshot::Sender<()>;

/// Reads `reader` line by line into `out` until end of file.
///
/// Flush requests are answered only when a read would block: reading is
/// polled first (`biased`), so whatever the pipe held when the request came
/// is captured before the answer. Lines a runtime writes before an API call
/// are therefore in `out` once the invoker has seen the call and flushed:
/// the pipe's readiness reached the reactor no later than the socket's.
async fn pump<R: AsyncRead + Unpin>(
    reader: R,
    out: Arc<Output>,
    stderr: bool,
    mut flushes: mpsc::UnboundedReceiver<FlushRequest>,
) {
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let mut line: Vec<u8> = Vec::new();
    let emit = |bytes: &[u8]| {
        let mut bytes = bytes;
        if let Some(b) = bytes.strip_suffix(b"\n") {
            bytes = b;
        }
        if let Some(b) = bytes.strip_suffix(b"\r") {
            bytes = b;
        }
        out.push(String::from_utf8_lossy(bytes).into_owned(), stderr);
    };
    let mut flushes_open = true;
    loop {
        tokio::select! {
            biased;
            chunk = reader.fill_buf() => {
                let chunk = match chunk {
                    Ok(c) if !c.is_empty() => c,
                    _ => break,
                };
                let (take, ends) = match chunk.iter().position(|&b| b == b'\n') {
                    Some(i) => (i + 1, true),
                    None => (chunk.len(), false),
                };
                line.extend_from_slice(&chunk[..take]);
                reader.consume(take);
                while line.len() > MAX_LINE_BYTES {
                    let rest = line.split_off(MAX_LINE_BYTES);
                    emit(&line);
                    line = rest;
                }
                if ends {
                    emit(&line);
                    line.clear();
                }
            }
            request = flushes.recv(), if flushes_open => match request {
                Some(ack) => {
                    let _ = ack.send(());
                }
                None => flushes_open = false,
            },
        }
    }
    if !line.is_empty() {
        emit(&line);
    }
}

/// Peak resident set size (`VmHWM`) of a live process, in KiB.
pub(crate) fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// SIGKILL to the process group `pid` leads: the bootstrap and anything it
/// started (a shell runtime's `sleep`, say). Without `unsafe` there is no
/// `kill(2)`, so this runs `kill(1)`; the caller also kills the child itself.
fn kill_group(pid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{pid}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// What `RuntimeEmulator::addr` reports about each live process.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LiveInfo {
    pub function: String,
    pub pid: u32,
    pub runtime_api: String,
    pub log_stream: String,
    pub busy: bool,
    pub invocations: u64,
}

/// Live processes, by process id (for the emulator's status endpoint).
#[derive(Default)]
pub(crate) struct Registry {
    live: Mutex<BTreeMap<u64, LiveInfo>>,
}

impl Registry {
    pub(crate) fn snapshot(&self) -> Vec<LiveInfo> {
        lock(&self.live).values().cloned().collect()
    }

    fn update(&self, id: u64, f: impl FnOnce(&mut LiveInfo)) {
        if let Some(info) = lock(&self.live).get_mut(&id) {
            f(info);
        }
    }
}

/// A running `bootstrap` and its Runtime API endpoint.
pub(crate) struct Process {
    pub id: u64,
    /// Identifies the configuration the process was started with.
    pub key: u64,
    pub pid: u32,
    pub child: Child,
    pub api: Arc<ProcApi>,
    pub dispatch: mpsc::Sender<Dispatch>,
    pub events: mpsc::UnboundedReceiver<ProcEvent>,
    pub output: Arc<Output>,
    pub log_stream: String,
    pub spawned_at: Instant,
    pub spawned_wall_ms: i64,
    pub last_used: Instant,
    pub peak_kb: u64,
    pub invocations: u64,
    server: JoinHandle<()>,
    readers: Vec<JoinHandle<()>>,
    flushes: Vec<mpsc::UnboundedSender<FlushRequest>>,
    registry: Arc<Registry>,
}

impl Process {
    /// Binds a Runtime API listener and starts `spec.bootstrap` against it.
    pub(crate) async fn spawn(
        spec: &FunctionProcessSpec,
        id: u64,
        key: u64,
        registry: Arc<Registry>,
    ) -> io::Result<Process> {
        // Absolute, but symlinks kept: the task root is where the package
        // was put, wherever the file points.
        let bootstrap = std::path::absolute(&spec.bootstrap)?;
        let task_root = bootstrap
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("/"));
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let runtime_api = listener.local_addr()?;
        let (dispatch_tx, dispatch_rx) = mpsc::channel(1);
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let api = Arc::new(ProcApi::new(dispatch_rx, events_tx));
        let server = tokio::spawn(api::serve(listener, api.clone()));

        let spawned_wall_ms = clock::now_ms();
        let log_stream = clock::log_stream_name(spawned_wall_ms);
        let mut cmd = Command::new(&bootstrap);
        cmd.env_clear()
            .envs(environment(spec, &task_root, runtime_api, &log_stream))
            .current_dir(&task_root)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .process_group(0);
        let spawned_at = Instant::now();
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => {
                server.abort();
                return Err(e);
            }
        };
        let pid = child.id().unwrap_or(0);
        let output = Arc::new(Output::default());
        let (mut readers, mut flushes) = (Vec::with_capacity(2), Vec::with_capacity(2));
        if let Some(out) = child.stdout.take() {
            let (tx, rx) = mpsc::unbounded_channel();
            readers.push(tokio::spawn(pump(out, output.clone(), false, rx)));
            flushes.push(tx);
        }
        if let Some(err) = child.stderr.take() {
            let (tx, rx) = mpsc::unbounded_channel();
            readers.push(tokio::spawn(pump(err, output.clone(), true, rx)));
            flushes.push(tx);
        }
        lock(&registry.live).insert(
            id,
            LiveInfo {
                function: spec.function_name.clone(),
                pid,
                runtime_api: runtime_api.to_string(),
                log_stream: log_stream.clone(),
                busy: true,
                invocations: 0,
            },
        );
        Ok(Process {
            id,
            key,
            pid,
            child,
            api,
            dispatch: dispatch_tx,
            events: events_rx,
            output,
            log_stream,
            spawned_at,
            spawned_wall_ms,
            last_used: spawned_at,
            peak_kb: 0,
            invocations: 0,
            server,
            readers,
            flushes,
            registry,
        })
    }

    pub(crate) fn set_busy(&self, busy: bool) {
        let n = self.invocations;
        self.registry.update(self.id, |i| {
            i.busy = busy;
            i.invocations = n;
        });
    }

    /// Whether the process is still running (reaps it if it is not).
    pub(crate) fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub(crate) fn sample_memory(&mut self) {
        if let Some(kb) = vm_hwm_kb(self.pid) {
            self.peak_kb = self.peak_kb.max(kb);
        }
    }

    /// Kills the process group (the child has exited or is running: its pid
    /// cannot have been reused yet) and waits for the child.
    pub(crate) async fn kill(&mut self) {
        kill_group(self.pid);
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await;
    }

    /// Waits (up to `limit`) for stdout and stderr to reach end of file,
    /// so a dead process's last lines are captured.
    pub(crate) async fn drain_output(&mut self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        for reader in std::mem::take(&mut self.readers) {
            let abort = reader.abort_handle();
            if tokio::time::timeout_at(deadline, reader).await.is_err() {
                abort.abort();
            }
        }
    }

    /// Makes sure the lines a live process wrote before its last API call
    /// are in [`Self::output`]: each reader answers once its pipe would
    /// block (a reader that does not answer within 100 ms is not waited for).
    pub(crate) async fn settle_output(&self) {
        let acks: Vec<_> = self
            .flushes
            .iter()
            .filter_map(|tx| {
                let (ack, done) = oneshot::channel();
                tx.send(ack).ok().map(|()| done)
            })
            .collect();
        let deadline = tokio::time::Instant::now() + Duration::from_millis(100);
        for done in acks {
            let _ = tokio::time::timeout_at(deadline, done).await;
        }
    }

    /// Ends the process for good.
    pub(crate) async fn terminate(mut self) {
        if self.is_running() {
            self.kill().await;
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.is_running() {
            kill_group(self.pid);
            let _ = self.child.start_kill();
        }
        self.server.abort();
        for r in &self.readers {
            r.abort();
        }
        lock(&self.registry.live).remove(&self.id);
    }
}
