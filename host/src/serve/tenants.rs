//! The routes under `/v1/tenants/{tenant}`: enqueue a reflection, request
//! a consolidation, read memory and snapshots, roll back.
//!
//! Every route first checks the caller, the name and the shard
//! ([`check_tenant`]); the routes that read or change a tenant's files
//! need it to exist and create nothing ([`with_tenant`], issue 9, item 17).

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use similar::TextDiff;

use super::{Api, ApiError, Caller, gated};
use crate::jobs::idempotency::INVALID_IDEMPOTENCY_KEY;
use crate::jobs::{JobStore, ReflectionPayload};
use crate::policy::RunOutcome;
use crate::reflection::{self, now_ms};
use crate::store::{DataDir, TenantDir, pieces, safe_name_of};

/// Codes of the tenant checks.
pub mod codes {
    /// A sharded host was asked about a tenant of another shard: 421.
    pub const WRONG_SHARD: &str = "wrong_shard";
    /// The tenant has no directory on this host: 404.
    pub const TENANT_NOT_FOUND: &str = "tenant_not_found";
}

/// `POST …/reflections`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReflectionRequest {
    piece: String,
    outcome: RunOutcome,
    activity_log: String,
    #[serde(default)]
    idempotency_key: Option<String>,
    /// The platform's id of the run (provenance).
    #[serde(default)]
    source_run: Option<String>,
}

/// The answer to an enqueue.
#[derive(Debug, Serialize)]
pub struct Enqueued {
    job_id: i64,
    created: bool,
}

/// Checks the caller may act for `tenant` (`403`), that the name is safe
/// (`400`), and that this host owns it (`421 wrong_shard`, issue 9, item
/// 3): a sharded host's data directory holds only its own tenants.
pub(crate) fn check_tenant<S>(api: &Api<S>, caller: &Caller, tenant: &str) -> Result<(), ApiError> {
    caller.may_act_for(tenant)?;
    safe_name_of("tenant", tenant)?;
    match &api.shard {
        Some(shard) if !shard.owns(tenant) => Err(ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            codes::WRONG_SHARD,
            format!("this host's shard does not own `{tenant}`; send it to the host whose shard does"),
        )),
        _ => Ok(()),
    }
}

/// Whether `tenant` has a directory. Blocking; creates nothing.
// `DataDir::tenant` creates what it opens, so existence is read from the
// listing of `tenants/` (one readdir); a non-creating open in the store
// would make this one lookup.
fn tenant_exists(data: &DataDir, tenant: &str) -> Result<bool, ApiError> {
    Ok(data.tenant_names()?.iter().any(|name| name == tenant))
}

/// The directory of `tenant` if it exists, else `404 tenant_not_found`:
/// a read never creates a tenant (issue 9, item 17). Blocking.
pub(crate) fn existing_tenant(data: &DataDir, tenant: &str) -> Result<TenantDir, ApiError> {
    if !tenant_exists(data, tenant)? {
        return Err(ApiError::not_found(codes::TENANT_NOT_FOUND, format!("there is no tenant `{tenant}`")));
    }
    Ok(data.tenant(tenant)?)
}

/// Checks the tenant ([`check_tenant`]), then runs `work` on its existing
/// directory on a blocking thread, under the gate.
pub(crate) async fn with_tenant<S: JobStore, T: Send + 'static>(
    api: &Arc<Api<S>>,
    caller: &Caller,
    tenant: &str,
    work: impl FnOnce(TenantDir) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    check_tenant(api, caller, tenant)?;
    let (data, name) = (api.reflector.data.clone(), tenant.to_string());
    gated(api, tenant, move || work(existing_tenant(&data, &name)?)).await
}

pub async fn enqueue_reflection<S: JobStore>(
    State(api): State<Arc<Api<S>>>,
    caller: Caller,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Result<Json<ReflectionRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<Enqueued>), ApiError> {
    check_tenant(&api, &caller, &tenant)?;
    let Json(request) = body?;
    if request.outcome == RunOutcome::Consolidation {
        return Err(ApiError::unprocessable("invalid_outcome", "outcome must be succeeded, failed or aborted"));
    }
    let key = idempotency_key(&headers, request.idempotency_key.as_deref())?;
    if let Some(problem) = request.source_run.as_deref().and_then(crate::jobs::source_run_problem) {
        return Err(ApiError::unprocessable("invalid_source_run", problem));
    }
    safe_name_of("piece", &request.piece)?;
    // A tenant without a directory yet runs the built-in pieces; its first
    // job makes the directory, this request does not.
    // Not gated: an enqueue reads one small file and queues; the flood it
    // could make is bounded by the connection cap and the request timeout.
    let (data, name, piece) = (api.reflector.data.clone(), tenant.clone(), request.piece.clone());
    let known = tokio::task::spawn_blocking(move || match tenant_exists(&data, &name)? {
        true => Ok::<_, ApiError>(data.tenant(&name)?.piece(&piece)?.is_some()),
        false => Ok(pieces::builtin(&piece).is_some()),
    })
    .await
    .map_err(|err| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", format!("a task failed: {err}")))??;
    if !known {
        return Err(ApiError::unprocessable("unknown_piece", format!("there is no piece `{}`", request.piece)));
    }
    let payload = ReflectionPayload {
        piece: request.piece,
        outcome: request.outcome,
        activity_log: request.activity_log,
        source_run: request.source_run,
    };
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
    with_tenant(&api, &caller, &tenant, |_| Ok(())).await?;
    let watermark =
        api.reflector.jobs.enqueue_consolidation(&tenant, now_ms(), api.consolidation_attempts, now_ms()).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "tenant": tenant, "input_watermark": watermark }))))
}

/// `GET …/memory[?include_superseded=true]`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MemoryQuery {
    /// Also list the entries merges folded into others and kept.
    #[serde(default)]
    include_superseded: bool,
}

pub async fn memory<S: JobStore>(
    State(api): State<Arc<Api<S>>>,
    caller: Caller,
    Path(tenant): Path<String>,
    Query(query): Query<MemoryQuery>,
) -> Result<Json<Value>, ApiError> {
    let include_superseded = query.include_superseded;
    let (entries, superseded) = with_tenant(&api, &caller, &tenant, move |dir| {
        let superseded = if include_superseded { dir.superseded_entries()? } else { Vec::new() };
        Ok((dir.entries()?, superseded))
    })
    .await?;
    let row = |stored: &crate::store::StoredEntry, superseded_by: Option<&str>| {
        let mut row = json!({
            "name": stored.entry.name,
            "type": stored.entry.entry_type,
            "description": stored.entry.description,
            "updated_at_ms": stored.updated_at_ms,
        });
        if let Some(target) = superseded_by {
            row["superseded_by"] = Value::String(target.to_string());
            row["body"] = Value::String(stored.entry.body.clone());
        }
        row
    };
    let mut rows: Vec<Value> = entries.iter().map(|stored| row(stored, None)).collect();
    rows.extend(superseded.iter().map(|(stored, target)| row(stored, Some(target))));
    Ok(Json(json!({ "tenant": tenant, "entries": rows })))
}

pub async fn entry<S: JobStore>(
    State(api): State<Arc<Api<S>>>,
    caller: Caller,
    Path((tenant, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    // Refused before any I/O; the store checks it again.
    safe_name_of("entry", &name)?;
    let wanted = name.clone();
    let stored = with_tenant(&api, &caller, &tenant, move |dir| Ok(dir.entry(&wanted)?)).await?;
    let stored = stored.ok_or_else(|| ApiError::not_found("entry_not_found", format!("no entry `{name}`")))?;
    Ok(Json(json!({
        "name": stored.entry.name,
        "type": stored.entry.entry_type,
        "description": stored.entry.description,
        "body": stored.entry.body,
        "updated_at_ms": stored.updated_at_ms,
    })))
}

/// `GET …/memory/{name}/history`: every version of the entry, newest
/// first, with where it came from and a diff (issue 12, provenance).
pub async fn entry_history<S: JobStore>(
    State(api): State<Arc<Api<S>>>,
    caller: Caller,
    Path((tenant, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    safe_name_of("entry", &name)?;
    let wanted = name.clone();
    let versions = with_tenant(&api, &caller, &tenant, move |dir| Ok(dir.entry_history(&wanted)?)).await?;
    if versions.is_empty() {
        return Err(ApiError::not_found("entry_not_found", format!("no version of an entry `{name}`")));
    }
    let path = format!("memory/{name}.md");
    let versions: Vec<Value> = versions
        .into_iter()
        .map(|version| {
            let diff = diff_of(&path, version.before.as_deref(), version.after.as_deref());
            let mut value = serde_json::to_value(&version).unwrap_or_default();
            value["diff"] = Value::String(diff);
            value
        })
        .collect();
    Ok(Json(json!({ "tenant": tenant, "name": name, "versions": versions })))
}

/// A unified diff of one file's two states (`None`: absent).
pub(crate) fn diff_of(path: &str, before: Option<&str>, after: Option<&str>) -> String {
    let old = if before.is_some() { format!("a/{path}") } else { "/dev/null".to_string() };
    let new = if after.is_some() { format!("b/{path}") } else { "/dev/null".to_string() };
    TextDiff::from_lines(before.unwrap_or(""), after.unwrap_or("")).unified_diff().header(&old, &new).to_string()
}

pub async fn snapshots<S: JobStore>(
    State(api): State<Arc<Api<S>>>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let lines = with_tenant(&api, &caller, &tenant, |dir| Ok(dir.snapshots()?)).await?;
    Ok(Json(json!({ "tenant": tenant, "snapshots": lines })))
}

pub async fn snapshot<S: JobStore>(
    State(api): State<Arc<Api<S>>>,
    caller: Caller,
    Path((tenant, id)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let (meta, changes) = with_tenant(&api, &caller, &tenant, move |dir| Ok(dir.read_snapshot(&id)?)).await?;
    let files: Vec<Value> = changes
        .iter()
        .map(|change| {
            let path = change.file.path();
            let diff = diff_of(&path, change.before.as_deref(), change.after.as_deref());
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
    let done = roll_back(&api, &caller, &tenant, id).await?;
    let files: Vec<String> = done.changes.iter().map(|change| change.file.path()).collect();
    Ok(Json(json!({ "snapshot_id": done.snapshot_id, "undone": done.undone, "files": files })))
}

/// Rolls `tenant` back to its state before snapshot `id` for `caller`; the
/// API and the console both roll back through here.
pub(crate) async fn roll_back<S: JobStore>(
    api: &Arc<Api<S>>,
    caller: &Caller,
    tenant: &str,
    id: String,
) -> Result<crate::rollback::RolledBack, ApiError> {
    check_tenant(api, caller, tenant)?;
    // Hosts sharing the data directory exclude each other here.
    let db_lock = api.reflector.jobs.lock_tenant(tenant).await?;
    let done = with_tenant(api, caller, tenant, move |dir| Ok(crate::rollback::rollback(&dir, &id, now_ms())?)).await?;
    drop(db_lock);
    Ok(done)
}
