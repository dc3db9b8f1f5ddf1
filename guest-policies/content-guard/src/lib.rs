//! `content-guard`: what is written into memory is read by every future run,
//! so it must not carry secrets, instructions aimed at those runs, or
//! characters a reviewer cannot see. Scans descriptions, bodies and the lines
//! a piece edit adds.
//!
//! Secret detection is a set of anchored scanners for well-known token
//! shapes, not a regex engine: a regex set would be compiled again in every
//! fresh instance, on every proposal.

mod invisible;
mod secrets;

use memwarden_policy_sdk::serde::Deserialize;
use memwarden_policy_sdk::similarity;
use memwarden_policy_sdk::{Context, MemoryChange, PieceEdit, Policy, Verdict, export_policy};

#[derive(Deserialize)]
#[serde(crate = "memwarden_policy_sdk::serde", default, deny_unknown_fields)]
/// The module, and its config as rule packs write it.
pub struct ContentGuard {
    detect_secrets: bool,
    detect_injection: bool,
    detect_invisible: bool,
    /// Further phrases (matched on lowercased words) to treat as injection.
    extra_phrases: Vec<String>,
}

impl Default for ContentGuard {
    fn default() -> Self {
        ContentGuard { detect_secrets: true, detect_injection: true, detect_invisible: true, extra_phrases: Vec::new() }
    }
}

/// Extra phrases a pack may add; with the built-in ones they fit the
/// 128-bit phrase masks of `injection_phrase`.
const MAX_EXTRA_PHRASES: usize = 96;

/// Phrasing that tries to steer future runs rather than record a fact.
const INJECTION_PHRASES: &[&[&str]] = &[
    &["ignore", "previous", "instructions"],
    &["ignore", "all", "previous", "instructions"],
    &["ignore", "prior", "instructions"],
    &["ignore", "all", "prior", "instructions"],
    &["ignore", "the", "above"],
    &["ignore", "your", "instructions"],
    &["disregard", "previous", "instructions"],
    &["disregard", "all", "previous"],
    &["disregard", "all", "prior"],
    &["disregard", "the", "above"],
    &["disregard", "your", "instructions"],
    &["forget", "your", "instructions"],
    &["forget", "all", "previous"],
    &["forget", "everything", "above"],
    &["override", "your", "instructions"],
    &["override", "the", "system", "prompt"],
    &["reveal", "the", "system", "prompt"],
    &["reveal", "your", "system", "prompt"],
    &["print", "your", "system", "prompt"],
    &["you", "are", "now", "in", "developer", "mode"],
    &["enable", "developer", "mode"],
    &["do", "not", "tell", "the", "user"],
    &["don", "t", "tell", "the", "user"],
    &["without", "telling", "the", "user"],
    &["hide", "this", "from", "the", "user"],
    &["you", "have", "no", "restrictions"],
    &["bypass", "the", "policy"],
    &["bypass", "all", "policies"],
    &["new", "system", "instructions"],
];

impl Policy for ContentGuard {
    const NAME: &'static str = "content-guard";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const CODES: &'static [(&'static str, &'static str)] = &[
        (
            "secret_detected",
            "text contains what looks like a credential (cloud key, token, private key, password assignment)",
        ),
        (
            "prompt_injection",
            "text contains phrasing aimed at steering future runs (\"ignore previous instructions\", …)",
        ),
        ("invisible_characters", "text contains zero-width, bidi-control, tag or other invisible characters"),
    ];

    fn validate(&self) -> Result<(), String> {
        if self.extra_phrases.len() > MAX_EXTRA_PHRASES {
            return Err(format!("at most {MAX_EXTRA_PHRASES} extra_phrases, not {}", self.extra_phrases.len()));
        }
        match self.extra_phrases.iter().find(|phrase| normalise(phrase).is_empty()) {
            Some(phrase) => Err(format!("extra phrase `{phrase}` has no words")),
            None => Ok(()),
        }
    }

    fn check_change(&self, change: &MemoryChange, _context: &Context) -> Verdict {
        let fields =
            [("name", change.name.as_str()), ("description", change.description_text()), ("body", change.body_text())];
        fields
            .iter()
            .find_map(|(field, text)| {
                self.scan(text).map(|(code, message)| Verdict::reject(code, format!("{field}: {message}")))
            })
            .unwrap_or(Verdict::Accept)
    }

    fn check_piece(&self, edit: &PieceEdit, _context: &Context) -> Verdict {
        // Only what the edit adds: a built-in piece's own persona text is
        // not this proposal's doing.
        let before: std::collections::HashSet<&str> = edit.before.as_deref().unwrap_or_default().lines().collect();
        let added: String = edit.after.lines().filter(|line| !before.contains(line)).collect::<Vec<_>>().join("\n");
        match self.scan(&added) {
            Some((code, message)) => Verdict::reject(code, format!("piece `{}`: {message}", edit.piece)),
            None => Verdict::Accept,
        }
    }
}

impl ContentGuard {
    fn scan(&self, text: &str) -> Option<(&'static str, String)> {
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
        if self.detect_injection
            && let Some(phrase) = self.injection_phrase(text)
        {
            return Some(("prompt_injection", format!("contains \"{phrase}\"")));
        }
        None
    }

    /// The first injection phrase in `text`, matched on whole words,
    /// ignoring case and punctuation.
    fn injection_phrase(&self, text: &str) -> Option<String> {
        let extra: Vec<Vec<&str>> = self.extra_phrases.iter().map(|p| similarity::raw_words(p).collect()).collect();
        let phrases: Vec<&[&str]> = INJECTION_PHRASES.iter().copied().chain(extra.iter().map(Vec::as_slice)).collect();
        // Which phrases start with each letter, as a bitmask, so a word is
        // tried only against the few phrases that could start at it.
        let mut by_letter = [0u128; 256];
        for (i, phrase) in phrases.iter().enumerate() {
            let letter = phrase.first().and_then(|word| word.bytes().next()).map(|b| b.to_ascii_lowercase());
            if let Some(letter) = letter {
                by_letter[usize::from(letter)] |= 1 << i;
            }
        }
        let words: Vec<&str> = similarity::raw_words(text).collect();
        for position in 0..words.len() {
            let mut candidates = by_letter[usize::from(words[position].as_bytes()[0].to_ascii_lowercase())];
            while candidates != 0 {
                let phrase = phrases[candidates.trailing_zeros() as usize];
                candidates &= candidates - 1;
                let rest = &words[position..];
                if rest.len() >= phrase.len() && rest.iter().zip(phrase).all(|(word, p)| word.eq_ignore_ascii_case(p)) {
                    return Some(phrase.join(" ").to_lowercase());
                }
            }
        }
        None
    }
}

/// Lowercased words joined by single spaces; punctuation separates words.
fn normalise(text: &str) -> String {
    similarity::words(text).collect::<Vec<_>>().join(" ")
}

export_policy!(ContentGuard);
