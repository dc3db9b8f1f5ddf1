//! The piece format: a workflow of movements, each with a persona, an
//! instruction template, its permissions (`edit`, `allowed_tools`,
//! `permission_mode`) and rules saying which movement comes next.
//!
//! Unknown fields are refused: a field nobody checks could grant anything.
//! This crate parses and checks structure; it does not decide whether an
//! edit widens permissions (that is piece-guard's policy).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

/// Where a rule may lead besides a movement.
pub const TERMINALS: [&str; 2] = ["COMPLETE", "ABORT"];

/// Permission modes from narrowest to widest.
pub const MODES: [&str; 4] = ["plan", "default", "acceptEdits", "bypassPermissions"];

/// A workflow definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Piece {
    /// The piece's name; equals its file name without `.yaml`.
    pub name: String,
    /// One line saying what the piece is for.
    pub description: String,
    /// The movement a run starts with.
    pub initial_movement: String,
    /// How many movements a run may take before it is aborted.
    pub max_movements: u32,
    /// The movements, in display order.
    pub movements: Vec<Movement>,
}

/// One step of a piece.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Movement {
    /// Unique within the piece.
    pub name: String,
    /// Who the agent plays in this movement.
    pub persona: String,
    /// The instruction, with `{task}`-style placeholders.
    pub instruction_template: String,
    /// Whether the movement may edit files.
    #[serde(default)]
    pub edit: bool,
    /// Tools the movement may use.
    #[serde(default)]
    pub allowed_tools: Vec<String>,
    /// One of [`MODES`]; absent means `default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_mode: Option<String>,
    /// Where to go next, by condition.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// A transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// When this rule applies, in words the agent judges.
    pub condition: String,
    /// A movement name, `COMPLETE` or `ABORT`.
    pub next: String,
}

/// Why a piece is not valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PieceError {
    /// Not YAML of the piece format.
    Syntax(String),
    /// Structurally inconsistent (renamed, no movements, duplicates, …).
    Inconsistent(String),
    /// A rule's `next` names nothing.
    UnknownNext(String),
}

impl std::fmt::Display for PieceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PieceError::Syntax(message) | PieceError::Inconsistent(message) | PieceError::UnknownNext(message) => {
                f.write_str(message)
            }
        }
    }
}

impl std::error::Error for PieceError {}

impl Piece {
    /// Parses YAML of the piece format.
    pub fn parse(yaml: &str) -> Result<Piece, PieceError> {
        serde_norway::from_str(yaml).map_err(|err| PieceError::Syntax(err.to_string()))
    }

    /// Parses and checks a piece that must be called `name`.
    pub fn parse_valid(yaml: &str, name: &str) -> Result<Piece, PieceError> {
        let piece = Piece::parse(yaml)?;
        piece.check(name)?;
        Ok(piece)
    }

    /// The movement called `name`.
    pub fn movement(&self, name: &str) -> Option<&Movement> {
        self.movements.iter().find(|m| m.name == name)
    }

    /// Checks that the piece is called `expected_name`, has uniquely named
    /// movements, a real initial movement, known permission modes, and that
    /// every rule leads somewhere.
    pub fn check(&self, expected_name: &str) -> Result<(), PieceError> {
        let invalid = |message: String| Err(PieceError::Inconsistent(message));
        if self.name != expected_name {
            return invalid(format!("the YAML names itself `{}`, not `{expected_name}`", self.name));
        }
        if self.movements.is_empty() {
            return invalid("it has no movements".to_string());
        }
        let mut names = HashSet::new();
        if let Some(dup) = self.movements.iter().find(|m| !names.insert(m.name.as_str())) {
            return invalid(format!("movement `{}` is defined twice", dup.name));
        }
        if !names.contains(self.initial_movement.as_str()) {
            return invalid(format!("initial_movement `{}` is not a movement", self.initial_movement));
        }
        if let Some(m) =
            self.movements.iter().find(|m| m.permission_mode.as_deref().is_some_and(|p| !MODES.contains(&p)))
        {
            return invalid(format!("movement `{}` has an unknown permission_mode", m.name));
        }
        for movement in &self.movements {
            let dangling = movement
                .rules
                .iter()
                .find(|r| !TERMINALS.contains(&r.next.as_str()) && !names.contains(r.next.as_str()));
            if let Some(rule) = dangling {
                let message =
                    format!("movement `{}` goes next to `{}`, which does not exist", movement.name, rule.next);
                return Err(PieceError::UnknownNext(message));
            }
        }
        Ok(())
    }
}

impl Movement {
    /// Position of the movement's mode in [`MODES`]; unknown modes rank
    /// widest so that a missed check fails closed.
    pub fn mode_rank(&self) -> u8 {
        let mode = self.permission_mode.as_deref().unwrap_or("default");
        MODES.iter().position(|m| *m == mode).unwrap_or(MODES.len()) as u8
    }
}
