//! `merge-rules`: the proposal must make sense against the store as it is.
//! No add of a name that exists, no update or remove of one that does not,
//! no name twice in one proposal, merges into an entry that exists (or is
//! added by the same proposal) and is not the entry itself, no near-duplicate
//! of another entry, and never a proposal that empties the store.
//!
//! Near-duplicates are found in two steps so that a 200-entry store costs
//! one copy of 200 fingerprints, not 200 bodies: fingerprints within
//! `CANDIDATE_MAX_DISTANCE` bits pick the candidates, and only their bodies
//! are fetched and compared exactly.

use std::collections::{HashMap, HashSet};

use memwarden_policy_sdk::serde::Deserialize;
use memwarden_policy_sdk::similarity::{self, CANDIDATE_MAX_DISTANCE};
use memwarden_policy_sdk::{Context, Decision, Op, Policy, Proposal, export_policy, index};

#[derive(Deserialize)]
#[serde(crate = "memwarden_policy_sdk::serde", default, deny_unknown_fields)]
/// The module, and its config as rule packs write it.
pub struct MergeRules {
    /// Similarity (0..=1, word-bigram Jaccard) at which two bodies count as
    /// near-duplicates.
    near_duplicate_threshold: f64,
    /// Allow a proposal that removes every entry.
    allow_empty_store: bool,
}

impl Default for MergeRules {
    fn default() -> Self {
        MergeRules { near_duplicate_threshold: 0.8, allow_empty_store: false }
    }
}

impl Policy for MergeRules {
    const NAME: &'static str = "merge-rules";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const CODES: &'static [(&'static str, &'static str)] = &[
        ("name_exists", "an add names an entry that already exists"),
        ("entry_missing", "an update or remove names an entry that does not exist"),
        ("duplicate_name_in_proposal", "the same name appears in more than one change of the proposal"),
        ("merge_target_missing", "a merge_target names no existing or added entry"),
        ("merge_target_is_self", "a merge_target names the entry being removed"),
        ("merge_target_removed", "a merge_target names an entry the same proposal removes"),
        ("near_duplicate", "the body is nearly the same as another entry's (`near_duplicate_threshold`, default 0.8)"),
        ("would_empty_store", "the proposal would remove every entry (`allow_empty_store`, default false)"),
    ];

    fn validate(&self) -> Result<(), String> {
        match (0.0..=1.0).contains(&self.near_duplicate_threshold) {
            true => Ok(()),
            false => Err(format!("near_duplicate_threshold must be in 0..=1, not {}", self.near_duplicate_threshold)),
        }
    }

    fn evaluate(&self, proposal: &Proposal, _context: &Context) -> Decision {
        let mut decision = Decision::accept_all(proposal);
        let changes = &proposal.memory_changes;

        let mut occurrences: HashMap<&str, usize> = HashMap::new();
        for change in changes {
            *occurrences.entry(change.name.as_str()).or_default() += 1;
        }
        let added: HashSet<&str> = changes.iter().filter(|c| c.op == Op::Add).map(|c| c.name.as_str()).collect();
        let removed: HashSet<&str> = changes.iter().filter(|c| c.op == Op::Remove).map(|c| c.name.as_str()).collect();

        for (position, change) in changes.iter().enumerate() {
            let name = change.name.as_str();
            if occurrences[name] > 1 {
                let message = format!("`{name}` appears {} times in this proposal", occurrences[name]);
                decision.reject_change(position, "duplicate_name_in_proposal", message);
                continue;
            }
            let exists = index::contains(name);
            match change.op {
                Op::Add if exists => {
                    decision.reject_change(position, "name_exists", format!("`{name}` already exists"))
                }
                Op::Update | Op::Remove if !exists => {
                    decision.reject_change(position, "entry_missing", format!("there is no entry `{name}`"))
                }
                _ => {}
            }
            if let Some(target) = change.merge_target.as_deref() {
                if target == name {
                    decision.reject_change(
                        position,
                        "merge_target_is_self",
                        format!("`{name}` cannot merge into itself"),
                    );
                } else if removed.contains(target) {
                    let message = format!("merge target `{target}` is removed by this proposal");
                    decision.reject_change(position, "merge_target_removed", message);
                } else if !index::contains(target) && !added.contains(target) {
                    decision.reject_change(position, "merge_target_missing", format!("there is no entry `{target}`"));
                }
            }
        }

        self.reject_near_duplicates(proposal, &removed, &mut decision);
        if !self.allow_empty_store {
            reject_emptying(proposal, &mut decision);
        }
        decision
    }
}

impl MergeRules {
    fn reject_near_duplicates(&self, proposal: &Proposal, removed: &HashSet<&str>, decision: &mut Decision) {
        let changes = &proposal.memory_changes;
        let rewritten: HashSet<&str> =
            changes.iter().filter(|c| c.op == Op::Update && c.body.is_some()).map(|c| c.name.as_str()).collect();
        let mut fingerprints: Option<Vec<u64>> = None;
        // Bodies accepted so far in this proposal, so two adds cannot
        // smuggle in the same fact twice.
        let mut accepted_bodies: Vec<(&str, Vec<u64>)> = Vec::new();

        for (position, change) in changes.iter().enumerate() {
            let Some(body) = change.body.as_deref() else { continue };
            if !decision.is_accepted(position) {
                continue;
            }
            let shingles = similarity::shingles(body);
            let fingerprint = similarity::fingerprint_of(&shingles);
            let mut duplicate_of = accepted_bodies
                .iter()
                .find(|(_, other)| similarity::jaccard(&shingles, other) >= self.near_duplicate_threshold)
                .map(|(name, _)| name.to_string());

            let stored = fingerprints.get_or_insert_with(index::fingerprints);
            for (ordinal, &other) in stored.iter().enumerate() {
                if duplicate_of.is_some() {
                    break;
                }
                if similarity::hamming(fingerprint, other) > CANDIDATE_MAX_DISTANCE {
                    continue;
                }
                let Some(entry) = index::entry_at(ordinal as u32) else { continue };
                // The entry itself, and entries this proposal removes or
                // rewrites, cannot be duplicated by it.
                let other_name = entry.name.as_str();
                if other_name == change.name || removed.contains(other_name) || rewritten.contains(other_name) {
                    continue;
                }
                let Some(other_body) = index::body(other_name) else { continue };
                if similarity::jaccard(&shingles, &similarity::shingles(&other_body)) >= self.near_duplicate_threshold {
                    duplicate_of = Some(entry.name);
                }
            }

            match duplicate_of {
                Some(other) => decision.reject_change(
                    position,
                    "near_duplicate",
                    format!("`{}` nearly repeats `{other}`; update or merge into it instead", change.name),
                ),
                None => accepted_bodies.push((change.name.as_str(), shingles)),
            }
        }
    }
}

/// Rejects every remove when the accepted changes would leave no entry in a
/// store that has some.
fn reject_emptying(proposal: &Proposal, decision: &mut Decision) {
    let before = index::stats().entries;
    if before == 0 {
        return;
    }
    let accepted_of = |op: Op| -> Vec<usize> {
        let changes = proposal.memory_changes.iter().enumerate();
        changes.filter(|(i, c)| c.op == op && decision.is_accepted(*i)).map(|(i, _)| i).collect()
    };
    let adds = accepted_of(Op::Add).len();
    let removes = accepted_of(Op::Remove);
    if adds == 0 && removes.len() >= before as usize {
        for position in removes {
            let message = format!("this proposal removes all {before} entries");
            decision.reject_change(position, "would_empty_store", message);
        }
    }
}

export_policy!(MergeRules);
