//! Issue 9, the `memwarden serve` items, through the real binary over real
//! sockets on 127.0.0.1: sharded hosts (3), bounded policy evaluation (8),
//! reads that create nothing and lower-case names (17), and the listener's
//! timeouts and connection cap (18).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use memwarden::jobs::{JobId, JobStore, PgJobStore, ReflectionPayload};
use memwarden::policy::RunOutcome;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::llm_server::{Behaviour, LlmServer};
use crate::reflection::{add, proposal};
use crate::serve::{ADMIN_KEY, Server, call, client, error_code, write_config};
use crate::util::postgres::fresh_schema;
use crate::util::{memwarden, run, temp_dir};

/// `write_config`, with `extra` YAML appended at the top level.
fn config_with(dir: &Path, llm: &LlmServer, database: &str, extra: &str) -> std::path::PathBuf {
    let path = write_config(dir, llm, database);
    let mut text = std::fs::read_to_string(&path).expect("config");
    text.push_str(extra);
    std::fs::write(&path, text).expect("config");
    path
}

fn sqlite(dir: &Path) -> String {
    format!("sqlite://{}/jobs.db", dir.display())
}

/// The names under `<data>/tenants`.
fn tenant_dirs(data: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(data.join("tenants")) else { return Vec::new() };
    let mut names: Vec<String> =
        entries.map(|e| e.expect("entry").file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn issue_9_item_3_a_private_data_dir_on_postgres_needs_a_shard() {
    // No database is reached: the layout is refused before anything opens.
    let llm = LlmServer::start(vec![]);
    let dir = temp_dir();
    let config = write_config(dir.path(), &llm, "postgres://memwarden@127.0.0.1:1/nothing");
    for args in [&["worker", "--drain"][..], &["serve", "--listen", "127.0.0.1:0"]] {
        let (output, _, stderr) = run(memwarden().arg("--config").arg(&config).args(args));
        assert!(!output.status.success(), "{args:?} started with a private, unsharded data dir");
        assert!(stderr.contains("data_dir_shared") && stderr.contains("shard"), "{args:?}: {stderr}");
    }
    assert!(!dir.path().join("data").exists(), "the refused host created its data dir");
    // A bad shard list is refused at load, naming the setting.
    let bad = config_with(dir.path(), &llm, &sqlite(dir.path()), "shard:\n  tenants: [Acme]\n");
    let (output, _, stderr) = run(memwarden().arg("--config").arg(&bad).args(["worker", "--drain"]));
    assert!(!output.status.success() && stderr.contains("shard.tenants"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn issue_9_item_3_sharded_hosts_claim_and_answer_only_for_their_tenants() {
    let Some((schema, options)) = fresh_schema().await else { return };
    let llm = LlmServer::start(vec![Behaviour::ReplyWith(Arc::new(|n| {
        proposal(json!([add(
            &format!("fact-{n}"),
            &format!("Fact {n}: service alpha{n} listens on port {}.", 10_000 + n)
        )]))
    }))]);
    let (dir_a, dir_b) = (temp_dir(), temp_dir());
    let config_a = config_with(dir_a.path(), &llm, &schema.url(), "shard:\n  tenants: [acme]\n");
    let config_b = config_with(dir_b.path(), &llm, &schema.url(), "shard:\n  tenants: [beta]\n");

    // Host B runs alone while ten jobs of acme — not B's — wait in the queue.
    let b = Server::start(&config_b);
    let store = PgJobStore::open_with(options).await.expect("job store");
    let mut acme_jobs = Vec::new();
    for n in 0..10 {
        let payload = ReflectionPayload {
            piece: "research".to_string(),
            outcome: RunOutcome::Failed,
            activity_log: format!("acme run {n}"),
            source_run: None,
        };
        let job = memwarden::reflection::request("acme", payload, None, 3, 4096).expect("request");
        acme_jobs.push(store.enqueue_reflection(&job, memwarden::reflection::now_ms()).await.expect("enqueue").id);
    }
    let http = client();
    let mut beta_jobs = Vec::new();
    for n in 0..5 {
        let body = json!({"piece": "research", "outcome": "failed", "activity_log": format!("beta run {n}")});
        let url = format!("{}/v1/tenants/beta/reflections", b.url);
        let (status, answer) = call(&http, Method::POST, &url, Some(ADMIN_KEY), Some(body)).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
        beta_jobs.push(JobId(answer["job_id"].as_i64().expect("job id")));
    }
    // B's API refuses acme's routes with 421.
    let body = json!({"piece": "research", "outcome": "failed", "activity_log": "misrouted"});
    for (method, path, body) in [
        (Method::POST, "/v1/tenants/acme/reflections", Some(body)),
        (Method::GET, "/v1/tenants/acme/memory", None),
        (
            Method::POST,
            "/v1/policy/eval",
            Some(json!({"tenant": "acme", "proposal": {"reasoning": "r", "memory_changes": []}})),
        ),
    ] {
        let (status, answer) = call(&http, method, &format!("{}{path}", b.url), Some(ADMIN_KEY), body).await;
        assert_eq!((status, error_code(&answer)), (StatusCode::MISDIRECTED_REQUEST, "wrong_shard"), "{path}");
    }
    // B finishes its own jobs and leaves acme's queued.
    wait_until_finished(&store, &beta_jobs).await;
    for id in &acme_jobs {
        let status = store.job(*id).await.expect("query").expect("job");
        assert_eq!((status.status.as_str(), status.attempts), ("queued", 0), "host B claimed acme's {id}: {status:?}");
    }

    // Host A, which owns acme, takes them.
    let a = Server::start(&config_a);
    wait_until_finished(&store, &acme_jobs).await;
    drop((a, b));
    for id in &acme_jobs {
        let status = store.job(*id).await.expect("query").expect("job");
        assert_eq!(status.outcome.as_deref(), Some("succeeded"), "{status:?}");
        let snapshot = status.snapshot_id.expect("snapshot");
        assert!(dir_a.path().join(format!("data/tenants/acme/snapshots/{snapshot}.json")).exists(), "{snapshot}");
    }
    assert_eq!(tenant_dirs(&dir_a.path().join("data")), ["acme"]);
    assert_eq!(tenant_dirs(&dir_b.path().join("data")), ["beta"]);
}

async fn wait_until_finished(store: &PgJobStore, ids: &[JobId]) {
    let deadline = Instant::now() + Duration::from_secs(60);
    for id in ids {
        loop {
            let status = store.job(*id).await.expect("query").expect("job");
            if status.outcome.is_some() {
                break;
            }
            assert!(Instant::now() < deadline, "{id} never finished: {status:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// A proposal of `changes` additions with bodies of `body_bytes`.
fn big_proposal(changes: usize, body_bytes: usize) -> Value {
    let changes: Vec<Value> = (0..changes)
        .map(|n| {
            let body = format!("note {n}: {}", "the deploy runs migrations first. ".repeat(body_bytes / 34 + 1));
            json!({"op": "add", "name": format!("note-{n}"), "type": "project", "description": "d", "body": body})
        })
        .collect();
    json!({"reasoning": "r", "memory_changes": changes})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn issue_9_item_8_policy_eval_is_refused_early_and_bounded() {
    let llm = LlmServer::start(vec![]);
    let dir = temp_dir();
    let extra = "  max_body_bytes: 4194304\n  max_blocking: 2\n  max_blocking_per_tenant: 1\n";
    let config = write_config(dir.path(), &llm, &sqlite(dir.path()));
    let text = std::fs::read_to_string(&config).expect("config").replace("  max_body_bytes: 65536\n", extra);
    std::fs::write(&config, text).expect("config");
    let data = memwarden::store::DataDir::open(&dir.path().join("data")).expect("data dir");
    for tenant in ["acme", "beta", "gamma"] {
        data.tenant(tenant).expect("tenant");
    }
    let server = Server::start(&config);
    let http = client();
    let eval = format!("{}/v1/policy/eval", server.url);

    // Over the change ceiling: one compact refusal, no verdict per change.
    let over = json!({"tenant": "acme", "proposal": big_proposal(300, 10)});
    let response = http.post(&eval).bearer_auth(ADMIN_KEY).json(&over).send().await.expect("send");
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let text = response.text().await.expect("body");
    assert!(text.len() < 1024, "not compact: {} bytes", text.len());
    assert!(text.contains("proposal_too_large"), "{text}");

    // Many large evaluations at once: one per tenant, two in the process.
    let mut tasks = tokio::task::JoinSet::new();
    for n in 0..24 {
        let (http, eval) = (http.clone(), eval.clone());
        let tenant = ["acme", "beta", "gamma"][n % 3];
        let body = json!({"tenant": tenant, "proposal": big_proposal(200, 3000)});
        tasks.spawn(async move {
            let response = http.post(&eval).bearer_auth(ADMIN_KEY).json(&body).send().await.expect("send");
            let retry_after = response.headers().contains_key("retry-after");
            let status = response.status();
            let body: Value = response.json().await.expect("JSON");
            (status, body["error"]["code"].as_str().map(str::to_string), retry_after)
        });
    }
    let mut seen = std::collections::BTreeMap::new();
    while let Some(answer) = tasks.join_next().await {
        let (status, code, retry_after) = answer.expect("task");
        match status {
            StatusCode::OK => {}
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => assert!(retry_after, "{status}"),
            other => panic!("unexpected {other} {code:?}"),
        }
        *seen.entry((status.as_u16(), code)).or_insert(0) += 1;
    }
    eprintln!("24 parallel evaluations: {seen:?}");
    assert!(seen.contains_key(&(200, None)), "{seen:?}");
    assert!(seen.contains_key(&(429, Some("tenant_busy".to_string()))), "{seen:?}");
    assert!(seen.contains_key(&(503, Some("server_busy".to_string()))), "{seen:?}");
}

#[tokio::test]
async fn issue_9_item_17_reads_create_no_tenant_and_names_are_lower_case() {
    let llm = LlmServer::start(vec![]);
    let dir = temp_dir();
    let config = write_config(dir.path(), &llm, &sqlite(dir.path()));
    let server = Server::start(&config);
    let (http, data) = (client(), dir.path().join("data"));
    let url = |path: &str| format!("{}{path}", server.url);

    // An unknown tenant is 404 on every route that reads or changes its
    // files, and nothing is created.
    let eval = json!({"tenant": "ghost", "proposal": {"reasoning": "r", "memory_changes": []}});
    for (method, path, body) in [
        (Method::GET, "/v1/tenants/ghost/memory", None),
        (Method::GET, "/v1/tenants/ghost/memory/note", None),
        (Method::GET, "/v1/tenants/ghost/snapshots", None),
        (Method::GET, "/v1/tenants/ghost/snapshots/20261121T101500.123Z-job-1", None),
        (Method::POST, "/v1/tenants/ghost/snapshots/20261121T101500.123Z-job-1/rollback", None),
        (Method::POST, "/v1/tenants/ghost/consolidate", None),
        (Method::POST, "/v1/policy/eval", Some(eval)),
    ] {
        let (status, answer) = call(&http, method, &url(path), Some(ADMIN_KEY), body).await;
        assert_eq!((status, error_code(&answer)), (StatusCode::NOT_FOUND, "tenant_not_found"), "{path}");
    }
    assert!(tenant_dirs(&data).is_empty(), "a read created {:?}", tenant_dirs(&data));

    // Names differing only in case would share a file on macOS or Windows:
    // upper case is refused wherever a name enters.
    for path in ["/v1/tenants/Acme/memory", "/v1/tenants/acme/memory/Deploy-Order"] {
        let (status, answer) = call(&http, Method::GET, &url(path), Some(ADMIN_KEY), None).await;
        assert_eq!((status, error_code(&answer)), (StatusCode::BAD_REQUEST, "unsafe_name"), "{path}");
    }
    let enqueue = json!({"piece": "research", "outcome": "failed", "activity_log": "x"});
    let (status, answer) =
        call(&http, Method::POST, &url("/v1/tenants/ACME/reflections"), Some(ADMIN_KEY), Some(enqueue)).await;
    assert_eq!((status, error_code(&answer)), (StatusCode::BAD_REQUEST, "unsafe_name"));
    let (output, _, stderr) = run(memwarden().arg("--config").arg(&config).args(["tenant", "add-key", "Acme"]));
    assert!(!output.status.success() && stderr.contains("upper-case"), "{stderr}");
    assert!(tenant_dirs(&data).is_empty(), "{:?}", tenant_dirs(&data));

    // An enqueue for a new tenant is accepted without creating it; a
    // proposal naming an entry in upper case is refused by the host.
    let enqueue = json!({"piece": "research", "outcome": "failed", "activity_log": "x"});
    let (status, _) =
        call(&http, Method::POST, &url("/v1/tenants/acme/reflections"), Some(ADMIN_KEY), Some(enqueue)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    memwarden::store::DataDir::open(&data).expect("data").tenant("acme").expect("acme");
    let eval = json!({"tenant": "acme", "proposal": {"reasoning": "r", "memory_changes": [
        {"op": "add", "name": "Deploy-Order", "type": "project", "description": "d", "body": "b"}]}});
    let (status, answer) = call(&http, Method::POST, &url("/v1/policy/eval"), Some(ADMIN_KEY), Some(eval)).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    let rejections = answer["decision"]["memory"][0].to_string();
    assert!(rejections.contains("\"host\"") && rejections.contains("unsafe_name"), "{rejections}");
}

/// Reads what the server sends until it closes or `limit` passes.
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, bool) {
    stream.set_read_timeout(Some(limit)).expect("timeout");
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&received).into_owned(), true),
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(err) if matches!(err.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return (String::from_utf8_lossy(&received).into_owned(), false);
            }
            Err(_) => return (String::from_utf8_lossy(&received).into_owned(), true),
        }
    }
}

#[test]
fn issue_9_item_18_the_listener_times_heads_and_requests_and_caps_connections() {
    let llm = LlmServer::start(vec![]);
    let dir = temp_dir();
    let extra = "  header_read_timeout_seconds: 1\n  request_timeout_seconds: 2\n  max_connections: 4\n";
    let config = write_config(dir.path(), &llm, &sqlite(dir.path()));
    let text = std::fs::read_to_string(&config).expect("config").replace("serve:\n", &format!("serve:\n{extra}"));
    std::fs::write(&config, text).expect("config");
    let server = Server::start(&config);
    let addr = server.url.trim_start_matches("http://").to_string();

    // A request head that never ends is cut after the header timeout.
    let mut half = TcpStream::connect(&addr).expect("connect");
    half.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").expect("send");
    let started = Instant::now();
    let (_, closed) = read_until_closed(&mut half, Duration::from_secs(5));
    assert!(closed, "a half-sent head held its connection for 5 s");
    assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());

    // A body that never comes: 503 request_timeout.
    let mut slow = TcpStream::connect(&addr).expect("connect");
    let head = format!(
        "POST /v1/policy/eval HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ADMIN_KEY}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{"
    );
    slow.write_all(head.as_bytes()).expect("send");
    let (answer, _) = read_until_closed(&mut slow, Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 503") && answer.contains("request_timeout"), "{answer:?}");
    drop((half, slow));

    // Four silent connections fill the cap: a fifth waits until the header
    // timeout frees a slot, then is served.
    let silent: Vec<TcpStream> = (0..4).map(|_| TcpStream::connect(&addr).expect("connect")).collect();
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let mut fifth = TcpStream::connect(&addr).expect("connect (the backlog takes it)");
    fifth.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").expect("send");
    let (answer, _) = read_until_closed(&mut fifth, Duration::from_secs(6));
    let waited = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
    assert!(waited >= Duration::from_millis(500), "served at once past a full cap: {waited:?}");
    drop(silent);
}
