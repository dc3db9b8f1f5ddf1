//! The compiled-module cache: a second engine loads from disk, and an
//! artifact this host did not write (or that was tampered with) is never
//! deserialised — it is ignored and the module recompiled.

use std::fs;

use memwarden::policy::{PolicyEngine, SandboxLimits, builtin_module};

use crate::util::temp_dir;

fn artifacts(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = fs::read_dir(dir)
        .expect("cache dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    found.sort();
    found
}

#[test]
fn a_second_engine_loads_from_the_cache() {
    let dir = temp_dir();
    let bytes = builtin_module("schema").expect("built in");
    let first = PolicyEngine::with_options(SandboxLimits::default(), Some(dir.path())).expect("engine");
    first.load(bytes).expect("loads");
    let cached = artifacts(dir.path());
    assert_eq!(cached.len(), 1);
    let key = fs::metadata(dir.path().join("cache.key")).expect("key exists");
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&key.permissions()) & 0o777, 0o600);

    let second = PolicyEngine::with_options(SandboxLimits::default(), Some(dir.path())).expect("engine");
    assert_eq!(second.load(bytes).expect("loads from cache").name(), "schema");
}

#[test]
fn a_tampered_or_foreign_artifact_is_recompiled_not_loaded() {
    let dir = temp_dir();
    let schema = builtin_module("schema").expect("built in");
    let cooldown = builtin_module("cooldown").expect("built in");
    let engine = PolicyEngine::with_options(SandboxLimits::default(), Some(dir.path())).expect("engine");
    engine.load(schema).expect("loads");
    engine.load(cooldown).expect("loads");
    let cached = artifacts(dir.path());
    assert_eq!(cached.len(), 2);

    // Put cooldown's valid, correctly tagged artifact under schema's name,
    // and flip a byte in the payload of schema's under cooldown's name.
    let (a, b) = (fs::read(&cached[0]).expect("read"), fs::read(&cached[1]).expect("read"));
    fs::write(&cached[0], &b).expect("write");
    let mut tampered = a.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0xff;
    fs::write(&cached[1], &tampered).expect("write");

    let fresh = PolicyEngine::with_options(SandboxLimits::default(), Some(dir.path())).expect("engine");
    let schema_module = fresh.load(schema).expect("loads");
    let cooldown_module = fresh.load(cooldown).expect("loads");
    // Neither file verifies under its new name, so both are recompiled.
    assert_eq!(schema_module.name(), "schema");
    assert_eq!(cooldown_module.name(), "cooldown");

    // A file from another host (another key) is not trusted either.
    let other = temp_dir();
    let foreign = PolicyEngine::with_options(SandboxLimits::default(), Some(other.path())).expect("engine");
    foreign.load(schema).expect("loads");
    let foreign_artifact = artifacts(other.path()).remove(0);
    let target = dir.path().join(foreign_artifact.file_name().expect("name"));
    fs::copy(&foreign_artifact, &target).expect("copy");
    let again = PolicyEngine::with_options(SandboxLimits::default(), Some(dir.path())).expect("engine");
    assert_eq!(again.load(schema).expect("recompiles").name(), "schema");
}
