//! The local cloud, running: the S3 endpoint, the Lambda runtime emulator,
//! and the routing between them. A write through the endpoint invokes every
//! function its bucket's notification or a matching EventBridge rule names,
//! as on AWS; `wait_idle` returns when that cascade has finished.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use serde::Serialize;
use tokio::sync::watch;

use crate::iam::Role;
use crate::lambda::Function;
use crate::lambda::runtime::{FunctionProcessSpec, InvocationResult, RuntimeEmulator};
use crate::logs;
use crate::routing::{Delivery, DeliveryVia, notification_targets};
use crate::s3::{self, ObjectCreated, ObjectEvents, S3Endpoint};
use crate::store::Store;

/// One finished invocation, as `invoke` reports it.
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

struct Running {
    function: String,
    role: String,
    started: Instant,
    written: Vec<String>,
}

/// Services of a running local cloud.
pub struct RunningCloud {
    store: Arc<Store>,
    s3: S3Endpoint,
    runtime: RuntimeEmulator,
    records: Mutex<Vec<InvocationRecord>>,
    running: Mutex<BTreeMap<u64, Running>>,
    next: std::sync::atomic::AtomicU64,
    /// Invocations started and not yet finished.
    pending: watch::Sender<usize>,
    account: String,
    region: String,
    on_problem: OnProblem,
}

/// Told of what goes wrong outside any one request (a write that cannot be
/// routed, logs that cannot be stored), for the operator to see.
pub type OnProblem = Arc<dyn Fn(String) + Send + Sync>;

/// Routes object events to the services without a reference cycle.
struct Router(Mutex<Weak<RunningCloud>>);

impl ObjectEvents for Router {
    fn object_created(&self, event: ObjectCreated) {
        let Some(services) = self.0.lock().unwrap_or_else(|p| p.into_inner()).upgrade() else {
            return;
        };
        services.attribute_write(&event);
        match notification_targets(&services.store, &event) {
            Ok(deliveries) => {
                for d in deliveries {
                    services.spawn_delivery(d);
                }
            }
            // A hand-edited, unreadable rule: say so where the operator looks.
            Err(e) => (services.on_problem)(format!(
                "cannot route s3://{}/{}: {e}",
                event.bucket, event.key
            )),
        }
    }
}

impl RunningCloud {
    /// Starts the S3 endpoint on `127.0.0.1:port` (0: any) and the runtime.
    pub async fn start(
        store: Arc<Store>,
        port: u16,
        on_problem: OnProblem,
    ) -> std::io::Result<Arc<Self>> {
        let router = Arc::new(Router(Mutex::new(Weak::new())));
        let s3 = s3::start(store.clone(), router.clone(), port).await?;
        let runtime = RuntimeEmulator::start().await?;
        let services = Arc::new(Self {
            store,
            s3,
            runtime,
            records: Mutex::new(Vec::new()),
            running: Mutex::new(BTreeMap::new()),
            next: std::sync::atomic::AtomicU64::new(0),
            pending: watch::channel(0).0,
            account: crate::ACCOUNT.to_owned(),
            region: crate::REGION.to_owned(),
            on_problem,
        });
        *router.0.lock().unwrap_or_else(|p| p.into_inner()) = Arc::downgrade(&services);
        Ok(services)
    }

    /// `http://127.0.0.1:PORT` of the S3 endpoint.
    pub fn s3_url(&self) -> String {
        self.s3.url()
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// Invokes `function_name` with `payload` and records the result; the
    /// cascade it starts runs on (see [`Self::wait_idle`]).
    pub async fn invoke(
        self: &Arc<Self>,
        function_name: &str,
        payload: Vec<u8>,
        trigger: String,
    ) -> InvocationRecord {
        self.pending.send_modify(|n| *n += 1);
        let record = self.run(function_name, payload, trigger).await;
        self.records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(record.clone());
        self.pending.send_modify(|n| *n -= 1);
        record
    }

    fn spawn_delivery(self: &Arc<Self>, d: Delivery) {
        let trigger = match &d.via {
            DeliveryVia::S3Notification { configuration_id } => format!("s3:{configuration_id}"),
            DeliveryVia::Rule { name } => format!("rule:{name}"),
        };
        // Count it before the writer's response goes out, so a waiter
        // cannot see the cascade idle in between.
        self.pending.send_modify(|n| *n += 1);
        let services = self.clone();
        tokio::spawn(async move {
            let payload = serde_json::to_vec(&d.event).unwrap_or_default();
            services.invoke(&d.function, payload, trigger).await;
            services.pending.send_modify(|n| *n -= 1);
        });
    }

    /// Waits until no invocation is running or queued.
    pub async fn wait_idle(&self) {
        let mut rx = self.pending.subscribe();
        let _ = rx.wait_for(|n| *n == 0).await;
    }

    /// Every invocation finished so far, in order of completion.
    pub fn records(&self) -> Vec<InvocationRecord> {
        self.records
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub async fn shutdown(self: Arc<Self>) {
        self.s3.shutdown().await;
        if let Ok(services) = Arc::try_unwrap(self) {
            services.runtime.shutdown().await;
        }
    }

    fn attribute_write(&self, event: &ObjectCreated) {
        let Some(role) = &event.role else { return };
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        // The earliest running invocation of that role wrote it.
        if let Some(r) = running
            .values_mut()
            .filter(|r| &r.role == role)
            .min_by_key(|r| r.started)
        {
            r.written
                .push(format!("s3://{}/{}", event.bucket, event.key));
        }
    }

    async fn run(
        self: &Arc<Self>,
        function_name: &str,
        payload: Vec<u8>,
        trigger: String,
    ) -> InvocationRecord {
        let failed = |error: String| InvocationRecord {
            function: function_name.to_owned(),
            request_id: String::new(),
            trigger: trigger.clone(),
            status: "InitError".into(),
            error: Some(error),
            duration_ms: 0.0,
            init_duration_ms: None,
            max_memory_used_mb: 0,
            objects_written: Vec::new(),
            log_group: format!("/aws/lambda/{function_name}"),
            log_stream: String::new(),
            response: serde_json::Value::Null,
            logs: Vec::new(),
        };
        let function = match self.store.get::<Function>(function_name) {
            Ok(Some(f)) => f,
            Ok(None) => {
                return failed(format!(
                    "no function `{function_name}` in the local cloud: run `stackctl up` first"
                ));
            }
            Err(e) => return failed(e.to_string()),
        };
        let role = function
            .role_arn
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        if !matches!(self.store.get::<Role>(&role), Ok(Some(_))) {
            return failed(format!(
                "the role of {function_name} ({role}) does not exist: Lambda cannot assume it; run `stackctl up`"
            ));
        }
        let creds = self.s3.new_function_credentials(&role);
        let mut spec =
            FunctionProcessSpec::new(function_name, self.store.bootstrap_path(function_name));
        spec.environment = function.environment.clone();
        spec.environment.extend([
            ("AWS_ENDPOINT_URL".to_owned(), self.s3_url()),
            ("AWS_ACCESS_KEY_ID".to_owned(), creds.access_key_id.clone()),
            (
                "AWS_SECRET_ACCESS_KEY".to_owned(),
                creds.secret_access_key.clone(),
            ),
            ("AWS_SESSION_TOKEN".to_owned(), creds.session_token.clone()),
        ]);
        spec.memory_mb = function.memory_mb;
        spec.timeout_s = function.timeout_s;
        spec.region = self.region.clone();
        spec.account = self.account.clone();

        let id = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                id,
                Running {
                    function: function_name.to_owned(),
                    role: role.clone(),
                    started: Instant::now(),
                    written: Vec::new(),
                },
            );
        let result = self.runtime.invoke(&spec, payload).await;
        let written = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id)
            .map(|r| {
                debug_assert_eq!(r.function, function_name);
                r.written
            })
            .unwrap_or_default();
        self.s3.unregister_credentials(&creds.access_key_id);
        self.write_logs(&spec.log_group, &result);
        record(result, trigger, spec.log_group, written)
    }

    fn write_logs(&self, group: &str, result: &InvocationResult) {
        let events: Vec<logs::LogEvent> = result
            .logs
            .iter()
            .map(|e| logs::LogEvent {
                timestamp_ms: e.timestamp_ms.max(0) as u64,
                message: e.message.clone(),
            })
            .collect();
        if let Err(e) = self
            .store
            .put_log_events(group, &result.log_stream, &events)
        {
            (self.on_problem)(format!(
                "cannot store the logs of {}: {e}",
                result.function_name
            ));
        }
    }
}

fn record(
    result: InvocationResult,
    trigger: String,
    log_group: String,
    objects_written: Vec<String>,
) -> InvocationRecord {
    use crate::lambda::runtime::InvocationStatus as S;
    let error = match &result.status {
        S::Succeeded => None,
        S::FunctionError {
            error_type,
            error_message,
        }
        | S::InitError {
            error_type,
            error_message,
        } => Some(format!("{error_type}: {error_message}")),
        S::TimedOut => Some("Task timed out".to_owned()),
        S::Crashed { exit, stderr_tail } => {
            Some(format!("Runtime exited with error: {exit}\n{stderr_tail}"))
        }
    };
    let response = serde_json::from_slice(&result.response).unwrap_or_else(|_| {
        serde_json::Value::String(String::from_utf8_lossy(&result.response).into_owned())
    });
    InvocationRecord {
        function: result.function_name,
        request_id: result.request_id,
        trigger,
        status: result.status.label().to_owned(),
        error,
        duration_ms: result.duration_ms,
        init_duration_ms: result.init_duration_ms,
        max_memory_used_mb: result.max_memory_used_mb,
        objects_written,
        log_group,
        log_stream: result.log_stream,
        response,
        logs: result.logs.into_iter().map(|e| e.message).collect(),
    }
}
