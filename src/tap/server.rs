//! The accept loop under the tap: every connection is bounded in count and
//! in time, so no client — slow, idle or stalled — holds the tap.
//!
//! - At most `max_connections` at once; one more is answered `503` in
//!   Amplitude's shape and closed, so the SDK retries later.
//! - A request's headers must arrive within `client_timeout` (hyper's header
//!   timer, which also runs while a keep-alive connection waits for its next
//!   request: an idle socket is closed after the same time).
//! - The body has `client_timeout` plus its length at `min_body_rate`
//!   (checked in the proxy, which knows the length).
//! - On shutdown, connections finish the request in flight and close; after
//!   `drain`, whatever still stalls is dropped and the tap exits.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

/// How long clients may take, and how many there may be.
#[derive(Debug, Clone, Copy)]
pub struct ClientLimits {
    pub client_timeout: Duration,
    /// Bytes per second a body must at least arrive at.
    pub min_body_rate: u64,
    pub max_connections: usize,
    pub drain: Duration,
}

impl Default for ClientLimits {
    fn default() -> Self {
        ClientLimits {
            client_timeout: Duration::from_secs(30),
            min_body_rate: 10 * 1024,
            max_connections: 512,
            drain: Duration::from_secs(10),
        }
    }
}

impl ClientLimits {
    /// How long a body of `len` bytes may take to arrive.
    pub fn body_time(&self, len: usize) -> Duration {
        let at_min_rate = len as f64 / self.min_body_rate.max(1) as f64;
        self.client_timeout + Duration::from_secs_f64(at_min_rate.min(86_400.0))
    }
}

/// The answer to a connection over the limit, written straight to the socket.
const BUSY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\nRetry-After: 1\r\nContent-Length: 85\r\n\r\n{\"code\":503,\"error\":\"amptap has too many connections open (--max-connections); retry\"}";

/// Serves `app` until `shutdown` resolves, then drains within `limits.drain`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ClientLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, client) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            connections.spawn(refuse(stream));
            continue;
        };
        let (app, stopping) = (app.clone(), stopping.clone());
        connections.spawn(async move {
            connection(stream, client, app, limits, stopping).await;
            drop(slot);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    let drained = tokio::time::timeout(limits.drain, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            "{} connections still open after {:?}: closed",
            connections.len(),
            limits.drain
        );
        connections.shutdown().await;
    }
    Ok(())
}

async fn refuse(mut stream: TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(BUSY)).await;
    let _ = stream.shutdown().await;
}

async fn connection(
    stream: TcpStream,
    client: SocketAddr,
    app: Router,
    limits: ClientLimits,
    mut stopping: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(client));
        tower_service::Service::call(&mut app.clone(), request)
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.client_timeout)
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => log_end(result),
        () = stopped(&mut stopping) => {
            // Finish the request in flight, then close.
            conn.as_mut().graceful_shutdown();
            log_end(conn.await);
        }
    }
}

async fn stopped(stopping: &mut watch::Receiver<bool>) {
    let _ = stopping.wait_for(|&stop| stop).await;
}

fn log_end(result: Result<(), hyper::Error>) {
    if let Err(e) = result {
        tracing::debug!("connection: {e}");
    }
}
