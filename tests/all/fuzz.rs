//! Property tests of every parser of outside input (issue 9, item 25): the
//! proposal JSON, piece YAML, pack YAML, the config, entry front matter,
//! context files and the API's JSON bodies. Each input is bounded in size,
//! and each [`Target`] checks that its parser does not panic, answers a
//! typed error, and returns something no larger than a small multiple of
//! its input (an alias or escape must not multiply it).
//!
//! The suite runs every target for `MEMWARDEN_FUZZ_CASES` cases (default
//! [`DEFAULT_CASES`], a few seconds in all); `host/benches/fuzz.rs` runs the
//! same targets for `MEMWARDEN_FUZZ_SECONDS`. A failure prints its seed;
//! `MEMWARDEN_FUZZ_SEED=<hex>` replays it.
//!
//! This file is shared with the bench through `#[path]`: it uses nothing of
//! the test suite's other modules.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use memwarden::config::RawConfig;
use memwarden::policy::{ContextFile, HostRules, PolicyEngine, Proposal, ProposalError, RulePack};
use memwarden::store::Entry;
use memwarden_piece::Piece;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use serde_json::{Value, json};

/// Cases per target when `MEMWARDEN_FUZZ_CASES` is unset.
pub const DEFAULT_CASES: u32 = 1024;
/// The variable setting the cases per target.
pub const CASES_ENV: &str = "MEMWARDEN_FUZZ_CASES";
/// The variable replaying one seed (32 bytes, hex).
pub const SEED_ENV: &str = "MEMWARDEN_FUZZ_SEED";

/// Longest generated text, in characters; inputs stay small so that the
/// outputs' bound is meaningful and a case takes milliseconds.
const MAX_TEXT_CHARS: usize = 256;
/// How much larger than its input a parsed value may print: JSON and YAML
/// escapes, defaults filled in, never an expansion.
const GROWTH: usize = 8;
/// Slack on every bound, in bytes: defaults, field names, a file path.
const SLACK_BYTES: usize = 4096;

/// One parser and its property.
pub struct Target {
    /// Its name, as the tests and the bench print it.
    pub name: &'static str,
    /// Runs `cases` cases drawn from a seed; returns how many inputs got
    /// past the parser (a measure of how deep the generator reaches), or
    /// the shrunk failing input and why.
    pub run: fn(u32, &[u8; 32]) -> Result<u64, String>,
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target { name: "proposal_json", run: proposal_json },
    Target { name: "piece_yaml", run: piece_yaml },
    Target { name: "pack_yaml", run: pack_yaml },
    Target { name: "config_yaml", run: config_yaml },
    Target { name: "entry_front_matter", run: entry_front_matter },
    Target { name: "context_file", run: context_file },
    Target { name: "api_bodies", run: api_bodies },
];

/// Cases per target: `MEMWARDEN_FUZZ_CASES`, or [`DEFAULT_CASES`].
pub fn cases_from_env() -> u32 {
    std::env::var(CASES_ENV).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(DEFAULT_CASES)
}

/// A seed: `MEMWARDEN_FUZZ_SEED`, or a fresh random one.
pub fn seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    match std::env::var(SEED_ENV).ok().and_then(|hex| hex::decode(hex.trim()).ok()) {
        Some(bytes) if bytes.len() == 32 => seed.copy_from_slice(&bytes),
        _ => getrandom::fill(&mut seed).expect("random"),
    }
    seed
}

/// The generator of a seed.
fn rng(seed: &[u8; 32]) -> TestRng {
    TestRng::from_seed(RngAlgorithm::ChaCha, seed)
}

/// Runs `property` on `cases` values of `strategy`; on failure, proptest
/// shrinks the input and the error describes it. The property says whether
/// the input got past the parser; the count of those is returned.
fn check<S>(
    cases: u32,
    seed: &[u8; 32],
    strategy: S,
    property: impl Fn(S::Value) -> Result<bool, TestCaseError>,
) -> Result<u64, String>
where
    S: Strategy,
    S::Value: std::fmt::Debug,
{
    let config = Config { cases, failure_persistence: None, max_shrink_iters: 256, ..Config::default() };
    let parsed = AtomicU64::new(0);
    let counted = |value| {
        let got_past = property(value)?;
        parsed.fetch_add(u64::from(got_past), Ordering::Relaxed);
        Ok(())
    };
    TestRunner::new_with_rng(config, rng(seed)).run(&strategy, counted).map_err(|err| err.to_string())?;
    Ok(parsed.into_inner())
}

/// Fails the case unless `size` is within `GROWTH` × `input` + slack.
fn bounded(what: &str, size: usize, input: usize) -> Result<(), TestCaseError> {
    prop_assert!(size <= GROWTH * input + SLACK_BYTES, "{what} is {size} bytes for a {input}-byte input");
    Ok(())
}

// ---- generators -----------------------------------------------------------

/// Any characters, biased by proptest towards the odd ones.
fn text() -> impl Strategy<Value = String> + Clone {
    prop::collection::vec(any::<char>(), 0..MAX_TEXT_CHARS).prop_map(String::from_iter)
}

/// Text made of what YAML and JSON give meaning to.
fn syntax_text() -> impl Strategy<Value = String> + Clone {
    let chars = vec![
        '{', '}', '[', ']', ':', ',', '"', '\'', '&', '*', '!', '|', '>', '-', '#', '\n', ' ', '\t', 'a', 'b', '0',
        '1', '\\', '%', '@', '`', '~', '?', '.', 'e', 'u', '\u{0}', '\u{1b}', '\u{feff}', '\u{85}', 'é',
    ];
    prop::collection::vec(prop::sample::select(chars), 0..MAX_TEXT_CHARS).prop_map(String::from_iter)
}

/// Either kind of text.
fn any_text() -> impl Strategy<Value = String> + Clone {
    prop_oneof![text(), syntax_text()]
}

/// A name: safe, hostile, or anything.
fn name() -> impl Strategy<Value = String> + Clone {
    let names = [
        "deploy-order",
        "research",
        "a",
        "../x",
        "/etc/passwd",
        "a/b",
        "",
        "nul\u{0}byte",
        "CON",
        "evil\u{1b}[31m",
        "Ünïcode",
        ".hidden",
        "x.md",
    ];
    prop_oneof![3 => prop::sample::select(names.to_vec()).prop_map(String::from), 1 => any_text()]
}

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> + Clone {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any_text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map(name(), inner, 0..6).prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// `value`, or now and then a random value in its place (a wrong type).
/// Rare enough that most documents get past the parser's first checks.
fn or_junk(value: impl Strategy<Value = Value> + Clone) -> impl Strategy<Value = Value> + Clone {
    prop_oneof![20 => value, 1 => json_value()]
}

/// An object of the given fields, each present or not, plus sometimes an
/// unknown one.
fn object(fields: Vec<(&'static str, BoxedStrategy<Value>)>) -> impl Strategy<Value = Value> + Clone {
    sparse_object(0.9, fields)
}

/// An object whose fields are each present with probability `present`:
/// for documents whose every field has a default.
fn sparse_object(
    present: f64,
    fields: Vec<(&'static str, BoxedStrategy<Value>)>,
) -> impl Strategy<Value = Value> + Clone {
    let fields: Vec<_> = fields
        .into_iter()
        .map(|(key, value)| prop::option::weighted(present, value).prop_map(move |v| (key.to_string(), v)))
        .collect();
    (fields, prop::option::weighted(0.03, (name(), json_value()))).prop_map(|(fields, extra)| {
        let mut map: serde_json::Map<String, Value> =
            fields.into_iter().filter_map(|(key, value)| value.map(|v| (key, v))).collect();
        if let Some((key, value)) = extra {
            map.insert(key, value);
        }
        Value::Object(map)
    })
}

fn string_value() -> BoxedStrategy<Value> {
    or_junk(any_text().prop_map(Value::from)).boxed()
}

fn name_value() -> BoxedStrategy<Value> {
    or_junk(name().prop_map(Value::from)).boxed()
}

fn pick(items: &[&'static str]) -> BoxedStrategy<Value> {
    or_junk(prop::sample::select(items.to_vec()).prop_map(Value::from)).boxed()
}

fn number_value() -> BoxedStrategy<Value> {
    let edges = prop::sample::select(vec![0i64, 1, 2, -1, 255, 256, 1 << 20, i64::MAX, i64::MIN]).prop_map(Value::from);
    or_junk(prop_oneof![edges, any::<u32>().prop_map(Value::from)]).boxed()
}

/// A number, mostly of the size settings and clocks take.
fn sane_number() -> BoxedStrategy<Value> {
    prop_oneof![4 => (1..1000u64).prop_map(Value::from), 1 => number_value()].boxed()
}

/// A proposal-shaped JSON value.
fn proposal_value() -> impl Strategy<Value = Value> + Clone {
    let change = object(vec![
        ("op", pick(&["add", "add", "update", "update", "remove", "remove", "rename"])),
        ("name", name_value()),
        ("description", string_value()),
        ("type", pick(&["user", "feedback", "project", "reference", "secret"])),
        ("body", string_value()),
        ("merge_target", name_value()),
    ]);
    let piece_edit = object(vec![("piece", name_value()), ("yaml", piece_text().prop_map(Value::from).boxed())]);
    object(vec![
        ("reasoning", string_value()),
        ("memory_changes", or_junk(prop::collection::vec(change, 0..6).prop_map(Value::from)).boxed()),
        ("piece_edit", or_junk(piece_edit).boxed()),
    ])
}

/// `text`, a third of the time mangled: cut at a point, or with syntax
/// spliced in.
fn mangled(text: impl Strategy<Value = String> + Clone) -> impl Strategy<Value = String> + Clone {
    (text, mangling()).prop_map(|(text, how)| mangle(text, how))
}

/// How to mangle a text: where, what to splice in, and whether to cut (0),
/// splice (1) or leave it (2 to 5).
type Mangling = (prop::sample::Index, String, u8);

fn mangling() -> impl Strategy<Value = Mangling> + Clone {
    (any::<prop::sample::Index>(), syntax_text(), 0..6u8)
}

fn mangle(text: String, (at, splice, how): Mangling) -> String {
    let mut at = at.index(text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    match how {
        0 => text[..at].to_string(),
        1 => format!("{}{splice}{}", &text[..at], &text[at..]),
        _ => text,
    }
}

/// YAML text of a piece-shaped document.
fn piece_text() -> impl Strategy<Value = String> + Clone {
    let rule = object(vec![("condition", string_value()), ("next", pick(&["review", "COMPLETE", "ABORT", "nowhere"]))]);
    let movement = object(vec![
        ("name", pick(&["plan", "review", "implement"])),
        ("persona", string_value()),
        ("instruction_template", string_value()),
        ("edit", or_junk(any::<bool>().prop_map(Value::from)).boxed()),
        (
            "allowed_tools",
            or_junk(prop::collection::vec(name().prop_map(Value::from), 0..4).prop_map(Value::from)).boxed(),
        ),
        ("permission_mode", pick(&["plan", "default", "acceptEdits", "bypassPermissions", "root"])),
        ("rules", or_junk(prop::collection::vec(rule, 0..3).prop_map(Value::from)).boxed()),
    ]);
    let piece = object(vec![
        ("name", name_value()),
        ("description", string_value()),
        ("initial_movement", pick(&["plan", "review", "nowhere"])),
        ("max_movements", number_value()),
        ("movements", or_junk(prop::collection::vec(movement, 0..4).prop_map(Value::from)).boxed()),
    ]);
    prop_oneof![4 => mangled(piece.prop_map(|v| yaml(&v))), 1 => alias_bomb(), 1 => any_text()]
}

/// A document of anchors and aliases under one key: `width`^`depth`
/// leaves from a few lines, if nothing stops the expansion.
fn alias_bomb() -> impl Strategy<Value = String> + Clone {
    let keys = vec!["name", "allowed_tools", "entries", "recent_writes", "pieces", "modules", "data_dir", "movements"];
    (1..12usize, 1..8usize, prop::sample::select(keys)).prop_map(|(depth, width, key)| {
        let mut doc = format!("{key}:\n  - &a0 \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"\n");
        for level in 1..=depth {
            let refs = vec![format!("*a{}", level - 1); width].join(", ");
            doc.push_str(&format!("  - &a{level} [{refs}]\n"));
        }
        doc.push_str(&format!("  - *a{depth}\n"));
        doc
    })
}

/// `value` as YAML (JSON, which is YAML, when it has no YAML form).
fn yaml(value: &Value) -> String {
    serde_norway::to_string(value).unwrap_or_else(|_| value.to_string())
}

/// A text holding `value` as YAML or JSON, or mangled, or anything.
fn document(value: impl Strategy<Value = Value> + Clone + 'static) -> impl Strategy<Value = String> + Clone {
    let as_yaml = value.clone().prop_map(|v| yaml(&v));
    let as_json = value.prop_map(|v| v.to_string());
    prop_oneof![3 => mangled(as_yaml), 2 => mangled(as_json), 1 => alias_bomb(), 1 => any_text()]
}

// ---- targets --------------------------------------------------------------

/// Proposal JSON, as an LLM or an MCP client sends it; every parsed one is
/// also evaluated by the default pack, whose record must stay bounded.
pub fn proposal_json(cases: u32, seed: &[u8; 32]) -> Result<u64, String> {
    let fenced = proposal_value().prop_map(|v| format!("```json\n{v}\n```"));
    let many = (257..400usize).prop_map(|n| {
        let changes: Vec<_> = (0..n).map(|i| json!({"op": "remove", "name": format!("e{i}")})).collect();
        json!({"reasoning": "r", "memory_changes": changes}).to_string()
    });
    let strategy = prop_oneof![
        6 => mangled(proposal_value().prop_map(|v| v.to_string())),
        1 => fenced,
        1 => many,
        2 => any_text(),
    ];
    check(cases, seed, strategy, |text| match Proposal::from_json(&text) {
        Ok(proposal) => {
            let size = serde_json::to_string(&proposal).map_err(|e| TestCaseError::fail(e.to_string()))?.len();
            bounded("the parsed proposal", size, text.len())?;
            let (context, index) = ContextFile::default().for_proposal(&proposal).into_parts(0);
            let record = default_pack().evaluate(&proposal, &context, &index);
            let size = serde_json::to_string(&record).map_err(|e| TestCaseError::fail(e.to_string()))?.len();
            prop_assert!(size <= 512 * 1024, "the decision record is {size} bytes");
            prop_assert!(record.refused.is_none() || record.memory.is_empty());
            prop_assert_eq!(
                record.proposed_count(),
                proposal.memory_changes.len() + proposal.piece_edit.iter().count()
            );
            Ok(true)
        }
        Err(err @ (ProposalError::TooLarge { .. } | ProposalError::Invalid(_))) => {
            bounded("the error", err.to_string().len(), text.len())?;
            Ok(false)
        }
        Err(err) => Err(TestCaseError::fail(format!("an untyped error: {err}"))),
    })
}

/// Piece YAML, as a piece edit carries it (the shared `memwarden-piece`
/// crate, which the host and piece-guard both use).
pub fn piece_yaml(cases: u32, seed: &[u8; 32]) -> Result<u64, String> {
    check(cases, seed, piece_text(), |text| match Piece::parse(&text) {
        Ok(piece) => {
            let size = serde_norway::to_string(&piece).map_err(|e| TestCaseError::fail(e.to_string()))?.len();
            bounded("the parsed piece", size, text.len())?;
            if let Err(err) = piece.check(&piece.name) {
                bounded("the error", err.to_string().len(), text.len())?;
            }
            Ok(true)
        }
        Err(err) => bounded("the error", err.to_string().len(), text.len()).map(|()| false),
    })
}

/// The engine of this process, with the suite's module cache.
fn engine() -> &'static PolicyEngine {
    static ENGINE: OnceLock<PolicyEngine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("module-cache");
        PolicyEngine::with_options(Default::default(), Some(&cache)).expect("the engine starts")
    })
}

fn default_pack() -> &'static RulePack {
    static PACK: OnceLock<RulePack> = OnceLock::new();
    PACK.get_or_init(|| RulePack::load(engine(), "default").expect("the default pack loads"))
}

/// A scratch directory for one target run.
fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// Rule pack YAML, loaded from a file as a tenant's pack is.
pub fn pack_yaml(cases: u32, seed: &[u8; 32]) -> Result<u64, String> {
    let modules =
        ["schema", "size-limits", "cooldown", "merge-rules", "content-guard", "piece-guard", "nope", "x.wasm"];
    let module = object(vec![
        ("module", pick(&modules)),
        (
            "sha256",
            or_junk(prop::sample::select(vec!["00".repeat(32), "zz".to_string()]).prop_map(Value::from)).boxed(),
        ),
        ("config", prop_oneof![3 => Just(json!({})), 1 => json_value()].boxed()),
        ("mode", pick(&["enforce", "audit", "audit", "enforce", "loud"])),
    ]);
    let pack = object(vec![
        ("name", string_value()),
        (
            "extends",
            pick(&["default", "default", "default", "nope", "./pack.yaml", "/nonexistent/p.yaml", "other.yaml"]),
        ),
        ("mode", pick(&["enforce", "enforce", "audit", "loud"])),
        ("modules", or_junk(prop::collection::vec(module, 0..4).prop_map(Value::from)).boxed()),
    ]);
    let dir = scratch();
    std::fs::write(dir.path().join("other.yaml"), "extends: pack.yaml\n").expect("write");
    check(cases, seed, (document(pack), any::<bool>()), |(text, pack_audit)| {
        let path = dir.path().join("pack.yaml");
        std::fs::write(&path, &text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let rules = HostRules { pack_audit, ..HostRules::default() };
        match RulePack::load_with(engine(), path.to_str().expect("utf-8"), rules) {
            Ok(_) => Ok(true),
            Err(err) => {
                prop_assert!(!err.code().is_empty());
                bounded("the error", err.to_string().len(), text.len()).map(|()| false)
            }
        }
    })
}

/// The host config file.
pub fn config_yaml(cases: u32, seed: &[u8; 32]) -> Result<u64, String> {
    let llm = sparse_object(
        0.3,
        vec![
            ("provider", pick(&["openai", "scripted", "nope"])),
            ("timeout_seconds", sane_number()),
            ("max_output_tokens", sane_number()),
            ("context_window_tokens", sane_number()),
            ("max_response_bytes", sane_number()),
            ("script", string_value()),
        ],
    );
    let worker = sparse_object(
        0.3,
        vec![
            ("concurrency", sane_number()),
            ("lease_seconds", sane_number()),
            ("heartbeat_seconds", sane_number()),
            ("max_attempts", sane_number()),
        ],
    );
    let serve = sparse_object(0.3, vec![("listen", string_value()), ("max_body_bytes", sane_number())]);
    let config = sparse_object(
        0.3,
        vec![
            ("data_dir", string_value()),
            ("database", pick(&["sqlite://jobs.db", "sqlite::memory:", "postgres://db/memwarden", "mysql://x"])),
            ("pack", string_value()),
            ("llm", or_junk(llm).boxed()),
            ("worker", or_junk(worker).boxed()),
            ("serve", or_junk(serve).boxed()),
            (
                "policy",
                or_junk(sparse_object(0.3, vec![("pack_audit", or_junk(any::<bool>().prop_map(Value::from)).boxed())]))
                    .boxed(),
            ),
        ],
    );
    let dir = scratch();
    check(cases, seed, document(config), |text| {
        let path = dir.path().join("memwarden.yaml");
        std::fs::write(&path, &text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        match RawConfig::load(Some(&path)) {
            Ok(config) => bounded("the config", format!("{config:?}").len(), text.len()).map(|()| true),
            Err(err) => {
                let message = format!("{err:#}");
                prop_assert!(!message.is_empty());
                // The message quotes at most a little of the file (issue 9).
                prop_assert!(message.len() <= 2048, "a {}-byte error: {message}", message.len());
                Ok(false)
            }
        }
    })
}

/// The front matter of a memory entry file, as the store reads it; and
/// every entry the store writes reads back the same.
pub fn entry_front_matter(cases: u32, seed: &[u8; 32]) -> Result<u64, String> {
    let mut second = *seed;
    second[0] ^= 0xff;
    // Values written raw, as a hand-edited or planted file would hold them;
    // the name the file should have is the one written, most of the time.
    let value = prop_oneof![2 => "[a-zA-Z0-9 .,-]{0,40}", 1 => any_text()];
    let raw = (name(), value.clone(), value, any_text(), prop::bool::weighted(0.2)).prop_map(
        |(name, description, kind, body, renamed)| {
            let text = format!("---\nname: {name}\ndescription: {description}\ntype: {kind}\n---\n{body}");
            (text, if renamed { format!("{name}-2") } else { name })
        },
    );
    let strategy = prop_oneof![
        3 => (raw, mangling()).prop_map(|((text, name), how)| (mangle(text, how), name)),
        1 => (any_text().prop_map(|t| format!("---\n{t}")), name()),
        1 => (any_text(), name()),
    ];
    let parsed = check(cases, seed, strategy, |(text, expected)| match Entry::parse(&expected, &text) {
        Ok(entry) => {
            let size = entry.name.len() + entry.description.len() + entry.entry_type.len() + entry.body.len();
            bounded("the entry", size, text.len()).map(|()| true)
        }
        Err(err) => {
            prop_assert!(!err.code().is_empty());
            bounded("the error", err.to_string().len(), text.len()).map(|()| false)
        }
    })?;
    // Round trip: what the store writes, it reads back unchanged — for what
    // the host lets into the store: a safe name, a known type, and a
    // description the host check `control_character` lets through: no
    // control characters, line separators or noncharacters (with a NEL the
    // description came back changed, YAML folds it; with a U+FFFE the file
    // could not be read at all).
    let one_line = any_text().prop_map(|text| {
        let refused = |c: char| {
            c.is_control()
                || matches!(c, '\u{2028}' | '\u{2029}' | '\u{FDD0}'..='\u{FDEF}')
                || (c as u32) & 0xFFFE == 0xFFFE
        };
        text.chars().filter(|&c| !refused(c)).collect::<String>()
    });
    let entry_type = prop::sample::select(memwarden::policy::ENTRY_TYPES.to_vec()).prop_map(String::from);
    let entry = ("[a-z0-9][a-z0-9_-]{0,20}", one_line, entry_type, any_text());
    check(cases, &second, entry, |(name, description, kind, body)| {
        let entry = Entry { name: name.clone(), description, entry_type: kind, body };
        let text = entry.to_markdown();
        match Entry::parse(&name, &text) {
            Ok(read) => prop_assert_eq!(read, entry),
            Err(err) => prop_assert!(false, "the store cannot read what it wrote: {err}\n{text:?}"),
        }
        Ok(false)
    })?;
    Ok(parsed)
}

/// A context file, as `policy eval --context` and policy test cases read
/// it (YAML, which includes JSON).
pub fn context_file(cases: u32, seed: &[u8; 32]) -> Result<u64, String> {
    let entry = object(vec![
        ("name", name_value()),
        ("type", pick(&["user", "project"])),
        ("description", string_value()),
        ("body", string_value()),
        ("updated_at_ms", sane_number()),
    ]);
    let edit = object(vec![("piece", name_value()), ("at_ms", sane_number())]);
    let pieces = prop::collection::btree_map(name(), piece_text().prop_map(Value::from), 0..3)
        .prop_map(|map| Value::Object(map.into_iter().collect()));
    let context = object(vec![
        ("tenant", name_value()),
        ("job_id", string_value()),
        ("piece", name_value()),
        ("run_outcome", pick(&["succeeded", "failed", "aborted", "consolidation", "exploded"])),
        ("now_ms", sane_number()),
        ("entries", or_junk(prop::collection::vec(entry, 0..4).prop_map(Value::from)).boxed()),
        ("pieces", or_junk(pieces).boxed()),
        ("piece_edits", or_junk(prop::collection::vec(edit, 0..3).prop_map(Value::from)).boxed()),
        (
            "recent_writes",
            or_junk(prop::collection::vec(any::<u64>().prop_map(Value::from), 0..4).prop_map(Value::from)).boxed(),
        ),
    ]);
    check(cases, seed, document(context), |text| match serde_norway::from_str::<ContextFile>(&text) {
        Ok(file) => {
            bounded("the context", format!("{file:?}").len(), text.len())?;
            let (context, _index) = file.into_parts(0);
            bounded("the context", format!("{context:?}").len(), text.len()).map(|()| true)
        }
        Err(err) => bounded("the error", err.to_string().len(), text.len()).map(|()| false),
    })
}

/// The API's JSON bodies, posted to a real `memwarden serve`: every answer
/// is 2xx or a 4xx with a JSON error code, never a 5xx, and the server
/// lives on.
pub fn api_bodies(cases: u32, seed: &[u8; 32]) -> Result<u64, String> {
    let server = Server::start();
    let eval = object(vec![
        ("tenant", pick(&["acme", "acme", "acme", "../x", "", "beta"])),
        ("proposal", or_junk(proposal_value()).boxed()),
        ("piece", pick(&["research", "", "plan-implement-review", "../x"])),
        ("outcome", pick(&["succeeded", "failed", "aborted", "consolidation", "exploded"])),
    ]);
    let reflection = object(vec![
        ("piece", pick(&["research", "research", "plan-implement-review", "nope", "../x"])),
        ("outcome", pick(&["succeeded", "failed", "aborted", "exploded"])),
        ("activity_log", string_value()),
        (
            "idempotency_key",
            or_junk(prop::option::of(prop_oneof!["[a-z0-9]{8,16}", name()]).prop_map(|k| json!(k))).boxed(),
        ),
    ]);
    let routes = [
        "/v1/policy/eval",
        "/v1/tenants/acme/reflections",
        "/v1/tenants/acme/consolidate",
        "/v1/tenants/acme/snapshots/x/rollback",
    ];
    let body = prop_oneof![
        3 => mangled(eval.prop_map(|v| v.to_string())),
        3 => mangled(reflection.prop_map(|v| v.to_string())),
        1 => json_value().prop_map(|v| v.to_string()),
        1 => any_text(),
    ];
    check(cases, seed, (prop::sample::select(routes.to_vec()), body), |(route, body)| {
        let (status, answer) = server.post(route, &body).map_err(|e| TestCaseError::fail(format!("no answer: {e}")))?;
        prop_assert!((200..500).contains(&status), "{route} answered {status}: {answer}");
        if status >= 400 {
            let value: Value =
                serde_json::from_str(&answer).map_err(|e| TestCaseError::fail(format!("{e}: {answer}")))?;
            prop_assert!(value["error"]["code"].is_string(), "{route} answered {status}: {answer}");
        }
        bounded("the answer", answer.len(), body.len() + 64 * 1024)?;
        Ok(status < 300)
    })
}

/// The admin key of the fuzzed server.
const ADMIN_KEY: &str = "fuzz-admin-key";

/// A `memwarden serve --no-workers` of its own, killed when dropped.
struct Server {
    child: Child,
    address: String,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let dir = scratch();
        let root = dir.path();
        std::fs::write(root.join("script.yaml"), "responses: []\n").expect("script");
        let config: PathBuf = root.join("memwarden.yaml");
        let text =
            format!("data_dir: {0}/data\nllm:\n  provider: scripted\n  script: {0}/script.yaml\n", root.display());
        std::fs::write(&config, text).expect("config");
        let mut child = Command::new(env!("CARGO_BIN_EXE_memwarden"))
            .env("MEMWARDEN_ADMIN_KEY", ADMIN_KEY)
            .env("MEMWARDEN_CACHE_DIR", Path::new(env!("CARGO_TARGET_TMPDIR")).join("module-cache"))
            .env_remove("RUST_LOG")
            .arg("--config")
            .arg(&config)
            .args(["serve", "--listen", "127.0.0.1:0", "--no-workers"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve starts");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let first = lines.next().expect("a first line").expect("utf-8");
        let url = first.rsplit(' ').next().expect("an address");
        let address = url.trim_start_matches("http://").to_string();
        std::thread::spawn(move || for _ in lines {});
        let server = Server { child, address, _dir: dir };
        // The tenant exists once it has a job: evaluations can then run.
        let job = json!({"piece": "research", "outcome": "failed", "activity_log": "tests failed"}).to_string();
        let (status, answer) = server.post("/v1/tenants/acme/reflections", &job).expect("the server answers");
        assert_eq!(status, 202, "{answer}");
        server
    }

    /// POSTs `body` as JSON with the admin key; returns status and body.
    fn post(&self, route: &str, body: &str) -> std::io::Result<(u16, String)> {
        let mut stream = TcpStream::connect(&self.address)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let head = format!(
            "POST {route} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {ADMIN_KEY}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            self.address,
            body.len()
        );
        stream.write_all(head.as_bytes())?;
        stream.write_all(body.as_bytes())?;
        let mut answer = Vec::new();
        stream.take(8 << 20).read_to_end(&mut answer)?;
        let answer = String::from_utf8_lossy(&answer).into_owned();
        let status = answer.split(' ').nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
        let body = answer.split_once("\r\n\r\n").map_or("", |(_, body)| body);
        // A chunked body: keep what lies between the chunk sizes.
        let body = match answer.to_ascii_lowercase().contains("transfer-encoding: chunked") {
            true => dechunk(body),
            false => body.to_string(),
        };
        Ok((status, body))
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(size) = usize::from_str_radix(size.trim(), 16) else { break };
        if size == 0 || rest.len() < size {
            break;
        }
        out.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    out
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A failed run's report, with the variable that replays it.
pub fn describe(target: &Target, seed: &[u8; 32], failure: &str) -> String {
    format!("fuzz target `{}` failed ({SEED_ENV}={} replays it):\n{failure}", target.name, hex::encode(seed))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs one target for the configured cases, from a fresh seed.
    fn fuzz(name: &str) {
        let target = TARGETS.iter().find(|t| t.name == name).expect("a target");
        let (seed, cases) = (seed(), cases_from_env());
        match (target.run)(cases, &seed) {
            // In the test log: how deep the generator reached.
            Ok(parsed) => eprintln!("fuzz target `{name}`: {cases} cases, {parsed} past the parser"),
            Err(failure) => panic!("{}", describe(target, &seed, &failure)),
        }
    }

    #[test]
    fn fuzz_proposal_json() {
        fuzz("proposal_json");
    }

    #[test]
    fn fuzz_piece_yaml() {
        fuzz("piece_yaml");
    }

    #[test]
    fn fuzz_pack_yaml() {
        fuzz("pack_yaml");
    }

    #[test]
    fn fuzz_config_yaml() {
        fuzz("config_yaml");
    }

    #[test]
    fn fuzz_entry_front_matter() {
        fuzz("entry_front_matter");
    }

    #[test]
    fn fuzz_context_file() {
        fuzz("context_file");
    }

    #[test]
    fn fuzz_api_bodies() {
        fuzz("api_bodies");
    }

    #[test]
    fn every_target_has_a_test() {
        let names: Vec<&str> = TARGETS.iter().map(|t| t.name).collect();
        let source = include_str!("fuzz.rs");
        for name in names {
            assert!(source.contains(&format!("fn fuzz_{name}()")), "no test runs `{name}`");
        }
    }
}
