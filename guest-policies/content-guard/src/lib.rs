//! `content-guard`: what is written into memory is read by every future run,
//! so it must not carry secrets, instructions aimed at those runs, or
//! characters a reviewer cannot see. Scans descriptions, bodies and the lines
//! a piece edit adds.
//!
//! Secret detection is a catalogue of anchored, structure-checked token
//! formats; injection detection is a layered scorer (see `injection`).
//! Neither compiles a regex at run time: it would be compiled again in every
//! fresh instance, on every proposal. The role-marker lists are DFAs that
//! `build.rs` compiles when the module is built.

mod injection;
mod invisible;
mod redact;
mod secrets;

use memwarden_policy_sdk::serde::Deserialize;
use memwarden_policy_sdk::{Context, MemoryChange, PieceEdit, Policy, Verdict, export_policy};

/// What to do with a credential.
#[derive(Deserialize, Clone, Copy, Default, PartialEq, Eq, Debug)]
#[serde(crate = "memwarden_policy_sdk::serde", rename_all = "snake_case")]
enum OnSecret {
    /// Refuse the change (`secret_detected`).
    #[default]
    Reject,
    /// Accept the change with each credential replaced by `[redacted:
    /// <kind>]` (`secret_redacted`); a credential in a name is refused.
    Redact,
    /// Hold the change for a person (`secret_detected`).
    Hold,
}

/// What to do with a text that reads as an instruction to future runs.
#[derive(Deserialize, Clone, Copy, Default, PartialEq, Eq, Debug)]
#[serde(crate = "memwarden_policy_sdk::serde", rename_all = "snake_case")]
enum OnInjection {
    /// Refuse the change (`prompt_injection`).
    #[default]
    Reject,
    /// Hold the change for a person (`prompt_injection`).
    Hold,
}

#[derive(Deserialize)]
#[serde(crate = "memwarden_policy_sdk::serde", default, deny_unknown_fields)]
/// The module, and its config as rule packs write it.
pub struct ContentGuard {
    detect_secrets: bool,
    detect_injection: bool,
    detect_invisible: bool,
    /// The injection score at which a text is refused: 1.0 is one strong
    /// signal, or two weak ones; lower is stricter.
    injection_threshold: f32,
    /// Further phrases (matched on folded words) to treat as injection.
    extra_phrases: Vec<String>,
    /// `reject` (default), `redact` or `hold`.
    on_secret: OnSecret,
    /// `reject` (default) or `hold`.
    on_injection: OnInjection,
}

impl Default for ContentGuard {
    fn default() -> Self {
        ContentGuard {
            detect_secrets: true,
            detect_injection: true,
            detect_invisible: true,
            injection_threshold: 1.0,
            extra_phrases: Vec::new(),
            on_secret: OnSecret::Reject,
            on_injection: OnInjection::Reject,
        }
    }
}

/// Extra phrases a pack may add.
const MAX_EXTRA_PHRASES: usize = 96;

impl Policy for ContentGuard {
    const NAME: &'static str = "content-guard";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const CODES: &'static [(&'static str, &'static str)] = &[
        (
            "secret_detected",
            "text contains what looks like a credential (a provider's token format, a private key, a password in a URL or an assignment)",
        ),
        (
            "prompt_injection",
            "text scores at or above `injection_threshold` (default 1.0) as an instruction aimed at future runs (override, role markers, exfiltration, hidden or encoded payloads)",
        ),
        (
            "secret_redacted",
            "with `on_secret: redact`, each credential was replaced by `[redacted: <kind>]` and the rest accepted",
        ),
        (
            "invisible_characters",
            "text contains zero-width, bidi-control, tag, variation-selector or other invisible characters outside their legitimate uses",
        ),
    ];

    fn validate(&self) -> Result<(), String> {
        if self.extra_phrases.len() > MAX_EXTRA_PHRASES {
            return Err(format!("at most {MAX_EXTRA_PHRASES} extra_phrases, not {}", self.extra_phrases.len()));
        }
        if !(self.injection_threshold > 0.0 && self.injection_threshold <= 10.0) {
            return Err(format!("injection_threshold must be in (0, 10], not {}", self.injection_threshold));
        }
        match self.extra_phrases.iter().find(|phrase| injection::fold(phrase).is_empty()) {
            Some(phrase) => Err(format!("extra phrase `{phrase}` has no words")),
            None => Ok(()),
        }
    }

    fn check_change(&self, change: &MemoryChange, _context: &Context) -> Verdict {
        let fields =
            [("name", change.name.as_str()), ("description", change.description_text()), ("body", change.body_text())];
        let extra = self.extra_phrase_words();
        let Some((field, (code, message))) =
            fields.iter().find_map(|(field, text)| Some((*field, self.scan(text, &extra)?)))
        else {
            return Verdict::Accept;
        };
        if code == "secret_detected" && self.on_secret == OnSecret::Redact && field != "name" {
            return self.redacted(change, &extra);
        }
        self.verdict(code, format!("{field}: {message}"))
    }

    fn check_piece(&self, edit: &PieceEdit, _context: &Context) -> Verdict {
        // Only what the edit adds: a built-in piece's own persona text is
        // not this proposal's doing.
        let before: std::collections::HashSet<&str> = edit.before.as_deref().unwrap_or_default().lines().collect();
        let added: String = edit.after.lines().filter(|line| !before.contains(line)).collect::<Vec<_>>().join("\n");
        let extra = self.extra_phrase_words();
        let Some((code, message)) = self.scan(&added, &extra) else {
            return Verdict::Accept;
        };
        if code == "secret_detected" && self.on_secret == OnSecret::Redact {
            let redacted = redact::redact(&edit.after).filter(|yaml| self.scan(yaml, &extra).is_none());
            if let Some(yaml) = redacted {
                let message = format!("piece `{}`: {message}; redacted", edit.piece);
                return Verdict::amend_piece("secret_redacted", message, yaml);
            }
        }
        self.verdict(code, format!("piece `{}`: {message}", edit.piece))
    }
}

impl ContentGuard {
    /// The verdict for a finding, as `on_secret` and `on_injection` say.
    fn verdict(&self, code: &'static str, message: String) -> Verdict {
        let hold = match code {
            "secret_detected" => self.on_secret == OnSecret::Hold,
            "prompt_injection" => self.on_injection == OnInjection::Hold,
            _ => false,
        };
        if hold { Verdict::hold(code, message) } else { Verdict::reject(code, message) }
    }

    /// `change` with the credentials of its description and body redacted,
    /// as an amendment; when one resists redaction, or the redacted text
    /// still fails another check, the verdict that check gives.
    fn redacted(&self, change: &MemoryChange, extra: &[Vec<String>]) -> Verdict {
        let redact = |text: &Option<String>| match text {
            Some(text) => redact::redact(text).map(Some),
            None => Some(None),
        };
        let (Some(description), Some(body)) = (redact(&change.description), redact(&change.body)) else {
            return self.verdict("secret_detected", "a credential could not be redacted".to_string());
        };
        for (field, text) in [("description", &description), ("body", &body)] {
            if let Some((code, message)) = text.as_deref().and_then(|text| self.scan(text, extra)) {
                return self.verdict(code, format!("{field}: {message}"));
            }
        }
        let amended = MemoryChange { description, body, ..change.clone() };
        Verdict::amend("secret_redacted", "replaced each credential with `[redacted: <kind>]`", amended)
    }

    fn scan(&self, text: &str, extra_phrases: &[Vec<String>]) -> Option<(&'static str, String)> {
        if self.detect_invisible
            && let Some(found) = invisible::find(text)
        {
            return Some(("invisible_characters", found));
        }
        if self.detect_secrets
            && let Some(kind) = secrets::find(text)
        {
            // Never echo the secret itself into logs and decision records.
            return Some(("secret_detected", format!("looks like {kind}")));
        }
        if self.detect_injection {
            let found = injection::assess(text, extra_phrases);
            if found.score() >= self.injection_threshold {
                return Some((
                    "prompt_injection",
                    format!("reads as an instruction to future runs: {} (score {:.1})", found.reasons(), found.score()),
                ));
            }
        }
        None
    }

    fn extra_phrase_words(&self) -> Vec<Vec<String>> {
        self.extra_phrases.iter().map(|phrase| injection::fold(phrase)).collect()
    }
}

export_policy!(ContentGuard);
