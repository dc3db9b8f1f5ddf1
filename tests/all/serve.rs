//! `memwarden serve` over real HTTP: every endpoint, every error code,
//! oversized and malformed bodies, missing, wrong and cross-tenant keys,
//! Prometheus metrics, graceful shutdown — and the OpenAPI description
//! checked against the server.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::llm_server::{Behaviour, LlmServer};
use crate::reflection::{add, proposal};
use crate::util::{memwarden, run, temp_dir};

pub const ADMIN_KEY: &str = "admin-secret-for-tests";

/// A running `memwarden serve`, stopped with SIGTERM when dropped.
pub struct Server {
    pub url: String,
    child: Option<Child>,
}

impl Server {
    pub fn start(config: &Path) -> Server {
        Server::start_with_admin_key(config, ADMIN_KEY)
    }

    /// A server whose `MEMWARDEN_ADMIN_KEY` is `admin_key`, as written.
    pub fn start_with_admin_key(config: &Path, admin_key: &str) -> Server {
        let mut child = memwarden()
            .env("MEMWARDEN_ADMIN_KEY", admin_key)
            .arg("--config")
            .arg(config)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("serve starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = lines.next().expect("a first line").expect("utf-8");
        let url = first.rsplit(' ').next().expect("an address").to_string();
        assert!(url.starts_with("http://127.0.0.1:"), "{first}");
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { url, child: Some(child) }
    }

    /// Sends SIGHUP: the server reloads its rule packs.
    pub fn hang_up(&self) {
        if let Some(child) = &self.child {
            let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("pid");
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::HUP);
        }
    }

    /// Kills the process with SIGKILL, as a crashed host.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops with SIGTERM; returns whether the process exited cleanly.
    pub fn stop(&mut self) -> bool {
        let Some(mut child) = self.child.take() else { return true };
        let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("pid");
        let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        child.wait().expect("exit").success()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// A config in `dir` for a server whose worker asks `llm`.
pub fn write_config(dir: &Path, llm: &LlmServer, database: &str) -> PathBuf {
    let path = dir.join("memwarden.yaml");
    let text = format!(
        "data_dir: {0}/data\ndatabase: {database}\nllm:\n  base_url: {1}\n  api_key_env: MEMWARDEN_TEST_NO_KEY\n  max_retries: 1\n  initial_backoff_millis: 10\nworker:\n  lease_seconds: 2\n  heartbeat_seconds: 1\n  poll_millis: 20\nconsolidation:\n  enabled: false\nserve:\n  max_body_bytes: 65536\n",
        dir.display(),
        llm.base_url
    );
    std::fs::write(&path, text).expect("config");
    path
}

/// `memwarden tenant add-key`, returning the key.
pub fn add_key(config: &Path, tenant: &str) -> String {
    let (output, stdout, stderr) = run(memwarden().arg("--config").arg(config).args(["tenant", "add-key", tenant]));
    assert!(output.status.success(), "{stderr}");
    let key = stdout.trim().to_string();
    assert!(key.starts_with("mwk_") && key.len() == 68, "{key}");
    key
}

/// Sends a request; returns the status and the body (JSON when it is).
pub async fn call(
    client: &reqwest::Client,
    method: Method,
    url: &str,
    key: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = client.request(method, url);
    if let Some(key) = key {
        request = request.bearer_auth(key);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status();
    let text = response.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

pub fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_else(|| panic!("not an API error: {body}"))
}

/// Polls a job until it has an outcome.
pub async fn wait_for_job(client: &reqwest::Client, base: &str, key: &str, id: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, job) = call(client, Method::GET, &format!("{base}/v1/jobs/{id}"), Some(key), None).await;
        assert_eq!(status, StatusCode::OK, "{job}");
        if job["outcome"].is_string() {
            return job;
        }
        assert!(Instant::now() < deadline, "job {id} never finished: {job}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn run_request(piece: &str) -> Value {
    json!({"piece": piece, "outcome": "failed", "activity_log": "deploy failed: migrations were skipped"})
}

#[tokio::test]
async fn every_endpoint_works_and_every_error_is_json() {
    let llm = LlmServer::start(vec![Behaviour::Reply(proposal(json!([add(
        "deploy-order",
        "Run migrations before deploying the web app."
    )])))]);
    let dir = temp_dir();
    let config = write_config(dir.path(), &llm, &format!("sqlite://{}/jobs.db", dir.path().display()));
    let acme = add_key(&config, "acme");
    let beta = add_key(&config, "beta");
    let mut server = Server::start(&config);
    let (base, http) = (server.url.clone(), client());
    let url = |path: &str| format!("{base}{path}");

    // Health needs no key.
    assert_eq!(call(&http, Method::GET, &url("/healthz"), None, None).await.0, StatusCode::OK);
    let (status, ready) = call(&http, Method::GET, &url("/readyz"), None, None).await;
    assert_eq!((status, ready["database"].as_str()), (StatusCode::OK, Some("ok")));

    // Keys: missing, malformed, unknown.
    let reflections = url("/v1/tenants/acme/reflections");
    for key in [None, Some("not-a-key")] {
        let (status, body) = call(&http, Method::POST, &reflections, key, Some(run_request("research"))).await;
        assert_eq!((status, error_code(&body)), (StatusCode::UNAUTHORIZED, "unauthorized"));
    }
    let bad_header = http.post(&reflections).header("authorization", "Basic abc").send().await.expect("send");
    assert_eq!(bad_header.status(), StatusCode::UNAUTHORIZED);

    // Enqueue, idempotently.
    let request =
        json!({"piece": "research", "outcome": "failed", "activity_log": "deploy failed", "idempotency_key": "run-1"});
    let (status, first) = call(&http, Method::POST, &reflections, Some(&acme), Some(request.clone())).await;
    assert_eq!((status, first["created"].as_bool()), (StatusCode::ACCEPTED, Some(true)), "{first}");
    let (status, again) = call(&http, Method::POST, &reflections, Some(&acme), Some(request)).await;
    assert_eq!((status, again["created"].as_bool()), (StatusCode::OK, Some(false)));
    assert_eq!(first["job_id"], again["job_id"]);
    let id = first["job_id"].as_i64().expect("job id");

    // The worker beside the API runs it.
    let job = wait_for_job(&http, &base, &acme, id).await;
    assert_eq!(job["outcome"], "succeeded", "{job}");
    assert_eq!(job["decision"]["memory"][0]["name"], "deploy-order", "{job}");
    let snapshot = job["snapshot_id"].as_str().expect("snapshot id").to_string();

    // Another tenant's key sees nothing of acme's.
    let job_url = url(&format!("/v1/jobs/{id}"));
    let (status, body) = call(&http, Method::GET, &job_url, Some(&beta), None).await;
    assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, "job_not_found"));
    assert_eq!(call(&http, Method::GET, &job_url, Some(ADMIN_KEY), None).await.0, StatusCode::OK);
    for (method, path) in [
        (Method::POST, "/v1/tenants/acme/reflections"),
        (Method::POST, "/v1/tenants/acme/consolidate"),
        (Method::GET, "/v1/tenants/acme/memory"),
        (Method::GET, "/v1/tenants/acme/memory/deploy-order"),
        (Method::GET, "/v1/tenants/acme/snapshots"),
        (Method::GET, &format!("/v1/tenants/acme/snapshots/{snapshot}")),
        (Method::POST, &format!("/v1/tenants/acme/snapshots/{snapshot}/rollback")),
    ] {
        let body = (method == Method::POST).then(|| run_request("research"));
        let (status, answer) = call(&http, method.clone(), &url(path), Some(&beta), body).await;
        assert_eq!((status, error_code(&answer)), (StatusCode::FORBIDDEN, "forbidden"), "{method} {path}");
    }
    let eval = json!({"tenant": "acme", "proposal": {"reasoning": "r", "memory_changes": []}});
    let (status, body) = call(&http, Method::POST, &url("/v1/policy/eval"), Some(&beta), Some(eval)).await;
    assert_eq!((status, error_code(&body)), (StatusCode::FORBIDDEN, "forbidden"));

    // Memory and history.
    let (status, memory) = call(&http, Method::GET, &url("/v1/tenants/acme/memory"), Some(&acme), None).await;
    assert_eq!((status, memory["entries"][0]["name"].as_str()), (StatusCode::OK, Some("deploy-order")));
    let (_, entry) = call(&http, Method::GET, &url("/v1/tenants/acme/memory/deploy-order"), Some(&acme), None).await;
    assert_eq!(entry["body"], "Run migrations before deploying the web app.");
    let (status, body) = call(&http, Method::GET, &url("/v1/tenants/acme/memory/nope"), Some(&acme), None).await;
    assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, "entry_not_found"));
    let (_, history) = call(&http, Method::GET, &url("/v1/tenants/acme/snapshots"), Some(&acme), None).await;
    assert_eq!(history["snapshots"][0]["id"], snapshot.as_str());
    let (_, shown) =
        call(&http, Method::GET, &url(&format!("/v1/tenants/acme/snapshots/{snapshot}")), Some(&acme), None).await;
    let diffs: Vec<&str> =
        shown["files"].as_array().expect("files").iter().filter_map(|f| f["diff"].as_str()).collect();
    assert!(diffs.iter().any(|d| d.contains("+++ b/memory/deploy-order.md")), "{shown}");
    assert!(shown["meta"]["decision"]["memory"].is_array(), "{shown}");
    let (status, body) = call(&http, Method::GET, &url("/v1/tenants/acme/snapshots/nope"), Some(&acme), None).await;
    assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, "snapshot_not_found"));

    // Dry run: verdicts, nothing written.
    let eval = json!({"tenant": "acme", "proposal": {"reasoning": "r", "memory_changes": [
        {"op": "add", "name": "migrate-first", "type": "project", "description": "d",
         "body": "Run migrations before deploying the web app."},
        {"op": "add", "name": "../x", "type": "project", "description": "d", "body": "b"}]}});
    let (status, body) = call(&http, Method::POST, &url("/v1/policy/eval"), Some(&acme), Some(eval)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let codes = body["decision"]["memory"].to_string();
    assert!(codes.contains("near_duplicate") && codes.contains("unsafe_name"), "{codes}");
    assert_eq!(body["written"], false);
    let bad = json!({"tenant": "acme", "proposal": {"reasoning": 5}});
    let (status, body) = call(&http, Method::POST, &url("/v1/policy/eval"), Some(&acme), Some(bad)).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_proposal"));

    // Bad requests.
    let (status, body) = call(&http, Method::POST, &reflections, Some(&acme), Some(run_request("no-such"))).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "unknown_piece"));
    let wrong = json!({"piece": "research", "outcome": "exploded", "activity_log": ""});
    let (status, body) = call(&http, Method::POST, &reflections, Some(&acme), Some(wrong)).await;
    assert_eq!((status, error_code(&body)), (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"));
    let huge = json!({"piece": "research", "outcome": "failed", "activity_log": "x".repeat(100_000)});
    let (status, body) = call(&http, Method::POST, &reflections, Some(&acme), Some(huge)).await;
    assert_eq!((status, error_code(&body)), (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large"));
    let not_json = http.post(&reflections).bearer_auth(&acme).body("{").send().await.expect("send");
    assert_eq!(not_json.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let broken = http
        .post(&reflections)
        .bearer_auth(&acme)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .expect("send");
    assert_eq!(broken.status(), StatusCode::BAD_REQUEST);
    let (status, body) = call(&http, Method::GET, &url("/v1/tenants/..%2Fetc/memory"), Some(ADMIN_KEY), None).await;
    assert_eq!((status, error_code(&body)), (StatusCode::BAD_REQUEST, "unsafe_name"));
    let (status, body) = call(&http, Method::GET, &url("/v1/jobs/abc"), Some(&acme), None).await;
    assert_eq!((status, error_code(&body)), (StatusCode::BAD_REQUEST, "invalid_job_id"));
    let (status, body) = call(&http, Method::GET, &url("/v1/jobs/999999"), Some(ADMIN_KEY), None).await;
    assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, "job_not_found"));
    let (status, body) = call(&http, Method::GET, &url("/v2/nothing"), None, None).await;
    assert_eq!((status, error_code(&body)), (StatusCode::NOT_FOUND, "no_route"));

    // Consolidation request and rollback.
    let (status, body) = call(&http, Method::POST, &url("/v1/tenants/acme/consolidate"), Some(&acme), None).await;
    assert_eq!((status, body["input_watermark"].is_u64()), (StatusCode::ACCEPTED, true), "{body}");
    let rollback = url(&format!("/v1/tenants/acme/snapshots/{snapshot}/rollback"));
    let (status, body) = call(&http, Method::POST, &rollback, Some(&acme), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["undone"][0], snapshot.as_str());
    let (status, _) = call(&http, Method::GET, &url("/v1/tenants/acme/memory/deploy-order"), Some(&acme), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "rolled back");

    // Metrics.
    let (status, metrics) = call(&http, Method::GET, &url("/metrics"), None, None).await;
    let metrics = metrics.as_str().expect("text").to_string();
    assert_eq!(status, StatusCode::OK);
    for expected in [
        "memwarden_jobs_total{kind=\"reflection\",outcome=\"succeeded\"} 1",
        "memwarden_policy_rejections_total{module=\"merge-rules\",code=\"near_duplicate\"}",
        "memwarden_policy_evaluation_seconds_bucket",
        "memwarden_llm_request_seconds_bucket",
        "memwarden_llm_tokens_total",
        "memwarden_queue_depth 0",
    ] {
        assert!(metrics.contains(expected), "missing {expected} in:\n{metrics}");
    }

    assert!(server.stop(), "SIGTERM ends the server cleanly");
}

#[tokio::test]
async fn the_openapi_description_matches_the_server() {
    let doc: Value = serde_norway::from_str(
        &std::fs::read_to_string(crate::util::repo().join("host/openapi.yaml")).expect("openapi.yaml"),
    )
    .expect("valid YAML");
    let mut documented: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            documented.push((method.to_uppercase(), path.clone()));
        }
    }
    documented.sort();
    let mut served: Vec<(String, String)> =
        memwarden::serve::ROUTES.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    served.sort();
    assert_eq!(documented, served, "host/openapi.yaml and serve::ROUTES differ");

    // Each route exists on the live server and answers with a documented
    // status.
    let llm = LlmServer::start(vec![]);
    let dir = temp_dir();
    let config = write_config(dir.path(), &llm, &format!("sqlite://{}/jobs.db", dir.path().display()));
    let server = Server::start(&config);
    let http = client();
    for (method, path) in &served {
        let concrete = path.replace("{tenant}", "acme").replace("{id}", "1").replace("{name}", "x");
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let body = (method == Method::POST).then(|| json!({}));
        let (status, answer) =
            call(&http, method.clone(), &format!("{}{concrete}", server.url), Some(ADMIN_KEY), body).await;
        assert_ne!(answer["error"]["code"], "no_route", "{method} {path} is not served");
        let responses = &doc["paths"][path.as_str()][method.as_str().to_lowercase()]["responses"];
        assert!(
            responses.get(status.as_str()).is_some(),
            "{method} {path} answered {status}, which openapi.yaml does not list: {answer}"
        );
    }
}

#[test]
fn the_sample_host_config_is_valid() {
    let path = crate::util::repo().join("host/memwarden.sample.yaml");
    let config = memwarden::config::RawConfig::load(Some(&path)).expect("the sample config loads");
    assert!(config.database_url().starts_with("postgres://"));
    assert_eq!((config.serve.listen.as_str(), config.worker.concurrency), ("0.0.0.0:8080", 32));
}
