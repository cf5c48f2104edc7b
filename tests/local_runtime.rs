//! The local target's Lambda Runtime API emulator
//! (`localcloud::lambda::runtime`) on real processes:
//!
//! - a fake custom runtime, a shell script speaking the documented HTTP
//!   protocol with curl, for the protocol paths (response, invocation
//!   error, init error, timeout, crash, environment, headers, status codes);
//! - the real packaged bootstraps (`generator`, `processor`, `promotion`)
//!   for the error path through `lambda_runtime` and the cold starts, which
//!   are printed (run with `-- --nocapture`), never asserted.

#![allow(clippy::unwrap_used)] // tests fail loudly; that is the point

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use localcloud::lambda::runtime::{
    FunctionProcessSpec, InvocationResult, InvocationStatus, RuntimeEmulator,
};

/// A custom runtime in POSIX sh. The event's `action` picks the behaviour.
const FAKE_RUNTIME: &str = r#"#!/bin/sh
API="http://${AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime"
echo "init: ${AWS_LAMBDA_FUNCTION_NAME}"
case "${FAKE_MODE:-}" in
  init-error)
    echo "cannot start" >&2
    curl -sS -o /dev/null -X POST \
      -H 'Lambda-Runtime-Function-Error-Type: Runtime.ConfigError' \
      --data '{"errorMessage":"missing setting","errorType":"Runtime.ConfigError"}' \
      "$API/init/error"
    exit 1 ;;
  init-crash)
    echo "boom in init" >&2
    exit 2 ;;
esac
HEADERS="./headers.$$"
while true; do
  EVENT="$(curl -sS -D "$HEADERS" "$API/invocation/next")" || exit 1
  ID="$(grep -i '^lambda-runtime-aws-request-id:' "$HEADERS" | cut -d' ' -f2 | tr -d '\r')"
  case "$EVENT" in
    *'"action":"sleep"'*)
      echo "sleeping"
      sleep "${FAKE_SLEEP:-37}" ;;
    *'"action":"crash"'*)
      echo "about to crash" >&2
      exit 3 ;;
    *'"action":"fail"'*)
      echo "failing"
      curl -sS -o /dev/null -X POST -H 'Lambda-Runtime-Function-Error-Type: Unhandled' \
        --data '{"errorMessage":"it failed on purpose","errorType":"PurposeError"}' \
        "$API/invocation/$ID/error" ;;
    *'"action":"env"'*)
      env > "./env.$$"
      curl -sS -o /dev/null -X POST --data-binary "@./env.$$" "$API/invocation/$ID/response" ;;
    *'"action":"headers"'*)
      curl -sS -o /dev/null -X POST --data-binary "@$HEADERS" "$API/invocation/$ID/response" ;;
    *'"action":"probe"'*)
      BAD=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data '{}' "$API/invocation/not-$ID/response")
      LATE=$(curl -s -o /dev/null -w '%{http_code}' -X POST --data '{}' "$API/init/error")
      UNKNOWN=$(curl -s -o /dev/null -w '%{http_code}' "$API/invocation/what")
      curl -sS -o /dev/null -X POST \
        --data "{\"bad_id\":$BAD,\"late_init_error\":$LATE,\"unknown\":$UNKNOWN}" \
        "$API/invocation/$ID/response" ;;
    *'"action":"pause"'*)
      sleep 0.3
      curl -sS -o /dev/null -X POST --data "{\"pid\":$$}" "$API/invocation/$ID/response" ;;
    *)
      echo "handling $EVENT"
      echo "to stderr" >&2
      curl -sS -o /dev/null -X POST --data "{\"echo\":$EVENT,\"pid\":$$}" \
        "$API/invocation/$ID/response" ;;
  esac
done
"#;

fn have_curl() -> bool {
    std::process::Command::new("curl")
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Writes the fake runtime as `<dir>/bootstrap`, executable.
fn fake_bootstrap(dir: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("bootstrap");
    std::fs::write(&path, FAKE_RUNTIME).expect("write bootstrap");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

fn fake_spec(dir: &Path, name: &str) -> FunctionProcessSpec {
    let mut spec = FunctionProcessSpec::new(name, fake_bootstrap(dir));
    spec.timeout_s = 5;
    spec
}

/// Skips a test (returns early) when curl is missing.
macro_rules! require_curl {
    () => {
        if !have_curl() {
            assert!(
                std::env::var_os("STACKCTL_REQUIRE_TOOLS").is_none(),
                "curl is required here (STACKCTL_REQUIRE_TOOLS is set)"
            );
            eprintln!("curl not found: skipping");
            return;
        }
    };
}

fn json(result: &InvocationResult) -> serde_json::Value {
    serde_json::from_slice(&result.response).unwrap_or_else(|e| {
        panic!(
            "response is not JSON ({e}): {}",
            String::from_utf8_lossy(&result.response)
        )
    })
}

fn messages(result: &InvocationResult) -> Vec<&str> {
    result.logs.iter().map(|e| e.message.as_str()).collect()
}

fn position(result: &InvocationResult, prefix: &str) -> usize {
    messages(result)
        .iter()
        .position(|m| m.starts_with(prefix))
        .unwrap_or_else(|| {
            panic!(
                "no line starting with {prefix:?} in {:#?}",
                messages(result)
            )
        })
}

/// START / END / REPORT framing with the request id, in order.
fn assert_framed(result: &InvocationResult) {
    let id = &result.request_id;
    let start = position(result, &format!("START RequestId: {id} Version: $LATEST"));
    let end = position(result, &format!("END RequestId: {id}"));
    let report = position(result, &format!("REPORT RequestId: {id}\t"));
    assert!(start < end && end < report, "{:#?}", messages(result));
    assert_eq!(report, result.logs.len() - 1);
    let line = result.report_line().expect("REPORT line");
    for field in [
        "\tDuration: ",
        " ms\tBilled Duration: ",
        "\tMemory Size: ",
        "\tMax Memory Used: ",
    ] {
        assert!(line.contains(field), "{field:?} missing from {line:?}");
    }
    assert_eq!(
        line.contains("\tInit Duration: "),
        result.init_duration_ms.is_some(),
        "{line}"
    );
    let mut last = 0;
    for e in &result.logs {
        assert!(e.timestamp_ms > 1_600_000_000_000, "{e:?}");
        last = last.max(e.timestamp_ms);
    }
    assert!(
        result.log_stream.contains("/[$LATEST]"),
        "{}",
        result.log_stream
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn response_logs_and_warm_reuse() {
    require_curl!();
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = fake_spec(dir.path(), "fake-fn");
    let emu = RuntimeEmulator::start().await.expect("start");

    let first = emu.invoke(&spec, br#"{"n":1}"#.to_vec()).await;
    assert_eq!(first.status, InvocationStatus::Succeeded, "{first:#?}");
    let body = json(&first);
    assert_eq!(body["echo"], serde_json::json!({"n": 1}));
    assert_framed(&first);
    assert!(
        first.init_duration_ms.is_some(),
        "first invoke is a cold start"
    );
    assert!(first.max_memory_used_mb >= 1, "{first:#?}");
    let report = first.report_line().expect("REPORT");
    assert!(report.contains("\tMemory Size: 128 MB\t"), "{report}");
    assert!(first.billed_duration_ms as f64 >= first.duration_ms);
    // Init output before START, handler output (stdout and stderr) inside.
    let start = position(&first, "START RequestId:");
    let end = position(&first, "END RequestId:");
    assert!(position(&first, "INIT_START ") < start);
    assert!(position(&first, "init: fake-fn") < start);
    let handling = position(&first, r#"handling {"n":1}"#);
    let stderr = position(&first, "to stderr");
    assert!(
        start < handling && handling < end,
        "{:#?}",
        messages(&first)
    );
    assert!(start < stderr && stderr < end, "{:#?}", messages(&first));

    let second = emu.invoke(&spec, br#"{"n":2}"#.to_vec()).await;
    assert_eq!(second.status, InvocationStatus::Succeeded, "{second:#?}");
    assert_framed(&second);
    assert_eq!(second.init_duration_ms, None, "second invoke is warm");
    assert_eq!(json(&second)["pid"], body["pid"], "same process");
    assert_eq!(second.log_stream, first.log_stream);
    assert_ne!(second.request_id, first.request_id);
    assert!(
        !messages(&second)
            .iter()
            .any(|m| m.starts_with("INIT_START"))
    );
    position(&second, r#"handling {"n":2}"#);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn process_gets_lambda_environment_only() {
    require_curl!();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut spec = fake_spec(dir.path(), "env-fn");
    spec.memory_mb = 512;
    spec.region = "eu-west-3".into();
    spec.account = "123456789012".into();
    spec.log_group = "/aws/lambda/env-fn".into();
    spec.environment = BTreeMap::from([
        ("RAW_BUCKET".to_owned(), "raw-bucket".to_owned()),
        (
            "AWS_ENDPOINT_URL".to_owned(),
            "http://127.0.0.1:1".to_owned(),
        ),
        ("AWS_ACCESS_KEY_ID".to_owned(), "AKIDLOCAL".to_owned()),
        // Reserved: the emulator's value wins.
        ("AWS_LAMBDA_FUNCTION_NAME".to_owned(), "not-me".to_owned()),
    ]);
    let emu = RuntimeEmulator::start().await.expect("start");
    let result = emu.invoke(&spec, br#"{"action":"env"}"#.to_vec()).await;
    assert_eq!(result.status, InvocationStatus::Succeeded, "{result:#?}");
    let text = String::from_utf8(result.response.clone()).expect("utf-8");
    let env: BTreeMap<&str, &str> = text.lines().filter_map(|l| l.split_once('=')).collect();
    let task_root = dir.path().display().to_string();
    let runtime_api = env["AWS_LAMBDA_RUNTIME_API"];
    assert!(runtime_api.starts_with("127.0.0.1:"), "{runtime_api}");
    assert_ne!(
        runtime_api,
        emu.addr().to_string(),
        "one listener per process"
    );
    let expected = [
        ("AWS_LAMBDA_FUNCTION_NAME", "env-fn"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/env-fn"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", result.log_stream.as_str()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
        ("AWS_REGION", "eu-west-3"),
        ("AWS_DEFAULT_REGION", "eu-west-3"),
        ("_HANDLER", "bootstrap"),
        ("LAMBDA_TASK_ROOT", task_root.as_str()),
        ("TZ", ":UTC"),
        ("RAW_BUCKET", "raw-bucket"),
        ("AWS_ENDPOINT_URL", "http://127.0.0.1:1"),
        ("AWS_ACCESS_KEY_ID", "AKIDLOCAL"),
    ];
    for (k, v) in expected {
        assert_eq!(env.get(k).copied(), Some(v), "{k} in {env:#?}");
    }
    // The stream name is YYYY/MM/DD/[$LATEST]<32 hex>.
    let (date, hex) = result
        .log_stream
        .split_once("/[$LATEST]")
        .expect("stream shape");
    assert_eq!(date.len(), 10);
    assert_eq!(hex.len(), 32);
    assert!(hex.chars().all(|c| c.is_ascii_hexdigit()));
    // Nothing else of the host leaks in (the shell adds PWD, SHLVL, _).
    let allowed: Vec<&str> = expected
        .iter()
        .map(|(k, _)| *k)
        .chain([
            "AWS_LAMBDA_RUNTIME_API",
            "PATH",
            "LANG",
            "PWD",
            "OLDPWD",
            "SHLVL",
            "_",
        ])
        .collect();
    let extra: Vec<&&str> = env.keys().filter(|k| !allowed.contains(k)).collect();
    assert!(extra.is_empty(), "unexpected variables: {extra:?}");
    // The working directory is the task root.
    let pwd = std::fs::canonicalize(env["PWD"]).expect("PWD");
    assert_eq!(pwd, std::fs::canonicalize(dir.path()).expect("task root"));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn next_sends_the_documented_headers() {
    require_curl!();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut spec = fake_spec(dir.path(), "headers-fn");
    spec.timeout_s = 7;
    spec.region = "us-west-2".into();
    spec.account = "210987654321".into();
    let emu = RuntimeEmulator::start().await.expect("start");
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    let result = emu.invoke(&spec, br#"{"action":"headers"}"#.to_vec()).await;
    assert_eq!(result.status, InvocationStatus::Succeeded, "{result:#?}");
    let text = String::from_utf8(result.response.clone()).expect("utf-8");
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let headers: BTreeMap<String, String> = text
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    assert_eq!(headers["lambda-runtime-aws-request-id"], result.request_id);
    assert_eq!(
        headers["lambda-runtime-invoked-function-arn"],
        "arn:aws:lambda:us-west-2:210987654321:function:headers-fn"
    );
    assert!(headers["lambda-runtime-trace-id"].starts_with("Root=1-"));
    let deadline: i64 = headers["lambda-runtime-deadline-ms"]
        .parse()
        .expect("deadline");
    assert!(
        deadline >= before + 6_000 && deadline <= before + 60_000,
        "deadline {deadline} vs now {before}"
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn api_status_codes() {
    require_curl!();
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = fake_spec(dir.path(), "probe-fn");
    let emu = RuntimeEmulator::start().await.expect("start");
    let result = emu.invoke(&spec, br#"{"action":"probe"}"#.to_vec()).await;
    assert_eq!(result.status, InvocationStatus::Succeeded, "{result:#?}");
    assert_eq!(
        json(&result),
        serde_json::json!({"bad_id": 400, "late_init_error": 403, "unknown": 404})
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn invocation_error_is_a_function_error_and_keeps_the_process() {
    require_curl!();
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = fake_spec(dir.path(), "fail-fn");
    let emu = RuntimeEmulator::start().await.expect("start");
    let failed = emu.invoke(&spec, br#"{"action":"fail"}"#.to_vec()).await;
    assert_eq!(
        failed.status,
        InvocationStatus::FunctionError {
            error_type: "PurposeError".into(),
            error_message: "it failed on purpose".into()
        },
        "{failed:#?}"
    );
    assert_eq!(json(&failed)["errorType"], "PurposeError");
    assert_framed(&failed);
    position(&failed, "failing");
    let next = emu.invoke(&spec, br#"{"n":3}"#.to_vec()).await;
    assert_eq!(next.status, InvocationStatus::Succeeded, "{next:#?}");
    assert_eq!(
        next.init_duration_ms, None,
        "the process survives a handler error"
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn init_error_is_reported() {
    require_curl!();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut spec = fake_spec(dir.path(), "init-fn");
    spec.environment
        .insert("FAKE_MODE".into(), "init-error".into());
    let emu = RuntimeEmulator::start().await.expect("start");
    let result = emu.invoke(&spec, b"{}".to_vec()).await;
    assert_eq!(
        result.status,
        InvocationStatus::InitError {
            error_type: "Runtime.ConfigError".into(),
            error_message: "missing setting".into()
        },
        "{result:#?}"
    );
    assert_framed(&result);
    assert!(position(&result, "cannot start") < position(&result, "INIT_REPORT "));
    assert!(result.init_duration_ms.is_some());
    emu.shutdown().await;
}

/// Whether a process runs with exactly this command line.
fn process_running(argv: &[&str]) -> bool {
    let want: Vec<u8> = argv.iter().flat_map(|a| a.bytes().chain([0])).collect();
    std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .flatten()
                .any(|e| std::fs::read(e.path().join("cmdline")).is_ok_and(|c| c == want))
        })
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread")]
async fn timeout_kills_the_process_group() {
    require_curl!();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut spec = fake_spec(dir.path(), "slow-fn");
    spec.timeout_s = 1;
    // A command line no other test run shares, to look for afterwards.
    let sleep_arg = format!("37.{}", std::process::id());
    spec.environment
        .insert("FAKE_SLEEP".into(), sleep_arg.clone());
    let emu = RuntimeEmulator::start().await.expect("start");
    let warm = emu.invoke(&spec, br#"{"n":0}"#.to_vec()).await;
    assert_eq!(warm.status, InvocationStatus::Succeeded, "{warm:#?}");

    let result = emu.invoke(&spec, br#"{"action":"sleep"}"#.to_vec()).await;
    assert_eq!(result.status, InvocationStatus::TimedOut, "{result:#?}");
    assert_framed(&result);
    let suffix = format!(" {} Task timed out after 1.00 seconds", result.request_id);
    let line = messages(&result)
        .into_iter()
        .find(|m| m.ends_with(&suffix))
        .unwrap_or_else(|| panic!("no timeout line in {:#?}", messages(&result)));
    // <ISO-8601 timestamp> <request id> Task timed out after 1.00 seconds
    let stamp = line.strip_suffix(&suffix).expect("suffix");
    assert_eq!(stamp.len(), "2024-01-01T00:00:00.000Z".len(), "{line}");
    assert!(
        stamp.ends_with('Z') && stamp.as_bytes()[10] == b'T',
        "{line}"
    );
    assert!(position(&result, "sleeping") < position(&result, "END RequestId:"));
    assert!(
        result
            .report_line()
            .expect("REPORT")
            .ends_with("\tStatus: timeout")
    );
    assert!(result.duration_ms >= 1000.0, "{}", result.duration_ms);
    assert!(result.duration_ms < 5000.0, "{}", result.duration_ms);
    assert_eq!(json(&result)["errorType"], "Sandbox.Timedout");
    assert!(
        !process_running(&["sleep", &sleep_arg]),
        "the runtime's child survived the timeout"
    );

    let after = emu.invoke(&spec, br#"{"n":1}"#.to_vec()).await;
    assert_eq!(after.status, InvocationStatus::Succeeded, "{after:#?}");
    assert!(
        after.init_duration_ms.is_some(),
        "a timed-out process is not reused"
    );
    assert_ne!(json(&after)["pid"], json(&warm)["pid"]);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn crash_reports_exit_status_and_stderr() {
    require_curl!();
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = fake_spec(dir.path(), "crash-fn");
    let emu = RuntimeEmulator::start().await.expect("start");
    let result = emu.invoke(&spec, br#"{"action":"crash"}"#.to_vec()).await;
    let InvocationStatus::Crashed { exit, stderr_tail } = &result.status else {
        panic!("expected a crash: {result:#?}");
    };
    assert_eq!(exit, "exit status 3");
    assert!(stderr_tail.contains("about to crash"), "{stderr_tail:?}");
    assert_framed(&result);
    position(
        &result,
        &format!(
            "RequestId: {} Error: Runtime exited with error: exit status 3",
            result.request_id
        ),
    );
    position(&result, "Runtime.ExitError");
    assert_eq!(json(&result)["errorType"], "Runtime.ExitError");

    let after = emu.invoke(&spec, br#"{"n":1}"#.to_vec()).await;
    assert_eq!(after.status, InvocationStatus::Succeeded, "{after:#?}");
    assert!(
        after.init_duration_ms.is_some(),
        "a crashed process is replaced"
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn crash_during_init() {
    require_curl!();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut spec = fake_spec(dir.path(), "init-crash-fn");
    spec.environment
        .insert("FAKE_MODE".into(), "init-crash".into());
    let emu = RuntimeEmulator::start().await.expect("start");
    let result = emu.invoke(&spec, b"{}".to_vec()).await;
    assert_eq!(
        result.status,
        InvocationStatus::Crashed {
            exit: "exit status 2".into(),
            stderr_tail: "boom in init".into()
        },
        "{result:#?}"
    );
    assert_framed(&result);
    assert!(position(&result, "boom in init") < position(&result, "INIT_REPORT "));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_bootstrap_is_an_init_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = FunctionProcessSpec::new("ghost", dir.path().join("no-such-bootstrap"));
    let emu = RuntimeEmulator::start().await.expect("start");
    let result = emu.invoke(&spec, b"{}".to_vec()).await;
    let InvocationStatus::InitError { error_type, .. } = &result.status else {
        panic!("expected an init error: {result:#?}");
    };
    assert_eq!(error_type, "Runtime.InvalidEntrypoint");
    assert_framed(&result);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_invocations_get_separate_processes() {
    require_curl!();
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = fake_spec(dir.path(), "busy-fn");
    let emu = Arc::new(RuntimeEmulator::start().await.expect("start"));
    let run = |emu: Arc<RuntimeEmulator>, spec: FunctionProcessSpec| {
        tokio::spawn(async move { emu.invoke(&spec, br#"{"action":"pause"}"#.to_vec()).await })
    };
    let (a, b) = (
        run(emu.clone(), spec.clone()),
        run(emu.clone(), spec.clone()),
    );
    let (a, b) = (a.await.expect("join"), b.await.expect("join"));
    for r in [&a, &b] {
        assert_eq!(r.status, InvocationStatus::Succeeded, "{r:#?}");
        assert!(r.init_duration_ms.is_some());
    }
    assert_ne!(json(&a)["pid"], json(&b)["pid"]);
    assert_ne!(a.log_stream, b.log_stream);

    // The status listener lists both, idle now.
    let status = http_get(emu.addr(), "/").await;
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    let body = status.split("\r\n\r\n").nth(1).unwrap_or_default();
    let doc: serde_json::Value = serde_json::from_str(body).expect("status JSON");
    let procs = doc["processes"].as_array().expect("processes");
    assert_eq!(procs.len(), 2, "{doc:#}");
    assert!(
        procs
            .iter()
            .all(|p| p["function"] == "busy-fn" && p["busy"] == false)
    );
    let refused = http_get(emu.addr(), "/2018-06-01/runtime/invocation/next").await;
    assert!(refused.starts_with("HTTP/1.1 404"), "{refused}");

    let emu = Arc::try_unwrap(emu).unwrap_or_else(|_| panic!("emulator still shared"));
    emu.shutdown().await;
}

async fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).await.expect("read");
    out
}

// ------------------------------------------------------ the real bootstraps

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// `<target dir>/release/<name>`, building the Lambda binaries first when
/// one is missing.
fn real_bootstrap(name: &str) -> PathBuf {
    let root = workspace_root();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(|d| root.join(d))
        .unwrap_or_else(|| root.join("target"));
    let path = target.join("release").join(name);
    if !path.is_file() {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let status = std::process::Command::new(cargo)
            .args(["build", "--release", "--workspace", "--bins"])
            .current_dir(&root)
            .status()
            .expect("run cargo build");
        assert!(
            status.success(),
            "cargo build --release --workspace --bins failed"
        );
    }
    assert!(path.is_file(), "{} missing after the build", path.display());
    path
}

fn real_spec(name: &str, function_name: &str) -> FunctionProcessSpec {
    let mut spec = FunctionProcessSpec::new(function_name, real_bootstrap(name));
    spec.memory_mb = 512;
    spec.timeout_s = 30;
    spec
}

#[tokio::test(flavor = "multi_thread")]
async fn generator_without_raw_bucket_is_a_configuration_error() {
    let spec = real_spec("generator", "generator");
    let emu = RuntimeEmulator::start().await.expect("start");
    let result = emu
        .invoke(&spec, br#"{"rows": 100, "seed": 1}"#.to_vec())
        .await;
    let InvocationStatus::FunctionError {
        error_type,
        error_message,
    } = &result.status
    else {
        panic!("expected a function error: {result:#?}");
    };
    assert_eq!(error_type, "Configuration", "{result:#?}");
    println!(
        "generator without RAW_BUCKET, log stream {}:",
        result.log_stream
    );
    for e in &result.logs {
        println!("  {} {}", e.timestamp_ms, e.message);
    }
    assert!(error_message.contains("RAW_BUCKET"), "{error_message}");
    assert_eq!(json(&result)["errorType"], "Configuration");
    assert_framed(&result);
    assert!(result.init_duration_ms.is_some());
    assert!(result.max_memory_used_mb >= 1);

    // lambda_runtime keeps polling after a handler error: the next one is warm.
    let again = emu
        .invoke(&spec, br#"{"rows": 100, "seed": 1}"#.to_vec())
        .await;
    assert_eq!(again.status, result.status);
    assert_eq!(again.init_duration_ms, None);
    assert_eq!(again.log_stream, result.log_stream);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cold_starts_of_the_real_bootstraps() {
    const ROUNDS: usize = 5;
    let emu = RuntimeEmulator::start().await.expect("start");
    println!("cold start under the runtime emulator ({ROUNDS} fresh processes each):");
    for name in ["generator", "processor", "promotion"] {
        let mut inits = Vec::new();
        let mut warm = Vec::new();
        let mut round_trips = Vec::new();
        let mut cold_round_trips = Vec::new();
        let mut peak = 0;
        for round in 0..ROUNDS {
            // A new function name: a new process, so a cold start.
            let spec = real_spec(name, &format!("{name}-cold-{round}"));
            let t = std::time::Instant::now();
            let cold = emu.invoke(&spec, b"{}".to_vec()).await;
            cold_round_trips.push(t.elapsed().as_secs_f64() * 1000.0);
            assert!(
                matches!(
                    cold.status,
                    InvocationStatus::Succeeded | InvocationStatus::FunctionError { .. }
                ),
                "{name}: {cold:#?}"
            );
            assert_framed(&cold);
            inits.push(cold.init_duration_ms.expect("cold start"));
            let t = std::time::Instant::now();
            let hot = emu.invoke(&spec, b"{}".to_vec()).await;
            round_trips.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(hot.init_duration_ms, None, "{name}: warm");
            warm.push(hot.duration_ms);
            peak = peak.max(hot.max_memory_used_mb);
            if round == 0 {
                println!(
                    "  {name}: {} -> {}",
                    cold.status.label(),
                    cold.report_line().unwrap_or("")
                );
            }
        }
        for v in [
            &mut inits,
            &mut warm,
            &mut round_trips,
            &mut cold_round_trips,
        ] {
            v.sort_by(f64::total_cmp);
        }
        let median = ROUNDS / 2;
        println!(
            "  {name:<9} init: min {:.2} ms, median {:.2} ms, max {:.2} ms; cold invoke() median {:.2} ms; \
             warm Duration median {:.2} ms, warm invoke() median {:.2} ms; peak RSS {peak} MB",
            inits[0],
            inits[median],
            inits[ROUNDS - 1],
            cold_round_trips[median],
            warm[median],
            round_trips[median]
        );
    }
    emu.shutdown().await;
    // Keep the cold starts honest: nothing left running.
    tokio::time::sleep(Duration::from_millis(10)).await;
}

/// The lines a cold invocation and a failing warm one log, as Lambda's
/// shapes: the numbers and ids vary, so they are redacted.
#[tokio::test(flavor = "multi_thread")]
async fn log_lines_have_lambdas_shape() {
    require_curl!();
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = fake_spec(dir.path(), "shape-fn");
    let emu = RuntimeEmulator::start().await.expect("start");
    let ok = emu.invoke(&spec, br#"{"n":1}"#.to_vec()).await;
    let failed = emu.invoke(&spec, br#"{"action":"fail"}"#.to_vec()).await;
    let mut lines: Vec<String> = Vec::new();
    for (name, r) in [("cold, succeeded", &ok), ("warm, failed", &failed)] {
        lines.push(format!("# {name}: {}", r.status.label()));
        // stdout and stderr are two pipes: their relative order is the
        // host's (response_logs_and_warm_reuse checks both land inside).
        lines.extend(
            r.logs
                .iter()
                .map(|e| e.message.trim_end().to_owned())
                .filter(|m| m != "to stderr"),
        );
    }
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        "[request-id]",
    );
    settings.add_filter(r"\d+\.\d\d ms", "[ms] ms");
    settings.add_filter(r"Billed Duration: \d+ ms", "Billed Duration: [n] ms");
    settings.add_filter(r"Max Memory Used: \d+ MB", "Max Memory Used: [n] MB");
    settings.add_filter(r#""pid":\d+"#, r#""pid":[pid]"#);
    settings.bind(|| insta::assert_snapshot!("runtime_log_lines", lines.join("\n")));
    emu.shutdown().await;
}
