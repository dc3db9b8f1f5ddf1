//! Replay and verification of recorded decisions (issue 13): `memwarden
//! policy replay` decides 50 recorded jobs again under a candidate pack and
//! counts what moves, writing nothing; `memwarden policy verify` finds no
//! difference on the packs that decided them, and reports a module swapped
//! in the policy archive with the jobs it touches.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::llm_server::{Behaviour, LlmServer};
use crate::reflection::proposal;
use crate::serve::{ADMIN_KEY, Server, add_key, call, client, error_code, wait_for_job, write_config};
use crate::util::{memwarden, run, temp_dir};

const JOBS: usize = 50;
/// Pack A: bodies up to 200 bytes, descriptions up to 30.
const PACK_A: &str =
    "name: a\nmodules:\n  - module: size-limits\n    config: { max_body_bytes: 200, max_description_bytes: 30 }\n";
/// Pack B: bodies tightened to 120 bytes, descriptions loosened to 100.
const PACK_B: &str =
    "name: b\nmodules:\n  - module: size-limits\n    config: { max_body_bytes: 120, max_description_bytes: 100 }\n";

/// Job `n` adds one note: a 150-byte body when `n % 3 == 1` (A accepts, B
/// rejects), a 50-byte description when `n % 3 == 2` (A rejects, B
/// accepts), else what both accept — and from job 3 on, that one updates
/// `note-0` instead, so that the replays walk back over replaced entries.
fn note(n: usize) -> String {
    let (op, name) = match n {
        3.. if n.is_multiple_of(3) => ("update", "note-0".to_string()),
        _ => ("add", format!("note-{n}")),
    };
    let body_len = if n % 3 == 1 { 150 } else { 100 };
    let description_len = if n % 3 == 2 { 50 } else { 20 };
    let body = format!("Note {n:03}: ").chars().chain(std::iter::repeat('x')).take(body_len).collect::<String>();
    let description = "d".repeat(description_len);
    proposal(json!([{"op": op, "name": name, "type": "project", "description": description, "body": body}]))
}

/// Every file under `dir` with its SHA-256, SQLite's WAL and shared-memory
/// files aside (a reader may create them; they hold no data once a writer
/// closed cleanly).
fn fingerprint(dir: &Path) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for item in std::fs::read_dir(&at).expect("dir") {
            let path = item.expect("entry").path();
            let name = path.to_string_lossy().to_string();
            if path.is_dir() {
                stack.push(path);
            } else if !name.ends_with("-wal") && !name.ends_with("-shm") {
                files.insert(name, hex::encode(Sha256::digest(std::fs::read(&path).expect("file"))));
            }
        }
    }
    files
}

fn policy(config: &Path, args: &[&str]) -> (bool, Value, String) {
    let (output, stdout, stderr) = run(memwarden().arg("--config").arg(config).arg("policy").args(args));
    let report = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (output.status.success(), report, stderr)
}

#[tokio::test]
async fn replay_counts_what_a_candidate_pack_changes_and_verify_finds_a_swapped_module() {
    let llm = LlmServer::start(vec![Behaviour::ReplyWith(Arc::new(note)); JOBS]);
    let dir = temp_dir();
    let config = write_config(dir.path(), &llm, &format!("sqlite://{}/jobs.db", dir.path().display()));
    let (pack_a, pack_b) = (dir.path().join("a.yaml"), dir.path().join("b.yaml"));
    std::fs::write(&pack_a, PACK_A).expect("pack");
    std::fs::write(&pack_b, PACK_B).expect("pack");
    let mut text = std::fs::read_to_string(&config).expect("config");
    text.push_str(&format!("pack: {}\n", pack_a.display()));
    std::fs::write(&config, text).expect("config");
    let agent = add_key(&config, "acme");

    // 50 jobs, one at a time so that job n gets answer n, under pack A.
    let mut server = Server::start(&config);
    let (http, base) = (client(), server.url.clone());
    let run_body = json!({"piece": "research", "outcome": "failed", "activity_log": "deploy failed"});
    let reflections = format!("{base}/v1/tenants/acme/reflections");
    for n in 0..JOBS {
        let (status, job) = call(&http, Method::POST, &reflections, Some(&agent), Some(run_body.clone())).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{job}");
        let job = wait_for_job(&http, &base, &agent, job["job_id"].as_i64().expect("id")).await;
        let expected = if n % 3 == 2 { "abstained" } else { "succeeded" };
        assert_eq!(job["outcome"], expected, "job {n}: {job}");
    }

    // The API: admin only; the same counts as the CLI below.
    let replay_url = format!("{base}/v1/policy/replay");
    let body = json!({"pack": pack_b.display().to_string(), "tenant": "acme"});
    let (status, err) = call(&http, Method::POST, &replay_url, Some(&agent), Some(body.clone())).await;
    assert_eq!((status, error_code(&err)), (StatusCode::FORBIDDEN, "forbidden"), "{err}");
    let (status, report) = call(&http, Method::POST, &replay_url, Some(ADMIN_KEY), Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let api_totals = report["totals"].clone();
    let bad = json!({"pack": dir.path().join("missing.yaml").display().to_string()});
    let (status, err) = call(&http, Method::POST, &replay_url, Some(ADMIN_KEY), Some(bad)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert!(server.stop(), "serve stops cleanly");
    let before = fingerprint(dir.path());

    // Replay under B: one rule tightened, one loosened.
    let b = pack_b.display().to_string();
    let (ok, report, stderr) = policy(&config, &["replay", "--pack", &b, "--format", "json"]);
    assert!(ok, "{stderr}");
    let (newly_rejected, newly_accepted) =
        ((0..JOBS).filter(|n| n % 3 == 1).count(), (0..JOBS).filter(|n| n % 3 == 2).count());
    let expected = json!({
        "newly_rejected": newly_rejected, "newly_accepted": newly_accepted, "newly_held": 0,
        "reason_changed": 0, "unchanged": JOBS - newly_rejected - newly_accepted,
    });
    assert_eq!(
        (report["jobs"].as_u64(), report["replayed"].as_u64()),
        (Some(JOBS as u64), Some(JOBS as u64)),
        "{report}"
    );
    assert_eq!(report["totals"], expected, "{report}");
    assert_eq!(api_totals, expected);
    let differences = report["differences"].as_array().expect("differences");
    assert_eq!(differences.len(), newly_rejected + newly_accepted);
    let tightened = differences.iter().find(|d| d["after"]["outcome"] == "rejected").expect("a newly rejected change");
    assert_eq!(
        (tightened["after"]["module"].as_str(), tightened["after"]["code"].as_str()),
        (Some("size-limits"), Some("body_too_large")),
        "{tightened}"
    );
    assert_eq!(tightened["before"]["outcome"], "accepted");
    assert_eq!(report["tenants"], json!([{"tenant": "acme", "differences": differences.len()}]));

    // The same pack changes nothing; the table says so in words.
    let a = pack_a.display().to_string();
    let (ok, report, stderr) = policy(&config, &["replay", "--pack", &a, "--format", "json"]);
    assert!(ok, "{stderr}");
    assert_eq!(report["totals"]["unchanged"], JOBS, "{report}");
    let (output, stdout, stderr) = run(memwarden()
        .arg("--config")
        .arg(&config)
        .args(["policy", "replay", "--pack", &b, "--since", "1d", "--limit", "10"]));
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.contains("replay: 10 of 10 jobs decided again"), "{stdout}");

    // Verify: every decision comes out the same on the pack that made it.
    let (ok, report, stderr) = policy(&config, &["verify", "--format", "json"]);
    assert!(ok, "{stderr} {report}");
    assert_eq!(
        (report["replayed"].as_u64(), report["differences"].as_array().map(Vec::len)),
        (Some(JOBS as u64), Some(0)),
        "{report}"
    );
    assert_eq!(report["skipped"], json!([]), "{report}");

    // Nothing was written, by the replays or the verification.
    let after = fingerprint(dir.path());
    let changed: Vec<&String> = before.keys().chain(after.keys()).filter(|f| before.get(*f) != after.get(*f)).collect();
    assert!(changed.is_empty(), "written: {changed:?}");

    // A module swapped in the archive (same place, other bytes) is
    // reported, with every job it decided.
    let archived = std::fs::read_dir(dir.path().join("data/policy-archive/modules"))
        .expect("archive")
        .next()
        .expect("a module")
        .expect("entry")
        .path();
    let mut bytes = std::fs::read(&archived).expect("module");
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&archived, bytes).expect("swap");
    let (ok, report, _) = policy(&config, &["verify", "--format", "json"]);
    assert!(!ok, "a swapped module fails the verification: {report}");
    let skipped = report["skipped"].as_array().expect("skipped");
    assert_eq!(skipped.len(), JOBS, "{report}");
    assert!(skipped.iter().all(|s| s["code"] == "pack_mismatch"), "{report}");
    let message = skipped[0]["reason"].as_str().expect("reason");
    assert!(message.contains("size-limits") && message.contains("sha256"), "{message}");
}
