//! `memwarden policy …` through the real binary: eval in both formats, packs
//! with `extends`, audit mode and tenant maps, inspect, codes, clear errors,
//! and a scaffolded policy that builds and passes its own cases.

use std::fs;

use serde_json::Value;

use crate::util::{hostile_module, memwarden, run, temp_dir};

const PROPOSAL: &str = r#"{
  "reasoning": "the run showed the deploy order matters",
  "memory_changes": [
    {"op": "add", "name": "deploy-order", "type": "project", "description": "Run migrations before deploying", "body": "Always run migrations before the deploy."},
    {"op": "add", "name": "../escape", "type": "project", "description": "d", "body": "b"},
    {"op": "add", "name": "big", "type": "project", "description": "d", "body": "0123456789ABCDEF"}
  ]
}"#;

fn eval_json(dir: &std::path::Path, extra: &[&str]) -> Value {
    let proposal = dir.join("proposal.json");
    fs::write(&proposal, PROPOSAL).expect("write proposal");
    let (output, stdout, stderr) =
        run(memwarden().args(["policy", "eval", "--format", "json", "--proposal"]).arg(&proposal).args(extra));
    assert!(output.status.success(), "{stderr}");
    serde_json::from_str(&stdout).expect("eval prints JSON")
}

#[test]
fn eval_prints_one_verdict_per_change_as_json() {
    let dir = temp_dir();
    let record = eval_json(dir.path(), &[]);
    let memory = record["memory"].as_array().expect("memory");
    assert_eq!(memory.len(), 3);
    assert_eq!(memory[0]["name"], "deploy-order");
    assert_eq!(memory[0]["accepted"], true);
    assert_eq!(memory[1]["accepted"], false);
    assert_eq!(
        memory[1]["rejections"][0],
        serde_json::json!({"module": "host", "code": "unsafe_name", "message": "name `../escape` contains a path separator"})
    );
    assert_eq!(memory[2]["accepted"], true);
    assert_eq!(record["piece"], Value::Null);
    assert_eq!(record["modules"].as_array().expect("modules").len(), 6);
}

#[test]
fn eval_prints_a_table() {
    let dir = temp_dir();
    let proposal = dir.path().join("proposal.json");
    fs::write(&proposal, PROPOSAL).expect("write proposal");
    let (output, stdout, _) = run(memwarden().args(["policy", "eval", "--proposal"]).arg(&proposal));
    assert!(output.status.success());
    assert!(stdout.starts_with("pack default (revision "), "{stdout}");
    assert!(stdout.contains("2 of 3 changes accepted"), "{stdout}");
    assert!(stdout.lines().any(|l| l.contains("../escape") && l.contains("unsafe_name")), "{stdout}");
}

#[test]
fn a_pack_extends_another_and_overrides_a_config_in_place() {
    let dir = temp_dir();
    fs::write(
        dir.path().join("strict.yaml"),
        "name: strict\nextends: default\nmodules:\n  - module: size-limits\n    config: { max_body_bytes: 10 }\n",
    )
    .expect("write pack");
    let record = eval_json(dir.path(), &["--pack", dir.path().join("strict.yaml").to_str().expect("utf-8")]);
    assert_eq!(record["pack"]["name"], "strict");
    let modules: Vec<&str> =
        record["modules"].as_array().expect("modules").iter().map(|m| m["name"].as_str().expect("name")).collect();
    assert_eq!(modules, ["schema", "size-limits", "content-guard", "merge-rules", "cooldown", "piece-guard"]);
    assert_eq!(record["memory"][2]["rejections"][0]["code"], "body_too_large");
}

#[test]
fn audit_mode_decides_but_marks_the_pack_as_audit() {
    let dir = temp_dir();
    fs::write(dir.path().join("audit.yaml"), "extends: default\nmode: audit\n").expect("write pack");
    let pack = dir.path().join("audit.yaml");
    let record = eval_json(dir.path(), &["--allow-pack-audit", "--pack", pack.to_str().expect("utf-8")]);
    assert_eq!(record["mode"], "audit");
    assert_eq!(record["memory"][1]["accepted"], false, "audit still records the verdict");
}

#[test]
fn a_pack_map_picks_the_pack_by_tenant() {
    let dir = temp_dir();
    let path = |name: &str| dir.path().join(name);
    fs::write(path("tiny.yaml"), "name: tiny\nmodules:\n  - module: size-limits\n    config: { max_body_bytes: 4 }\n")
        .expect("write");
    fs::write(path("packs.yaml"), "default: default\ntenants:\n  acme: tiny.yaml\n").expect("write");
    fs::write(path("acme.json"), r#"{"tenant": "acme"}"#).expect("write");
    fs::write(path("other.json"), r#"{"tenant": "other"}"#).expect("write");
    let map = path("packs.yaml");
    let acme = eval_json(
        dir.path(),
        &["--pack-map", map.to_str().expect("utf-8"), "--context", path("acme.json").to_str().expect("utf-8")],
    );
    assert_eq!(acme["pack"]["name"], "tiny");
    let other = eval_json(
        dir.path(),
        &["--pack-map", map.to_str().expect("utf-8"), "--context", path("other.json").to_str().expect("utf-8")],
    );
    assert_eq!(other["pack"]["name"], "default");
}

#[test]
fn bad_input_gets_one_clear_line_and_a_code() {
    let dir = temp_dir();
    let path = |name: &str| dir.path().join(name);
    fs::write(
        path("bad.json"),
        r#"{"reasoning": "r", "memory_changes": [{"op": "add", "name": "x", "colour": "red"}]}"#,
    )
    .expect("write");
    fs::write(path("ok.json"), PROPOSAL).expect("write");
    fs::write(path("typo.yaml"), "modules:\n  - module: size-limits\n    config: { max_bdy: 1 }\n").expect("write");
    fs::write(path("loop-a.yaml"), "extends: loop-b.yaml\n").expect("write");
    fs::write(path("loop-b.yaml"), "extends: loop-a.yaml\n").expect("write");
    let cases: [(&[&str], &str, &str); 5] = [
        (&["--proposal", "bad.json"], "invalid_proposal", "unknown field `colour`"),
        (&["--proposal", "missing.json"], "io_error", "cannot read proposal `missing.json`"),
        (&["--proposal", "ok.json", "--pack", "typo.yaml"], "module_config_invalid", "unknown field `max_bdy`"),
        (&["--proposal", "ok.json", "--pack", "loop-a.yaml"], "pack_invalid", "extends itself"),
        (
            &["--proposal", "ok.json", "--pack", "nosuch"],
            "pack_unknown_reference",
            "unknown built-in rule pack `nosuch`",
        ),
    ];
    for (args, code, words) in cases {
        let (output, stdout, stderr) = run(memwarden().current_dir(dir.path()).args(["policy", "eval"]).args(args));
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stdout.is_empty());
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("memwarden: ") && stderr.trim_end().ends_with(&format!("[{code}]")), "{stderr}");
        assert!(stderr.contains(words), "{stderr}");
    }
}

#[test]
fn inspect_describes_builtin_and_custom_modules() {
    let (output, stdout, _) = run(memwarden().args(["policy", "inspect", "merge-rules"]));
    assert!(output.status.success(), "{stdout}");
    for line in
        ["world     memwarden:policy@0.1.0", "module    merge-rules 0.1.0", "code      near_duplicate", "loads     yes"]
    {
        assert!(stdout.contains(line), "missing `{line}` in:\n{stdout}");
    }
    assert!(
        stdout.contains("imports   memwarden:policy/types@0.1.0, memwarden:policy/tenant-index@0.1.0")
            || stdout.contains("tenant-index"),
        "{stdout}"
    );

    let (output, stdout, _) = run(memwarden().args(["policy", "inspect", hostile_module()]));
    assert!(output.status.success());
    assert!(stdout.contains("module    hostile 0.1.0"), "{stdout}");
}

#[test]
fn inspect_says_why_a_module_would_not_load() {
    let dir = temp_dir();
    let wasm = dir.path().join("clock.wasm");
    let bytes = wat::parse_str(
        r#"(component (import "wasi:clocks/wall-clock@0.2.0" (instance (export "now" (func (result u64))))))"#,
    )
    .expect("wat");
    fs::write(&wasm, bytes).expect("write");
    let (output, stdout, _) = run(memwarden().args(["policy", "inspect"]).arg(&wasm));
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout.contains("imports   wasi:clocks/wall-clock@0.2.0"), "{stdout}");
    assert!(stdout.contains("loads     no: imports `wasi:clocks/wall-clock@0.2.0`"), "{stdout}");
    assert!(stdout.contains("[module_forbidden_import]"), "{stdout}");
}

#[test]
fn codes_lists_host_and_module_codes() {
    let (output, stdout, _) = run(memwarden().args(["policy", "codes"]));
    assert!(output.status.success());
    for row in
        ["| `policy_error` | host |", "| `body_too_large` | size-limits |", "| `permission_widened` | piece-guard |"]
    {
        assert!(stdout.contains(row), "{row}");
    }
}

#[test]
fn policy_test_fails_with_a_diff_and_exit_code_one() {
    let dir = temp_dir();
    let cases = dir.path().join("cases.yaml");
    fs::write(&cases, "module: size-limits\nconfig: { max_body_bytes: 3 }\ncases:\n  - name: wrong on purpose\n    proposal: { reasoning: r, memory_changes: [{ op: add, name: a, type: user, description: d, body: toolong }] }\n    expect: { memory: [accept] }\n  - name: right\n    proposal: { reasoning: r, memory_changes: [{ op: add, name: a, type: user, description: d, body: ok }] }\n    expect: { memory: [accept] }\n").expect("write");
    let (output, stdout, _) = run(memwarden().args(["policy", "test"]).arg(&cases));
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAIL"), "{stdout}");
    assert!(
        stdout.contains("- expected: accept") && stdout.contains("+ got:      reject [body_too_large]"),
        "{stdout}"
    );
    assert_eq!(stdout.lines().last(), Some("1 passed, 1 failed"));
}

#[test]
fn a_new_policy_builds_and_passes_its_own_cases() {
    let dir = temp_dir();
    let (output, stdout, stderr) = run(memwarden().current_dir(dir.path()).args(["policy", "new", "no-todos"]));
    assert!(output.status.success(), "{stdout}{stderr}");
    let crate_dir = dir.path().join("no-todos");
    // Share compiled dependencies with the standard policies' build.
    let target = crate::util::repo().join("target").join("scaffold-test");
    let (output, stdout, stderr) =
        run(memwarden().current_dir(&crate_dir).env("CARGO_TARGET_DIR", &target).args(["policy", "build", "."]));
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("built no-todos 0.1.0"), "{stdout}");
    // The cases file names the component under ./target; point it at the
    // shared target dir instead.
    let cases = fs::read_to_string(crate_dir.join("cases.yaml")).expect("cases");
    let cases = cases.replace("module: target/", &format!("module: {}/", target.display()));
    fs::write(crate_dir.join("cases.yaml"), cases).expect("write");
    let (output, stdout, _) = run(memwarden().current_dir(&crate_dir).args(["policy", "test", "cases.yaml"]));
    assert!(output.status.success(), "{stdout}");
    assert_eq!(stdout.lines().last(), Some("3 passed, 0 failed"));
}

#[test]
fn new_refuses_a_bad_name_or_an_existing_dir() {
    let dir = temp_dir();
    let (output, _, stderr) = run(memwarden().current_dir(dir.path()).args(["policy", "new", "Bad_Name"]));
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.contains("must be a lowercase slug"), "{stderr}");
    fs::create_dir(dir.path().join("taken")).expect("mkdir");
    let (output, _, stderr) = run(memwarden().current_dir(dir.path()).args(["policy", "new", "taken"]));
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.contains("already exists"), "{stderr}");
}
