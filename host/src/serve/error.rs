//! API errors: `{ "error": { "code": …, "message": … } }` with a status
//! that fits, for every failure — including axum's own rejections of a
//! body that is too large or not JSON.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{gate, listener};
use crate::flow::FlowError;
use crate::jobs::{IdempotencyKeyError, JobStoreError};
use crate::store::StoreError;

/// One failed request.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// Stable code.
    pub code: &'static str,
    /// One line for a human.
    pub message: String,
    /// The stable code of the underlying failure, when the code above is
    /// generic (a reload's `pack_reload_failed`: which pack error).
    pub reason: Option<&'static str>,
}

impl ApiError {
    /// An error with this status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, code, message: message.into(), reason: None }
    }

    /// The same error, naming the failure under it.
    pub fn with_reason(self, reason: Option<&'static str>) -> ApiError {
        ApiError { reason, ..self }
    }

    /// 404 for a thing that does not exist — or that the caller may not
    /// know exists.
    pub fn not_found(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 422 for a well-formed request that cannot be carried out.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // A full server or a request out of time is load, not a failure to
        // investigate (issue 9); the refusal counter counts it.
        let load = matches!(self.code, gate::codes::SERVER_BUSY | listener::REQUEST_TIMEOUT);
        if self.status.is_server_error() && !load {
            tracing::error!(code = self.code, error = %self.message, "request failed");
        } else if load {
            tracing::debug!(code = self.code, error = %self.message, "request refused");
        }
        let mut body = json!({ "error": { "code": self.code, "message": self.message } });
        if let Some(reason) = self.reason {
            body["error"]["reason"] = json!(reason);
        }
        let mut response = (self.status, Json(body)).into_response();
        // Busy and at capacity pass: say when to come back.
        if matches!(self.status, StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE) {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        let code = match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => "body_too_large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "not_json",
            _ => "invalid_body",
        };
        ApiError::new(rejection.status(), code, rejection.body_text())
    }
}

impl From<JobStoreError> for ApiError {
    fn from(err: JobStoreError) -> ApiError {
        let status = match &err {
            JobStoreError::IdempotencyConflict { .. } => StatusCode::CONFLICT,
            _ => StatusCode::SERVICE_UNAVAILABLE,
        };
        ApiError::new(status, err.code(), err.to_string())
    }
}

impl From<IdempotencyKeyError> for ApiError {
    fn from(err: IdempotencyKeyError) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, err.code(), err.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(err: StoreError) -> ApiError {
        let status = match &err {
            StoreError::UnsafeName { .. } => StatusCode::BAD_REQUEST,
            StoreError::UnknownSnapshot { .. } => StatusCode::NOT_FOUND,
            // The store's state refuses the request, not the server: a
            // snapshot that is damaged cannot be shown or rolled back, an
            // id already taken cannot be written again.
            StoreError::Conflict { .. } | StoreError::SnapshotDamaged { .. } | StoreError::SnapshotIdTaken { .. } => {
                StatusCode::CONFLICT
            }
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, err.code(), err.to_string())
    }
}

impl From<FlowError> for ApiError {
    fn from(err: FlowError) -> ApiError {
        match err {
            FlowError::Store(err) => err.into(),
            FlowError::Jobs(err) => err.into(),
            other => ApiError::unprocessable(other.code(), other.to_string()),
        }
    }
}
