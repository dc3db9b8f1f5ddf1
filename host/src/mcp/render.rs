//! What `memory_propose` answers: each change's verdict with the module,
//! code and message that decided it, and one sentence an agent can act on
//! ("rejected by content-guard: …; remove the credential and propose
//! again"). The JSON is the tool's structured result; the sentences are
//! also its text, which is what most agents read.

use serde_json::{Value, json};

use super::propose::Proposed;
use crate::policy::{ChangeDecision, RejectionRecord};

/// What to do about a rejection with `code`, in the agent's terms.
fn advice(code: &str) -> &'static str {
    match code {
        "secret_detected" => {
            "remove the credential (say where it is stored instead, e.g. the name of the secret manager entry) and propose again"
        }
        "prompt_injection" => {
            "write it as a plain note about the user or the project, not as instructions to future runs, and propose again"
        }
        "invisible_characters" | "control_character" => "remove the hidden or control characters and propose again",
        "near_duplicate" => "update or merge into the existing entry named in the message instead of adding a new one",
        "name_exists" => "use op `update` on that entry, or choose another name",
        "entry_missing" => "check the exact name with memory_list; use op `add` for a new entry",
        "unsafe_name" | "name_not_slug" => "use a lowercase slug such as `deploy-order` (a-z, 0-9, `-`, `_`)",
        "name_too_long" => "use a shorter name",
        "unknown_entry_type" | "entry_type_not_allowed" => "use type user, feedback, project or reference",
        "incomplete_change" | "description_missing" => "an add needs a name, a one-line description, a type and a body",
        "description_multiline" | "description_too_long" => "give a short one-line description",
        "body_empty" => "give the entry a body",
        "body_too_large" | "over_hard_limit" | "store_too_large" => {
            "shorten the body, or split it into focused entries"
        }
        "too_many_changes" | "too_many_entries" => "propose fewer changes, or merge entries first",
        "op_fields_inconsistent" => "send only the fields the op takes: remove takes a name (and merge_target)",
        "merge_target_missing" | "merge_target_is_self" | "merge_target_removed" => {
            "name an existing entry, other than this one and not removed in the same proposal, as merge_target"
        }
        "duplicate_name_in_proposal" => "name each entry in one change only",
        "would_empty_store" => "keep at least one entry",
        "entry_update_cooldown" | "write_rate_exceeded" => "wait before changing memory again",
        "group_member_rejected" | "group_member_skipped" => {
            "fix the other change of the same merge and propose both again"
        }
        "policy_error" => {
            "a policy module failed; this is not the proposal's fault: try again later or tell the operator"
        }
        _ => "fix what the message says and propose again",
    }
}

/// One rejection as a sentence.
fn rejected(rejection: &RejectionRecord) -> String {
    format!("rejected by {}: {} ({}); {}", rejection.module, rejection.message, rejection.code, advice(&rejection.code))
}

/// The verdict on one change, as JSON with its sentence.
fn change(decision: &ChangeDecision, review: Option<i64>, skipped: Option<(&str, &str)>) -> Value {
    let enforced: Vec<&RejectionRecord> = decision.rejections.iter().filter(|r| !r.advisory).collect();
    let (verdict, say) = if let Some(first) = enforced.first() {
        ("rejected", rejected(first))
    } else if decision.held {
        let hold = decision.holds.iter().find(|h| !h.advisory).or(decision.holds.first());
        let why = hold.map_or(String::new(), |h| format!(" by {}: {} ({})", h.module, h.message, h.code));
        let queued = review.map_or(String::new(), |id| format!(" as review {id}"));
        ("held", format!("held for a person to review{why}; it is queued{queued}: do not propose it again"))
    } else if let Some((code, message)) = skipped {
        ("not_applied", format!("accepted but not applied: {message} ({code})"))
    } else if decision.amended.is_some() {
        let why = decision.amendments.first().map_or(String::new(), |a| format!(" by {}: {}", a.module, a.message));
        ("amended", format!("accepted as amended{why}; the stored text differs from the proposed one"))
    } else {
        ("accepted", "accepted and written".to_string())
    };
    let reasons = |records: &[RejectionRecord]| -> Vec<Value> {
        records
            .iter()
            .map(|r| json!({ "module": r.module, "code": r.code, "message": r.message, "advisory": r.advisory }))
            .collect()
    };
    let mut value = json!({
        "name": decision.name,
        "op": decision.op,
        "verdict": verdict,
        "say": say,
        "rejections": reasons(&decision.rejections),
    });
    if !decision.holds.is_empty() {
        value["holds"] = Value::from(reasons(&decision.holds));
    }
    if let Some(id) = review {
        value["review_id"] = Value::from(id);
    }
    value
}

/// The answer to a proposal: JSON, and its text for the agent.
pub fn proposed(proposed: &Proposed) -> (Value, String) {
    let recorded = &proposed.recorded;
    let decision = &recorded.decision;
    let mut lines = Vec::new();
    let changes: Vec<Value> = if let Some(refusal) = &decision.refused {
        let say = rejected(&refusal.rejection);
        lines.push(format!("the whole proposal is {say}"));
        vec![json!({ "verdict": "rejected", "say": say, "rejections": [refusal.rejection] })]
    } else {
        let mut reviews = proposed.reviews.iter();
        decision
            .memory
            .iter()
            .map(|d| {
                let review = if d.held { reviews.next().copied() } else { None };
                let skipped = recorded
                    .plan
                    .skipped
                    .iter()
                    .find(|s| s.name == d.name)
                    .filter(|_| d.accepted)
                    .map(|s| (s.code.as_str(), s.message.as_str()));
                let value = change(d, review, skipped);
                lines.push(format!("{}: {}", d.name, value["say"].as_str().unwrap_or_default()));
                value
            })
            .collect()
    };
    let summary = format!(
        "{} of {} changes written, {} held for review (job {}, snapshot {})",
        recorded.plan.memory_applied,
        decision.proposed_count(),
        decision.held_count(),
        proposed.job.0,
        proposed.snapshot_id
    );
    let value = json!({
        "outcome": proposed.outcome.as_str(),
        "summary": summary,
        "job_id": proposed.job.0,
        "snapshot_id": proposed.snapshot_id,
        "pack": decision.pack,
        "changes": changes,
    });
    lines.insert(0, summary);
    (value, lines.join("\n"))
}
