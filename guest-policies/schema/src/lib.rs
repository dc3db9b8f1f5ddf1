//! `schema`: every change is well formed — a slug name, an allowed type, a
//! one-line description, a non-empty body, and exactly the fields its op
//! needs. The host has already refused unsafe names and unknown types; this
//! module enforces the house style on top.

use memwarden_policy_sdk::serde::Deserialize;
use memwarden_policy_sdk::{Context, MemoryChange, Op, PieceEdit, Policy, Verdict, export_policy};

#[derive(Deserialize)]
#[serde(crate = "memwarden_policy_sdk::serde", default, deny_unknown_fields)]
/// The module, and its config as rule packs write it.
pub struct Schema {
    /// Entry types a change may use; a subset of the four the host knows.
    allowed_types: Vec<String>,
}

impl Default for Schema {
    fn default() -> Self {
        Schema { allowed_types: ["user", "feedback", "project", "reference"].map(String::from).to_vec() }
    }
}

const KNOWN_TYPES: [&str; 4] = ["user", "feedback", "project", "reference"];

impl Policy for Schema {
    const NAME: &'static str = "schema";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const CODES: &'static [(&'static str, &'static str)] = &[
        ("name_not_slug", "a name is not a lowercase slug (`a-z`, `0-9`, `-`, `_`, starting alphanumeric)"),
        ("entry_type_not_allowed", "the entry type is not in the pack's `allowed_types`"),
        ("description_missing", "an add has no description, or a description is blank"),
        ("description_multiline", "a description spans more than one line"),
        ("body_empty", "an add or update carries a blank body"),
        ("op_fields_inconsistent", "the change carries fields its op does not take, or an update changes nothing"),
        ("piece_empty", "a piece edit's new YAML is blank"),
    ];

    fn validate(&self) -> Result<(), String> {
        match self.allowed_types.iter().find(|t| !KNOWN_TYPES.contains(&t.as_str())) {
            Some(unknown) => Err(format!("unknown entry type `{unknown}` in allowed_types")),
            None => Ok(()),
        }
    }

    fn check_change(&self, change: &MemoryChange, _context: &Context) -> Verdict {
        if !is_slug(&change.name) {
            return Verdict::reject("name_not_slug", format!("`{}` is not a lowercase slug", change.name));
        }
        if let Some(target) = change.merge_target.as_deref().filter(|t| !is_slug(t)) {
            return Verdict::reject("name_not_slug", format!("merge target `{target}` is not a lowercase slug"));
        }
        if let Some(problem) = op_field_problem(change) {
            return Verdict::reject("op_fields_inconsistent", problem);
        }
        if let Some(entry_type) = &change.entry_type
            && !self.allowed_types.contains(entry_type)
        {
            return Verdict::reject(
                "entry_type_not_allowed",
                format!("type `{entry_type}` is not one of {}", self.allowed_types.join(", ")),
            );
        }
        if let Some(description) = &change.description {
            if description.trim().is_empty() {
                return Verdict::reject("description_missing", "the description is blank");
            }
            if description.contains(['\n', '\r']) {
                return Verdict::reject("description_multiline", "the description must be one line");
            }
        }
        if change.body.as_deref().is_some_and(|body| body.trim().is_empty()) {
            return Verdict::reject("body_empty", "the body is blank");
        }
        Verdict::Accept
    }

    fn check_piece(&self, edit: &PieceEdit, _context: &Context) -> Verdict {
        if !is_slug(&edit.piece) {
            return Verdict::reject("name_not_slug", format!("piece `{}` is not a lowercase slug", edit.piece));
        }
        if edit.after.trim().is_empty() {
            return Verdict::reject("piece_empty", "the new piece YAML is blank");
        }
        Verdict::Accept
    }
}

fn is_slug(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// What is wrong with the set of fields for this op, if anything.
fn op_field_problem(change: &MemoryChange) -> Option<String> {
    let has = |field: &Option<String>| field.is_some();
    match change.op {
        Op::Add => {
            let missing: Vec<&str> = [
                ("description", has(&change.description)),
                ("type", has(&change.entry_type)),
                ("body", has(&change.body)),
            ]
            .into_iter()
            .filter(|(_, present)| !present)
            .map(|(field, _)| field)
            .collect();
            if !missing.is_empty() {
                return Some(format!("an add needs {}", missing.join(", ")));
            }
            has(&change.merge_target).then(|| "an add takes no merge_target".to_string())
        }
        Op::Update => {
            if has(&change.merge_target) {
                return Some("an update takes no merge_target".to_string());
            }
            let changes_something = has(&change.description) || has(&change.entry_type) || has(&change.body);
            (!changes_something).then(|| "an update must change the description, type or body".to_string())
        }
        Op::Remove => (has(&change.description) || has(&change.entry_type) || has(&change.body))
            .then(|| "a remove takes only a name and an optional merge_target".to_string()),
    }
}

export_policy!(Schema);
