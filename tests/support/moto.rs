//! A moto server (`moto_server`, from `pip install "moto[server]"`) for tests
//! that drive the real AWS SDK over HTTP.
//!
//! [`shared`] starts one server per test binary, on a free port; tests
//! sharing it use distinct stack names, so they never see each other's
//! resources. [`Moto::start`] gives a test its own server, killed on drop.
//! A watchdog process kills either once the test binary exits.
//!
//! The server runs in moto's own Python with [`PATCHES`] applied first:
//! two moto 5.2 behaviours that no stack could pass otherwise (see there).
//! If the patched start fails (moto's internals moved), the plain
//! `moto_server` is started instead and the log says why.
//!
//! When `moto_server` is missing the tests fail, saying how to install it;
//! `STACKCTL_SKIP_MOTO=1` makes them skip instead (for a laptop without
//! Python; CI never sets it).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::{Credentials, SharedCredentialsProvider};

/// The account moto answers for.
pub const ACCOUNT: &str = "123456789012";

/// Run before moto's server starts (moto 5.2.x; each patch is skipped with a
/// warning in the log when moto's internals differ):
///
/// 1. GetBucketNotificationConfiguration never returns the
///    `EventBridgeConfiguration` moto stored, so a bucket sending events to
///    EventBridge would always read as drifted. The patch adds it back.
/// 2. Bucket policies are evaluated with every condition operator but
///    `StringEquals` ignored, so the stack's TLS-only statement (Deny unless
///    `aws:SecureTransport`) denies every object request; AWS would allow
///    them over TLS. The patch evaluates bucket policies as for TLS
///    requests: such statements are left out.
pub const PATCHES: &str = r#"
import json, re, sys

def _warn(what, e):
    print(f"stackctl moto harness: {what} not patched: {e!r}", file=sys.stderr, flush=True)

try:
    from moto.s3.responses import S3Response

    _get_notification = S3Response.get_bucket_notification

    def get_bucket_notification(self):
        status, headers, body = _get_notification(self)
        config = self.backend.get_bucket_notification_configuration(self.bucket_name)
        if config is None or getattr(config, "event_bridge", None) is None:
            return status, headers, body
        text = body.decode() if isinstance(body, bytes) else body
        if "EventBridgeConfiguration" not in text:
            ns = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
            if "</NotificationConfiguration>" in text:
                text = text.replace("</NotificationConfiguration>", "<EventBridgeConfiguration/></NotificationConfiguration>")
            else:
                text = re.sub(r"<(\w+)[^>]*/>\s*$", f"<NotificationConfiguration {ns}><EventBridgeConfiguration/></NotificationConfiguration>", text)
        return status, headers, text.encode() if isinstance(body, bytes) else text

    S3Response.get_bucket_notification = get_bucket_notification
    print("stackctl moto harness: EventBridgeConfiguration read-back patched", file=sys.stderr, flush=True)
except Exception as e:
    _warn("EventBridgeConfiguration read-back", e)

try:
    from moto.s3.models import FakeBucket
    from moto.iam.access_control import IAMPolicy, PermissionResult

    def _tls_only(statement):
        condition = statement.get("Condition") or {}
        return (
            statement.get("Effect") == "Deny"
            and list(condition) == ["Bool"]
            and [k.lower() for k in condition["Bool"]] == ["aws:securetransport"]
        )

    def get_permission(self, action, resource):
        if self.policy is None:
            return PermissionResult.NEUTRAL
        doc = json.loads(self.policy.decode() if isinstance(self.policy, bytes) else self.policy)
        statements = doc.get("Statement", [])
        if isinstance(statements, dict):
            statements = [statements]
        kept = [s for s in statements if not _tls_only(s)]
        if not kept:
            return PermissionResult.NEUTRAL
        doc["Statement"] = kept
        return IAMPolicy(json.dumps(doc)).is_action_permitted(action, resource)

    FakeBucket.get_permission = get_permission
    print("stackctl moto harness: TLS-only bucket policies patched", file=sys.stderr, flush=True)
except Exception as e:
    _warn("TLS-only bucket policies", e)

from moto.server import main
sys.exit(main(sys.argv[1:]))
"#;

pub struct Moto {
    pub endpoint: String,
    pub log: PathBuf,
    server: Child,
    watchdog: Option<Child>,
}

/// Whether moto tests may be skipped here (`STACKCTL_SKIP_MOTO=1`).
pub fn skip_allowed() -> bool {
    std::env::var("STACKCTL_SKIP_MOTO").is_ok_and(|v| v == "1")
}

/// The test binary's server, started on first use; `None` when moto is not
/// installed and skipping is allowed.
pub fn shared() -> Option<&'static Moto> {
    static SHARED: OnceLock<Option<Moto>> = OnceLock::new();
    SHARED.get_or_init(Moto::start).as_ref()
}

/// Returns early from a test when moto is unavailable and skipping is
/// allowed: `let moto = moto_or_skip!();`.
#[macro_export]
macro_rules! moto_or_skip {
    () => {
        match moto::shared() {
            Some(m) => m,
            None => {
                eprintln!("skipped: moto_server is not installed (STACKCTL_SKIP_MOTO=1)");
                return;
            }
        }
    };
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free local port")
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// The Python interpreter named by a script's `#!` line, if it is one.
fn python_of(script: &Path) -> Option<PathBuf> {
    let text = std::fs::read(script).ok()?;
    let first = String::from_utf8_lossy(&text[..text.len().min(256)])
        .lines()
        .next()?
        .to_owned();
    let interpreter = PathBuf::from(first.strip_prefix("#!")?.split_whitespace().next()?);
    let is_python = interpreter
        .file_name()?
        .to_string_lossy()
        .starts_with("python");
    (is_python && interpreter.is_file()).then_some(interpreter)
}

fn missing() -> ! {
    panic!(
        "moto_server not found on PATH. These tests need moto's server mode: \
         `pip install \"moto[server]\"` (so that `moto_server` is on PATH). \
         Set STACKCTL_SKIP_MOTO=1 to skip them locally."
    )
}

impl Moto {
    /// Starts a server of its own; `None` when moto is missing and
    /// skipping is allowed. Panics with install instructions otherwise.
    pub fn start() -> Option<Moto> {
        let Some(script) = find_on_path("moto_server") else {
            if skip_allowed() {
                return None;
            }
            missing();
        };
        // moto's interpreter (a pyenv shim is a shell script: then python3).
        let python = python_of(&script).unwrap_or_else(|| PathBuf::from("python3"));
        let mut patched = Command::new(&python);
        patched.args(["-c", PATCHES]);
        let mut failures = String::new();
        for mut command in [patched, Command::new(&script)] {
            match Moto::launch(&mut command) {
                Ok(moto) => return Some(moto),
                Err(why) => failures.push_str(&format!("\n--- {command:?}:\n{why}")),
            }
        }
        panic!("moto did not start:{failures}");
    }

    fn launch(command: &mut Command) -> Result<Moto, String> {
        let port = free_port();
        let log = std::env::temp_dir().join(format!("stackctl-moto-{port}.log"));
        let log_file = std::fs::File::create(&log).map_err(|e| format!("log file: {e}"))?;
        let server = command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().map_err(|e| format!("log file: {e}"))?)
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("cannot start: {e}"))?;
        // Kill the server when this test binary exits, even on a panic or
        // a kill: statics are never dropped.
        let watchdog = Command::new("sh")
            .args([
                "-c",
                &format!(
                    "while kill -0 {parent} 2>/dev/null && kill -0 {server} 2>/dev/null; do sleep 1; done; \
                     kill {server} 2>/dev/null; rm -f '{log}'",
                    parent = std::process::id(),
                    server = server.id(),
                    log = log.display(),
                ),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok();
        let mut moto = Moto {
            endpoint: format!("http://127.0.0.1:{port}"),
            log,
            server,
            watchdog,
        };
        moto.wait_until_up(port)?;
        Ok(moto)
    }

    fn wait_until_up(&mut self, port: u16) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.server.try_wait() {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                return Err(format!("exited ({status}) before answering:\n{log}"));
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok()
                && self.request("GET", "/moto-api/").is_ok()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("did not answer on port {port} within 60 s"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A plain HTTP/1.0 request; returns the status line.
    fn request(&self, method: &str, path: &str) -> std::io::Result<String> {
        let addr = self.endpoint.trim_start_matches("http://");
        let mut stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            stream,
            "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: 0\r\n\r\n"
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        Ok(response.lines().next().unwrap_or_default().to_owned())
    }

    /// Forgets every resource (`POST /moto-api/reset`).
    pub fn reset(&self) {
        let status = self.request("POST", "/moto-api/reset").expect("reset moto");
        assert!(status.contains("200"), "moto reset answered {status}");
    }

    /// The server's log so far (requests, and which patches applied).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// An SDK config pointed at this server: dummy credentials, `region`.
    pub fn sdk_config(&self, region: &str) -> SdkConfig {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(region.to_owned()))
            .endpoint_url(&self.endpoint)
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "testing", "testing", None, None, "moto",
            )))
            .build()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
        if let Some(w) = &mut self.watchdog {
            let _ = w.kill();
            let _ = w.wait();
        }
        let _ = std::fs::remove_file(&self.log);
    }
}
