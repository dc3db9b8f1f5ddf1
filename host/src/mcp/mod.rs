//! memwarden as an MCP memory server (issue 14): agents list, read and
//! search a tenant's memory and propose changes through tools, and every
//! write passes the tenant's rule pack — the answer says, per change, who
//! decided what and what to do about it.
//!
//! Two transports, one server ([`MemoryServer`], its tools in `tools`):
//! stdio for a local agent, bound to one tenant by the operator
//! (`memwarden mcp --tenant T`, [`serve_stdio`]); streamable HTTP at
//! `/mcp` inside `memwarden serve` ([`http_service`]), where the tenant
//! comes from the request's API key — checked on every request by
//! `serve::mcp_auth` — and never from the agent. No tool argument names a
//! tenant or a path; entry names pass the same name checks as everywhere.
//!
//! Read `tools` for what each tool does, [`propose::propose`] for the
//! write path. This module does not decide anything itself.

pub mod limit;
pub mod propose;
pub mod render;
pub mod search;
mod tools;

use std::sync::Arc;
use std::time::Instant;

use axum::http::StatusCode;
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{RoleServer, ServiceExt};

use crate::jobs::{JobStore, Shard};
use crate::reflection::Reflector;
use crate::serve::{ApiError, Gate};

pub use tools::MemoryServer;

/// The MCP settings (`mcp:` in the config).
#[derive(Debug, Clone)]
pub struct McpSettings {
    /// `memory_propose` calls one session may make a minute; 0: no limit.
    pub proposals_per_minute: u32,
    /// Largest request accepted, in bytes: an HTTP body or a stdio line.
    pub max_request_bytes: usize,
    /// Attempts a reflection enqueued through `reflect` gets.
    pub max_attempts: u32,
    /// Entries `memory_search` returns at most.
    pub max_search_results: usize,
}

impl Default for McpSettings {
    fn default() -> Self {
        McpSettings {
            proposals_per_minute: 30,
            max_request_bytes: 1024 * 1024,
            max_attempts: 3,
            max_search_results: 50,
        }
    }
}

/// What every MCP session of a process shares.
pub struct McpHost<S> {
    /// The flows' shared parts: job store, data dir, packs, indexes.
    pub reflector: Arc<Reflector<S>>,
    /// Bounds on blocking work, shared with the HTTP API.
    pub gate: Gate,
    /// The tenants this host owns (`None`: all).
    pub shard: Option<Shard>,
    /// Knobs.
    pub settings: McpSettings,
    search: search::SearchIndex,
    limit: limit::RateLimit,
}

impl<S: JobStore + 'static> McpHost<S> {
    /// A host for `reflector`'s stores and packs.
    pub fn new(reflector: Arc<Reflector<S>>, gate: Gate, shard: Option<Shard>, settings: McpSettings) -> McpHost<S> {
        let limit = limit::RateLimit::new(settings.proposals_per_minute);
        McpHost { reflector, gate, shard, settings, search: search::SearchIndex::default(), limit }
    }

    /// Refuses a proposal over `session`'s rate (`429 rate_limited`).
    fn take_proposal(&self, session: &str) -> Result<(), ApiError> {
        self.limit.take(session, Instant::now()).map_err(|wait| {
            metrics::counter!(crate::serve::gate::REFUSED_METRIC, "code" => codes::RATE_LIMITED).increment(1);
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                codes::RATE_LIMITED,
                format!(
                    "this session may make {} proposals a minute; wait {} s and propose again",
                    self.settings.proposals_per_minute,
                    wait.as_secs() + 1
                ),
            )
        })
    }

    /// Runs blocking work of `tenant` off the async runtime, under the gate.
    async fn blocking<T: Send + 'static>(
        &self,
        tenant: &str,
        work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit = self.gate.enter(tenant)?;
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work()
        })
        .await
        .map_err(|err| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", format!("a task failed: {err}")))?
    }
}

/// Codes of the MCP face, beside the HTTP API's.
pub mod codes {
    /// A session proposed more than `mcp.proposals_per_minute`: 429.
    pub const RATE_LIMITED: &str = "rate_limited";
    /// The admin key names no tenant, so it cannot open an MCP session: 403.
    pub const TENANT_KEY_REQUIRED: &str = "tenant_key_required";
}

/// Who a session acts for: the tenant and the session's name for the rate
/// limit. Over HTTP `serve` puts it in each request; over stdio it is the
/// operator's `--tenant`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The tenant, from the API key or the command line.
    pub tenant: String,
    /// Names the session for the rate limit and the logs.
    pub id: String,
}

/// The tenant of the request in `context`.
fn session_of(fixed: Option<&Session>, context: &RequestContext<RoleServer>) -> Result<Session, ApiError> {
    if let Some(session) = fixed {
        return Ok(session.clone());
    }
    context
        .extensions
        .get::<axum::http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Session>())
        .cloned()
        // INVARIANT: `serve` authenticates every `/mcp` request before
        // rmcp sees it; a request without a session never reaches a tool.
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "an API key is required"))
}

/// Serves one MCP session for `tenant` on standard input and output until
/// the client closes it.
pub async fn serve_stdio<S: JobStore + 'static>(host: Arc<McpHost<S>>, tenant: &str) -> anyhow::Result<()> {
    let session = Session { tenant: tenant.to_string(), id: format!("stdio-{}", std::process::id()) };
    let max_line = host.settings.max_request_bytes;
    let (input, output) = rmcp::transport::io::stdio_pipes();
    let transport =
        rmcp::transport::async_rw::AsyncRwTransport::new_server(input, output).with_max_line_length(max_line);
    let running = MemoryServer::new(host, Some(session)).serve(transport).await?;
    running.waiting().await?;
    Ok(())
}

/// The streamable HTTP service `serve` mounts at `/mcp`, behind its key
/// check; `stop` ends every session.
pub fn http_service<S: JobStore + 'static>(
    host: Arc<McpHost<S>>,
    stop: tokio_util::sync::CancellationToken,
) -> StreamableHttpService<MemoryServer<S>, LocalSessionManager> {
    let config = StreamableHttpServerConfig::default()
        .with_max_request_body_bytes(host.settings.max_request_bytes)
        // Answer plain JSON where a tool sends nothing before its result.
        .with_json_response(true)
        // The Host check guards servers that trust whoever can reach them;
        // this one authenticates every request with a Bearer key, which a
        // browser never sends on its own, and must answer on any name.
        .disable_allowed_hosts()
        .with_cancellation_token(stop);
    StreamableHttpService::new(move || Ok(MemoryServer::new(host.clone(), None)), Default::default(), config)
}
