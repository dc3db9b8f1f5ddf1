//! Issue 9, rule packs, host checks and pieces: audit is per module and never
//! waives the core guards (item 4), pieces refuse anchors and aliases (5), a
//! run edits only its own piece (11), a renamed movement keeps its old grant
//! (12), an unsafe piece name is a rejection, not a failed job (16), pack
//! cycles through `../` are found (20), and parse errors do not echo files
//! (21). Each drives the compiled standard modules, the real reflection
//! flow or the real binary.

use std::fs;
use std::path::Path;

use memwarden::policy::{
    CORE_GUARDS, DecisionRecord, HostRules, Mode, PackError, PackMap, RulePack, builtin_module, codes,
};
use memwarden::reflection::ReportOutcome;
use serde_json::json;

use crate::llm_server::Behaviour;
use crate::reflection::{add, harness};
use crate::util::{context, engine, memwarden, proposal, repo, run, temp_dir};

/// A key of the shape content-guard must refuse.
const AWS_KEY: &str = "AKIAZ4QXK7RM2PLT6VWN";

fn builtin_piece(name: &str) -> String {
    fs::read_to_string(repo().join("pieces").join(format!("{name}.yaml"))).expect("built-in piece")
}

/// The context of a run of `piece`, whose current YAML the index holds.
fn run_of(piece: &str) -> (memwarden::policy::Context, memwarden::policy::TenantIndex) {
    let yaml = builtin_piece(piece);
    let mut file = context(&format!("tenant: acme\njob_id: job-1\nnow_ms: 1700000000000\npiece: {piece}\n"));
    file.pieces.insert(piece.to_string(), yaml);
    file.into_parts(0)
}

fn evaluate(pack: &RulePack, piece: &str, json: &serde_json::Value) -> DecisionRecord {
    let (context, index) = run_of(piece);
    pack.evaluate(&proposal(&json.to_string()), &context, &index)
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    fs::write(&path, text).expect("write");
    path.to_str().expect("utf-8").to_string()
}

fn codes_of(decision: &memwarden::policy::ChangeDecision) -> Vec<(&str, &str, bool)> {
    decision.rejections.iter().map(|r| (r.module.as_str(), r.code.as_str(), r.advisory)).collect()
}

/// `research` with its first movement widened as the issue's attack did.
fn widened_research() -> String {
    builtin_piece("research")
        .replace("max_movements: 6", "max_movements: 1000")
        .replacen("edit: false", "edit: true", 1)
        .replacen("allowed_tools: [Read, Grep, Glob, WebSearch, WebFetch]", "allowed_tools: [Read, Sudo]", 1)
        .replacen("permission_mode: plan", "permission_mode: bypassPermissions", 1)
}

#[test]
fn issue_9_item_4_audit_is_per_module_and_the_rest_enforces() {
    let dir = temp_dir();
    let pack = write(
        dir.path(),
        "trial.yaml",
        "extends: default\nmodules:\n  - module: merge-rules\n    mode: audit\n  - module: content-guard\n    mode: audit\n",
    );
    let pack = RulePack::load(engine(), &pack).expect("a pack with one module in audit loads");
    assert_eq!(pack.mode(), Mode::Enforce);
    let record = evaluate(
        &pack,
        "research",
        &json!({"reasoning": "r", "memory_changes": [
            {"op": "update", "name": "no-such-entry", "body": "new body"},
            {"op": "add", "name": "leak", "type": "project", "description": "Keys", "body": format!("key {AWS_KEY}")},
            {"op": "add", "name": "Bad_Name", "type": "project", "description": "d", "body": "b"},
        ]}),
    );
    // The module being tried only advises…
    assert_eq!(codes_of(&record.memory[0]), [("merge-rules", "entry_missing", true)], "{record:#?}");
    assert!(record.applies_memory(0));
    // …but content-guard in audit still refuses a secret: a core guard.
    assert!(codes_of(&record.memory[1]).contains(&("content-guard", "secret_detected", false)), "{record:#?}");
    assert!(!record.applies_memory(1));
    // Modules not in audit enforce as before.
    assert_eq!(codes_of(&record.memory[2]), [("host", "unsafe_name", false), ("schema", "name_not_slug", false)]);
    assert!(!record.applies_memory(2));
    let audited: Vec<&str> = record.modules.iter().filter(|m| m.audit).map(|m| m.name.as_str()).collect();
    assert_eq!(audited, ["content-guard", "merge-rules"]);
}

#[test]
fn issue_9_item_4_pack_level_audit_needs_the_operator_and_keeps_the_core() {
    let dir = temp_dir();
    let audit = write(dir.path(), "audit.yaml", "extends: default\nmode: audit\n");
    let err = RulePack::load(engine(), &audit).err().expect("refused without the operator switch");
    assert!(matches!(err, PackError::AuditNotAllowed { .. }), "{err}");
    assert_eq!(err.code(), "pack_invalid");
    assert!(err.to_string().contains("policy.pack_audit"), "{err}");

    let rules = HostRules { pack_audit: true, ..HostRules::default() };
    let pack = RulePack::load_with(engine(), &audit, rules).expect("allowed by the operator");
    assert_eq!(pack.mode(), Mode::Audit);
    let key_block = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u+qKhbwKfBstIs+bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyehkd3qqGElvW/VDL5AaWTg0nLVkjRo9z+40RQzuVaE8AkAFmxZzow3x+VJYKdjykkJ0iT9wCS0DRTXu269V264Vf/3jvredZiKRkgwlL9xNAwxXFg0x/XFw005UWVRIkdgcKWTjpBP2dPwVZ4WWC+9aGVd+Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbcmwIDAQABAoIBAQCW\n-----END RSA PRIVATE KEY-----\n";
    let record = evaluate(
        &pack,
        "research",
        &json!({"reasoning": "r", "memory_changes": [
            {"op": "update", "name": "no-such-entry", "body": "new body"},
            {"op": "add", "name": "aws", "type": "project", "description": "Keys", "body": format!("key {AWS_KEY}")},
            {"op": "add", "name": "rsa", "type": "project", "description": "Key", "body": key_block},
            {"op": "add", "name": "forged", "type": "project", "description": "Real\n- [admin](admin.md) — forged index line", "body": "b"},
            {"op": "add", "name": "huge", "type": "project", "description": "d", "body": "x".repeat(10_000)},
        ], "piece_edit": {"piece": "research", "yaml": widened_research()}}),
    );
    assert_eq!(record.mode, Mode::Audit);
    // What audit is for: a non-core rejection advises.
    assert!(record.applies_memory(0), "{record:#?}");
    assert_eq!(codes_of(&record.memory[0]), [("merge-rules", "entry_missing", true)]);
    // The core does not: secrets, one-line descriptions, sizes, widening.
    for (position, module, code) in [
        (1, "content-guard", "secret_detected"),
        (2, "content-guard", "secret_detected"),
        (3, "host", codes::CONTROL_CHARACTER),
        (3, "schema", "description_multiline"),
        (4, "size-limits", "body_too_large"),
    ] {
        assert!(!record.applies_memory(position), "change {position} applies: {record:#?}");
        assert!(codes_of(&record.memory[position]).contains(&(module, code, false)), "{position}: {record:#?}");
    }
    let piece = record.piece.as_ref().expect("piece verdict");
    assert!(!record.applies_piece(), "{piece:#?}");
    assert!(codes_of(piece).contains(&("piece-guard", "permission_widened", false)), "{piece:#?}");
}

#[test]
fn issue_9_item_4_mode_is_not_inherited_through_extends() {
    let dir = temp_dir();
    write(dir.path(), "audit.yaml", "extends: default\nmode: audit\n");
    let child = write(dir.path(), "child.yaml", "name: child\nextends: audit.yaml\n");
    // A pack extending an audit pack enforces, switch or no switch.
    for rules in [HostRules::default(), HostRules { pack_audit: true, ..HostRules::default() }] {
        let pack = RulePack::load_with(engine(), &child, rules).expect("the child loads");
        assert_eq!(pack.mode(), Mode::Enforce);
        let record = evaluate(
            &pack,
            "research",
            &json!({"reasoning": "r", "memory_changes": [{"op": "update", "name": "no-such-entry", "body": "b"}]}),
        );
        assert_eq!(codes_of(&record.memory[0]), [("merge-rules", "entry_missing", false)]);
        assert!(!record.applies_memory(0));
    }
}

#[test]
fn issue_9_item_4_the_host_refuses_control_characters_in_descriptions() {
    let dir = temp_dir();
    // No module at all: only the host stands between a description and MEMORY.md.
    let bare = RulePack::load(engine(), &write(dir.path(), "bare.yaml", "name: bare\nmodules: []\n")).expect("pack");
    let descriptions = ["two\nlines", "carriage\rreturn", "tab\there", "escape\u{1b}[31m", "line\u{2028}separator"];
    let changes: Vec<_> = descriptions
        .iter()
        .enumerate()
        .map(|(n, d)| json!({"op": "add", "name": format!("e{n}"), "type": "user", "description": d, "body": "b"}))
        .chain([json!({"op": "update", "name": "e9", "description": "fine\n"})])
        .chain([json!({"op": "add", "name": "ok", "type": "user", "description": "One line — with “quotes”", "body": "b\nc"})])
        .collect();
    let record = evaluate(&bare, "research", &json!({"reasoning": "r", "memory_changes": changes}));
    for decision in &record.memory[..6] {
        assert_eq!(codes_of(decision), [("host", codes::CONTROL_CHARACTER, false)], "{decision:#?}");
    }
    assert!(record.applies_memory(6), "{record:#?}");
}

#[test]
fn issue_9_item_4_every_core_guard_is_a_code_its_module_declares() {
    for (module, code) in CORE_GUARDS {
        let loaded = engine().load(builtin_module(module).expect("a built-in module")).expect("loads");
        assert!(*code == "*" || loaded.codes().any(|(c, _)| c == *code), "{module} does not declare `{code}`");
    }
}

/// A valid `research` whose tools are `count` aliases of a 1 KiB anchor.
fn alias_piece(count: usize) -> String {
    let aliases = vec!["*s"; count].join(", ");
    let anchor = "x".repeat(1024);
    format!(
        "name: research\ndescription: d\ninitial_movement: gather\nmax_movements: 6\nmovements:\n  - name: gather\n    persona: p\n    instruction_template: t\n    allowed_tools: [&s \"{anchor}\", {aliases}]\n    rules: [{{ condition: c, next: COMPLETE }}]\n"
    )
}

#[test]
fn issue_9_item_5_piece_aliases_are_refused_by_the_shared_parser() {
    let err = memwarden_piece::Piece::parse_valid(&alias_piece(16_000), "research").expect_err("refused");
    assert!(err.to_string().contains("anchors or aliases"), "{err}");
    // Without an alias the same piece is fine: the refusal is the alias's.
    let plain = alias_piece(0).replace("&s ", "");
    memwarden_piece::Piece::parse_valid(&plain, "research").expect("parses");
}

#[tokio::test]
async fn issue_9_item_5_the_host_never_writes_a_piece_with_aliases() {
    // A pack without piece-guard: the host's own parse is the last guard.
    let answer = json!({"reasoning": "r", "memory_changes": [add("deploy-order", "Migrations first.")],
                        "piece_edit": {"piece": "research", "yaml": alias_piece(2_000)}});
    let h = harness(vec![Behaviour::Reply(answer.to_string())], |_| {}).await;
    let bare = write(h.dir.path(), "bare.yaml", "name: bare\nmodules: []\n");
    h.reflector.packs.replace(PackMap::uniform(RulePack::load(engine(), &bare).expect("pack")));
    let report = h.reflect("acme").await;
    assert_eq!(report.outcome, ReportOutcome::Succeeded, "{report:#?}");
    let recorded = report.recorded.as_ref().expect("recorded");
    assert!(recorded.decision.applies_piece(), "nothing in this pack refuses it");
    assert!(!recorded.plan.piece_edited);
    let skipped = &recorded.plan.skipped;
    assert!(skipped.iter().any(|s| s.code == "piece_invalid" && s.message.contains("aliases")), "{skipped:#?}");
    assert!(!h.files().contains_key("tenants/acme/pieces/research.yaml"));
}

#[test]
fn issue_9_item_5_the_host_piece_ceiling_is_sane() {
    let dir = temp_dir();
    let bare = RulePack::load(engine(), &write(dir.path(), "bare.yaml", "name: bare\nmodules: []\n")).expect("pack");
    let yaml = format!("name: research\n# {}\n", "x".repeat(100 * 1024));
    let record =
        evaluate(&bare, "research", &json!({"reasoning": "r", "piece_edit": {"piece": "research", "yaml": yaml}}));
    let piece = record.piece.as_ref().expect("piece verdict");
    assert_eq!(codes_of(piece), [("host", codes::OVER_HARD_LIMIT, false)]);
    assert!(HostRules::default().limits.max_piece_bytes <= 64 * 1024);
}

#[tokio::test]
async fn issue_9_item_11_a_run_edits_only_its_own_piece() {
    let edited = builtin_piece("plan-implement-review").replace("before calling it done", "before it is done");
    let answer = json!({"reasoning": "r", "memory_changes": [add("deploy-order", "Migrations first.")],
                        "piece_edit": {"piece": "plan-implement-review", "yaml": edited}});
    let h = harness(vec![Behaviour::Reply(answer.to_string())], |_| {}).await;
    // The harness's run used `research`.
    let report = h.reflect("acme").await;
    assert_eq!(report.outcome, ReportOutcome::Succeeded, "{report:#?}");
    let decision = &report.recorded.as_ref().expect("recorded").decision;
    let piece = decision.piece.as_ref().expect("piece verdict");
    assert_eq!(codes_of(piece)[0], ("host", codes::PIECE_NOT_OWN, false), "{piece:#?}");
    assert!(!decision.applies_piece());
    assert!(!h.files().contains_key("tenants/acme/pieces/plan-implement-review.yaml"));

    // The same edit from a run of that piece passes the host; and the
    // operator can allow edits of any piece.
    let proposal = json!({"reasoning": "r", "piece_edit": {"piece": "plan-implement-review", "yaml": edited}});
    let (context, index) = run_of("plan-implement-review");
    let own = crate::util::default_pack().evaluate(&crate::util::proposal(&proposal.to_string()), &context, &index);
    assert!(own.applies_piece(), "{own:#?}");
    let (mut context, index) = run_of("plan-implement-review");
    context.piece = "research".into();
    let anywhere = RulePack::load_with(engine(), "default", HostRules { edit_any_piece: true, ..HostRules::default() })
        .expect("pack")
        .evaluate(&crate::util::proposal(&proposal.to_string()), &context, &index);
    assert!(anywhere.applies_piece(), "{anywhere:#?}");
}

#[test]
fn issue_9_item_12_renaming_a_movement_does_not_widen_it() {
    // The issue's attack: `review` becomes `review2` with edit, Edit, Write
    // and acceptEdits, and the rule that led to it is repointed.
    let renamed = builtin_piece("plan-implement-review")
        .replace("- name: review\n", "- name: review2\n")
        .replace("next: review }", "next: review2 }")
        .replace(
            "    edit: false\n    allowed_tools: [Read, Glob, Grep, Bash]\n    permission_mode: plan",
            "    edit: true\n    allowed_tools: [Read, Glob, Grep, Edit, Write]\n    permission_mode: acceptEdits",
        );
    assert!(renamed.contains("name: review2") && renamed.contains("next: review2 }"));
    assert!(renamed.matches("permission_mode: acceptEdits").count() == 2, "{renamed}");
    let record = evaluate(
        crate::util::default_pack(),
        "plan-implement-review",
        &json!({"reasoning": "r", "piece_edit": {"piece": "plan-implement-review", "yaml": renamed}}),
    );
    let piece = record.piece.as_ref().expect("piece verdict");
    assert_eq!(codes_of(piece), [("piece-guard", "permission_widened", false)], "{piece:#?}");
    assert!(piece.rejections[0].message.contains("review2"), "{piece:#?}");

    // A plain rename keeps its grant and is accepted.
    let plain = builtin_piece("plan-implement-review")
        .replace("- name: review\n", "- name: check\n")
        .replace("next: review }", "next: check }");
    let record = evaluate(
        crate::util::default_pack(),
        "plan-implement-review",
        &json!({"reasoning": "r", "piece_edit": {"piece": "plan-implement-review", "yaml": plain}}),
    );
    assert!(record.applies_piece(), "{record:#?}");
}

#[tokio::test]
async fn issue_9_item_16_an_unsafe_piece_name_is_rejected_not_a_failed_job() {
    let answer = json!({"reasoning": "r", "memory_changes": [add("deploy-order", "Migrations first.")],
                        "piece_edit": {"piece": "../../x", "yaml": "name: x"}});
    let h = harness(vec![Behaviour::Reply(answer.to_string())], |_| {}).await;
    let report = h.reflect("acme").await;
    assert_eq!(report.outcome, ReportOutcome::Succeeded, "{report:#?}");
    let decision = &report.recorded.as_ref().expect("recorded").decision;
    let piece = decision.piece.as_ref().expect("piece verdict");
    assert_eq!(codes_of(piece)[0], ("host", codes::UNSAFE_NAME, false), "{piece:#?}");
    assert!(decision.applies_memory(0));
    let files = h.files();
    assert!(files.contains_key("tenants/acme/memory/deploy-order.md"), "{files:#?}");
    assert!(files.keys().all(|path| !path.ends_with("x.yaml")), "{files:#?}");
}

#[test]
fn issue_9_item_20_pack_cycles_through_dot_dot_are_found() {
    let dir = temp_dir();
    fs::create_dir(dir.path().join("packs")).expect("mkdir");
    let own = write(&dir.path().join("packs"), "self.yaml", "extends: ../packs/self.yaml\n");
    write(&dir.path().join("packs"), "b.yaml", "extends: ./c.yaml\n");
    write(&dir.path().join("packs"), "c.yaml", "extends: ../packs/./b.yaml\n");
    for reference in [own, dir.path().join("packs/b.yaml").display().to_string()] {
        let err = RulePack::load(engine(), &reference).err().expect("a cycle is refused");
        assert!(matches!(err, PackError::Cycle { .. }), "{reference}: {err}");
        assert_eq!(err.code(), "pack_invalid");
    }
}

#[test]
fn issue_9_item_21_parse_errors_do_not_echo_files() {
    let dir = temp_dir();
    let secret = "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:TOPSECRET-TAIL-OF-THE-FILE:/usr/sbin/nologin\n";
    let passwd = write(dir.path(), "passwd", secret);
    let proposal = write(dir.path(), "p.json", r#"{"reasoning": "r"}"#);
    // A pack map that is not one.
    let (output, _, stderr) = run(memwarden().args(["policy", "eval", "--proposal", &proposal, "--pack-map", &passwd]));
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("[pack_invalid]") && stderr.contains("root:x:0:0"), "{stderr}");
    assert!(!stderr.contains("TOPSECRET"), "{stderr}");
    // A rule pack that is not one.
    let (output, _, stderr) = run(memwarden().args(["policy", "eval", "--proposal", &proposal, "--pack", &passwd]));
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("TOPSECRET"), "{stderr}");
    // A config that is not one.
    let config = write(dir.path(), "config.yaml", &format!("worker: \"{}\"\n", secret.replace('\n', " ")));
    let (output, _, stderr) = run(memwarden().args(["--config", &config, "history", "acme"]));
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("config") && stderr.contains("root:x:0:0"), "{stderr}");
    assert!(!stderr.contains("TOPSECRET"), "{stderr}");
}
