//! The Lambda Runtime API (version 2018-06-01) for one execution
//! environment: the HTTP server a `bootstrap` process polls through
//! `AWS_LAMBDA_RUNTIME_API`.
//!
//! | request | answer |
//! |---|---|
//! | `GET /2018-06-01/runtime/invocation/next` | long-polls until an invocation is dispatched: 200, the event as body, headers `Lambda-Runtime-Aws-Request-Id`, `-Deadline-Ms`, `-Invoked-Function-Arn`, `-Trace-Id` |
//! | `POST …/invocation/{id}/response` | 202; 400 for an id that is not the current invocation; 413 above 6 MB |
//! | `POST …/invocation/{id}/error` | 202 (`{errorMessage, errorType}` body, `Lambda-Runtime-Function-Error-Type` header) |
//! | `POST /2018-06-01/runtime/init/error` | 202 before the first `next`, 403 after |
//!
//! The server only relays: each call becomes a [`ProcEvent`] for the
//! invoker, which owns timing, timeouts and logs.

use std::convert::Infallible;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::clock;

/// Lambda's limit on a synchronous response payload, in bytes.
pub(crate) const MAX_RESPONSE_BYTES: usize = 6_291_556;
/// Bodies of error reports are small; refuse anything absurd.
const MAX_ERROR_BYTES: usize = 1024 * 1024;
pub(super) const PREFIX: &str = "/2018-06-01/runtime/";

/// One invocation handed to the runtime by `next`.
pub(crate) struct Dispatch {
    pub request_id: String,
    pub payload: Bytes,
    pub timeout_ms: u64,
    pub function_arn: String,
}

/// What the runtime told us, in order.
#[derive(Debug)]
pub(crate) enum ProcEvent {
    /// `next` returned this invocation to the runtime at `at`.
    Dispatched {
        request_id: String,
        at: Instant,
        wall_ms: i64,
    },
    Response {
        request_id: String,
        body: Bytes,
    },
    ResponseTooLarge {
        request_id: String,
    },
    Error {
        request_id: String,
        error_type: String,
        error_message: String,
    },
    InitError {
        error_type: String,
        error_message: String,
    },
}

/// The state one process's API server shares with its invoker.
pub(crate) struct ProcApi {
    dispatch: tokio::sync::Mutex<mpsc::Receiver<Dispatch>>,
    events: mpsc::UnboundedSender<ProcEvent>,
    /// The request id handed out by `next` and not yet answered.
    current: Mutex<Option<String>>,
    /// When the runtime first asked for an invocation: the end of init.
    pub first_next: OnceLock<Instant>,
}

impl ProcApi {
    pub(crate) fn new(
        dispatch: mpsc::Receiver<Dispatch>,
        events: mpsc::UnboundedSender<ProcEvent>,
    ) -> Self {
        Self {
            dispatch: tokio::sync::Mutex::new(dispatch),
            events,
            current: Mutex::new(None),
            first_next: OnceLock::new(),
        }
    }

    /// Ends the current invocation if it is `id`; false otherwise.
    fn finish(&self, id: &str) -> bool {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if current.as_deref() == Some(id) {
            *current = None;
            true
        } else {
            false
        }
    }
}

/// Serves the Runtime API on `listener` until the task is aborted; aborting
/// it also ends every open connection.
pub(crate) async fn serve(listener: TcpListener, api: Arc<ProcApi>) {
    crate::http::accept_loop(listener, std::future::pending(), move |stream, _| {
        let api = api.clone();
        let service = hyper::service::service_fn(move |req| handle(api.clone(), req));
        crate::http::serve_connection(stream, service)
    })
    .await;
}

type Reply = Response<Full<Bytes>>;

pub(super) fn reply(status: StatusCode, body: impl Into<Bytes>) -> Reply {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    resp
}

pub(super) fn error_reply(status: StatusCode, error_type: &str, message: &str) -> Reply {
    let body = serde_json::json!({ "errorMessage": message, "errorType": error_type });
    reply(status, body.to_string())
}

fn accepted() -> Reply {
    reply(StatusCode::ACCEPTED, r#"{"status":"OK"}"#)
}

async fn handle(api: Arc<ProcApi>, req: Request<Incoming>) -> Result<Reply, Infallible> {
    let path = req.uri().path().to_owned();
    let Some(rest) = path.strip_prefix(PREFIX) else {
        return Ok(not_found(&path));
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let method = req.method().clone();
    Ok(match (method, parts.as_slice()) {
        (Method::GET, ["invocation", "next"]) => next(&api).await,
        (Method::POST, ["invocation", id, "response"]) => {
            let id = (*id).to_owned();
            match Limited::new(req.into_body(), MAX_RESPONSE_BYTES)
                .collect()
                .await
            {
                Ok(body) => {
                    if !api.finish(&id) {
                        return Ok(invalid_id(&id));
                    }
                    let _ = api.events.send(ProcEvent::Response {
                        request_id: id,
                        body: body.to_bytes(),
                    });
                    accepted()
                }
                Err(_) => {
                    if !api.finish(&id) {
                        return Ok(invalid_id(&id));
                    }
                    let _ = api
                        .events
                        .send(ProcEvent::ResponseTooLarge { request_id: id });
                    error_reply(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "RequestEntityTooLarge",
                        &format!(
                            "Exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."
                        ),
                    )
                }
            }
        }
        (Method::POST, ["invocation", id, "error"]) => {
            let id = (*id).to_owned();
            let (error_type, error_message) = match read_error(req).await {
                Ok(e) => e,
                Err(r) => return Ok(r),
            };
            if !api.finish(&id) {
                return Ok(invalid_id(&id));
            }
            let _ = api.events.send(ProcEvent::Error {
                request_id: id,
                error_type,
                error_message,
            });
            accepted()
        }
        (Method::POST, ["init", "error"]) => {
            if api.first_next.get().is_some() {
                return Ok(error_reply(
                    StatusCode::FORBIDDEN,
                    "InvalidStateTransition",
                    "init/error is only valid before the first invocation/next",
                ));
            }
            let (error_type, error_message) = match read_error(req).await {
                Ok(e) => e,
                Err(r) => return Ok(r),
            };
            let _ = api.events.send(ProcEvent::InitError {
                error_type,
                error_message,
            });
            accepted()
        }
        _ => not_found(&path),
    })
}

fn not_found(path: &str) -> Reply {
    error_reply(
        StatusCode::NOT_FOUND,
        "InvalidRequest",
        &format!("{path}: not a Lambda Runtime API 2018-06-01 resource"),
    )
}

fn invalid_id(id: &str) -> Reply {
    error_reply(
        StatusCode::BAD_REQUEST,
        "InvalidRequestID",
        &format!("Invalid request ID: {id} is not the invocation in progress"),
    )
}

/// `next`: note the end of init, then wait for the invoker's dispatch.
async fn next(api: &ProcApi) -> Reply {
    api.first_next.get_or_init(Instant::now);
    let dispatch = {
        let mut rx = api.dispatch.lock().await;
        rx.recv().await
    };
    let Some(d) = dispatch else {
        // The emulator is shutting this environment down.
        return error_reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceException",
            "the execution environment is shutting down",
        );
    };
    let (at, wall_ms) = (Instant::now(), clock::now_ms());
    let deadline_ms = wall_ms.saturating_add(i64::try_from(d.timeout_ms).unwrap_or(i64::MAX));
    *api.current.lock().unwrap_or_else(|e| e.into_inner()) = Some(d.request_id.clone());
    let _ = api.events.send(ProcEvent::Dispatched {
        request_id: d.request_id.clone(),
        at,
        wall_ms,
    });
    let mut resp = reply(StatusCode::OK, d.payload);
    let headers = resp.headers_mut();
    let pairs = [
        ("lambda-runtime-aws-request-id", d.request_id),
        ("lambda-runtime-deadline-ms", deadline_ms.to_string()),
        ("lambda-runtime-invoked-function-arn", d.function_arn),
        ("lambda-runtime-trace-id", clock::trace_id(wall_ms)),
    ];
    for (name, value) in pairs {
        if let Ok(v) = hyper::header::HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
    resp
}

/// The `{errorMessage, errorType}` of an error report. The type falls back
/// to the `Lambda-Runtime-Function-Error-Type` header, the message to the
/// raw body, as Lambda does with a body that is not the documented JSON.
async fn read_error(req: Request<Incoming>) -> Result<(String, String), Reply> {
    let header_type = req
        .headers()
        .get("lambda-runtime-function-error-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = match Limited::new(req.into_body(), MAX_ERROR_BYTES)
        .collect()
        .await
    {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return Err(error_reply(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                &format!("error reports are limited to {MAX_ERROR_BYTES} bytes"),
            ));
        }
    };
    let json: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
    let field = |k: &str| {
        json.as_ref()
            .and_then(|j| j.get(k))
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let error_type = field("errorType")
        .or(header_type)
        .unwrap_or_else(|| "Unhandled".to_owned());
    let error_message =
        field("errorMessage").unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
    Ok((error_type, error_message))
}
