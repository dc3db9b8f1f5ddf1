//! Redaction (`on_secret: redact`): the text with every credential
//! [`secrets::find`] reports replaced by `[redacted: <kind>]`.
//!
//! The detector names a credential, not where it is, so redaction narrows
//! it down with the detector itself: the first line at which a prefix of
//! the text holds a secret (binary search), the last line at which the
//! suffix up to there still holds it, then the single word of that line
//! whose removal clears it; when no single word does (a key block spread
//! over lines), the lines themselves. Repeated until the text is clean.
//! Only texts that hold a secret pay for this, and the host checks the
//! result once more, so a credential this misses is still refused.

use super::secrets;

/// Credentials redacted from one text at most; past this, the text is
/// refused instead (each round re-reads the text a few dozen times).
const MAX_ROUNDS: usize = 8;

/// `text` with every credential replaced, or `None` when one resists.
pub(crate) fn redact(text: &str) -> Option<String> {
    let mut text = text.to_string();
    for _ in 0..MAX_ROUNDS {
        let Some(kind) = secrets::find(&text) else {
            return Some(text);
        };
        text = redact_one(&text, kind)?;
    }
    secrets::find(&text).is_none().then_some(text)
}

/// `text` with the first credential found (of `kind`) replaced.
fn redact_one(text: &str, kind: &str) -> Option<String> {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let joined = |from: usize, to: usize| lines[from..=to].concat();
    // The first line whose prefix of the text holds a credential…
    let last = first_true(lines.len(), |i| secrets::find(&joined(0, i)).is_some())?;
    // …and the last line from which the text up to it still does.
    let first = last - first_true(last + 1, |back| secrets::find(&joined(last - back, last)).is_some())?;
    let label = format!("[redacted: {}]", kind.trim_start_matches("a ").trim_start_matches("an "));
    let mut out: String = lines[..first].concat();
    if first == last {
        let line = lines[first];
        match redact_word(line, &label) {
            Some(redacted) => out.push_str(&redacted),
            None => out.push_str(&whole(line, &label)),
        }
    } else {
        out.push_str(&whole(&joined(first, last), &label));
    }
    out.push_str(&lines[last + 1..].concat());
    Some(out)
}

/// `line` with the one word whose replacement clears it replaced; words
/// are tried from the right, where values follow their names.
fn redact_word(line: &str, label: &str) -> Option<String> {
    let words: Vec<(usize, &str)> = line
        .split(|c: char| c.is_whitespace())
        .scan(0, |at, word| {
            let start = *at;
            *at += word.len() + 1;
            Some((start, word))
        })
        .filter(|(_, word)| !word.is_empty())
        .collect();
    words.iter().rev().find_map(|&(start, word)| {
        let candidate = format!("{}{label}{}", &line[..start], &line[start + word.len()..]);
        secrets::find(&candidate).is_none().then_some(candidate)
    })
}

/// `text` replaced whole by `label`, keeping a final newline.
fn whole(text: &str, label: &str) -> String {
    if text.ends_with('\n') { format!("{label}\n") } else { label.to_string() }
}

/// The smallest `i < len` for which `holds(i)` is true, `holds` being
/// false then true; `None` when it never holds.
fn first_true(len: usize, holds: impl Fn(usize) -> bool) -> Option<usize> {
    if len == 0 || !holds(len - 1) {
        return None;
    }
    let (mut low, mut high) = (0, len - 1);
    while low < high {
        let mid = low + (high - low) / 2;
        if holds(mid) { high = mid } else { low = mid + 1 }
    }
    Some(low)
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redacts_the_value_and_keeps_the_rest() {
        let text = "Release: 1. migrate 2. deploy.\nUse key AKIAZ4QXK7RM2PLT6VWN for the bucket.\nThen smoke tests.";
        let redacted = redact(text).expect("redactable");
        assert!(!redacted.contains("AKIAZ4QXK7RM2PLT6VWN"), "{redacted}");
        assert!(redacted.starts_with("Release: 1. migrate 2. deploy.\nUse key [redacted: "), "{redacted}");
        assert!(redacted.ends_with("] for the bucket.\nThen smoke tests."), "{redacted}");
    }

    #[test]
    fn a_clean_text_is_unchanged() {
        assert_eq!(redact("Run migrations before deploying.").as_deref(), Some("Run migrations before deploying."));
    }
}
