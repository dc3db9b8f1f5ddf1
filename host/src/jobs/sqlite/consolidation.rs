//! The consolidation rows in SQLite. A claim is three statements, each
//! atomic on its own and safe to interleave with another worker's: fail an
//! expired lease, take the row if it is claimable, and only if that found
//! nothing, read why.

use sqlx::Row;
use sqlx::sqlite::SqlitePool;

use super::{database, ms};
use crate::jobs::consolidation::OWNER_GONE;
use crate::jobs::rows;
use crate::jobs::{
    ConsolidationClaim, ConsolidationLease, ConsolidationState, FailOutcome, JobStoreError, LeaseToken, new_token,
};

pub(super) async fn enqueue(
    pool: &SqlitePool,
    tenant: &str,
    watermark: u64,
    max_attempts: u32,
    now_ms: u64,
) -> Result<u64, JobStoreError> {
    let row = sqlx::query(
        "INSERT INTO consolidations (tenant, input_watermark, status, max_attempts, retries_left, updated_at_ms)
         VALUES (?1, MAX(?2, 1), 'idle', ?3, ?3, ?4)
         ON CONFLICT (tenant) DO UPDATE SET
             input_watermark = CASE WHEN ?2 > consolidations.input_watermark THEN ?2
                                    ELSE consolidations.input_watermark + 1 END,
             max_attempts = ?3, retries_left = ?3, next_attempt_ms = 0,
             status = CASE WHEN consolidations.lease_token IS NULL THEN 'idle' ELSE consolidations.status END,
             updated_at_ms = ?4
         RETURNING input_watermark",
    )
    .bind(tenant)
    .bind(ms(watermark))
    .bind(i64::from(max_attempts.max(1)))
    .bind(ms(now_ms))
    .fetch_one(pool)
    .await
    .map_err(database)?;
    Ok(row.get::<i64, _>(0) as u64)
}

/// Fails every expired lease (of `tenant`, or of all tenants) as
/// [`OWNER_GONE`], spending one retry.
async fn fail_expired(pool: &SqlitePool, tenant: Option<&str>, now_ms: u64) -> Result<Vec<String>, JobStoreError> {
    let rows = sqlx::query(
        "UPDATE consolidations SET
             retries_left = MAX(retries_left - 1, 0),
             status = CASE WHEN retries_left - 1 <= 0 THEN 'dead' ELSE 'failed' END,
             last_error_code = ?3, last_error = 'the worker holding the lease stopped renewing it: ' || lease_owner,
             lease_token = NULL, lease_owner = NULL, lease_expires_ms = NULL, updated_at_ms = ?2
         WHERE lease_token IS NOT NULL AND lease_expires_ms <= ?2 AND (?1 IS NULL OR tenant = ?1)
         RETURNING tenant",
    )
    .bind(tenant)
    .bind(ms(now_ms))
    .bind(OWNER_GONE)
    .fetch_all(pool)
    .await
    .map_err(database)?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

pub(super) async fn claim(
    pool: &SqlitePool,
    tenant: &str,
    worker: &str,
    lease_ms: u64,
    now_ms: u64,
) -> Result<ConsolidationClaim, JobStoreError> {
    for gone in fail_expired(pool, Some(tenant), now_ms).await? {
        tracing::warn!(tenant = %gone, "consolidation lease expired; its attempt is counted as failed");
    }
    let token = new_token();
    let claimed = sqlx::query(
        "UPDATE consolidations SET
             status = 'running', lease_owner = ?2, lease_token = ?3, lease_expires_ms = ?4 + ?5,
             claimed_watermark = input_watermark, runs = runs + 1, last_started_ms = ?4, updated_at_ms = ?4
         WHERE tenant = ?1 AND lease_token IS NULL AND input_watermark > success_watermark
               AND retries_left > 0 AND next_attempt_ms <= ?4
         RETURNING input_watermark, notes_cursor, runs",
    )
    .bind(tenant)
    .bind(worker)
    .bind(&token.0)
    .bind(ms(now_ms))
    .bind(ms(lease_ms))
    .fetch_optional(pool)
    .await
    .map_err(database)?;
    if let Some(row) = claimed {
        return Ok(ConsolidationClaim::Claimed(ConsolidationLease {
            tenant: tenant.to_string(),
            token,
            input_watermark: row.get::<i64, _>(0) as u64,
            notes_cursor: row.get::<i64, _>(1) as u64,
            run: row.get::<i64, _>(2) as u64,
        }));
    }
    let live = sqlx::query("SELECT 1 FROM consolidations WHERE tenant = ?1 AND lease_token IS NOT NULL")
        .bind(tenant)
        .fetch_optional(pool)
        .await
        .map_err(database)?;
    Ok(if live.is_some() { ConsolidationClaim::SkippedRunning } else { ConsolidationClaim::SkippedNotDirty })
}

pub(super) async fn heartbeat(
    pool: &SqlitePool,
    tenant: &str,
    token: &LeaseToken,
    lease_ms: u64,
    now_ms: u64,
) -> Result<bool, JobStoreError> {
    let result = sqlx::query(
        "UPDATE consolidations SET lease_expires_ms = ?3 + ?4, updated_at_ms = ?3
         WHERE tenant = ?1 AND lease_token = ?2",
    )
    .bind(tenant)
    .bind(&token.0)
    .bind(ms(now_ms))
    .bind(ms(lease_ms))
    .execute(pool)
    .await
    .map_err(database)?;
    Ok(result.rows_affected() == 1)
}

pub(super) async fn succeed(
    pool: &SqlitePool,
    tenant: &str,
    token: &LeaseToken,
    watermark: u64,
    notes_cursor: u64,
    now_ms: u64,
) -> Result<bool, JobStoreError> {
    let result = sqlx::query(
        "UPDATE consolidations SET
             success_watermark = MAX(success_watermark, ?3), notes_cursor = MAX(notes_cursor, ?4),
             status = 'idle', retries_left = max_attempts, next_attempt_ms = 0,
             last_error_code = NULL, last_error = NULL, last_succeeded_ms = ?5,
             lease_token = NULL, lease_owner = NULL, lease_expires_ms = NULL, updated_at_ms = ?5
         WHERE tenant = ?1 AND lease_token = ?2",
    )
    .bind(tenant)
    .bind(&token.0)
    .bind(ms(watermark))
    .bind(ms(notes_cursor))
    .bind(ms(now_ms))
    .execute(pool)
    .await
    .map_err(database)?;
    Ok(result.rows_affected() == 1)
}

pub(super) async fn fail(
    pool: &SqlitePool,
    tenant: &str,
    token: &LeaseToken,
    code: &str,
    message: &str,
    retry_delay_ms: Option<u64>,
    now_ms: u64,
) -> Result<FailOutcome, JobStoreError> {
    // No delay means no retry: spend every retry left at once.
    let spend: i64 = if retry_delay_ms.is_some() { 1 } else { i64::from(u32::MAX) };
    let row = sqlx::query(
        "UPDATE consolidations SET
             retries_left = MAX(retries_left - ?7, 0),
             status = CASE WHEN retries_left - ?7 <= 0 THEN 'dead' ELSE 'failed' END,
             next_attempt_ms = ?5 + ?6, last_error_code = ?3, last_error = ?4,
             lease_token = NULL, lease_owner = NULL, lease_expires_ms = NULL, updated_at_ms = ?5
         WHERE tenant = ?1 AND lease_token = ?2
         RETURNING status, next_attempt_ms",
    )
    .bind(tenant)
    .bind(&token.0)
    .bind(code)
    .bind(message)
    .bind(ms(now_ms))
    .bind(ms(retry_delay_ms.unwrap_or(0)))
    .bind(spend)
    .fetch_optional(pool)
    .await
    .map_err(database)?;
    Ok(match row {
        None => FailOutcome::LostOwnership,
        Some(row) if row.get::<String, _>(0) == "dead" => FailOutcome::Dead,
        Some(row) => FailOutcome::Retrying { at_ms: row.get::<i64, _>(1) as u64 },
    })
}

pub(super) async fn fail_abandoned(pool: &SqlitePool, now_ms: u64) -> Result<Vec<String>, JobStoreError> {
    fail_expired(pool, None, now_ms).await
}

pub(super) async fn due(
    pool: &SqlitePool,
    min_interval_ms: u64,
    limit: u32,
    now_ms: u64,
) -> Result<Vec<String>, JobStoreError> {
    let rows = sqlx::query(
        "SELECT tenant FROM consolidations
         WHERE input_watermark > success_watermark AND retries_left > 0 AND next_attempt_ms <= ?1
               AND (lease_token IS NULL OR lease_expires_ms <= ?1)
               AND COALESCE(last_started_ms, 0) + ?2 <= ?1
         ORDER BY COALESCE(last_started_ms, 0), tenant LIMIT ?3",
    )
    .bind(ms(now_ms))
    .bind(ms(min_interval_ms))
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .map_err(database)?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

pub(super) async fn state(pool: &SqlitePool, tenant: &str) -> Result<Option<ConsolidationState>, JobStoreError> {
    let row = sqlx::query(
        "SELECT tenant, input_watermark, success_watermark, status, retries_left, next_attempt_ms, runs, lease_owner,
             last_error_code, last_error, last_succeeded_ms
         FROM consolidations WHERE tenant = ?1",
    )
    .bind(tenant)
    .fetch_optional(pool)
    .await
    .map_err(database)?;
    Ok(row.as_ref().map(rows::consolidation_state))
}
