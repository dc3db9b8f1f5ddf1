//! Checks the host makes before any module runs, which no rule pack can
//! switch off: names that are safe as file names, known entry types, the
//! fields apply cannot do without, descriptions on one line, a piece edit
//! only of the run's own piece, and hard size ceilings. A proposal over the
//! change ceiling is refused whole ([`check_whole`]); the rest is checked
//! per change ([`check`]). [`HostRules`] holds what the operator may set
//! about them; packs cannot.

use super::decision::codes;
use super::model::{Context, MemoryChange, Op, Proposal};
use crate::names::name_problem;

/// Ceilings far above any sane pack's limits; they protect the host itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HardLimits {
    /// Memory changes in one proposal.
    pub max_changes: usize,
    /// Bytes of one body.
    pub max_body_bytes: usize,
    /// Bytes of one description.
    pub max_description_bytes: usize,
    /// Bytes of a piece's YAML.
    pub max_piece_bytes: usize,
}

impl Default for HardLimits {
    fn default() -> Self {
        HardLimits {
            max_changes: 256,
            max_body_bytes: 256 * 1024,
            max_description_bytes: 4 * 1024,
            // Four times piece-guard's default; a piece is a page of YAML.
            // The host parses accepted pieces itself (issue 9).
            max_piece_bytes: 64 * 1024,
        }
    }
}

/// The most a pack entry's `limits:` may give one module per call. Set by
/// the operator in the host config (`policy.max_module_fuel`,
/// `policy.max_module_memory_mib`), never by a pack: modules in other
/// languages need far more than a Rust module's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModuleCeilings {
    /// Fuel per call.
    pub fuel: u64,
    /// Linear memory, in bytes.
    pub memory_bytes: usize,
    /// Wall-clock time per call.
    pub deadline: std::time::Duration,
}

impl Default for ModuleCeilings {
    fn default() -> Self {
        // Ten times the default fuel, eight times the default memory; an
        // interpreted module's default deadline is 2 s.
        ModuleCeilings { fuel: 2_500_000_000, memory_bytes: 256 << 20, deadline: std::time::Duration::from_secs(10) }
    }
}

/// What the operator decides for every rule pack, from the host config. No
/// pack can change it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HostRules {
    /// The ceilings.
    pub limits: HardLimits,
    /// Whether a pack may set `mode: audit` as a whole. Off by default:
    /// audit is meant per module, for the rule being tried; even a whole
    /// audit pack never waives the core guards (issue 9).
    pub pack_audit: bool,
    /// Whether a run may edit pieces other than the one it ran. Off by
    /// default: a read-only run must not rewrite a piece that may edit
    /// (`piece_not_own`, issue 9).
    pub edit_any_piece: bool,
    /// The most a pack may give one module.
    pub module_ceilings: ModuleCeilings,
}

/// The entry types the store knows.
pub const ENTRY_TYPES: [&str; 4] = ["user", "feedback", "project", "reference"];

/// A host-level refusal: (code, message).
pub(crate) type HostRejection = (&'static str, String);

/// Host verdicts for every memory change and the piece edit.
pub(crate) struct HostVerdicts {
    pub memory: Vec<Option<HostRejection>>,
    pub piece: Option<HostRejection>,
}

/// The refusal of `proposal` as a whole, when it is over a ceiling that
/// concerns the whole: more memory changes than the host takes. Checked
/// before anything else, so that such a proposal costs one rejection, not
/// one per change and module (issue 9: 35,000 removals made a 29 MB record).
pub(crate) fn check_whole(proposal: &Proposal, rules: &HostRules) -> Option<HostRejection> {
    let (count, max) = (proposal.memory_changes.len(), rules.limits.max_changes);
    (count > max).then(|| {
        let message =
            format!("{count} memory changes in one proposal, over the host ceiling of {max}; none is applied");
        (codes::OVER_HARD_LIMIT, message)
    })
}

/// Per-change host verdicts, for a proposal [`check_whole`] let through.
pub(crate) fn check(proposal: &Proposal, context: &Context, rules: &HostRules) -> HostVerdicts {
    let limits = &rules.limits;
    let memory = proposal.memory_changes.iter().map(|change| check_change(change, limits)).collect();
    let piece = proposal.piece_edit.as_ref().and_then(|edit| {
        if let Some(problem) = name_problem(&edit.piece) {
            return Some((codes::UNSAFE_NAME, format!("piece name `{}` {problem}", edit.piece.escape_debug())));
        }
        if !rules.edit_any_piece && edit.piece != context.piece {
            let ran = match context.piece.as_str() {
                "" => "no piece".to_string(),
                piece => format!("`{}`", piece.escape_debug()),
            };
            return Some((codes::PIECE_NOT_OWN, format!("the run used {ran}, so it may not edit `{}`", edit.piece)));
        }
        (edit.yaml.len() > limits.max_piece_bytes).then(|| {
            let message =
                format!("piece YAML is {} bytes, over the host ceiling of {}", edit.yaml.len(), limits.max_piece_bytes);
            (codes::OVER_HARD_LIMIT, message)
        })
    });
    HostVerdicts { memory, piece }
}

fn check_change(change: &MemoryChange, limits: &HardLimits) -> Option<HostRejection> {
    for (what, name) in
        std::iter::once(("name", &change.name)).chain(change.merge_target.iter().map(|t| ("merge target", t)))
    {
        if let Some(problem) = name_problem(name) {
            // Escape so a hostile name cannot forge log lines or terminals.
            return Some((codes::UNSAFE_NAME, format!("{what} `{}` {problem}", name.escape_debug())));
        }
    }
    if let Some(entry_type) = change.entry_type.as_deref().filter(|t| !ENTRY_TYPES.contains(t)) {
        let message = format!("type `{}` is not one of {}", entry_type.escape_debug(), ENTRY_TYPES.join(", "));
        return Some((codes::UNKNOWN_ENTRY_TYPE, message));
    }
    if change.op == Op::Add {
        let missing: Vec<&str> =
            [("description", &change.description), ("type", &change.entry_type), ("body", &change.body)]
                .into_iter()
                .filter(|(_, value)| value.is_none())
                .map(|(field, _)| field)
                .collect();
        if !missing.is_empty() {
            return Some((codes::INCOMPLETE_CHANGE, format!("an add needs {}", missing.join(", "))));
        }
    }
    if let Some(position) = change.description.as_deref().and_then(control_character) {
        // The host writes descriptions into MEMORY.md, one line per entry: a
        // newline there forges an index line, whatever the pack (issue 9).
        let message = format!("the description holds a control character at byte {position}; it must be one line");
        return Some((codes::CONTROL_CHARACTER, message));
    }
    let sizes = [
        ("body", change.body.as_deref().map_or(0, str::len), limits.max_body_bytes),
        ("description", change.description.as_deref().map_or(0, str::len), limits.max_description_bytes),
    ];
    sizes.into_iter().find(|(_, size, max)| size > max).map(|(what, size, max)| {
        (codes::OVER_HARD_LIMIT, format!("{what} is {size} bytes, over the host ceiling of {max}"))
    })
}

/// Byte position of the first character that breaks a one-line text: a
/// control character (newline, tab, escape, DEL, C1), a Unicode line or
/// paragraph separator, or a noncharacter (U+FFFE, U+FDD0, …). YAML refuses
/// U+FFFE and U+FFFF: an entry whose description held one was written but
/// could not be read back, failing every later job of the tenant (found by
/// the fuzzer, issue 9 item 25).
fn control_character(text: &str) -> Option<usize> {
    let noncharacter = |c: char| matches!(c, '\u{FDD0}'..='\u{FDEF}') || (c as u32) & 0xFFFE == 0xFFFE;
    text.char_indices()
        .find(|&(_, c)| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') || noncharacter(c))
        .map(|(at, _)| at)
}
