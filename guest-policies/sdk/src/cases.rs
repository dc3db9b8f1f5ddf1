//! Runs a cases file natively: the policy's own code, called through the
//! [`native`](crate::native) module, on the same `cases.yaml` that
//! `memwarden policy test` runs against the built component, read by the
//! same rules (`docs/policy-cases.md`; `CASES.md` in a scaffolded crate).
//! One line in a test runs them all:
//!
//! ```ignore
//! memwarden_policy_sdk::cases::run::<MyPolicy>(concat!(env!("CARGO_MANIFEST_DIR"), "/cases.yaml"));
//! ```
//!
//! What only the host does is left out:
//! - its own checks (`unsafe_name`, `incomplete_change`, …) do not run, so
//!   their codes are dropped from each `expect` before comparing;
//! - a `pack:` file runs several modules and cannot run here;
//! - a proposal over the host's change ceiling, which the host refuses whole
//!   before any module runs, is evaluated like any other.
//!
//! As in the host, a policy that panics or answers with the wrong number of
//! verdicts or a malformed code gets `policy_error` on every change.

use std::collections::{BTreeMap, BTreeSet};
use std::panic::AssertUnwindSafe;

use serde::Deserialize;

use crate::native::{self, MemoryIndex};
use crate::{self as sdk, Policy};

/// The host's own codes, `policy_error` aside: a cases file lists them in
/// `expect`, but only the host produces them. memwarden's test suite checks
/// this list against the host's.
pub const HOST_CODES: &[&str] = &[
    "unsafe_name",
    "unknown_entry_type",
    "incomplete_change",
    "over_hard_limit",
    "control_character",
    "piece_not_own",
    "group_member_rejected",
    "group_member_held",
    "amend_refused",
    "amend_unsettled",
];
/// The code of a change whose module failed.
const POLICY_ERROR: &str = "policy_error";

/// Runs every case of the cases file at `path` through policy `P`; panics
/// listing the failures when a case fails.
pub fn run<P: Policy>(path: &str) {
    let text = std::fs::read_to_string(path).unwrap_or_else(|err| panic!("cannot read `{path}`: {err}"));
    let file: CasesFile =
        serde_norway::from_str(&text).unwrap_or_else(|err| panic!("`{path}` is not a cases file: {err}"));
    match (&file.pack, &file.module, &file.krate) {
        (None, Some(_), None) | (None, None, Some(_)) => {}
        (Some(_), None, None) => {
            panic!("`{path}` names a pack, which runs several modules: run it with `memwarden policy test`")
        }
        _ => panic!("`{path}`: name exactly one of `pack`, `module` and `crate`"),
    }
    let mut failures = Vec::new();
    for case in &file.cases {
        let lines = run_case::<P>(&file, case);
        if !lines.is_empty() {
            failures.push(format!("FAIL {}\n{}", case.name, lines.join("\n")));
        }
    }
    let passed = file.cases.len() - failures.len();
    println!("{passed} passed, {} failed (natively; the host's checks left out)", failures.len());
    assert!(failures.is_empty(), "cases failed in `{path}`:\n{}", failures.join("\n"));
}

/// Diff lines of one case; none when it passes.
fn run_case<P: Policy>(file: &CasesFile, case: &Case) -> Vec<String> {
    // As the host: a `null` or absent config is the policy's defaults.
    let config = case.config.as_ref().or(file.config.as_ref()).filter(|config| !config.is_null());
    let config = config.map_or(String::new(), |config| config.to_string());
    if let Err(err) = native::validate_config::<P>(&config) {
        return vec![format!("  the config is refused: {err}")];
    }
    let context = case.context.clone().or_else(|| file.context.clone()).unwrap_or_default();
    let (proposal, context, index) = inputs(&case.proposal, context);
    let answer = native::with_index(index, || {
        std::panic::catch_unwind(AssertUnwindSafe(|| native::evaluate::<P>(&config, &proposal, &context)))
    });
    let answer = answer.map_err(|_| "panicked".to_string()).and_then(|decision| check_shape::<P>(decision, &proposal));
    let (memory, piece): (Vec<Codes>, Option<Codes>) = match answer {
        Ok(decision) => (decision.memory.iter().map(codes_of).collect(), decision.piece.as_ref().map(codes_of)),
        Err(failure) => {
            let failed = || Codes::from([POLICY_ERROR.to_string()]);
            println!("{}: the policy {failure}", case.name);
            let memory = proposal.memory_changes.iter().map(|_| failed()).collect();
            (memory, proposal.piece_edit.as_ref().map(|_| failed()))
        }
    };
    compare(&case.expect, &proposal, &memory, piece.as_ref())
}

/// The proposal, context and tenant index as the host would pass them.
fn inputs(proposal: &Proposal, file: ContextFile) -> (sdk::Proposal, sdk::Context, MemoryIndex) {
    let proposal = sdk::Proposal {
        reasoning: proposal.reasoning.clone(),
        memory_changes: proposal
            .memory_changes
            .iter()
            .map(|change| sdk::MemoryChange {
                op: match change.op {
                    Op::Add => sdk::Op::Add,
                    Op::Update => sdk::Op::Update,
                    Op::Remove => sdk::Op::Remove,
                },
                name: change.name.clone(),
                description: change.description.clone(),
                entry_type: change.entry_type.clone(),
                body: change.body.clone(),
                merge_target: change.merge_target.clone(),
            })
            .collect(),
        piece_edit: proposal.piece_edit.as_ref().map(|edit| sdk::PieceEdit {
            piece: edit.piece.clone(),
            before: file.pieces.get(&edit.piece).cloned(),
            after: edit.yaml.clone(),
        }),
    };
    // A context naming no piece is a run of the piece the proposal edits.
    let piece = match (&proposal.piece_edit, file.piece.is_empty()) {
        (Some(edit), true) => edit.piece.clone(),
        _ => file.piece,
    };
    let context = sdk::Context {
        tenant: file.tenant.unwrap_or_else(|| "default".to_string()),
        job_id: file.job_id.unwrap_or_else(|| "cli".to_string()),
        piece,
        run_outcome: match file.run_outcome {
            RunOutcome::Succeeded => sdk::RunOutcome::Succeeded,
            RunOutcome::Failed => sdk::RunOutcome::Failed,
            RunOutcome::Aborted => sdk::RunOutcome::Aborted,
            RunOutcome::Consolidation => sdk::RunOutcome::Consolidation,
        },
        now_ms: file.now_ms.unwrap_or(0),
        piece_edits: file
            .piece_edits
            .into_iter()
            .map(|edit| sdk::PieceEditRecord { piece: edit.piece, at_ms: edit.at_ms })
            .collect(),
        recent_writes: file.recent_writes,
    };
    let entries = file
        .entries
        .into_iter()
        .map(|entry| {
            let summary =
                native::summary(&entry.name, &entry.entry_type, &entry.description, &entry.body, entry.updated_at_ms);
            (summary, entry.body)
        })
        .collect();
    (proposal, context, MemoryIndex::new(entries))
}

/// Refuses an answer the host would refuse: the wrong number of verdicts,
/// a code that is not snake_case, or one the policy does not declare.
fn check_shape<P: Policy>(decision: sdk::Decision, proposal: &sdk::Proposal) -> Result<sdk::Decision, String> {
    let expected = proposal.memory_changes.len();
    if decision.memory.len() != expected {
        return Err(format!("returned {} memory verdicts for {expected} changes", decision.memory.len()));
    }
    if decision.piece.is_some() != proposal.piece_edit.is_some() {
        return Err("returned a piece verdict if and only if there is no piece edit".to_string());
    }
    for verdict in decision.memory.iter().chain(&decision.piece) {
        if let Some(code) = verdict.code() {
            let snake = !code.is_empty()
                && code.len() <= 64
                && code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !snake {
                return Err(format!("returned the malformed code `{}`", code.escape_debug()));
            }
            if !P::CODES.iter().any(|(declared, _)| *declared == code) {
                return Err(format!("returned the code `{code}`, which it does not declare"));
            }
        }
    }
    Ok(decision)
}

/// The codes of one change, empty when it is accepted; a hold's code is
/// written `hold:code`, an amendment's `amend:code`.
type Codes = BTreeSet<String>;

fn codes_of(verdict: &sdk::Verdict) -> Codes {
    match verdict {
        sdk::Verdict::Accept => Codes::new(),
        sdk::Verdict::Reject(rejection) => Codes::from([rejection.code.clone()]),
        sdk::Verdict::Hold(hold) => Codes::from([format!("hold:{}", hold.code)]),
        sdk::Verdict::Amend(amendment) => Codes::from([format!("amend:{}", amendment.code)]),
    }
}

/// Diff lines for every change whose codes differ from the expectation,
/// host codes left out.
fn compare(expect: &Expected, proposal: &sdk::Proposal, memory: &[Codes], piece: Option<&Codes>) -> Vec<String> {
    let mut lines = Vec::new();
    if expect.memory.len() != memory.len() {
        let (expected, changes) = (expect.memory.len(), memory.len());
        lines.push(format!("  expected {expected} memory verdicts, the proposal has {changes} changes"));
    }
    for (position, (expected, got)) in expect.memory.iter().zip(memory).enumerate() {
        let label = format!("memory[{position}] `{}`", proposal.memory_changes[position].name);
        diff(&mut lines, &label, &expected.codes(), Some(got));
    }
    match (&expect.piece, piece) {
        (None, None) => {}
        (Some(expected), got) => diff(&mut lines, "piece", &expected.codes(), got),
        (None, got) => diff(&mut lines, "piece (no expectation given)", &Codes::new(), got),
    }
    lines
}

fn diff(lines: &mut Vec<String>, label: &str, expected: &Codes, got: Option<&Codes>) {
    if got != Some(expected) {
        lines.push(format!("  {label}:"));
        lines.push(format!("    - expected: {}", show(expected)));
        lines.push(format!("    + got:      {}", got.map_or("(no such change)".to_string(), show)));
    }
}

fn show(codes: &Codes) -> String {
    match codes.is_empty() {
        true => "accept".to_string(),
        false => format!("reject [{}]", codes.iter().cloned().collect::<Vec<_>>().join(", ")),
    }
}

// The cases format, as `memwarden policy test` reads it; unknown fields are
// errors here too.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CasesFile {
    #[serde(default)]
    pack: Option<String>,
    #[serde(default)]
    module: Option<String>,
    #[serde(default, rename = "crate")]
    krate: Option<String>,
    #[serde(default)]
    config: Option<serde_json::Value>,
    #[serde(default)]
    context: Option<ContextFile>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    proposal: Proposal,
    #[serde(default)]
    context: Option<ContextFile>,
    #[serde(default)]
    config: Option<serde_json::Value>,
    expect: Expected,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Proposal {
    reasoning: String,
    #[serde(default)]
    memory_changes: Vec<MemoryChange>,
    #[serde(default)]
    piece_edit: Option<PieceEdit>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemoryChange {
    op: Op,
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default, rename = "type")]
    entry_type: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    merge_target: Option<String>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum Op {
    Add,
    Update,
    Remove,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PieceEdit {
    piece: String,
    yaml: String,
}

#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields, default)]
struct ContextFile {
    tenant: Option<String>,
    job_id: Option<String>,
    piece: String,
    run_outcome: RunOutcome,
    now_ms: Option<u64>,
    entries: Vec<Entry>,
    pieces: BTreeMap<String, String>,
    piece_edits: Vec<PieceEditRecord>,
    recent_writes: Vec<u64>,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum RunOutcome {
    #[default]
    Succeeded,
    Failed,
    Aborted,
    Consolidation,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    #[serde(rename = "type")]
    entry_type: String,
    description: String,
    body: String,
    #[serde(default)]
    updated_at_ms: u64,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct PieceEditRecord {
    piece: String,
    at_ms: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    #[serde(default)]
    memory: Vec<Outcome>,
    #[serde(default)]
    piece: Option<Outcome>,
}

/// `accept`, or the exact set of codes, in any order.
#[derive(Deserialize)]
#[serde(untagged)]
enum Outcome {
    #[serde(deserialize_with = "accept_keyword")]
    Accept,
    Reject(Vec<String>),
}

fn accept_keyword<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<(), D::Error> {
    match String::deserialize(deserializer)?.as_str() {
        "accept" => Ok(()),
        other => Err(serde::de::Error::custom(format!("expected `accept` or a list of codes, found `{other}`"))),
    }
}

impl Outcome {
    /// The codes a module may produce natively: the host's left out.
    fn codes(&self) -> Codes {
        match self {
            Outcome::Accept => Codes::new(),
            Outcome::Reject(codes) => {
                codes.iter().filter(|code| !HOST_CODES.contains(&code.as_str())).cloned().collect()
            }
        }
    }
}
