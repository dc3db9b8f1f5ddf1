//! Policy evaluation speed: the default pack (six modules) on a 10-change
//! proposal against a tenant of 200 entries, in the wasmtime sandbox, next to
//! the same six policy crates linked natively and called as plain Rust; each
//! module alone, both ways; and the tenant index each job prepares.
//!
//! Prints p50 / p99 / mean µs and decisions per second on one core, and the
//! sandbox's overhead ratios. Targets (release, issue 11): the pack within 2×
//! of plain Rust, a trivial module's instance + call ≤ 10 µs, the index of a
//! 200-entry tenant ≤ 50 µs per job after the first. Last, the pack against
//! itself with every module given a deadline: what epoch checks cost.
//!
//! Run with `cargo bench --bench policy_eval`; set
//! `MEMWARDEN_BENCH_BREAKDOWN=1` to also time single modules. With
//! `MEMWARDEN_BENCH_PYTHON_SIZE_LIMITS` and `MEMWARDEN_BENCH_TS_SCHEMA`
//! naming the components `memwarden policy build` made of the Python and
//! TypeScript ports (`guest-policies/python/size-limits`,
//! `guest-policies/js/schema`), it also times those next to the Rust
//! modules, and their first compile against a load from the module cache.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use memwarden::policy::{
    Context, DecisionRecord, EntryRef, IndexEntry, PolicyEngine, Proposal, RulePack, RunOutcome, SandboxLimits,
    TenantIndex,
};
use memwarden_policy_sdk::native::{MemoryIndex, with_index};
use memwarden_policy_sdk::{self as sdk, Verdict};

const ENTRIES: usize = 200;
const WARMUP: usize = 300;
const ITERATIONS: usize = 3000;
const NOW_MS: u64 = 1_700_000_000_000;
const DAY_MS: u64 = 86_400_000;

fn main() {
    let engine = PolicyEngine::new().unwrap_or_else(|err| panic!("engine: {err}"));
    let pack = RulePack::load(&engine, "default").unwrap_or_else(|err| panic!("default pack: {err}"));
    let fixture = Fixture::new();

    println!(
        "policy evaluation: default pack ({} modules), tenant of {ENTRIES} entries, {ITERATIONS} runs, one thread",
        pack.modules().count()
    );
    println!("{:<44} {:>8} {:>8} {:>8} {:>12}", "", "p50 µs", "p99 µs", "mean µs", "decisions/s");
    // The floor: a fresh store, an instance from the pool, one trivial call.
    let schema = pack.modules().next().unwrap_or_else(|| panic!("the pack has modules"));
    let floor = measure(|| engine.validate_config(schema, "").unwrap_or_else(|err| panic!("{err}")));
    floor.print("one module, store + instance + trivial call");
    // Each module on its own, sandboxed and linked natively, on the piece-edit
    // proposal (so piece-guard has work): where the sandbox's cost lies.
    println!("per module, 10 changes + piece edit: sandbox p50 / native p50");
    let proposal = sdk_proposal(&fixture.with_piece_edit, &fixture.pieces);
    let context = sdk_context(&fixture.context);
    macro_rules! per_module {
        ($name:literal, $policy:ty) => {
            let single = RulePack::single(&engine, $name, std::path::Path::new("/"), serde_json::Value::Null)
                .unwrap_or_else(|err| panic!("{err}"));
            let sandboxed =
                measure(|| black_box(single.evaluate(&fixture.with_piece_edit, &fixture.context, &fixture.index)));
            let native = with_index(fixture.native_index.clone(), || {
                measure(|| black_box(sdk::native::evaluate::<$policy>("", &proposal, &context)))
            });
            println!(
                "  {:<16} {:>8.1} µs {:>8.1} µs {:>7.1}x",
                $name,
                sandboxed.p50,
                native.p50,
                sandboxed.p50 / native.p50
            );
        };
    }
    per_module!("schema", memwarden_policy_schema::Schema);
    per_module!("size-limits", memwarden_policy_size_limits::SizeLimits);
    per_module!("cooldown", memwarden_policy_cooldown::Cooldown);
    per_module!("merge-rules", memwarden_policy_merge_rules::MergeRules);
    per_module!("content-guard", memwarden_policy_content_guard::ContentGuard);
    per_module!("piece-guard", memwarden_policy_piece_guard::PieceGuard);
    interpreted_ports(&engine, &fixture);
    // content-guard carries the heaviest text scanning (secrets, injection,
    // invisible characters): its own line on the 10-change proposal, against
    // its own target (#10: ≤ 150 µs p50).
    let guard = RulePack::single(&engine, "content-guard", std::path::Path::new("/"), serde_json::Value::Null)
        .unwrap_or_else(|err| panic!("{err}"));
    measure(|| black_box(guard.evaluate(&fixture.proposal, &fixture.context, &fixture.index)))
        .print("content-guard alone, sandbox, 10 changes");
    if std::env::var_os("MEMWARDEN_BENCH_BREAKDOWN").is_some() {
        let empty = Proposal::from_json(r#"{"reasoning": "r"}"#).unwrap_or_else(|err| panic!("{err}"));
        for name in ["schema", "cooldown"] {
            let single = RulePack::single(&engine, name, std::path::Path::new("/"), serde_json::Value::Null)
                .unwrap_or_else(|err| panic!("{err}"));
            measure(|| black_box(single.evaluate(&empty, &fixture.context, &fixture.index)))
                .print(&format!("{name} alone, empty proposal"));
        }
        let empty_index = TenantIndex::default();
        let single = RulePack::single(&engine, "schema", std::path::Path::new("/"), serde_json::Value::Null)
            .unwrap_or_else(|err| panic!("{err}"));
        measure(|| black_box(single.evaluate(&fixture.proposal, &fixture.context, &empty_index)))
            .print("schema alone, 10 changes, empty index");
    }
    // Index preparation: what each job pays before the pack runs.
    let refs = || fixture.entries.iter().map(EntryRef::from);
    measure(|| black_box(TenantIndex::default().refresh(refs(), fixture.pieces.clone())))
        .print(&format!("index of {ENTRIES} entries, built from scratch"));
    let mut edited = fixture.entries.clone();
    edited[17].body.push_str(" One more line.");
    let previous = TenantIndex::new(fixture.entries.clone(), fixture.pieces.clone());
    measure(|| black_box(previous.refresh(edited.iter().map(EntryRef::from), fixture.pieces.clone())))
        .print(&format!("index of {ENTRIES} entries, 1 changed since last job"));
    for (label, proposal) in [("10 changes", &fixture.proposal), ("10 changes + piece edit", &fixture.with_piece_edit)]
    {
        // Alternated call by call, so that both see the same machine.
        let (sandboxed, native) = measure_pair(
            || black_box(pack.evaluate(proposal, &fixture.context, &fixture.index)),
            || black_box(fixture.native(proposal)),
        );
        sandboxed.print(&format!("sandbox, {label}"));
        native.print(&format!("plain Rust, {label}"));
        println!(
            "{:<44} {:>7.1}x {:>7.1}x {:>7.1}x",
            format!("sandbox overhead, {label}"),
            sandboxed.p50 / native.p50,
            sandboxed.p99 / native.p99,
            sandboxed.mean / native.mean
        );

        let runs: Vec<DecisionRecord> =
            (0..500).map(|_| pack.evaluate(proposal, &fixture.context, &fixture.index)).collect();
        let breakdown: Vec<String> = (0..runs[0].modules.len())
            .map(|i| {
                let mean_us = runs.iter().map(|r| r.modules[i].elapsed_us).sum::<u64>() as f64 / runs.len() as f64;
                let module = &runs[0].modules[i];
                format!("{} {mean_us:.0} µs / {}k fuel", module.name, module.fuel_used / 1000)
            })
            .collect();
        println!("  mean per module: {}", breakdown.join(", "));
        let record = pack.evaluate(proposal, &fixture.context, &fixture.index);
        assert_same_verdicts(&record, &fixture.native(proposal));
        println!(
            "  both decide alike: {} of {} changes accepted",
            record.accepted_count(),
            record.memory.len() + usize::from(record.piece.is_some())
        );
    }
    deadline_cost(&engine, &pack, &fixture);
}

/// What the wall-clock deadline costs a compiled module: the default pack
/// against the same six modules each given `deadline_ms`, which runs them on
/// the runtime whose code checks the epoch. Alternated call by call, so both
/// see the same machine.
fn deadline_cost(engine: &PolicyEngine, pack: &RulePack, fixture: &Fixture) {
    let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
    let mut yaml = String::from("name: deadlined\nmodules:\n");
    for module in pack.modules() {
        yaml.push_str(&format!("  - module: {}\n    limits: {{ deadline_ms: 10000 }}\n", module.name()));
    }
    let path = dir.path().join("deadlined.yaml");
    std::fs::write(&path, yaml).unwrap_or_else(|err| panic!("{err}"));
    let deadlined = RulePack::load(engine, &path.to_string_lossy()).unwrap_or_else(|err| panic!("{err}"));
    assert!(deadlined.modules().all(|module| module.keeps_deadlines()));
    assert!(!pack.modules().any(|module| module.keeps_deadlines()));
    let (fuel_only, with_deadline) = measure_pair(
        || black_box(pack.evaluate(&fixture.proposal, &fixture.context, &fixture.index)),
        || black_box(deadlined.evaluate(&fixture.proposal, &fixture.context, &fixture.index)),
    );
    fuel_only.print("sandbox, 10 changes, fuel only");
    with_deadline.print("sandbox, 10 changes, with deadlines");
    println!(
        "{:<44} {:>7.2}x {:>7.2}x {:>7.2}x",
        "deadline checks cost",
        with_deadline.p50 / fuel_only.p50,
        with_deadline.p99 / fuel_only.p99,
        with_deadline.mean / fuel_only.mean
    );
}

struct Stats {
    p50: f64,
    p99: f64,
    mean: f64,
}

impl Stats {
    fn of(mut micros: Vec<f64>) -> Stats {
        micros.sort_by(f64::total_cmp);
        let at = |q: f64| micros[((micros.len() as f64 * q) as usize).min(micros.len() - 1)];
        Stats { p50: at(0.50), p99: at(0.99), mean: micros.iter().sum::<f64>() / micros.len() as f64 }
    }

    fn print(&self, label: &str) {
        println!("{label:<44} {:>8.1} {:>8.1} {:>8.1} {:>12.0}", self.p50, self.p99, self.mean, 1e6 / self.mean);
    }
}

fn measure<R>(run: impl FnMut() -> R) -> Stats {
    measure_n(WARMUP, ITERATIONS, run)
}

/// `a` and `b` timed in turn, call by call: on a shared machine whose speed
/// drifts, their ratio holds where two separate runs would not.
fn measure_pair<R, S>(mut a: impl FnMut() -> R, mut b: impl FnMut() -> S) -> (Stats, Stats) {
    let mut micros = (Vec::with_capacity(ITERATIONS), Vec::with_capacity(ITERATIONS));
    for round in 0..WARMUP + ITERATIONS {
        let started = Instant::now();
        a();
        let between = Instant::now();
        b();
        if round >= WARMUP {
            micros.0.push((between - started).as_secs_f64() * 1e6);
            micros.1.push(between.elapsed().as_secs_f64() * 1e6);
        }
    }
    (Stats::of(micros.0), Stats::of(micros.1))
}

fn measure_n<R>(warmup: usize, iterations: usize, mut run: impl FnMut() -> R) -> Stats {
    for _ in 0..warmup {
        run();
    }
    let micros: Vec<f64> = (0..iterations)
        .map(|_| {
            let started = Instant::now();
            run();
            started.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    Stats::of(micros)
}

/// The Python and TypeScript ports of two standard modules next to the Rust
/// modules, on the 10-change proposal, when their components are named; and
/// what a first compile of such a 10–20 MB component costs against a load
/// from the module cache (a host's second start).
fn interpreted_ports(engine: &PolicyEngine, fixture: &Fixture) {
    const PORTS: [(&str, &str, &str); 2] = [
        ("MEMWARDEN_BENCH_PYTHON_SIZE_LIMITS", "size-limits", "Python"),
        ("MEMWARDEN_BENCH_TS_SCHEMA", "schema", "TypeScript"),
    ];
    println!("ported modules, 10 changes: p50 / p99 µs, against the Rust module");
    for (variable, rust_name, language) in PORTS {
        let Some(path) = std::env::var_os(variable) else {
            println!("  {language} {rust_name}: skipped, {variable} names no component");
            continue;
        };
        let path = std::path::PathBuf::from(path);
        let bytes = std::fs::read(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        let cache = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
        let load_with_cache = || {
            let started = Instant::now();
            let engine = PolicyEngine::with_options(SandboxLimits::default(), Some(cache.path()))
                .unwrap_or_else(|err| panic!("engine: {err}"));
            engine.load(&bytes).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
            started.elapsed().as_secs_f64()
        };
        let (first, cached) = (load_with_cache(), load_with_cache());

        let single = |module: &str| {
            RulePack::single(engine, module, std::path::Path::new("/"), serde_json::Value::Null)
                .unwrap_or_else(|err| panic!("{module}: {err}"))
        };
        let (port, rust) = (single(&path.to_string_lossy()), single(rust_name));
        let evaluate = |pack: &RulePack| pack.evaluate(&fixture.proposal, &fixture.context, &fixture.index);
        let verdicts = |record: &DecisionRecord| -> Vec<Vec<String>> {
            record.memory.iter().map(|d| d.rejections.iter().map(|r| r.code.clone()).collect()).collect()
        };
        assert_eq!(verdicts(&evaluate(&port)), verdicts(&evaluate(&rust)), "the {language} port disagrees");
        let fuel = evaluate(&port).modules[0].fuel_used;
        let ported = measure_n(5, 100, || black_box(evaluate(&port)));
        let native = measure(|| black_box(evaluate(&rust)));
        println!(
            "  {language:<10} {rust_name:<12} {:>9.0} / {:>9.0} µs ({:.0}x Rust's {:.1} / {:.1}), {} M fuel; \
             {:.1} MB, first compile {first:.1} s, from the cache {cached:.2} s",
            ported.p50,
            ported.p99,
            ported.p50 / native.p50,
            native.p50,
            native.p99,
            fuel / 1_000_000,
            bytes.len() as f64 / 1e6,
        );
    }
}

/// The policies' verdict as (accepted, codes) per change.
fn assert_same_verdicts(record: &DecisionRecord, native: &[Vec<String>]) {
    let sandboxed: Vec<Vec<String>> = record
        .memory
        .iter()
        .chain(&record.piece)
        .map(|d| d.rejections.iter().map(|r| r.code.clone()).collect())
        .collect();
    assert_eq!(sandboxed, native, "the sandbox and plain Rust disagree");
}

struct Fixture {
    entries: Vec<IndexEntry>,
    native_index: std::rc::Rc<MemoryIndex>,
    pieces: BTreeMap<String, String>,
    index: TenantIndex,
    context: Context,
    proposal: Proposal,
    with_piece_edit: Proposal,
}

const RESEARCH_BEFORE: &str = "name: research\ndescription: Answer a question from the codebase\ninitial_movement: gather\nmax_movements: 6\nmovements:\n  - name: gather\n    persona: researcher\n    instruction_template: \"Collect sources for: {task}\"\n    allowed_tools: [Read, Grep, WebSearch]\n    permission_mode: plan\n    rules:\n      - { condition: enough sources, next: write }\n  - name: write\n    persona: writer\n    instruction_template: \"Answer {task} from the sources.\"\n    edit: true\n    allowed_tools: [Read, Write]\n    rules:\n      - { condition: done, next: COMPLETE }\n";

impl Fixture {
    fn new() -> Fixture {
        let mut text = Text(0x9e37_79b9_7f4a_7c15);
        let types = ["user", "feedback", "project", "reference"];
        let entries: Vec<IndexEntry> = (0..ENTRIES)
            .map(|i| IndexEntry {
                name: format!("topic-{i:03}"),
                entry_type: types[i % 4].to_string(),
                description: format!("What we learned about {}", text.words(4)),
                body: text.paragraph(40 + (i % 7) * 20),
                updated_at_ms: NOW_MS - (i as u64 % 90) * DAY_MS - 3 * 3_600_000,
            })
            .collect();
        let pieces = BTreeMap::from([("research".to_string(), RESEARCH_BEFORE.to_string())]);
        let index = TenantIndex::new(entries.clone(), pieces.clone());
        let context = Context {
            tenant: "acme".into(),
            job_id: "job-1".into(),
            piece: "research".into(),
            run_outcome: RunOutcome::Failed,
            now_ms: NOW_MS,
            piece_edits: vec![memwarden::policy::PieceEditRecord {
                piece: "research".into(),
                at_ms: NOW_MS - 3 * DAY_MS,
            }],
            recent_writes: (0..20).map(|i| NOW_MS - i * 600_000).collect(),
        };
        let mut changes = Vec::new();
        for i in 0..5 {
            let body = text.paragraph(90);
            changes.push(serde_json::json!({"op": "add", "name": format!("new-note-{i}"), "type": "project", "description": format!("Lesson {i} of the run"), "body": body}));
        }
        for i in [10, 20, 30] {
            changes
                .push(serde_json::json!({"op": "update", "name": format!("topic-{i:03}"), "body": text.paragraph(80)}));
        }
        changes.push(serde_json::json!({"op": "remove", "name": "topic-040", "merge_target": "topic-041"}));
        // A near-duplicate of an existing entry: exercises the body fetch.
        let near = entries[7].body.replacen("the", "a", 1);
        changes.push(
            serde_json::json!({"op": "add", "name": "again", "type": "project", "description": "d", "body": near}),
        );
        let proposal_json = serde_json::json!({"reasoning": "what the run taught", "memory_changes": changes});
        let proposal = Proposal::from_json(&proposal_json.to_string()).unwrap_or_else(|err| panic!("fixture: {err}"));
        let mut with_piece_edit = proposal.clone();
        with_piece_edit.piece_edit = Some(memwarden::policy::PieceEdit {
            piece: "research".into(),
            yaml: RESEARCH_BEFORE
                .replace("Collect sources", "Collect three sources")
                .replace("[Read, Grep, WebSearch]", "[Read, Grep]"),
        });
        let native_index = std::rc::Rc::new(MemoryIndex::new(entries.iter().map(sdk_entry).collect()));
        Fixture { entries, native_index, pieces, index, context, proposal, with_piece_edit }
    }

    /// The six policies as plain Rust, with the same conversions the host
    /// does: codes per change, in pack order.
    fn native(&self, proposal: &Proposal) -> Vec<Vec<String>> {
        let proposal = sdk_proposal(proposal, &self.pieces);
        let context = sdk_context(&self.context);
        let index = self.native_index.clone();
        let mut codes = vec![Vec::new(); proposal.memory_changes.len() + usize::from(proposal.piece_edit.is_some())];
        with_index(index, || {
            let decisions = [
                sdk::native::evaluate::<memwarden_policy_schema::Schema>("", &proposal, &context),
                sdk::native::evaluate::<memwarden_policy_size_limits::SizeLimits>("", &proposal, &context),
                sdk::native::evaluate::<memwarden_policy_content_guard::ContentGuard>("", &proposal, &context),
                sdk::native::evaluate::<memwarden_policy_merge_rules::MergeRules>("", &proposal, &context),
                sdk::native::evaluate::<memwarden_policy_cooldown::Cooldown>("", &proposal, &context),
                sdk::native::evaluate::<memwarden_policy_piece_guard::PieceGuard>("", &proposal, &context),
            ];
            for decision in decisions {
                for (slot, verdict) in codes.iter_mut().zip(decision.memory.iter().chain(&decision.piece)) {
                    if let Verdict::Reject(rejection) = verdict {
                        slot.push(rejection.code.clone());
                    }
                }
            }
        });
        codes
    }
}

fn sdk_entry(entry: &IndexEntry) -> (sdk::EntrySummary, String) {
    let summary =
        sdk::native::summary(&entry.name, &entry.entry_type, &entry.description, &entry.body, entry.updated_at_ms);
    (summary, entry.body.clone())
}

fn sdk_proposal(proposal: &Proposal, pieces: &BTreeMap<String, String>) -> sdk::Proposal {
    sdk::Proposal {
        reasoning: proposal.reasoning.clone(),
        memory_changes: proposal
            .memory_changes
            .iter()
            .map(|c| sdk::MemoryChange {
                op: match c.op {
                    memwarden::policy::Op::Add => sdk::Op::Add,
                    memwarden::policy::Op::Update => sdk::Op::Update,
                    memwarden::policy::Op::Remove => sdk::Op::Remove,
                },
                name: c.name.clone(),
                description: c.description.clone(),
                entry_type: c.entry_type.clone(),
                body: c.body.clone(),
                merge_target: c.merge_target.clone(),
            })
            .collect(),
        piece_edit: proposal.piece_edit.as_ref().map(|e| sdk::PieceEdit {
            piece: e.piece.clone(),
            before: pieces.get(&e.piece).cloned(),
            after: e.yaml.clone(),
        }),
    }
}

fn sdk_context(context: &Context) -> sdk::Context {
    sdk::Context {
        tenant: context.tenant.clone(),
        job_id: context.job_id.clone(),
        piece: context.piece.clone(),
        run_outcome: sdk::RunOutcome::Failed,
        now_ms: context.now_ms,
        piece_edits: context
            .piece_edits
            .iter()
            .map(|e| sdk::PieceEditRecord { piece: e.piece.clone(), at_ms: e.at_ms })
            .collect(),
        recent_writes: context.recent_writes.clone(),
    }
}

/// Deterministic filler prose from a fixed vocabulary.
struct Text(u64);

const WORDS: &[&str] = &[
    "the",
    "deploy",
    "migration",
    "runs",
    "before",
    "service",
    "database",
    "user",
    "prefers",
    "short",
    "answers",
    "with",
    "tests",
    "review",
    "branch",
    "release",
    "notes",
    "ticket",
    "staging",
    "production",
    "cache",
    "invalidates",
    "after",
    "config",
    "change",
    "always",
    "never",
    "logs",
    "rotate",
    "weekly",
    "on",
    "call",
    "rota",
    "pager",
    "latency",
    "budget",
    "error",
    "retry",
    "backoff",
    "queue",
    "worker",
    "lease",
    "token",
    "expires",
    "hourly",
    "schema",
    "column",
    "index",
    "rebuild",
    "nightly",
    "backup",
    "restore",
    "drill",
    "owner",
    "team",
    "search",
    "feature",
    "flag",
    "rollout",
    "canary",
    "metrics",
    "dashboard",
    "alert",
    "threshold",
    "incident",
    "postmortem",
    "action",
    "item",
    "docs",
];

impl Text {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn words(&mut self, count: usize) -> String {
        (0..count).map(|_| WORDS[(self.next() % WORDS.len() as u64) as usize]).collect::<Vec<_>>().join(" ")
    }
    fn paragraph(&mut self, words: usize) -> String {
        let mut out = String::new();
        let mut left = words;
        while left > 0 {
            let sentence = left.min(8 + (self.next() % 8) as usize);
            let text = self.words(sentence);
            out.push_str(&text[..1].to_uppercase());
            out.push_str(&text[1..]);
            out.push_str(". ");
            left -= sentence;
        }
        out.trim_end().to_string()
    }
}
