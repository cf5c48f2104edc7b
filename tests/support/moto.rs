//! A moto server (`moto_server`, from `pip install "moto[server]"`) for tests
//! that drive the real AWS SDK over HTTP.
//!
//! [`shared`] starts one server per test binary, on a free port; tests
//! sharing it use distinct stack names, so they never see each other's
//! resources. [`Moto::start`] gives a test its own server, killed on drop.
//! A watchdog process kills either once the test binary exits.
//!
//! The server runs in moto's own Python with [`PATCHES`] applied first:
//! moto 5.2 behaviours that differ from AWS's where a stack meets them (see there).
//! If the patched start fails (moto's internals moved), the plain
//! `moto_server` is started instead and the log says why.
//!
//! When `moto_server` is missing the tests fail, saying how to install it;
//! `STACKCTL_SKIP_MOTO=1` makes them skip instead (for a laptop without
//! Python; CI never sets it).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::{Credentials, SharedCredentialsProvider};

/// The account moto answers for.
pub const ACCOUNT: &str = "123456789012";

/// Run before moto's server starts (moto 5.2.x; each patch is skipped with a
/// warning in the log when moto's internals differ). All but the fourth
/// make moto answer as AWS does; the fourth is a test instrument, fault
/// injection between the SDK and moto (see [`Moto::faults`]):
///
/// 1. GetBucketNotificationConfiguration never returns the
///    `EventBridgeConfiguration` moto stored, so a bucket sending events to
///    EventBridge would always read as drifted. The patch adds it back.
/// 2. Bucket policies are evaluated with every condition operator but
///    `StringEquals` ignored, so the stack's TLS-only statement (Deny unless
///    `aws:SecureTransport`) denies every object request; AWS would allow
///    them over TLS. The patch evaluates bucket policies as for TLS
///    requests: such statements are left out.
/// 3. UpdateFunctionCode ignores `Architectures`, which AWS applies, so an
///    architecture change never converged. The patch applies it.
/// 5. Glue's DeleteDatabase keeps the database's tags for the next database
///    of that name; AWS drops them.
/// 6. Athena has no UpdateWorkGroup, keeps a deleted workgroup's tags, and
///    fails ListTagsForResource of an untagged workgroup; AWS has the call,
///    drops the tags, and answers an empty list.
/// 7. Athena's GetQueryResults returns every row in one answer; AWS pages
///    them, 1000 rows at most per page.
/// 8. CompleteMultipartUpload answers with the root element
///    `CompleteMultipartUploadResponse`; AWS's (and the SDK's parser's) is
///    `CompleteMultipartUploadResult` (getmoto/moto#10055, fixed after 5.2.1).
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

# 3. UpdateFunctionCode ignores `Architectures` (moto 5.2), while AWS
#    sets the function's architecture from it (the API reference: "The
#    instruction set architecture that the function supports"), so an
#    architecture change would never converge. The patch applies it.
try:
    from moto.awslambda.models import LambdaFunction

    _update_code = LambdaFunction.update_function_code

    def update_function_code(self, updated_spec):
        if updated_spec.get("Architectures"):
            self.architectures = updated_spec["Architectures"]
        return _update_code(self, updated_spec)

    LambdaFunction.update_function_code = update_function_code
    print("stackctl moto harness: UpdateFunctionCode Architectures patched", file=sys.stderr, flush=True)
except Exception as e:
    _warn("UpdateFunctionCode Architectures", e)

# 5. Glue's DeleteDatabase leaves the database's tags in moto's tagger
#    (moto 5.2), and a new database of the same name gets them: a database
#    someone else re-created would read as the stack's. AWS drops a
#    resource's tags with it. The patch drops them.
try:
    from moto.glue.models import GlueBackend

    _delete_database = GlueBackend.delete_database

    def delete_database(self, database_name):
        _delete_database(self, database_name)
        arn = f"arn:aws:glue:{self.region_name}:{self.account_id}:database/{database_name}"
        self.tagger.delete_all_tags_for_resource(arn)

    GlueBackend.delete_database = delete_database
    print("stackctl moto harness: Glue DeleteDatabase tags patched", file=sys.stderr, flush=True)
except Exception as e:
    _warn("Glue DeleteDatabase tags", e)

# 6. Athena (moto 5.2) has no UpdateWorkGroup, which AWS has (the API
#    reference: ConfigurationUpdates, with ResultConfigurationUpdates'
#    OutputLocation / RemoveOutputLocation and EncryptionConfiguration /
#    RemoveEncryptionConfiguration, and EnforceWorkGroupConfiguration), so
#    no workgroup drift could be repaired; DeleteWorkGroup keeps the
#    workgroup's tags for a new one of that name; and ListTagsForResource
#    of an untagged workgroup is an error where AWS answers an empty list.
#    The patch adds the call and answers as AWS does.
try:
    from moto.athena.models import AthenaBackend
    from moto.athena.responses import AthenaResponse

    def update_work_group(self):
        name = self._get_param("WorkGroup")
        wg = self.athena_backend.work_groups.get(name)
        if wg is None:
            return self.error(f"WorkGroup {name} is not found.", 400)
        updates = self._get_param("ConfigurationUpdates") or {}
        results = updates.get("ResultConfigurationUpdates") or {}
        config = wg.configuration.setdefault("ResultConfiguration", {})
        if results.get("RemoveOutputLocation"):
            config.pop("OutputLocation", None)
        if "OutputLocation" in results:
            config["OutputLocation"] = results["OutputLocation"]
        if results.get("RemoveEncryptionConfiguration"):
            config.pop("EncryptionConfiguration", None)
        if "EncryptionConfiguration" in results:
            config["EncryptionConfiguration"] = results["EncryptionConfiguration"]
        if "EnforceWorkGroupConfiguration" in updates:
            wg.configuration["EnforceWorkGroupConfiguration"] = updates["EnforceWorkGroupConfiguration"]
        if self._get_param("Description") is not None:
            wg.description = self._get_param("Description")
        return "{}"

    AthenaResponse.update_work_group = update_work_group

    _delete_work_group = AthenaBackend.delete_work_group

    def delete_work_group(self, name):
        wg = self.work_groups.get(name)
        _delete_work_group(self, name)
        if wg is not None:
            self.tagger.delete_all_tags_for_resource(wg.arn)

    AthenaBackend.delete_work_group = delete_work_group

    _list_tags = AthenaResponse.list_tags_for_resource

    def list_tags_for_resource(self):
        arn = self._get_param("ResourceARN") or ""
        name = arn.split(":workgroup/", 1)[-1]
        if ":workgroup/" in arn and name in self.athena_backend.work_groups:
            return json.dumps(self.athena_backend.list_tags_for_resource(arn) or {"Tags": []})
        return _list_tags(self)

    AthenaResponse.list_tags_for_resource = list_tags_for_resource
    print("stackctl moto harness: Athena UpdateWorkGroup and workgroup tags patched", file=sys.stderr, flush=True)
except Exception as e:
    _warn("Athena UpdateWorkGroup and workgroup tags", e)

# 7. Athena's GetQueryResults answers every row at once in moto 5.2; AWS
#    pages them (MaxResults, at most and by default 1000; NextToken). The
#    patch pages as AWS does, so a client that stops after one page fails.
try:
    from moto.athena.responses import AthenaResponse

    _get_results = AthenaResponse.get_query_results

    def get_query_results(self):
        body = json.loads(_get_results(self))
        rows = body.get("ResultSet", {}).get("Rows", [])
        size = min(int(self._get_param("MaxResults") or 1000), 1000)
        start = int(self._get_param("NextToken") or 0)
        body["ResultSet"]["Rows"] = rows[start:start + size]
        if start + size < len(rows):
            body["NextToken"] = str(start + size)
        return json.dumps(body)

    AthenaResponse.get_query_results = get_query_results
    print("stackctl moto harness: Athena GetQueryResults paging patched", file=sys.stderr, flush=True)
except Exception as e:
    _warn("Athena GetQueryResults paging", e)

# 4. Faults between the SDK and moto (tests/aws_faults.rs), off until a
#    test turns them on through `POST /stackctl-faults?...`:
#    - rate=R&seed=S: answer a share R of requests (seeded) with a fault
#      instead of passing them on: 500 InternalError, 503 SlowDown (S3) or
#      the service's throttling error;
#    - kill_after=N: once the N-th mutating request (from then on) has been
#      handled by moto, SIGKILL the process `pid=P` before it gets the
#      answer (`pid` may come in a second call; the request waits for it).
#    `GET /stackctl-faults` returns the counters as JSON.
try:
    import io, os, random, signal, threading, time
    from urllib.parse import parse_qs
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    _dispatch = DomainDispatcherApplication.__call__
    _faults = {"rate": 0.0, "rng": random.Random(0), "kill_after": 0, "pid": 0,
               "mutating": 0, "faulted": 0, "requests": 0, "killed": 0}
    _faults_lock = threading.Lock()

    def _service(environ):
        auth = environ.get("HTTP_AUTHORIZATION", "")
        m = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request", auth)
        return m.group(1) if m else ""

    def _operation(environ, body):
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            return target.rsplit(".", 1)[-1]
        form = parse_qs(body.decode("utf-8", "replace")) if body else {}
        if "Action" in form:
            return form["Action"][0]
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if "Action" in query:
            return query["Action"][0]
        return "Get" if environ.get("REQUEST_METHOD") in ("GET", "HEAD") else "Mutate"

    def _is_read(op):
        return op.startswith(("Get", "List", "Describe", "Head", "Filter"))

    def _fault(environ, start_response, service, n):
        kind = n % 3
        if service == "s3":
            code, status = (("InternalError", "500 Internal Server Error"), ("SlowDown", "503 Slow Down"), ("SlowDown", "503 Slow Down"))[kind]
            body = f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>injected</Message><RequestId>f{n}</RequestId></Error>"
            headers = [("Content-Type", "application/xml")]
        elif environ.get("HTTP_X_AMZ_TARGET") or service == "lambda":
            code, status = (("InternalFailure", "500 Internal Server Error"), ("ServiceUnavailableException", "503 Service Unavailable"), ("ThrottlingException", "400 Bad Request"))[kind]
            if service == "lambda" and kind == 2:
                code, status = ("TooManyRequestsException", "429 Too Many Requests")
            body = json.dumps({"__type": code, "message": "injected"})
            headers = [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)]
        else:
            code, status = (("InternalFailure", "500 Internal Server Error"), ("ServiceUnavailable", "503 Service Unavailable"), ("Throttling", "400 Bad Request"))[kind]
            body = f"<ErrorResponse><Error><Type>Receiver</Type><Code>{code}</Code><Message>injected</Message></Error><RequestId>f{n}</RequestId></ErrorResponse>"
            headers = [("Content-Type", "text/xml")]
        out = body.encode()
        start_response(status, headers + [("Content-Length", str(len(out)))])
        return [out]

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path == "/stackctl-faults":
            query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
            with _faults_lock:
                if "rate" in query:
                    _faults["rate"] = float(query["rate"])
                    _faults["rng"] = random.Random(int(query.get("seed", "0")))
                if "kill_after" in query:
                    _faults["kill_after"] = int(query["kill_after"])
                    _faults["mutating"] = 0
                    _faults["pid"] = 0
                if "pid" in query:
                    _faults["pid"] = int(query["pid"])
                if "reset" in query:
                    for k in ("mutating", "faulted", "requests", "killed"):
                        _faults[k] = 0
                state = {k: v for k, v in _faults.items() if k != "rng"}
            out = json.dumps(state).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(out)))])
            return [out]
        if path.startswith("/moto-api"):
            return _dispatch(self, environ, start_response)
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        service = _service(environ)
        op = _operation(environ, body)
        with _faults_lock:
            _faults["requests"] += 1
            n = _faults["requests"]
            fault = _faults["rate"] > 0 and _faults["rng"].random() < _faults["rate"]
            if fault:
                _faults["faulted"] += 1
            kill = False
            if not fault and not _is_read(op):
                _faults["mutating"] += 1
                kill = _faults["kill_after"] > 0 and _faults["mutating"] == _faults["kill_after"]
        if fault:
            return _fault(environ, start_response, service, n)
        if not kill:
            return _dispatch(self, environ, start_response)
        captured = {}
        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
        out = b"".join(_dispatch(self, environ, capture))
        deadline = time.time() + 10
        while time.time() < deadline:
            with _faults_lock:
                pid = _faults["pid"]
            if pid:
                break
            time.sleep(0.02)
        if pid:
            # Counted before the signal: the test reads the counter as soon
            # as its child is dead, which can be before this thread runs on.
            with _faults_lock:
                _faults["killed"] += 1
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError as e:
                with _faults_lock:
                    _faults["killed"] -= 1
                print(f"stackctl moto harness: kill {pid}: {e!r}", file=sys.stderr, flush=True)
        start_response(captured["status"], captured["headers"])
        return [out]

    DomainDispatcherApplication.__call__ = __call__
    print("stackctl moto harness: fault injection ready", file=sys.stderr, flush=True)
except Exception as e:
    _warn("fault injection", e)

# 8. CompleteMultipartUpload's root element (getmoto/moto#10055).
try:
    from moto.s3.responses import S3Response

    _key_post = S3Response._key_response_post

    def _key_response_post(self, request, body, bucket_name, query, key_name):
        status, headers, out = _key_post(self, request, body, bucket_name, query, key_name)
        if "uploadId" in query and isinstance(out, (str, bytes)):
            wrong, right = "CompleteMultipartUploadResponse", "CompleteMultipartUploadResult"
            if isinstance(out, bytes):
                out = out.replace(wrong.encode(), right.encode())
            else:
                out = out.replace(wrong, right)
        return status, headers, out

    S3Response._key_response_post = _key_response_post
    print("stackctl moto harness: CompleteMultipartUpload root element patched", file=sys.stderr, flush=True)
except Exception as e:
    _warn("CompleteMultipartUpload root element", e)

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

/// The server of one test module, started on first use; `None` when moto
/// is not installed and skipping is allowed. Each module (`module_path!()`)
/// gets its own server, so modules of one test binary never see each
/// other's stacks, whatever names they use.
pub fn shared_for(module: &'static str) -> Option<&'static Moto> {
    static SERVERS: Mutex<BTreeMap<&'static str, Option<&'static Moto>>> =
        Mutex::new(BTreeMap::new());
    let mut servers = SERVERS.lock().unwrap_or_else(|e| e.into_inner());
    *servers
        .entry(module)
        .or_insert_with(|| Moto::start().map(|m| &*Box::leak(Box::new(m))))
}

/// Returns early from a test when moto is unavailable and skipping is
/// allowed: `let moto = moto_or_skip!();` (the calling module's server).
#[allow(unused_macros)] // the benches include this file too
macro_rules! moto_or_skip {
    () => {
        match $crate::moto::shared_for(module_path!()) {
            Some(m) => m,
            None => {
                eprintln!("skipped: moto_server is not installed (STACKCTL_SKIP_MOTO=1)");
                return;
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use moto_or_skip;

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
    /// The status line of `method path` with no body.
    fn request(&self, method: &str, path: &str) -> std::io::Result<String> {
        let response = self.exchange(method, path, "", "")?;
        Ok(response.lines().next().unwrap_or_default().to_owned())
    }

    /// One raw HTTP/1.0 exchange with the server (its own endpoints, which
    /// the SDK does not speak): the whole response.
    fn exchange(
        &self,
        method: &str,
        path: &str,
        content_type: &str,
        body: &str,
    ) -> std::io::Result<String> {
        let addr = self.endpoint.trim_start_matches("http://");
        let mut stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let content_type = if content_type.is_empty() {
            String::new()
        } else {
            format!("Content-Type: {content_type}\r\n")
        };
        write!(
            stream,
            "{method} {path} HTTP/1.0\r\nHost: {addr}\r\n{content_type}Content-Length: {}\r\n\r\n{body}",
            body.len()
        )?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        Ok(response)
    }

    /// Sets or reads the fault injection (`/stackctl-faults?<query>`, see
    /// [`PATCHES`]); returns its counters as JSON. Panics when the patch did
    /// not apply: a test relying on faults must not pass without them.
    pub fn faults(&self, query: &str) -> serde_json::Value {
        let response = self
            .exchange("POST", &format!("/stackctl-faults?{query}"), "", "")
            .expect("moto's fault injection");
        let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
        serde_json::from_str(body).unwrap_or_else(|e| {
            panic!(
                "moto's fault injection did not answer ({e}): {response}\n{}",
                self.log_text()
            )
        })
    }

    /// Queues canned Athena results (moto runs no SQL): each next query
    /// execution's GetQueryResults answers the next of `results`, each
    /// `{"rows": [...], "column_info": [...]}` as Athena's ResultSet has
    /// them (`POST /moto-api/static/athena/query-results`).
    pub fn queue_athena_results(&self, region: &str, results: serde_json::Value) {
        let body = serde_json::json!({
            "account_id": ACCOUNT,
            "region": region,
            "results": results,
        })
        .to_string();
        let response = self
            .exchange(
                "POST",
                "/moto-api/static/athena/query-results",
                "application/json",
                &body,
            )
            .expect("queue Athena results");
        let status = response.lines().next().unwrap_or_default();
        assert!(
            status.contains(" 200") || status.contains(" 201"),
            "moto refused the canned Athena results: {response}"
        );
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
