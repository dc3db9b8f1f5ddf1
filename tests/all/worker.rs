//! The `memwarden` binary running jobs: the demo, two worker processes on
//! one tenant, and a worker killed with SIGKILL after it recorded its
//! decision, then restarted.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use memwarden::jobs::{JobId, JobStore, SqliteJobStore};
use serde_json::json;

use crate::llm_server::{Behaviour, LlmServer};
use crate::reflection::{add, files_under, proposal};
use crate::util::{memwarden, run, temp_dir};

#[test]
fn the_demo_runs_every_path() {
    let dir = temp_dir();
    let (output, stdout, stderr) = run(memwarden().args(["demo", "--dir"]).arg(dir.path()));
    assert!(output.status.success(), "{stdout}{stderr}");
    for expected in [
        "job-1",
        "succeeded: 2 memory changes applied",
        "near_duplicate",
        "secret_detected",
        "unsafe_name",
        "piece edited",
        "permission_widened",
        "prompt_injection",
        "abstained: nothing applied",
        "failed [invalid_proposal]",
        "consolidation: claimed (run 1)",
        "consolidation: running",
        "merge_target_missing",
        "consolidation: complete (2 changes applied, 1 rejected)",
        "memory of `acme` now:",
    ] {
        assert!(stdout.contains(expected), "missing `{expected}` in:\n{stdout}");
    }
    let (output, history, _) =
        run(memwarden().args(["--config"]).arg(dir.path().join("memwarden.yaml")).args(["history", "acme"]));
    assert!(output.status.success());
    assert_eq!(history.lines().count(), 7, "a header and six snapshots:\n{history}");
    assert!(history.lines().last().is_some_and(|l| l.contains("consolidation")), "{history}");
    let snapshot = history.lines().nth(3).and_then(|line| line.split_whitespace().next()).expect("third snapshot id");
    let (output, shown, _) =
        run(memwarden().args(["--config"]).arg(dir.path().join("memwarden.yaml")).args(["show", "acme", snapshot]));
    assert!(output.status.success(), "{shown}");
    assert!(shown.contains("+++ b/pieces/plan-implement-review.yaml"), "{shown}");
    assert!(shown.contains("+- [review-rollbacks](review-rollbacks.md)"), "{shown}");
}

/// A config for a worker against `server`, in `dir`; workers consolidate
/// on their own only when `consolidate` is set.
fn write_config_with(dir: &Path, server: &LlmServer, consolidate: bool) -> std::path::PathBuf {
    let path = dir.join("memwarden.yaml");
    let text = format!(
        "data_dir: {0}/data\ndatabase: sqlite://{0}/jobs.db\nllm:\n  base_url: {1}\n  api_key_env: MEMWARDEN_TEST_NO_KEY\n  max_retries: 1\n  initial_backoff_millis: 10\nworker:\n  lease_seconds: 2\n  heartbeat_seconds: 1\n  poll_millis: 20\nconsolidation:\n  enabled: {consolidate}\n",
        dir.display(),
        server.base_url
    );
    std::fs::write(&path, text).expect("config");
    path
}

fn write_config(dir: &Path, server: &LlmServer) -> std::path::PathBuf {
    write_config_with(dir, server, false)
}

fn enqueue(config: &Path, dir: &Path, tenant: &str, count: usize) {
    let log = dir.join("activity.log");
    std::fs::write(&log, "ran the deploy; migrations were missing").expect("log");
    for _ in 0..count {
        let (output, stdout, stderr) = run(memwarden()
            .arg("--config")
            .arg(config)
            .args([
                "enqueue",
                "reflection",
                "--tenant",
                tenant,
                "--piece",
                "research",
                "--outcome",
                "failed",
                "--activity-log",
            ])
            .arg(&log));
        assert!(output.status.success(), "{stdout}{stderr}");
        assert!(stdout.starts_with("queued job-"), "{stdout}");
    }
}

async fn job_status(dir: &Path, id: i64) -> memwarden::jobs::JobStatus {
    let store = SqliteJobStore::open(dir.join("jobs.db").to_str().expect("utf-8")).await.expect("open");
    store.job(JobId(id)).await.expect("query").expect("exists")
}

#[tokio::test]
async fn two_workers_on_one_tenant_lose_nothing_and_tear_nothing() {
    const JOBS: usize = 12;
    let server = LlmServer::start(vec![Behaviour::ReplyWith(Arc::new(|n| {
        proposal(json!([add(
            &format!("fact-{n}"),
            &format!("Fact {n}: the {n}th service alpha{n} beta{n} gamma{n} delta{n} runs on port {}.", 8000 + n)
        )]))
    }))]);
    let dir = temp_dir();
    let config = write_config(dir.path(), &server);
    enqueue(&config, dir.path(), "acme", JOBS);

    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_memwarden"))
            .env("MEMWARDEN_CACHE_DIR", crate::util::cache_dir())
            .arg("--config")
            .arg(&config)
            .args(["worker", "--drain", "--concurrency", "2"])
            .output()
    };
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(spawn);
        let b = scope.spawn(spawn);
        (a.join().expect("a"), b.join().expect("b"))
    });
    let (a, b) = (a.expect("worker a"), b.expect("worker b"));
    assert!(
        a.status.success() && b.status.success(),
        "{}{}",
        String::from_utf8_lossy(&a.stderr),
        String::from_utf8_lossy(&b.stderr)
    );
    let ran = |out: &std::process::Output| {
        String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.contains("succeeded")).count()
    };
    assert_eq!(ran(&a) + ran(&b), JOBS, "each job ran exactly once");

    let files = files_under(&dir.path().join("data"));
    let index = &files["tenants/acme/snapshots/index.jsonl"];
    let lines: Vec<serde_json::Value> =
        index.lines().map(|line| serde_json::from_str(line).expect("a whole JSON line")).collect();
    assert_eq!(lines.len(), JOBS);
    for id in 1..=JOBS as i64 {
        let status = job_status(dir.path(), id).await;
        assert_eq!(status.outcome.as_deref(), Some("succeeded"), "{status:?}");
        let snapshot = status.snapshot_id.expect("snapshot id");
        assert!(files.contains_key(&format!("tenants/acme/snapshots/{snapshot}.json")), "{snapshot}");
    }
    let memory_index = &files["tenants/acme/memory/MEMORY.md"];
    for n in 0..JOBS {
        assert!(files.contains_key(&format!("tenants/acme/memory/fact-{n}.md")), "fact-{n} lost");
        assert!(memory_index.contains(&format!("[fact-{n}]")), "MEMORY.md lost fact-{n}:\n{memory_index}");
    }
    assert_eq!(server.requests().len(), JOBS);
}

#[tokio::test]
async fn a_worker_killed_after_recording_resumes_without_asking_again() {
    let answer = proposal(json!([
        add("deploy-order", "Run migrations before deploying."),
        add("staging-reset", "Staging is wiped on Sundays.")
    ]));
    let server = LlmServer::start(vec![Behaviour::Reply(answer.clone())]);
    let dir = temp_dir();
    let config = write_config(dir.path(), &server);
    enqueue(&config, dir.path(), "acme", 1);

    // 1. The worker records its decision and dies before writing.
    let (output, _, stderr) = run(memwarden()
        .env(memwarden::reflection::FAULT_ENV, "1")
        .arg("--config")
        .arg(&config)
        .args(["worker", "--drain"]));
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&output.status), Some(9), "killed by SIGKILL: {stderr}");
    let status = job_status(dir.path(), 1).await;
    assert_eq!(status.status, "running", "the dead worker still holds the lease");
    assert!(
        !files_under(&dir.path().join("data")).keys().any(|p| p.ends_with("deploy-order.md")),
        "nothing was written"
    );

    // 2. After the lease expires, another worker finishes the job.
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let (output, stdout, stderr) = run(memwarden().arg("--config").arg(&config).args(["worker", "--drain"]));
    assert!(output.status.success(), "{stdout}{stderr}");
    let status = job_status(dir.path(), 1).await;
    assert_eq!((status.outcome.as_deref(), status.attempts), (Some("succeeded"), 2));
    assert_eq!(server.requests().len(), 1, "the LLM was asked exactly once");

    // 3. The store equals an uninterrupted run's.
    let reference_server = LlmServer::start(vec![Behaviour::Reply(answer)]);
    let reference = temp_dir();
    let reference_config = write_config(reference.path(), &reference_server);
    enqueue(&reference_config, reference.path(), "acme", 1);
    let (output, _, _) = run(memwarden().arg("--config").arg(&reference_config).args(["worker", "--drain"]));
    assert!(output.status.success());
    let store = |root: &Path| -> Vec<(String, String)> {
        files_under(&root.join("data"))
            .into_iter()
            .filter(|(path, _)| path.starts_with("tenants/acme/memory/") || path.starts_with("tenants/acme/pieces/"))
            .collect()
    };
    let resumed = store(dir.path());
    assert_eq!(resumed.len(), 3, "two entries and MEMORY.md: {resumed:#?}");
    assert_eq!(resumed, store(reference.path()));
    let index = &files_under(&dir.path().join("data"))["tenants/acme/snapshots/index.jsonl"];
    assert_eq!(index.lines().count(), 1, "one snapshot, not two");
}

#[test]
fn rollback_restores_the_state_before_a_snapshot_and_records_itself() {
    let dir = temp_dir();
    let (output, _, stderr) = run(memwarden().args(["demo", "--dir"]).arg(dir.path()));
    assert!(output.status.success(), "{stderr}");
    let config = dir.path().join("memwarden.yaml");
    let data = dir.path().join("data");
    let live = |root: &Path| -> Vec<(String, String)> {
        files_under(root)
            .into_iter()
            .filter(|(p, _)| p.starts_with("tenants/acme/memory/") || p.starts_with("tenants/acme/pieces/"))
            .collect()
    };
    let after_all = live(&data);
    let (_, history, _) = run(memwarden().arg("--config").arg(&config).args(["history", "acme"]));
    let ids: Vec<&str> = history.lines().skip(1).filter_map(|l| l.split_whitespace().next()).collect();
    assert_eq!(ids.len(), 6);

    // Undo snapshots 3 to 6: the piece edit, review-rollbacks, the release
    // checklist and the consolidation go away.
    let (output, stdout, stderr) = run(memwarden().arg("--config").arg(&config).args(["rollback", "acme", ids[2]]));
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(stdout.starts_with("undid 4 snapshots"), "{stdout}");
    assert!(stdout.contains("removed   memory/review-rollbacks.md"), "{stdout}");
    assert!(stdout.contains("removed   pieces/plan-implement-review.yaml"), "{stdout}");
    let restored = live(&data);
    assert!(!restored.iter().any(|(p, _)| p.contains("review-rollbacks") || p.contains("pieces/")), "{restored:#?}");
    assert!(restored.iter().any(|(p, _)| p.ends_with("staging-reset.md")), "snapshot 2 is kept");
    assert!(!restored.iter().any(|(p, _)| p.contains("release-checklist")), "{restored:#?}");
    let deploy_order = restored.iter().find(|(p, _)| p.ends_with("deploy-order.md")).expect("deploy-order");
    assert!(!deploy_order.1.contains("smoke tests"), "the consolidation's rewrite is undone");

    // The rollback is a snapshot too, and rolling it back restores the rest.
    let (_, history, _) = run(memwarden().arg("--config").arg(&config).args(["history", "acme"]));
    let rollback_id =
        history.lines().last().and_then(|l| l.split_whitespace().next()).expect("rollback snapshot").to_string();
    assert!(history.lines().last().is_some_and(|l| l.contains("rollback")), "{history}");
    let (output, _, _) = run(memwarden().arg("--config").arg(&config).args(["rollback", "acme", &rollback_id]));
    assert!(output.status.success());
    assert_eq!(live(&data), after_all);

    let (output, _, stderr) =
        run(memwarden().arg("--config").arg(&config).args(["rollback", "acme", "no-such-snapshot"]));
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.contains("no snapshot `no-such-snapshot`") && stderr.contains("[snapshot_not_found]"), "{stderr}");
}

#[tokio::test]
async fn sigterm_lets_the_job_in_flight_finish() {
    let answer = proposal(json!([add("deploy-order", "Run migrations before deploying.")]));
    let server = LlmServer::start(vec![Behaviour::Hang(std::time::Duration::from_millis(1500), answer)]);
    let dir = temp_dir();
    let config = write_config(dir.path(), &server);
    enqueue(&config, dir.path(), "acme", 1);
    let child = memwarden()
        .arg("--config")
        .arg(&config)
        .arg("worker")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("worker starts");
    // Wait until the job's LLM call is in flight, then ask the worker to stop.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while server.requests().is_empty() {
        assert!(std::time::Instant::now() < deadline, "the worker never called the LLM");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("pid");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
    let output = child.wait_with_output().expect("worker exits");
    assert!(output.status.success(), "exit {:?}", output.status);
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("job-1 acme: succeeded"),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(job_status(dir.path(), 1).await.outcome.as_deref(), Some("succeeded"));
}

#[tokio::test]
async fn a_worker_consolidates_the_tenants_its_reflections_left_dirty() {
    let consolidation = json!({
        "reasoning": "migrate-steps repeats deploy-order",
        "memory_changes": [
            {"op": "update", "name": "deploy-order", "description": null, "type": null,
             "body": "Run migrations before deploying; then deploy and check health.", "merge_target": null},
            {"op": "remove", "name": "migrate-steps", "description": null, "type": null, "body": null,
             "merge_target": "deploy-order"},
        ],
        "piece_edit": null,
    });
    let server = LlmServer::start(vec![
        Behaviour::Reply(proposal(json!([add("deploy-order", "Run migrations before deploying.")]))),
        Behaviour::Reply(proposal(json!([add("migrate-steps", "Migrate first, deploy second, check health third.")]))),
        Behaviour::Reply(consolidation.to_string()),
    ]);
    let dir = temp_dir();
    let config = write_config_with(dir.path(), &server, true);
    enqueue(&config, dir.path(), "acme", 2);
    let (output, stdout, stderr) =
        run(memwarden().arg("--config").arg(&config).args(["worker", "--drain", "--concurrency", "1"]));
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("consolidation acme: succeeded, 2 changes"), "{stdout}");
    let files = files_under(&dir.path().join("data"));
    // Merged into deploy-order: kept, marked as superseded, out of the index.
    assert!(files["tenants/acme/memory/migrate-steps.md"].contains("superseded_by: deploy-order"), "{files:#?}");
    assert!(!files["tenants/acme/memory/MEMORY.md"].contains("migrate-steps"));
    assert!(files["tenants/acme/memory/deploy-order.md"].contains("check health"));
    assert!(files["tenants/acme/consolidation/raw_notes.md"].contains("added `migrate-steps`"));
    assert_eq!(server.requests().len(), 3);

    // Clean now: another drain asks nothing.
    let (output, stdout, _) = run(memwarden().arg("--config").arg(&config).args(["worker", "--drain"]));
    assert!(output.status.success() && !stdout.contains("consolidation"), "{stdout}");
    let (output, stdout, _) = run(memwarden().arg("--config").arg(&config).args(["consolidate", "acme"]));
    assert!(output.status.success());
    assert_eq!(stdout.trim(), "consolidation: up to date");
    assert_eq!(server.requests().len(), 3);
}

/// Issue 9, item 1: a job that takes its worker down every time — here a
/// real SIGKILL while the LLM is still working on the answer — spends an
/// attempt per death and ends `dead` with `owner_gone` after `max_attempts`
/// (3) LLM calls, instead of being re-claimed and asked again forever.
#[tokio::test]
async fn issue9_a_job_whose_worker_is_killed_every_time_ends_dead() {
    let answer = proposal(json!([add("deploy-order", "Run migrations before deploying.")]));
    let server = LlmServer::start(vec![Behaviour::Hang(std::time::Duration::from_secs(10), answer)]);
    let dir = temp_dir();
    let config = write_config(dir.path(), &server);
    enqueue(&config, dir.path(), "acme", 1);
    for death in 1..=3 {
        let mut worker = memwarden()
            .arg("--config")
            .arg(&config)
            .arg("worker")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("worker starts");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while server.requests().len() < death {
            assert!(std::time::Instant::now() < deadline, "worker {death} never asked the LLM");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        worker.kill().expect("SIGKILL");
        worker.wait().expect("reaped");
        // The lease (2 s) runs out unrenewed.
        std::thread::sleep(std::time::Duration::from_millis(2300));
    }
    let (output, stdout, stderr) = run(memwarden().arg("--config").arg(&config).args(["worker", "--drain"]));
    assert!(output.status.success(), "{stdout}{stderr}");
    let status = job_status(dir.path(), 1).await;
    assert_eq!(
        (status.status.as_str(), status.outcome.as_deref(), status.last_error_code.as_deref(), status.attempts),
        ("dead", Some("failed"), Some("owner_gone"), 3),
        "{status:?}"
    );
    assert_eq!(server.requests().len(), 3, "the LLM was asked once per attempt, and not again");
    assert!(!files_under(&dir.path().join("data")).keys().any(|p| p.ends_with("deploy-order.md")));
}

#[tokio::test]
async fn issue9_2_a_job_whose_commit_keeps_failing_ends_dead_with_the_store_as_before() {
    let answer = proposal(json!([
        add("deploy-order", "Run migrations before deploying."),
        add("smoke-tests", "Run the smoke tests after every deploy.")
    ]));
    let server = LlmServer::start(vec![Behaviour::Reply(answer)]);
    let dir = temp_dir();
    let config = write_config(dir.path(), &server);
    let text = std::fs::read_to_string(&config).expect("config");
    std::fs::write(&config, text.replace("  poll_millis: 20\n", "  poll_millis: 20\n  max_attempts: 1\n"))
        .expect("config");
    let data = memwarden::store::DataDir::open(&dir.path().join("data")).expect("data dir");
    let tenant = data.tenant("acme").expect("tenant");
    let index = memwarden::store::memory_index(&[]);
    tenant.write_file(&memwarden::store::TenantFile::MemoryIndex, Some(&index)).expect("index");
    // Every attempt fails at the commit: `MEMORY.md` cannot be replaced.
    let frozen = dir.path().join("data/tenants/acme/memory/MEMORY.md");
    let Some(_guard) = crate::store_hardening::Immutable::set(&frozen) else { return };
    let store = |root: &Path| -> Vec<(String, String)> {
        // The policy archive is the host's record of the packs it ran, not
        // the tenant's store.
        let tenant_state =
            |p: &String| !p.starts_with("tenants/acme/consolidation") && !p.starts_with("policy-archive/");
        files_under(root).into_iter().filter(|(p, _)| tenant_state(p)).collect()
    };
    let before = store(&dir.path().join("data"));
    enqueue(&config, dir.path(), "acme", 1);
    let (output, stdout, stderr) = run(memwarden().arg("--config").arg(&config).args(["worker", "--drain"]));
    assert!(output.status.success(), "{stdout}{stderr}");
    let status = job_status(dir.path(), 1).await;
    assert_eq!((status.status.as_str(), status.last_error_code.as_deref()), ("dead", Some("store_io")), "{status:?}");
    let message = status.last_error.unwrap_or_default();
    assert!(message.contains("was undone; the store is as before it"), "the job says which: {message}");
    assert_eq!(store(&dir.path().join("data")), before, "no entry, no snapshot, no index line");
}
