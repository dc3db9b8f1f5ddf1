//! Credentials written into sentences: "the staging password is …",
//! "password for staging: …", "Root password for the old box (db-2) is …",
//! "login is admin / …", "auth token `…`", "password …" on a `.netrc`
//! line. The words before the value name it; the value must pass the
//! strict tests in `value`, because in prose almost anything can follow
//! "is".

use super::assignment::{Class, looks_like_location, word_at};
use super::class;
use super::{Found, shapes, value};

/// How far back, within one sentence, prose may name the credential.
const NEAR_BYTES: usize = 100;

/// How many words back, within that sentence.
const NEAR_WORDS: usize = 10;

/// How far back a random token may be named when the naming sentence is
/// an earlier one ("…asked for the API key twice. They gave it on Tuesday:
/// 17cc…"). Only for values that are random beyond doubt.
const FAR_BYTES: usize = 200;

/// Words that name a password.
const PASSWORDS: &[&[u8]] = &[b"password", b"passwd", b"passphrase", b"passcode", b"pwd", b"pw"];
/// Words that name a password only for the second half of a pair ("the
/// router login is admin / …"): on their own they name user names.
const LOGINS: &[&[u8]] = &[b"login", b"credentials", b"creds"];
/// Words that name a token.
const SECRETS: &[&[u8]] = &[b"token", b"secret", b"apikey"];
/// Words that make a following "key" a credential ("the API key is …").
const KEY_QUALIFIERS: &[&[u8]] = &[b"api", b"access", b"secret", b"private", b"signing", b"shared", b"license"];

/// The credential after the word at `start..end` when it is "is", "was" or
/// "to" and a credential is named before it.
pub(super) fn at_connector(bytes: &[u8], start: usize, end: usize) -> Option<Found> {
    let word = &bytes[start..end];
    let connector = [&b"is"[..], b"was", b"to"].iter().any(|w| word.eq_ignore_ascii_case(w));
    if !connector || bytes.get(end) != Some(&b' ') {
        return None;
    }
    after(bytes, start, end)
}

/// The value right after a credential word at `start`, `len` long:
/// "password Kr%_PGkO1HQ", "auth token `3a87…`", or `password …` in a
/// `.netrc` entry.
pub(super) fn at_word(bytes: &[u8], start: usize, len: usize) -> Option<Found> {
    let word = &bytes[start..start + len];
    let is = |list: &[&[u8]]| list.iter().any(|w| word.eq_ignore_ascii_case(w));
    let class = if is(&[b"password", b"passwd", b"passphrase"]) {
        Class::Password
    } else if is(&[b"token", b"secret"]) {
        Class::Secret
    } else {
        return None;
    };
    if bytes.get(start + len) != Some(&b' ') {
        return None;
    }
    let from = start + len + 1;
    let quoted = matches!(bytes.get(from), Some(b'`' | b'"' | b'\''));
    let (text, _) = word_at(bytes, from)?;
    let public = value::is_public(text) || said_public(bytes, start);
    if public || value::is_reference(text, quoted) || looks_like_location(text) {
        return None;
    }
    match class {
        Class::Password if netrc(bytes, start) => {
            value::password_like(text, false).then_some(Found::Likely("a password in a netrc entry"))
        }
        // Quoted, the value is plainly meant as one; bare, it must look typed.
        Class::Password => value::password_like(text, !quoted).then_some(Found::Likely("a password")),
        Class::Secret => value::random_like(text).then_some(Found::Likely("a secret token")),
    }
}

/// A credential named before `before` and given by the word at `from`, or
/// by the second half of `user / password` there.
pub(super) fn after(bytes: &[u8], before: usize, from: usize) -> Option<Found> {
    let (first, end) = word_at(bytes, from)?;
    if let Some(found) = judge(bytes, before, first, false) {
        return Some(found);
    }
    let (second, _) = bytes[end..].starts_with(b" / ").then(|| word_at(bytes, end + 3)).flatten()?;
    judge(bytes, before, second, true)
}

/// What `text` is, given the words before `before`; `pair` when it is the
/// second half of `user / password`.
fn judge(bytes: &[u8], before: usize, text: &[u8], pair: bool) -> Option<Found> {
    // The value first: in prose the next word is almost always a word.
    let plausible = text.len() >= value::MIN_PASSWORD
        && text.iter().any(|&b| b.is_ascii_digit() || (b.is_ascii_punctuation() && !matches!(b, b'_' | b'-' | b'.')));
    if !plausible || value::is_reference(text, false) || value::is_public(text) || looks_like_location(text) {
        return None;
    }
    match named_before(bytes, before, false, pair) {
        Some(Class::Password) => value::password_like(text, true).then_some(Found::Likely("a password")),
        Some(Class::Secret) => {
            let strong = value::random_like(text) || (text.len() >= 10 && value::password_like(text, true));
            strong.then_some(Found::Likely("a secret token"))
        }
        // Commits, digests (40 and 64 hex digits) and UUIDs are ids far
        // more often than credentials: only a nearby name makes them one.
        None if !is_digest(text) && !shapes::is_uuid(text) && named_before(bytes, before, true, pair).is_some() => {
            value::random_like(text).then_some(Found::Likely("a secret token"))
        }
        None => None,
    }
}

fn is_digest(text: &[u8]) -> bool {
    matches!(text.len(), 40 | 64) && text.iter().all(u8::is_ascii_hexdigit)
}

/// Whether the words before `end` name a credential: the last
/// [`NEAR_WORDS`] of the same sentence, or with `far`, anything in the
/// paragraph up to [`FAR_BYTES`] back. Code in between (`:`, `=`,
/// brackets, quotes) ends the search: `db_password: ENC[…,data:…]` does
/// not name `data`'s value. With `pair`, the value is the second half of
/// `user / password`, which "login" names as well.
fn named_before(bytes: &[u8], end: usize, far: bool, pair: bool) -> Option<Class> {
    let reach = if far { FAR_BYTES } else { NEAR_BYTES };
    let mut window = &bytes[end.saturating_sub(reach)..end];
    if let Some(stop) = window
        .iter()
        .rposition(|&b| matches!(b, b':' | b'=' | b'[' | b']' | b'{' | b'}' | b';' | b'@' | b'"' | b'`' | b'<' | b'>'))
    {
        window = &window[stop + 1..];
    }
    let boundary = |w: &[u8]| if far { w == b"\n\n" } else { w[0] == b'\n' || matches!(w, b". " | b"! " | b"? ") };
    if let Some(stop) = window.windows(2).rposition(boundary) {
        window = &window[stop + 2..];
    }
    let limit = if far { usize::MAX } else { NEAR_WORDS };
    let mut words = window.rsplit(|&b| !b.is_ascii_alphanumeric()).filter(|w| !w.is_empty()).take(limit).peekable();
    while let Some(word) = words.next() {
        let is = |list: &[&[u8]]| list.iter().any(|candidate| word.eq_ignore_ascii_case(candidate));
        let previous = words.peek().copied().unwrap_or_default();
        if PUBLIC.iter().any(|w| previous.eq_ignore_ascii_case(w)) {
            continue;
        }
        if is(PASSWORDS) || (pair && is(LOGINS)) {
            return Some(Class::Password);
        }
        let qualified_key =
            word.eq_ignore_ascii_case(b"key") && KEY_QUALIFIERS.iter().any(|q| previous.eq_ignore_ascii_case(q));
        if is(SECRETS) || qualified_key {
            return Some(Class::Secret);
        }
    }
    None
}

/// Words that make a credential word public ("the public token").
const PUBLIC: &[&[u8]] = &[b"public", b"publishable", b"anon"];

/// Whether the word before the one at `start` says it is public.
fn said_public(bytes: &[u8], start: usize) -> bool {
    let before = &bytes[start.saturating_sub(16)..start];
    let word = before.rsplit(|&b| !b.is_ascii_alphanumeric()).find(|w| !w.is_empty()).unwrap_or_default();
    PUBLIC.iter().any(|w| word.eq_ignore_ascii_case(w))
}

/// Whether `at` is inside a `.netrc` entry: `machine` or `login` shortly
/// before, on the same line or the lines above.
fn netrc(bytes: &[u8], at: usize) -> bool {
    let window = &bytes[at.saturating_sub(FAR_BYTES)..at];
    [&b"machine "[..], b"login "].iter().any(|word| class::contains_ignore_case(window, word))
}
