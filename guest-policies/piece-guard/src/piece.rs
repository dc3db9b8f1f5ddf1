//! The piece format, as far as permissions and structure go. Unknown fields
//! are refused: a field this module does not know could grant anything.

use std::collections::HashSet;

use memwarden_policy_sdk::serde::Deserialize;

use crate::Refusal;

#[derive(Deserialize)]
#[serde(crate = "memwarden_policy_sdk::serde", deny_unknown_fields)]
pub(crate) struct Piece {
    pub name: String,
    #[allow(dead_code)]
    pub description: String,
    pub initial_movement: String,
    pub max_movements: u32,
    pub movements: Vec<Movement>,
}

#[derive(Deserialize)]
#[serde(crate = "memwarden_policy_sdk::serde", deny_unknown_fields)]
pub(crate) struct Movement {
    pub name: String,
    #[allow(dead_code)]
    pub persona: String,
    #[allow(dead_code)]
    pub instruction_template: String,
    #[serde(default)]
    pub edit: bool,
    #[serde(default)]
    pub allowed_tools: Vec<String>,
    #[serde(default)]
    pub permission_mode: Option<String>,
    #[serde(default)]
    pub rules: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(crate = "memwarden_policy_sdk::serde", deny_unknown_fields)]
pub(crate) struct Rule {
    #[allow(dead_code)]
    pub condition: String,
    pub next: String,
}

/// Permission modes from narrowest to widest.
const MODES: [&str; 4] = ["plan", "default", "acceptEdits", "bypassPermissions"];

impl Piece {
    pub fn parse(yaml: &str) -> Result<Piece, String> {
        serde_norway::from_str(yaml).map_err(|err| err.to_string())
    }

    pub fn movement(&self, name: &str) -> Option<&Movement> {
        self.movements.iter().find(|m| m.name == name)
    }

    pub fn check_consistent(&self, expected_name: &str) -> Result<(), Refusal> {
        let invalid = |message: String| Err(("piece_invalid", message));
        if self.name != expected_name {
            return invalid(format!("the YAML names itself `{}`", self.name));
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
            if let Some(rule) = movement
                .rules
                .iter()
                .find(|r| !matches!(r.next.as_str(), "COMPLETE" | "ABORT") && !names.contains(r.next.as_str()))
            {
                let message =
                    format!("movement `{}` goes next to `{}`, which does not exist", movement.name, rule.next);
                return Err(("piece_unknown_next", message));
            }
        }
        Ok(())
    }
}

impl Movement {
    pub fn mode_rank(&self) -> u8 {
        let mode = self.permission_mode.as_deref().unwrap_or("default");
        // Unknown modes were refused by `check_consistent`; rank them widest
        // anyway so that a missed check fails closed.
        MODES.iter().position(|m| *m == mode).unwrap_or(MODES.len()) as u8
    }
}
