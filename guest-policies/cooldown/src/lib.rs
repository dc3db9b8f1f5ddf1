//! `cooldown`: slows an agent that rewrites itself too often. A piece may be
//! edited once per `piece_edit_cooldown_ms`, an entry updated once per
//! `entry_update_cooldown_ms`, and a tenant may write at most
//! `max_writes_per_window` entries per `write_rate_window_ms`. Time comes
//! from `context.now_ms` only, so replays decide the same way.
//!
//! Consolidation jobs are exempt from the entry limits by default: merging
//! recently touched entries is exactly their job.

use memwarden_policy_sdk::serde::Deserialize;
use memwarden_policy_sdk::{Context, Decision, Op, Policy, Proposal, RunOutcome, export_policy, index};

#[derive(Deserialize)]
#[serde(crate = "memwarden_policy_sdk::serde", default, deny_unknown_fields)]
/// The module, and its config as rule packs write it.
pub struct Cooldown {
    piece_edit_cooldown_ms: u64,
    entry_update_cooldown_ms: u64,
    write_rate_window_ms: u64,
    max_writes_per_window: u32,
    apply_to_consolidation: bool,
}

impl Default for Cooldown {
    fn default() -> Self {
        Cooldown {
            piece_edit_cooldown_ms: 24 * HOUR_MS,
            entry_update_cooldown_ms: HOUR_MS,
            write_rate_window_ms: HOUR_MS,
            max_writes_per_window: 60,
            apply_to_consolidation: false,
        }
    }
}

const HOUR_MS: u64 = 60 * 60 * 1000;

impl Policy for Cooldown {
    const NAME: &'static str = "cooldown";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const CODES: &'static [(&'static str, &'static str)] = &[
        ("piece_edit_cooldown", "the piece was edited less than `piece_edit_cooldown_ms` ago (default 24 h)"),
        ("entry_update_cooldown", "the entry was updated less than `entry_update_cooldown_ms` ago (default 1 h)"),
        (
            "write_rate_exceeded",
            "the tenant wrote `max_writes_per_window` entries within `write_rate_window_ms` (default 60 per hour)",
        ),
    ];

    fn validate(&self) -> Result<(), String> {
        match self.write_rate_window_ms {
            0 => Err("write_rate_window_ms must be positive".to_string()),
            _ => Ok(()),
        }
    }

    fn evaluate(&self, proposal: &Proposal, context: &Context) -> Decision {
        let mut decision = Decision::accept_all(proposal);
        let now = context.now_ms;
        let entry_limits_apply =
            self.apply_to_consolidation || !matches!(context.run_outcome, RunOutcome::Consolidation);

        if entry_limits_apply {
            let mut writes =
                context.recent_writes.iter().filter(|&&at| now.saturating_sub(at) < self.write_rate_window_ms).count()
                    as u64;
            for (position, change) in proposal.memory_changes.iter().enumerate() {
                if change.op == Op::Update
                    && let Some(entry) = index::lookup(&change.name)
                    && let Some(wait) = remaining(now, entry.updated_at_ms, self.entry_update_cooldown_ms)
                {
                    let message = format!("`{}` was updated recently; wait {}", change.name, minutes(wait));
                    decision.reject_change(position, "entry_update_cooldown", message);
                    continue;
                }
                if writes >= u64::from(self.max_writes_per_window) {
                    let message = format!(
                        "{writes} writes in the last {}, at most {}",
                        minutes(self.write_rate_window_ms),
                        self.max_writes_per_window
                    );
                    decision.reject_change(position, "write_rate_exceeded", message);
                    continue;
                }
                writes += 1;
            }
        }

        if let Some(edit) = &proposal.piece_edit {
            let last_edit = context.piece_edits.iter().filter(|e| e.piece == edit.piece).map(|e| e.at_ms).max();
            if let Some(wait) = last_edit.and_then(|at| remaining(now, at, self.piece_edit_cooldown_ms)) {
                let message = format!("piece `{}` was edited recently; wait {}", edit.piece, minutes(wait));
                decision.reject_piece("piece_edit_cooldown", message);
            }
        }
        decision
    }
}

/// Milliseconds left of a cooldown that started at `since`, if any.
fn remaining(now: u64, since: u64, cooldown: u64) -> Option<u64> {
    let elapsed = now.saturating_sub(since);
    (elapsed < cooldown).then(|| cooldown - elapsed)
}

fn minutes(ms: u64) -> String {
    format!("{} min", ms.div_ceil(60_000))
}

export_policy!(Cooldown);
