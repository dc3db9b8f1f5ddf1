//! Shared helpers: the real binary with an isolated module cache, a fresh
//! temp dir per test, and one policy engine per test process.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use memwarden::policy::{ContextFile, PolicyEngine, Proposal, RulePack};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("host/ has a parent").to_path_buf()
}

/// A compiled-module cache shared by every test of this run, so components
/// compile once per run rather than once per test.
pub fn cache_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("module-cache")
}

/// The `memwarden` binary, with the shared cache and quiet logs.
pub fn memwarden() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_memwarden"));
    command.env("MEMWARDEN_CACHE_DIR", cache_dir()).env_remove("RUST_LOG");
    command
}

/// Runs `command`, returning its output with stdout and stderr as text.
pub fn run(command: &mut Command) -> (Output, String, String) {
    let output = command.output().expect("the binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stdout, stderr)
}

/// One engine for every library-level test of this process.
pub fn engine() -> &'static PolicyEngine {
    static ENGINE: OnceLock<PolicyEngine> = OnceLock::new();
    ENGINE
        .get_or_init(|| PolicyEngine::with_options(Default::default(), Some(&cache_dir())).expect("the engine starts"))
}

/// The built default pack, loaded once.
pub fn default_pack() -> &'static RulePack {
    static PACK: OnceLock<RulePack> = OnceLock::new();
    PACK.get_or_init(|| RulePack::load(engine(), "default").expect("the default pack loads"))
}

/// The hostile test module's component file.
pub fn hostile_module() -> &'static str {
    memwarden::policy::test_modules::HOSTILE
}

pub fn proposal(json: &str) -> Proposal {
    Proposal::from_json(json).expect("test proposal parses")
}

pub fn context(yaml: &str) -> ContextFile {
    serde_norway::from_str(yaml).expect("test context parses")
}

/// A fresh temp dir, removed when dropped.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// PostgreSQL for the tests that need it: the URL comes from
/// `MEMWARDEN_TEST_POSTGRES_URL`; each test gets a schema of its own,
/// dropped when the test ends.
pub mod postgres {
    use std::str::FromStr;

    use sqlx::Connection;
    use sqlx::postgres::{PgConnectOptions, PgConnection};

    /// The variable naming the test database.
    pub const URL_ENV: &str = "MEMWARDEN_TEST_POSTGRES_URL";

    /// A test's schema; dropped with it.
    pub struct Schema {
        url: String,
        name: String,
    }

    impl Schema {
        /// A URL whose sessions put this schema first on the search path,
        /// for processes that take a URL.
        pub fn url(&self) -> String {
            let separator = if self.url.contains('?') { '&' } else { '?' };
            format!("{}{separator}options=-c%20search_path%3D{}", self.url, self.name)
        }
    }

    impl Drop for Schema {
        fn drop(&mut self) {
            let (url, name) = (self.url.clone(), self.name.clone());
            // Drop runs inside the test's runtime; a runtime of its own on
            // another thread can still block on the connection.
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                runtime.block_on(async {
                    if let Ok(mut conn) = PgConnection::connect(&url).await {
                        let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA IF EXISTS {name} CASCADE")))
                            .execute(&mut conn)
                            .await;
                    }
                });
            })
            .join();
        }
    }

    /// A fresh schema and connect options that put it first on the search
    /// path; `None` (after saying so) when no test database is configured.
    pub async fn fresh_schema() -> Option<(Schema, PgConnectOptions)> {
        let Ok(url) = std::env::var(URL_ENV) else {
            eprintln!("skipped: {URL_ENV} is not set, so this PostgreSQL test did not run");
            return None;
        };
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).expect("random");
        let name = format!("mw_test_{}", hex::encode(bytes));
        let mut conn = PgConnection::connect(&url).await.unwrap_or_else(|err| panic!("{URL_ENV}={url}: {err}"));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
            .execute(&mut conn)
            .await
            .expect("create schema");
        let options =
            PgConnectOptions::from_str(&url).expect("a PostgreSQL URL").options([("search_path", name.as_str())]);
        Some((Schema { url, name }, options))
    }
}
