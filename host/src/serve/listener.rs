//! The HTTP listener (issue 9, item 18): HTTP/1.1 on hyper, with the three
//! bounds `axum::serve` does not set — a connection cap, a header-read
//! timeout and a request timeout — so half-sent requests cannot hold the
//! server. Read [`serve`] first.
//!
//! - At most [`HttpLimits::max_connections`] connections are open; at the
//!   cap the listener stops accepting, and new connections wait in the
//!   kernel's backlog.
//! - A connection that has not sent a whole request head within
//!   [`HttpLimits::header_read_timeout`] — a new one, or an idle keep-alive
//!   one — is closed.
//! - A request not answered within [`HttpLimits::request_timeout`], body
//!   upload included, gets `503 request_timeout`.
//!
//! This module knows nothing of routes; it serves whatever router it gets.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::sync::{Semaphore, watch};

use super::ApiError;

/// Code of a request that ran out of time.
pub const REQUEST_TIMEOUT: &str = "request_timeout";

/// The listener's bounds, from `serve:` in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Connections open at once.
    pub max_connections: usize,
    /// Time to send a whole request head.
    pub header_read_timeout: Duration,
    /// Time to answer one request, reading its body included.
    pub request_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_connections: 1024,
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// Answers `503 request_timeout` for a request that takes longer than
/// the limit. Blocking work it started keeps its gate permit until it ends.
pub async fn request_timeout(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            metrics::counter!(super::gate::REFUSED_METRIC, "code" => REQUEST_TIMEOUT).increment(1);
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                REQUEST_TIMEOUT,
                format!("the request was not answered within {} s", limit.as_secs_f64()),
            )
            .into_response()
        }
    }
}

/// Resolves once `stop` turns true (or its sender is gone). The guard
/// `wait_for` returns is dropped here, so the serving future stays `Send`.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

/// Serves `router` on `listener` until `stop` turns true, then stops
/// accepting and lets the connections finish what is in flight — for at
/// most one request timeout more.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: HttpLimits,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let connections = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    loop {
        // 1. A free connection slot; at the cap, stop accepting.
        let permit = tokio::select! {
            permit = connections.clone().acquire_owned() => permit.map_err(std::io::Error::other)?,
            () = stopped(&mut stop) => break,
        };
        // 2. The next connection.
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _peer)) => stream,
                Err(err) => {
                    // Out of descriptors, or a connection reset before it
                    // was accepted: wait a moment rather than spin.
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => break,
        };
        let _ = stream.set_nodelay(true);
        // 3. Serve it with the header-read timeout; the slot is freed when
        //    the connection closes.
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(router.clone()));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    let grace = limits.request_timeout + Duration::from_secs(1);
    if tokio::time::timeout(grace, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after the shutdown grace period were dropped");
    }
    Ok(())
}
