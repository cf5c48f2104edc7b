//! The one accept loop of the local cloud's HTTP servers (the S3 endpoint,
//! each process's Runtime API, the runtime's status listener).

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// Accepts connections on `listener` and runs `connection` for each until
/// `stop` resolves; then closes the open connections. Aborting the task
/// running it also ends them (they live in its `JoinSet`).
pub(crate) async fn accept_loop<F, Fut>(
    listener: TcpListener,
    stop: impl Future<Output = ()>,
    connection: F,
) where
    F: Fn(TcpStream, SocketAddr) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut connections = JoinSet::new();
    let mut stop = std::pin::pin!(stop);
    loop {
        tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, remote)) => {
                    // Small request/response exchanges: no Nagle delay.
                    let _ = stream.set_nodelay(true);
                    connections.spawn(connection(stream, remote));
                }
                // Out of descriptors or similar: back off, don't spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            // Reap finished connection tasks so the set does not grow.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    connections.shutdown().await;
}

/// Serves HTTP/1.1 (or h2c) on one connection with `service`.
pub(crate) async fn serve_connection<S, B>(stream: TcpStream, service: S)
where
    S: hyper::service::Service<hyper::Request<Incoming>, Response = hyper::Response<B>>
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let _ = auto::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(stream), service)
        .await;
}
