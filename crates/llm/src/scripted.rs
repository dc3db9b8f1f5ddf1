//! Answers read from a file, for the demo and offline use. Each answer is
//! used once: the first unused one whose `tenant` / `piece` filters match.
//!
//! ```yaml
//! responses:
//!   - tenant: acme            # optional filter
//!     piece: research         # optional filter
//!     purpose: consolidation  # default: reflection
//!     proposal:               # sent as JSON text…
//!       reasoning: …
//!       memory_changes: […]
//!   - text: "not json"        # …or a raw answer, verbatim
//! ```

use std::sync::Mutex;

use serde::Deserialize;

use super::{ChatRequest, Completion, LlmError};

/// One scripted answer.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptedResponse {
    /// Only for this tenant.
    #[serde(default)]
    pub tenant: Option<String>,
    /// Only for this piece.
    #[serde(default)]
    pub piece: Option<String>,
    /// `reflection` (the default) or `consolidation`.
    #[serde(default = "reflection")]
    pub purpose: String,
    /// A proposal, sent as JSON.
    #[serde(default)]
    pub proposal: Option<serde_json::Value>,
    /// A raw answer, sent verbatim.
    #[serde(default)]
    pub text: Option<String>,
}

fn reflection() -> String {
    "reflection".to_string()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScriptFile {
    responses: Vec<ScriptedResponse>,
}

/// Hands out scripted answers.
pub struct ScriptedProvider {
    unused: Mutex<Vec<Option<ScriptedResponse>>>,
}

impl ScriptedProvider {
    /// Reads a script (YAML or JSON).
    pub fn from_yaml(text: &str) -> Result<ScriptedProvider, String> {
        let file: ScriptFile = serde_norway::from_str(text).map_err(|err| err.to_string())?;
        if let Some(position) = file.responses.iter().position(|r| r.proposal.is_some() == r.text.is_some()) {
            return Err(format!("response {position} needs exactly one of `proposal` and `text`"));
        }
        Ok(ScriptedProvider::new(file.responses))
    }

    /// A provider with these answers.
    pub fn new(responses: Vec<ScriptedResponse>) -> ScriptedProvider {
        ScriptedProvider { unused: Mutex::new(responses.into_iter().map(Some).collect()) }
    }

    pub(crate) fn complete(&self, request: &ChatRequest) -> Result<Completion, LlmError> {
        let mut unused = self.unused.lock().unwrap_or_else(|poison| poison.into_inner());
        let matches = |r: &ScriptedResponse| {
            r.purpose == request.purpose
                && r.tenant.as_ref().is_none_or(|t| *t == request.tenant)
                && r.piece.as_ref().is_none_or(|p| *p == request.piece)
        };
        let slot = unused.iter_mut().find(|slot| slot.as_ref().is_some_and(matches));
        let Some(response) = slot.and_then(Option::take) else {
            return Err(LlmError::ScriptExhausted { tenant: request.tenant.clone(), piece: request.piece.clone() });
        };
        let text = match (response.proposal, response.text) {
            (Some(proposal), _) => proposal.to_string(),
            (None, text) => text.unwrap_or_default(),
        };
        Ok(Completion {
            tokens_in: (request.system.len() + request.user.len()).div_ceil(4) as u64,
            tokens_out: text.len().div_ceil(4) as u64,
            text,
            model: "scripted".to_string(),
        })
    }
}
