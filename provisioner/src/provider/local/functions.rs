//! [`Functions`] on the local target: the local cloud started for the
//! invocation (its directory locked meanwhile), the whole cascade waited
//! for, and log events read from its store.

use localcloud::running::{self, RunningCloud};

use super::LocalCloud;
use crate::provider::functions::{
    CascadeReport, Functions, Invocation, InvocationRecord, LogEvent, Notes,
};
use crate::provider::{ProviderError, Result};

/// The local cloud stores an invocation's lines when it ends, so they can
/// land after newer lines of another invocation, at most a Lambda timeout
/// (15 minutes) later. Reading local files is cheap.
const LOOKBACK_MS: u64 = 16 * 60 * 1000;

impl Functions for LocalCloud {
    async fn invoke(&self, function: &str, payload: Vec<u8>, notes: Notes) -> Result<Invocation> {
        let _lock = self.store().lock()?;
        let on_problem: running::OnProblem = notes;
        let cloud = RunningCloud::start(self.store().clone(), 0, on_problem)
            .await
            .map_err(|e| ProviderError::Other(format!("starting the local cloud: {e}")))?;
        cloud.invoke(function, payload, "direct".into()).await;
        cloud.wait_idle().await;
        let invocations: Vec<InvocationRecord> = cloud.records().into_iter().map(record).collect();
        cloud.shutdown().await;
        let failed = invocations.iter().filter(|r| !r.succeeded()).count();
        Ok(Invocation::Cascade(CascadeReport {
            invocations,
            failed,
        }))
    }

    async fn log_events(&self, group: &str, since_ms: Option<u64>) -> Result<Vec<LogEvent>> {
        Ok(self
            .store()
            .filter_log_events(group, since_ms)?
            .into_iter()
            .map(|e| LogEvent {
                timestamp_ms: e.event.timestamp_ms,
                stream: e.stream,
                message: e.event.message,
            })
            .collect())
    }

    fn log_lookback_ms(&self) -> u64 {
        LOOKBACK_MS
    }
}

fn record(r: running::InvocationRecord) -> InvocationRecord {
    InvocationRecord {
        function: r.function,
        request_id: r.request_id,
        trigger: r.trigger,
        status: r.status,
        error: r.error,
        duration_ms: r.duration_ms,
        init_duration_ms: r.init_duration_ms,
        max_memory_used_mb: r.max_memory_used_mb,
        objects_written: r.objects_written,
        log_group: r.log_group,
        log_stream: r.log_stream,
        response: r.response,
        logs: r.logs,
    }
}

/// The local cloud kept running (`serve`): its S3 endpoint, the
/// invocations uploads set off, and the directory locked meanwhile.
pub struct Serving {
    cloud: std::sync::Arc<RunningCloud>,
    _lock: localcloud::store::DirLock,
}

impl LocalCloud {
    /// Starts the local cloud with its S3 endpoint on `127.0.0.1:port`
    /// (0: any free port) until [`Serving::stop`].
    pub async fn serve(&self, port: u16, notes: Notes) -> Result<Serving> {
        let lock = self.store().lock()?;
        let cloud = RunningCloud::start(self.store().clone(), port, notes)
            .await
            .map_err(|e| {
                ProviderError::Other(format!("starting the S3 endpoint on 127.0.0.1:{port}: {e}"))
            })?;
        Ok(Serving { cloud, _lock: lock })
    }

    /// The file holding the latest version of `s3://bucket/key`, if any.
    pub fn object_file(&self, bucket: &str, key: &str) -> Option<std::path::PathBuf> {
        let v = self.store().head_object(bucket, key, None).ok()?;
        Some(self.store().object_data_path(bucket, key, &v.version_id))
    }
}

impl Serving {
    /// `http://127.0.0.1:PORT`.
    pub fn s3_url(&self) -> String {
        self.cloud.s3_url()
    }

    /// Every invocation finished so far, in order of completion.
    pub fn records(&self) -> Vec<InvocationRecord> {
        self.cloud.records().into_iter().map(record).collect()
    }

    /// Waits for running invocations, then stops.
    pub async fn stop(self) {
        self.cloud.wait_idle().await;
        self.cloud.shutdown().await;
    }
}
