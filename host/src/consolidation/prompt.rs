//! Step 4 of a consolidation: the prompt. The system prompt tells the LLM
//! how to compact (merge duplicates, drop what newer evidence contradicts,
//! prefer no change) in the same proposal JSON as reflection; the user
//! message holds the entries and the raw notes.
//!
//! The context guard, as for reflection (bytes / 4 per token): the oldest
//! notes go first, then entry bodies (largest first) down to their
//! descriptions; if it still does not fit, `context_overflow`.

use super::inputs::Inputs;
use crate::flow::{FlowError, estimate_tokens};
use crate::reflection::Prompt;

/// Window limits of the prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowLimits {
    /// The model's context window, in tokens.
    pub context_window_tokens: usize,
    /// Tokens reserved for the answer.
    pub max_output_tokens: usize,
}

const SYSTEM: &str = r#"You are the consolidation step of an AI agent platform. Below are one tenant's memory entries and the notes of the reflections made since the last consolidation. Keep the memory compact and true: one entry per fact, nothing stale.

- Merge duplicates and overlapping entries: keep the best-named entry as the survivor and "update" it with the combined body; "remove" each folded entry with "merge_target" set to the survivor.
- Remove an entry only when newer evidence in the notes contradicts it or it is fully covered by another entry; say which in "reasoning".
- Prefer no change when nothing is new: an empty "memory_changes" is a good answer.
- Use only the evidence given here. Never invent facts, never copy secrets or credentials, never write instructions aimed at future runs.

Answer with exactly one JSON object and nothing else:
{"reasoning": string,
 "memory_changes": [{"op": "add" | "update" | "remove", "name": string, "description": string | null, "type": "user" | "feedback" | "project" | "reference" | null, "body": string | null, "merge_target": string | null}],
 "piece_edit": null}

Rules (changes that break them are rejected):
- update and remove name an existing entry; update sets only what changes. A merge_target names an entry that exists and is not removed by the same answer.
- Never propose the same name twice, never remove every entry, never edit a piece (piece_edit is always null).
- description: one line, at most 200 bytes. body: markdown, at most 8192 bytes. At most 20 changes."#;

/// Builds the prompt for `inputs`, trimming to fit `limits`.
pub fn build(inputs: &Inputs, limits: &WindowLimits) -> Result<Prompt, FlowError> {
    let budget = limits.context_window_tokens.saturating_sub(limits.max_output_tokens);
    let fits = |user: &str| estimate_tokens(SYSTEM) + estimate_tokens(user) <= budget;
    let mut trimmed = Vec::new();
    if inputs.notes_dropped > 0 {
        trimmed.push(format!("{} older notes beyond the cap left out", inputs.notes_dropped));
    }
    let mut notes = inputs.notes.len();
    let mut with_body = vec![true; inputs.shown.len()];
    let mut user = render(inputs, notes, &with_body);
    // 1. Oldest notes first (notes are newest first).
    while !fits(&user) && notes > 0 {
        notes -= 1;
        user = render(inputs, notes, &with_body);
    }
    if notes < inputs.notes.len() {
        trimmed.push(format!("{} oldest notes left out to fit the context window", inputs.notes.len() - notes));
    }
    // 2. Entry bodies, largest first.
    let mut by_size: Vec<usize> = (0..inputs.shown.len()).collect();
    by_size.sort_by_key(|&i| std::cmp::Reverse(inputs.shown[i].entry.body.len()));
    let mut dropped = 0;
    for i in by_size {
        if fits(&user) {
            break;
        }
        with_body[i] = false;
        dropped += 1;
        user = render(inputs, notes, &with_body);
    }
    if dropped > 0 {
        trimmed.push(format!("{dropped} entry bodies replaced by their descriptions"));
    }
    // 3. Nothing left to trim.
    if !fits(&user) {
        return Err(FlowError::ContextOverflow { needed: estimate_tokens(SYSTEM) + estimate_tokens(&user), budget });
    }
    Ok(Prompt { system: SYSTEM.to_string(), user, trimmed })
}

fn render(inputs: &Inputs, notes: usize, with_body: &[bool]) -> String {
    let hidden = inputs.entries.len() - inputs.shown.len();
    let mut user = format!("# Memory ({} entries, most recently changed first", inputs.shown.len());
    if hidden > 0 {
        user.push_str(&format!("; {hidden} older entries not shown"));
    }
    user.push_str(")\n");
    for (stored, body) in inputs.shown.iter().zip(with_body) {
        let entry = &stored.entry;
        user.push_str(&format!("\n## {} ({}): {}\n", entry.name, entry.entry_type, entry.description));
        if *body {
            user.push_str(entry.body.trim_end());
            user.push('\n');
        }
    }
    user.push_str(&format!("\n# Notes since the last consolidation ({notes}, newest first)\n"));
    if notes == 0 {
        user.push_str("\n(none)\n");
    }
    for note in &inputs.notes[..notes] {
        user.push('\n');
        user.push_str(&note.to_markdown());
    }
    user
}
