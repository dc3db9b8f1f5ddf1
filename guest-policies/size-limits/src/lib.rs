//! `size-limits`: keeps each change, each proposal and the whole store within
//! bounds. Store-wide limits account for the changes of the proposal in
//! order, so the first changes that fit are accepted and the rest refused.

use memwarden_policy_sdk::serde::Deserialize;
use memwarden_policy_sdk::{Context, Decision, Op, Policy, Proposal, export_policy, index};

#[derive(Deserialize)]
#[serde(crate = "memwarden_policy_sdk::serde", default, deny_unknown_fields)]
/// The module, and its config as rule packs write it.
pub struct SizeLimits {
    max_body_bytes: u64,
    max_description_bytes: u64,
    max_name_bytes: u64,
    max_entries: u32,
    max_total_bytes: u64,
    max_changes: u32,
    max_piece_bytes: u64,
}

impl Default for SizeLimits {
    fn default() -> Self {
        SizeLimits {
            max_body_bytes: 8192,
            max_description_bytes: 200,
            max_name_bytes: 64,
            max_entries: 500,
            max_total_bytes: 1 << 20,
            max_changes: 20,
            max_piece_bytes: 16 * 1024,
        }
    }
}

impl Policy for SizeLimits {
    const NAME: &'static str = "size-limits";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const CODES: &'static [(&'static str, &'static str)] = &[
        ("body_too_large", "a body is over `max_body_bytes` (default 8192)"),
        ("description_too_long", "a description is over `max_description_bytes` (default 200)"),
        ("name_too_long", "a name is over `max_name_bytes` (default 64)"),
        ("too_many_entries", "an add would take the store past `max_entries` (default 500)"),
        ("store_too_large", "a change would take the store's bodies past `max_total_bytes` (default 1 MiB)"),
        ("too_many_changes", "the proposal has more than `max_changes` memory changes (default 20); all are refused"),
        ("piece_too_large", "the new piece YAML is over `max_piece_bytes` (default 16 KiB)"),
    ];

    fn validate(&self) -> Result<(), String> {
        if self.max_changes == 0 || self.max_body_bytes == 0 {
            return Err("max_changes and max_body_bytes must be positive".to_string());
        }
        Ok(())
    }

    fn evaluate(&self, proposal: &Proposal, _context: &Context) -> Decision {
        let mut decision = Decision::accept_all(proposal);
        let changes = &proposal.memory_changes;
        if changes.len() as u64 > u64::from(self.max_changes) {
            for index in 0..changes.len() {
                let message = format!("{} changes in one proposal, at most {}", changes.len(), self.max_changes);
                decision.reject_change(index, "too_many_changes", message);
            }
        }

        for (position, change) in changes.iter().enumerate() {
            if let Some((code, what, size, max)) = self.oversized_field(change) {
                decision.reject_change(position, code, format!("{what} is {size} bytes, at most {max}"));
            }
        }

        // Store-wide limits: walk the accepted changes in order, keeping a
        // running count and total.
        let stats = index::stats();
        let (mut entries, mut total) = (stats.entries, stats.body_bytes);
        for (position, change) in changes.iter().enumerate() {
            if !decision.is_accepted(position) {
                continue;
            }
            let existing = index::lookup(&change.name);
            let old_bytes = existing.as_ref().map_or(0, |entry| entry.body_bytes);
            let (next_entries, next_total) = match change.op {
                Op::Add => (entries + 1, total + change.body_text().len() as u64),
                Op::Update => match &change.body {
                    Some(body) => (entries, (total + body.len() as u64).saturating_sub(old_bytes)),
                    None => (entries, total),
                },
                Op::Remove if existing.is_some() => (entries - 1, total.saturating_sub(old_bytes)),
                Op::Remove => (entries, total),
            };
            if next_entries > self.max_entries && next_entries > entries {
                let message = format!("the store holds {entries} entries, at most {}", self.max_entries);
                decision.reject_change(position, "too_many_entries", message);
            } else if next_total > self.max_total_bytes && next_total > total {
                let message = format!("the store would hold {next_total} bytes, at most {}", self.max_total_bytes);
                decision.reject_change(position, "store_too_large", message);
            } else {
                (entries, total) = (next_entries, next_total);
            }
        }

        if let Some(edit) = &proposal.piece_edit
            && edit.after.len() as u64 > self.max_piece_bytes
        {
            let message = format!("the piece is {} bytes, at most {}", edit.after.len(), self.max_piece_bytes);
            decision.reject_piece("piece_too_large", message);
        }
        decision
    }
}

impl SizeLimits {
    fn oversized_field(
        &self,
        change: &memwarden_policy_sdk::MemoryChange,
    ) -> Option<(&'static str, &'static str, u64, u64)> {
        [
            ("name_too_long", "the name", change.name.len() as u64, self.max_name_bytes),
            (
                "description_too_long",
                "the description",
                change.description_text().len() as u64,
                self.max_description_bytes,
            ),
            ("body_too_large", "the body", change.body_text().len() as u64, self.max_body_bytes),
        ]
        .into_iter()
        .find(|(_, _, size, max)| size > max)
    }
}

export_policy!(SizeLimits);
