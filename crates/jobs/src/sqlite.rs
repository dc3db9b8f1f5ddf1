//! The SQLite job store: one file, WAL mode, a busy timeout, migrations
//! embedded in the binary. A claim is a single `UPDATE … RETURNING`, which
//! SQLite runs under its write lock, so two workers never claim one job.
//! The queries are shared with PostgreSQL (see `sql.rs`).

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use super::{JobStoreError, Shard, TenantDbLock};

/// How long a writer waits for SQLite's lock before reporting busy.
const BUSY_TIMEOUT_SECONDS: u64 = 10;

/// A job store in one SQLite file.
#[derive(Clone)]
pub struct SqliteJobStore {
    pool: SqlitePool,
    /// The tenants this store claims for; `None` for all.
    shard: Option<Shard>,
    /// When its claims last reaped expired leases.
    reaped: crate::sql::ReapClock,
}

impl SqliteJobStore {
    /// Opens (creating) the database at `url` (`sqlite://path` or a plain
    /// path), and the directory it lives in, and brings its schema up to
    /// date: `tenant add-key` may run before anything else made the data
    /// directory (issue 9).
    pub async fn open(url: &str) -> Result<SqliteJobStore, JobStoreError> {
        let url = if url.starts_with("sqlite:") { url.to_string() } else { format!("sqlite://{url}") };
        let options = SqliteConnectOptions::from_str(&url).map_err(database)?;
        // An in-memory database is named `file:sqlx-in-memory-N`: no parent.
        if let Some(dir) = options.get_filename().parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|err| {
                JobStoreError::Database(format!("cannot create `{}` for the job database: {err}", dir.display()))
            })?;
        }
        let options = options
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(BUSY_TIMEOUT_SECONDS));
        // Readers run beside the one writer in WAL mode. A connection to a
        // local file cannot be hung up on, so it is not pinged before each
        // use: that ping is a round trip to the connection's thread, as
        // costly as the statement itself.
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(database)?;
        sqlx::migrate!("./migrations/sqlite")
            .run(&pool)
            .await
            .map_err(|err| JobStoreError::Database(err.to_string()))?;
        Ok(SqliteJobStore { pool, shard: None, reaped: Default::default() })
    }

    /// Opens the existing database at `url` for reading only: no file,
    /// directory or schema change, so a replay leaves it byte for byte as
    /// it was.
    pub async fn open_read_only(url: &str) -> Result<SqliteJobStore, JobStoreError> {
        let url = if url.starts_with("sqlite:") { url.to_string() } else { format!("sqlite://{url}") };
        let options = SqliteConnectOptions::from_str(&url)
            .map_err(database)?
            .read_only(true)
            .busy_timeout(Duration::from_secs(BUSY_TIMEOUT_SECONDS));
        let pool = SqlitePoolOptions::new().max_connections(2).connect_with(options).await.map_err(database)?;
        Ok(SqliteJobStore { pool, shard: None, reaped: Default::default() })
    }

    /// This store, claiming only the jobs of `shard`'s tenants.
    pub fn with_shard(self, shard: Option<Shard>) -> SqliteJobStore {
        SqliteJobStore { shard, ..self }
    }

    /// One host: the tenant store's file lock is the lock.
    async fn hold_tenant_lock(&self, _tenant: &str) -> Result<TenantDbLock, JobStoreError> {
        Ok(TenantDbLock::none())
    }
}

fn database(err: sqlx::Error) -> JobStoreError {
    let message = err.to_string();
    match err.as_database_error().and_then(|db| db.code()).as_deref() {
        // SQLITE_BUSY and SQLITE_LOCKED, after the busy timeout.
        Some("5") | Some("6") => JobStoreError::Busy(message),
        _ => JobStoreError::Database(message),
    }
}

mod queries {
    use super::{SqliteJobStore, database};

    // SQLite runs one writer at a time: a claim needs no row lock.
    crate::sql::job_store_impl!(SqliteJobStore, sqlx::sqlite::SqlitePool, "");
}

mod review_queries {
    use super::{SqliteJobStore, database};

    crate::reviews::review_queue_impl!(SqliteJobStore, sqlx::sqlite::SqliteRow);
}

mod decision_queries {
    use super::{SqliteJobStore, database};

    crate::decisions::decision_log_impl!(SqliteJobStore);
}
