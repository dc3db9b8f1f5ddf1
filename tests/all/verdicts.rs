//! The verdicts of policy world 0.2 and how they combine (issue 12): hold,
//! amend (checked once more, and only description, body or piece YAML may
//! change), change groups that stand or fall together, and 0.1 modules
//! that still load and decide as before.

use memwarden::policy::{AmendedChange, DecisionRecord, RulePack, codes};

use crate::util::{context, engine, hostile_module, memwarden, proposal, repo, run, temp_dir};

/// A pack of `schema` then the hostile test module with `behaviour`.
fn pack_with(behaviour: &str, audit: bool) -> RulePack {
    let dir = temp_dir();
    let path = dir.path().join("pack.yaml");
    let mode = if audit { "\n    mode: audit" } else { "" };
    let yaml = format!(
        "modules:\n  - module: schema\n  - module: {}\n    config: {{ behaviour: {behaviour} }}{mode}\n",
        hostile_module()
    );
    std::fs::write(&path, yaml).expect("write pack");
    RulePack::load(engine(), path.to_str().expect("utf-8")).expect("pack loads")
}

fn evaluate(pack: &RulePack, proposal_json: &str) -> DecisionRecord {
    let (context, index) = context("tenant: acme\njob_id: job-1\nnow_ms: 1\npiece: research").into_parts(0);
    pack.evaluate(&proposal(proposal_json), &context, &index)
}

const TWO_NOTES: &str = r#"{"reasoning": "r", "memory_changes": [
  {"op": "add", "name": "plain", "type": "project", "description": "d", "body": "Run migrations first."},
  {"op": "add", "name": "magic", "type": "project", "description": "d", "body": "The word is XYZZY, twice: XYZZY."}]}"#;

#[test]
fn a_hold_neither_applies_nor_rejects() {
    let record = evaluate(&pack_with("hold_all", false), TWO_NOTES);
    assert_eq!((record.accepted_count(), record.held_count()), (0, 2), "{record:#?}");
    let change = &record.memory[0];
    assert!(change.held && !change.accepted && change.rejections.is_empty(), "{change:#?}");
    assert_eq!((change.holds[0].module.as_str(), change.holds[0].code.as_str()), ("hostile", "hostile_hold"));

    // A module in audit mode only records its hold.
    let audited = evaluate(&pack_with("hold_all", true), TWO_NOTES);
    assert_eq!((audited.accepted_count(), audited.held_count()), (2, 0), "{audited:#?}");
    assert!(audited.memory[0].holds[0].advisory);
}

#[test]
fn an_amended_change_is_checked_once_more_and_applied_amended() {
    let record = evaluate(&pack_with("amend_bodies", false), TWO_NOTES);
    assert_eq!((record.accepted_count(), record.amended_count()), (2, 1), "{record:#?}");
    assert!(record.memory[0].amended.is_none());
    let Some(AmendedChange::Memory(amended)) = &record.memory[1].amended else { panic!("{record:#?}") };
    assert_eq!(amended.body.as_deref(), Some("The word is [redacted], twice: [redacted]."));
    assert_eq!(record.memory[1].amendments[0].code, "hostile_amend");
    // Every module ran once more on the amended proposal.
    let rechecks: Vec<&str> = record.modules.iter().filter(|m| m.recheck).map(|m| m.name.as_str()).collect();
    assert_eq!(rechecks, ["schema", "hostile"]);
    // What is kept of the proposal is the amended text.
    let kept = record.amend(&proposal(TWO_NOTES));
    assert!(!serde_json::to_string(&kept).expect("json").contains("XYZZY"));
    assert!(!serde_json::to_string(&record).expect("json").contains("XYZZY"));

    // In audit mode the amendment is recorded and nothing is amended.
    let audited = evaluate(&pack_with("amend_bodies", true), TWO_NOTES);
    assert_eq!((audited.accepted_count(), audited.amended_count()), (2, 0), "{audited:#?}");
}

#[test]
fn an_amendment_may_not_rename_and_must_settle() {
    let renamed = evaluate(&pack_with("amend_name", false), TWO_NOTES);
    assert_eq!(renamed.accepted_count(), 0, "{renamed:#?}");
    let rejection = &renamed.memory[0].rejections[0];
    assert_eq!((rejection.module.as_str(), rejection.code.as_str()), ("host", codes::AMEND_REFUSED));
    assert!(rejection.message.contains("module `hostile` amended the op, name"), "{}", rejection.message);

    let restless = evaluate(&pack_with("amend_again", false), TWO_NOTES);
    assert_eq!(restless.accepted_count(), 0, "{restless:#?}");
    assert!(restless.memory.iter().all(|d| d.rejections.iter().any(|r| r.code == codes::AMEND_UNSETTLED)));
}

#[test]
fn an_amended_piece_is_applied_as_amended() {
    let with_piece = r#"{"reasoning": "r", "piece_edit": {"piece": "research", "yaml": "name: research"}}"#;
    let record = evaluate(&pack_with("amend_piece", false), with_piece);
    assert_eq!(record.piece_to_apply("name: research"), Some("# amended\nname: research"), "{record:#?}");
}

/// The proposal of issue 12: an update holding a secret, and the removal of
/// the entry it claims to have merged. (The key is not AWS's documented
/// example key, which content-guard knows as a placeholder.)
const LEAKY_MERGE: &str = r#"{"reasoning":"merge","memory_changes":[
 {"op":"update","name":"deploy-order","description":"deploy order","type":"project","body":"Release: 1. migrate 2. deploy 3. smoke tests. Use key AKIAZ4QXK7RM2PLT6VWN."},
 {"op":"remove","name":"release-checklist","merge_target":"deploy-order"}]}"#;

const TWO_ENTRIES: &str = "tenant: acme
job_id: job-1
now_ms: 1
entries:
  - {name: deploy-order, type: project, description: deploy order, body: 'migrate, then deploy'}
  - {name: release-checklist, type: project, description: checklist, body: 'smoke tests after deploy'}
";

#[test]
fn a_merge_whose_update_is_rejected_keeps_the_merged_entry() {
    let dir = temp_dir();
    let (proposal_path, context_path) = (dir.path().join("proposal.json"), dir.path().join("context.yaml"));
    std::fs::write(&proposal_path, LEAKY_MERGE).expect("write proposal");
    std::fs::write(&context_path, TWO_ENTRIES).expect("write context");
    let (output, stdout, stderr) = run(memwarden()
        .args(["policy", "eval", "--format", "json", "--pack", "default"])
        .args(["--proposal".as_ref(), proposal_path.as_os_str(), "--context".as_ref(), context_path.as_os_str()]));
    assert!(output.status.success(), "{stderr}");
    let record: DecisionRecord = serde_json::from_str(&stdout).expect("a decision record");
    let codes_of = |i: usize| record.memory[i].rejections.iter().map(|r| r.code.clone()).collect::<Vec<_>>();
    assert!(codes_of(0).contains(&"secret_detected".to_string()), "{record:#?}");
    assert_eq!(codes_of(1), [codes::GROUP_MEMBER_REJECTED], "{record:#?}");
    assert!(record.memory[1].rejections[0].message.contains("the update of `deploy-order`"));
    assert_eq!(record.accepted_count(), 0);
}

#[test]
fn a_rename_stands_or_falls_as_one() {
    let rename = r#"{"reasoning":"rename","memory_changes":[
     {"op":"add","name":"deploy-steps","type":"project","description":"d","body":"migrate, then deploy with AKIAZ4QXK7RM2PLT6VWN"},
     {"op":"remove","name":"deploy-order","merge_target":"deploy-steps"}]}"#;
    let pack = RulePack::load(engine(), "default").expect("default pack");
    let (context, index) = context(TWO_ENTRIES).into_parts(0);
    let record = pack.evaluate(&proposal(rename), &context, &index);
    let codes_of = |i: usize| record.memory[i].rejections.iter().map(|r| r.code.as_str()).collect::<Vec<_>>();
    assert_eq!(codes_of(0), ["secret_detected"], "{record:#?}");
    assert_eq!(codes_of(1), [codes::GROUP_MEMBER_REJECTED], "{record:#?}");
}

/// Components built against world 0.1 before 0.2 existed, kept as they were
/// built (`tests/fixtures/policy-0.1/`).
const V0_1_FIXTURES: [&str; 3] = ["schema", "size-limits", "cooldown"];

#[test]
fn modules_of_world_0_1_still_load_and_decide_as_before() {
    let fixtures = repo().join("tests/fixtures/policy-0.1");
    let dir = temp_dir();
    let pack_of = |module: &dyn Fn(&str) -> String| {
        let modules: String = V0_1_FIXTURES.iter().map(|name| format!("  - module: {}\n", module(name))).collect();
        format!("modules:\n{modules}")
    };
    let old = dir.path().join("old.yaml");
    std::fs::write(&old, pack_of(&|name| fixtures.join(format!("{name}.wasm")).display().to_string()))
        .expect("write pack");
    let new = dir.path().join("new.yaml");
    std::fs::write(&new, pack_of(&|name| name.to_string())).expect("write pack");
    let old = RulePack::load(engine(), old.to_str().expect("utf-8")).expect("0.1 modules load");
    let new = RulePack::load(engine(), new.to_str().expect("utf-8")).expect("0.2 modules load");
    assert!(old.modules().all(|m| m.world() == "0.1") && new.modules().all(|m| m.world() == "0.2"));

    // The same verdicts on every case of the corpus.
    let mut cases = 0;
    for file in std::fs::read_dir(repo().join("tests/corpus")).expect("corpus").flatten() {
        if file.path().extension().is_none_or(|e| e != "jsonl") {
            continue;
        }
        for line in std::fs::read_to_string(file.path()).expect("read corpus").lines().filter(|l| !l.is_empty()) {
            let case: serde_json::Value = serde_json::from_str(line).expect("corpus line");
            let proposal = memwarden::policy::Proposal::from_json(&case["proposal"].to_string()).expect("proposal");
            let (context, index) = context("tenant: acme\njob_id: job-1\nnow_ms: 1").into_parts(0);
            let verdicts = |pack: &RulePack| {
                let record = pack.evaluate(&proposal, &context, &index);
                record.memory.iter().map(|d| (d.accepted, d.rejections.clone())).collect::<Vec<_>>()
            };
            assert_eq!(verdicts(&old), verdicts(&new), "case {}", case["id"]);
            cases += 1;
        }
    }
    assert!(cases > 900, "{cases} cases");
}

#[test]
fn a_merge_that_cannot_be_carried_out_is_skipped_whole() {
    use memwarden::store::{DataDir, Entry, TenantFile, memory_index};
    // A pack without merge-rules accepts the update of an entry that does
    // not exist; apply cannot carry it out, so the removal merged into it
    // must not go through either.
    let dir = temp_dir();
    let tenant = DataDir::open(&dir.path().join("data")).expect("data dir").tenant("acme").expect("tenant");
    let checklist = Entry {
        name: "release-checklist".to_string(),
        description: "checklist".to_string(),
        entry_type: "project".to_string(),
        body: "smoke tests after deploy".to_string(),
    };
    tenant.write_file(&TenantFile::Entry(checklist.name.clone()), Some(&checklist.to_markdown())).expect("seed");
    tenant.write_file(&TenantFile::MemoryIndex, Some(&memory_index(std::slice::from_ref(&checklist)))).expect("seed");
    let merge = r#"{"reasoning":"merge","memory_changes":[
     {"op":"update","name":"deploy-order","body":"migrate, deploy, then smoke tests"},
     {"op":"remove","name":"release-checklist","merge_target":"deploy-order"}]}"#;
    let schema_only =
        RulePack::single(engine(), "schema", std::path::Path::new("/"), serde_json::Value::Null).expect("schema loads");
    let record = evaluate(&schema_only, merge);
    assert_eq!(record.accepted_count(), 2, "{record:#?}");

    let entries = tenant.entries().expect("entries");
    let plan = memwarden::flow::plan::build(&tenant, &entries, &proposal(merge), &record).expect("plan");
    assert!(plan.changes.is_empty(), "nothing is written: {plan:#?}");
    let codes: Vec<(&str, &str)> = plan.skipped.iter().map(|s| (s.name.as_str(), s.code.as_str())).collect();
    assert_eq!(codes, [("deploy-order", "entry_missing"), ("release-checklist", "group_member_skipped")]);
}

/// Every file under `root`, as bytes: the data directory and the job
/// database with its journal.
fn every_byte_under(root: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                found.push((path, bytes));
            }
        }
    }
    found
}

#[tokio::test]
async fn a_redacted_secret_is_applied_redacted_and_reaches_no_disk() {
    use crate::llm_server::Behaviour;
    use crate::reflection::{add, harness, proposal};
    use memwarden::policy::PackMap;
    use memwarden::reflection::ReportOutcome;

    const KEY: &str = "AKIAZ4QXK7RM2PLT6VWN";
    let body = format!("Release: migrate, deploy.\nUse key {KEY} for the bucket.\nThen smoke tests.");
    let answer = proposal(serde_json::json!([add("bucket-access", &body), add("deploy-order", "Migrate first.")]));
    let mut h = harness(vec![Behaviour::Reply(answer)], |_| {}).await;
    let pack_path = h.dir.path().join("redacting.yaml");
    std::fs::write(
        &pack_path,
        "extends: default\nmodules:\n  - module: content-guard\n    config: { on_secret: redact }\n",
    )
    .expect("write pack");
    let pack = RulePack::load(engine(), pack_path.to_str().expect("utf-8")).expect("pack loads");
    h.reflector.packs.replace(PackMap::uniform(pack));
    h.reflector.settings.keep_raw_output = true;

    let report = h.reflect("acme").await;
    assert_eq!(report.outcome, ReportOutcome::Succeeded, "{report:#?}");
    let files = h.files();
    let entry = &files["tenants/acme/memory/bucket-access.md"];
    assert!(entry.contains("Use key [redacted: ") && entry.contains("for the bucket.\nThen smoke tests."), "{entry}");
    assert!(files.contains_key("tenants/acme/memory/deploy-order.md"));

    // Nowhere on disk: not in the data directory, not in the job database.
    for (path, bytes) in every_byte_under(h.dir.path()) {
        let leaked = bytes.windows(KEY.len()).any(|window| window == KEY.as_bytes());
        assert!(!leaked, "the key is in {}", path.display());
    }
}
