//! The routes under `/v1/tenants/{tenant}/reviews` (issue 12): list and
//! read a tenant's held changes, approve or deny one. Reading needs any key
//! of the tenant; deciding needs the admin key or a reviewer key
//! ([`Caller::reviewer_for`]): an agent never approves its own writes.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use super::tenants::check_tenant;
use super::{Api, ApiError, Caller};
use crate::jobs::{JobStore, Review, ReviewStatus};
use crate::reflection::now_ms;
use crate::review::ReviewError;

/// `GET …/reviews?status=`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `pending` (the default), `approved`, `denied`, `expired` or `all`.
    #[serde(default)]
    status: Option<String>,
}

/// `POST …/reviews/{id}/deny`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct DenyRequest {
    #[serde(default)]
    reason: Option<String>,
}

/// Longest denial reason kept, in bytes.
pub(crate) const MAX_REASON_BYTES: usize = 2048;

pub async fn list<S: JobStore>(
    State(api): State<Arc<Api<S>>>,
    caller: Caller,
    Path(tenant): Path<String>,
    Query(query): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    check_tenant(&api, &caller, &tenant)?;
    let status = match query.status.as_deref() {
        None => Some(ReviewStatus::Pending),
        Some("all") => None,
        Some(text) => Some(ReviewStatus::parse(text).ok_or_else(|| {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_status", format!("unknown review status `{text}`"))
        })?),
    };
    let reviews = api.reflector.jobs.reviews(&tenant, status).await?;
    Ok(Json(json!({ "reviews": reviews.iter().map(view).collect::<Vec<_>>() })))
}

pub async fn show<S: JobStore>(
    State(api): State<Arc<Api<S>>>,
    caller: Caller,
    Path((tenant, id)): Path<(String, i64)>,
) -> Result<Json<Value>, ApiError> {
    check_tenant(&api, &caller, &tenant)?;
    Ok(Json(view(&own_review(&api, &tenant, id).await?)))
}

pub async fn approve<S: JobStore>(
    State(api): State<Arc<Api<S>>>,
    caller: Caller,
    Path((tenant, id)): Path<(String, i64)>,
) -> Result<Json<Value>, ApiError> {
    let (by, snapshot) = approve_as(&api, &caller, &tenant, id).await?;
    Ok(Json(json!({ "id": id, "status": "approved", "by": by, "snapshot_id": snapshot })))
}

pub async fn deny<S: JobStore>(
    State(api): State<Arc<Api<S>>>,
    caller: Caller,
    Path((tenant, id)): Path<(String, i64)>,
    body: Result<Json<DenyRequest>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    // The caller's rights are checked before the body is read.
    check_tenant(&api, &caller, &tenant)?;
    caller.reviewer_for(&tenant)?;
    let Json(request) = body?;
    let by = deny_as(&api, &caller, &tenant, id, request.reason.as_deref()).await?;
    Ok(Json(json!({ "id": id, "status": "denied", "by": by })))
}

/// Approves review `id` of `tenant` for `caller` — the admin or a reviewer
/// of the tenant — and returns who approved and the snapshot. The API and
/// the console both decide through here.
pub(crate) async fn approve_as<S: JobStore>(
    api: &Api<S>,
    caller: &Caller,
    tenant: &str,
    id: i64,
) -> Result<(String, String), ApiError> {
    check_tenant(api, caller, tenant)?;
    let by = caller.reviewer_for(tenant)?;
    own_review(api, tenant, id).await?;
    let snapshot = api.reflector.approve(id, &by, now_ms()).await.map_err(api_error)?;
    Ok((by, snapshot))
}

/// Denies review `id` of `tenant` for `caller`, with an optional reason;
/// returns who denied it.
pub(crate) async fn deny_as<S: JobStore>(
    api: &Api<S>,
    caller: &Caller,
    tenant: &str,
    id: i64,
    reason: Option<&str>,
) -> Result<String, ApiError> {
    check_tenant(api, caller, tenant)?;
    let by = caller.reviewer_for(tenant)?;
    if reason.is_some_and(|reason| reason.len() > MAX_REASON_BYTES) {
        let message = format!("the reason is over {MAX_REASON_BYTES} bytes");
        return Err(ApiError::unprocessable("reason_too_long", message));
    }
    own_review(api, tenant, id).await?;
    api.reflector.deny(id, &by, reason, now_ms()).await.map_err(api_error)?;
    Ok(by)
}

/// `DELETE …/sources/{run}`: take back every entry version agent run `run`
/// produced, through the pack, as one snapshot (admin or reviewer key).
pub async fn forget<S: JobStore>(
    State(api): State<Arc<Api<S>>>,
    caller: Caller,
    Path((tenant, run)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    check_tenant(&api, &caller, &tenant)?;
    caller.reviewer_for(&tenant)?;
    if let Some(problem) = crate::jobs::source_run_problem(&run) {
        return Err(ApiError::unprocessable("invalid_source_run", problem));
    }
    let done = api.reflector.forget(&tenant, &run, now_ms()).await?;
    let refused: Vec<Value> = done
        .decision
        .iter()
        .flat_map(|decision| decision.memory.iter())
        .filter(|change| !change.accepted)
        .map(|change| json!({ "name": change.name, "rejections": change.rejections }))
        .collect();
    Ok(Json(json!({
        "source_run": run,
        "snapshot_id": done.snapshot_id,
        "removed": done.removed,
        "restored": done.restored,
        "kept": done.kept,
        "refused": refused,
    })))
}

/// `POST …/memory/{name}/unmerge`: make an entry a merge superseded live
/// again (admin or reviewer key).
pub async fn unmerge<S: JobStore>(
    State(api): State<Arc<Api<S>>>,
    caller: Caller,
    Path((tenant, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    check_tenant(&api, &caller, &tenant)?;
    caller.reviewer_for(&tenant)?;
    crate::store::safe_name_of("entry", &name)?;
    match api.reflector.unmerge(&tenant, &name, now_ms()).await {
        Ok(snapshot) => Ok(Json(json!({ "name": name, "snapshot_id": snapshot }))),
        Err(crate::forget::UnmergeError::Flow(err)) => Err(err.into()),
        Err(err @ crate::forget::UnmergeError::NotSuperseded(_)) => {
            Err(ApiError::not_found(err.code(), err.to_string()))
        }
        Err(err) => Err(ApiError::new(StatusCode::CONFLICT, err.code(), err.to_string())),
    }
}

/// Review `id` if it is `tenant`'s; another tenant's is reported missing.
pub(crate) async fn own_review<S: JobStore>(api: &Api<S>, tenant: &str, id: i64) -> Result<Review, ApiError> {
    match api.reflector.jobs.review(id).await? {
        Some(review) if review.tenant == tenant => Ok(review),
        _ => Err(ApiError::not_found("review_not_found", format!("there is no review {id} of `{tenant}`"))),
    }
}

/// A review as the API shows it: the change and verdicts as JSON, not text.
fn view(review: &Review) -> Value {
    let parsed = |text: &str| serde_json::from_str::<Value>(text).unwrap_or_else(|_| Value::String(text.to_string()));
    json!({
        "id": review.id,
        "status": review.status.as_str(),
        "job_id": review.job_id,
        "job_kind": review.job_kind,
        "decision_id": review.decision_id,
        "change": parsed(&review.change),
        "decision": parsed(&review.decision),
        "store_version": review.store_version,
        "created_at_ms": review.created_at_ms,
        "expires_at_ms": review.expires_at_ms,
        "resolved_by": review.resolved_by,
        "resolved_at_ms": review.resolved_at_ms,
        "reason": review.reason,
        "snapshot_id": review.snapshot_id,
    })
}

fn api_error(err: ReviewError) -> ApiError {
    let code = err.code();
    match err {
        ReviewError::Unknown(_) => ApiError::not_found(code, err.to_string()),
        ReviewError::NotPending { .. } | ReviewError::Refused { .. } => {
            ApiError::new(StatusCode::CONFLICT, code, err.to_string())
        }
        ReviewError::Damaged { .. } => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, code, err.to_string()),
        ReviewError::Jobs(err) => err.into(),
        ReviewError::Flow(err) => err.into(),
    }
}
