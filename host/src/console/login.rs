//! Logging in and out, and who a console request is from ([`Viewer`]).
//! A viewer has exactly the rights of the key it logged in with, decided
//! again on every request by the API's own role lookup; a tenant key sees
//! only its tenant, and only the admin or a reviewer key decides reviews.

use std::sync::Arc;

use axum::extract::rejection::FormRejection;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect};
use axum::{Form, RequestPartsExt};
use maud::html;
use serde::Deserialize;

use super::session::{self, limits, same_token};
use super::{Console, ConsoleError, PageResult, layout};
use crate::jobs::JobStore;
use crate::serve::auth::caller_for_hash;
use crate::serve::{ApiError, Caller, given_key, key_sha256};

/// The person behind a console request: a live session and its key's role.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The key's role, as the API would see it.
    pub caller: Caller,
    /// The session's CSRF token, for the forms of the page.
    pub csrf: String,
}

impl Viewer {
    /// Refuses a form whose CSRF token is not this session's (`403
    /// csrf_mismatch`).
    pub fn check_csrf(&self, given: &str) -> Result<(), ConsoleError> {
        if same_token(given, &self.csrf) {
            return Ok(());
        }
        let message = "the form's CSRF token is not this session's; reload the page and try again";
        Err(ApiError::new(StatusCode::FORBIDDEN, "csrf_mismatch", message).into())
    }

    /// Whether this viewer may approve and deny `tenant`'s reviews.
    pub fn decides_reviews(&self, tenant: &str) -> bool {
        self.caller.reviewer_for(tenant).is_ok()
    }

    /// Who is logged in, for the page header.
    pub fn label(&self) -> String {
        match &self.caller {
            Caller::Admin => "admin".to_string(),
            Caller::Tenant(tenant) => format!("{tenant} (agent key)"),
            Caller::Reviewer { tenant, name } => format!("{name} (reviewer, {tenant})"),
        }
    }
}

impl<S: JobStore> FromRequestParts<Arc<Console<S>>> for Viewer {
    type Rejection = ConsoleError;

    async fn from_request_parts(parts: &mut Parts, console: &Arc<Console<S>>) -> Result<Viewer, ConsoleError> {
        let headers: HeaderMap = parts.extract().await.unwrap_or_default();
        let token = session::cookie(&headers, limits::SESSION_COOKIE).ok_or(ConsoleError::LoginRequired)?;
        let live = console.sessions.get(token).ok_or(ConsoleError::LoginRequired)?;
        match caller_for_hash(&console.api, &live.key_sha256).await? {
            Some(caller) => Ok(Viewer { caller, csrf: live.csrf }),
            // The key is gone from the store: so is the session.
            None => {
                console.sessions.close(token);
                Err(ConsoleError::LoginRequired)
            }
        }
    }
}

/// `POST /ui/login` and `/ui/logout`.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    key: String,
    #[serde(default)]
    csrf: String,
}

/// A form that carries only its CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    /// The session's token.
    #[serde(default)]
    pub csrf: String,
}

/// `GET /ui/`: the admin's tenant list, a tenant key's memory.
pub async fn home(viewer: Viewer) -> Redirect {
    match viewer.caller.tenant() {
        None => Redirect::to("/ui/tenants"),
        Some(tenant) => Redirect::to(&format!("/ui/tenants/{tenant}/memory")),
    }
}

/// `GET /ui/login`: the form, with a fresh double-submit token.
pub async fn login_form(headers: HeaderMap) -> PageResult {
    login_page(&headers, StatusCode::OK, None)
}

fn login_page(headers: &HeaderMap, status: StatusCode, problem: Option<&str>) -> PageResult {
    let token = session::random_token().map_err(internal)?;
    let content = html! {
        h1 { "Log in" }
        p { "Paste an API key: the admin key, or a tenant's key. The key is sent once and kept only as its hash." }
        @if let Some(problem) = problem { p.problem role="alert" { (problem) } }
        form method="post" action="/ui/login" {
            input type="hidden" name="csrf" value=(token);
            label for="key" { "API key" }
            input #key type="password" name="key" autocomplete="off" required;
            button type="submit" { "Log in" }
        }
    };
    let mut response = (status, Html(layout::page("Log in", None, content).into_string())).into_response();
    let cookie =
        session::set_cookie(limits::LOGIN_COOKIE, &token, limits::LOGIN_FORM_SECONDS, session::over_tls(headers));
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

/// `POST /ui/login`: a known key opens a session.
pub async fn login<S: JobStore>(
    State(console): State<Arc<Console<S>>>,
    headers: HeaderMap,
    form: Result<Form<LoginForm>, FormRejection>,
) -> PageResult {
    let Ok(Form(form)) = form else {
        return login_page(&headers, StatusCode::BAD_REQUEST, Some("The form was not understood."));
    };
    let expected = session::cookie(&headers, limits::LOGIN_COOKIE).unwrap_or_default();
    if !same_token(&form.csrf, expected) {
        return login_page(&headers, StatusCode::FORBIDDEN, Some("The login form expired; try again."));
    }
    let Some(key) = given_key(&form.key) else {
        return login_page(&headers, StatusCode::UNAUTHORIZED, Some("An API key is required."));
    };
    let hash = key_sha256(key);
    if caller_for_hash(&console.api, &hash).await?.is_none() {
        return login_page(&headers, StatusCode::UNAUTHORIZED, Some("Unknown API key."));
    }
    let token = console.sessions.open(hash).map_err(internal)?;
    let secure = session::over_tls(&headers);
    let mut response = Redirect::to("/ui").into_response();
    let set = response.headers_mut();
    set.append(
        header::SET_COOKIE,
        session::set_cookie(limits::SESSION_COOKIE, &token, limits::SESSION_SECONDS, secure),
    );
    set.append(header::SET_COOKIE, session::set_cookie(limits::LOGIN_COOKIE, "", 0, secure));
    Ok(response)
}

/// `POST /ui/logout`.
pub async fn logout<S: JobStore>(
    State(console): State<Arc<Console<S>>>,
    viewer: Viewer,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    if let Some(token) = session::cookie(&headers, limits::SESSION_COOKIE) {
        console.sessions.close(token);
    }
    let mut response = Redirect::to("/ui/login").into_response();
    let cookie = session::set_cookie(limits::SESSION_COOKIE, "", 0, session::over_tls(&headers));
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

fn internal(err: impl std::fmt::Display) -> ConsoleError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", err.to_string()).into()
}
