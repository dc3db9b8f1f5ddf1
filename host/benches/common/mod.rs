//! What the flow benchmarks share: a loopback LLM that answers at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Json;
use axum::extract::State;
use memwarden::jobs::{JobKind, JobStore, NewReflection, ReflectionPayload, SqliteJobStore};
use memwarden::llm::{LlmClient, OpenAiClient, OpenAiConfig};
use memwarden::policy::RunOutcome;
use memwarden::reflection::{Reflector, Report, now_ms};
use serde_json::{Value, json};

/// Queues `jobs` reflections, spread round-robin over `tenants` tenants.
pub async fn enqueue(reflector: &Reflector<SqliteJobStore>, jobs: usize, tenants: usize) {
    for i in 0..jobs {
        let job = NewReflection {
            tenant: format!("tenant-{}", i % tenants),
            payload: ReflectionPayload {
                piece: "research".into(),
                outcome: RunOutcome::Succeeded,
                activity_log: format!("run {i}: answered a question about service {i}"),
                source_run: None,
            },
            idempotency_key: None,
            max_attempts: 3,
        };
        reflector.jobs.enqueue_reflection(&job, now_ms()).await.unwrap_or_else(|err| panic!("enqueue: {err}"));
    }
}

/// Runs every queued reflection on `concurrency` workers; their reports.
pub async fn drain(reflector: &Arc<Reflector<SqliteJobStore>>, concurrency: usize) -> Vec<Report> {
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let reflector = reflector.clone();
            tokio::spawn(async move {
                let mut reports = Vec::new();
                while let Some(claim) = reflector
                    .jobs
                    .claim(JobKind::Reflection, "bench", 60_000, now_ms())
                    .await
                    .unwrap_or_else(|err| panic!("claim: {err}"))
                {
                    reports.push(reflector.run(claim).await);
                }
                reports
            })
        })
        .collect();
    let mut reports = Vec::new();
    for worker in workers {
        reports.extend(worker.await.unwrap_or_else(|err| panic!("worker: {err}")));
    }
    reports
}

/// A client of a loopback server answering every request at once with a
/// proposal that adds one new entry (`fact-N` for the N-th request).
pub async fn loopback_llm() -> LlmClient {
    let base_url = serve_llm().await;
    let config = OpenAiConfig { base_url, model: "loopback".into(), ..OpenAiConfig::default() };
    LlmClient::OpenAi(OpenAiClient::new(config).unwrap_or_else(|err| panic!("client: {err}")))
}

async fn serve_llm() -> String {
    let counter = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new().route("/v1/chat/completions", axum::routing::post(answer)).with_state(counter);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|err| panic!("bind: {err}"));
    let addr = listener.local_addr().unwrap_or_else(|err| panic!("addr: {err}"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/v1")
}

async fn answer(State(counter): State<Arc<AtomicUsize>>, Json(_request): Json<Value>) -> Json<Value> {
    let n = counter.fetch_add(1, Ordering::Relaxed);
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
