//! The policy runtime as other programs embed it: the `memwarden-policy`
//! crate on its own (issue 11).

use std::path::Path;
use std::process::Command;

fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("host/ has a parent")
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

/// The crates `package` depends on (normal dependencies, any depth).
fn dependencies(package: &str) -> Vec<String> {
    let output = Command::new(cargo())
        .args(["tree", "--locked", "--offline", "-p", package, "-e", "normal", "--prefix", "none"])
        .current_dir(workspace_root())
        .output()
        .expect("run cargo tree");
    assert!(output.status.success(), "cargo tree failed: {}", String::from_utf8_lossy(&output.stderr));
    let tree = String::from_utf8_lossy(&output.stdout);
    tree.lines().filter_map(|line| line.split_whitespace().next()).map(str::to_string).collect()
}

#[test]
fn the_policy_runtime_depends_on_no_async_runtime_database_or_web_stack() {
    let crates = dependencies("memwarden-policy");
    assert!(crates.iter().any(|c| c == "wasmtime"), "the tree lists the runtime's own dependencies: {crates:?}");
    for banned in ["tokio", "sqlx", "axum", "reqwest", "hyper", "memwarden"] {
        assert!(!crates.iter().any(|c| c == banned), "memwarden-policy depends on {banned}: {crates:?}");
    }
}

#[test]
fn the_llm_client_depends_on_no_policy_runtime_database_or_server() {
    let crates = dependencies("memwarden-llm");
    assert!(crates.iter().any(|c| c == "reqwest"), "{crates:?}");
    for banned in ["wasmtime", "sqlx", "axum", "memwarden-policy", "memwarden"] {
        assert!(!crates.iter().any(|c| c == banned), "memwarden-llm depends on {banned}: {crates:?}");
    }
}

#[test]
fn the_tenant_store_depends_on_no_policy_runtime_database_or_network_stack() {
    let crates = dependencies("memwarden-store");
    assert!(crates.iter().any(|c| c == "cap-std"), "{crates:?}");
    for banned in ["wasmtime", "tokio", "sqlx", "axum", "reqwest", "memwarden-policy", "memwarden"] {
        assert!(!crates.iter().any(|c| c == banned), "memwarden-store depends on {banned}: {crates:?}");
    }
    assert_eq!(dependencies("memwarden-names"), ["memwarden-names"], "the names check stands alone");
}

#[test]
fn the_job_store_depends_on_no_policy_runtime_or_web_stack() {
    let crates = dependencies("memwarden-jobs");
    assert!(crates.iter().any(|c| c == "sqlx"), "{crates:?}");
    for banned in ["wasmtime", "axum", "reqwest", "hyper", "memwarden-policy", "memwarden-store", "memwarden"] {
        assert!(!crates.iter().any(|c| c == banned), "memwarden-jobs depends on {banned}: {crates:?}");
    }
    let model = dependencies("memwarden-model");
    assert!(!model.iter().any(|c| c.starts_with("memwarden-") && c != "memwarden-model"), "{model:?}");
}

#[test]
fn the_embedding_example_evaluates_the_default_pack() {
    // `cargo test --workspace` has built it already; a filtered run has not.
    let output = Command::new(cargo())
        .args(["run", "--locked", "--offline", "-q", "-p", "memwarden-policy", "--example", "evaluate"])
        .current_dir(workspace_root())
        .output()
        .expect("run the example");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "example failed: {}{stdout}", String::from_utf8_lossy(&output.stderr));
    let verdicts: Vec<Vec<&str>> = stdout.lines().map(|line| line.split_whitespace().collect()).collect();
    assert_eq!(verdicts[0][..2], ["flaky-test", "accepted"], "{stdout}");
    assert_eq!(verdicts[1][..2], ["deploy-key", "rejected"], "{stdout}");
    assert!(verdicts[1][2].contains("secret"), "the credential is refused as a secret: {stdout}");
    assert!(verdicts[2][0] == "decision", "{stdout}");
}
