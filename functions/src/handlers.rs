//! The three Lambda handlers, generic over a narrow object-store trait so
//! they run the same against S3, a test double or local files.
//!
//! No output becomes visible before it is whole: the processor and the
//! promotion function compute theirs in full before the first write, and the
//! generator's, handed over while it is made ([`BodyStream`]), is stored only
//! once its producer says it is complete. A failure never leaves a partial
//! file behind.

use std::collections::BTreeMap;
use std::future::Future;

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::s3::S3Event;
use serde::{Deserialize, Serialize};

use crate::contract::{self, ContractError, Purpose, ValidRows};
use crate::generate;

/// What a handler needs from object storage, and nothing more.
pub trait ObjectStore: Send + Sync {
    fn get(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Vec<u8>, StoreError>> + Send;
    /// Stores `body`; returns the new version id when the bucket is versioned.
    fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Hands the object's bytes to `body` as they arrive, then finishes it;
    /// stops early, with no error, once the receiver is gone. This default
    /// fetches the object whole with [`ObjectStore::get`]; S3 passes on
    /// the response body's chunks as they come.
    fn get_to(
        &self,
        bucket: &str,
        key: &str,
        body: BodySender,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        async move {
            let bytes = self.get(bucket, key).await?;
            if body.send(bytes).await {
                body.finish().await;
            }
            Ok(())
        }
    }

    /// Stores the body `segments` hands over while it is being produced;
    /// stores nothing unless it ends complete. This default gathers it and
    /// calls [`ObjectStore::put`]; S3 uploads it in parts as it comes.
    fn put_stream(
        &self,
        bucket: &str,
        key: &str,
        mut segments: BodyStream,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send {
        async move {
            let mut body = Vec::new();
            while let Some(segment) = segments.next().await {
                body.extend_from_slice(&segment?);
            }
            self.put(bucket, key, body).await
        }
    }
}

enum Segment {
    Bytes(bytes::Bytes),
    End,
}

/// The producing side of a body handed over a segment at a time.
pub struct BodySender(tokio::sync::mpsc::Sender<Segment>);

/// The receiving side: segments in order, then the end. A producer that
/// stops without [`BodySender::finish`] (an error, a panic) makes the body
/// incomplete, and [`BodyStream::next`] says so instead of ending.
pub struct BodyStream {
    rx: tokio::sync::mpsc::Receiver<Segment>,
    ended: bool,
}

/// A body channel holding up to `in_flight` segments between the two sides.
pub fn body_channel(in_flight: usize) -> (BodySender, BodyStream) {
    let (tx, rx) = tokio::sync::mpsc::channel(in_flight.max(1));
    (BodySender(tx), BodyStream { rx, ended: false })
}

impl BodySender {
    /// Hands over the next segment, waiting while `in_flight` are queued;
    /// false once the receiver is gone (the store failed: stop producing).
    /// For a producer on its own thread, never on the async runtime.
    pub fn send_blocking(&self, segment: impl Into<bytes::Bytes>) -> bool {
        self.0.blocking_send(Segment::Bytes(segment.into())).is_ok()
    }

    /// Marks the body complete (the store may now make it visible).
    pub fn finish_blocking(self) {
        let _ = self.0.blocking_send(Segment::End);
    }

    /// Async forms of the two above, for producers on the runtime.
    pub async fn send(&self, segment: impl Into<bytes::Bytes>) -> bool {
        self.0.send(Segment::Bytes(segment.into())).await.is_ok()
    }

    pub async fn finish(self) {
        let _ = self.0.send(Segment::End).await;
    }
}

impl BodyStream {
    /// The next segment; `None` at a complete end; an error when the
    /// producer stopped before the end.
    pub async fn next(&mut self) -> Option<Result<bytes::Bytes, StoreError>> {
        if self.ended {
            return None;
        }
        let segment = self.rx.recv().await;
        self.take(segment)
    }

    /// [`BodyStream::next`] for a consumer on its own thread, never on the
    /// async runtime.
    pub fn next_blocking(&mut self) -> Option<Result<bytes::Bytes, StoreError>> {
        if self.ended {
            return None;
        }
        let segment = self.rx.blocking_recv();
        self.take(segment)
    }

    fn take(&mut self, segment: Option<Segment>) -> Option<Result<bytes::Bytes, StoreError>> {
        match segment {
            Some(Segment::Bytes(b)) => Some(Ok(b)),
            Some(Segment::End) => {
                self.ended = true;
                None
            }
            None => {
                self.ended = true;
                Some(Err(StoreError::Other(
                    "the body ended before its producer finished it".into(),
                )))
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("no such object")]
    NotFound,
    #[error("NoSuchBucket: the bucket does not exist")]
    NoSuchBucket,
    #[error("AccessDenied: {0}")]
    AccessDenied(String),
    #[error("{0}")]
    Other(String),
}

/// A handler failure. The variant name is the Lambda `errorType`; the message
/// names the bucket, key and cause.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FunctionError {
    #[error("s3://{bucket}/{key}: {source}")]
    MissingColumns {
        bucket: String,
        key: String,
        source: ContractError,
    },
    #[error("s3://{bucket}/{key}: {source}")]
    InvalidFile {
        bucket: String,
        key: String,
        source: ContractError,
    },
    #[error("s3://{bucket}/{key}: object not found")]
    ObjectNotFound { bucket: String, key: String },
    #[error("s3://{bucket}/{key}: read failed: {cause}")]
    ReadFailed {
        bucket: String,
        key: String,
        cause: StoreError,
    },
    #[error("s3://{bucket}/{key}: write failed: {cause}")]
    WriteFailed {
        bucket: String,
        key: String,
        cause: StoreError,
    },
    #[error("invalid event: {0}")]
    InvalidEvent(String),
    #[error("configuration: {0}")]
    Configuration(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl FunctionError {
    /// The Lambda `errorType` of this failure.
    pub fn error_type(&self) -> &'static str {
        match self {
            Self::MissingColumns { .. } => "MissingColumns",
            Self::InvalidFile { .. } => "InvalidFile",
            Self::ObjectNotFound { .. } => "ObjectNotFound",
            Self::ReadFailed { .. } => "ReadFailed",
            Self::WriteFailed { .. } => "WriteFailed",
            Self::InvalidEvent(_) => "InvalidEvent",
            Self::Configuration(_) => "Configuration",
            Self::Internal(_) => "Internal",
        }
    }

    fn contract(bucket: &str, key: &str, source: ContractError) -> Self {
        let (bucket, key) = (bucket.to_owned(), key.to_owned());
        match source {
            ContractError::MissingColumns { .. } => Self::MissingColumns {
                bucket,
                key,
                source,
            },
            _ => Self::InvalidFile {
                bucket,
                key,
                source,
            },
        }
    }
}

impl From<FunctionError> for lambda_runtime::Diagnostic {
    fn from(e: FunctionError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: e.error_type().to_owned(),
            error_message: e.to_string(),
        }
    }
}

/// Function configuration, read from the Lambda environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub raw_bucket: Option<String>,
    pub consumption_bucket: Option<String>,
    pub top_n: usize,
    pub aggregate_key: String,
    pub promotion_key: String,
}

impl Config {
    pub fn from_env() -> Result<Self, FunctionError> {
        Self::from_vars(std::env::vars().collect())
    }

    pub fn from_vars(vars: BTreeMap<String, String>) -> Result<Self, FunctionError> {
        let top_n = match vars.get("TOP_N") {
            None => contract::DEFAULT_TOP_N,
            Some(v) => v.parse::<usize>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                FunctionError::Configuration(format!(
                    "TOP_N is `{v}`; allowed: a whole number of at least 1"
                ))
            })?,
        };
        let get = |k: &str| vars.get(k).filter(|v| !v.is_empty()).cloned();
        Ok(Self {
            raw_bucket: get("RAW_BUCKET"),
            consumption_bucket: get("CONSUMPTION_BUCKET"),
            top_n,
            aggregate_key: get("AGGREGATE_KEY").unwrap_or_else(|| contract::AGGREGATE_KEY.into()),
            promotion_key: get("PROMOTION_KEY").unwrap_or_else(|| contract::PROMOTION_KEY.into()),
        })
    }

    fn require<'a>(value: &'a Option<String>, name: &str) -> Result<&'a str, FunctionError> {
        value.as_deref().ok_or_else(|| {
            FunctionError::Configuration(format!(
                "environment variable {name} is not set; set it to the bucket's name"
            ))
        })
    }
}

// ---------------------------------------------------------------- generator

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GeneratePayload {
    #[serde(default = "default_rows")]
    pub rows: u64,
    #[serde(default)]
    pub seed: u64,
    #[serde(default = "default_key")]
    pub key: String,
}

fn default_rows() -> u64 {
    1000
}

fn default_key() -> String {
    contract::RAW_KEY.into()
}

impl Default for GeneratePayload {
    fn default() -> Self {
        Self {
            rows: default_rows(),
            seed: 0,
            key: default_key(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenerateResponse {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
    pub rows: u64,
    pub bytes: u64,
}

/// Parses the generator's payload; `null` or `{}` takes every default.
pub fn parse_generate_payload(
    payload: serde_json::Value,
) -> Result<GeneratePayload, FunctionError> {
    if payload.is_null() {
        return Ok(GeneratePayload::default());
    }
    let p: GeneratePayload = serde_json::from_value(payload).map_err(|e| {
        FunctionError::InvalidEvent(format!(
            "generator payload: {e}; allowed: {{\"rows\": 1..={}, \"seed\": integer, \"key\": string}}",
            generate::MAX_ROWS
        ))
    })?;
    if p.rows > generate::MAX_ROWS {
        return Err(FunctionError::InvalidEvent(format!(
            "generator payload: rows is {}; allowed: 0 to {}",
            p.rows,
            generate::MAX_ROWS
        )));
    }
    if p.key.is_empty() || p.key.len() > 1024 {
        return Err(FunctionError::InvalidEvent(
            "generator payload: key must be 1 to 1024 bytes".into(),
        ));
    }
    Ok(p)
}

pub async fn handle_generate<S: ObjectStore>(
    store: &S,
    config: &Config,
    payload: serde_json::Value,
) -> Result<GenerateResponse, FunctionError> {
    let p = parse_generate_payload(payload)?;
    let bucket = Config::require(&config.raw_bucket, "RAW_BUCKET")?;
    let (rows, seed) = (p.rows, p.seed);
    // Generated and stored at once: each segment goes up while the next is
    // made, and the function holds a few segments, not the whole file.
    let (tx, segments) = body_channel(2);
    let producing = cpu(move || {
        let mut bytes = 0u64;
        let mut sent = true;
        generate::generate_into(rows, seed, |segment| {
            bytes += segment.len() as u64;
            sent = tx.send_blocking(segment);
            sent
        });
        if sent {
            tx.finish_blocking();
        }
        bytes
    });
    let storing = async {
        store
            .put_stream(bucket, &p.key, segments)
            .await
            .map_err(write_failed(bucket, &p.key))
    };
    let (bytes, version_id) = tokio::join!(producing, storing);
    // The producer's failure is the cause of the store's, if both failed; a
    // store that fails stops the producer without failing it.
    let bytes = bytes?;
    let version_id = version_id?;
    Ok(GenerateResponse {
        bucket: bucket.to_owned(),
        key: p.key,
        version_id,
        rows: p.rows,
        bytes,
    })
}

// ---------------------------------------------------------------- processor

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessedObject {
    pub bucket: String,
    pub key: String,
    pub rows: u64,
    pub valid: u64,
    pub rejected: u64,
    pub products: u64,
    pub outputs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessResponse {
    pub processed: Vec<ProcessedObject>,
}

/// S3 event keys are URL-encoded, with `+` for a space.
pub fn decode_s3_event_key(key: &str) -> Result<String, FunctionError> {
    let plus = key.replace('+', " ");
    percent_encoding::percent_decode_str(&plus)
        .decode_utf8()
        .map(|k| k.into_owned())
        .map_err(|_| {
            FunctionError::InvalidEvent(format!("object key `{key}` does not decode to UTF-8"))
        })
}

/// (bucket, decoded key) of every record of an S3 event.
pub fn s3_event_objects(
    payload: serde_json::Value,
) -> Result<Vec<(String, String)>, FunctionError> {
    let event: S3Event = serde_json::from_value(payload).map_err(|e| {
        FunctionError::InvalidEvent(format!(
            "expected an S3 event notification ({{\"Records\": [{{\"s3\": {{...}}}}]}}): {e}"
        ))
    })?;
    if event.records.is_empty() {
        return Err(FunctionError::InvalidEvent(
            "the S3 event holds no records".into(),
        ));
    }
    event
        .records
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let bucket = r.s3.bucket.name.filter(|b| !b.is_empty()).ok_or_else(|| {
                FunctionError::InvalidEvent(format!("Records[{i}].s3.bucket.name is missing"))
            })?;
            let key = r.s3.object.key.filter(|k| !k.is_empty()).ok_or_else(|| {
                FunctionError::InvalidEvent(format!("Records[{i}].s3.object.key is missing"))
            })?;
            Ok((bucket, decode_s3_event_key(&key)?))
        })
        .collect()
}

pub async fn handle_process<S: ObjectStore>(
    store: &S,
    config: &Config,
    payload: serde_json::Value,
) -> Result<ProcessResponse, FunctionError> {
    let objects = s3_event_objects(payload)?;
    let out_bucket = Config::require(&config.consumption_bucket, "CONSUMPTION_BUCKET")?;
    // Every record is read and computed before anything is written: a bad
    // record fails the invocation with no output of any record stored.
    let mut computed = Vec::with_capacity(objects.len());
    for (bucket, key) in objects {
        let out = read_then(
            store,
            &bucket,
            &key,
            (true, Purpose::Process),
            contract::process_rows,
        )
        .await?;
        computed.push((bucket, key, out));
    }
    let mut processed = Vec::with_capacity(computed.len());
    for (bucket, key, out) in computed {
        let mut outputs = vec![config.aggregate_key.clone()];
        // The rejects first: the aggregate is what consumers wait for, so it
        // appears only once the rows it left out are stored as well.
        if let Some(rejects) = out.rejects_csv {
            let rejects_key = format!("rejects/{key}");
            put(store, out_bucket, &rejects_key, rejects).await?;
            outputs.push(rejects_key);
        }
        put(store, out_bucket, &config.aggregate_key, out.aggregate_csv).await?;
        processed.push(ProcessedObject {
            bucket,
            key,
            rows: out.counts.rows,
            valid: out.counts.valid,
            rejected: out.counts.rejected,
            products: out.counts.products,
            outputs,
        });
    }
    Ok(ProcessResponse { processed })
}

// ---------------------------------------------------------------- promotion

/// The `detail` of an S3 "Object Created" event delivered by EventBridge.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct S3ObjectCreatedDetail {
    pub bucket: NamedBucket,
    pub object: CreatedObject,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct NamedBucket {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct CreatedObject {
    pub key: String,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(default, rename = "version-id")]
    pub version_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromoteResponse {
    pub bucket: String,
    pub key: String,
    pub rows: u64,
    pub valid: u64,
    pub rejected: u64,
    pub customers: u64,
    pub promotion_rows: u64,
    pub output: String,
}

/// (bucket, key) of an EventBridge S3 "Object Created" event. Unlike S3
/// notifications, EventBridge carries the key as stored, not URL-encoded.
pub fn eventbridge_object(payload: serde_json::Value) -> Result<(String, String), FunctionError> {
    let event: EventBridgeEvent<S3ObjectCreatedDetail> = serde_json::from_value(payload).map_err(|e| {
        FunctionError::InvalidEvent(format!(
            "expected an EventBridge S3 \"Object Created\" event with detail.bucket.name and detail.object.key: {e}"
        ))
    })?;
    if event.source != "aws.s3" || event.detail_type != "Object Created" {
        return Err(FunctionError::InvalidEvent(format!(
            "expected source `aws.s3` and detail-type `Object Created`, got `{}` / `{}`",
            event.source, event.detail_type
        )));
    }
    Ok((event.detail.bucket.name, event.detail.object.key))
}

pub async fn handle_promote<S: ObjectStore>(
    store: &S,
    config: &Config,
    payload: serde_json::Value,
) -> Result<PromoteResponse, FunctionError> {
    let (bucket, key) = eventbridge_object(payload)?;
    let out_bucket = Config::require(&config.consumption_bucket, "CONSUMPTION_BUCKET")?;
    let top_n = config.top_n;
    // Rejects are the processor's to write; promotion only skips them.
    let out = read_then(
        store,
        &bucket,
        &key,
        (false, Purpose::Promote),
        move |rows| contract::promote_rows(rows, top_n),
    )
    .await?;
    put_pieces(store, out_bucket, &config.promotion_key, out.promotion_csv).await?;
    Ok(PromoteResponse {
        bucket,
        key,
        rows: out.counts.rows,
        valid: out.counts.valid,
        rejected: out.counts.rejected,
        customers: out.counts.customers,
        promotion_rows: out.counts.promotion_rows,
        output: config.promotion_key.clone(),
    })
}

// ---------------------------------------------------------------- store glue

/// Runs CPU-bound contract work on its own OS thread, outside any async
/// runtime: polars calls tokio's `block_in_place`, which panics on any thread
/// of a current-thread runtime (blocking-pool threads included).
/// The thread starts at once; the future waits for its result.
fn cpu<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> impl Future<Output = Result<T, FunctionError>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let started = std::thread::Builder::new()
        .name("contract".into())
        .spawn(move || {
            let _ = tx.send(f());
        })
        .map_err(|e| FunctionError::Internal(format!("cannot start a worker thread: {e}")));
    async move {
        started?;
        rx.await
            .map_err(|_| FunctionError::Internal("the computation panicked".into()))
    }
}

/// Chunks of a download held between it and the reader (S3: 1 MiB blocks).
const READ_IN_FLIGHT: usize = 8;

/// Reads an object's raw file as it downloads, through a
/// [`contract::RawReader`] on a contract thread (`reading`: rejects
/// collected, purpose), then `compute`s on its rows there: the object is
/// never held whole. A failed download is reported before what the
/// reader made of the bytes it got.
async fn read_then<S: ObjectStore, T: Send + 'static>(
    store: &S,
    bucket: &str,
    key: &str,
    (collect_rejects, purpose): (bool, Purpose),
    compute: impl FnOnce(ValidRows) -> Result<T, ContractError> + Send + 'static,
) -> Result<T, FunctionError> {
    let (tx, mut rx) = body_channel(READ_IN_FLIGHT);
    let reading = cpu(move || {
        let mut reader = contract::RawReader::new(collect_rejects, purpose);
        while let Some(chunk) = rx.next_blocking() {
            match chunk {
                Ok(chunk) => reader.push(&chunk)?,
                // The download failed; its own error is the one to report.
                Err(_) => return Ok(None),
            }
        }
        compute(reader.finish()?).map(Some)
    });
    let (fetched, computed) = tokio::join!(store.get_to(bucket, key, tx), reading);
    fetched.map_err(|cause| match cause {
        StoreError::NotFound => FunctionError::ObjectNotFound {
            bucket: bucket.into(),
            key: key.into(),
        },
        cause => FunctionError::ReadFailed {
            bucket: bucket.into(),
            key: key.into(),
            cause,
        },
    })?;
    match computed? {
        Ok(Some(out)) => Ok(out),
        Ok(None) => Err(FunctionError::ReadFailed {
            bucket: bucket.into(),
            key: key.into(),
            cause: StoreError::Other("the object's body ended early".into()),
        }),
        Err(e) => Err(FunctionError::contract(bucket, key, e)),
    }
}

async fn put<S: ObjectStore>(
    store: &S,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
) -> Result<Option<String>, FunctionError> {
    store
        .put(bucket, key, body)
        .await
        .map_err(write_failed(bucket, key))
}

/// Stores a file written in pieces as one object, the pieces handed to the
/// store as the segments of a body (S3: the parts of a multipart upload,
/// cut from the pieces without joining them first).
async fn put_pieces<S: ObjectStore>(
    store: &S,
    bucket: &str,
    key: &str,
    body: contract::Pieces,
) -> Result<Option<String>, FunctionError> {
    let pieces = body.into_vec();
    // Room for every piece and the end: sending never waits on the store.
    let (tx, segments) = body_channel(pieces.len() + 1);
    for piece in pieces {
        tx.send(piece).await;
    }
    tx.finish().await;
    store
        .put_stream(bucket, key, segments)
        .await
        .map_err(write_failed(bucket, key))
}

fn write_failed<'a>(
    bucket: &'a str,
    key: &'a str,
) -> impl FnOnce(StoreError) -> FunctionError + 'a {
    move |cause| FunctionError::WriteFailed {
        bucket: bucket.into(),
        key: key.into(),
        cause,
    }
}
