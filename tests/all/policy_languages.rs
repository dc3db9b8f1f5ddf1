//! Policies in Python and TypeScript, through the real binary: `policy new
//! --lang` → `policy build` (componentize-py, ComponentizeJS) → `policy
//! test`; the ported standard policies give the Rust modules' verdicts on
//! the Rust modules' own cases; hostile guests in both languages are
//! contained and the engine keeps deciding.
//!
//! The toolchains are pinned in `guest-policies/python/requirements.txt`
//! and `guest-policies/js/package.json`; `.ci/run` installs them and puts
//! their directories in `MEMWARDEN_PYTHON_TOOLCHAIN` / `MEMWARDEN_JS_TOOLCHAIN`
//! (else they are looked for on `PATH`). Without them these tests say
//! `skipped`, unless `MEMWARDEN_REQUIRE_GUEST_TOOLCHAINS` is set.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use memwarden::policy::{DecisionRecord, RulePack, codes, guest::Language};
use serde_json::json;

use crate::util::{context, default_pack, engine, memwarden, proposal, repo, run, temp_dir};

#[derive(Clone, Copy)]
enum Lang {
    Python,
    Js,
}

impl Lang {
    fn flag(self) -> &'static str {
        match self {
            Lang::Python => "python",
            Lang::Js => "js",
        }
    }

    /// The tool `policy build` needs, the variable naming its directory.
    fn toolchain(self) -> (&'static str, &'static str) {
        match self {
            Lang::Python => ("componentize-py", "MEMWARDEN_PYTHON_TOOLCHAIN"),
            Lang::Js => ("componentize-js", "MEMWARDEN_JS_TOOLCHAIN"),
        }
    }

    /// Where a project keeps the policy's source.
    fn source(self) -> &'static str {
        match self {
            Lang::Python => "policy.py",
            Lang::Js => "src/policy.ts",
        }
    }
}

/// `PATH` with the language's toolchain first, or `None` (skip) if it is
/// not installed.
fn toolchain_path(lang: Lang) -> Option<OsString> {
    let (tool, variable) = lang.toolchain();
    let mut dirs: Vec<PathBuf> = std::env::var_os(variable).map(PathBuf::from).into_iter().collect();
    dirs.extend(std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect::<Vec<_>>()).unwrap_or_default());
    if !dirs.iter().any(|dir| dir.join(tool).is_file()) {
        let why = format!("`{tool}` is not installed (.ci/run installs it and sets {variable})");
        if std::env::var_os("MEMWARDEN_REQUIRE_GUEST_TOOLCHAINS").is_some() {
            panic!("MEMWARDEN_REQUIRE_GUEST_TOOLCHAINS is set and {why}");
        }
        eprintln!("skipped: {why}");
        return None;
    }
    Some(std::env::join_paths(dirs).expect("PATH joins"))
}

/// Scaffolds a project in `dir`, optionally replaces its policy source with
/// `source` (a file of the repository), and builds it. Returns the
/// component's path and `build`'s output.
fn scaffold_and_build(lang: Lang, dir: &Path, source: Option<&str>) -> Option<(PathBuf, String)> {
    let path = toolchain_path(lang)?;
    let (output, stdout, stderr) =
        run(memwarden().args(["policy", "new", "demo", "--lang", lang.flag(), "--dir"]).arg(dir));
    assert!(output.status.success(), "{stdout}{stderr}");
    if let Some(source) = source {
        std::fs::copy(repo().join(source), dir.join(lang.source())).expect("copy the policy source");
    }
    if let Lang::Js = lang {
        // As its next steps say: the project's own install links the
        // vendored SDK (`file:vendor/memwarden-policy`); the npm cache
        // .ci/run filled makes it quick.
        let (output, stdout, stderr) = run(Command::new("npm")
            .env("PATH", &path)
            .args(["ci", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(dir));
        assert!(output.status.success(), "npm ci failed:\n{stdout}{stderr}");
    }
    let (output, stdout, stderr) = run(memwarden().env("PATH", &path).args(["policy", "build"]).arg(dir));
    assert!(output.status.success(), "policy build failed:\n{stdout}{stderr}");
    let component = dir.join("target/policy.wasm");
    assert!(component.is_file(), "{stdout}");
    Some((component, stdout))
}

/// Runs the cases file at `cases` (relative to the repo) against `component`.
fn run_cases_against(cases: &str, component: &Path) -> String {
    let text = std::fs::read_to_string(repo().join(cases)).expect("read the cases");
    let module_line = text.lines().find(|line| line.starts_with("module: ")).expect("the cases name their module");
    let dir = temp_dir();
    let file = dir.path().join("cases.yaml");
    let text = text.replacen(module_line, &format!("module: {}", component.display()), 1);
    std::fs::write(&file, text).expect("write the cases");
    let (output, stdout, stderr) = run(memwarden().args(["policy", "test"]).arg(&file));
    assert!(output.status.success(), "the port does not give the Rust module's verdicts:\n{stdout}{stderr}");
    stdout
}

#[test]
fn a_scaffolded_python_policy_builds_and_passes_its_own_cases() {
    scaffold_builds_and_passes(Lang::Python, "python (componentize-py 0.25.1)");
}

#[test]
fn a_scaffolded_typescript_policy_builds_and_passes_its_own_cases() {
    scaffold_builds_and_passes(Lang::Js, "js (ComponentizeJS 0.23.0)");
}

fn scaffold_builds_and_passes(lang: Lang, provenance: &str) {
    let dir = temp_dir();
    let project = dir.path().join("demo");
    let Some((component, built)) = scaffold_and_build(lang, &project, None) else { return };
    assert!(built.contains("sha256 "), "{built}");
    assert!(built.contains(provenance), "{built}");

    let (output, stdout, stderr) = run(memwarden().args(["policy", "test"]).arg(project.join("cases.yaml")));
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");

    let (output, stdout, stderr) = run(memwarden().args(["policy", "inspect"]).arg(&component));
    assert!(output.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains(&format!("language  {provenance}")), "{stdout}");
    assert!(stdout.contains("1000 M fuel, 128 MiB, 2000 ms deadline"), "{stdout}");
    assert!(stdout.contains("imports   memwarden:policy/"), "{stdout}");
    // `build` compiled it once; every later start reads the module cache.
    assert!(stdout.contains("compile   loaded from the module cache"), "{stdout}");
}

/// The SDK's own unit tests, in plain CPython (no toolchain needed).
#[test]
fn the_python_sdk_passes_its_unit_tests() {
    let sdk = repo().join("guest-policies/python/sdk");
    let Ok(output) = Command::new("python3").args(["-m", "unittest", "-q", "test_sdk"]).current_dir(&sdk).output()
    else {
        eprintln!("skipped: no python3");
        return;
    };
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success() && stderr.contains("OK"), "{stderr}");
}

#[test]
fn a_project_without_its_toolchain_is_told_how_to_install_it() {
    let dir = temp_dir();
    let project = dir.path().join("demo");
    let (output, _, stderr) = run(memwarden().args(["policy", "new", "demo", "--lang", "js", "--dir"]).arg(&project));
    assert!(output.status.success(), "{stderr}");
    let (output, _, stderr) = run(memwarden().env("PATH", "/nonexistent").args(["policy", "build"]).arg(&project));
    assert!(!output.status.success());
    assert!(stderr.contains("is not installed") && stderr.contains("npm install"), "{stderr}");

    let (output, _, stderr) = run(memwarden().args(["policy", "build"]).arg(dir.path()));
    assert!(!output.status.success());
    assert!(stderr.contains("is not a policy project"), "{stderr}");
}

#[test]
fn the_python_port_of_size_limits_gives_the_rust_verdicts() {
    port_gives_the_rust_verdicts(Lang::Python, "guest-policies/python/size-limits/policy.py", "size-limits");
}

#[test]
fn the_typescript_port_of_schema_gives_the_rust_verdicts() {
    port_gives_the_rust_verdicts(Lang::Js, "guest-policies/js/schema/policy.ts", "schema");
}

/// The port at `source`, built in a scaffolded project, passes the Rust
/// module's own `cases.yaml`.
fn port_gives_the_rust_verdicts(lang: Lang, source: &str, rust_module: &str) {
    let dir = temp_dir();
    let Some((component, _)) = scaffold_and_build(lang, &dir.path().join("p"), Some(source)) else { return };
    let out = run_cases_against(&format!("guest-policies/{rust_module}/cases.yaml"), &component);
    assert!(out.contains(" passed, 0 failed"), "{out}");
}

/// The hostile guest of `lang`, built once per test process.
fn hostile(lang: Lang) -> Option<&'static Path> {
    static PYTHON: OnceLock<Option<(tempfile::TempDir, PathBuf)>> = OnceLock::new();
    static JS: OnceLock<Option<(tempfile::TempDir, PathBuf)>> = OnceLock::new();
    let (cell, source) = match lang {
        Lang::Python => (&PYTHON, "guest-policies/python/hostile/policy.py"),
        Lang::Js => (&JS, "guest-policies/js/hostile/policy.ts"),
    };
    cell.get_or_init(|| {
        let dir = temp_dir();
        let (component, _) = scaffold_and_build(lang, &dir.path().join("hostile"), Some(source))?;
        Some((dir, component))
    })
    .as_ref()
    .map(|(_, component)| component.as_path())
}

const PROPOSAL: &str = r#"{"reasoning": "r", "memory_changes": [
    {"op": "add", "name": "a", "type": "user", "description": "d", "body": "first"},
    {"op": "add", "name": "b", "type": "user", "description": "d", "body": "second"}]}"#;

fn evaluate(pack: &RulePack) -> DecisionRecord {
    let (context, index) = context("tenant: acme\njob_id: job-1\nnow_ms: 1\npiece: research").into_parts(0);
    pack.evaluate(&proposal(PROPOSAL), &context, &index)
}

/// Every change refused with `policy_error` and a failure that mentions
/// `reason`; then the default pack still decides correctly.
fn assert_contained(record: &DecisionRecord, reason: &str) {
    assert_eq!(record.accepted_count(), 0, "{record:#?}");
    for decision in &record.memory {
        assert_eq!(decision.rejections[0].code, codes::POLICY_ERROR, "{record:#?}");
    }
    let failure = record.modules[0].failure.as_deref().expect("the failure is recorded");
    assert!(failure.contains(reason), "failure `{failure}` should mention `{reason}`");
    let good = r#"{"reasoning": "r", "memory_changes": [
        {"op": "add", "name": "deploy-order", "type": "project", "description": "Migrate first", "body": "Run migrations before deploying."}]}"#;
    let (context, index) = context("tenant: acme\njob_id: job-2\nnow_ms: 1\npiece: research").into_parts(0);
    assert!(default_pack().evaluate(&proposal(good), &context, &index).memory[0].accepted);
}

fn hostile_contained(lang: Lang, language: Language) {
    let Some(component) = hostile(lang) else { return };
    let pack = |mode: &str| {
        RulePack::single(engine(), component.to_str().expect("utf-8"), Path::new("/"), json!({ "mode": mode }))
            .expect("the hostile guest loads")
    };
    let accept = pack("accept");
    assert_eq!(accept.modules().next().map(|m| m.provenance().language), Some(language));
    assert_eq!(evaluate(&accept).accepted_count(), 2);
    // An endless loop: the interpreted defaults' 1 G fuel or 2 s deadline,
    // whichever comes first on this machine.
    let record = evaluate(&pack("loop"));
    let failure = record.modules[0].failure.clone().unwrap_or_default();
    let reason = if failure.contains("deadline") { "wall-clock deadline" } else { "ran out of fuel" };
    assert_contained(&record, reason);
    // Out of memory: a trap of the limiter, or of the language's own
    // allocator (CPython's aborts as `unreachable`).
    let record = evaluate(&pack("grow"));
    let failure = record.modules[0].failure.clone().unwrap_or_default();
    let reason = if failure.contains("memory") { "memory" } else { "unreachable" };
    assert_contained(&record, reason);
    let record = evaluate(&pack("recurse"));
    assert!(record.modules[0].failure.is_some(), "{record:#?}");
    assert_contained(&record, "");
}

#[test]
fn hostile_python_guests_are_contained() {
    hostile_contained(Lang::Python, Language::Python);
}

#[test]
fn hostile_typescript_guests_are_contained() {
    hostile_contained(Lang::Js, Language::JavaScript);
}
