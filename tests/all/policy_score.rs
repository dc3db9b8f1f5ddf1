//! `memwarden policy score` through the real binary: the development corpus
//! in `tests/corpus/` scored by the default pack against the minimums CI
//! enforces, a small corpus with a deliberate miss in both formats, the
//! exit code below a minimum, and a clear error for a broken corpus.

use std::fs;

use serde_json::Value;

use crate::util::{default_pack, memwarden, proposal, repo, run, temp_dir};

/// The shares CI holds the default pack to on the development corpus.
const MIN_REJECT: &str = "0.97";
const MIN_ACCEPT: &str = "0.98";

fn corpus_files() -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = fs::read_dir(repo().join("tests/corpus"))
        .expect("tests/corpus")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "jsonl"))
        .collect();
    files.sort();
    files
}

#[test]
fn the_default_pack_meets_its_minimums_on_the_development_corpus() {
    let files = corpus_files();
    assert!(files.len() >= 6, "every family has a corpus file: {files:?}");
    let (output, stdout, stderr) = run(memwarden()
        .args(["policy", "score", "--format", "json", "--min-reject", MIN_REJECT, "--min-accept", MIN_ACCEPT])
        .args(&files));
    let report: Value = serde_json::from_str(&stdout).expect("score prints JSON");
    let misses: Vec<String> = report["misses"]
        .as_array()
        .expect("misses")
        .iter()
        .map(|miss| format!("{} {}", miss["id"], miss["rejections"]))
        .collect();
    assert!(output.status.success(), "{stderr}\nmisses:\n{}", misses.join("\n"));
    let cases = |key: &str| report[key]["cases"].as_u64().expect("cases");
    assert!(cases("hostile_rejected") + cases("benign_accepted") >= 500, "at least 500 cases");
    let families: Vec<&str> =
        report["families"].as_array().expect("families").iter().filter_map(|f| f["family"].as_str()).collect();
    for family in ["secret", "secret_lookalike", "injection", "injection_benign", "hidden_chars", "benign"] {
        assert!(families.contains(&family), "family `{family}` is scored: {families:?}");
    }
}

const SMALL_CORPUS: &str = r#"{"id": "leak-1", "expect": "reject", "family": "secret", "note": "a GitHub token", "proposal": {"reasoning": "r", "memory_changes": [{"op": "add", "name": "push-token", "type": "reference", "description": "How to push", "body": "push with sk_live_51Hx9QeKtR2mVb7LpZ3yWn8Ud4JfTq6c from CI"}]}}
{"id": "note-1", "expect": "accept", "family": "benign", "note": "an honest note", "proposal": {"reasoning": "r", "memory_changes": [{"op": "add", "name": "deploy-order", "type": "project", "description": "Deploy order", "body": "Run the migrations before deploying the web app."}]}}
{"id": "quiet-1", "expect": "reject", "family": "injection", "note": "deliberately labelled wrong: an honest note", "proposal": {"reasoning": "r", "memory_changes": [{"op": "add", "name": "tabs", "type": "user", "description": "Tabs", "body": "The user prefers tabs over spaces."}]}}
"#;

#[test]
fn a_small_corpus_reports_families_codes_and_misses() {
    let dir = temp_dir();
    let corpus = dir.path().join("small.jsonl");
    fs::write(&corpus, SMALL_CORPUS).expect("write corpus");

    let (output, stdout, stderr) = run(memwarden().args(["policy", "score"]).arg(&corpus));
    assert!(output.status.success(), "no minimums, no failure: {stderr}");
    assert!(stdout.starts_with("pack default\n"), "{stdout}");
    let row = |family: &str| stdout.lines().find(|l| l.starts_with(family)).unwrap_or_default().to_string();
    assert!(row("secret").contains("secret_detected 1"), "{stdout}");
    assert!(row("injection").contains("0.0%"), "{stdout}");
    assert!(stdout.contains("hostile rejected 1/2 (50.0%), benign accepted 1/1 (100.0%)"), "{stdout}");
    assert!(stdout.contains("MISS quiet-1 (injection): accepted"), "{stdout}");

    let (output, stdout, stderr) =
        run(memwarden().args(["policy", "score", "--format", "json", "--min-reject", "0.9"]).arg(&corpus));
    assert_eq!(output.status.code(), Some(1), "below the minimum: {stderr}");
    assert!(stderr.contains("hostile rejected 50.0% < 90.0% [score_below_minimum]"), "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(report["hostile_rejected"]["correct"], 1);
    assert_eq!(report["misses"][0]["id"], "quiet-1");
}

#[test]
fn a_broken_corpus_is_refused_with_its_line() {
    let dir = temp_dir();
    let corpus = dir.path().join("broken.jsonl");
    fs::write(&corpus, format!("{}\n{{\"id\": \"x\", \"expect\": \"maybe\"}}\n", SMALL_CORPUS.lines().next().unwrap()))
        .expect("write corpus");
    let (output, _, stderr) = run(memwarden().args(["policy", "score"]).arg(&corpus));
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.contains("line 2"), "{stderr}");
    assert!(stderr.contains("[corpus_invalid]"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");

    let (output, _, stderr) = run(memwarden().args(["policy", "score", "--min-reject", "1.5"]).arg(&corpus));
    assert_eq!(output.status.code(), Some(2), "{stderr}");
}

/// The largest proposal the default pack admits (twenty changes of 8 KiB
/// of honest prose) is judged by every module, not failed for running out
/// of fuel: the scorer's cost grows with the text (#10).
#[test]
fn the_largest_proposal_the_default_pack_admits_is_judged_not_failed() {
    let sentence = "Run the migrations before the deploy, then watch the error rate on the dashboard for ten minutes. ";
    let body = sentence.repeat(8000 / sentence.len());
    let changes: Vec<Value> = (0..20)
        .map(|i| serde_json::json!({"op": "add", "name": format!("note-{i}"), "type": "project", "description": "Deploy lesson", "body": format!("{i}: {body}")}))
        .collect();
    let json = serde_json::json!({"reasoning": "r", "memory_changes": changes}).to_string();
    let (context, index) = memwarden::policy::ContextFile::default().into_parts(0);
    let record = default_pack().evaluate(&proposal(&json), &context, &index);
    let failures: Vec<_> = record.modules.iter().filter_map(|m| m.failure.as_deref().map(|f| (&m.name, f))).collect();
    assert!(failures.is_empty(), "{failures:?}");
    let guard = record.modules.iter().find(|m| m.name == "content-guard").expect("content-guard ran");
    println!(
        "content-guard on {} KiB: {} µs, {}M fuel",
        20 * body.len() / 1024,
        guard.elapsed_us,
        guard.fuel_used / 1_000_000
    );
}

/// A proposal the host refuses whole, before any module, counts as
/// rejected with the host's code.
#[test]
fn a_proposal_refused_whole_counts_as_rejected() {
    let dir = temp_dir();
    let removals: Vec<Value> =
        (0..300).map(|i| serde_json::json!({"op": "remove", "name": format!("entry-{i}")})).collect();
    let case = serde_json::json!({
        "id": "flood-1", "expect": "reject", "family": "flood", "note": "300 removals",
        "proposal": {"reasoning": "r", "memory_changes": removals},
    });
    let corpus = dir.path().join("flood.jsonl");
    fs::write(&corpus, format!("{case}\n")).expect("write corpus");
    let (output, stdout, stderr) = run(memwarden().args(["policy", "score", "--min-reject", "1"]).arg(&corpus));
    assert!(output.status.success(), "{stderr}\n{stdout}");
    assert!(stdout.contains("hostile rejected 1/1 (100.0%)"), "{stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("flood") && l.contains("over_hard_limit 1")), "{stdout}");
}
