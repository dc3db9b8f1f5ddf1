//! Config parsed once, at load (issue 11): a module that exports
//! `configure` is configured once and snapshotted, and every evaluation
//! starts a fresh instance of the snapshot. The config takes effect, nothing
//! leaks from one evaluation to the next, a longer config costs no more
//! fuel per call than a short one, the snapshot is cached under the config, and
//! modules without the export (every 0.1 module) still get the config on
//! every call, as does a module given no config.

use std::path::Path;

use memwarden::policy::{DecisionRecord, PolicyEngine, RulePack, SandboxLimits};
use serde_json::json;

use crate::util::{context, engine, hostile_module, proposal, repo, temp_dir};

/// One 40-byte body.
const PROPOSAL: &str = r#"{"reasoning": "r", "memory_changes": [
    {"op": "add", "name": "note", "type": "user", "description": "d", "body": "forty bytes of body text, give or take!!"}]}"#;

fn evaluate(pack: &RulePack) -> DecisionRecord {
    let (context, index) = context("tenant: acme\njob_id: job-1\nnow_ms: 1").into_parts(0);
    pack.evaluate(&proposal(PROPOSAL), &context, &index)
}

fn size_limits(engine: &PolicyEngine, module: &str, config: serde_json::Value) -> RulePack {
    RulePack::single(engine, module, Path::new("/"), config).expect("size-limits loads")
}

#[test]
fn a_configured_snapshot_decides_by_its_config() {
    let strict = size_limits(engine(), "size-limits", json!({ "max_body_bytes": 10 }));
    assert!(strict.modules().all(|m| m.is_preconfigured()));
    let record = evaluate(&strict);
    assert_eq!(record.memory[0].rejections[0].code, "body_too_large", "{record:#?}");

    let lax = size_limits(engine(), "size-limits", json!({ "max_body_bytes": 100 }));
    assert!(evaluate(&lax).memory[0].accepted);

    // No config, nothing to parse: not worth two compilations at load.
    let defaults = size_limits(engine(), "size-limits", serde_json::Value::Null);
    assert!(defaults.modules().all(|m| !m.is_preconfigured()));
    assert!(evaluate(&defaults).memory[0].accepted);
}

#[test]
fn no_state_leaks_from_one_evaluation_to_the_next() {
    let pack = RulePack::single(engine(), hostile_module(), Path::new("/"), json!({ "behaviour": "remember_calls" }))
        .expect("hostile module loads");
    assert!(pack.modules().all(|m| m.is_preconfigured()));
    for _ in 0..3 {
        let record = evaluate(&pack);
        assert!(record.memory[0].accepted, "{record:#?}");
    }
}

#[test]
fn a_longer_config_costs_no_more_fuel_per_call() {
    // Every field at its default, against one: the same verdicts, and with
    // the config parsed at load, the same work per call (parsed per call,
    // the six more fields cost some 5,000 instructions).
    let full = json!({
        "max_body_bytes": 8192, "max_description_bytes": 200, "max_name_bytes": 64, "max_entries": 500,
        "max_total_bytes": 1048576, "max_changes": 20, "max_piece_bytes": 16384,
    });
    let long = evaluate(&size_limits(engine(), "size-limits", full));
    let short = evaluate(&size_limits(engine(), "size-limits", json!({ "max_changes": 20 })));
    assert_eq!(long.memory, short.memory);
    assert_eq!(long.modules[0].fuel_used, short.modules[0].fuel_used);
}

#[test]
fn modules_of_world_0_1_still_get_their_config_on_every_call() {
    let old = repo().join("tests/fixtures/policy-0.1/size-limits.wasm");
    let old = old.to_str().expect("utf-8");
    let strict = size_limits(engine(), old, json!({ "max_body_bytes": 10 }));
    assert!(strict.modules().all(|m| m.world() == "0.1" && !m.is_preconfigured()));
    assert_eq!(evaluate(&strict).memory[0].rejections[0].code, "body_too_large");
    assert!(evaluate(&size_limits(engine(), old, json!({ "max_body_bytes": 100 }))).memory[0].accepted);
}

#[test]
fn the_cache_keeps_one_snapshot_per_config() {
    let dir = temp_dir();
    let artifacts = || {
        std::fs::read_dir(dir.path())
            .expect("cache dir")
            .flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
            .count()
    };
    let cached = || PolicyEngine::with_options(SandboxLimits::default(), Some(dir.path())).expect("engine");
    let first = cached();
    size_limits(&first, "size-limits", json!({ "max_body_bytes": 10 }));
    assert_eq!(artifacts(), 2, "the module and its snapshot");
    size_limits(&first, "size-limits", json!({ "max_body_bytes": 100 }));
    assert_eq!(artifacts(), 3, "another config, another snapshot");

    // A second engine takes both snapshots from disk, each with its config.
    let second = cached();
    let strict = size_limits(&second, "size-limits", json!({ "max_body_bytes": 10 }));
    let lax = size_limits(&second, "size-limits", json!({ "max_body_bytes": 100 }));
    assert_eq!(artifacts(), 3);
    assert_eq!(evaluate(&strict).memory[0].rejections[0].code, "body_too_large");
    assert!(evaluate(&lax).memory[0].accepted);
}
