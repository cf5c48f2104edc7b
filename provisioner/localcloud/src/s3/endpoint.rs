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
use crate::store::{Record as _, Store, StoreError, write_atomically};
use crate::{ACCOUNT as LOCAL_ACCOUNT, REGION as LOCAL_REGION};

mod access;
mod listing;
mod multipart;
mod ops;
mod owner;
mod stream;

// The operations' helpers, shared by the files of this module.
use access::*;
use listing::wants_url_encoding;
use ops::*;
pub use owner::decode_aws_chunked;
use owner::*;
use stream::*;

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
