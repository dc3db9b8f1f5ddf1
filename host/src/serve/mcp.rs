//! The key check in front of `/mcp` (issue 14): every request — not only
//! a session's first — must carry a tenant's API key, and the tenant it
//! names is the session's tenant for that request, handed to the MCP
//! server as a [`Session`]. A session id alone grants nothing, so a key
//! can never act through another tenant's session. The admin key names no
//! tenant and is refused; a name or shard problem answers as the API does.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::tenants::check_tenant;
use super::{Api, ApiError, Caller};
use crate::jobs::JobStore;
use crate::mcp::{Session, codes};

/// Authenticates one `/mcp` request and names its tenant.
pub async fn authenticate<S: JobStore + 'static>(
    State(api): State<Arc<Api<S>>>,
    caller: Result<Caller, ApiError>,
    mut request: Request,
    next: Next,
) -> Response {
    let tenant = match caller {
        Err(err) => return err.into_response(),
        Ok(Caller::Admin) => {
            let message = "the admin key names no tenant; connect with a tenant's key (`memwarden tenant add-key T`)";
            return ApiError::new(StatusCode::FORBIDDEN, codes::TENANT_KEY_REQUIRED, message).into_response();
        }
        Ok(Caller::Tenant(tenant) | Caller::Reviewer { tenant, .. }) => tenant,
    };
    if let Err(err) = check_tenant(&api, &Caller::Tenant(tenant.clone()), &tenant) {
        return err.into_response();
    }
    // The rate limit is per MCP session. Only the protocol versions before
    // 2026-07-28 have sessions, and there rmcp refuses a session id it did
    // not hand out before any tool runs; from 2026-07-28 on the header is
    // not checked, so a made-up one must not buy a fresh budget: such
    // clients, and clients that keep no session, share one per tenant.
    let headers = request.headers();
    let version = headers.get("mcp-protocol-version").and_then(|value| value.to_str().ok());
    let sessions = version.is_none_or(|version| version < "2026-07-28");
    let id = headers
        .get("mcp-session-id")
        .and_then(|value| value.to_str().ok())
        .filter(|id| sessions && id.len() <= 128)
        .map_or_else(|| "http".to_string(), |id| format!("http-{id}"));
    request.extensions_mut().insert(Session { tenant, id });
    next.run(request).await
}
