//! `piece-guard`: an agent may refine its own workflow, never widen it. The
//! edited piece must parse, keep every `next` pointing at a movement (or
//! `COMPLETE` / `ABORT`), stay under the size and movement caps, and grant no
//! movement more than the current piece already grants: no `edit: true` where
//! it was false, no new tool, no wider `permission_mode`, no larger
//! `max_movements` budget.

use std::collections::HashSet;

use memwarden_piece::{Movement, Piece, PieceError};
use memwarden_policy_sdk::serde::Deserialize;
use memwarden_policy_sdk::{Context, PieceEdit, Policy, Verdict, export_policy};

#[derive(Deserialize)]
#[serde(crate = "memwarden_policy_sdk::serde", default, deny_unknown_fields)]
/// The module, and its config as rule packs write it.
pub struct PieceGuard {
    max_piece_bytes: u64,
    max_movements: u32,
    /// Allow proposals to create pieces that do not exist yet.
    allow_new_pieces: bool,
}

impl Default for PieceGuard {
    fn default() -> Self {
        PieceGuard { max_piece_bytes: 16 * 1024, max_movements: 12, allow_new_pieces: false }
    }
}

impl Policy for PieceGuard {
    const NAME: &'static str = "piece-guard";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const CODES: &'static [(&'static str, &'static str)] = &[
        ("piece_invalid_yaml", "the new piece is not YAML of the piece format (unknown fields included)"),
        (
            "piece_invalid",
            "the new piece is inconsistent: renamed, no movements, duplicate movements, unknown initial movement or permission mode",
        ),
        ("piece_unknown_next", "a rule's `next` names neither a movement nor COMPLETE/ABORT"),
        ("piece_too_large", "the new piece is over `max_piece_bytes` (default 16 KiB)"),
        ("too_many_movements", "the new piece has more than `max_movements` movements (default 12)"),
        (
            "permission_widened",
            "a movement gains `edit`, a tool, a wider permission mode, or the piece a larger budget",
        ),
        ("new_piece_not_allowed", "the piece does not exist yet and `allow_new_pieces` is false"),
    ];

    fn check_piece(&self, edit: &PieceEdit, _context: &Context) -> Verdict {
        match self.check(edit) {
            Ok(()) => Verdict::Accept,
            Err((code, message)) => Verdict::reject(code, format!("piece `{}`: {message}", edit.piece)),
        }
    }
}

type Refusal = (&'static str, String);

impl PieceGuard {
    fn check(&self, edit: &PieceEdit) -> Result<(), Refusal> {
        if edit.after.len() as u64 > self.max_piece_bytes {
            return Err(("piece_too_large", format!("{} bytes, at most {}", edit.after.len(), self.max_piece_bytes)));
        }
        let after = Piece::parse(&edit.after).map_err(|err| ("piece_invalid_yaml", err.to_string()))?;
        after.check(&edit.piece).map_err(|err| match err {
            PieceError::Syntax(message) => ("piece_invalid_yaml", message),
            PieceError::Inconsistent(message) => ("piece_invalid", message),
            PieceError::UnknownNext(message) => ("piece_unknown_next", message),
        })?;
        if after.movements.len() > self.max_movements as usize {
            let message = format!("{} movements, at most {}", after.movements.len(), self.max_movements);
            return Err(("too_many_movements", message));
        }
        match edit.before.as_deref() {
            None if self.allow_new_pieces => Ok(()),
            None => Err(("new_piece_not_allowed", "no such piece exists".to_string())),
            Some(before) => {
                let before = Piece::parse(before).map_err(|err| {
                    (
                        "piece_invalid",
                        format!("the current piece does not parse ({err}), so no edit can be checked against it"),
                    )
                })?;
                check_not_widened(&before, &after)
            }
        }
    }
}

fn check_not_widened(before: &Piece, after: &Piece) -> Result<(), Refusal> {
    let widened = |message: String| Err(("permission_widened", message));
    if after.max_movements > before.max_movements {
        return widened(format!("max_movements grows from {} to {}", before.max_movements, after.max_movements));
    }
    // A new movement may not exceed what the piece granted anywhere before.
    let any_edit = before.movements.iter().any(|m| m.edit);
    let all_tools: HashSet<&str> =
        before.movements.iter().flat_map(|m| m.allowed_tools.iter().map(String::as_str)).collect();
    let widest_mode = before.movements.iter().map(Movement::mode_rank).max().unwrap_or(0);

    for movement in &after.movements {
        let (edit_allowed, tools, mode): (bool, HashSet<&str>, u8) = match before.movement(&movement.name) {
            Some(old) => (old.edit, old.allowed_tools.iter().map(String::as_str).collect(), old.mode_rank()),
            None => (any_edit, all_tools.clone(), widest_mode),
        };
        if movement.edit && !edit_allowed {
            return widened(format!("movement `{}` gains edit: true", movement.name));
        }
        if let Some(tool) = movement.allowed_tools.iter().find(|tool| !tools.contains(tool.as_str())) {
            return widened(format!("movement `{}` gains tool `{tool}`", movement.name));
        }
        if movement.mode_rank() > mode {
            let new_mode = movement.permission_mode.as_deref().unwrap_or("default");
            return widened(format!("movement `{}` widens permission_mode to `{new_mode}`", movement.name));
        }
    }
    Ok(())
}

export_policy!(PieceGuard);
