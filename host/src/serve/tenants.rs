//! The routes under `/v1/tenants/{tenant}`: enqueue a reflection, request
//! a consolidation, read memory and snapshots, roll back.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use similar::TextDiff;

use super::{Api, ApiError, Caller, blocking};
use crate::jobs::idempotency::INVALID_IDEMPOTENCY_KEY;
use crate::jobs::{JobStore, ReflectionPayload};
use crate::policy::RunOutcome;
use crate::reflection::{self, now_ms};
use crate::store::{TenantDir, safe_name_of};

/// `POST …/reflections`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReflectionRequest {
    piece: String,
    outcome: RunOutcome,
    activity_log: String,
    #[serde(default)]
    idempotency_key: Option<String>,
}

/// The answer to an enqueue.
#[derive(Debug, Serialize)]
pub struct Enqueued {
    job_id: i64,
    created: bool,
}

/// Checks the caller may act for `tenant` and opens its directory.
async fn tenant_dir<S: JobStore>(api: &Arc<Api<S>>, caller: &Caller, tenant: &str) -> Result<TenantDir, ApiError> {
    caller.may_act_for(tenant)?;
    safe_name_of("tenant", tenant)?;
    let data = api.reflector.data.clone();
    let tenant = tenant.to_string();
    blocking(move || Ok(data.tenant(&tenant)?)).await
}

pub async fn enqueue_reflection<S: JobStore>(
    State(api): State<Arc<Api<S>>>,
    caller: Caller,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Result<Json<ReflectionRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Enqueued>), ApiError> {
    let dir = tenant_dir(&api, &caller, &tenant).await?;
    let Json(request) = body?;
    if request.outcome == RunOutcome::Consolidation {
        return Err(ApiError::unprocessable("invalid_outcome", "outcome must be succeeded, failed or aborted"));
    }
    let key = idempotency_key(&headers, request.idempotency_key.as_deref())?;
    let piece = request.piece.clone();
    if blocking(move || Ok(dir.piece(&piece)?)).await?.is_none() {
        return Err(ApiError::unprocessable("unknown_piece", format!("there is no piece `{}`", request.piece)));
    }
    let payload =
        ReflectionPayload { piece: request.piece, outcome: request.outcome, activity_log: request.activity_log };
    // The key is scoped to its tenant, so two tenants cannot collide.
    let log_max_bytes = api.reflector.settings.prompt.activity_log_max_bytes;
    let job = reflection::request(&tenant, payload, key, api.max_attempts, log_max_bytes)?;
    let enqueued = api.reflector.jobs.enqueue_reflection(&job, now_ms()).await?;
    metrics::counter!("memwarden_api_enqueued_total", "created" => enqueued.created.to_string()).increment(1);
    let status = if enqueued.created { StatusCode::ACCEPTED } else { StatusCode::OK };
    Ok((status, Json(Enqueued { job_id: enqueued.id.0, created: enqueued.created })))
}

/// The request's idempotency key: the `Idempotency-Key` header or the
/// body's `idempotency_key`. Both may be sent only when they agree; a
/// header that is not text is refused, not ignored.
fn idempotency_key<'a>(headers: &'a HeaderMap, body: Option<&'a str>) -> Result<Option<&'a str>, ApiError> {
    let invalid = |message: &str| ApiError::new(StatusCode::BAD_REQUEST, INVALID_IDEMPOTENCY_KEY, message);
    let header = match headers.get("idempotency-key") {
        Some(value) => Some(value.to_str().map_err(|_| invalid("the Idempotency-Key header is not visible ASCII"))?),
        None => None,
    };
    match (header, body) {
        (Some(header), Some(body)) if header != body => Err(invalid(
            "the Idempotency-Key header and the body's idempotency_key differ; send one, or the same in both",
        )),
        (header, body) => Ok(body.or(header)),
    }
}

pub async fn consolidate<S: JobStore>(
    State(api): State<Arc<Api<S>>>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    tenant_dir(&api, &caller, &tenant).await?;
    let watermark =
        api.reflector.jobs.enqueue_consolidation(&tenant, now_ms(), api.consolidation_attempts, now_ms()).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "tenant": tenant, "input_watermark": watermark }))))
}

pub async fn memory<S: JobStore>(
    State(api): State<Arc<Api<S>>>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let dir = tenant_dir(&api, &caller, &tenant).await?;
    let entries = blocking(move || Ok(dir.entries()?)).await?;
    let entries: Vec<Value> = entries
        .iter()
        .map(|stored| {
            json!({
                "name": stored.entry.name,
                "type": stored.entry.entry_type,
                "description": stored.entry.description,
                "updated_at_ms": stored.updated_at_ms,
            })
        })
        .collect();
    Ok(Json(json!({ "tenant": tenant, "entries": entries })))
}

pub async fn entry<S: JobStore>(
    State(api): State<Arc<Api<S>>>,
    caller: Caller,
    Path((tenant, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let dir = tenant_dir(&api, &caller, &tenant).await?;
    let wanted = name.clone();
    let stored = blocking(move || Ok(dir.entry(&wanted)?)).await?;
    let stored = stored.ok_or_else(|| ApiError::not_found("entry_not_found", format!("no entry `{name}`")))?;
    Ok(Json(json!({
        "name": stored.entry.name,
        "type": stored.entry.entry_type,
        "description": stored.entry.description,
        "body": stored.entry.body,
        "updated_at_ms": stored.updated_at_ms,
    })))
}

pub async fn snapshots<S: JobStore>(
    State(api): State<Arc<Api<S>>>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let dir = tenant_dir(&api, &caller, &tenant).await?;
    let lines = blocking(move || Ok(dir.snapshots()?)).await?;
    Ok(Json(json!({ "tenant": tenant, "snapshots": lines })))
}

pub async fn snapshot<S: JobStore>(
    State(api): State<Arc<Api<S>>>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let dir = tenant_dir(&api, &caller, &tenant).await?;
    let (meta, changes) = blocking(move || Ok(dir.read_snapshot(&id)?)).await?;
    let files: Vec<Value> = changes
        .iter()
        .map(|change| {
            let path = change.file.path();
            let old = if change.before.is_some() { format!("a/{path}") } else { "/dev/null".to_string() };
            let new = if change.after.is_some() { format!("b/{path}") } else { "/dev/null".to_string() };
            let (before, after) = (change.before.as_deref().unwrap_or(""), change.after.as_deref().unwrap_or(""));
            let diff = TextDiff::from_lines(before, after).unified_diff().header(&old, &new).to_string();
            json!({ "path": path, "before": change.before, "after": change.after, "diff": diff })
        })
        .collect();
    Ok(Json(json!({ "meta": meta, "files": files })))
}

pub async fn rollback<S: JobStore>(
    State(api): State<Arc<Api<S>>>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let dir = tenant_dir(&api, &caller, &tenant).await?;
    // Hosts sharing the data directory exclude each other here.
    let db_lock = api.reflector.jobs.lock_tenant(&tenant).await?;
    let done = blocking(move || Ok(crate::rollback::rollback(&dir, &id, now_ms())?)).await?;
    drop(db_lock);
    let files: Vec<String> = done.changes.iter().map(|change| change.file.path()).collect();
    Ok(Json(json!({ "snapshot_id": done.snapshot_id, "undone": done.undone, "files": files })))
}
