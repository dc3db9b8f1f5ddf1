//! The routes outside a tenant's tree: job status, the policy dry run, and
//! the health, readiness and metrics endpoints.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{Value, json};

use super::tenants::{check_tenant, existing_tenant};
use super::{Api, ApiError, Caller, gated};
use crate::flow::Recorded;
use crate::flow::context::{RunView, policy_view};
use crate::jobs::{JobId, JobStore};
use crate::policy::{HardLimits, Proposal, RunOutcome};
use crate::reflection::now_ms;

/// Code of a proposal refused whole before evaluation: over the host's
/// change or piece ceiling.
pub const PROPOSAL_TOO_LARGE: &str = "proposal_too_large";

pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready when the database answers (the packs were loaded at start, or the
/// process would not be running).
pub async fn readyz<S: JobStore>(State(api): State<Arc<Api<S>>>) -> Result<Json<Value>, ApiError> {
    let depth = api.reflector.jobs.queue_depth(now_ms()).await?;
    Ok(Json(json!({ "database": "ok", "packs": "loaded", "queue_depth": depth })))
}

pub async fn metrics<S: JobStore>(State(api): State<Arc<Api<S>>>) -> Result<impl IntoResponse, ApiError> {
    let handle = api
        .prometheus
        .as_ref()
        .ok_or_else(|| ApiError::not_found("metrics_disabled", "this process has no Prometheus recorder installed"))?;
    let depth = api.reflector.jobs.queue_depth(now_ms()).await?;
    metrics::gauge!("memwarden_queue_depth").set(depth as f64);
    for (tenant, pending) in api.reflector.jobs.pending_reviews().await? {
        metrics::gauge!("memwarden_reviews_pending", "tenant" => tenant).set(pending as f64);
    }
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle.render()))
}

pub async fn no_route(uri: Uri) -> ApiError {
    ApiError::not_found("no_route", format!("no route for `{}`", uri.path()))
}

pub async fn job<S: JobStore>(
    State(api): State<Arc<Api<S>>>,
    caller: Caller,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<Value>, ApiError> {
    let Path(id) = id.map_err(|_| ApiError::new(StatusCode::BAD_REQUEST, "invalid_job_id", "a job id is a number"))?;
    let missing = || ApiError::not_found("job_not_found", format!("no job {id}"));
    let status = api.reflector.jobs.job(JobId(id)).await?.ok_or_else(missing)?;
    if !caller.sees(&status.tenant) {
        return Err(missing());
    }
    let recorded: Option<Recorded> = status.recorded.as_deref().and_then(|text| serde_json::from_str(text).ok());
    Ok(Json(json!({
        "id": status.id.0,
        "kind": status.kind.as_str(),
        "tenant": status.tenant,
        "status": status.status,
        "outcome": status.outcome,
        "attempts": status.attempts,
        "last_error_code": status.last_error_code,
        "last_error": status.last_error,
        "snapshot_id": status.snapshot_id,
        "decision": recorded.as_ref().map(|r| &r.decision),
        "memory_applied": recorded.as_ref().map(|r| r.plan.memory_applied),
        "piece_edited": recorded.as_ref().map(|r| r.plan.piece_edited),
    })))
}

/// `POST /v1/policy/eval`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalRequest {
    tenant: String,
    proposal: Value,
    #[serde(default)]
    piece: String,
    #[serde(default)]
    outcome: RunOutcome,
}

/// Refuses a proposal over the host's ceilings as a whole, from the request
/// as parsed, before it is rebuilt or any module runs (issue 9, item 8):
/// one compact error, not a rejection per change.
fn within_ceilings(proposal: &Value) -> Result<(), ApiError> {
    let limits = HardLimits::default();
    let too_large = |message: String| ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, PROPOSAL_TOO_LARGE, message);
    let changes = proposal.get("memory_changes").and_then(Value::as_array).map_or(0, Vec::len);
    if changes > limits.max_changes {
        return Err(too_large(format!("{changes} memory changes, over the host ceiling of {}", limits.max_changes)));
    }
    let piece = proposal.pointer("/piece_edit/yaml").and_then(Value::as_str).map_or(0, str::len);
    if piece > limits.max_piece_bytes {
        return Err(too_large(format!(
            "a piece of {piece} bytes, over the host ceiling of {}",
            limits.max_piece_bytes
        )));
    }
    Ok(())
}

/// Evaluates a proposal against the tenant's pack and its store as it is
/// now, writing nothing; under the gate, as the evaluation holds the
/// proposal and the tenant's index in memory.
pub async fn policy_eval<S: JobStore>(
    State(api): State<Arc<Api<S>>>,
    caller: Caller,
    body: Result<Json<EvalRequest>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(request) = body?;
    check_tenant(&api, &caller, &request.tenant)?;
    within_ceilings(&request.proposal)?;
    let proposal = Proposal::from_json(&request.proposal.to_string())
        .map_err(|err| ApiError::unprocessable("invalid_proposal", err.to_string()))?;
    let (data, packs, indexes) =
        (api.reflector.data.clone(), api.reflector.packs.current(), api.reflector.indexes.clone());
    let gate_tenant = request.tenant.clone();
    let decision = gated(&api, &gate_tenant, move || {
        let tenant = existing_tenant(&data, &request.tenant)?;
        let (entries, history) = (tenant.entries()?, tenant.snapshots()?);
        let run = RunView { piece: &request.piece, outcome: request.outcome, job_id: "dry-run", now_ms: now_ms() };
        let edited = proposal.piece_edit.as_ref().map(|edit| edit.piece.as_str());
        let (context, index) = policy_view(&indexes, &tenant, &entries, &history, &run, edited)?;
        Ok(packs.pack_for(&request.tenant).evaluate(&proposal, &context, &index))
    })
    .await?;
    Ok(Json(json!({ "decision": decision, "written": false })))
}

/// `POST /v1/admin/packs/reload` (admin key only): loads every pack afresh
/// and puts the new map in force only if all of it loads; a failure keeps
/// the running packs and answers `422 pack_reload_failed`.
pub async fn reload_packs<S: JobStore>(
    State(api): State<Arc<Api<S>>>,
    caller: Caller,
) -> Result<Json<Value>, ApiError> {
    if caller != Caller::Admin {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "only the admin key may reload packs"));
    }
    let packs = api.reflector.packs.clone();
    let reloaded = tokio::task::spawn_blocking(move || packs.reload())
        .await
        .map_err(|err| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", format!("a task failed: {err}")))?;
    match reloaded {
        Ok(revision) => Ok(Json(json!({ "reloaded": true, "default_revision": revision }))),
        // `reason` says which pack error (`pack_signature_invalid`, …).
        Err(err) => Err(ApiError::unprocessable("pack_reload_failed", format!("{err:#}"))
            .with_reason(crate::packs::pack_error_code(&err))),
    }
}
