//! The PostgreSQL job store, for many workers on many hosts: claims take
//! the oldest due row with `FOR UPDATE SKIP LOCKED`, so concurrent claimers
//! skip each other's rows instead of waiting or colliding; the consolidation
//! claim is the same three statements as SQLite's, each atomic under
//! PostgreSQL's row locks. Migrations are embedded in the binary.
//! Consolidation rows live in [`consolidation`].

mod consolidation;

use std::str::FromStr;

use sqlx::Row;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::rows;
use super::{
    Claim, ConsolidationClaim, ConsolidationState, Enqueued, FailOutcome, JobId, JobKind, JobOutcome, JobStatus,
    JobStore, JobStoreError, LeaseToken, MetricsRow, NewReflection, TenantDbLock, new_token,
};

/// A job store in a PostgreSQL database.
#[derive(Clone)]
pub struct PgJobStore {
    pool: PgPool,
    /// Sessions that hold tenant locks. Apart from `pool`, so lock holders
    /// waiting for a query connection can never starve each other.
    locks: PgPool,
}

impl PgJobStore {
    /// Connects to `url` (`postgres://…`) and brings the schema up to date.
    pub async fn open(url: &str) -> Result<PgJobStore, JobStoreError> {
        let options = PgConnectOptions::from_str(url).map_err(database)?;
        PgJobStore::open_with(options).await
    }

    /// Connects with `options` (a schema on the search path, say) and brings
    /// the schema up to date.
    pub async fn open_with(options: PgConnectOptions) -> Result<PgJobStore, JobStoreError> {
        let pool = PgPoolOptions::new().max_connections(10).connect_with(options.clone()).await.map_err(database)?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|err| JobStoreError::Database(err.to_string()))?;
        let locks = PgPoolOptions::new().max_connections(16).min_connections(0).connect_lazy_with(options);
        Ok(PgJobStore { pool, locks })
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), JobStoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ()).map_err(database)
    }
}

/// A claim: the oldest due row (`$5` picks kind or id) that is queued or
/// whose lease expired gets a fresh token and lease, and counts an attempt.
macro_rules! claim_sql {
    ($filter:literal) => {
        concat!(
            "UPDATE jobs SET status = 'running', lease_owner = $1, lease_token = $2, lease_expires_ms = $3 + $4,
                 attempts = attempts + 1, updated_at_ms = $3
             WHERE id = (
                 SELECT id FROM jobs
                 WHERE ",
            $filter,
            " AND run_after_ms <= $3
                   AND (status = 'queued' OR (status = 'running' AND lease_expires_ms <= $3))
                 ORDER BY run_after_ms, id LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING id, tenant, payload, attempts, recorded"
        )
    };
}
const CLAIM_BY_KIND: &str = claim_sql!("kind = $5");
const CLAIM_BY_ID: &str = claim_sql!("id = CAST($5 AS BIGINT)");

/// Which jobs a claim may take.
enum ClaimTarget {
    Kind(JobKind),
    Id(JobId),
}

impl PgJobStore {
    async fn claim_where(
        &self,
        target: ClaimTarget,
        worker: &str,
        lease_ms: u64,
        now_ms: u64,
    ) -> Result<Option<Claim>, JobStoreError> {
        let token = new_token();
        let sql = match target {
            ClaimTarget::Kind(_) => CLAIM_BY_KIND,
            ClaimTarget::Id(_) => CLAIM_BY_ID,
        };
        let query = sqlx::query(sql).bind(worker).bind(&token.0).bind(ms(now_ms)).bind(ms(lease_ms));
        let query = match target {
            ClaimTarget::Kind(kind) => query.bind(kind.as_str()),
            ClaimTarget::Id(id) => query.bind(id.0.to_string()),
        };
        let row = query.fetch_optional(&self.pool).await.map_err(database)?;
        row.map(|row| rows::claim(&row, token)).transpose()
    }
}

fn database(err: sqlx::Error) -> JobStoreError {
    let message = err.to_string();
    match err.as_database_error().and_then(|db| db.code()).as_deref() {
        // serialization_failure, deadlock_detected, lock_not_available.
        Some("40001") | Some("40P01") | Some("55P03") => JobStoreError::Busy(message),
        _ => JobStoreError::Database(message),
    }
}

fn ms(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl JobStore for PgJobStore {
    /// Query behavior: inserts a queued row; with an idempotency key that
    /// already exists, returns that row's id instead.
    async fn enqueue_reflection(&self, job: &NewReflection, now_ms: u64) -> Result<Enqueued, JobStoreError> {
        let payload = serde_json::to_string(&job.payload).map_err(|err| JobStoreError::Database(err.to_string()))?;
        let inserted = sqlx::query(
            "INSERT INTO jobs (kind, tenant, payload, status, retries_left, run_after_ms, idempotency_key, created_at_ms, updated_at_ms)
             VALUES ($1, $2, $3, 'queued', $4, $5, $6, $5, $5)
             ON CONFLICT (idempotency_key) DO NOTHING
             RETURNING id",
        )
        .bind(JobKind::Reflection.as_str())
        .bind(&job.tenant)
        .bind(payload)
        .bind(i64::from(job.max_attempts.max(1)))
        .bind(ms(now_ms))
        .bind(&job.idempotency_key)
        .fetch_optional(&self.pool)
        .await
        .map_err(database)?;
        if let Some(row) = inserted {
            return Ok(Enqueued { id: JobId(row.get(0)), created: true });
        }
        let existing = sqlx::query("SELECT id FROM jobs WHERE idempotency_key = $1")
            .bind(&job.idempotency_key)
            .fetch_one(&self.pool)
            .await
            .map_err(database)?;
        Ok(Enqueued { id: JobId(existing.get(0)), created: false })
    }

    /// Query behavior: one `UPDATE … WHERE id = (SELECT … LIMIT 1) RETURNING`
    /// picks the oldest due row that is queued or whose lease expired, sets
    /// a fresh token and lease, and counts the attempt.
    async fn claim(
        &self,
        kind: JobKind,
        worker: &str,
        lease_ms: u64,
        now_ms: u64,
    ) -> Result<Option<Claim>, JobStoreError> {
        self.claim_where(ClaimTarget::Kind(kind), worker, lease_ms, now_ms).await
    }

    /// Query behavior: as `claim`, restricted to one id.
    async fn claim_id(
        &self,
        id: JobId,
        worker: &str,
        lease_ms: u64,
        now_ms: u64,
    ) -> Result<Option<Claim>, JobStoreError> {
        self.claim_where(ClaimTarget::Id(id), worker, lease_ms, now_ms).await
    }

    /// Query behavior: extends the lease only where the token still matches
    /// and the job is running.
    async fn heartbeat(
        &self,
        id: JobId,
        token: &LeaseToken,
        lease_ms: u64,
        now_ms: u64,
    ) -> Result<bool, JobStoreError> {
        let result = sqlx::query(
            "UPDATE jobs SET lease_expires_ms = $3 + $4, updated_at_ms = $3
             WHERE id = $1 AND lease_token = $2 AND status = 'running'",
        )
        .bind(id.0)
        .bind(&token.0)
        .bind(ms(now_ms))
        .bind(ms(lease_ms))
        .execute(&self.pool)
        .await
        .map_err(database)?;
        Ok(result.rows_affected() == 1)
    }

    /// Query behavior: stores the record where the token matches.
    async fn record(&self, id: JobId, token: &LeaseToken, recorded: &str, now_ms: u64) -> Result<bool, JobStoreError> {
        let result = sqlx::query(
            "UPDATE jobs SET recorded = $3, updated_at_ms = $4 WHERE id = $1 AND lease_token = $2 AND status = 'running'",
        )
        .bind(id.0)
        .bind(&token.0)
        .bind(recorded)
        .bind(ms(now_ms))
        .execute(&self.pool)
        .await
        .map_err(database)?;
        Ok(result.rows_affected() == 1)
    }

    /// Query behavior: marks the job succeeded and drops its lease where the
    /// token matches.
    async fn succeed(
        &self,
        id: JobId,
        token: &LeaseToken,
        outcome: JobOutcome,
        snapshot_id: Option<&str>,
        now_ms: u64,
    ) -> Result<bool, JobStoreError> {
        let result = sqlx::query(
            "UPDATE jobs SET status = 'succeeded', outcome = $3, snapshot_id = $4, lease_token = NULL, lease_owner = NULL,
                 lease_expires_ms = NULL, updated_at_ms = $5
             WHERE id = $1 AND lease_token = $2 AND status = 'running'",
        )
        .bind(id.0)
        .bind(&token.0)
        .bind(outcome.as_str())
        .bind(snapshot_id)
        .bind(ms(now_ms))
        .execute(&self.pool)
        .await
        .map_err(database)?;
        Ok(result.rows_affected() == 1)
    }

    /// Query behavior: where the token matches, either requeues with
    /// `run_after = now + delay` and one retry fewer, or marks the job dead;
    /// keeps the error either way.
    async fn fail(
        &self,
        id: JobId,
        token: &LeaseToken,
        code: &str,
        message: &str,
        retry_delay_ms: Option<u64>,
        now_ms: u64,
    ) -> Result<FailOutcome, JobStoreError> {
        // No delay means no retry: spend every retry left at once.
        let spend: i64 = if retry_delay_ms.is_some() { 1 } else { i64::from(u32::MAX) };
        let row = sqlx::query(
            "UPDATE jobs SET
                 retries_left = GREATEST(retries_left - $7, 0),
                 status = CASE WHEN retries_left - $7 <= 0 THEN 'dead' ELSE 'queued' END,
                 outcome = CASE WHEN retries_left - $7 <= 0 THEN 'failed' ELSE NULL END,
                 run_after_ms = $5 + $6,
                 last_error_code = $3, last_error = $4,
                 lease_token = NULL, lease_owner = NULL, lease_expires_ms = NULL, updated_at_ms = $5
             WHERE id = $1 AND lease_token = $2 AND status = 'running'
             RETURNING status, run_after_ms",
        )
        .bind(id.0)
        .bind(&token.0)
        .bind(code)
        .bind(message)
        .bind(ms(now_ms))
        .bind(ms(retry_delay_ms.unwrap_or(0)))
        .bind(spend)
        .fetch_optional(&self.pool)
        .await
        .map_err(database)?;
        Ok(match row {
            None => FailOutcome::LostOwnership,
            Some(row) if row.get::<String, _>(0) == "dead" => FailOutcome::Dead,
            Some(row) => FailOutcome::Retrying { at_ms: row.get::<i64, _>(1) as u64 },
        })
    }

    /// Query behavior: one insert.
    async fn record_metrics(&self, row: &MetricsRow) -> Result<(), JobStoreError> {
        let rejections =
            serde_json::to_string(&row.rejections).map_err(|err| JobStoreError::Database(err.to_string()))?;
        sqlx::query(
            "INSERT INTO job_metrics (job_id, tenant, kind, outcome, reason_code, changes_applied, piece_edited, tokens_in,
                 tokens_out, duration_ms, rejections, created_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(row.job_id.0)
        .bind(&row.tenant)
        .bind(row.kind.as_str())
        .bind(&row.outcome)
        .bind(&row.reason_code)
        .bind(i64::from(row.changes_applied))
        .bind(row.piece_edited)
        .bind(ms(row.tokens_in))
        .bind(ms(row.tokens_out))
        .bind(ms(row.duration_ms))
        .bind(rejections)
        .bind(ms(row.created_at_ms))
        .execute(&self.pool)
        .await
        .map_err(database)?;
        Ok(())
    }

    /// Query behavior: one row by id.
    async fn job(&self, id: JobId) -> Result<Option<JobStatus>, JobStoreError> {
        let row = sqlx::query(
            "SELECT id, kind, tenant, status, outcome, attempts, last_error_code, last_error, snapshot_id, run_after_ms,
                 recorded
             FROM jobs WHERE id = $1",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(database)?;
        row.map(|row| rows::status(&row)).transpose()
    }

    /// Query behavior: the tenant's rows by time.
    async fn metrics(&self, tenant: &str) -> Result<Vec<MetricsRow>, JobStoreError> {
        let rows = sqlx::query(
            "SELECT job_id, tenant, kind, outcome, reason_code, changes_applied, piece_edited, tokens_in, tokens_out,
                 duration_ms, rejections, created_at_ms
             FROM job_metrics WHERE tenant = $1 ORDER BY created_at_ms, job_id",
        )
        .bind(tenant)
        .fetch_all(&self.pool)
        .await
        .map_err(database)?;
        rows.iter().map(rows::metrics).collect()
    }

    async fn enqueue_consolidation(
        &self,
        tenant: &str,
        watermark: u64,
        max_attempts: u32,
        now_ms: u64,
    ) -> Result<u64, JobStoreError> {
        consolidation::enqueue(&self.pool, tenant, watermark, max_attempts, now_ms).await
    }

    async fn claim_consolidation(
        &self,
        tenant: &str,
        worker: &str,
        lease_ms: u64,
        now_ms: u64,
    ) -> Result<ConsolidationClaim, JobStoreError> {
        consolidation::claim(&self.pool, tenant, worker, lease_ms, now_ms).await
    }

    async fn heartbeat_consolidation(
        &self,
        tenant: &str,
        token: &LeaseToken,
        lease_ms: u64,
        now_ms: u64,
    ) -> Result<bool, JobStoreError> {
        consolidation::heartbeat(&self.pool, tenant, token, lease_ms, now_ms).await
    }

    async fn succeed_consolidation(
        &self,
        tenant: &str,
        token: &LeaseToken,
        watermark: u64,
        notes_cursor: u64,
        now_ms: u64,
    ) -> Result<bool, JobStoreError> {
        consolidation::succeed(&self.pool, tenant, token, watermark, notes_cursor, now_ms).await
    }

    async fn fail_consolidation(
        &self,
        tenant: &str,
        token: &LeaseToken,
        code: &str,
        message: &str,
        retry_delay_ms: Option<u64>,
        now_ms: u64,
    ) -> Result<FailOutcome, JobStoreError> {
        consolidation::fail(&self.pool, tenant, token, code, message, retry_delay_ms, now_ms).await
    }

    async fn fail_abandoned_consolidations(&self, now_ms: u64) -> Result<Vec<String>, JobStoreError> {
        consolidation::fail_abandoned(&self.pool, now_ms).await
    }

    async fn due_consolidations(
        &self,
        min_interval_ms: u64,
        limit: u32,
        now_ms: u64,
    ) -> Result<Vec<String>, JobStoreError> {
        consolidation::due(&self.pool, min_interval_ms, limit, now_ms).await
    }

    async fn consolidation(&self, tenant: &str) -> Result<Option<ConsolidationState>, JobStoreError> {
        consolidation::state(&self.pool, tenant).await
    }

    /// Query behavior: counts claimable reflection rows.
    async fn queue_depth(&self, now_ms: u64) -> Result<u64, JobStoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) FROM jobs WHERE kind = 'reflection'
                 AND (status = 'queued' OR (status = 'running' AND lease_expires_ms <= $1))",
        )
        .bind(ms(now_ms))
        .fetch_one(&self.pool)
        .await
        .map_err(database)?;
        Ok(row.get::<i64, _>(0) as u64)
    }

    /// Query behavior: one insert.
    async fn add_api_key(
        &self,
        tenant: &str,
        key_sha256: &str,
        label: Option<&str>,
        now_ms: u64,
    ) -> Result<i64, JobStoreError> {
        let row = sqlx::query(
            "INSERT INTO api_keys (tenant, key_sha256, label, created_at_ms) VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(tenant)
        .bind(key_sha256)
        .bind(label)
        .bind(ms(now_ms))
        .fetch_one(&self.pool)
        .await
        .map_err(database)?;
        Ok(row.get(0))
    }

    /// Query behavior: one lookup by the unique hash.
    async fn api_key_tenant(&self, key_sha256: &str) -> Result<Option<String>, JobStoreError> {
        let row = sqlx::query("SELECT tenant FROM api_keys WHERE key_sha256 = $1")
            .bind(key_sha256)
            .fetch_optional(&self.pool)
            .await
            .map_err(database)?;
        Ok(row.map(|row| row.get(0)))
    }

    /// Query behavior: a session advisory lock keyed by a hash of the
    /// tenant, on a connection held until the guard drops.
    async fn lock_tenant(&self, tenant: &str) -> Result<TenantDbLock, JobStoreError> {
        let mut conn = self.locks.acquire().await.map_err(database)?;
        let key: i64 = sqlx::query("SELECT hashtextextended('memwarden:tenant:' || $1, 0)")
            .bind(tenant)
            .fetch_one(&mut *conn)
            .await
            .map_err(database)?
            .get(0);
        sqlx::query("SELECT pg_advisory_lock($1)").bind(key).execute(&mut *conn).await.map_err(database)?;
        Ok(TenantDbLock::held(AdvisoryLock { conn: Some(conn), key }))
    }
}

/// A held advisory lock and the session that holds it.
struct AdvisoryLock {
    conn: Option<sqlx::pool::PoolConnection<sqlx::Postgres>>,
    key: i64,
}

impl Drop for AdvisoryLock {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else { return };
        let key = self.key;
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(async move {
                    if sqlx::query("SELECT pg_advisory_unlock($1)").bind(key).execute(&mut *conn).await.is_err() {
                        // Closing the session releases its locks too.
                        drop(conn.detach());
                    }
                });
            }
            // No runtime to unlock on: end the session instead.
            Err(_) => drop(conn.detach()),
        }
    }
}
