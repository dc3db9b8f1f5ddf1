//! Step 2 of a reflection: the prompt. A system prompt that states the
//! answer's JSON schema and the rules the default policies enforce (so fewer
//! proposals are wasted), and a user message with the run outcome, the
//! piece, the tenant's memory and the tail of the activity log.
//!
//! The context guard estimates tokens (bytes / 4) and, when the prompt does
//! not fit the model's window, trims in this order: the oldest part of the
//! activity log first, then entry bodies (largest first) down to their
//! descriptions; if it still does not fit, the job fails `context_overflow`.

use serde_json::json;

use super::inputs::Inputs;
use crate::flow::{FlowError, estimate_tokens};

/// Limits of the prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PromptLimits {
    /// Bytes of activity log kept, from its end.
    pub activity_log_max_bytes: usize,
    /// The model's context window, in tokens.
    pub context_window_tokens: usize,
    /// Tokens reserved for the answer.
    pub max_output_tokens: usize,
}

impl Default for PromptLimits {
    fn default() -> Self {
        PromptLimits { activity_log_max_bytes: 4096, context_window_tokens: 128_000, max_output_tokens: 2048 }
    }
}

/// The prompt, ready to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Prompt {
    /// The system prompt.
    pub system: String,
    /// The user message.
    pub user: String,
    /// What the guard trimmed, for the record.
    pub trimmed: Vec<String>,
}

const SYSTEM: &str = r#"You are the reflection step of an AI agent platform. An agent has just finished a run. Decide what it should remember for future runs, and whether its workflow piece should change. Propose nothing when the run taught nothing new.

Answer with exactly one JSON object and nothing else:
{"reasoning": string,
 "memory_changes": [{"op": "add" | "update" | "remove", "name": string, "description": string | null, "type": "user" | "feedback" | "project" | "reference" | null, "body": string | null, "merge_target": string | null}],
 "piece_edit": null | {"piece": string, "yaml": string}}

Rules (changes that break them are rejected):
- name: a lowercase slug (a-z, 0-9, - and _), at most 64 characters. add needs description, type and body; update names an existing entry and sets only what changes; remove names an existing entry.
- Never add a name that exists, never repeat what an entry already says: update that entry instead. Never propose the same name twice.
- description: one line, at most 200 bytes. body: markdown, at most 8192 bytes.
- No secrets or credentials (keys, tokens, passwords), no instructions aimed at future runs ("ignore previous instructions"), no invisible characters.
- At most 20 changes. Never remove every entry.
- piece_edit: the whole new YAML of the piece the run used. You may refine instructions and rules; you may never add tools, turn on edit, widen a permission_mode or raise max_movements. At most one piece edit per piece per day.
- Use only evidence from the run below."#;

/// JSON schema of a proposal, for structured output.
pub fn proposal_schema() -> serde_json::Value {
    let nullable = |ty: &str| json!({"type": [ty, "null"]});
    json!({
        "type": "object",
        "additionalProperties": false,
        "required": ["reasoning", "memory_changes", "piece_edit"],
        "properties": {
            "reasoning": {"type": "string"},
            "memory_changes": {"type": "array", "items": {
                "type": "object",
                "additionalProperties": false,
                "required": ["op", "name", "description", "type", "body", "merge_target"],
                "properties": {
                    "op": {"type": "string", "enum": ["add", "update", "remove"]},
                    "name": {"type": "string"},
                    "description": nullable("string"),
                    "type": {"type": ["string", "null"], "enum": ["user", "feedback", "project", "reference", null]},
                    "body": nullable("string"),
                    "merge_target": nullable("string"),
                },
            }},
            "piece_edit": {"anyOf": [{"type": "null"}, {
                "type": "object",
                "additionalProperties": false,
                "required": ["piece", "yaml"],
                "properties": {"piece": {"type": "string"}, "yaml": {"type": "string"}},
            }]},
        },
    })
}

/// The last `max_bytes` of `log`, starting on a character boundary.
pub fn log_tail(log: &str, max_bytes: usize) -> &str {
    if log.len() <= max_bytes {
        return log;
    }
    let mut start = log.len() - max_bytes;
    while !log.is_char_boundary(start) {
        start += 1;
    }
    &log[start..]
}

/// Builds the prompt for `inputs`, trimming to fit `limits`.
pub fn build(inputs: &Inputs, limits: &PromptLimits) -> Result<Prompt, FlowError> {
    let budget_tokens = limits.context_window_tokens.saturating_sub(limits.max_output_tokens);
    let fits = |user: &str| estimate_tokens(SYSTEM) + estimate_tokens(user) <= budget_tokens;
    let mut trimmed = Vec::new();
    let mut log = log_tail(&inputs.activity_log, limits.activity_log_max_bytes);
    if log.len() < inputs.activity_log.len() {
        trimmed.push(format!("activity log cut to its last {} bytes", log.len()));
    }
    let mut with_body: Vec<bool> = vec![true; inputs.entries.len()];
    let mut user = render(inputs, log, &with_body);

    // 1. Older log first, in halves down to nothing.
    while !fits(&user) && !log.is_empty() {
        log = log_tail(log, log.len() / 2);
        user = render(inputs, log, &with_body);
    }
    if log.len() < inputs.activity_log.len().min(limits.activity_log_max_bytes) {
        trimmed.push(format!("activity log cut to {} bytes to fit the context window", log.len()));
    }
    // 2. Entry bodies, largest first, down to their descriptions.
    let mut by_size: Vec<usize> = (0..inputs.entries.len()).collect();
    by_size.sort_by_key(|&i| std::cmp::Reverse(inputs.entries[i].entry.body.len()));
    let mut dropped = 0;
    for i in by_size {
        if fits(&user) {
            break;
        }
        with_body[i] = false;
        dropped += 1;
        user = render(inputs, log, &with_body);
    }
    if dropped > 0 {
        trimmed.push(format!("{dropped} entry bodies replaced by their descriptions"));
    }
    // 3. Nothing left to trim.
    if !fits(&user) {
        return Err(FlowError::ContextOverflow {
            needed: estimate_tokens(SYSTEM) + estimate_tokens(&user),
            budget: budget_tokens,
        });
    }
    Ok(Prompt { system: SYSTEM.to_string(), user, trimmed })
}

fn render(inputs: &Inputs, log: &str, with_body: &[bool]) -> String {
    let mut user = format!(
        "# Run\npiece: {}\noutcome: {}\n\n# Piece `{}` (YAML)\n{}\n\n# Memory ({} entries)\n",
        inputs.piece_name,
        inputs.outcome_word(),
        inputs.piece_name,
        inputs.piece_yaml.trim_end(),
        inputs.entries.len()
    );
    for (stored, body) in inputs.entries.iter().zip(with_body) {
        let entry = &stored.entry;
        user.push_str(&format!("\n## {} ({}): {}\n", entry.name, entry.entry_type, entry.description));
        if *body {
            user.push_str(entry.body.trim_end());
            user.push('\n');
        }
    }
    user.push_str(&format!("\n# Activity log (last {} bytes)\n{log}\n", log.len()));
    user
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_tail_starts_on_a_character_boundary() {
        let log = "ééééé"; // two bytes each
        assert_eq!(log_tail(log, 3), "é");
        assert_eq!(log_tail(log, 4), "éé");
        assert_eq!(log_tail(log, 100), log);
    }
}
