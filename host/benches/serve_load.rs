//! Load test of `memwarden serve` on loopback, bounded and self-stopping:
//! the real router and worker in this process, real HTTP clients, a real
//! SQLite file or PostgreSQL schema, and a loopback OpenAI-compatible LLM.
//!
//! 1. Enqueue throughput: POST reflections from 32 concurrent clients.
//! 2. End to end: jobs/s from the first enqueue to the last outcome, with a
//!    zero-latency LLM.
//! 3. LLM-bound: 64 concurrent jobs against a 500 ms LLM; the ideal is
//!    64 / 0.5 s = 128 jobs/s.
//!
//! Targets: ≥ 1,000 enqueues/s; LLM-bound throughput within 20 % of
//! concurrency ÷ latency. PostgreSQL runs when `MEMWARDEN_TEST_POSTGRES_URL`
//! is set. Run with `cargo bench --bench serve_load`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use memwarden::config::RawConfig;
use memwarden::reflection::ReportOutcome;
use memwarden::serve::{self, Api};
use memwarden::worker;
use serde_json::{Value, json};
use sqlx::Connection;

const ENQUEUES: usize = 4000;
const TENANTS: usize = 50;
const ADMIN: &str = "bench-admin";

fn main() {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap_or_else(|err| panic!("runtime: {err}"));
    runtime.block_on(async {
        let _ = rustls::crypto::ring::default_provider().install_default();
        println!(
            "serve load: loopback HTTP, default pack, {} cores",
            std::thread::available_parallelism().map_or(1, |n| n.get())
        );
        println!("{:<12} {:>13} {:>16} {:>26}", "store", "enqueues/s", "jobs/s (0 ms)", "jobs/s (500 ms, 64 conc.)");
        let mut backends = vec![("sqlite", None)];
        if let Ok(url) = std::env::var("MEMWARDEN_TEST_POSTGRES_URL") {
            backends.push(("postgres", Some(url)));
        }
        for (name, postgres) in backends {
            let enqueues = enqueue_rate(postgres.as_deref()).await;
            eprintln!("{name}: {enqueues:.0} enqueues/s");
            let fast = end_to_end(postgres.as_deref(), Duration::ZERO, 4, 1000).await;
            eprintln!("{name}: {fast:.0} jobs/s with a zero-latency LLM");
            let slow = end_to_end(postgres.as_deref(), Duration::from_millis(500), 64, 640).await;
            println!("{name:<12} {enqueues:>13.0} {fast:>16.0} {slow:>16.1} (ideal 128)");
        }
    });
}

/// A data dir, a store (a fresh PostgreSQL schema when `postgres` is set),
/// and the API with a worker of `concurrency` over an LLM `latency` away.
struct Rig {
    _dir: tempfile::TempDir,
    base: String,
    /// Reflection attempts finished with an outcome.
    finished: Arc<AtomicUsize>,
    stop: tokio::sync::watch::Sender<bool>,
    schema: Option<(String, String)>,
}

async fn rig(postgres: Option<&str>, latency: Duration, concurrency: usize, workers: bool) -> Rig {
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("tempdir: {err}"));
    let llm = serve_llm(latency).await;
    let mut schema = None;
    let database = match postgres {
        Some(url) => {
            let name = format!("mw_bench_{}", fastrand::u64(..));
            let mut conn = sqlx::PgConnection::connect(url).await.unwrap_or_else(|err| panic!("postgres: {err}"));
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {name}")))
                .execute(&mut conn)
                .await
                .unwrap_or_else(|err| panic!("schema: {err}"));
            let separator = if url.contains('?') { '&' } else { '?' };
            schema = Some((url.to_string(), name.clone()));
            format!("{url}{separator}options=-c%20search_path%3D{name}")
        }
        None => format!("sqlite://{}/jobs.db", dir.path().display()),
    };
    let yaml = format!(
        "data_dir: {}\ndatabase: \"{database}\"\nllm: {{base_url: \"{llm}\", api_key_env: MEMWARDEN_BENCH_NO_KEY, timeout_seconds: 30}}\nworker: {{poll_millis: 10, lease_seconds: 60}}\nconsolidation: {{enabled: false}}\ndata_dir_shared: true\n",
        dir.path().join("data").display()
    );
    let config: RawConfig = serde_norway::from_str(&yaml).unwrap_or_else(|err| panic!("config: {err}"));
    let reflector = config.resolve().await.unwrap_or_else(|err| panic!("resolve: {err:#}"));
    let consolidator = Arc::new(config.consolidator(&reflector));
    let api = Arc::new(Api {
        reflector: Arc::new(reflector),
        consolidator,
        admin_key_sha256: Some(serve::key_sha256(ADMIN)),
        prometheus: None,
        max_attempts: 3,
        consolidation_attempts: 3,
        max_body_bytes: 1 << 20,
        shard: None,
        gate: config.serve.gate(),
        http: config.serve.http_limits(),
        mcp: config.mcp_settings(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|err| panic!("bind: {err}"));
    let base = format!("http://{}", listener.local_addr().unwrap_or_else(|err| panic!("addr: {err}")));
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let options = workers.then(|| worker::Options {
        concurrency,
        poll: Duration::from_millis(10),
        drain: false,
        consolidation: None,
    });
    let finished = Arc::new(AtomicUsize::new(0));
    let counter = finished.clone();
    let on_finished = Arc::new(move |done: worker::Finished<'_>| {
        if let worker::Finished::Reflection(report) = done {
            assert!(report.outcome == ReportOutcome::Succeeded, "{:?}", report.outcome);
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });
    tokio::spawn(serve::run(api, listener, options, stop_rx, on_finished));
    Rig { _dir: dir, base, finished, stop, schema }
}

impl Rig {
    async fn finish(self) {
        let _ = self.stop.send(true);
        if let Some((url, name)) = &self.schema
            && let Ok(mut conn) = sqlx::PgConnection::connect(url).await
        {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {name} CASCADE"))).execute(&mut conn).await;
        }
    }
}

/// POSTs `count` reflections from 32 clients; returns the job ids.
async fn enqueue(base: &str, count: usize) -> Vec<i64> {
    let http = reqwest::Client::new();
    let next = Arc::new(AtomicUsize::new(0));
    let mut lanes = tokio::task::JoinSet::new();
    for _ in 0..32 {
        let (http, next, base) = (http.clone(), next.clone(), base.to_string());
        lanes.spawn(async move {
            let mut ids = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= count {
                    return ids;
                }
                let body = json!({"piece": "research", "outcome": "succeeded", "activity_log": format!("run {n}")});
                let response = http
                    .post(format!("{base}/v1/tenants/tenant-{}/reflections", n % TENANTS))
                    .bearer_auth(ADMIN)
                    .json(&body)
                    .send()
                    .await
                    .unwrap_or_else(|err| panic!("enqueue: {err}"));
                assert!(response.status().is_success(), "enqueue answered {}", response.status());
                let answer: Value = response.json().await.unwrap_or_else(|err| panic!("answer: {err}"));
                ids.push(answer["job_id"].as_i64().unwrap_or_default());
            }
        });
    }
    let mut ids = Vec::new();
    while let Some(lane) = lanes.join_next().await {
        ids.extend(lane.unwrap_or_else(|err| panic!("lane: {err}")));
    }
    ids
}

async fn enqueue_rate(postgres: Option<&str>) -> f64 {
    let rig = rig(postgres, Duration::ZERO, 1, false).await;
    let started = Instant::now();
    let ids = enqueue(&rig.base, ENQUEUES).await;
    let rate = ids.len() as f64 / started.elapsed().as_secs_f64();
    rig.finish().await;
    rate
}

/// Jobs per second from the first enqueue to the last outcome.
async fn end_to_end(postgres: Option<&str>, latency: Duration, concurrency: usize, jobs: usize) -> f64 {
    let rig = rig(postgres, latency, concurrency, true).await;
    let started = Instant::now();
    enqueue(&rig.base, jobs).await;
    let deadline = Instant::now() + Duration::from_secs(600);
    while rig.finished.load(Ordering::Relaxed) < jobs {
        assert!(Instant::now() < deadline, "only {} of {jobs} jobs finished", rig.finished.load(Ordering::Relaxed));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rate = jobs as f64 / started.elapsed().as_secs_f64();
    rig.finish().await;
    rate
}

/// A loopback OpenAI-compatible server answering after `latency` with a
/// proposal that adds one new entry.
async fn serve_llm(latency: Duration) -> String {
    let state = Arc::new((AtomicUsize::new(0), latency));
    let app = axum::Router::new().route("/v1/chat/completions", axum::routing::post(answer)).with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|err| panic!("bind: {err}"));
    let addr = listener.local_addr().unwrap_or_else(|err| panic!("addr: {err}"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/v1")
}

async fn answer(State(state): State<Arc<(AtomicUsize, Duration)>>, Json(_request): Json<Value>) -> Json<Value> {
    let n = state.0.fetch_add(1, Ordering::Relaxed);
    tokio::time::sleep(state.1).await;
    let proposal = json!({
        "reasoning": "the run found a fact",
        "memory_changes": [{"op": "add", "name": format!("fact-{n}"), "type": "project", "description": format!("Fact {n}"),
            "body": format!("Service {n} listens on port {} and logs to /var/log/svc{n}; owner team-{}.", 8000 + n, n % 7)}],
    });
    Json(json!({
        "model": "loopback",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": proposal.to_string()}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 900, "completion_tokens": 80},
    }))
}
