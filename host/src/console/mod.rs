//! The review console (issue 16): server-rendered HTML pages under `/ui/`
//! for people — a tenant's memory, its activity, the review queue, its
//! policy, and for the operator the list of tenants. Read [`router`]
//! first, then [`login`] for who may see what.
//!
//! The console is a face like the JSON API and shares its flows: roles come
//! from [`crate::serve::auth::caller_for_hash`], reads from the tenant
//! store under the API's gate, approvals, denials and rollbacks from the
//! functions the API handlers call. It does not hold state of its own but
//! its sessions.
//!
//! Security: every page is rendered by `maud`, which escapes every string
//! it interpolates; entry bodies are rendered from markdown with raw HTML
//! turned into text; no page runs JavaScript, and [`security_headers`] sets
//! a Content-Security-Policy that forbids scripts, inline styles, frames
//! and foreign form targets.

mod activity;
mod layout;
mod login;
mod memory;
mod policy;
mod reviews;
pub mod session;

use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::jobs::JobStore;
use crate::serve::{Api, ApiError};
pub use login::Viewer;
use session::Sessions;

/// What the console's handlers share: the API's state and the sessions.
pub struct Console<S> {
    api: Arc<Api<S>>,
    sessions: Sessions,
}

/// The console's pages, to be nested under `/ui` in a router of any state.
pub fn router<S: JobStore + 'static, T: Clone + Send + Sync + 'static>(api: Arc<Api<S>>) -> Router<T> {
    let console = Arc::new(Console { api, sessions: Sessions::default() });
    Router::new()
        .route("/", get(login::home))
        .route("/login", get(login::login_form).post(login::login::<S>))
        .route("/logout", post(login::logout::<S>))
        .route("/static/console.css", get(layout::stylesheet))
        .route("/tenants", get(policy::tenants::<S>))
        .route("/tenants/{tenant}/memory", get(memory::list::<S>))
        .route("/tenants/{tenant}/memory/{name}", get(memory::entry::<S>))
        .route("/tenants/{tenant}/reviews", get(reviews::queue::<S>))
        .route("/tenants/{tenant}/reviews/{id}/approve", post(reviews::approve::<S>))
        .route("/tenants/{tenant}/reviews/{id}/deny", post(reviews::deny::<S>))
        .route("/tenants/{tenant}/activity", get(activity::list::<S>))
        .route("/tenants/{tenant}/snapshots/{id}", get(activity::snapshot::<S>))
        .route("/tenants/{tenant}/snapshots/{id}/rollback", get(activity::confirm_rollback::<S>))
        .route("/tenants/{tenant}/snapshots/{id}/rollback", post(activity::rollback::<S>))
        .route("/tenants/{tenant}/policy", get(policy::policy::<S>))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(console)
}

/// The Content-Security-Policy of every console response: nothing runs,
/// styles come only from our stylesheet, forms post only to us, and no
/// other site may frame a page.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
     form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the console's security headers to every response.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    // Pages show a tenant's memory: no shared cache may keep them.
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// Why a console request failed.
#[derive(Debug)]
pub enum ConsoleError {
    /// No live session: go to the login page.
    LoginRequired,
    /// What the API would have answered, shown as a page.
    Api(ApiError),
}

impl From<ApiError> for ConsoleError {
    fn from(err: ApiError) -> ConsoleError {
        ConsoleError::Api(err)
    }
}

impl From<crate::jobs::JobStoreError> for ConsoleError {
    fn from(err: crate::jobs::JobStoreError) -> ConsoleError {
        ConsoleError::Api(err.into())
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        match self {
            ConsoleError::LoginRequired => Redirect::to("/ui/login").into_response(),
            ConsoleError::Api(err) => {
                if err.status.is_server_error() {
                    tracing::error!(code = err.code, error = %err.message, "console request failed");
                }
                (err.status, Html(layout::error_page(err.status, err.code, &err.message).into_string())).into_response()
            }
        }
    }
}

/// A console page or a failure shown as one.
pub type PageResult = Result<Response, ConsoleError>;

async fn not_found() -> ConsoleError {
    ConsoleError::Api(ApiError::new(StatusCode::NOT_FOUND, "no_route", "there is no such page"))
}
