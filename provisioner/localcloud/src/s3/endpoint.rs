//! The local cloud's S3 endpoint: S3's REST protocol on 127.0.0.1, parsed
//! and answered by the s3s crate, backed by the [`Store`] with
//! versioning.
//!
//! Operations: PutObject, GetObject (ranges too), HeadObject, CopyObject,
//! DeleteObject, DeleteObjects, ListObjectsV2, ListObjects,
//! ListObjectVersions, HeadBucket, GetBucketLocation, ListBuckets, and
//! multipart uploads (the aws CLI uses them from 8 MB). Buckets come from
//! `up` only: an unknown bucket is NoSuchBucket, CreateBucket is refused.
//!
//! Identity: requests signed (SigV4) with a credential registered through
//! [`S3Endpoint::register_credentials`] are a function's: s3s verifies the
//! signature, then every request is checked against that role's inline
//! policy as stored by `up` ([`crate::iam`]); a request no statement allows
//! is answered `403 AccessDenied`, as S3 does. Requests signed with any
//! other access key, or not signed, act as the account owner with full
//! access: s3s can only verify a signature with the secret in hand, so for
//! an unknown key the signature is stripped (not verified) before s3s sees
//! the request, and an `aws-chunked` body is decoded here. That is what
//! lets the aws CLI work with dummy credentials.
//!
//! Bucket policies are not evaluated (the generated one denies plain HTTP,
//! which is all this endpoint speaks).
//!
//! After every successful write (PutObject, CopyObject,
//! CompleteMultipartUpload) the endpoint calls
//! [`ObjectEvents::object_created`].

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::BodyExt as _;
use hyper::body::Incoming;
use hyper::http::{self, HeaderValue, StatusCode};
use s3s::access::{S3Access, S3AccessContext};
use s3s::auth::{S3Auth, SecretKey};
use s3s::dto::*;
use s3s::path::S3Path;
use s3s::service::{S3Service, S3ServiceBuilder};
use s3s::{S3, S3Error, S3ErrorCode, S3Request, S3Response, S3Result, s3_error};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::notify::{OWNER_CANONICAL_ID, ObjectCreated, ObjectEvents, encode_event_key};
use super::{Bucket, ObjectVersion};
use crate::clock;
use crate::iam::{self, Decision, Role};
use crate::store::{Record as _, Store, StoreError};
use crate::{ACCOUNT as LOCAL_ACCOUNT, REGION as LOCAL_REGION};

mod listing;
use listing::{Marker, wants_url_encoding};

/// A function's credentials, for its process environment
/// (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Sent by the SDKs (as on Lambda) and ignored by the endpoint.
    pub session_token: String,
    pub role_name: String,
}

#[derive(Debug, Clone)]
struct Registered {
    secret: String,
    role: String,
}

#[derive(Debug, Clone, Default)]
struct CredentialTable(Arc<RwLock<HashMap<String, Registered>>>);

impl CredentialTable {
    fn get(&self, access_key: &str) -> Option<Registered> {
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(access_key)
            .cloned()
    }

    fn contains(&self, access_key: &str) -> bool {
        self.0
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .contains_key(access_key)
    }
}

/// Who a request is from, as the access check found (request extension).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Caller {
    Owner,
    Function { role: String, access_key: String },
}

#[derive(Debug, Clone, Copy)]
struct RemoteAddr(SocketAddr);

// ---- the endpoint -----------------------------------------------------------

/// The running endpoint. Dropping it stops it too.
#[derive(Debug)]
pub struct S3Endpoint {
    addr: SocketAddr,
    credentials: CredentialTable,
    shutdown: Mutex<Option<oneshot::Sender<()>>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

/// Starts the endpoint on `127.0.0.1:port` (0: any free port) over `store`;
/// `events` hears of every object created.
pub async fn start(
    store: Arc<Store>,
    events: Arc<dyn ObjectEvents>,
    port: u16,
) -> std::io::Result<S3Endpoint> {
    let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, port)).await?;
    let addr = listener.local_addr()?;
    let credentials = CredentialTable::default();
    let mut builder = S3ServiceBuilder::new(LocalS3 {
        store: store.clone(),
        events,
        uploads: Arc::new(Mutex::new(HashMap::new())),
    });
    builder.set_auth(Auth(credentials.clone()));
    builder.set_access(Access {
        credentials: credentials.clone(),
        store,
    });
    let service = builder.build();
    let (tx, mut rx) = oneshot::channel::<()>();
    let table = credentials.clone();
    let stop = async move {
        let _ = (&mut rx).await;
    };
    let task = tokio::spawn(crate::http::accept_loop(
        listener,
        stop,
        move |stream, remote| {
            let (service, table) = (service.clone(), table.clone());
            let svc = hyper::service::service_fn(move |req| {
                handle(service.clone(), table.clone(), remote, req)
            });
            crate::http::serve_connection(stream, svc)
        },
    ));
    Ok(S3Endpoint {
        addr,
        credentials,
        shutdown: Mutex::new(Some(tx)),
        task: Mutex::new(Some(task)),
    })
}

impl S3Endpoint {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL` and `--endpoint-url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests signed with `access_key` are verified with `secret` and act
    /// as role `role_name` (its stored inline policy decides).
    pub fn register_credentials(&self, access_key: &str, secret: &str, role_name: &str) {
        self.credentials
            .0
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                access_key.to_owned(),
                Registered {
                    secret: secret.to_owned(),
                    role: role_name.to_owned(),
                },
            );
    }

    /// Forgets a credential: its requests act as the owner again.
    pub fn unregister_credentials(&self, access_key: &str) {
        self.credentials
            .0
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(access_key);
    }

    /// Makes up and registers fresh credentials for a function's role.
    pub fn new_function_credentials(&self, role_name: &str) -> FunctionCredentials {
        let r = || clock::random_u64();
        let creds = FunctionCredentials {
            // "ASIA": temporary credentials, as Lambda's are.
            access_key_id: format!("ASIA{:016X}", r()),
            secret_access_key: format!("{:016x}{:016x}{:08x}", r(), r(), r() as u32),
            session_token: format!("local{:016x}{:016x}", r(), r()),
            role_name: role_name.to_owned(),
        };
        self.register_credentials(&creds.access_key_id, &creds.secret_access_key, role_name);
        creds
    }

    /// Stops accepting, closes open connections and waits for the server
    /// task to end.
    pub async fn shutdown(&self) {
        if let Some(tx) = self
            .shutdown
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            let _ = tx.send(());
        }
        let task = self.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

impl Drop for S3Endpoint {
    fn drop(&mut self) {
        if let Some(task) = self.task.lock().unwrap_or_else(|p| p.into_inner()).take() {
            task.abort();
        }
    }
}

// ---- unknown keys: act as the owner -------------------------------------------

/// The access key a request is signed with (SigV4 header or query, SigV2).
fn signing_key(req: &http::Request<s3s::Body>) -> Option<String> {
    if let Some(auth) = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        if let Some(rest) = auth.split("Credential=").nth(1) {
            return rest.split('/').next().map(str::to_owned);
        }
        if let Some(rest) = auth.strip_prefix("AWS ") {
            return rest.split(':').next().map(str::to_owned);
        }
        return Some(String::new());
    }
    let query = req.uri().query()?;
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k == "X-Amz-Credential" {
            let v = v.replace("%2F", "/").replace("%2f", "/");
            return v.split('/').next().map(str::to_owned);
        }
        if k == "AWSAccessKeyId" {
            return Some(v.to_owned());
        }
    }
    None
}

/// Query parameters of presigned URLs (SigV4 and SigV2).
const PRESIGN_PARAMS: [&str; 10] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
    "AWSAccessKeyId",
    "Signature",
    "Expires",
];

/// Turns a request signed with an unknown key into an anonymous one (the
/// owner): signature removed, an `aws-chunked` body decoded.
async fn as_owner(req: http::Request<s3s::Body>) -> Result<http::Request<s3s::Body>, String> {
    let (mut parts, body) = req.into_parts();
    parts.headers.remove(http::header::AUTHORIZATION);
    if let Some(query) = parts.uri.query() {
        let kept: Vec<&str> = query
            .split('&')
            .filter(|p| {
                let k = p.split('=').next().unwrap_or_default();
                !PRESIGN_PARAMS.contains(&k)
            })
            .collect();
        let path = parts.uri.path();
        let pq = if kept.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{}", kept.join("&"))
        };
        let mut uri = http::uri::Builder::new();
        if let Some(s) = parts.uri.scheme() {
            uri = uri.scheme(s.clone());
        }
        if let Some(a) = parts.uri.authority() {
            uri = uri.authority(a.clone());
        }
        parts.uri = uri
            .path_and_query(pq)
            .build()
            .map_err(|e| format!("rewriting the request URI: {e}"))?;
    }
    let sha = parts
        .headers
        .remove("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok().map(str::to_owned))
        .unwrap_or_default();
    let chunked = sha.starts_with("STREAMING-")
        || parts
            .headers
            .get(http::header::CONTENT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.split(',').any(|e| e.trim() == "aws-chunked"));
    if !chunked {
        return Ok(http::Request::from_parts(parts, body));
    }
    let raw = body
        .collect()
        .await
        .map_err(|e| format!("reading the request body: {e}"))?
        .to_bytes();
    let decoded = decode_aws_chunked(&raw)?;
    for h in ["x-amz-decoded-content-length", "x-amz-trailer"] {
        parts.headers.remove(h);
    }
    let encodings: Vec<String> = parts
        .headers
        .get(http::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|e| !e.is_empty() && *e != "aws-chunked")
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    parts.headers.remove(http::header::CONTENT_ENCODING);
    if !encodings.is_empty()
        && let Ok(v) = HeaderValue::from_str(&encodings.join(","))
    {
        parts.headers.insert(http::header::CONTENT_ENCODING, v);
    }
    parts.headers.insert(
        http::header::CONTENT_LENGTH,
        HeaderValue::from(decoded.len()),
    );
    Ok(http::Request::from_parts(parts, s3s::Body::from(decoded)))
}

/// Decodes an `aws-chunked` body (`<hex size>[;ext]\r\n<data>\r\n` ... a
/// zero-size chunk, then optional trailers), without checking chunk
/// signatures.
pub fn decode_aws_chunked(raw: &[u8]) -> Result<Bytes, String> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    loop {
        let line_end = raw[i..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("aws-chunked body: a chunk header without CRLF")?;
        let header = std::str::from_utf8(&raw[i..i + line_end])
            .map_err(|_| "aws-chunked body: a chunk header is not text")?;
        let size_hex = header.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| format!("aws-chunked body: bad chunk size {size_hex:?}"))?;
        i += line_end + 2;
        if size == 0 {
            return Ok(Bytes::from(out));
        }
        let end = i
            .checked_add(size)
            .filter(|e| *e <= raw.len())
            .ok_or("aws-chunked body: a chunk runs past the end")?;
        out.extend_from_slice(&raw[i..end]);
        i = end;
        if raw.get(i..i + 2) == Some(b"\r\n") {
            i += 2;
        }
    }
}

async fn handle(
    service: S3Service,
    credentials: CredentialTable,
    remote: SocketAddr,
    req: http::Request<Incoming>,
) -> Result<http::Response<s3s::Body>, s3s::HttpError> {
    let mut req = req.map(s3s::Body::from);
    req.extensions_mut().insert(RemoteAddr(remote));
    if let Some(key) = signing_key(&req)
        && !credentials.contains(&key)
    {
        req = match as_owner(req).await {
            Ok(r) => r,
            Err(message) => {
                let mut resp = http::Response::new(s3s::Body::from(message));
                *resp.status_mut() = StatusCode::BAD_REQUEST;
                return Ok(resp);
            }
        };
    }
    service.call(req).await
}

// ---- identity and access ------------------------------------------------------

struct Auth(CredentialTable);

#[async_trait::async_trait]
impl S3Auth for Auth {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        self.0
            .get(access_key)
            .map(|r| SecretKey::from(r.secret))
            .ok_or_else(|| s3_error!(InvalidAccessKeyId))
    }
}

struct Access {
    credentials: CredentialTable,
    store: Arc<Store>,
}

fn access_denied(role: &str, action: &str, resource: &str, explicit: bool) -> S3Error {
    let why = if explicit {
        "with an explicit deny in an identity-based policy".to_owned()
    } else {
        format!("because no identity-based policy allows the {action} action")
    };
    S3Error::with_message(
        S3ErrorCode::AccessDenied,
        format!(
            "User: arn:aws:sts::{LOCAL_ACCOUNT}:assumed-role/{role}/{role} is not authorized to \
             perform: {action} on resource: \"{resource}\" {why}"
        ),
    )
}

/// Whether `caller` may do `op` on `bucket`/`key`; AccessDenied as S3 says it.
fn authorize(
    store: &Store,
    caller: &Caller,
    op: &str,
    bucket: Option<&str>,
    key: Option<&str>,
    versioned: bool,
) -> S3Result<()> {
    let Caller::Function { role, .. } = caller else {
        return Ok(());
    };
    let (action, resource) = iam::s3_action(op, bucket, key, versioned);
    let policy = store
        .get::<Role>(role)
        .map_err(internal)?
        .and_then(|r| r.policy);
    let decision = policy.map_or(Decision::NotAllowed, |p| {
        iam::evaluate(&p, &action, &resource)
    });
    match decision {
        Decision::Allow => Ok(()),
        Decision::NotAllowed => Err(access_denied(role, &action, &resource, false)),
        Decision::Denied => Err(access_denied(role, &action, &resource, true)),
    }
}

#[async_trait::async_trait]
impl S3Access for Access {
    async fn check(&self, cx: &mut S3AccessContext<'_>) -> S3Result<()> {
        let caller = match cx.credentials() {
            None => Caller::Owner,
            Some(c) => match self.credentials.get(&c.access_key) {
                Some(r) => Caller::Function {
                    role: r.role,
                    access_key: c.access_key.clone(),
                },
                None => Caller::Owner,
            },
        };
        let op = cx.s3_op().name().to_owned();
        let (bucket, key) = match cx.s3_path() {
            S3Path::Root => (None, None),
            S3Path::Bucket { bucket } => (Some(bucket.to_string()), None),
            S3Path::Object { bucket, key } => (Some(bucket.to_string()), Some(key.to_string())),
        };
        let versioned = cx
            .uri()
            .query()
            .is_some_and(|q| q.split('&').any(|p| p.starts_with("versionId=")));
        // DeleteObjects is checked key by key, CopyObject's source in the op.
        if op != "DeleteObjects" {
            authorize(
                &self.store,
                &caller,
                &op,
                bucket.as_deref(),
                key.as_deref(),
                versioned,
            )?;
        }
        cx.extensions_mut().insert(caller);
        Ok(())
    }
}

fn caller_of<T>(req: &S3Request<T>) -> Caller {
    req.extensions
        .get::<Caller>()
        .cloned()
        .unwrap_or(Caller::Owner)
}

// ---- the S3 operations ----------------------------------------------------------

/// A multipart upload in progress: its parts live in the store's scratch
/// folder until completed or aborted.
#[derive(Debug, Clone)]
struct Upload {
    bucket: String,
    key: String,
    content_type: Option<String>,
    dir: std::path::PathBuf,
}

struct LocalS3 {
    store: Arc<Store>,
    events: Arc<dyn ObjectEvents>,
    uploads: Arc<Mutex<HashMap<String, Upload>>>,
}

fn internal(e: impl std::fmt::Display) -> S3Error {
    S3Error::with_message(S3ErrorCode::InternalError, e.to_string())
}

fn store_error(e: StoreError) -> S3Error {
    match e {
        StoreError::NoSuchBucket(b) => S3Error::with_message(
            S3ErrorCode::NoSuchBucket,
            format!("The specified bucket does not exist: {b}"),
        ),
        StoreError::NoSuchKey { .. } => {
            S3Error::with_message(S3ErrorCode::NoSuchKey, "The specified key does not exist.")
        }
        StoreError::NoSuchVersion { .. } => S3Error::with_message(
            S3ErrorCode::NoSuchVersion,
            "The specified version does not exist.",
        ),
        StoreError::DeleteMarker { .. } => S3Error::with_message(
            S3ErrorCode::MethodNotAllowed,
            "The specified method is not allowed against this resource.",
        ),
        StoreError::Invalid(m) => S3Error::with_message(S3ErrorCode::InvalidArgument, m),
        other => internal(other),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> S3Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(internal)?
        .map_err(store_error)
}

fn timestamp(ms: u64) -> Timestamp {
    Timestamp::from(UNIX_EPOCH + Duration::from_millis(ms))
}

fn etag(v: &ObjectVersion) -> ETag {
    ETag::Strong(v.etag.clone())
}

fn version_header(v: &ObjectVersion) -> Option<String> {
    (v.version_id != super::NULL_VERSION).then(|| v.version_id.clone())
}

fn request_ids() -> (String, String) {
    let r = clock::random_u64();
    (
        format!("{r:016X}"),
        format!("{:016x}{:016x}", clock::random_u64(), clock::random_u64()),
    )
}

fn url_encoded(wanted: bool, s: String) -> String {
    if wanted { encode_event_key(&s) } else { s }
}

impl LocalS3 {
    /// A missing key reads as AccessDenied to a caller who may not list the
    /// bucket (S3 hides whether the key exists).
    fn hide_missing(&self, caller: &Caller, bucket: &str, err: S3Error) -> S3Error {
        if *err.code() == S3ErrorCode::NoSuchKey
            && let Err(denied) = authorize(
                &self.store,
                caller,
                "ListObjectsV2",
                Some(bucket),
                None,
                false,
            )
        {
            return denied;
        }
        err
    }

    fn created(
        &self,
        caller: &Caller,
        remote: Option<RemoteAddr>,
        bucket: &str,
        v: &ObjectVersion,
        reason: &str,
    ) {
        let (request_id, host_id) = request_ids();
        let (principal_id, role) = match caller {
            Caller::Owner => (format!("AWS:{LOCAL_ACCOUNT}"), None),
            Caller::Function { role, access_key } => {
                (format!("AWS:{access_key}:{role}"), Some(role.clone()))
            }
        };
        self.events.object_created(ObjectCreated {
            bucket: bucket.to_owned(),
            key: v.key.clone(),
            version_id: version_header(v),
            size: v.size,
            etag: v.etag.clone(),
            sequencer: v.sequencer.clone(),
            reason: reason.to_owned(),
            time_ms: v.last_modified_ms,
            request_id,
            host_id,
            source_ip: remote.map_or_else(|| "127.0.0.1".to_owned(), |r| r.0.ip().to_string()),
            principal_id,
            requester: LOCAL_ACCOUNT.to_owned(),
            role,
        });
    }

    async fn put_bytes(
        &self,
        bucket: String,
        key: String,
        data: Bytes,
        content_type: Option<String>,
    ) -> S3Result<ObjectVersion> {
        let store = self.store.clone();
        blocking(move || store.put_object(&bucket, &key, &data, content_type.as_deref())).await
    }
}

async fn read_body(body: Option<StreamingBlob>) -> S3Result<Bytes> {
    let Some(body) = body else {
        return Ok(Bytes::new());
    };
    let body: s3s::Body = body.into();
    Ok(body
        .collect()
        .await
        .map_err(|e| S3Error::with_message(S3ErrorCode::IncompleteBody, e.to_string()))?
        .to_bytes())
}

#[async_trait::async_trait]
impl S3 for LocalS3 {
    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let caller = caller_of(&req);
        let remote = req.extensions.get::<RemoteAddr>().copied();
        let input = req.input;
        let data = read_body(input.body).await?;
        if let Some(len) = input.content_length
            && len >= 0
            && len as usize != data.len()
        {
            return Err(s3_error!(IncompleteBody));
        }
        let bucket = input.bucket;
        let v = self
            .put_bytes(bucket.clone(), input.key, data, input.content_type)
            .await?;
        self.created(&caller, remote, &bucket, &v, "PutObject");
        Ok(S3Response::new(PutObjectOutput {
            e_tag: Some(etag(&v)),
            version_id: version_header(&v),
            server_side_encryption: Some(ServerSideEncryption::from_static(
                ServerSideEncryption::AES256,
            )),
            ..Default::default()
        }))
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        let caller = caller_of(&req);
        let input = req.input;
        let (store, bucket, key, version) = (
            self.store.clone(),
            input.bucket.clone(),
            input.key.clone(),
            input.version_id.clone(),
        );
        let (v, data) = blocking(move || store.get_object(&bucket, &key, version.as_deref()))
            .await
            .map_err(|e| self.hide_missing(&caller, &input.bucket, e))?;
        let len = data.len() as u64;
        let (body, content_range, status) = match &input.range {
            Some(range) => {
                let r = range.check(len).map_err(|_| {
                    s3_error!(InvalidRange, "The requested range is not satisfiable")
                })?;
                let slice = Bytes::from(data).slice(r.start as usize..r.end as usize);
                (
                    slice,
                    Some(format!(
                        "bytes {}-{}/{len}",
                        r.start,
                        r.end.saturating_sub(1)
                    )),
                    Some(StatusCode::PARTIAL_CONTENT),
                )
            }
            None => (Bytes::from(data), None, None),
        };
        let output = GetObjectOutput {
            content_length: Some(body.len() as i64),
            body: Some(StreamingBlob::from(s3s::Body::from(body))),
            accept_ranges: Some("bytes".to_owned()),
            content_range,
            content_type: v.content_type.clone(),
            e_tag: Some(etag(&v)),
            last_modified: Some(timestamp(v.last_modified_ms)),
            version_id: version_header(&v),
            server_side_encryption: Some(ServerSideEncryption::from_static(
                ServerSideEncryption::AES256,
            )),
            ..Default::default()
        };
        let mut resp = S3Response::new(output);
        resp.status = status;
        Ok(resp)
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        let caller = caller_of(&req);
        let input = req.input;
        let v = self
            .store
            .head_object(&input.bucket, &input.key, input.version_id.as_deref())
            .map_err(store_error)
            .map_err(|e| self.hide_missing(&caller, &input.bucket, e))?;
        Ok(S3Response::new(HeadObjectOutput {
            accept_ranges: Some("bytes".to_owned()),
            content_length: Some(v.size as i64),
            content_type: v.content_type.clone(),
            e_tag: Some(etag(&v)),
            last_modified: Some(timestamp(v.last_modified_ms)),
            version_id: version_header(&v),
            server_side_encryption: Some(ServerSideEncryption::from_static(
                ServerSideEncryption::AES256,
            )),
            ..Default::default()
        }))
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        let caller = caller_of(&req);
        let remote = req.extensions.get::<RemoteAddr>().copied();
        let input = req.input;
        let CopySource::Bucket {
            bucket: src_bucket,
            key: src_key,
            version_id: src_version,
        } = &input.copy_source
        else {
            return Err(s3_error!(NotImplemented, "copying from an access point"));
        };
        authorize(
            &self.store,
            &caller,
            "GetObject",
            Some(src_bucket),
            Some(src_key),
            src_version.is_some(),
        )?;
        let (store, b, k, ver) = (
            self.store.clone(),
            src_bucket.to_string(),
            src_key.to_string(),
            src_version.as_deref().map(str::to_owned),
        );
        let (src, data) = blocking(move || store.get_object(&b, &k, ver.as_deref()))
            .await
            .map_err(|e| self.hide_missing(&caller, src_bucket, e))?;
        let replace = input
            .metadata_directive
            .as_ref()
            .is_some_and(|d| d.as_str() == MetadataDirective::REPLACE);
        let content_type = if replace {
            input.content_type.clone()
        } else {
            src.content_type.clone()
        };
        let bucket = input.bucket.clone();
        let v = self
            .put_bytes(
                bucket.clone(),
                input.key.clone(),
                Bytes::from(data),
                content_type,
            )
            .await?;
        self.created(&caller, remote, &bucket, &v, "CopyObject");
        Ok(S3Response::new(CopyObjectOutput {
            copy_object_result: Some(CopyObjectResult {
                e_tag: Some(etag(&v)),
                last_modified: Some(timestamp(v.last_modified_ms)),
                ..Default::default()
            }),
            copy_source_version_id: version_header(&src),
            version_id: version_header(&v),
            ..Default::default()
        }))
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let input = req.input;
        let outcome = match &input.version_id {
            Some(v) => self
                .store
                .delete_object_version(&input.bucket, &input.key, v),
            None => self.store.delete_object(&input.bucket, &input.key),
        }
        .map_err(store_error)?;
        Ok(S3Response::with_status(
            DeleteObjectOutput {
                delete_marker: outcome.delete_marker.then_some(true),
                version_id: outcome.version_id.filter(|v| v != super::NULL_VERSION),
                ..Default::default()
            },
            StatusCode::NO_CONTENT,
        ))
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        let caller = caller_of(&req);
        let input = req.input;
        if !self.store.bucket_exists(&input.bucket) {
            return Err(store_error(StoreError::NoSuchBucket(input.bucket)));
        }
        let quiet = input.delete.quiet.unwrap_or(false);
        let mut deleted = Vec::new();
        let mut errors = Vec::new();
        for obj in input.delete.objects {
            let checked = authorize(
                &self.store,
                &caller,
                "DeleteObject",
                Some(&input.bucket),
                Some(&obj.key),
                obj.version_id.is_some(),
            );
            let result = checked.and_then(|()| {
                match &obj.version_id {
                    Some(v) => self.store.delete_object_version(&input.bucket, &obj.key, v),
                    None => self.store.delete_object(&input.bucket, &obj.key),
                }
                .map_err(store_error)
            });
            match result {
                Ok(outcome) => {
                    if !quiet {
                        let marker_id = outcome
                            .delete_marker
                            .then(|| outcome.version_id.clone())
                            .flatten();
                        deleted.push(DeletedObject {
                            key: Some(obj.key.clone()),
                            version_id: obj.version_id.clone(),
                            delete_marker: outcome.delete_marker.then_some(true),
                            delete_marker_version_id: if obj.version_id.is_none() {
                                marker_id
                            } else {
                                None
                            },
                        });
                    }
                }
                Err(e) => errors.push(Error {
                    code: Some(e.code().as_str().to_owned()),
                    key: Some(obj.key.clone()),
                    message: e.message().map(str::to_owned),
                    version_id: obj.version_id.clone(),
                }),
            }
        }
        Ok(S3Response::new(DeleteObjectsOutput {
            deleted: Some(deleted),
            errors: (!errors.is_empty()).then_some(errors),
            ..Default::default()
        }))
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        let input = req.input;
        let prefix = input.prefix.clone().unwrap_or_default();
        let after = match &input.continuation_token {
            Some(t) => Some(Marker::decode(t).ok_or_else(|| {
                s3_error!(
                    InvalidArgument,
                    "The continuation token provided is incorrect"
                )
            })?),
            None => input.start_after.clone().map(Marker::Key),
        };
        let url = wants_url_encoding(input.encoding_type.as_ref());
        let listed = self
            .list_page(
                &input.bucket,
                &prefix,
                input.delimiter.as_deref(),
                after,
                input.max_keys,
                url,
            )
            .await?;
        Ok(S3Response::new(ListObjectsV2Output {
            name: Some(input.bucket),
            prefix: Some(url_encoded(url, prefix)),
            delimiter: input.delimiter.map(|d| url_encoded(url, d)),
            max_keys: Some(listed.max_keys as i32),
            key_count: Some((listed.contents.len() + listed.common.len()) as i32),
            is_truncated: Some(listed.next.is_some()),
            continuation_token: input.continuation_token,
            next_continuation_token: listed.next.map(|m| m.encode()),
            start_after: input.start_after.map(|s| url_encoded(url, s)),
            encoding_type: input.encoding_type,
            contents: Some(listed.contents),
            common_prefixes: (!listed.common.is_empty()).then_some(listed.common),
            ..Default::default()
        }))
    }

    async fn list_objects(
        &self,
        req: S3Request<ListObjectsInput>,
    ) -> S3Result<S3Response<ListObjectsOutput>> {
        let input = req.input;
        let prefix = input.prefix.clone().unwrap_or_default();
        let url = wants_url_encoding(input.encoding_type.as_ref());
        let listed = self
            .list_page(
                &input.bucket,
                &prefix,
                input.delimiter.as_deref(),
                input.marker.clone().map(Marker::Key),
                input.max_keys,
                url,
            )
            .await?;
        // ListObjects returns NextMarker only with a delimiter; clients
        // resume after the last key otherwise.
        let next_marker = listed
            .next
            .as_ref()
            .filter(|_| input.delimiter.is_some())
            .map(|m| url_encoded(url, m.value().to_owned()));
        Ok(S3Response::new(ListObjectsOutput {
            name: Some(input.bucket),
            prefix: Some(url_encoded(url, prefix)),
            delimiter: input.delimiter.map(|d| url_encoded(url, d)),
            marker: input.marker.map(|m| url_encoded(url, m)),
            max_keys: Some(listed.max_keys as i32),
            is_truncated: Some(listed.next.is_some()),
            next_marker,
            encoding_type: input.encoding_type,
            contents: Some(listed.contents),
            common_prefixes: (!listed.common.is_empty()).then_some(listed.common),
            ..Default::default()
        }))
    }

    async fn list_object_versions(
        &self,
        req: S3Request<ListObjectVersionsInput>,
    ) -> S3Result<S3Response<ListObjectVersionsOutput>> {
        let input = req.input;
        let prefix = input.prefix.clone().unwrap_or_default();
        let (store, bucket, p) = (self.store.clone(), input.bucket.clone(), prefix.clone());
        let listed = blocking(move || store.list_object_versions(&bucket, &p)).await?;
        let max_keys = input.max_keys.unwrap_or(1000).clamp(0, 1000) as usize;
        let url = wants_url_encoding(input.encoding_type.as_ref());
        // Resume after (key marker, version id marker): S3 lists by key,
        // newest version first.
        let start = match (&input.key_marker, &input.version_id_marker) {
            (Some(k), Some(v)) if !v.is_empty() => listed
                .iter()
                .position(|l| &l.version.key == k && &l.version.version_id == v)
                .map_or_else(
                    || {
                        listed
                            .iter()
                            .position(|l| l.version.key > *k)
                            .unwrap_or(listed.len())
                    },
                    |i| i + 1,
                ),
            (Some(k), _) => listed
                .iter()
                .position(|l| l.version.key > *k)
                .unwrap_or(listed.len()),
            _ => 0,
        };
        let mut versions = Vec::new();
        let mut markers = Vec::new();
        let mut prefixes: Vec<String> = Vec::new();
        let mut count = 0;
        let mut next: Option<(String, String)> = None;
        let mut last: Option<(String, String)> = None;
        for l in &listed[start..] {
            let v = &l.version;
            if let Some(d) = input.delimiter.as_deref().filter(|d| !d.is_empty())
                && let Some(pos) = v.key[prefix.len()..].find(d)
            {
                let cp = v.key[..prefix.len() + pos + d.len()].to_owned();
                if prefixes.last() == Some(&cp) {
                    continue;
                }
                if count == max_keys {
                    next = last.clone();
                    break;
                }
                prefixes.push(cp);
                count += 1;
                last = Some((v.key.clone(), v.version_id.clone()));
                continue;
            }
            if count == max_keys {
                next = last.clone();
                break;
            }
            count += 1;
            last = Some((v.key.clone(), v.version_id.clone()));
            let owner = Some(Owner {
                display_name: Some("local".to_owned()),
                id: Some(OWNER_CANONICAL_ID.to_owned()),
            });
            if v.delete_marker {
                markers.push(DeleteMarkerEntry {
                    is_latest: Some(l.is_latest),
                    key: Some(url_encoded(url, v.key.clone())),
                    last_modified: Some(timestamp(v.last_modified_ms)),
                    owner,
                    version_id: Some(v.version_id.clone()),
                });
            } else {
                versions.push(s3s::dto::ObjectVersion {
                    e_tag: Some(etag(v)),
                    is_latest: Some(l.is_latest),
                    key: Some(url_encoded(url, v.key.clone())),
                    last_modified: Some(timestamp(v.last_modified_ms)),
                    owner,
                    size: Some(v.size as i64),
                    storage_class: Some(ObjectVersionStorageClass::from_static(
                        ObjectVersionStorageClass::STANDARD,
                    )),
                    version_id: Some(v.version_id.clone()),
                    ..Default::default()
                });
            }
        }
        let common: Vec<CommonPrefix> = prefixes
            .into_iter()
            .map(|p| CommonPrefix {
                prefix: Some(url_encoded(url, p)),
            })
            .collect();
        Ok(S3Response::new(ListObjectVersionsOutput {
            name: Some(input.bucket),
            prefix: Some(url_encoded(url, prefix)),
            delimiter: input.delimiter,
            max_keys: Some(max_keys as i32),
            key_marker: input.key_marker,
            version_id_marker: input.version_id_marker,
            is_truncated: Some(next.is_some()),
            next_key_marker: next.as_ref().map(|n| url_encoded(url, n.0.clone())),
            next_version_id_marker: next.map(|n| n.1),
            encoding_type: input.encoding_type,
            versions: Some(versions),
            delete_markers: (!markers.is_empty()).then_some(markers),
            common_prefixes: (!common.is_empty()).then_some(common),
            ..Default::default()
        }))
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        if !self.store.bucket_exists(&req.input.bucket) {
            return Err(store_error(StoreError::NoSuchBucket(req.input.bucket)));
        }
        Ok(S3Response::new(HeadBucketOutput {
            bucket_region: Some(LOCAL_REGION.to_owned()),
            ..Default::default()
        }))
    }

    async fn get_bucket_location(
        &self,
        req: S3Request<GetBucketLocationInput>,
    ) -> S3Result<S3Response<GetBucketLocationOutput>> {
        if !self.store.bucket_exists(&req.input.bucket) {
            return Err(store_error(StoreError::NoSuchBucket(req.input.bucket)));
        }
        // us-east-1 answers an empty LocationConstraint.
        Ok(S3Response::new(GetBucketLocationOutput::default()))
    }

    async fn list_buckets(
        &self,
        req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        let prefix = req.input.prefix.clone().unwrap_or_default();
        let buckets: Vec<s3s::dto::Bucket> = self
            .store
            .list::<Bucket>()
            .map_err(store_error)?
            .into_iter()
            .filter(|b| b.name.starts_with(&prefix))
            .map(|b| {
                let created = std::fs::metadata(self.store.resource_path(Bucket::KIND, &b.name))
                    .and_then(|m| m.modified())
                    .unwrap_or_else(|_| SystemTime::now());
                s3s::dto::Bucket {
                    bucket_region: Some(LOCAL_REGION.to_owned()),
                    creation_date: Some(Timestamp::from(created)),
                    name: Some(b.name),
                }
            })
            .collect();
        Ok(S3Response::new(ListBucketsOutput {
            buckets: Some(buckets),
            owner: Some(Owner {
                display_name: Some("local".to_owned()),
                id: Some(OWNER_CANONICAL_ID.to_owned()),
            }),
            prefix: req.input.prefix,
            ..Default::default()
        }))
    }

    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        let bucket = req.input.bucket;
        if self.store.bucket_exists(&bucket) {
            return Err(s3_error!(BucketAlreadyOwnedByYou));
        }
        Err(S3Error::with_message(
            S3ErrorCode::AccessDenied,
            format!(
                "buckets of the local cloud come from stack.yaml: declare {bucket} there and run \
                 `stackctl up`"
            ),
        ))
    }

    // ---- multipart uploads ----

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let input = req.input;
        if !self.store.bucket_exists(&input.bucket) {
            return Err(store_error(StoreError::NoSuchBucket(input.bucket)));
        }
        let upload_id = format!(
            "{:016x}{:016x}",
            clock::random_u64(),
            self.store.next_tick()
        );
        let dir = self.store.scratch_dir().join(format!("upload-{upload_id}"));
        std::fs::create_dir_all(&dir).map_err(internal)?;
        self.uploads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                upload_id.clone(),
                Upload {
                    bucket: input.bucket.clone(),
                    key: input.key.clone(),
                    content_type: input.content_type,
                    dir,
                },
            );
        Ok(S3Response::new(CreateMultipartUploadOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(upload_id),
            ..Default::default()
        }))
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        let input = req.input;
        let upload = self.upload(&input.upload_id, &input.bucket, &input.key)?;
        if !(1..=10_000).contains(&input.part_number) {
            return Err(s3_error!(
                InvalidArgument,
                "Part number must be an integer between 1 and 10000"
            ));
        }
        let data = read_body(input.body).await?;
        let tag = super::md5_hex(&data);
        let path = upload.dir.join(format!("{:05}.part", input.part_number));
        tokio::fs::write(&path, &data).await.map_err(internal)?;
        Ok(S3Response::new(UploadPartOutput {
            e_tag: Some(ETag::Strong(tag)),
            ..Default::default()
        }))
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let caller = caller_of(&req);
        let remote = req.extensions.get::<RemoteAddr>().copied();
        let input = req.input;
        let upload = self.upload(&input.upload_id, &input.bucket, &input.key)?;
        let parts = input
            .multipart_upload
            .and_then(|m| m.parts)
            .unwrap_or_default();
        if parts.is_empty() {
            return Err(s3_error!(MalformedXML, "The upload names no parts"));
        }
        let mut data = Vec::new();
        let mut last = 0;
        for part in &parts {
            let n = part.part_number.unwrap_or_default();
            if n <= last {
                return Err(s3_error!(InvalidPartOrder));
            }
            last = n;
            let bytes = tokio::fs::read(upload.dir.join(format!("{n:05}.part")))
                .await
                .map_err(|_| s3_error!(InvalidPart, "part {n} was not uploaded"))?;
            if let Some(want) = part
                .e_tag
                .as_ref()
                .map(|e| e.value().trim_matches('"').to_owned())
                && want != super::md5_hex(&bytes)
            {
                return Err(s3_error!(InvalidPart, "part {n}: the ETag does not match"));
            }
            data.extend_from_slice(&bytes);
        }
        let v = self
            .put_bytes(
                upload.bucket.clone(),
                upload.key.clone(),
                Bytes::from(data),
                upload.content_type.clone(),
            )
            .await?;
        self.forget_upload(&input.upload_id, &upload);
        self.created(
            &caller,
            remote,
            &upload.bucket,
            &v,
            "CompleteMultipartUpload",
        );
        Ok(S3Response::new(CompleteMultipartUploadOutput {
            bucket: Some(upload.bucket),
            key: Some(upload.key),
            e_tag: Some(etag(&v)),
            version_id: version_header(&v),
            ..Default::default()
        }))
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        let input = req.input;
        let upload = self.upload(&input.upload_id, &input.bucket, &input.key)?;
        self.forget_upload(&input.upload_id, &upload);
        Ok(S3Response::with_status(
            AbortMultipartUploadOutput::default(),
            StatusCode::NO_CONTENT,
        ))
    }
}

impl LocalS3 {
    fn upload(&self, id: &str, bucket: &str, key: &str) -> S3Result<Upload> {
        self.uploads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .filter(|u| u.bucket == bucket && u.key == key)
            .cloned()
            .ok_or_else(|| s3_error!(NoSuchUpload))
    }

    fn forget_upload(&self, id: &str, upload: &Upload) {
        self.uploads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
        let _ = std::fs::remove_dir_all(&upload.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_aws_chunked_bodies() {
        let raw = b"5;chunk-signature=abc\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:AAAA\r\n\r\n";
        assert_eq!(
            decode_aws_chunked(raw).expect("decodes"),
            Bytes::from_static(b"hello world")
        );
        assert!(decode_aws_chunked(b"zz\r\n").is_err());
        assert!(decode_aws_chunked(b"10\r\nshort\r\n").is_err());
    }
}
