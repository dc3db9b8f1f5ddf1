//! `POST /v1/policy/replay` (admin key only): the recorded proposals of the
//! job store decided again under a candidate pack, as `memwarden policy
//! replay` does. Reads only.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use serde::Deserialize;

use super::{Api, ApiError, Caller};
use crate::jobs::{DecisionFilter, JobStore};
use crate::policy::{PackMap, RulePack};
use crate::reflection::now_ms;
use crate::replay::{self, Judge, Report};

/// The most jobs one request replays.
const MAX_LIMIT: u32 = 10_000;

/// `POST /v1/policy/replay`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayRequest {
    /// The candidate pack: a built-in name or a pack file on this host.
    pack: String,
    /// Only this tenant's jobs.
    #[serde(default)]
    tenant: Option<String>,
    /// Only jobs of the last … (`90m`, `24h`, `7d`).
    #[serde(default)]
    since: Option<String>,
    /// At most this many jobs, newest first.
    #[serde(default = "default_limit")]
    limit: u32,
}

fn default_limit() -> u32 {
    1_000
}

pub async fn replay<S: JobStore>(
    State(api): State<Arc<Api<S>>>,
    caller: Caller,
    body: Result<Json<ReplayRequest>, JsonRejection>,
) -> Result<Json<Report>, ApiError> {
    if caller != Caller::Admin {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "only the admin key may replay"));
    }
    let Json(request) = body?;
    let invalid = |message: String| ApiError::unprocessable("invalid_request", message);
    if let Some(tenant) = &request.tenant {
        crate::store::safe_name_of("tenant", tenant).map_err(|err| invalid(err.to_string()))?;
    }
    if request.limit == 0 || request.limit > MAX_LIMIT {
        return Err(invalid(format!("limit must be 1 to {MAX_LIMIT}")));
    }
    let since_ms = match &request.since {
        Some(age) => now_ms().saturating_sub(replay::parse_age(age).map_err(invalid)?),
        None => 0,
    };
    let filter = DecisionFilter { tenant: request.tenant.clone(), since_ms, limit: request.limit };
    let jobs = api.reflector.jobs.decided_jobs(&filter).await?;
    let (data, running) = (api.reflector.data.clone(), api.reflector.packs.current());
    let report = tokio::task::spawn_blocking(move || {
        let running = running.default_pack();
        let candidate = RulePack::load_with(running.engine(), &request.pack, running.rules())
            .map_err(|err| ApiError::unprocessable(err.code(), err.to_string()))?;
        Ok::<_, ApiError>(replay::run(&data, &jobs, &mut Judge::Candidate(&PackMap::uniform(candidate))))
    })
    .await
    .map_err(|err| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", format!("a task failed: {err}")))??;
    Ok(Json(report))
}
