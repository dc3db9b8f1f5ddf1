//! [`ContextFile`]: a job's context plus the tenant's entries and pieces in
//! one JSON or YAML document, as `memwarden policy eval --context` and
//! `policy test` cases take it.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::{Context, IndexEntry, PieceEditRecord, Proposal, RunOutcome, TenantIndex};

/// Everything a policy can see besides the proposal. Every field is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContextFile {
    /// The tenant (default `default`).
    pub tenant: Option<String>,
    /// The job id (default `cli`).
    pub job_id: Option<String>,
    /// The piece the agent ran; see [`ContextFile::for_proposal`].
    pub piece: String,
    /// How the run ended (default `succeeded`).
    pub run_outcome: RunOutcome,
    /// The job's clock in ms; the caller picks a default (the CLI uses now).
    pub now_ms: Option<u64>,
    /// The tenant's entries, bodies included. Each may also carry the
    /// index fields a decision or `tenant-index` shows (`body_bytes`,
    /// `body_hash`, `fingerprint`); they are checked against the body.
    pub entries: Vec<ContextEntry>,
    /// The tenant's current pieces: name → YAML.
    pub pieces: BTreeMap<String, String>,
    /// Past piece edits.
    pub piece_edits: Vec<PieceEditRecord>,
    /// Times of recent writes, in ms.
    pub recent_writes: Vec<u64>,
}

impl ContextFile {
    /// This context for `proposal`: a file that names no piece describes a
    /// run of the piece the proposal edits, so that cases and dry runs of a
    /// piece edit need not repeat its name to pass `piece_not_own`.
    pub fn for_proposal(mut self, proposal: &Proposal) -> ContextFile {
        if let Some(edit) = proposal.piece_edit.as_ref().filter(|_| self.piece.is_empty()) {
            self.piece = edit.piece.clone();
        }
        self
    }

    /// Splits into the context and the index, using `now_ms` when the file
    /// sets no clock.
    pub fn into_parts(self, now_ms: u64) -> (Context, TenantIndex) {
        let context = Context {
            tenant: self.tenant.unwrap_or_else(|| "default".to_string()),
            job_id: self.job_id.unwrap_or_else(|| "cli".to_string()),
            piece: self.piece,
            run_outcome: self.run_outcome,
            now_ms: self.now_ms.unwrap_or(now_ms),
            piece_edits: self.piece_edits,
            recent_writes: self.recent_writes,
        };
        let entries = self.entries.into_iter().map(|entry| entry.0).collect();
        (context, TenantIndex::new(entries, self.pieces))
    }
}

/// One entry of a context file: an [`IndexEntry`] whose optional index
/// fields, when given, agree with its body.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "EntryFields")]
pub struct ContextEntry(pub IndexEntry);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EntryFields {
    name: String,
    #[serde(rename = "type")]
    entry_type: String,
    description: String,
    body: String,
    #[serde(default)]
    updated_at_ms: u64,
    body_bytes: Option<u64>,
    body_hash: Option<u64>,
    fingerprint: Option<u64>,
}

impl TryFrom<EntryFields> for ContextEntry {
    type Error = String;

    fn try_from(fields: EntryFields) -> Result<ContextEntry, String> {
        let summary = super::index::summarise(&fields.body);
        let given = [
            ("body_bytes", fields.body_bytes, summary.body_bytes),
            ("body_hash", fields.body_hash, summary.body_hash),
            ("fingerprint", fields.fingerprint, summary.fingerprint),
        ];
        for (field, given, actual) in given {
            if let Some(given) = given.filter(|given| *given != actual) {
                return Err(format!(
                    "entry `{}`: {field} is {given} but its body gives {actual} (copied from an older body? drop the field to have it computed)",
                    crate::messages::parse_error(&fields.name)
                ));
            }
        }
        Ok(ContextEntry(IndexEntry {
            name: fields.name,
            entry_type: fields.entry_type,
            description: fields.description,
            body: fields.body,
            updated_at_ms: fields.updated_at_ms,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "Run the slow suite before a release.";

    fn parse(extra: &str) -> Result<ContextFile, serde_norway::Error> {
        let yaml = format!("entries:\n  - {{name: release, type: project, description: d, body: \"{BODY}\"{extra}}}\n");
        serde_norway::from_str(&yaml)
    }

    #[test]
    fn index_fields_copied_from_a_decision_are_accepted_when_they_match() {
        let summary = super::super::index::summarise(BODY);
        let extra = format!(
            ", body_bytes: {}, body_hash: {}, fingerprint: {}",
            summary.body_bytes, summary.body_hash, summary.fingerprint
        );
        let file = parse(&extra).expect("matching index fields are accepted");
        assert_eq!(file.entries[0].0.body, BODY);
        assert!(parse("").is_ok(), "index fields are optional");
    }

    #[test]
    fn an_index_field_that_disagrees_with_the_body_is_a_clear_error() {
        let err = parse(", body_bytes: 3").expect_err("a stale size is refused").to_string();
        assert!(err.contains("entry `release`: body_bytes is 3 but its body gives 36"), "{err}");
        assert!(parse(", unknown: 1").is_err(), "unknown fields are still refused");
    }
}
