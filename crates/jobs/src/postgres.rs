//! The PostgreSQL job store, for many workers on many hosts: claims take
//! the oldest due row with `FOR UPDATE SKIP LOCKED`, so concurrent claimers
//! skip each other's rows instead of waiting or colliding; the consolidation
//! claim is the same three statements as SQLite's, each atomic under
//! PostgreSQL's row locks. Migrations are embedded in the binary.
//! The queries are shared with SQLite (see `sql.rs`).

use std::str::FromStr;

use sqlx::Row;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use super::{JobStoreError, Shard, TenantDbLock};

/// A job store in a PostgreSQL database.
#[derive(Clone)]
pub struct PgJobStore {
    pool: PgPool,
    /// Sessions that hold tenant locks. Apart from `pool`, so lock holders
    /// waiting for a query connection can never starve each other.
    locks: PgPool,
    /// The tenants this store claims for; `None` for all.
    shard: Option<Shard>,
    /// When its claims last reaped expired leases.
    reaped: crate::sql::ReapClock,
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
        Ok(PgJobStore { pool, locks, shard: None, reaped: Default::default() })
    }

    /// Connects to `url` for reading only: every transaction is read-only
    /// and the schema is left as it is.
    pub async fn open_read_only(url: &str) -> Result<PgJobStore, JobStoreError> {
        let options =
            PgConnectOptions::from_str(url).map_err(database)?.options([("default_transaction_read_only", "on")]);
        let pool = PgPoolOptions::new().max_connections(2).connect_with(options.clone()).await.map_err(database)?;
        let locks = PgPoolOptions::new().max_connections(1).min_connections(0).connect_lazy_with(options);
        Ok(PgJobStore { pool, locks, shard: None, reaped: Default::default() })
    }

    /// This store, claiming only the jobs of `shard`'s tenants.
    pub fn with_shard(self, shard: Option<Shard>) -> PgJobStore {
        PgJobStore { shard, ..self }
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> Result<(), JobStoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ()).map_err(database)
    }

    /// A session advisory lock keyed by a hash of the tenant, on a
    /// connection of the lock pool held until the guard drops.
    async fn hold_tenant_lock(&self, tenant: &str) -> Result<TenantDbLock, JobStoreError> {
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

fn database(err: sqlx::Error) -> JobStoreError {
    let message = err.to_string();
    match err.as_database_error().and_then(|db| db.code()).as_deref() {
        // serialization_failure, deadlock_detected, lock_not_available.
        Some("40001") | Some("40P01") | Some("55P03") => JobStoreError::Busy(message),
        _ => JobStoreError::Database(message),
    }
}

mod queries {
    use super::{PgJobStore, database};

    // Concurrent claimers skip each other's rows instead of waiting on them.
    crate::sql::job_store_impl!(PgJobStore, sqlx::postgres::PgPool, "FOR UPDATE SKIP LOCKED");
}

mod review_queries {
    use super::{PgJobStore, database};

    crate::reviews::review_queue_impl!(PgJobStore, sqlx::postgres::PgRow);
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

mod decision_queries {
    use super::{PgJobStore, database};

    crate::decisions::decision_log_impl!(PgJobStore);
}
