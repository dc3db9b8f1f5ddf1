//! `piece-guard`: an agent may refine its own workflow, never widen it. The
//! edited piece must parse, keep every `next` pointing at a movement (or
//! `COMPLETE` / `ABORT`), stay under the size and movement caps, and grant no
//! movement more than the current piece already grants: no `edit: true` where
//! it was false, no new tool, no wider `permission_mode`, no larger
//! `max_movements` budget. A new movement holds at most what every current
//! movement holds, or the grant of a removed movement it replaces.

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
        (
            "piece_invalid_yaml",
            "the new piece is not YAML of the piece format (unknown fields, anchors and aliases included)",
        ),
        (
            "piece_invalid",
            "the new piece is inconsistent: renamed, no movements, duplicate movements, unknown initial movement or permission mode",
        ),
        ("piece_unknown_next", "a rule's `next` names neither a movement nor COMPLETE/ABORT"),
        ("piece_too_large", "the new piece is over `max_piece_bytes` (default 16 KiB)"),
        ("too_many_movements", "the new piece has more than `max_movements` movements (default 12)"),
        (
            "permission_widened",
            "a movement gains `edit`, a tool, a wider permission mode, or the piece a larger budget; a new movement holds more than every current movement holds and more than a removed movement it replaces",
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

/// What a movement may do: edit, which tools, how wide a permission mode.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Grant<'a> {
    edit: bool,
    tools: HashSet<&'a str>,
    mode: u8,
}

impl<'a> Grant<'a> {
    fn of(movement: &'a Movement) -> Grant<'a> {
        Grant {
            edit: movement.edit,
            tools: movement.allowed_tools.iter().map(String::as_str).collect(),
            mode: movement.mode_rank(),
        }
    }

    /// What every movement of `piece` may do: the grant a movement with no
    /// history is held to.
    fn narrowest(piece: &'a Piece) -> Grant<'a> {
        let mut grants = piece.movements.iter().map(Grant::of);
        let first = grants.next().unwrap_or(Grant { edit: false, tools: HashSet::new(), mode: 0 });
        grants.fold(first, |narrowest, grant| Grant {
            edit: narrowest.edit && grant.edit,
            tools: narrowest.tools.intersection(&grant.tools).copied().collect(),
            mode: narrowest.mode.min(grant.mode),
        })
    }

    /// How `movement` goes beyond this grant, if it does.
    fn exceeded_by(&self, movement: &Movement) -> Option<String> {
        if movement.edit && !self.edit {
            return Some("gains edit: true".to_string());
        }
        if let Some(tool) = movement.allowed_tools.iter().find(|tool| !self.tools.contains(tool.as_str())) {
            return Some(format!("gains tool `{tool}`"));
        }
        if movement.mode_rank() > self.mode {
            let mode = movement.permission_mode.as_deref().unwrap_or("default");
            return Some(format!("widens permission_mode to `{mode}`"));
        }
        None
    }
}

fn check_not_widened(before: &Piece, after: &Piece) -> Result<(), Refusal> {
    let widened = |message: String| Err(("permission_widened", message));
    if after.max_movements > before.max_movements {
        return widened(format!("max_movements grows from {} to {}", before.max_movements, after.max_movements));
    }
    // A movement that keeps its name keeps at most its own grant.
    for movement in &after.movements {
        if let Some(old) = before.movement(&movement.name)
            && let Some(how) = Grant::of(old).exceeded_by(movement)
        {
            return widened(format!("movement `{}` {how}", movement.name));
        }
    }
    // A new movement holds at most what every old movement held, or the
    // grant of a removed movement it replaces, one new movement per removed
    // one: renaming `review` to `review2` must not be a way to give it
    // `edit` (issue 9). Which new movement replaces which removed one is
    // whatever assignment fits, so a rename is accepted however the
    // movements are reordered.
    let narrowest = Grant::narrowest(before);
    let removed: Vec<Grant<'_>> =
        before.movements.iter().filter(|m| after.movement(&m.name).is_none()).map(Grant::of).collect();
    let wider: Vec<&Movement> = after
        .movements
        .iter()
        .filter(|m| before.movement(&m.name).is_none() && narrowest.exceeded_by(m).is_some())
        .collect();
    let fits = |new: usize, old: usize| removed[old].exceeded_by(wider[new]).is_none();
    let mut replaced: Vec<Option<usize>> = vec![None; removed.len()];
    for (new, movement) in wider.iter().enumerate() {
        if !assign(new, &fits, &mut replaced, &mut vec![false; removed.len()]) {
            let how = narrowest.exceeded_by(movement).unwrap_or_default();
            return widened(format!(
                "new movement `{}` {how}, beyond what every movement of the current piece holds and no removed movement it could replace held",
                movement.name
            ));
        }
    }
    Ok(())
}

/// Finds a removed movement for new movement `new`, moving earlier
/// assignments along if that frees one (an augmenting path of a bipartite
/// matching; pieces have a dozen movements, so this is instant).
fn assign(new: usize, fits: &dyn Fn(usize, usize) -> bool, replaced: &mut [Option<usize>], seen: &mut [bool]) -> bool {
    for old in 0..replaced.len() {
        if seen[old] || !fits(new, old) {
            continue;
        }
        seen[old] = true;
        if replaced[old].is_none_or(|other| assign(other, fits, replaced, seen)) {
            replaced[old] = Some(new);
            return true;
        }
    }
    false
}

export_policy!(PieceGuard);
