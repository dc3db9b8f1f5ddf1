//! Reflection jobs end to end: the real flow, a real SQLite file, a real
//! data directory and the real OpenAI client against a loopback server.
//! Each case ends with its documented outcome, and the store is untouched
//! wherever nothing should change.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use memwarden::jobs::{JobStore, NewReflection, ReflectionPayload, SqliteJobStore};
use memwarden::llm::{LlmClient, OpenAiClient, OpenAiConfig};
use memwarden::policy::{PackMap, RulePack, RunOutcome};
use memwarden::reflection::{Reflector, Report, ReportOutcome, Settings, now_ms};
use memwarden::store::{DataDir, Entry, memory_index};
use serde_json::json;

use crate::llm_server::{Behaviour, LlmServer};
use crate::util::{engine, temp_dir};

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub reflector: Reflector<SqliteJobStore>,
    pub server: LlmServer,
}

pub fn proposal(changes: serde_json::Value) -> String {
    json!({"reasoning": "what the run taught", "memory_changes": changes}).to_string()
}

pub fn add(name: &str, body: &str) -> serde_json::Value {
    json!({"op": "add", "name": name, "type": "project", "description": format!("About {name}"), "body": body})
}

pub async fn harness(script: Vec<Behaviour>, tweak: impl FnOnce(&mut OpenAiConfig)) -> Harness {
    let server = LlmServer::start(script);
    let dir = temp_dir();
    let mut config = OpenAiConfig {
        base_url: server.base_url.clone(),
        api_key: Some("test-key".into()),
        model: "loopback-model".into(),
        timeout: Duration::from_secs(2),
        max_output_tokens: 1024,
        max_retries: 2,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_secs(3),
        gateway: true,
        ..OpenAiConfig::default()
    };
    tweak(&mut config);
    let reflector = Reflector {
        jobs: SqliteJobStore::open(dir.path().join("jobs.db").to_str().expect("utf-8")).await.expect("job store"),
        data: Arc::new(DataDir::open(&dir.path().join("data")).expect("data dir")),
        packs: Arc::new(PackMap::uniform(RulePack::load(engine(), "default").expect("pack")).into()),
        llm: Arc::new(LlmClient::OpenAi(OpenAiClient::new(config).expect("client"))),
        indexes: Default::default(),
        settings: Settings {
            heartbeat: Duration::from_millis(100),
            retry_delay: Duration::ZERO,
            ..Settings::default()
        },
    };
    Harness { dir, reflector, server }
}

impl Harness {
    pub async fn reflect(&self, tenant: &str) -> Report {
        let job = NewReflection {
            tenant: tenant.into(),
            payload: ReflectionPayload {
                piece: "research".into(),
                outcome: RunOutcome::Failed,
                activity_log: "tests failed: migration missing".into(),
                source_run: None,
            },
            idempotency_key: None,
            max_attempts: 3,
        };
        let jobs = &self.reflector.jobs;
        let id = jobs.enqueue_reflection(&job, now_ms()).await.expect("enqueue").id;
        let claim = jobs.claim_id(id, "test", 60_000, now_ms()).await.expect("claim").expect("claimable");
        self.reflector.run(claim).await
    }

    /// Every file under the data directory but locks and spare files, with
    /// its content.
    pub fn files(&self) -> BTreeMap<String, String> {
        files_under(&self.dir.path().join("data"))
    }
}

pub fn files_under(root: &Path) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let relative = path.strip_prefix(root).expect("under root").display().to_string();
            // Spare files are free space, not content (see the store's `spares`).
            if relative.ends_with(".lock") || relative.contains(".tmp-spare-") {
                continue;
            }
            match std::fs::symlink_metadata(&path) {
                Ok(meta) if meta.is_dir() => stack.push(path),
                Ok(meta) if meta.file_type().is_symlink() => {
                    files.insert(relative, format!("-> {}", std::fs::read_link(&path).expect("link").display()));
                }
                Ok(_) => {
                    files.insert(relative, std::fs::read_to_string(&path).unwrap_or_default());
                }
                Err(_) => {}
            }
        }
    }
    files
}

pub fn assert_failed(report: &Report, expected_code: &str, expect_retry: bool) {
    match &report.outcome {
        ReportOutcome::Failed { code, retrying, .. } => {
            assert_eq!(code, expected_code, "{report:#?}");
            assert_eq!(*retrying, expect_retry, "{report:#?}");
        }
        other => panic!("expected failure {expected_code}, got {other:?}"),
    }
}

/// The store holds nothing but the empty tenant layout.
fn assert_untouched(harness: &Harness) {
    let files = harness.files();
    assert!(files.keys().all(|path| !path.contains("/memory/") && !path.contains("/snapshots/")), "{files:#?}");
}

#[tokio::test]
async fn a_good_answer_is_applied_snapshotted_and_measured() {
    let answer = proposal(json!([add("deploy-order", "Run migrations before deploying."), add("Bad_Name", "x")]));
    let h = harness(vec![Behaviour::Reply(answer)], |_| {}).await;
    let report = h.reflect("acme").await;
    assert_eq!(report.outcome, ReportOutcome::Succeeded, "{report:#?}");

    let files = h.files();
    let entry = &files["tenants/acme/memory/deploy-order.md"];
    assert!(entry.contains("Run migrations before deploying."));
    assert!(files["tenants/acme/memory/MEMORY.md"].contains("[deploy-order](deploy-order.md)"));
    assert!(!files.keys().any(|p| p.contains("Bad_Name")));
    let snapshot = report.snapshot_id.clone().expect("snapshot");
    assert!(files[&format!("tenants/acme/snapshots/{snapshot}.json")].contains("Run migrations before deploying."));
    assert_eq!(files["tenants/acme/snapshots/index.jsonl"].lines().count(), 1);

    let seen = h.server.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].authorization.as_deref(), Some("Bearer test-key"));
    assert_eq!(seen[0].tenant_header.as_deref(), Some("acme"));
    assert_eq!(seen[0].purpose_header.as_deref(), Some("reflection"));
    assert_eq!(seen[0].body["user"], "acme");
    assert_eq!(seen[0].body["response_format"]["type"], "json_schema");
    assert!(
        seen[0].body["messages"][1]["content"]
            .as_str()
            .expect("user message")
            .contains("tests failed: migration missing")
    );

    let rows = h.reflector.jobs.metrics("acme").await.expect("metrics");
    assert_eq!(rows.len(), 1);
    assert_eq!(
        (rows[0].outcome.as_str(), rows[0].changes_applied, rows[0].tokens_in, rows[0].tokens_out),
        ("succeeded", 1, 1234, 56)
    );
    assert_eq!(rows[0].rejections.get("name_not_slug"), Some(&1));
    let status = h.reflector.jobs.job(report.job).await.expect("job").expect("exists");
    assert_eq!((status.status.as_str(), status.snapshot_id), ("succeeded", Some(snapshot)));
}

#[tokio::test]
async fn an_update_of_a_body_leaves_the_index_out_of_the_job_and_its_snapshot() {
    let update = json!({"op": "update", "name": "deploy-order", "type": "project",
        "description": "About deploy-order", "body": "Run migrations, then deploy."});
    let h = harness(vec![Behaviour::Reply(proposal(json!([update])))], |_| {}).await;
    let memory = h.dir.path().join("data/tenants/acme/memory");
    std::fs::create_dir_all(&memory).expect("memory dir");
    let seeded = Entry {
        name: "deploy-order".into(),
        description: "About deploy-order".into(),
        entry_type: "project".into(),
        body: "Run migrations first.".into(),
    };
    std::fs::write(memory.join("deploy-order.md"), seeded.to_markdown()).expect("entry");
    let index = memory_index(&[seeded]);
    std::fs::write(memory.join("MEMORY.md"), &index).expect("index");
    // Written two hours ago: past the update cooldown.
    let file = std::fs::File::options().write(true).open(memory.join("deploy-order.md")).expect("open");
    file.set_modified(std::time::SystemTime::now() - Duration::from_secs(7200)).expect("mtime");

    let report = h.reflect("acme").await;
    assert_eq!(report.outcome, ReportOutcome::Succeeded, "{report:#?}");
    let files = h.files();
    assert!(files["tenants/acme/memory/deploy-order.md"].contains("Run migrations, then deploy."));
    assert_eq!(files["tenants/acme/memory/MEMORY.md"], index, "the index needs no change");
    let line: serde_json::Value =
        serde_json::from_str(files["tenants/acme/snapshots/index.jsonl"].trim()).expect("index line");
    assert_eq!((line["files"].as_u64(), line["memory_writes"].as_u64()), (Some(1), Some(1)), "{line}");
    let snapshot = report.snapshot_id.clone().expect("snapshot");
    let snapshot: serde_json::Value =
        serde_json::from_str(&files[&format!("tenants/acme/snapshots/{snapshot}.json")]).expect("snapshot");
    assert_eq!(snapshot["meta"]["files"], json!([{"kind": "entry", "name": "deploy-order"}]));
    assert!(!snapshot.to_string().contains("# Memory"), "the index is nowhere in the snapshot");
}

#[tokio::test]
async fn nothing_proposed_is_an_abstention() {
    let h = harness(vec![Behaviour::Reply(proposal(json!([])))], |_| {}).await;
    let report = h.reflect("acme").await;
    assert_eq!(report.outcome, ReportOutcome::Abstained);
    assert!(!h.files().keys().any(|p| p.contains("/memory/")));
}

#[tokio::test]
async fn garbage_truncated_and_oversized_answers_fail_as_invalid_proposals() {
    let huge = format!("{{\"reasoning\": \"{}\", \"memory_changes\": []}}", "x".repeat(1_100_000));
    for answer in
        ["I think the run went fine!".to_string(), r#"{"reasoning": "cut off", "memory_chan"#.to_string(), huge]
    {
        let h = harness(vec![Behaviour::Reply(answer)], |_| {}).await;
        let report = h.reflect("acme").await;
        assert_failed(&report, "invalid_proposal", true);
        assert_untouched(&h);
    }
}

#[tokio::test]
async fn a_body_that_is_not_a_completion_is_a_bad_response() {
    let h = harness(vec![Behaviour::Raw("<html>gateway</html>".into())], |_| {}).await;
    assert_failed(&h.reflect("acme").await, "llm_bad_response", true);
    assert_untouched(&h);
}

#[tokio::test]
async fn a_server_error_is_retried_then_succeeds() {
    let answer = proposal(json!([add("deploy-order", "Run migrations first.")]));
    let h = harness(vec![Behaviour::Status(500, "boom".into(), None), Behaviour::Reply(answer)], |_| {}).await;
    assert_eq!(h.reflect("acme").await.outcome, ReportOutcome::Succeeded);
    assert_eq!(h.server.requests().len(), 2);
}

#[tokio::test]
async fn a_429_is_retried_after_its_retry_after() {
    let answer = proposal(json!([add("deploy-order", "Run migrations first.")]));
    let h = harness(vec![Behaviour::Status(429, "slow down".into(), Some(1)), Behaviour::Reply(answer)], |_| {}).await;
    let started = std::time::Instant::now();
    assert_eq!(h.reflect("acme").await.outcome, ReportOutcome::Succeeded);
    assert!(started.elapsed() >= Duration::from_millis(950), "Retry-After honoured: {:?}", started.elapsed());
    assert_eq!(h.server.requests().len(), 2);
}

#[tokio::test]
async fn a_hang_past_the_timeout_fails_and_is_retried_later() {
    let answer = proposal(json!([add("deploy-order", "Run migrations first.")]));
    let h = harness(vec![Behaviour::Hang(Duration::from_secs(5), answer)], |config| {
        config.timeout = Duration::from_millis(300);
        config.max_retries = 1;
    })
    .await;
    let report = h.reflect("acme").await;
    assert_failed(&report, "llm_timeout", true);
    assert_eq!(h.server.requests().len(), 2);
    assert_untouched(&h);
    let status = h.reflector.jobs.job(report.job).await.expect("job").expect("exists");
    assert_eq!((status.status.as_str(), status.last_error_code.as_deref()), ("queued", Some("llm_timeout")));
}

#[tokio::test]
async fn a_401_is_not_retried_and_the_job_is_dead() {
    let h = harness(vec![Behaviour::Status(401, "bad key".into(), None)], |_| {}).await;
    let report = h.reflect("acme").await;
    assert_failed(&report, "llm_auth", false);
    assert_eq!(h.server.requests().len(), 1);
    assert_untouched(&h);
    assert_eq!(h.reflector.jobs.job(report.job).await.expect("job").expect("exists").status, "dead");
}

#[tokio::test]
async fn a_server_refusing_json_schema_gets_json_mode() {
    let answer = proposal(json!([add("deploy-order", "Run migrations first.")]));
    let refusal = r#"{"error": {"message": "response_format json_schema is not supported"}}"#.to_string();
    let h = harness(vec![Behaviour::Status(400, refusal, None), Behaviour::Reply(answer)], |_| {}).await;
    assert_eq!(h.reflect("acme").await.outcome, ReportOutcome::Succeeded);
    let seen = h.server.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].body["response_format"]["type"], "json_object");
}

#[tokio::test]
async fn hostile_names_are_rejected_and_nothing_is_written_outside_the_tenant() {
    let long = "a".repeat(300);
    let names = ["../x", "/etc/passwd", "a/b", "", "nul\u{0}byte", long.as_str(), "CON"];
    let changes: Vec<_> = names.iter().map(|name| add(name, "hostile")).collect();
    let h = harness(vec![Behaviour::Reply(proposal(json!(changes)))], |_| {}).await;
    let report = h.reflect("acme").await;
    assert_eq!(report.outcome, ReportOutcome::Abstained, "{report:#?}");
    let decision = &report.recorded.as_ref().expect("recorded").decision;
    for change in &decision.memory {
        assert!(change.rejections.iter().any(|r| r.module == "host" && r.code == "unsafe_name"), "{change:#?}");
    }
    let outside: Vec<_> = std::fs::read_dir(h.dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().into_string().expect("utf-8"))
        .collect();
    assert!(outside.iter().all(|name| name == "data" || name.starts_with("jobs.db")), "{outside:?}");
    assert!(!h.files().keys().any(|p| p.contains("/memory/")), "{:#?}", h.files());
}

#[tokio::test]
async fn a_symlink_planted_in_memory_fails_the_job_and_writes_nothing() {
    let answer = proposal(json!([add("deploy-order", "Run migrations first.")]));
    let h = harness(vec![Behaviour::Reply(answer)], |_| {}).await;
    let outside = temp_dir();
    let target = outside.path().join("passwd");
    std::fs::write(&target, "root:x:0:0").expect("target");
    h.reflector.data.tenant("acme").expect("tenant");
    std::os::unix::fs::symlink(&target, h.dir.path().join("data/tenants/acme/memory/deploy-order.md")).expect("plant");
    let before = h.files();
    let report = h.reflect("acme").await;
    assert_failed(&report, "store_symlink", false);
    assert_eq!(h.files(), before);
    assert_eq!(std::fs::read_to_string(&target).expect("target"), "root:x:0:0");
}

#[tokio::test]
async fn a_prompt_that_cannot_fit_fails_with_context_overflow() {
    let h = harness(vec![Behaviour::Reply(proposal(json!([])))], |_| {}).await;
    let mut reflector_settings = h.reflector.settings.clone();
    reflector_settings.prompt.context_window_tokens = 100;
    let tight = Reflector { settings: reflector_settings, ..h.reflector };
    let job = NewReflection {
        tenant: "acme".into(),
        payload: ReflectionPayload {
            piece: "research".into(),
            outcome: RunOutcome::Failed,
            activity_log: "log".into(),
            source_run: None,
        },
        idempotency_key: None,
        max_attempts: 3,
    };
    let id = tight.jobs.enqueue_reflection(&job, now_ms()).await.expect("enqueue").id;
    let claim = tight.jobs.claim_id(id, "t", 60_000, now_ms()).await.expect("claim").expect("job");
    assert_failed(&tight.run(claim).await, "context_overflow", false);
    assert!(h.server.requests().is_empty(), "the LLM is not called with a prompt that does not fit");
}
