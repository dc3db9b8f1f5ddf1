//! Credentials in HTTP headers and on command lines: `Authorization:
//! Basic …` and `Bearer …` anywhere, other `Authorization` schemes,
//! `--token …`, `--user user:pass`, `mysql -p…`, `curl -u user:pass`.

use super::assignment::{self, Class, MAX_NAME, MAX_VALUE, blanks, line_around, word_at};
use super::class::{self, ALNUM, BASE64, DASH, DOT, EQUALS, PLUS, SLASH, TILDE, UNDERSCORE, URLSAFE, VISIBLE};
use super::{Found, checksum, placeholder, value};

/// Characters a credential may carry after a header scheme or a flag.
const CREDENTIAL: u32 = URLSAFE | DOT | PLUS | SLASH | EQUALS | TILDE;

const ON_COMMAND_LINE: &str = "a password on a command line";

/// A credential on a command line, at the `-` at `at` that starts a word.
#[inline(never)]
pub(super) fn at_dash(bytes: &[u8], at: usize) -> Option<Found> {
    match bytes.get(at + 1)? {
        b'-' => long_flag(bytes, at + 2),
        // `mysql -u root -pS3cret`: the password glued to `-p`.
        b'p' if bytes.get(at + 2).is_some_and(|&b| class::is(b, VISIBLE)) => {
            let line = line_around(bytes, at);
            let mysql = [&b"mysql"[..], b"mariadb"].iter().any(|tool| class::contains_ignore_case(line, tool));
            let (text, _) = word_at(bytes, at + 2)?;
            (mysql && value::password_like(text, false)).then_some(Found::Likely(ON_COMMAND_LINE))
        }
        // `curl -u user:password`.
        b'u' if bytes.get(at + 2) == Some(&b' ') => {
            let curl = class::contains_ignore_case(line_around(bytes, at), b"curl");
            (curl && user_password(bytes, at + 3)).then_some(Found::Likely(ON_COMMAND_LINE))
        }
        _ => None,
    }
}

/// `--password value`, `--token value`, `--user user:pass`; the name
/// starts at `name_start`. `--password=…` is left to the assignment rules.
fn long_flag(bytes: &[u8], name_start: usize) -> Option<Found> {
    let name_len = class::run(bytes, name_start, ALNUM | DASH | UNDERSCORE, MAX_NAME);
    let after = name_start + name_len;
    if bytes.get(after) != Some(&b' ') {
        return None;
    }
    let raw = &bytes[name_start..after];
    if raw == b"user" {
        return user_password(bytes, after + 1).then_some(Found::Likely(ON_COMMAND_LINE));
    }
    let mut buffer = [0u8; 2 * MAX_NAME];
    let class = assignment::name_class(assignment::normalise(raw, &mut buffer))?;
    let (text, _) = word_at(bytes, after + 1)?;
    if text.starts_with(b"-") || value::is_reference(text, false) {
        return None;
    }
    match class {
        Class::Password => value::password_like(text, false).then_some(Found::Likely(ON_COMMAND_LINE)),
        Class::Secret => value::random_like(text).then_some(Found::Likely("a credential on a command line")),
    }
}

/// `Bearer <token>` and `Basic <user:password in base64>` anywhere, at the
/// word start `start` of a word `len` long.
pub(super) fn at_word(bytes: &[u8], start: usize, len: usize) -> Option<Found> {
    let word = &bytes[start..start + len];
    let bearer = word.eq_ignore_ascii_case(b"bearer");
    if !(bearer || word.eq_ignore_ascii_case(b"basic")) || bytes.get(start + len) != Some(&b' ') {
        return None;
    }
    let from = start + len + 1;
    let from = from + blanks(bytes, from);
    let credential = &bytes[from..from + class::run(bytes, from, CREDENTIAL, MAX_VALUE)];
    match bearer {
        true => (credential.len() >= 20 && value::random_like(credential)).then_some(Found::Likely("a bearer token")),
        false => basic(credential).then_some(Found::Likely("an HTTP Basic credential")),
    }
}

/// Whether the short value at `from` is an HTTP authentication scheme
/// with a credential after it.
pub(super) fn before_credential(bytes: &[u8], from: usize) -> bool {
    const SCHEMES: &[&[u8]] = &[b"basic", b"token", b"bot", b"ssws", b"apikey", b"key", b"oauth"];
    let start = from + blanks(bytes, from);
    let word = &bytes[start.min(bytes.len())..start + class::run(bytes, start, ALNUM, 8)];
    bytes.get(start + word.len()) == Some(&b' ') && SCHEMES.iter().any(|scheme| word.eq_ignore_ascii_case(scheme))
}

/// `Authorization: <scheme> <credential>` with the value at `from`.
/// `Bearer` and `Basic` are left to [`at_word`], which sees them anywhere.
pub(super) fn header(bytes: &[u8], from: usize) -> Option<Found> {
    let scheme_start = from + blanks(bytes, from);
    let scheme_len = class::run(bytes, scheme_start, ALNUM | DASH, 24);
    let scheme = &bytes[scheme_start..scheme_start + scheme_len];
    let credential_start = scheme_start + scheme_len + blanks(bytes, scheme_start + scheme_len);
    let len = class::run(bytes, credential_start, CREDENTIAL, MAX_VALUE);
    let credential = &bytes[credential_start..credential_start + len];
    let elsewhere = scheme.eq_ignore_ascii_case(b"bearer") || scheme.eq_ignore_ascii_case(b"basic");
    if elsewhere || placeholder::is_documented(credential) {
        return None;
    }
    value::random_like(credential).then_some(Found::Likely("an Authorization header credential"))
}

/// Whether an HTTP Basic credential decodes to `user:password` with a
/// password that is not a placeholder.
fn basic(credential: &[u8]) -> bool {
    let mut decoded = [0u8; MAX_VALUE];
    let encoded = credential.len() >= 8 && credential.iter().all(|&b| class::is(b, BASE64 | EQUALS));
    if !encoded || placeholder::is_documented(credential) {
        return false;
    }
    let Some(pair) = checksum::base64_decode(credential, &mut decoded) else { return false };
    let Some(colon) = pair.iter().position(|&b| b == b':') else { return false };
    let (user, password) = (&pair[..colon], &pair[colon + 1..]);
    !user.is_empty()
        && password.len() >= 4
        && password != user
        && password.iter().all(u8::is_ascii_graphic)
        && !placeholder::is_placeholder(password)
}

/// `user:password` at `from` with a real password.
fn user_password(bytes: &[u8], from: usize) -> bool {
    let Some((pair, _)) = word_at(bytes, from) else { return false };
    let Some(colon) = pair.iter().position(|&b| b == b':') else { return false };
    let (user, password) = (&pair[..colon], &pair[colon + 1..]);
    !user.is_empty()
        && password != user
        && !value::is_reference(password, false)
        && (value::password_like(password, false) || value::random_like(password))
}
