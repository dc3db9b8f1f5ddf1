//! What every SQL backend of the job store shares: the queries (written
//! once, in SQL both SQLite and PostgreSQL run: `$N` parameters, `CASE`
//! rather than `MAX`/`GREATEST`) and the [`JobStore`] implementation around
//! them, stamped out per backend by [`job_store_impl!`]. A backend brings
//! its pool, its error mapping (`database`), the lock clause of a claim
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL; SQLite serialises writers
//! anyway) and its tenant lock (`hold_tenant_lock`). Every store carries
//! an optional [`Shard`]: claims, lease reaping, due consolidations and the
//! queue depth see only the shard's tenants (issue 9, item 3).
//!
//! The consolidation claim is three statements, each atomic on its own and
//! safe to interleave with another worker's: fail an expired lease, take
//! the row if it is claimable, and only if that found nothing, read why.
//! A reflection claim is two, in the same spirit: fail the expired leases
//! (each spends a retry, so a job that kills its worker every time ends
//! `dead`), then take the oldest queued row. The first is skipped while it
//! ran less than a second ago and the second finds a row.
//!
//! [`JobStore`]: super::JobStore
//! [`Shard`]: super::Shard

/// How often a store's claims of one kind reap expired leases at most,
/// in ms. The reap is a statement of its own, a round trip as costly as
/// the claim; a lease is 60 s by default, so a second more before a dead
/// worker's job is taken over costs nothing, and a claim that finds
/// nothing reaps at once anyway.
pub(super) const REAP_EVERY_MS: u64 = 1_000;

/// When a store's claims last reaped each kind's expired leases; shared by
/// the store's clones.
#[derive(Clone, Default)]
pub(super) struct ReapClock(std::sync::Arc<std::sync::Mutex<[Option<u64>; 3]>>);

impl ReapClock {
    /// Whether a claim of `kind` at `now_ms` reaps first, noting it if so:
    /// the first claim does, then one every [`REAP_EVERY_MS`] (or when
    /// the clock went back).
    pub(super) fn due(&self, kind: super::JobKind, now_ms: u64) -> bool {
        let slot = match kind {
            super::JobKind::Reflection => 0,
            super::JobKind::Consolidation => 1,
            super::JobKind::Mcp => 2,
        };
        let mut last = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let due = last[slot].is_none_or(|at| now_ms < at || now_ms - at >= REAP_EVERY_MS);
        if due {
            last[slot] = Some(now_ms);
        }
        due
    }
}

/// Milliseconds as the databases store them.
pub(super) fn ms(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// The claim statement, for the rows `$target` picks (by kind or by id):
/// the oldest due queued row of a tenant the store's shard owns (`$6`,
/// `NULL` for all) gets a fresh token and lease, and counts an attempt.
macro_rules! claim_sql {
    ($target:literal, $lock:literal) => {
        concat!(
            "UPDATE jobs SET status = 'running', lease_owner = $1, lease_token = $2, lease_expires_ms = $3 + $4,
                 attempts = attempts + 1, updated_at_ms = $3
             WHERE id = (SELECT id FROM jobs WHERE ",
            $target,
            " AND run_after_ms <= $3 AND status = 'queued'
                 AND (CAST($6 AS TEXT) IS NULL OR LENGTH(REPLACE($6, ',' || tenant || ',', '')) < LENGTH($6))
                 ORDER BY run_after_ms, id LIMIT 1 ",
            $lock,
            ") RETURNING id, tenant, payload, attempts, recorded"
        )
    };
}

/// The reap statement, for the running rows `$target` picks whose lease
/// expired: each attempt fails as `$2` (owner gone) and spends one retry,
/// exactly as `fail` with a zero delay would (requeued while retries are
/// left, dead with outcome `failed` once spent), keeping the recorded
/// decision. At most 100 rows a call, of the shard's tenants (`$4`).
macro_rules! reap_sql {
    ($target:literal, $lock:literal) => {
        concat!(
            "UPDATE jobs SET
                 retries_left = CASE WHEN retries_left > 1 THEN retries_left - 1 ELSE 0 END,
                 status = CASE WHEN retries_left <= 1 THEN 'dead' ELSE 'queued' END,
                 outcome = CASE WHEN retries_left <= 1 THEN 'failed' ELSE NULL END,
                 last_error_code = $2,
                 last_error = 'the worker holding the lease stopped renewing it: ' || COALESCE(lease_owner, 'unknown'),
                 lease_token = NULL, lease_owner = NULL, lease_expires_ms = NULL, updated_at_ms = $1
             WHERE id IN (SELECT id FROM jobs WHERE ",
            $target,
            " AND status = 'running' AND lease_expires_ms <= $1
                 AND (CAST($4 AS TEXT) IS NULL OR LENGTH(REPLACE($4, ',' || tenant || ',', '')) < LENGTH($4))
                 ORDER BY id LIMIT 100 ",
            $lock,
            ") RETURNING id, tenant, status, kind"
        )
    };
}

/// Implements `JobStore` for `$store`, whose `pool` field is a `$pool`.
macro_rules! job_store_impl {
    ($store:ty, $pool:ty, $claim_lock:literal) => {
        use sqlx::Row;

        use crate::metric_names as jobs_metrics;
        use crate::sql::ms;
        use crate::{OWNER_GONE,
            Claim, ConsolidationClaim, ConsolidationLease, ConsolidationState, Enqueued, FailOutcome, JobId,
            JobKind, JobOutcome, JobStatus, JobStore, JobStoreError, LeaseToken, MetricsRow, NewReflection,
            Started, TenantDbLock, new_token, rows, shard,
        };

        /// A claim: the oldest due queued row (`$5` picks kind or id) of a
        /// tenant the store's shard owns (`$6`, `NULL` for all; see
        /// `Shard::sql_list`) gets a fresh token and lease, and counts an
        /// attempt. A row whose lease expired is claimable only once `REAP_*`
        /// requeued it.
        const CLAIM_BY_KIND: &str = crate::sql::claim_sql!("kind = $5", $claim_lock);
        const CLAIM_BY_ID: &str = crate::sql::claim_sql!("id = CAST($5 AS BIGINT)", $claim_lock);

        /// The attempt of every running row (`$3` picks kind or id) whose
        /// lease expired is failed as `$2` (owner gone) and spends one
        /// retry, exactly as `fail` with a zero delay would: requeued while
        /// retries are left, dead with outcome `failed` once they are spent.
        /// The recorded decision is kept for the next owner. At most 100 rows
        /// a call, of the shard's tenants (`$4`); on PostgreSQL rows another
        /// session holds are skipped.
        const REAP_BY_KIND: &str = crate::sql::reap_sql!("kind = $3", $claim_lock);
        const REAP_BY_ID: &str = crate::sql::reap_sql!("id = CAST($3 AS BIGINT)", $claim_lock);

        /// Which jobs a claim may take.
        #[derive(Clone, Copy)]
        enum ClaimTarget {
            Kind(JobKind),
            Id(JobId),
        }

        impl $store {
            /// Fails the expired leases `target` covers (see `REAP_BY_KIND`),
            /// then claims: two statements, each atomic, safe to interleave
            /// with other workers'. A claim by kind reaps only when its
            /// `ReapClock` says so, or when it found nothing to claim.
            async fn claim_where(
                &self,
                target: ClaimTarget,
                worker: &str,
                lease_ms: u64,
                now_ms: u64,
            ) -> Result<Option<Claim>, JobStoreError> {
                let reaped = match target {
                    ClaimTarget::Kind(kind) => self.reaped.due(kind, now_ms),
                    ClaimTarget::Id(_) => true,
                };
                if reaped {
                    self.reap_expired(&target, now_ms).await?;
                }
                match self.claim_once(&target, worker, lease_ms, now_ms).await? {
                    None if !reaped => {
                        self.reap_expired(&target, now_ms).await?;
                        self.claim_once(&target, worker, lease_ms, now_ms).await
                    }
                    claimed => Ok(claimed),
                }
            }

            /// The claim statement alone.
            async fn claim_once(
                &self,
                target: &ClaimTarget,
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
                let query = match *target {
                    ClaimTarget::Kind(kind) => query.bind(kind.as_str()),
                    ClaimTarget::Id(id) => query.bind(id.0.to_string()),
                };
                let query = query.bind(shard::sql_param(self.shard.as_ref()));
                let row = query.fetch_optional(&self.pool).await.map_err(database)?;
                row.map(|row| rows::claim(&row, token)).transpose()
            }

            /// Fails every expired lease `target` covers as [`OWNER_GONE`],
            /// and counts each: a log line, the jobs counter and a metrics
            /// row, as a failed attempt gets from its flow.
            async fn reap_expired(&self, target: &ClaimTarget, now_ms: u64) -> Result<(), JobStoreError> {
                let sql = match target {
                    ClaimTarget::Kind(_) => REAP_BY_KIND,
                    ClaimTarget::Id(_) => REAP_BY_ID,
                };
                let query = sqlx::query(sql).bind(ms(now_ms)).bind(OWNER_GONE);
                let query = match target {
                    ClaimTarget::Kind(kind) => query.bind(kind.as_str()),
                    ClaimTarget::Id(id) => query.bind(id.0.to_string()),
                };
                let query = query.bind(shard::sql_param(self.shard.as_ref()));
                let reaped = query.fetch_all(&self.pool).await.map_err(database)?;
                for row in &reaped {
                    let (id, tenant, status, kind): (i64, String, String, String) =
                        (row.get(0), row.get(1), row.get(2), row.get(3));
                    let kind = JobKind::parse(&kind).ok_or_else(|| rows::corrupt(id, format!("unknown kind `{kind}`")))?;
                    let dead = status == "dead";
                    tracing::warn!(job = %JobId(id), tenant, code = OWNER_GONE, dead,
                        "the job's lease expired unrenewed; its attempt is counted as failed");
                    metrics::counter!(jobs_metrics::JOBS, "kind" => kind.as_str(), "outcome" => OWNER_GONE).increment(1);
                    let metrics_row = MetricsRow {
                        job_id: JobId(id),
                        tenant,
                        kind,
                        outcome: "failed".to_string(),
                        reason_code: Some(OWNER_GONE.to_string()),
                        changes_applied: 0,
                        piece_edited: false,
                        tokens_in: 0,
                        tokens_out: 0,
                        duration_ms: 0,
                        rejections: Default::default(),
                        created_at_ms: now_ms,
                    };
                    self.record_metrics(&metrics_row).await?;
                }
                Ok(())
            }
        }


        /// Fails every expired lease (of `tenant`, or of all tenants the
        /// shard `$4` owns) as [`OWNER_GONE`], spending one retry.
        async fn fail_expired(
            pool: &$pool,
            tenant: Option<&str>,
            shard: Option<String>,
            now_ms: u64,
        ) -> Result<Vec<String>, JobStoreError> {
            let rows = sqlx::query(
                "UPDATE consolidations SET
                     retries_left = CASE WHEN retries_left > 1 THEN retries_left - 1 ELSE 0 END,
                     status = CASE WHEN retries_left - 1 <= 0 THEN 'dead' ELSE 'failed' END,
                     last_error_code = $3, last_error = 'the worker holding the lease stopped renewing it: ' || lease_owner,
                     lease_token = NULL, lease_owner = NULL, lease_expires_ms = NULL, updated_at_ms = $2
                 WHERE lease_token IS NOT NULL AND lease_expires_ms <= $2 AND (CAST($1 AS TEXT) IS NULL OR tenant = $1)
                     AND (CAST($4 AS TEXT) IS NULL OR LENGTH(REPLACE($4, ',' || tenant || ',', '')) < LENGTH($4))
                 RETURNING tenant",
            )
            .bind(tenant)
            .bind(ms(now_ms))
            .bind(OWNER_GONE)
            .bind(shard)
            .fetch_all(pool)
            .await
            .map_err(database)?;
            Ok(rows.iter().map(|row| row.get(0)).collect())
        }

        impl JobStore for $store {
            /// Query behavior: inserts a queued row; with an idempotency key that
            /// already exists, reads that row instead: its id when it was enqueued
            /// for the same request (or before requests were fingerprinted), a
            /// conflict otherwise.
            async fn enqueue_reflection(&self, job: &NewReflection, now_ms: u64) -> Result<Enqueued, JobStoreError> {
                let payload = serde_json::to_string(&job.payload).map_err(|err| JobStoreError::Database(err.to_string()))?;
                let key = job.idempotency_key.as_ref();
                let scoped = key.map(|key| key.scoped());
                let inserted = sqlx::query(
                    "INSERT INTO jobs (kind, tenant, payload, status, retries_left, run_after_ms, idempotency_key, request_sha256,
                         created_at_ms, updated_at_ms)
                     VALUES ($1, $2, $3, 'queued', $4, $5, $6, $7, $5, $5)
                     ON CONFLICT (idempotency_key) DO NOTHING
                     RETURNING id",
                )
                .bind(JobKind::Reflection.as_str())
                .bind(&job.tenant)
                .bind(payload)
                .bind(i64::from(job.max_attempts.max(1)))
                .bind(ms(now_ms))
                .bind(&scoped)
                .bind(key.map(|key| key.request_sha256()))
                .fetch_optional(&self.pool)
                .await
                .map_err(database)?;
                if let Some(row) = inserted {
                    return Ok(Enqueued { id: JobId(row.get(0)), created: true });
                }
                let existing = sqlx::query("SELECT id, request_sha256 FROM jobs WHERE idempotency_key = $1")
                    .bind(&scoped)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(database)?;
                let id = JobId(existing.get(0));
                let fingerprint: Option<String> = existing.get(1);
                match (key, fingerprint) {
                    (Some(key), Some(stored)) if stored != key.request_sha256() => {
                        Err(JobStoreError::IdempotencyConflict { key: key.key().to_string(), id })
                    }
                    _ => Ok(Enqueued { id, created: false }),
                }
            }

            /// Query behavior: one insert of a `running` row with a fresh token and
            /// lease, one attempt counted and no retry left.
            async fn start_direct(
                &self,
                kind: JobKind,
                tenant: &str,
                payload: &str,
                worker: &str,
                lease_ms: u64,
                now_ms: u64,
            ) -> Result<Started, JobStoreError> {
                let token = new_token();
                let row = sqlx::query(
                    "INSERT INTO jobs (kind, tenant, payload, status, attempts, retries_left, run_after_ms, lease_owner,
                         lease_token, lease_expires_ms, created_at_ms, updated_at_ms)
                     VALUES ($1, $2, $3, 'running', 1, 1, $4, $5, $6, $4 + $7, $4, $4)
                     RETURNING id",
                )
                .bind(kind.as_str())
                .bind(tenant)
                .bind(payload)
                .bind(ms(now_ms))
                .bind(worker)
                .bind(&token.0)
                .bind(ms(lease_ms))
                .fetch_one(&self.pool)
                .await
                .map_err(database)?;
                Ok(Started { id: JobId(row.get(0)), token })
            }

            /// Query behavior: one `UPDATE … RETURNING` fails every expired lease of
            /// `kind` as `owner_gone` (one retry spent; dead when none is left; at
            /// most once a second, unless the claim finds nothing), then
            /// one `UPDATE … WHERE id = (SELECT … LIMIT 1) RETURNING` picks the oldest
            /// due queued row, sets a fresh token and lease, and counts the attempt.
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
                         retries_left = CASE WHEN retries_left > $7 THEN retries_left - $7 ELSE 0 END,
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
                let pool = &self.pool;
                let row = sqlx::query(
                    "INSERT INTO consolidations (tenant, input_watermark, status, max_attempts, retries_left, updated_at_ms)
                     VALUES ($1, CASE WHEN $2 > 1 THEN $2 ELSE 1 END, 'idle', $3, $3, $4)
                     ON CONFLICT (tenant) DO UPDATE SET
                         input_watermark = CASE WHEN $2 > consolidations.input_watermark THEN $2
                                                ELSE consolidations.input_watermark + 1 END,
                         max_attempts = $3, retries_left = $3, next_attempt_ms = 0,
                         status = CASE WHEN consolidations.lease_token IS NULL THEN 'idle' ELSE consolidations.status END,
                         updated_at_ms = $4
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

            async fn claim_consolidation(
                &self,
                tenant: &str,
                worker: &str,
                lease_ms: u64,
                now_ms: u64,
            ) -> Result<ConsolidationClaim, JobStoreError> {
                let pool = &self.pool;
                let shard = shard::sql_param(self.shard.as_ref());
                for gone in fail_expired(pool, Some(tenant), shard.clone(), now_ms).await? {
                    tracing::warn!(tenant = %gone, "consolidation lease expired; its attempt is counted as failed");
                }
                let token = new_token();
                let claimed = sqlx::query(
                    "UPDATE consolidations SET
                         status = 'running', lease_owner = $2, lease_token = $3, lease_expires_ms = $4 + $5,
                         claimed_watermark = input_watermark, runs = runs + 1, last_started_ms = $4, updated_at_ms = $4
                     WHERE tenant = $1 AND lease_token IS NULL AND input_watermark > success_watermark
                           AND retries_left > 0 AND next_attempt_ms <= $4
                           AND (CAST($6 AS TEXT) IS NULL OR LENGTH(REPLACE($6, ',' || tenant || ',', '')) < LENGTH($6))
                     RETURNING input_watermark, notes_cursor, runs",
                )
                .bind(tenant)
                .bind(worker)
                .bind(&token.0)
                .bind(ms(now_ms))
                .bind(ms(lease_ms))
                .bind(shard)
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
                let live = sqlx::query("SELECT 1 FROM consolidations WHERE tenant = $1 AND lease_token IS NOT NULL")
                    .bind(tenant)
                    .fetch_optional(pool)
                    .await
                    .map_err(database)?;
                Ok(if live.is_some() { ConsolidationClaim::SkippedRunning } else { ConsolidationClaim::SkippedNotDirty })
            }

            async fn heartbeat_consolidation(
                &self,
                tenant: &str,
                token: &LeaseToken,
                lease_ms: u64,
                now_ms: u64,
            ) -> Result<bool, JobStoreError> {
                let pool = &self.pool;
                let result = sqlx::query(
                    "UPDATE consolidations SET lease_expires_ms = $3 + $4, updated_at_ms = $3
                     WHERE tenant = $1 AND lease_token = $2",
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

            async fn succeed_consolidation(
                &self,
                tenant: &str,
                token: &LeaseToken,
                watermark: u64,
                notes_cursor: u64,
                now_ms: u64,
            ) -> Result<bool, JobStoreError> {
                let pool = &self.pool;
                let result = sqlx::query(
                    "UPDATE consolidations SET
                         success_watermark = CASE WHEN $3 > success_watermark THEN $3 ELSE success_watermark END, notes_cursor = CASE WHEN $4 > notes_cursor THEN $4 ELSE notes_cursor END,
                         status = 'idle', retries_left = max_attempts, next_attempt_ms = 0,
                         last_error_code = NULL, last_error = NULL, last_succeeded_ms = $5,
                         lease_token = NULL, lease_owner = NULL, lease_expires_ms = NULL, updated_at_ms = $5
                     WHERE tenant = $1 AND lease_token = $2",
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

            async fn fail_consolidation(
                &self,
                tenant: &str,
                token: &LeaseToken,
                code: &str,
                message: &str,
                retry_delay_ms: Option<u64>,
                now_ms: u64,
            ) -> Result<FailOutcome, JobStoreError> {
                let pool = &self.pool;
                // No delay means no retry: spend every retry left at once.
                let spend: i64 = if retry_delay_ms.is_some() { 1 } else { i64::from(u32::MAX) };
                let row = sqlx::query(
                    "UPDATE consolidations SET
                         retries_left = CASE WHEN retries_left > $7 THEN retries_left - $7 ELSE 0 END,
                         status = CASE WHEN retries_left - $7 <= 0 THEN 'dead' ELSE 'failed' END,
                         next_attempt_ms = $5 + $6, last_error_code = $3, last_error = $4,
                         lease_token = NULL, lease_owner = NULL, lease_expires_ms = NULL, updated_at_ms = $5
                     WHERE tenant = $1 AND lease_token = $2
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

            async fn fail_abandoned_consolidations(&self, now_ms: u64) -> Result<Vec<String>, JobStoreError> {
                let pool = &self.pool;
                fail_expired(pool, None, shard::sql_param(self.shard.as_ref()), now_ms).await
            }

            async fn due_consolidations(
                &self,
                min_interval_ms: u64,
                limit: u32,
                now_ms: u64,
            ) -> Result<Vec<String>, JobStoreError> {
                let pool = &self.pool;
                let rows = sqlx::query(
                    "SELECT tenant FROM consolidations
                     WHERE input_watermark > success_watermark AND retries_left > 0 AND next_attempt_ms <= $1
                           AND (lease_token IS NULL OR lease_expires_ms <= $1)
                           AND COALESCE(last_started_ms, 0) + $2 <= $1
                           AND (CAST($4 AS TEXT) IS NULL OR LENGTH(REPLACE($4, ',' || tenant || ',', '')) < LENGTH($4))
                     ORDER BY COALESCE(last_started_ms, 0), tenant LIMIT $3",
                )
                .bind(ms(now_ms))
                .bind(ms(min_interval_ms))
                .bind(i64::from(limit))
                .bind(shard::sql_param(self.shard.as_ref()))
                .fetch_all(pool)
                .await
                .map_err(database)?;
                Ok(rows.iter().map(|row| row.get(0)).collect())
            }

            async fn consolidation(&self, tenant: &str) -> Result<Option<ConsolidationState>, JobStoreError> {
                let pool = &self.pool;
                let row = sqlx::query(
                    "SELECT tenant, input_watermark, success_watermark, status, retries_left, next_attempt_ms, runs, lease_owner,
                         last_error_code, last_error, last_succeeded_ms
                     FROM consolidations WHERE tenant = $1",
                )
                .bind(tenant)
                .fetch_optional(pool)
                .await
                .map_err(database)?;
                Ok(row.as_ref().map(rows::consolidation_state))
            }

            /// Query behavior: counts the shard's reflection rows that will run:
            /// queued, or with an expired lease that leaves a retry once it is
            /// spent.
            async fn queue_depth(&self, now_ms: u64) -> Result<u64, JobStoreError> {
                let row = sqlx::query(
                    "SELECT COUNT(*) FROM jobs WHERE kind = 'reflection'
                         AND (status = 'queued' OR (status = 'running' AND lease_expires_ms <= $1 AND retries_left > 1))
                         AND (CAST($2 AS TEXT) IS NULL OR LENGTH(REPLACE($2, ',' || tenant || ',', '')) < LENGTH($2))",
                )
                .bind(ms(now_ms))
                .bind(shard::sql_param(self.shard.as_ref()))
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
                role: crate::KeyRole,
                label: Option<&str>,
                now_ms: u64,
            ) -> Result<i64, JobStoreError> {
                let row = sqlx::query(
                    "INSERT INTO api_keys (tenant, key_sha256, role, label, created_at_ms) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(tenant)
                .bind(key_sha256)
                .bind(role.as_str())
                .bind(label)
                .bind(ms(now_ms))
                .fetch_one(&self.pool)
                .await
                .map_err(database)?;
                Ok(row.get(0))
            }

            /// Query behavior: one lookup by the unique hash.
            async fn api_key(&self, key_sha256: &str) -> Result<Option<crate::ApiKey>, JobStoreError> {
                let row = sqlx::query("SELECT tenant, role, label FROM api_keys WHERE key_sha256 = $1")
                    .bind(key_sha256)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(database)?;
                let Some(row) = row else { return Ok(None) };
                let role: String = row.get(1);
                let role = crate::KeyRole::parse(&role)
                    .ok_or_else(|| JobStoreError::Database(format!("an API key has the unknown role `{role}`")))?;
                Ok(Some(crate::ApiKey { tenant: row.get(0), role, label: row.get(2) }))
            }

            async fn lock_tenant(&self, tenant: &str) -> Result<TenantDbLock, JobStoreError> {
                self.hold_tenant_lock(tenant).await
            }
        }
    };
}
pub(super) use claim_sql;
pub(super) use job_store_impl;
pub(super) use reap_sql;
