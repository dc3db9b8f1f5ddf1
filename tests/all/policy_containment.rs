//! Hostile modules are contained: each failure rejects every change with
//! `policy_error` naming the module, the engine survives, and the same
//! engine then evaluates a good pack correctly. Components that ask for more
//! than the policy world gives are refused at load.

use std::path::Path;

use memwarden::policy::{DecisionRecord, LoadError, PackError, RulePack, codes};
use serde_json::json;

use crate::util::{context, default_pack, engine, hostile_module, proposal, temp_dir};

const PROPOSAL: &str = r#"{
  "reasoning": "three notes and a piece edit",
  "memory_changes": [
    {"op": "add", "name": "a", "type": "user", "description": "d", "body": "first"},
    {"op": "add", "name": "b", "type": "user", "description": "d", "body": "second"},
    {"op": "add", "name": "c", "type": "user", "description": "d", "body": "third"}
  ],
  "piece_edit": {"piece": "research", "yaml": "name: research"}
}"#;

fn hostile(behaviour: &str) -> RulePack {
    RulePack::single(engine(), hostile_module(), Path::new("/"), json!({ "behaviour": behaviour }))
        .expect("hostile module loads")
}

fn evaluate(pack: &RulePack, proposal_json: &str) -> DecisionRecord {
    let (context, index) = context("tenant: acme\njob_id: job-1\nnow_ms: 1\npiece: research").into_parts(0);
    pack.evaluate(&proposal(proposal_json), &context, &index)
}

/// Every change refused with `policy_error` by `hostile`, and the failure
/// mentions `reason`; then a good pack still decides correctly.
fn assert_contained(record: &DecisionRecord, reason: &str) {
    assert_eq!(record.accepted_count(), 0, "{record:#?}");
    for decision in record.memory.iter().chain(&record.piece) {
        assert!(!decision.accepted);
        let rejection = &decision.rejections[0];
        assert_eq!((rejection.module.as_str(), rejection.code.as_str()), ("hostile", codes::POLICY_ERROR));
        assert!(rejection.message.contains("module `hostile` failed"), "{}", rejection.message);
    }
    let failure = record.modules[0].failure.as_deref().expect("the failure is recorded");
    assert!(failure.contains(reason), "failure `{failure}` should mention `{reason}`");
    assert_good_pack_still_works();
}

fn assert_good_pack_still_works() {
    let good = r#"{"reasoning": "r", "memory_changes": [
        {"op": "add", "name": "deploy-order", "type": "project", "description": "Migrate first", "body": "Run migrations before deploying."},
        {"op": "add", "name": "leak", "type": "project", "description": "d", "body": "AKIAZ4QXK7RM2PLT6VWN"}]}"#;
    let record = evaluate(default_pack(), good);
    assert!(record.memory[0].accepted, "{record:#?}");
    assert_eq!(record.memory[1].rejections[0].code, "secret_detected");
    assert!(record.modules.iter().all(|m| m.failure.is_none()));
}

#[test]
fn a_well_behaved_custom_module_accepts_and_rejects() {
    assert_eq!(evaluate(&hostile("accept"), PROPOSAL).accepted_count(), 4);
    let record = evaluate(&hostile("reject_all"), PROPOSAL);
    assert!(record.rejections().all(|(_, r)| r.code == "hostile" && r.module == "hostile"));
    assert_eq!(record.rejections().count(), 4);
}

#[test]
fn an_endless_loop_runs_out_of_fuel() {
    assert_contained(&evaluate(&hostile("loop"), PROPOSAL), "ran out of fuel");
}

#[test]
fn unbounded_memory_growth_hits_the_memory_limit() {
    assert_contained(&evaluate(&hostile("grow_memory"), PROPOSAL), "memory limit exceeded");
}

#[test]
fn runaway_recursion_hits_the_stack_limit() {
    assert_contained(&evaluate(&hostile("recurse"), PROPOSAL), "stack overflow");
}

#[test]
fn a_runaway_guest_stack_traps_out_of_bounds() {
    assert_contained(&evaluate(&hostile("deep_frames"), PROPOSAL), "out of bounds memory access");
}

#[test]
fn a_panic_traps() {
    assert_contained(&evaluate(&hostile("panic"), PROPOSAL), "unreachable");
}

#[test]
fn a_wrong_verdict_count_is_malformed() {
    assert_contained(&evaluate(&hostile("wrong_count"), PROPOSAL), "returned 2 memory verdicts for 3 changes");
}

#[test]
fn a_piece_verdict_without_a_piece_edit_is_malformed() {
    let without_piece = r#"{"reasoning": "r", "memory_changes": [{"op": "remove", "name": "a"}]}"#;
    assert_contained(&evaluate(&hostile("extra_piece_verdict"), without_piece), "no piece edit");
}

#[test]
fn a_code_the_module_never_declared_is_a_policy_error() {
    assert_contained(
        &evaluate(&hostile("undeclared_code"), PROPOSAL),
        "returned the code `never_declared`, which it does not declare",
    );
}

/// A pack file in a temporary directory, loaded.
fn load_pack(yaml: &str) -> Result<RulePack, memwarden::policy::PackError> {
    let dir = temp_dir();
    let pack_path = dir.path().join("pack.yaml");
    std::fs::write(&pack_path, yaml).expect("write pack");
    RulePack::load(engine(), pack_path.to_str().expect("utf-8 path"))
}

#[test]
fn a_module_listed_twice_is_refused_unless_each_entry_has_an_id() {
    let twice = "modules:\n  - module: size-limits\n  - module: schema\n  - module: size-limits\n    config: { max_body_bytes: 10 }\n";
    let err = load_pack(twice).err().expect("refused");
    assert_eq!(err.code(), "pack_invalid", "{err}");
    assert!(err.to_string().contains("module `size-limits` is listed twice; to run it twice"), "{err}");

    // With an id on each, both run: one strict and audited, one enforced.
    let with_ids = "modules:\n  - module: size-limits\n    id: normal\n  - module: size-limits\n    id: strict\n    mode: audit\n    config: { max_body_bytes: 10 }\n";
    let pack = load_pack(with_ids).expect("two ids load");
    let record = evaluate(&pack, PROPOSAL);
    let ids: Vec<Option<&str>> = record.modules.iter().map(|m| m.id.as_deref()).collect();
    assert_eq!(ids, [Some("normal"), Some("strict")]);
    assert_eq!(evaluate(&pack, PROPOSAL).decision_id, record.decision_id, "the same inputs give the same id");
    let json = serde_json::to_string(&record).expect("record serialises");
    assert!(json.contains(r#""id":"strict""#), "{json}");

    let same_id = with_ids.replace("id: strict", "id: normal");
    let err = load_pack(&same_id).err().expect("refused");
    assert!(err.to_string().contains("with id `normal` is listed twice"), "{err}");
    let err = load_pack("modules:\n  - module: schema\n    id: ../x\n").err().expect("refused");
    assert!(err.to_string().contains("unusable id"), "{err}");

    // A child pack naming a parent's module still replaces its entry.
    let child = "extends: default\nmodules:\n  - module: size-limits\n    config: { max_body_bytes: 10 }\n";
    assert_eq!(load_pack(child).expect("override loads").modules().count(), 6);
    // …but naming it twice, both replacing the parent's entry, is refused too.
    let twice_over = format!("{child}  - module: size-limits\n");
    let err = load_pack(&twice_over).err().expect("refused");
    assert!(err.to_string().contains("module `size-limits` is listed twice"), "{err}");
}

#[test]
fn reading_the_index_repeatedly_is_harmless() {
    assert_eq!(evaluate(&hostile("index_flood"), PROPOSAL).accepted_count(), 4);
}

#[test]
fn a_failing_module_in_a_pack_does_not_silence_the_others() {
    let dir = temp_dir();
    let pack_path = dir.path().join("pack.yaml");
    let pack_yaml =
        format!("extends: default\nmodules:\n  - module: {}\n    config: {{ behaviour: panic }}\n", hostile_module());
    std::fs::write(&pack_path, pack_yaml).expect("write pack");
    let pack = RulePack::load(engine(), pack_path.to_str().expect("utf-8 path")).expect("pack loads");
    let record = evaluate(&pack, PROPOSAL);
    assert_eq!(record.modules.len(), 7);
    assert_eq!(record.modules.iter().filter(|m| m.failure.is_some()).count(), 1);
    assert_eq!(record.accepted_count(), 0);
    // The piece-guard still reports its own reason alongside the failure.
    let piece = record.piece.as_ref().expect("piece decision");
    assert!(piece.rejections.iter().any(|r| r.module == "piece-guard"), "{piece:#?}");
    assert!(piece.rejections.iter().any(|r| r.code == codes::POLICY_ERROR));
}

#[test]
fn a_bad_config_is_refused_when_the_pack_loads() {
    let err = RulePack::single(engine(), hostile_module(), Path::new("/"), json!({ "behaviour": "explode" }))
        .err()
        .expect("refused");
    assert_eq!(err.code(), "module_config_invalid", "{err}");
    assert!(err.to_string().contains("unknown variant `explode`"), "{err}");

    let err = RulePack::single(engine(), "size-limits", Path::new("/"), json!({ "max_body_byte": 10 }))
        .err()
        .expect("refused");
    assert!(err.to_string().contains("unknown field `max_body_byte`"), "{err}");
    let err = RulePack::single(engine(), "merge-rules", Path::new("/"), json!({ "near_duplicate_threshold": 3.0 }))
        .err()
        .expect("refused");
    assert!(err.to_string().contains("near_duplicate_threshold must be in 0..=1"), "{err}");
}

fn load_wat(wat: &str) -> LoadError {
    let bytes = wat::parse_str(wat).expect("valid WAT");
    match engine().load(&bytes) {
        Ok(module) => panic!("module `{}` should have been refused", module.name()),
        Err(err) => err,
    }
}

#[test]
fn a_component_importing_wasi_is_refused_at_load() {
    let err = load_wat(
        r#"(component (import "wasi:clocks/wall-clock@0.2.0" (instance (export "now" (func (result u64))))))"#,
    );
    assert!(matches!(err, LoadError::ForbiddenImport { ref name } if name == "wasi:clocks/wall-clock@0.2.0"), "{err}");
    assert_eq!(err.code(), "module_forbidden_import");
}

#[test]
fn a_component_importing_an_unknown_function_is_refused_at_load() {
    let err = load_wat(r#"(component (import "read-secrets" (func)))"#);
    assert!(err.to_string().contains("imports `read-secrets`"), "{err}");
}

#[test]
fn a_component_without_the_policy_export_is_refused() {
    let err = load_wat("(component)");
    assert!(matches!(err, LoadError::MissingExport { .. }), "{err}");
}

#[test]
fn a_core_module_is_not_a_component() {
    let err = load_wat("(module)");
    assert_eq!(err.code(), "module_invalid", "{err}");
}

#[test]
fn a_pinned_module_must_match_its_hash() {
    let dir = temp_dir();
    let pack_path = dir.path().join("pinned.yaml");
    let pack_yaml = format!("modules:\n  - module: {}\n    sha256: {}\n", hostile_module(), "0".repeat(64));
    std::fs::write(&pack_path, pack_yaml).expect("write pack");
    let err = RulePack::load(engine(), pack_path.to_str().expect("utf-8")).err().expect("refused");
    assert!(matches!(err, PackError::PinMismatch { .. }), "{err}");
    assert_eq!(err.code(), "module_pin_mismatch");
}

#[test]
fn the_same_inputs_give_the_same_verdicts_on_any_engine() {
    let proposal = std::fs::read_to_string(crate::util::repo().join("tests/fixtures/proposal.json")).expect("fixture");
    let context = std::fs::read_to_string(crate::util::repo().join("tests/fixtures/context.yaml")).expect("fixture");
    let decide = |engine: &memwarden::policy::PolicyEngine| {
        let pack = RulePack::load(engine, "default").expect("pack");
        let (context, index) = crate::util::context(&context).into_parts(0);
        let record = pack.evaluate(&crate::util::proposal(&proposal), &context, &index);
        (record.memory, record.piece, record.pack.revision)
    };
    let first = decide(engine());
    let fresh = memwarden::policy::PolicyEngine::new().expect("a second engine, without cache");
    assert_eq!(first, decide(&fresh));
    assert_eq!(first, decide(engine()));
    // The fixture exercises several modules at once.
    let codes: Vec<&str> =
        first.0.iter().chain(&first.1).flat_map(|d| d.rejections.iter().map(|r| r.code.as_str())).collect();
    assert_eq!(codes, ["near_duplicate", "secret_detected", "entry_update_cooldown", "permission_widened"]);
}

#[test]
fn every_outcome_is_counted() {
    use memwarden::policy::metrics as names;
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};

    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        evaluate(&hostile("reject_all"), PROPOSAL);
        evaluate(&hostile("panic"), PROPOSAL);
    });
    type Counter = (String, Vec<(String, String)>, u64);
    let counters: Vec<Counter> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter_map(|(key, _, _, value)| match value {
            DebugValue::Counter(n) => {
                let labels = key.key().labels().map(|l| (l.key().to_string(), l.value().to_string())).collect();
                Some((key.key().name().to_string(), labels, n))
            }
            _ => None,
        })
        .collect();
    let count = |name: &str, label: (&str, &str)| -> u64 {
        counters
            .iter()
            .filter(|(n, labels, _)| n == name && labels.iter().any(|(k, v)| k == label.0 && v == label.1))
            .map(|(_, _, n)| n)
            .sum()
    };
    let evaluations: u64 = counters.iter().filter(|(n, _, _)| n == names::EVALUATIONS).map(|(_, _, n)| n).sum();
    assert_eq!(evaluations, 2);
    assert_eq!(count(names::REJECTIONS, ("code", "hostile")), 4);
    assert_eq!(count(names::REJECTIONS, ("code", codes::POLICY_ERROR)), 4);
    assert_eq!(count(names::MODULE_FAILURES, ("module", "hostile")), 1);
    assert_eq!(count(names::CHANGES, ("outcome", "rejected")), 8);
    assert_eq!(count(names::CHANGES, ("outcome", "accepted")), 0);
}

#[test]
fn a_pack_entry_sets_its_module_limits_within_the_operators_ceilings() {
    let hostile = hostile_module();
    // Less fuel: the endless loop stops at this module's own budget.
    let pack = load_pack(&format!(
        "modules:\n  - module: {hostile}\n    config: {{ behaviour: loop }}\n    limits: {{ fuel: 1000000 }}\n"
    ))
    .expect("loads");
    let record = evaluate(&pack, PROPOSAL);
    let run = &record.modules[0];
    assert!(run.failure.as_deref().is_some_and(|f| f.contains("ran out of fuel")), "{run:?}");
    assert_eq!(run.fuel_used, 1_000_000, "{run:?}");

    // Less memory: growth stops at this module's own limit.
    let pack = load_pack(&format!(
        "modules:\n  - module: {hostile}\n    config: {{ behaviour: grow_memory }}\n    limits: {{ memory_mib: 8 }}\n"
    ))
    .expect("loads");
    let failure = evaluate(&pack, PROPOSAL).modules[0].failure.clone().expect("fails");
    assert!(failure.contains("limit is 8388608"), "{failure}");

    // More memory than the default 32 MiB, within the ceiling: the module
    // grows past 32 MiB before it stops at its own 64.
    let pack = load_pack(&format!(
        "modules:\n  - module: {hostile}\n    config: {{ behaviour: grow_memory }}\n    limits: {{ memory_mib: 64 }}\n"
    ))
    .expect("loads");
    let failure = evaluate(&pack, PROPOSAL).modules[0].failure.clone().expect("fails");
    assert!(failure.contains("limit is 67108864"), "{failure}");

    // Over the operator's ceilings: refused at load, whatever the pack says.
    let refused =
        ["{ fuel: 3000000000 }", "{ memory_mib: 512 }", "{ fuel: 0 }", "{ timeout_ms: 10 }", "{ deadline_ms: 0 }"];
    for limits in refused.into_iter().chain(["{ deadline_ms: 10001 }"]) {
        let err = load_pack(&format!("modules:\n  - module: schema\n    limits: {limits}\n")).err().expect("refused");
        assert_eq!(err.code(), "pack_invalid", "{limits}: {err}");
    }
    let rules = memwarden::policy::HostRules {
        module_ceilings: memwarden::policy::ModuleCeilings {
            fuel: 1_000,
            memory_bytes: 4 << 20,
            deadline: std::time::Duration::from_secs(1),
        },
        ..Default::default()
    };
    let dir = temp_dir();
    let path = dir.path().join("pack.yaml");
    std::fs::write(&path, "modules:\n  - module: schema\n    limits: { fuel: 2000 }\n").expect("write");
    let err = RulePack::load_with(engine(), path.to_str().expect("utf-8"), rules).err().expect("over the ceiling");
    assert!(err.to_string().contains("the host allows 1 to 1000"), "{err}");
}

#[test]
fn a_wall_clock_deadline_stops_a_loop_that_still_has_fuel() {
    let hostile = hostile_module();
    // 2.5 G fuel is seconds of looping; the 50 ms deadline comes first.
    let pack = load_pack(&format!(
        "modules:\n  - module: {hostile}\n    config: {{ behaviour: loop }}\n    limits: {{ fuel: 2500000000, deadline_ms: 50 }}\n"
    ))
    .expect("loads");
    let record = evaluate(&pack, PROPOSAL);
    assert_contained(&record, "ran past its wall-clock deadline");
    // Stopped by the clock, with fuel to spare.
    assert!(record.modules[0].fuel_used < 2_500_000_000, "{:?}", record.modules[0]);
}

#[test]
fn only_modules_that_may_meet_a_deadline_run_on_code_that_checks_the_clock() {
    let hostile = hostile_module();
    // The same compiled module, with and without a pack deadline, on one
    // engine: the deadline moves it to the runtime with epoch checks, and
    // the plain entry still runs (and stops) by fuel alone.
    let pack = load_pack(&format!(
        "modules:\n  - module: {hostile}\n    id: clocked\n    config: {{ behaviour: loop }}\n    limits: {{ deadline_ms: 5000 }}\n  - module: {hostile}\n    id: metered\n    config: {{ behaviour: loop }}\n    limits: {{ fuel: 1000000 }}\n"
    ))
    .expect("loads");
    let runs_with_deadlines: Vec<bool> = pack.modules().map(|module| module.keeps_deadlines()).collect();
    assert_eq!(runs_with_deadlines, [true, false]);
    let default = RulePack::load(engine(), "default").expect("default pack");
    assert!(default.modules().all(|module| !module.keeps_deadlines()), "compiled modules need no clock");
    let record = evaluate(&pack, PROPOSAL);
    assert!(
        record.modules[1].failure.as_deref().is_some_and(|f| f.contains("ran out of fuel")),
        "{:?}",
        record.modules
    );
}
