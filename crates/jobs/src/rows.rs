//! Rows into job-store types, for every backend: the column names are the
//! same in each schema, only the SQL dialect differs.

use sqlx::{ColumnIndex, Decode, Row, Type};

use super::{Claim, ConsolidationState, JobId, JobKind, JobStatus, JobStoreError, LeaseToken, MetricsRow};

pub(super) fn corrupt(id: i64, reason: impl std::fmt::Display) -> JobStoreError {
    JobStoreError::Corrupt { id, reason: reason.to_string() }
}

pub(super) fn claim<'r, R>(row: &'r R, token: LeaseToken) -> Result<Claim, JobStoreError>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
{
    let id: i64 = row.get("id");
    let payload: String = row.get("payload");
    Ok(Claim {
        id: JobId(id),
        token,
        tenant: row.get("tenant"),
        payload: serde_json::from_str(&payload).map_err(|err| corrupt(id, err))?,
        attempt: row.get::<i64, _>("attempts") as u32,
        recorded: row.get("recorded"),
    })
}

pub(super) fn status<'r, R>(row: &'r R) -> Result<JobStatus, JobStoreError>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
{
    let id: i64 = row.get("id");
    let kind: String = row.get("kind");
    let kind = JobKind::parse(&kind).ok_or_else(|| corrupt(id, format!("unknown kind `{kind}`")))?;
    Ok(JobStatus {
        id: JobId(id),
        kind,
        tenant: row.get("tenant"),
        status: row.get("status"),
        outcome: row.get("outcome"),
        attempts: row.get::<i64, _>("attempts") as u32,
        last_error_code: row.get("last_error_code"),
        last_error: row.get("last_error"),
        snapshot_id: row.get("snapshot_id"),
        run_after_ms: row.get::<i64, _>("run_after_ms") as u64,
        recorded: row.get("recorded"),
    })
}

pub(super) fn metrics<'r, R>(row: &'r R) -> Result<MetricsRow, JobStoreError>
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    bool: Decode<'r, R::Database> + Type<R::Database>,
{
    let id: i64 = row.get("job_id");
    let rejections: String = row.get("rejections");
    let kind: String = row.get("kind");
    Ok(MetricsRow {
        job_id: JobId(id),
        tenant: row.get("tenant"),
        kind: JobKind::parse(&kind).ok_or_else(|| corrupt(id, format!("unknown kind `{kind}`")))?,
        outcome: row.get("outcome"),
        reason_code: row.get("reason_code"),
        changes_applied: row.get::<i64, _>("changes_applied") as u32,
        piece_edited: row.get("piece_edited"),
        tokens_in: row.get::<i64, _>("tokens_in") as u64,
        tokens_out: row.get::<i64, _>("tokens_out") as u64,
        duration_ms: row.get::<i64, _>("duration_ms") as u64,
        rejections: serde_json::from_str(&rejections).map_err(|err| corrupt(id, err))?,
        created_at_ms: row.get::<i64, _>("created_at_ms") as u64,
    })
}

pub(super) fn consolidation_state<'r, R>(row: &'r R) -> ConsolidationState
where
    R: Row,
    for<'a> &'a str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
{
    ConsolidationState {
        tenant: row.get("tenant"),
        input_watermark: row.get::<i64, _>("input_watermark") as u64,
        success_watermark: row.get::<i64, _>("success_watermark") as u64,
        status: row.get("status"),
        retries_left: row.get::<i64, _>("retries_left") as u32,
        next_attempt_ms: row.get::<i64, _>("next_attempt_ms") as u64,
        runs: row.get::<i64, _>("runs") as u64,
        lease_owner: row.get("lease_owner"),
        last_error_code: row.get("last_error_code"),
        last_error: row.get("last_error"),
        last_succeeded_ms: row.get::<Option<i64>, _>("last_succeeded_ms").map(|v| v as u64),
    }
}
