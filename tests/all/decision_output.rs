//! What a proposal costs to record and what it may print (issue 9, items 7
//! and 15): a proposal over the change ceiling is refused whole with one
//! small rejection, the record of any proposal stays bounded, and no LLM
//! text reaches the operator's terminal unescaped. Also what the fuzzer of
//! item 25 found (`fuzz.rs`).

use std::path::Path;

use memwarden::jobs::JobStore;
use memwarden::policy::{ContextFile, HardLimits, Proposal, codes};
use memwarden::reflection::ReportOutcome;
use serde_json::json;

use crate::llm_server::Behaviour;
use crate::reflection::harness;
use crate::util::{default_pack, memwarden, run, temp_dir};

/// A proposal of `count` removals, as compact as an LLM can write it: names
/// in base 36.
fn removals(count: usize) -> String {
    let name = |mut i: usize| {
        let mut name = String::new();
        loop {
            name.push(char::from_digit((i % 36) as u32, 36).expect("a digit"));
            i /= 36;
            if i == 0 {
                return name;
            }
        }
    };
    let changes: Vec<_> = (0..count).map(|i| json!({"op": "remove", "name": name(i)})).collect();
    json!({"reasoning": "prune", "memory_changes": changes}).to_string()
}

#[test]
fn issue9_item7_a_proposal_over_the_change_ceiling_is_refused_whole_before_any_module() {
    // 35,000 removals in under the 1 MiB parse limit, as in the report.
    let text = removals(35_000);
    assert!(text.len() < 1 << 20, "{} bytes", text.len());
    let proposal = Proposal::from_json(&text).expect("parses");
    let (context, index) = ContextFile::default().into_parts(0);
    let record = default_pack().evaluate(&proposal, &context, &index);

    let refusal = record.refused.as_ref().expect("refused as a whole");
    assert_eq!(refusal.rejection.code, codes::OVER_HARD_LIMIT);
    assert_eq!(refusal.rejection.module, "host");
    assert!(!refusal.rejection.advisory);
    assert_eq!(refusal.changes, 35_000);
    assert!(record.memory.is_empty() && record.piece.is_none(), "one rejection, not one per change");
    assert!(record.modules.is_empty(), "no module ran: {:?}", record.modules);
    assert_eq!(record.accepted_count(), 0);
    assert_eq!(record.proposed_count(), 35_000);
    assert!((0..35_000).all(|i| !record.applies_memory(i)));
    let size = serde_json::to_string(&record).expect("serialises").len();
    assert!(size < 2048, "the record is {size} bytes");
}

#[test]
fn issue9_item7_the_ceiling_itself_is_still_decided_change_by_change() {
    let max = HardLimits::default().max_changes;
    let proposal = Proposal::from_json(&removals(max)).expect("parses");
    let (context, index) = ContextFile::default().into_parts(0);
    let record = default_pack().evaluate(&proposal, &context, &index);
    assert!(record.refused.is_none());
    assert_eq!(record.memory.len(), max);
    assert!(!record.modules.is_empty());
}

#[test]
fn issue9_item7_the_record_of_a_proposal_at_the_ceiling_is_bounded() {
    // 256 changes whose names are long runs of control characters: every
    // module and the host reject each, quoting the name, escaped ×6.
    let max = HardLimits::default().max_changes;
    let name = "\u{1}".repeat(600);
    let changes: Vec<_> = (0..max).map(|i| json!({"op": "remove", "name": format!("{name}{i}")})).collect();
    let text = json!({"reasoning": "r", "memory_changes": changes}).to_string();
    assert!(text.len() < 1 << 20, "{} bytes", text.len());
    let proposal = Proposal::from_json(&text).expect("parses");
    let (context, index) = ContextFile::default().into_parts(0);
    let record = default_pack().evaluate(&proposal, &context, &index);
    assert!(record.memory.iter().all(|d| !d.accepted && d.rejections.iter().any(|r| r.code == "unsafe_name")));
    assert!(record.memory.iter().all(|d| d.name.len() <= 128 + '…'.len_utf8()), "names are cut");
    let size = serde_json::to_string(&record).expect("serialises").len();
    assert!(size < 512 * 1024, "the record is {size} bytes for a {}-byte proposal", text.len());
}

#[tokio::test]
async fn issue9_item7_a_refused_proposal_stores_a_small_record_and_snapshot() {
    let text = removals(35_000);
    let h = harness(vec![Behaviour::Reply(text.clone())], |_| {}).await;
    let report = h.reflect("acme").await;
    assert_eq!(report.outcome, ReportOutcome::Abstained, "{:?}", report.outcome);

    // The job row holds the proposal as parsed (bounded by the parse
    // limit) and a decision of a few hundred bytes: not 20 MB.
    let status = h.reflector.jobs.job(report.job).await.expect("job").expect("exists");
    let row = status.recorded.expect("recorded");
    assert!(row.len() < text.len() + 16 * 1024, "the row is {} bytes for a {}-byte proposal", row.len(), text.len());
    let recorded: serde_json::Value = serde_json::from_str(&row).expect("json");
    assert_eq!(recorded["decision"]["refused"]["code"], "over_hard_limit");
    assert_eq!(recorded["decision"]["memory"], json!([]));

    // The snapshot file: not 29 MB.
    let snapshot = report.snapshot_id.as_deref().expect("a snapshot");
    let file = h.dir.path().join("data/tenants/acme/snapshots").join(format!("{snapshot}.json"));
    let size = std::fs::metadata(&file).expect("snapshot file").len();
    assert!(size < 16 * 1024, "the snapshot is {size} bytes");
    assert!(!h.files().keys().any(|path| path.contains("/memory/") && path.ends_with(".md")));
}

/// A proposal whose every text field tries to drive the terminal.
fn hostile_answer() -> serde_json::Value {
    json!({
        "reasoning": "done\u{1b}]0;pwned\u{7}\u{1b}[2J\r",
        "memory_changes": [
            {"op": "add", "name": "evil\u{1b}[31m", "type": "project", "description": "d", "body": "b"},
            {"op": "add", "name": "deploy-order", "type": "project",
             "description": "Run migrations before deploying", "body": "Run the migrations first."},
            {"op": "remove", "name": "gone\u{1b}[2J\u{7}"}
        ]
    })
}

/// No raw ESC, BEL, CSI or CR in `out`, and the escape is shown instead.
fn assert_escaped(what: &str, out: &str) {
    for c in ['\u{1b}', '\u{7}', '\u{9b}', '\r'] {
        assert!(!out.contains(c), "{what} printed a raw {:?}:\n{}", c, out.escape_debug());
    }
    assert!(out.contains("\\u{1b}"), "{what} shows the escape:\n{out}");
}

#[test]
fn issue9_item15_policy_eval_escapes_names_and_messages() {
    let dir = temp_dir();
    let path = dir.path().join("proposal.json");
    let mut answer = hostile_answer();
    // A C1 control (CSI), which JSON carries raw and YAML scripts refuse.
    answer["memory_changes"][0]["name"] = json!("evil\u{9b}31m\u{1b}[31m");
    std::fs::write(&path, answer.to_string()).expect("write");
    let (output, stdout, stderr) = run(memwarden().args(["policy", "eval", "--proposal"]).arg(&path));
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.contains("unsafe_name"), "{stdout}");
    assert_escaped("policy eval", &stdout);
}

fn write_config(dir: &Path) -> std::path::PathBuf {
    let script = json!({"responses": [{"proposal": hostile_answer()}]});
    std::fs::write(dir.join("script.json"), script.to_string()).expect("script");
    std::fs::write(dir.join("run.log"), "tests failed: migration missing\n").expect("log");
    let config = dir.join("memwarden.yaml");
    let text = format!(
        "data_dir: {0}/data\nllm:\n  provider: scripted\n  script: {0}/script.json\nworker:\n  max_attempts: 1\n",
        dir.display()
    );
    std::fs::write(&config, text).expect("config");
    config
}

#[test]
fn issue9_item15_reflect_history_and_show_escape_llm_text() {
    let dir = temp_dir();
    let config = write_config(dir.path());
    let (output, stdout, stderr) = run(memwarden()
        .arg("--config")
        .arg(&config)
        .args(["reflect", "--tenant", "acme", "--piece", "research", "--outcome", "failed", "--activity-log"])
        .arg(dir.path().join("run.log")));
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert_escaped("reflect", &stdout);

    let (output, history, stderr) = run(memwarden().arg("--config").arg(&config).args(["history", "acme"]));
    assert!(output.status.success(), "{stderr}");
    let id = history.lines().nth(1).and_then(|line| line.split_whitespace().next()).expect("a snapshot").to_string();
    assert!(!history.contains('\u{1b}'), "{}", history.escape_debug());

    let (output, show, stderr) = run(memwarden().arg("--config").arg(&config).args(["show", "acme", &id]));
    assert!(output.status.success(), "{stderr}");
    assert!(show.contains("reason   done\\u{1b}]0;pwned\\u{7}"), "{show}");
    assert!(show.contains("deploy-order"), "{show}");
    assert_escaped("show", &show);
}

#[test]
fn issue9_item25_a_description_the_store_could_not_read_back_is_refused() {
    // Found by the fuzzer: the store wrote a description holding U+FFFE,
    // which YAML refuses, so the entry could not be read back.
    let text = json!({"reasoning": "r", "memory_changes": [
        {"op": "add", "name": "a", "type": "user", "description": "x\u{fffe}", "body": "b"},
        {"op": "add", "name": "b", "type": "user", "description": "x\u{ffff}", "body": "b"},
        {"op": "add", "name": "c", "type": "user", "description": "x\u{fdd0}", "body": "b"},
    ]})
    .to_string();
    let proposal = Proposal::from_json(&text).expect("parses");
    let (context, index) = ContextFile::default().into_parts(0);
    let record = default_pack().evaluate(&proposal, &context, &index);
    for decision in &record.memory {
        let host: Vec<&str> =
            decision.rejections.iter().filter(|r| r.module == "host").map(|r| r.code.as_str()).collect();
        assert_eq!(host, [codes::CONTROL_CHARACTER], "{decision:#?}");
    }
}
