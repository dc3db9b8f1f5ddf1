//! The job store a URL names: `sqlite://…` (or a plain path) for one
//! machine, `postgres://…` for many hosts sharing one database.

use super::{
    Claim, ConsolidationClaim, ConsolidationState, Enqueued, FailOutcome, JobId, JobKind, JobOutcome, JobStatus,
    JobStore, JobStoreError, LeaseToken, MetricsRow, NewReflection, PgJobStore, Shard, SqliteJobStore, Started,
    TenantDbLock,
};

/// Either backend, chosen at start from the configured URL.
#[derive(Clone)]
pub enum AnyJobStore {
    /// One SQLite file.
    Sqlite(SqliteJobStore),
    /// A PostgreSQL database.
    Postgres(PgJobStore),
}

impl AnyJobStore {
    /// Opens the store `url` names.
    pub async fn open(url: &str) -> Result<AnyJobStore, JobStoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return PgJobStore::open(url).await.map(AnyJobStore::Postgres);
        }
        if url.contains("://") && !url.starts_with("sqlite://") {
            return Err(JobStoreError::Database(format!(
                "unsupported database URL `{url}`: use sqlite://PATH or postgres://…"
            )));
        }
        SqliteJobStore::open(url).await.map(AnyJobStore::Sqlite)
    }

    /// Opens the store `url` names for reading only (replays and
    /// verifications): nothing in it changes, not even its schema.
    pub async fn open_read_only(url: &str) -> Result<AnyJobStore, JobStoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return PgJobStore::open_read_only(url).await.map(AnyJobStore::Postgres);
        }
        if url.contains("://") && !url.starts_with("sqlite://") {
            return Err(JobStoreError::Database(format!(
                "unsupported database URL `{url}`: use sqlite://PATH or postgres://…"
            )));
        }
        SqliteJobStore::open_read_only(url).await.map(AnyJobStore::Sqlite)
    }

    /// This store, claiming only the jobs of `shard`'s tenants (issue 9,
    /// item 3); `None` claims for every tenant.
    pub fn with_shard(self, shard: Option<Shard>) -> AnyJobStore {
        match self {
            AnyJobStore::Sqlite(store) => AnyJobStore::Sqlite(store.with_shard(shard)),
            AnyJobStore::Postgres(store) => AnyJobStore::Postgres(store.with_shard(shard)),
        }
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            AnyJobStore::Sqlite(_) => "sqlite",
            AnyJobStore::Postgres(_) => "postgres",
        }
    }
}

/// Calls the same method on whichever backend this is.
macro_rules! delegate {
    ($self:ident.$method:ident($($arg:expr),*)) => {
        match $self {
            AnyJobStore::Sqlite(store) => store.$method($($arg),*).await,
            AnyJobStore::Postgres(store) => store.$method($($arg),*).await,
        }
    };
}

impl JobStore for AnyJobStore {
    async fn enqueue_reflection(&self, job: &NewReflection, now_ms: u64) -> Result<Enqueued, JobStoreError> {
        delegate!(self.enqueue_reflection(job, now_ms))
    }

    async fn start_direct(
        &self,
        kind: JobKind,
        tenant: &str,
        payload: &str,
        worker: &str,
        lease_ms: u64,
        now_ms: u64,
    ) -> Result<Started, JobStoreError> {
        delegate!(self.start_direct(kind, tenant, payload, worker, lease_ms, now_ms))
    }

    async fn claim(
        &self,
        kind: JobKind,
        worker: &str,
        lease_ms: u64,
        now_ms: u64,
    ) -> Result<Option<Claim>, JobStoreError> {
        delegate!(self.claim(kind, worker, lease_ms, now_ms))
    }

    async fn claim_id(
        &self,
        id: JobId,
        worker: &str,
        lease_ms: u64,
        now_ms: u64,
    ) -> Result<Option<Claim>, JobStoreError> {
        delegate!(self.claim_id(id, worker, lease_ms, now_ms))
    }

    async fn heartbeat(
        &self,
        id: JobId,
        token: &LeaseToken,
        lease_ms: u64,
        now_ms: u64,
    ) -> Result<bool, JobStoreError> {
        delegate!(self.heartbeat(id, token, lease_ms, now_ms))
    }

    async fn record(&self, id: JobId, token: &LeaseToken, recorded: &str, now_ms: u64) -> Result<bool, JobStoreError> {
        delegate!(self.record(id, token, recorded, now_ms))
    }

    async fn succeed(
        &self,
        id: JobId,
        token: &LeaseToken,
        outcome: JobOutcome,
        snapshot_id: Option<&str>,
        now_ms: u64,
    ) -> Result<bool, JobStoreError> {
        delegate!(self.succeed(id, token, outcome, snapshot_id, now_ms))
    }

    async fn fail(
        &self,
        id: JobId,
        token: &LeaseToken,
        code: &str,
        message: &str,
        retry_delay_ms: Option<u64>,
        now_ms: u64,
    ) -> Result<FailOutcome, JobStoreError> {
        delegate!(self.fail(id, token, code, message, retry_delay_ms, now_ms))
    }

    async fn record_metrics(&self, row: &MetricsRow) -> Result<(), JobStoreError> {
        delegate!(self.record_metrics(row))
    }

    async fn job(&self, id: JobId) -> Result<Option<JobStatus>, JobStoreError> {
        delegate!(self.job(id))
    }

    async fn metrics(&self, tenant: &str) -> Result<Vec<MetricsRow>, JobStoreError> {
        delegate!(self.metrics(tenant))
    }

    async fn enqueue_consolidation(
        &self,
        tenant: &str,
        watermark: u64,
        max_attempts: u32,
        now_ms: u64,
    ) -> Result<u64, JobStoreError> {
        delegate!(self.enqueue_consolidation(tenant, watermark, max_attempts, now_ms))
    }

    async fn claim_consolidation(
        &self,
        tenant: &str,
        worker: &str,
        lease_ms: u64,
        now_ms: u64,
    ) -> Result<ConsolidationClaim, JobStoreError> {
        delegate!(self.claim_consolidation(tenant, worker, lease_ms, now_ms))
    }

    async fn heartbeat_consolidation(
        &self,
        tenant: &str,
        token: &LeaseToken,
        lease_ms: u64,
        now_ms: u64,
    ) -> Result<bool, JobStoreError> {
        delegate!(self.heartbeat_consolidation(tenant, token, lease_ms, now_ms))
    }

    async fn succeed_consolidation(
        &self,
        tenant: &str,
        token: &LeaseToken,
        watermark: u64,
        notes_cursor: u64,
        now_ms: u64,
    ) -> Result<bool, JobStoreError> {
        delegate!(self.succeed_consolidation(tenant, token, watermark, notes_cursor, now_ms))
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
        delegate!(self.fail_consolidation(tenant, token, code, message, retry_delay_ms, now_ms))
    }

    async fn fail_abandoned_consolidations(&self, now_ms: u64) -> Result<Vec<String>, JobStoreError> {
        delegate!(self.fail_abandoned_consolidations(now_ms))
    }

    async fn due_consolidations(
        &self,
        min_interval_ms: u64,
        limit: u32,
        now_ms: u64,
    ) -> Result<Vec<String>, JobStoreError> {
        delegate!(self.due_consolidations(min_interval_ms, limit, now_ms))
    }

    async fn consolidation(&self, tenant: &str) -> Result<Option<ConsolidationState>, JobStoreError> {
        delegate!(self.consolidation(tenant))
    }

    async fn queue_depth(&self, now_ms: u64) -> Result<u64, JobStoreError> {
        delegate!(self.queue_depth(now_ms))
    }

    async fn add_api_key(
        &self,
        tenant: &str,
        key_sha256: &str,
        role: crate::KeyRole,
        label: Option<&str>,
        now_ms: u64,
    ) -> Result<i64, JobStoreError> {
        delegate!(self.add_api_key(tenant, key_sha256, role, label, now_ms))
    }

    async fn api_key(&self, key_sha256: &str) -> Result<Option<crate::ApiKey>, JobStoreError> {
        delegate!(self.api_key(key_sha256))
    }

    async fn lock_tenant(&self, tenant: &str) -> Result<TenantDbLock, JobStoreError> {
        delegate!(self.lock_tenant(tenant))
    }
}

impl crate::ReviewQueue for AnyJobStore {
    async fn add_reviews(&self, reviews: &[crate::NewReview]) -> Result<Vec<crate::ReviewId>, JobStoreError> {
        delegate!(self.add_reviews(reviews))
    }

    async fn reviews(
        &self,
        tenant: &str,
        status: Option<crate::ReviewStatus>,
    ) -> Result<Vec<crate::Review>, JobStoreError> {
        delegate!(self.reviews(tenant, status))
    }

    async fn review(&self, id: crate::ReviewId) -> Result<Option<crate::Review>, JobStoreError> {
        delegate!(self.review(id))
    }

    async fn resolve_review(
        &self,
        id: crate::ReviewId,
        resolution: &crate::Resolution<'_>,
    ) -> Result<bool, JobStoreError> {
        delegate!(self.resolve_review(id, resolution))
    }

    async fn expire_reviews(&self, now_ms: u64) -> Result<Vec<String>, JobStoreError> {
        delegate!(self.expire_reviews(now_ms))
    }

    async fn pending_reviews(&self) -> Result<Vec<(String, u64)>, JobStoreError> {
        delegate!(self.pending_reviews())
    }
}

impl crate::DecisionLog for AnyJobStore {
    async fn decided_jobs(&self, filter: &crate::DecisionFilter) -> Result<Vec<crate::DecidedJob>, JobStoreError> {
        delegate!(self.decided_jobs(filter))
    }
}
