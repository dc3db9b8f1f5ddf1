//! Credentials given a name rather than a recognisable shape, in code and
//! configuration: `db_password = "…"`, `"token": "…"`, `export API_KEY=…`,
//! `Password=…;`, `--password=…`, `const API_KEY: &str = "…"`,
//! `define('DB_PASSWORD', '…')`, `<password>…</password>`,
//! `auth=("user", "…")`. The value must then pass the tests in `value`:
//! names alone are everywhere in notes about configuration, and
//! "password: see vault" is not a leak. Read [`at_operator`] first.
//!
//! Prose ("the password is …") is in `prose`, headers and command lines in
//! `command`; both share the name and value helpers here.

use super::class::{self, ALNUM, NAME, SEPARATOR, VISIBLE};
use super::{Found, command, connection, prose, value, vendor};

/// Longest name looked at (`SPRING_DATASOURCE_PASSWORD` is 26).
pub(super) const MAX_NAME: usize = 64;

/// Longest value looked at.
pub(super) const MAX_VALUE: usize = 256;

/// What a name says its value is.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Class {
    /// Typed by a person: tested as a password.
    Password,
    /// Issued by a system: tested as a random token.
    Secret,
}

/// A name ending, after normalisation (lowercase, `_` between words).
/// `glued` endings may follow anything (`dbpassword`, `clientSecret`);
/// the others need a word break (`db_pass`, not `bypass`).
struct Ending {
    word: &'static [u8],
    class: Class,
    glued: bool,
}

const fn e(word: &'static [u8], class: Class, glued: bool) -> Ending {
    Ending { word, class, glued }
}

const ENDINGS: &[Ending] = &[
    e(b"password", Class::Password, true),
    e(b"passwd", Class::Password, true),
    e(b"passphrase", Class::Password, true),
    e(b"pass", Class::Password, false),
    e(b"pwd", Class::Password, false),
    e(b"pw", Class::Password, false),
    e(b"secret", Class::Secret, true),
    e(b"secret_key_base", Class::Secret, true),
    e(b"token", Class::Secret, true),
    e(b"api_key", Class::Secret, true),
    e(b"apikey", Class::Secret, true),
    e(b"access_key", Class::Secret, true),
    e(b"accesskey", Class::Secret, true),
    e(b"secret_key", Class::Secret, true),
    e(b"private_key", Class::Secret, true),
    e(b"privatekey", Class::Secret, true),
    e(b"signing_key", Class::Secret, true),
    e(b"encryption_key", Class::Secret, true),
    e(b"master_key", Class::Secret, true),
    e(b"credential", Class::Secret, true),
    e(b"credentials", Class::Secret, true),
    e(b"auth", Class::Secret, false),
];

/// Names that end like a credential but hold something else.
const NOT_CREDENTIALS: &[&[u8]] = &[
    b"page_token",
    b"next_token",
    b"continuation_token",
    b"pagination_token",
    b"sync_token",
    b"resume_token",
    b"cancel_token",
    b"cancellation_token",
    b"max_token",
    b"csrf_token",
];

/// The credential assigned at the operator at `at` (`=`, `:`, `:=`, `=>`,
/// the `,` of `define('NAME', '…')`, the `>` of `<name>…`), if any.
#[inline(never)]
pub(super) fn at_operator(bytes: &[u8], at: usize) -> Option<Found> {
    let prev = at.checked_sub(1).map(|i| bytes[i]);
    let next = bytes.get(at + 1).copied();
    let colon = bytes[at] == b':';
    let value_from = match (bytes[at], prev, next) {
        (b',', ..) => return quoted_pair(bytes, at),
        (b'>', ..) => return element(bytes, at),
        (b':', _, Some(b'/')) if bytes.get(at + 2) == Some(&b'/') => return connection::url_at(bytes, at),
        (b':', Some(b':'), _) | (b':', _, Some(b':')) => return None,
        // `host:5432:db:user:password`, a `.pgpass` line.
        (b':', _, Some(b'0'..=b'9' | b'*')) => match connection::pgpass_at(bytes, at) {
            Some(found) => return Some(found),
            None => at + 1,
        },
        (b':', _, Some(b'=')) => at + 2,
        (b'=', Some(b':' | b'=' | b'!' | b'<' | b'>'), _) | (b'=', _, Some(b'=')) => return None,
        (b'=', _, Some(b'>')) => at + 2,
        _ => at + 1,
    };
    // Most values in code and configuration are short (`port = 8080`):
    // nothing to judge, unless it is a header scheme with the credential
    // after it (`Authorization: Basic …`).
    let found = value_at(bytes, value_from);
    let short = found.as_ref().is_none_or(|value| value.text.len() < value::MIN_PASSWORD);
    if short && !command::before_credential(bytes, value_from) {
        return None;
    }
    let mut buffer = [0u8; 2 * MAX_NAME];
    let name_span = name_before(bytes, at);
    if let Some((start, end)) = name_span {
        let raw = &bytes[start..end];
        let name = normalise(raw, &mut buffer);
        if name.ends_with(b"authorization") {
            return command::header(bytes, value_from);
        }
        // Vendor values are 20 to 64 characters; most code values are not.
        let vendor = found.as_ref().filter(|value| (20..=64).contains(&value.text.len()));
        if let Some(kind) = vendor.and_then(|value| vendor::bound(name, value.text)) {
            return Some(Found::Certain(kind));
        }
        // `const API_KEY: &str = …`: the name is before the type.
        let typed = if colon { None } else { typed_name(bytes, start) };
        let class = name_class(name).map(|class| (class, raw)).or_else(|| {
            let (start, end) = typed?;
            let mut buffer = [0u8; 2 * MAX_NAME];
            name_class(normalise(&bytes[start..end], &mut buffer)).map(|class| (class, &bytes[start..end]))
        });
        if let (Some((class, raw)), Some(value)) = (class, found) {
            return assigned(class, raw, &value, colon);
        }
    }
    // "password for staging: …" names the credential a few words back; a
    // name like `next_page_token` is code, not prose.
    let prose_name = |(start, end): (usize, usize)| !bytes[start..end].iter().any(|&b| b == b'_' || b == b'.');
    match name_span {
        Some(span) if colon && prose_name(span) => prose::after(bytes, span.0, value_from),
        None if colon => prose::after(bytes, at, value_from),
        _ => None,
    }
}

/// Where the name just before an operator at `at` lies: `db_password`,
/// `"token"`, `config["password"]`, `--password`.
fn name_before(bytes: &[u8], at: usize) -> Option<(usize, usize)> {
    let mut end = at - bytes[..at].iter().rev().take_while(|&&b| b == b' ' || b == b'\t').count();
    for _ in 0..2 {
        if end > 0 && matches!(bytes[end - 1], b'"' | b'\'' | b'`' | b']') {
            end -= 1;
        }
    }
    let len = bytes[..end].iter().rev().take(MAX_NAME + 1).take_while(|&&b| class::is(b, NAME)).count();
    (1..=MAX_NAME).contains(&len).then_some((end - len, end))
}

/// The name of a typed declaration whose type ends at `type_end`
/// (`API_KEY: &'static str`, `apiKey: string`).
fn typed_name(bytes: &[u8], type_end: usize) -> Option<(usize, usize)> {
    let before = &bytes[type_end.saturating_sub(32)..type_end];
    let colon = before.iter().rposition(|&b| !class::is(b, ALNUM | NAME) && !matches!(b, b' ' | b'&' | b'\''))?;
    let at = type_end - before.len() + colon;
    (bytes[at] == b':' && at > 0 && bytes[at - 1] != b':').then(|| name_before(bytes, at)).flatten()
}

/// Lowercase with `_` between words: `dbPassword`, `DB-PASSWORD` and
/// `db.password` all become `db_password`. Leading dashes and underscores
/// (`--password`, `_authToken`) are dropped.
pub(super) fn normalise<'a>(raw: &[u8], out: &'a mut [u8; 2 * MAX_NAME]) -> &'a [u8] {
    let raw = &raw[raw.iter().take_while(|&&b| !b.is_ascii_alphanumeric()).count()..];
    let mut len = 0;
    let mut previous = b'_';
    for &b in raw.iter().take(MAX_NAME) {
        if b.is_ascii_uppercase() && (previous.is_ascii_lowercase() || previous.is_ascii_digit()) {
            out[len] = b'_';
            len += 1;
        }
        out[len] = match b {
            b'-' | b'.' => b'_',
            _ => b.to_ascii_lowercase(),
        };
        len += 1;
        previous = b;
    }
    &out[..len]
}

/// What a normalised name says its value is, if it names a credential.
pub(super) fn name_class(name: &[u8]) -> Option<Class> {
    // INVARIANT: every entry of NOT_CREDENTIALS ends in `token`.
    if name.ends_with(b"token") && NOT_CREDENTIALS.iter().any(|ending| name.ends_with(ending)) {
        return None;
    }
    let last = name.last()?;
    ENDINGS
        .iter()
        .find(|ending| {
            ending.word.last() == Some(last)
                && name.ends_with(ending.word)
                && (ending.glued || name.len() == ending.word.len() || name[name.len() - ending.word.len() - 1] == b'_')
        })
        .map(|ending| ending.class)
}

/// A value after an operator: quoted up to its closing quote on the same
/// line, or unquoted up to whitespace or a separator.
struct Value<'a> {
    text: &'a [u8],
    quoted: bool,
}

fn value_at(bytes: &[u8], from: usize) -> Option<Value<'_>> {
    let mut at = from + blanks(bytes, from);
    // `**Password:** hunter2`: markdown emphasis closes after the colon.
    at += bytes[at.min(bytes.len())..].iter().take(3).take_while(|&&b| b == b'*' || b == b'_').count();
    at += blanks(bytes, at);
    match *bytes.get(at)? {
        quote @ (b'"' | b'\'' | b'`') => {
            let inner = at + 1;
            let len = bytes[inner..].iter().take(MAX_VALUE).position(|&b| b == quote || b == b'\n')?;
            (bytes[inner + len] == quote).then(|| Value { text: &bytes[inner..inner + len], quoted: true })
        }
        // `auth=("user", "secret")`: the last string of a tuple or list.
        b'(' | b'[' => {
            let len = bytes[at..].iter().take(MAX_VALUE).position(|&b| matches!(b, b')' | b']' | b'\n'))?;
            let strings = bytes[at..at + len].split(|&b| b == b'"' || b == b'\'').skip(1).step_by(2);
            strings.last().map(|text| Value { text, quoted: true })
        }
        _ => {
            let len = class::run(bytes, at, VISIBLE & !SEPARATOR, MAX_VALUE);
            Some(Value { text: &bytes[at..at + len], quoted: false })
        }
    }
}

/// Judges a value assigned to a credential name. Unquoted values after `=`
/// in code may be variables (`password = pw`); under an environment-style
/// name or after a YAML `:` they are literals.
fn assigned(class: Class, raw_name: &[u8], value: &Value<'_>, colon: bool) -> Option<Found> {
    let text = value.text;
    let code = !value.quoted && !colon && !value::is_env_style(raw_name) && value::is_identifier(text);
    if code || value::is_reference(text, value.quoted) || value::is_public(text) || looks_like_location(text) {
        return None;
    }
    match class {
        Class::Password => value::password_like(text, false).then_some(Found::Likely("a password assignment")),
        Class::Secret => {
            let strong = value::random_like(text) || (text.len() >= 10 && value::password_like(text, true));
            strong.then_some(Found::Likely("a credential assignment"))
        }
    }
}

/// `define('DB_PASSWORD', '…')`, `setenv("API_KEY", "…")`: a quoted name,
/// a comma, a quoted value. `at` is the comma.
fn quoted_pair(bytes: &[u8], at: usize) -> Option<Found> {
    let end = at - bytes[..at].iter().rev().take_while(|&&b| b == b' ').count();
    let &quote = bytes[..end].last().filter(|&&b| b == b'"' || b == b'\'')?;
    let len = bytes[..end - 1].iter().rev().take(MAX_NAME + 1).take_while(|&&b| class::is(b, NAME)).count();
    let name_start = end - 1 - len;
    if !(1..=MAX_NAME).contains(&len) || name_start == 0 || bytes[name_start - 1] != quote {
        return None;
    }
    let raw = &bytes[name_start..end - 1];
    let mut buffer = [0u8; 2 * MAX_NAME];
    let class = name_class(normalise(raw, &mut buffer))?;
    let value = value_at(bytes, at + 1).filter(|value| value.quoted)?;
    assigned(class, raw, &value, true)
}

/// `<password>…</password>`: `at` is the `>` closing the opening tag.
fn element(bytes: &[u8], at: usize) -> Option<Found> {
    let (start, end) = name_before(bytes, at)?;
    if end != at || start == 0 || bytes[start - 1] != b'<' {
        return None;
    }
    let raw = &bytes[start..end];
    let mut buffer = [0u8; 2 * MAX_NAME];
    let class = name_class(normalise(raw, &mut buffer))?;
    let len = bytes[at + 1..].iter().take(MAX_VALUE).position(|&b| b == b'<' || b == b'\n')?;
    let text = bytes[at + 1..at + 1 + len].trim_ascii();
    assigned(class, raw, &Value { text, quoted: true }, true)
}

/// URLs and file paths: where a credential is, not the credential.
pub(super) fn looks_like_location(text: &[u8]) -> bool {
    text.windows(3).any(|w| w == b"://") || text.starts_with(b"/") || text.starts_with(b"./") || text.starts_with(b"~/")
}

/// The whitespace-delimited word at `from` (after spaces and markdown
/// emphasis), without surrounding quotes or trailing punctuation, and
/// where its raw form ends.
pub(super) fn word_at(bytes: &[u8], from: usize) -> Option<(&[u8], usize)> {
    let mut at = from + blanks(bytes, from);
    at += bytes[at.min(bytes.len())..].iter().take(3).take_while(|&&b| b == b'*').count();
    let len = class::run(bytes, at, VISIBLE, MAX_VALUE);
    let mut word = &bytes[at..at + len];
    while let [b'"' | b'\'' | b'`' | b'*' | b'(', rest @ ..] = word {
        word = rest;
    }
    while let [rest @ .., b'"' | b'\'' | b'`' | b'*' | b'.' | b',' | b';' | b':' | b'!' | b'?' | b')'] = word {
        word = rest;
    }
    (!word.is_empty()).then_some((word, at + len))
}

/// How many spaces and tabs start at `from`: values stay on their line.
pub(super) fn blanks(bytes: &[u8], from: usize) -> usize {
    bytes.get(from..).unwrap_or_default().iter().take(8).take_while(|&&b| b == b' ' || b == b'\t').count()
}

/// The line holding `at`.
pub(super) fn line_around(bytes: &[u8], at: usize) -> &[u8] {
    let start = bytes[..at].iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let end = bytes[at..].iter().position(|&b| b == b'\n').map_or(bytes.len(), |i| at + i);
    &bytes[start..end]
}
