//! A moto server (`moto_server`, from `pip install "moto[server]"`) for tests
//! that drive the real AWS SDK over HTTP.
//!
//! [`shared`] starts one server per test binary, on a free port; tests
//! sharing it use distinct stack names, so they never see each other's
//! resources. [`Moto::start`] gives a test its own server, killed on drop.
//! A watchdog process kills either once the test binary exits.
//!
//! When `moto_server` is missing the tests fail, saying how to install it;
//! `STACKCTL_SKIP_MOTO=1` makes them skip instead (for a laptop without
//! Python; CI never sets it).
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::{Credentials, SharedCredentialsProvider};

/// The account moto answers for.
pub const ACCOUNT: &str = "123456789012";

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

impl Moto {
    /// Starts a server of its own; `None` when moto is missing and
    /// skipping is allowed. Panics with install instructions otherwise.
    pub fn start() -> Option<Moto> {
        let port = free_port();
        let log = std::env::temp_dir().join(format!("stackctl-moto-{port}.log"));
        let log_file = std::fs::File::create(&log).expect("create the moto log file");
        let spawned = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log file"))
            .stderr(log_file)
            .spawn();
        let server = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && skip_allowed() => return None,
            Err(e) => panic!(
                "cannot start moto_server ({e}). These tests need moto's server mode: \
                 `pip install \"moto[server]\"` (so that `moto_server` is on PATH). \
                 Set STACKCTL_SKIP_MOTO=1 to skip them locally."
            ),
        };
        // Kill the server when this test binary exits, even on a panic or
        // a kill: statics are never dropped.
        let watchdog = Command::new("sh")
            .args([
                "-c",
                &format!(
                    "while kill -0 {parent} 2>/dev/null && kill -0 {server} 2>/dev/null; do sleep 1; done; \
                     kill {server} 2>/dev/null",
                    parent = std::process::id(),
                    server = server.id()
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
        moto.wait_until_up(port);
        Some(moto)
    }

    fn wait_until_up(&mut self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.server.try_wait() {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                panic!("moto_server exited ({status}) before answering:\n{log}");
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok()
                && self.request("GET", "/moto-api/").is_ok()
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not answer on port {port} within 60 s"
            );
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
