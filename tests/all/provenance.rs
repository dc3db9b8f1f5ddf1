//! Provenance (issue 12): every version of an entry knows the snapshot,
//! job, agent run and decision it came from, and `memwarden log` shows
//! them newest first with their diffs.

use memwarden::jobs::{JobStore, NewReflection, ReflectionPayload};
use memwarden::policy::RunOutcome;
use memwarden::reflection::{ReportOutcome, now_ms};
use serde_json::json;

use crate::llm_server::Behaviour;
use crate::reflection::{Harness, add, harness, proposal};
use crate::util::{memwarden, run};

/// Runs one reflection of `tenant` on the agent run `source_run`.
async fn reflect_on(h: &Harness, tenant: &str, source_run: &str) -> ReportOutcome {
    let payload = ReflectionPayload {
        piece: "research".into(),
        outcome: RunOutcome::Failed,
        activity_log: "deploy failed".into(),
        source_run: Some(source_run.to_string()),
    };
    let job = NewReflection { tenant: tenant.into(), payload, idempotency_key: None, max_attempts: 1 };
    let jobs = &h.reflector.jobs;
    let id = jobs.enqueue_reflection(&job, now_ms()).await.expect("enqueue").id;
    let claim = jobs.claim_id(id, "test", 60_000, now_ms()).await.expect("claim").expect("claimable");
    h.reflector.run(claim).await.outcome
}

/// `h` with a pack of the standard modules but cooldown: several quick
/// updates of one entry, which cooldown would pace, are what these tests
/// are about. The pack is `no-cooldown.yaml` in `h`'s directory.
fn without_cooldown(h: Harness) -> Harness {
    let path = h.dir.path().join("no-cooldown.yaml");
    let modules =
        "modules:\n  - module: schema\n  - module: size-limits\n  - module: content-guard\n  - module: merge-rules\n";
    std::fs::write(&path, modules).expect("write pack");
    let pack = memwarden::policy::RulePack::load(crate::util::engine(), path.to_str().expect("utf-8")).expect("pack");
    h.reflector.packs.replace(memwarden::policy::PackMap::uniform(pack));
    h
}

fn update(name: &str, body: &str) -> serde_json::Value {
    json!({"op": "update", "name": name, "body": body})
}

#[tokio::test]
async fn each_version_of_an_entry_names_the_run_it_came_from() {
    let answers = [
        proposal(json!([add("deploy-order", "Migrate first.")])),
        proposal(json!([update("deploy-order", "Migrate first, then deploy.")])),
        proposal(json!([update("deploy-order", "Migrate first, then deploy, then run the smoke tests.")])),
    ];
    let h = without_cooldown(harness(answers.into_iter().map(Behaviour::Reply).collect(), |_| {}).await);
    for run_id in ["run-101", "run-102", "run-103"] {
        assert_eq!(reflect_on(&h, "acme", run_id).await, ReportOutcome::Succeeded);
    }

    let tenant = h.reflector.data.tenant("acme").expect("tenant");
    let versions = tenant.entry_history("deploy-order").expect("history");
    let runs: Vec<Option<&str>> = versions.iter().map(|v| v.source_run.as_deref()).collect();
    assert_eq!(runs, [Some("run-103"), Some("run-102"), Some("run-101")], "newest first");
    assert!(versions[2].before.is_none() && versions[0].after.as_deref().is_some_and(|a| a.contains("smoke tests")));
    assert!(versions.iter().all(|v| v.decision_id.as_deref().is_some_and(|id| id.starts_with("dec-"))));
    assert_eq!(versions[0].verdicts.as_ref().map(|v| v["accepted"].clone()), Some(json!(true)));

    let (output, stdout, stderr) =
        run(memwarden().args(["log", "acme", "deploy-order", "--data-dir"]).arg(h.dir.path().join("data")));
    assert!(output.status.success(), "{stderr}");
    let order: Vec<usize> = ["run-103", "run-102", "run-101"].iter().map(|r| stdout.find(r).expect(r)).collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "newest first:\n{stdout}");
    assert!(
        stdout.contains("(reflection, created)")
            && stdout.contains("+Migrate first, then deploy, then run the smoke tests."),
        "{stdout}"
    );

    let (output, _, stderr) =
        run(memwarden().args(["log", "acme", "no-such-entry", "--data-dir"]).arg(h.dir.path().join("data")));
    assert!(!output.status.success() && stderr.contains("[entry_not_found]"), "{stderr}");
}

#[tokio::test]
async fn forgetting_a_run_removes_what_it_created_and_restores_what_it_changed() {
    let answers = [
        proposal(json!([add("deploy-order", "Migrate first.")])),
        proposal(json!([add("release-notes", "Write them last."), update("deploy-order", "Skip the migrations.")])),
    ];
    let h = without_cooldown(harness(answers.into_iter().map(Behaviour::Reply).collect(), |_| {}).await);
    let pack = h.dir.path().join("no-cooldown.yaml");
    std::fs::write(h.dir.path().join("memwarden.yaml"), format!("pack: {}\n", pack.display())).expect("config");
    assert_eq!(reflect_on(&h, "acme", "run-good").await, ReportOutcome::Succeeded);
    assert_eq!(reflect_on(&h, "acme", "run-bad").await, ReportOutcome::Succeeded);
    assert!(h.files()["tenants/acme/memory/deploy-order.md"].contains("Skip the migrations."));

    let (output, stdout, stderr) = run(memwarden()
        .arg("--config")
        .arg(h.dir.path().join("memwarden.yaml"))
        .args(["forget", "acme", "--source-run", "run-bad", "--db"])
        .arg(h.dir.path().join("jobs.db"))
        .arg("--data-dir")
        .arg(h.dir.path().join("data")));
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("removed  release-notes") && stdout.contains("restored deploy-order"), "{stdout}");
    let files = h.files();
    assert!(!files.contains_key("tenants/acme/memory/release-notes.md"), "{files:#?}");
    assert!(files["tenants/acme/memory/deploy-order.md"].contains("Migrate first."));
    assert!(!files["tenants/acme/memory/MEMORY.md"].contains("release-notes"));

    // Recorded as one snapshot, which the entry's history shows.
    let tenant = h.reflector.data.tenant("acme").expect("tenant");
    let kinds: Vec<String> = tenant.snapshots().expect("snapshots").iter().map(|line| line.kind.clone()).collect();
    assert_eq!(kinds, ["reflection", "reflection", "forget"]);
    let versions = tenant.entry_history("deploy-order").expect("history");
    assert_eq!(versions.len(), 3);
    assert_eq!((versions[0].kind.as_str(), versions[1].source_run.as_deref()), ("forget", Some("run-bad")));

    // Nothing of that run is left: forgetting it again writes nothing.
    let done = h.reflector.forget("acme", "run-bad", now_ms()).await.expect("forget");
    assert!(done.snapshot_id.is_none() && done.removed.is_empty() && done.restored.is_empty(), "{done:?}");
}
