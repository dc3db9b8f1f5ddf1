//! `memwarden serve`: the HTTP API in front of the job store, the tenant
//! store and the rule packs, beside the workers. Every route but the health
//! checks needs an API key ([`auth`]); every failure is one JSON error
//! (`error`). The routes, as [`router`] lists them, are described in
//! `host/openapi.yaml`, and a test holds the two together.
//!
//! Bounds (issue 9): the [`listener`] caps connections and times request
//! heads and requests; the [`gate`] caps blocking work per process and per
//! tenant; a sharded host answers only for the tenants it owns
//! (`421 wrong_shard`), and reads never create a tenant.

pub mod auth;
mod error;
pub mod gate;
pub mod listener;
mod mcp;
mod ops;
mod replay;
pub(crate) mod reviews;
pub(crate) mod tenants;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::sync::watch;

pub use auth::{Caller, given_key, key_from_env, key_sha256, new_key};
pub use error::ApiError;
pub use gate::Gate;
pub use listener::HttpLimits;
pub use ops::PROPOSAL_TOO_LARGE;
pub use tenants::codes as tenant_codes;
pub(crate) use tenants::existing_tenant;

use crate::consolidation::Consolidator;
use crate::jobs::{JobStore, Shard};
use crate::reflection::Reflector;
use crate::worker;

/// What the handlers share.
pub struct Api<S> {
    /// The reflection flow, with the job store, data dir, packs and LLM.
    pub reflector: Arc<Reflector<S>>,
    /// The consolidation flow.
    pub consolidator: Arc<Consolidator<S>>,
    /// SHA-256 (hex) of the admin key, when one is configured.
    pub admin_key_sha256: Option<String>,
    /// Renders `/metrics`; `None` when no Prometheus recorder is installed.
    pub prometheus: Option<PrometheusHandle>,
    /// Attempts a new reflection job gets.
    pub max_attempts: u32,
    /// Attempts a requested consolidation gets.
    pub consolidation_attempts: u32,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// The tenants this host owns; the others are `421 wrong_shard`.
    /// `None`: every tenant.
    pub shard: Option<Shard>,
    /// Bounds on evaluations and tenant-store work in flight.
    pub gate: Gate,
    /// The listener's connection cap and timeouts.
    pub http: HttpLimits,
    /// The MCP face at `/mcp` (issue 14).
    pub mcp: crate::mcp::McpSettings,
}

/// Every route of the API, as `host/openapi.yaml` must describe it.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/v1/jobs/{id}"),
    ("POST", "/v1/policy/eval"),
    ("POST", "/v1/admin/packs/reload"),
    ("POST", "/v1/policy/replay"),
    ("POST", "/v1/tenants/{tenant}/reflections"),
    ("POST", "/v1/tenants/{tenant}/consolidate"),
    ("GET", "/v1/tenants/{tenant}/memory"),
    ("GET", "/v1/tenants/{tenant}/memory/{name}"),
    ("GET", "/v1/tenants/{tenant}/memory/{name}/history"),
    ("POST", "/v1/tenants/{tenant}/memory/{name}/unmerge"),
    ("GET", "/v1/tenants/{tenant}/snapshots"),
    ("GET", "/v1/tenants/{tenant}/snapshots/{id}"),
    ("POST", "/v1/tenants/{tenant}/snapshots/{id}/rollback"),
    ("GET", "/v1/tenants/{tenant}/reviews"),
    ("GET", "/v1/tenants/{tenant}/reviews/{id}"),
    ("POST", "/v1/tenants/{tenant}/reviews/{id}/approve"),
    ("POST", "/v1/tenants/{tenant}/reviews/{id}/deny"),
    ("DELETE", "/v1/tenants/{tenant}/sources/{run}"),
    ("POST", "/mcp"),
    ("GET", "/mcp"),
    ("DELETE", "/mcp"),
];

/// The API, on [`ROUTES`].
pub fn router<S: JobStore + 'static>(api: Arc<Api<S>>) -> Router {
    router_stopping(api, tokio_util::sync::CancellationToken::new())
}

/// [`router`], whose MCP sessions end when `stop` is cancelled.
fn router_stopping<S: JobStore + 'static>(api: Arc<Api<S>>, stop: tokio_util::sync::CancellationToken) -> Router {
    let (limit, timeout) = (api.max_body_bytes, api.http.request_timeout);
    let host = crate::mcp::McpHost::new(api.reflector.clone(), api.gate.clone(), api.shard.clone(), api.mcp.clone());
    // The key check runs before rmcp sees the request, on every request
    // of a session, and hands it the tenant the key names.
    let mcp = Router::new()
        .route_service("/mcp", crate::mcp::http_service(Arc::new(host), stop))
        .layer(axum::middleware::from_fn_with_state(api.clone(), mcp::authenticate::<S>));
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz::<S>))
        .route("/metrics", get(ops::metrics::<S>))
        .route("/v1/jobs/{id}", get(ops::job::<S>))
        .route("/v1/policy/eval", post(ops::policy_eval::<S>))
        .route("/v1/admin/packs/reload", post(ops::reload_packs::<S>))
        .route("/v1/policy/replay", post(replay::replay::<S>))
        .route("/v1/tenants/{tenant}/reflections", post(tenants::enqueue_reflection::<S>))
        .route("/v1/tenants/{tenant}/consolidate", post(tenants::consolidate::<S>))
        .route("/v1/tenants/{tenant}/memory", get(tenants::memory::<S>))
        .route("/v1/tenants/{tenant}/memory/{name}", get(tenants::entry::<S>))
        .route("/v1/tenants/{tenant}/memory/{name}/history", get(tenants::entry_history::<S>))
        .route("/v1/tenants/{tenant}/memory/{name}/unmerge", post(reviews::unmerge::<S>))
        .route("/v1/tenants/{tenant}/snapshots", get(tenants::snapshots::<S>))
        .route("/v1/tenants/{tenant}/snapshots/{id}", get(tenants::snapshot::<S>))
        .route("/v1/tenants/{tenant}/snapshots/{id}/rollback", post(tenants::rollback::<S>))
        .route("/v1/tenants/{tenant}/reviews", get(reviews::list::<S>))
        .route("/v1/tenants/{tenant}/reviews/{id}", get(reviews::show::<S>))
        .route("/v1/tenants/{tenant}/reviews/{id}/approve", post(reviews::approve::<S>))
        .route("/v1/tenants/{tenant}/reviews/{id}/deny", post(reviews::deny::<S>))
        .route("/v1/tenants/{tenant}/sources/{run}", delete(reviews::forget::<S>))
        .merge(mcp)
        // The review console: HTML for people, not part of the JSON API
        // that ROUTES and openapi.yaml describe (issue 16).
        .nest("/ui", crate::console::router(api.clone()))
        // A nested router's `/` answers `/ui` only; `/ui/` is typed too.
        .route("/ui/", get(|| async { axum::response::Redirect::to("/ui") }))
        .fallback(ops::no_route)
        .layer(DefaultBodyLimit::max(limit))
        // The last layer is the outermost: the timeout covers reading the
        // body as well as the handler.
        .layer(axum::middleware::from_fn_with_state(timeout, listener::request_timeout))
        .with_state(api)
}

/// Runs blocking work of `tenant` (an evaluation, tenant-store reads and
/// writes) off the async runtime, under the [`Gate`]: refused with `429` or
/// `503` when too much is in flight. The permit lives as long as the work.
pub(crate) async fn gated<S, T: Send + 'static>(
    api: &Api<S>,
    tenant: &str,
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let permit = api.gate.enter(tenant)?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work()
    })
    .await
    .map_err(|err| {
        ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "internal", format!("a task failed: {err}"))
    })?
}

/// Serves the API on `listener` until `stop` turns true — with a worker
/// beside it when `workers` is set — then lets the requests and jobs in
/// flight finish.
pub async fn run<S: JobStore + 'static>(
    api: Arc<Api<S>>,
    listener: tokio::net::TcpListener,
    workers: Option<worker::Options>,
    stop: watch::Receiver<bool>,
    on_finished: Arc<dyn Fn(worker::Finished<'_>) + Send + Sync>,
) -> std::io::Result<()> {
    let working = workers.map(|options| {
        let (reflector, consolidator) = (api.reflector.clone(), api.consolidator.clone());
        tokio::spawn(worker::run(reflector, consolidator, options, stop.clone(), on_finished))
    });
    let limits = api.http;
    let mcp_stop = tokio_util::sync::CancellationToken::new();
    let mut stopping = stop.clone();
    let cancel = mcp_stop.clone();
    tokio::spawn(async move {
        while !*stopping.borrow_and_update() {
            if stopping.changed().await.is_err() {
                break;
            }
        }
        cancel.cancel();
    });
    listener::serve(listener, router_stopping(api, mcp_stop), limits, stop.clone()).await?;
    if let Some(working) = working
        && let Err(err) = working.await
    {
        tracing::error!(error = %err, "the worker panicked");
    }
    Ok(())
}

/// Installs the process-wide Prometheus recorder: latencies as histograms
/// with buckets from 100 µs to 60 s.
pub fn install_prometheus() -> Result<PrometheusHandle, metrics_exporter_prometheus::BuildError> {
    const SECONDS: &[f64] =
        &[0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];
    PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_string()), SECONDS)?
        .install_recorder()
}
