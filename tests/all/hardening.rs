//! Regressions of issue 9 (hardening), one or more tests per item, through
//! the real library or the real binary: a worker that dies while the LLM
//! works (1), an oversized or endless LLM answer (6), idempotency keys
//! (13), configuration ranges (14), the `Authorization` scheme and the
//! admin key (19), `tenant add-key` on a fresh machine and stored activity
//! logs (24). The kill -9 variant of item 1 is in `worker.rs`, the store
//! conformance checks of items 1 and 13 in `job_store/`.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use memwarden::jobs::{JobId, JobKind, JobStore, NewReflection, OWNER_GONE, ReflectionPayload, SqliteJobStore};
use memwarden::llm::{ChatRequest, LlmClient, OpenAiClient, OpenAiConfig};
use memwarden::policy::RunOutcome;
use memwarden::reflection::now_ms;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::llm_server::{Behaviour, LlmServer};
use crate::reflection::{add, assert_failed, harness, proposal};
use crate::serve::{ADMIN_KEY, Server, add_key, call, client, error_code, write_config};
use crate::util::{memwarden, run, temp_dir};

// ── Item 1: a worker that dies while the LLM works ──────────────────────

/// The real flow, a real SQLite store and a loopback LLM whose answer never
/// comes back in time: while the worker lives, heartbeats keep its short
/// lease; each time it dies (its task is dropped mid-call, as a crash
/// would), the next claim spends an attempt. After `max_attempts` the job
/// is dead with `owner_gone`, and the LLM was asked once per attempt.
#[tokio::test]
async fn issue9_item1_a_worker_that_dies_every_time_ends_the_job_dead() {
    const LEASE_MS: u64 = 400;
    let slow = Behaviour::Hang(Duration::from_secs(30), proposal(json!([add("never", "Never written.")])));
    let mut h = harness(vec![slow], |config| config.timeout = Duration::from_secs(60)).await;
    h.reflector.settings.lease = Duration::from_millis(LEASE_MS);
    let reflector = Arc::new(h.reflector);
    let job = NewReflection {
        tenant: "acme".into(),
        payload: ReflectionPayload {
            piece: "research".into(),
            outcome: RunOutcome::Failed,
            activity_log: "the run that kills its worker".into(),
            source_run: None,
        },
        idempotency_key: None,
        max_attempts: 3,
    };
    let id = reflector.jobs.enqueue_reflection(&job, now_ms()).await.expect("enqueue").id;
    for attempt in 1..=3u32 {
        let claim = reflector.jobs.claim(JobKind::Reflection, "doomed", LEASE_MS, now_ms()).await.expect("claim");
        let claim = claim.unwrap_or_else(|| panic!("attempt {attempt} is claimable"));
        assert_eq!((claim.id, claim.attempt), (id, attempt));
        let running = tokio::spawn({
            let reflector = reflector.clone();
            async move { reflector.run(claim).await }
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        while h.server.requests().len() < attempt as usize {
            assert!(Instant::now() < deadline, "attempt {attempt} never asked the LLM");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // Alive, the worker keeps its lease past its length.
        tokio::time::sleep(Duration::from_millis(LEASE_MS + 100)).await;
        let other = reflector.jobs.claim(JobKind::Reflection, "other", LEASE_MS, now_ms()).await.expect("claim");
        assert!(other.is_none(), "a live worker's lease is not taken over");
        // Dead, it renews nothing.
        running.abort();
        assert!(running.await.is_err_and(|err| err.is_cancelled()));
        tokio::time::sleep(Duration::from_millis(LEASE_MS + 100)).await;
    }
    let none = reflector.jobs.claim(JobKind::Reflection, "next", LEASE_MS, now_ms()).await.expect("claim");
    assert!(none.is_none(), "no attempt is left");
    let status = reflector.jobs.job(id).await.expect("job").expect("exists");
    assert_eq!(
        (status.status.as_str(), status.last_error_code.as_deref(), status.attempts),
        ("dead", Some(OWNER_GONE), 3),
        "{status:?}"
    );
    assert_eq!(h.server.requests().len(), 3, "the LLM was asked once per attempt");
    assert!(!h.dir.path().join("data/tenants/acme/memory/never.md").exists());
}

// ── Item 6: the LLM answer is read with a cap ───────────────────────────

/// A well-formed completion of 5 MiB, over the default 4 MiB cap, fails as
/// `llm_bad_response` before it is parsed (it would otherwise reach the
/// proposal parser and fail as something else, after buffering it all).
#[tokio::test]
async fn issue9_item6_an_answer_over_the_cap_is_a_bad_response() {
    let huge = proposal(json!([add("big", &"x".repeat(5 * 1024 * 1024))]));
    let h = harness(vec![Behaviour::Reply(huge)], |_| {}).await;
    let report = h.reflect("acme").await;
    assert_failed(&report, "llm_bad_response", true);
    assert_eq!(h.server.requests().len(), 1, "a refused answer is not asked for again at once");
}

/// An endless answer (chunked, no length, never finishing) is cut off at
/// the cap at once, instead of being buffered until memory or the timeout
/// runs out.
#[tokio::test]
async fn issue9_item6_an_endless_answer_is_cut_off_at_the_cap() {
    let (base_url, sent) = endless_server();
    let config = OpenAiConfig {
        base_url,
        timeout: Duration::from_secs(30),
        max_retries: 0,
        max_response_bytes: 1024 * 1024,
        ..OpenAiConfig::default()
    };
    let client = LlmClient::OpenAi(OpenAiClient::new(config).expect("client"));
    let request = ChatRequest {
        tenant: "acme".into(),
        purpose: "reflection",
        piece: "research".into(),
        system: "s".into(),
        user: "u".into(),
        schema: json!({}),
    };
    let started = Instant::now();
    let err = client.complete(&request).await.expect_err("the answer never ends");
    assert_eq!(err.code(), "llm_bad_response", "{err}");
    assert!(err.to_string().contains("1048576 bytes"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10), "cut off at the cap, not at the timeout");
    std::thread::sleep(Duration::from_millis(200));
    let sent = sent.load(Ordering::Relaxed);
    assert!(sent < 32 * 1024 * 1024, "the client stopped reading: the server got {sent} bytes out");
}

/// A loopback HTTP server that answers every request with `200` and a
/// chunked body that starts like a completion and never ends; counts the
/// bytes it got out.
fn endless_server() -> (String, Arc<AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let base_url = format!("http://{}/v1", listener.local_addr().expect("addr"));
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let counter = counter.clone();
            std::thread::spawn(move || {
                // Read the request head (the body does not matter).
                let mut buffer = [0u8; 64 * 1024];
                let _ = stream.read(&mut buffer);
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                if stream.write_all(head.as_bytes()).is_err() {
                    return;
                }
                let start = "{\"choices\":[{\"message\":{\"content\":\"";
                let _ = stream.write_all(format!("{:x}\r\n{start}\r\n", start.len()).as_bytes());
                let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "a".repeat(64 * 1024));
                while stream.write_all(chunk.as_bytes()).is_ok() {
                    counter.fetch_add(chunk.len(), Ordering::Relaxed);
                }
            });
        }
    });
    (base_url, sent)
}

// ── Item 13: idempotency keys ────────────────────────────────────────────

/// Over the real API: an empty or overlong key is refused
/// (`invalid_idempotency_key`), as are header and body keys that differ; a
/// key reused for another request is `409 idempotency_conflict`; a retry
/// gets its job back; keys are scoped to the tenant, by the CLI as by the
/// API.
#[tokio::test]
async fn issue9_item13_idempotency_keys_are_checked_scoped_and_bound_to_their_request() {
    let llm = LlmServer::start(vec![Behaviour::Reply(proposal(json!([])))]);
    let dir = temp_dir();
    let config = write_config(dir.path(), &llm, &format!("sqlite://{}/jobs.db", dir.path().display()));
    let acme = add_key(&config, "acme");
    let server = Server::start(&config);
    let http = client();
    let reflections = format!("{}/v1/tenants/acme/reflections", server.url);
    let request = |log: &str, key: Option<&str>| {
        let mut body = json!({"piece": "research", "outcome": "failed", "activity_log": log});
        if let Some(key) = key {
            body["idempotency_key"] = json!(key);
        }
        body
    };
    let post = |body: Value, header: Option<&'static str>| {
        let mut builder = http.post(&reflections).bearer_auth(&acme).json(&body);
        if let Some(header) = header {
            builder = builder.header("idempotency-key", header);
        }
        async move {
            let response = builder.send().await.expect("the server answers");
            let status = response.status();
            (status, response.json::<Value>().await.expect("JSON"))
        }
    };

    // Empty and overlong keys, in the body or the header.
    for (body, header) in [
        (request("log", Some("")), None),
        (request("log", None), Some("")),
        (request("log", Some(&"k".repeat(257))), None),
    ] {
        let (status, answer) = post(body, header).await;
        assert_eq!((status, error_code(&answer)), (StatusCode::BAD_REQUEST, "invalid_idempotency_key"), "{answer}");
    }
    let (status, answer) = post(request("log", Some(&"k".repeat(256))), None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "256 bytes are accepted: {answer}");

    // Header and body keys that differ; that agree.
    let (status, answer) = post(request("log", Some("body-key")), Some("header-key")).await;
    assert_eq!((status, error_code(&answer)), (StatusCode::BAD_REQUEST, "invalid_idempotency_key"), "{answer}");
    let (status, both) = post(request("log", Some("same")), Some("same")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{both}");
    let (status, header_only) = post(request("log", None), Some("same")).await;
    assert_eq!((status, &header_only["job_id"]), (StatusCode::OK, &both["job_id"]));

    // A retry is answered with its job; another request under the key is a conflict.
    let (status, first) = post(request("deploy failed", Some("k1")), None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{first}");
    let (status, retry) = post(request("deploy failed", Some("k1")), None).await;
    assert_eq!((status, &retry["job_id"]), (StatusCode::OK, &first["job_id"]));
    let (status, answer) = post(request("a different run", Some("k1")), None).await;
    assert_eq!((status, error_code(&answer)), (StatusCode::CONFLICT, "idempotency_conflict"), "{answer}");

    // The CLI: an empty key is a usage error; keys are per tenant.
    let log = dir.path().join("run.log");
    std::fs::write(&log, "deploy failed").expect("log");
    let enqueue = |tenant: &str, key: &str| {
        run(memwarden()
            .arg("--config")
            .arg(&config)
            .args(["enqueue", "reflection", "--tenant", tenant, "--piece", "research", "--outcome", "failed"])
            .arg("--activity-log")
            .arg(&log)
            .args(["--idempotency-key", key]))
    };
    let (output, _, stderr) = enqueue("acme", "");
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.contains("--idempotency-key") && stderr.contains("the idempotency key is empty"), "{stderr}");
    // The same tenant, key and request as over the API: the same job.
    let (output, stdout, stderr) = enqueue("acme", "k1");
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stdout.trim(), format!("already queued as job-{} (same idempotency key)", first["job_id"]));
    // Another tenant's key that spells acme's scoped one is its own.
    let (output, stdout, stderr) = enqueue("beta", "acme/k1");
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.starts_with("queued job-"), "{stdout}");
    // Another request under acme's key.
    std::fs::write(&log, "a different run").expect("log");
    let (output, _, stderr) = enqueue("acme", "k1");
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.contains("[idempotency_conflict]"), "{stderr}");
}

// ── Item 14: configuration ranges ───────────────────────────────────────

/// Every bad number is refused at start with one line naming the setting;
/// `--concurrency 0` is a usage error.
#[test]
fn issue9_item14_settings_out_of_range_are_refused_naming_the_setting() {
    let dir = temp_dir();
    for (yaml, setting) in [
        ("worker:\n  lease_seconds: 0\n", "worker.lease_seconds"),
        ("worker:\n  lease_seconds: 20\n  heartbeat_seconds: 15\n", "worker.lease_seconds"),
        ("worker:\n  heartbeat_seconds: 0\n", "worker.heartbeat_seconds"),
        ("worker:\n  concurrency: 0\n", "worker.concurrency"),
        ("worker:\n  max_attempts: 0\n", "worker.max_attempts"),
        ("serve:\n  max_body_bytes: 0\n", "serve.max_body_bytes"),
        ("llm:\n  context_window_tokens: 10\n", "llm.context_window_tokens"),
        ("llm:\n  context_window_tokens: 2048\n", "llm.max_output_tokens"),
        ("llm:\n  max_response_bytes: 0\n", "llm.max_response_bytes"),
        ("reflection:\n  activity_log_max_bytes: 0\n", "reflection.activity_log_max_bytes"),
        ("consolidation:\n  check_seconds: 0\n", "consolidation.check_seconds"),
    ] {
        let config = dir.path().join("memwarden.yaml");
        std::fs::write(&config, format!("data_dir: {}/data\n{yaml}", dir.path().display())).expect("config");
        let (output, stdout, stderr) = run(memwarden().arg("--config").arg(&config).args(["worker", "--drain"]));
        assert_eq!(output.status.code(), Some(2), "{yaml}: {stdout}{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{yaml}: one line: {stderr}");
        assert!(stderr.contains(&format!("`{setting}`")), "{yaml}: names {setting}: {stderr}");
    }
    let (output, _, stderr) = run(memwarden().args(["worker", "--drain", "--concurrency", "0"]));
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--concurrency"), "{stderr}");
    memwarden::config::RawConfig::default().validate().expect("the defaults are valid");
}

/// A pack with no modules loads (only the host checks guard it), with a
/// warning.
#[test]
fn issue9_item14_a_pack_without_modules_is_warned_about() {
    let dir = temp_dir();
    let pack = dir.path().join("bare.yaml");
    std::fs::write(&pack, "name: bare\nmodules: []\n").expect("pack");
    let config = dir.path().join("memwarden.yaml");
    std::fs::write(&config, format!("data_dir: {0}/data\npack: {1}\n", dir.path().display(), pack.display()))
        .expect("config");
    let (output, stdout, stderr) = run(memwarden().arg("--config").arg(&config).args(["worker", "--drain"]));
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(stderr.contains("the rule pack has no modules"), "{stderr}");
}

// ── Item 19: the Authorization scheme and the admin key ─────────────────

/// `bearer`, `BEARER` and `Bearer` all work, for tenant and admin keys; an
/// admin key with surrounding whitespace in the environment matches.
#[tokio::test]
async fn issue9_item19_the_bearer_scheme_is_case_insensitive_and_the_admin_key_trimmed() {
    let llm = LlmServer::start(vec![Behaviour::Reply(proposal(json!([])))]);
    let dir = temp_dir();
    let config = write_config(dir.path(), &llm, &format!("sqlite://{}/jobs.db", dir.path().display()));
    let acme = add_key(&config, "acme");
    // Reads of a tenant with no data are 404 (item 17): give acme a directory.
    memwarden::store::DataDir::open(&dir.path().join("data")).expect("data dir").tenant("acme").expect("acme");
    let server = Server::start_with_admin_key(&config, &format!("  {ADMIN_KEY}\n"));
    let http = client();
    let memory = format!("{}/v1/tenants/acme/memory", server.url);
    for scheme in ["bearer", "BEARER", "Bearer", "bEaReR"] {
        for key in [ADMIN_KEY, acme.as_str()] {
            let response =
                http.get(&memory).header("authorization", format!("{scheme} {key}")).send().await.expect("send");
            assert_eq!(response.status(), StatusCode::OK, "`{scheme}` with {key}");
        }
    }
    for header in ["Basic abc", "bearer", "Bearerxyz", &format!("Token {ADMIN_KEY}")] {
        let response = http.get(&memory).header("authorization", header).send().await.expect("send");
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "`{header}`");
    }
    let (status, _) = call(&http, Method::GET, &memory, Some(&format!("{ADMIN_KEY}x")), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

// ── Item 24: a fresh machine, and stored activity logs ──────────────────

/// `tenant add-key` before anything made the data directory creates what
/// the job store needs, and the key is stored.
#[tokio::test]
async fn issue9_item24_add_key_works_before_the_data_dir_exists() {
    let dir = temp_dir();
    let data = dir.path().join("fresh/data");
    let (output, stdout, stderr) = run(memwarden().arg("--data-dir").arg(&data).args(["tenant", "add-key", "acme"]));
    assert!(output.status.success(), "{stdout}{stderr}");
    let key = stdout.trim();
    let store = SqliteJobStore::open(data.join("jobs.db").to_str().expect("utf-8")).await.expect("open");
    let found = store.api_key(&memwarden::serve::key_sha256(key)).await.expect("lookup").expect("found");
    assert_eq!((found.tenant.as_str(), found.role), ("acme", memwarden::jobs::KeyRole::Agent));
}

/// An enqueue stores only the last `activity_log_max_bytes` of the log —
/// all a prompt uses — cut on a character boundary.
#[tokio::test]
async fn issue9_item24_only_the_used_tail_of_an_activity_log_is_stored() {
    let dir = temp_dir();
    let config = dir.path().join("memwarden.yaml");
    let text = format!("data_dir: {0}/data\nreflection:\n  activity_log_max_bytes: 101\n", dir.path().display());
    std::fs::write(&config, text).expect("config");
    let log_text = format!("{}{}", "old line\n".repeat(10_000), "é".repeat(100));
    let log = dir.path().join("run.log");
    std::fs::write(&log, &log_text).expect("log");
    let (output, stdout, stderr) = run(memwarden()
        .arg("--config")
        .arg(&config)
        .args(["enqueue", "reflection", "--tenant", "acme", "--piece", "research", "--outcome", "failed"])
        .arg("--activity-log")
        .arg(&log));
    assert!(output.status.success(), "{stdout}{stderr}");
    let store = open_store(&dir.path().join("data")).await;
    let claim = store.claim(JobKind::Reflection, "w", 60_000, now_ms()).await.expect("claim").expect("queued");
    assert_eq!(claim.id, JobId(1));
    // 101 bytes from the end would split an `é`: 100 bytes, 50 of them.
    assert_eq!(claim.payload.activity_log, "é".repeat(50));

    // The API builds its job with the same function.
    let payload = ReflectionPayload {
        piece: "research".into(),
        outcome: RunOutcome::Failed,
        activity_log: log_text.clone(),
        source_run: None,
    };
    let job = memwarden::reflection::request("acme", payload, Some("k"), 3, 101).expect("a valid request");
    assert_eq!(job.payload.activity_log, "é".repeat(50));
    // Its key is bound to the request as sent, not as stored.
    let full = ReflectionPayload {
        piece: "research".into(),
        outcome: RunOutcome::Failed,
        activity_log: log_text,
        source_run: None,
    };
    let key = memwarden::jobs::IdempotencyKey::new("acme", "k", &full).expect("key");
    assert_eq!(job.idempotency_key.as_ref().map(|k| k.request_sha256()), Some(key.request_sha256()));
}

async fn open_store(data: &Path) -> SqliteJobStore {
    SqliteJobStore::open(data.join("jobs.db").to_str().expect("utf-8")).await.expect("open")
}
