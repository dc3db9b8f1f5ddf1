//! The piece format: a workflow of movements, each with a persona, an
//! instruction template, its permissions (`edit`, `allowed_tools`,
//! `permission_mode`) and rules saying which movement comes next.
//!
//! Unknown fields are refused: a field nobody checks could grant anything.
//! So are YAML anchors and aliases: a piece has no use for them, and a few
//! KiB of aliases expand to gigabytes when parsed (issue 9). This crate
//! parses and checks structure; it does not decide whether an edit widens
//! permissions (that is piece-guard's policy).

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
    /// Parses YAML of the piece format. Anchors and aliases are refused
    /// before anything is expanded.
    pub fn parse(yaml: &str) -> Result<Piece, PieceError> {
        refuse_anchors_and_aliases(yaml)?;
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

/// Refuses `yaml` if it holds an anchor (`&a`) or an alias (`*a`).
///
/// The check runs the very scanner `serde_norway` parses with, so it cannot
/// disagree with the parser about what is an anchor: `*` inside a quoted or
/// plain scalar (`Use *bold* text`) is text to both. Only tokens are made,
/// never nodes, so nothing is expanded. A text the scanner cannot read is
/// left to the parser, which reports the same syntax error.
#[allow(unsafe_code)]
fn refuse_anchors_and_aliases(yaml: &str) -> Result<(), PieceError> {
    use std::mem::MaybeUninit;

    use unsafe_libyaml_norway as unsafe_yaml;

    let mut parser = MaybeUninit::<unsafe_yaml::yaml_parser_t>::uninit();
    let parser = parser.as_mut_ptr();
    // SAFETY: `parser` is initialised by `yaml_parser_initialize` before any
    // other call and deleted exactly once below; `yaml` outlives the parser;
    // each token is deleted right after its type and mark are copied out.
    let found = unsafe {
        if unsafe_yaml::yaml_parser_initialize(parser).fail {
            return Err(PieceError::Syntax("cannot start the YAML scanner".to_string()));
        }
        unsafe_yaml::yaml_parser_set_encoding(parser, unsafe_yaml::YAML_UTF8_ENCODING);
        unsafe_yaml::yaml_parser_set_input_string(parser, yaml.as_ptr(), yaml.len() as _);
        let mut found = None;
        loop {
            let mut token = MaybeUninit::<unsafe_yaml::yaml_token_t>::uninit();
            let token = token.as_mut_ptr();
            if unsafe_yaml::yaml_parser_scan(parser, token).fail {
                break;
            }
            let (kind, line) = ((*token).type_, (*token).start_mark.line);
            unsafe_yaml::yaml_token_delete(token);
            match kind {
                unsafe_yaml::YAML_ANCHOR_TOKEN => found = Some(("an anchor", line)),
                unsafe_yaml::YAML_ALIAS_TOKEN => found = Some(("an alias", line)),
                unsafe_yaml::YAML_STREAM_END_TOKEN | unsafe_yaml::YAML_NO_TOKEN => break,
                _ => continue,
            }
            break;
        }
        unsafe_yaml::yaml_parser_delete(parser);
        found
    };
    match found {
        None => Ok(()),
        Some((what, line)) => {
            Err(PieceError::Syntax(format!("{what} at line {}: pieces may not use YAML anchors or aliases", line + 1)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIECE: &str = "name: p\ndescription: Use *bold* & plain text\ninitial_movement: a\nmax_movements: 2\nmovements:\n  - { name: a, persona: \"*x\", instruction_template: 'a & b *c', rules: [] }\n";

    #[test]
    fn asterisks_and_ampersands_in_text_are_not_aliases() {
        let piece = Piece::parse_valid(PIECE, "p").expect("parses");
        assert_eq!(piece.description, "Use *bold* & plain text");
        assert_eq!(piece.movements[0].persona, "*x");
    }

    #[test]
    fn anchors_and_aliases_are_refused_before_expansion() {
        let bomb = format!("allowed_tools: [&s \"{}\", {}]", "x".repeat(1024), vec!["*s"; 1000].join(", "));
        for yaml in [
            "name: &n p\n".to_string(),
            "name: p\ndescription: *n\n".to_string(),
            "movements:\n  - &m { name: a }\n  - *m\n".to_string(),
            bomb,
        ] {
            match Piece::parse(&yaml) {
                Err(PieceError::Syntax(message)) => assert!(message.contains("anchors or aliases"), "{message}"),
                other => panic!("{yaml}: {other:?}"),
            }
        }
    }
}
