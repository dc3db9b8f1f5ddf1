//! `memwarden policy …` through the real binary: eval in both formats, packs
//! with `extends`, audit mode and tenant maps, inspect, codes, clear errors,
//! a scaffolded policy that passes its own cases natively and as a component,
//! and per-subcommand help.

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
fn a_context_file_takes_the_index_fields_and_checks_them_against_the_body() {
    use sha2::{Digest, Sha256};
    let dir = temp_dir();
    let body = "Always run migrations before the deploy.";
    let digest = Sha256::digest(body.as_bytes());
    let body_hash = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    let fingerprint = memwarden_similarity::fingerprint(body);
    let entry = |body_bytes: usize| {
        format!(
            "entries:\n  - {{name: deploy-order, type: project, description: d, body: \"{body}\", body_bytes: {body_bytes}, body_hash: {body_hash}, fingerprint: {fingerprint}}}\n"
        )
    };
    fs::write(dir.path().join("copied.yaml"), entry(body.len())).expect("write");
    let record = eval_json(dir.path(), &["--context", dir.path().join("copied.yaml").to_str().expect("utf-8")]);
    // The entry exists now, so adding it again is refused as a duplicate.
    let codes: Vec<&str> = record["memory"][0]["rejections"]
        .as_array()
        .expect("rejections")
        .iter()
        .map(|r| r["code"].as_str().expect("code"))
        .collect();
    assert!(codes.contains(&"name_exists"), "{record:#}");

    fs::write(dir.path().join("stale.yaml"), entry(3)).expect("write");
    fs::write(dir.path().join("proposal.json"), PROPOSAL).expect("write");
    let (output, _, stderr) = run(memwarden().current_dir(dir.path()).args([
        "policy",
        "eval",
        "--proposal",
        "proposal.json",
        "--context",
        "stale.yaml",
    ]));
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("entry `deploy-order`: body_bytes is 3 but its body gives 40"), "{stderr}");
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
        ["world     memwarden:policy@0.2.0", "module    merge-rules 0.1.0", "code      near_duplicate", "loads     yes"]
    {
        assert!(stdout.contains(line), "missing `{line}` in:\n{stdout}");
    }
    assert!(
        stdout.contains("imports   memwarden:policy/types@0.2.0, memwarden:policy/tenant-index@0.2.0")
            || stdout.contains("tenant-index"),
        "{stdout}"
    );

    let (output, stdout, _) = run(memwarden().args(["policy", "inspect", hostile_module()]));
    assert!(output.status.success());
    assert!(stdout.contains("module    hostile 0.1.0"), "{stdout}");

    // A module of the previous world loads and says which world it speaks.
    let old = crate::util::repo().join("tests/fixtures/policy-0.1/schema.wasm");
    let (output, stdout, _) = run(memwarden().args(["policy", "inspect"]).arg(&old));
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("world     memwarden:policy@0.1.0") && stdout.contains("loads     yes"), "{stdout}");
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

/// The value after `prefix` on the line that starts with it.
fn line_value<'a>(stdout: &'a str, prefix: &str) -> &'a str {
    stdout.lines().find_map(|line| line.strip_prefix(prefix)).unwrap_or_else(|| panic!("no `{prefix}` in:\n{stdout}"))
}

/// Issue 11: a newcomer's crate tests natively with `cargo test`, and builds
/// and tests from any directory with the target dir elsewhere, and `policy
/// test` tests the component the last build wrote.
#[test]
fn a_new_policy_passes_its_cases_natively_and_as_the_component_just_built() {
    let dir = temp_dir();
    let (output, stdout, stderr) = run(memwarden().current_dir(dir.path()).args(["policy", "new", "no-todos"]));
    assert!(output.status.success(), "{stdout}{stderr}");
    let crate_dir = dir.path().join("no-todos");
    for file in [
        ".cargo/config.toml",
        "rustfmt.toml",
        "CASES.md",
        "tests/cases.rs",
        "vendor/memwarden-policy-sdk/src/native.rs",
    ] {
        assert!(crate_dir.join(file).is_file(), "the scaffold has no `{file}`");
    }
    // A target dir outside the crate, shared between runs of this test so
    // that dependencies compile once.
    let target = crate::util::repo().join("target").join("scaffold-test");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());

    // 1. `cargo test` in the crate runs cases.yaml natively; a wrong
    //    expectation fails it.
    let cargo_test = || {
        run(std::process::Command::new(&cargo).current_dir(&crate_dir).env("CARGO_TARGET_DIR", &target).args([
            "test",
            "--",
            "--nocapture",
        ]))
    };
    let (output, stdout, stderr) = cargo_test();
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("4 passed, 0 failed (natively"), "{stdout}");
    let cases_path = crate_dir.join("cases.yaml");
    let cases = fs::read_to_string(&cases_path).expect("cases");
    fs::write(&cases_path, cases.replacen("memory: [[banned_word]]", "memory: [accept]", 1)).expect("write");
    let (output, stdout, stderr) = cargo_test();
    assert!(!output.status.success(), "{stdout}{stderr}");
    let report = format!("{stdout}{stderr}");
    assert!(report.contains("FAIL a note with a banned word is rejected"), "{report}");
    fs::write(&cases_path, &cases).expect("write");

    // 2. From outside the crate, with CARGO_TARGET_DIR set: the build lands
    //    in that target dir, with the crate's 256 KiB stack, and `policy
    //    test` runs the very component it wrote.
    let outside = temp_dir();
    let memwarden_outside = || {
        let mut command = memwarden();
        command.current_dir(outside.path()).env("CARGO_TARGET_DIR", &target);
        command
    };
    let build = || {
        let (output, stdout, stderr) = run(memwarden_outside().args(["policy", "build"]).arg(&crate_dir));
        assert!(output.status.success(), "{stdout}{stderr}");
        let written = target.join("no_todos.component.wasm");
        assert!(stdout.contains(&format!("built no-todos 0.1.0 → {}", written.display())), "{stdout}");
        // The release profile strips rustc's producers section; build puts
        // the language back, so `inspect` can say what the module is.
        assert!(stdout.contains("rust (rustc "), "{stdout}");
        line_value(&stdout, "sha256 ").to_string()
    };
    let policy_test = || run(memwarden_outside().args(["policy", "test"]).arg(&cases_path));
    let first = build();
    // `i32.const 262144; end`: the initial stack pointer (the stack comes
    // first in linear memory), 1 MiB without the crate's config.
    let core = fs::read(target.join("wasm32-unknown-unknown/release/no_todos.wasm")).expect("core module");
    assert!(core.windows(5).any(|w| w == [0x41, 0x80, 0x80, 0x10, 0x0b]), "the stack is not 256 KiB");
    let (output, stdout, stderr) = policy_test();
    assert!(output.status.success(), "{stdout}{stderr}");
    assert_eq!(line_value(&stdout, &format!("{}: module no-todos 0.1.0 sha256 ", cases_path.display())), first);
    assert_eq!(stdout.lines().last(), Some("4 passed, 0 failed"));

    // 3. A source change: `policy test` warns until the next build, which
    //    it then tests (the new default bans a word of the first case).
    let lib = crate_dir.join("src/lib.rs");
    let source = fs::read_to_string(&lib).expect("lib.rs");
    fs::write(&lib, source.replace(r#"vec!["todo".to_string()]"#, r#"vec!["deploy".to_string()]"#)).expect("write");
    let (output, stdout, stderr) = policy_test();
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(stderr.contains("changed after the last build"), "{stderr}");
    let second = build();
    assert_ne!(first, second);
    let (output, stdout, stderr) = policy_test();
    assert_eq!(output.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    assert_eq!(line_value(&stdout, &format!("{}: module no-todos 0.1.0 sha256 ", cases_path.display())), second);
    assert!(stdout.contains("FAIL") && stdout.contains("a finished note is accepted"), "{stdout}");
}

/// Issue 11: `--help` of a subcommand lists its own flags only, and the
/// store flags work before the subcommand as after it.
#[test]
fn subcommand_help_shows_only_its_own_flags() {
    let (output, stdout, _) = run(memwarden().args(["policy", "test", "--help"]));
    assert!(output.status.success());
    for absent in ["--db", "--data-dir", "--config"] {
        assert!(!stdout.contains(absent), "`policy test --help` mentions `{absent}`:\n{stdout}");
    }
    for present in ["--cache-dir", "--no-cache", "docs/policy-cases.md"] {
        assert!(stdout.contains(present), "`policy test --help` lacks `{present}`:\n{stdout}");
    }
    let (_, stdout, _) = run(memwarden().args(["policy", "new", "--help"]));
    assert!(!stdout.contains("--cache-dir") && !stdout.contains("--db"), "{stdout}");
    let (_, stdout, _) = run(memwarden().args(["history", "--help"]));
    assert!(stdout.contains("--db") && stdout.contains("--data-dir") && !stdout.contains("--no-cache"), "{stdout}");

    let dir = temp_dir();
    for args in [&["--data-dir", "DATA", "history", "acme"][..], &["history", "--data-dir", "DATA", "acme"]] {
        let args: Vec<String> = args.iter().map(|a| a.replace("DATA", &dir.path().display().to_string())).collect();
        let (output, stdout, stderr) = run(memwarden().args(&args));
        assert!(output.status.success(), "{args:?}: {stdout}{stderr}");
    }
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

#[test]
fn policy_bench_times_each_module_and_counts_its_fuel() {
    let fixtures = crate::util::repo().join("tests/fixtures");
    let (output, stdout, stderr) = run(memwarden()
        .args(["policy", "bench", "--iterations", "20", "--format", "json", "--proposal"])
        .arg(fixtures.join("proposal.json"))
        .arg("--context")
        .arg(fixtures.join("context.yaml")));
    assert!(output.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!((report["pack"].as_str(), report["iterations"].as_u64()), (Some("default"), Some(20)), "{report}");
    let modules = report["modules"].as_array().expect("modules");
    let names: Vec<&str> = modules.iter().filter_map(|m| m["name"].as_str()).collect();
    assert_eq!(names, ["schema", "size-limits", "content-guard", "merge-rules", "cooldown", "piece-guard"]);
    assert!(modules.iter().all(|m| m["fuel"].as_u64().is_some_and(|f| f > 0) && m["p50_us"].as_f64().is_some()));
    let evaluation = &report["evaluation"];
    let (p50, p99) = (evaluation["p50_us"].as_f64().expect("p50"), evaluation["p99_us"].as_f64().expect("p99"));
    assert!(p50 > 0.0 && p99 >= p50 && report["evaluations_per_second"].as_f64().is_some_and(|r| r > 0.0), "{report}");

    let (output, _, stderr) = run(memwarden()
        .args(["policy", "bench", "--iterations", "0", "--proposal"])
        .arg(fixtures.join("proposal.json")));
    assert!(!output.status.success() && stderr.contains("--iterations"), "{stderr}");
}
