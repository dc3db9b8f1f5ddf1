//! Anchored scanners for credential shapes, in one pass over the word
//! starts of a text. Each names what it found, never the value.

/// A token with a fixed prefix followed by at least `min_len` characters
/// from its alphabet.
struct Prefixed {
    kind: &'static str,
    prefix: &'static [u8],
    min_len: usize,
    alphabet: fn(u8) -> bool,
}

fn alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}
fn upper_alnum(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit()
}
fn token(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}
fn base64ish(b: u8) -> bool {
    token(b) || matches!(b, b'+' | b'/' | b'.' | b'=' | b'~')
}

const PREFIXED: &[Prefixed] = &[
    Prefixed { kind: "an AWS access key id", prefix: b"AKIA", min_len: 16, alphabet: upper_alnum },
    Prefixed { kind: "an AWS temporary access key id", prefix: b"ASIA", min_len: 16, alphabet: upper_alnum },
    Prefixed { kind: "a GitHub token", prefix: b"ghp_", min_len: 30, alphabet: alnum },
    Prefixed { kind: "a GitHub token", prefix: b"gho_", min_len: 30, alphabet: alnum },
    Prefixed { kind: "a GitHub token", prefix: b"ghu_", min_len: 30, alphabet: alnum },
    Prefixed { kind: "a GitHub token", prefix: b"ghs_", min_len: 30, alphabet: alnum },
    Prefixed { kind: "a GitHub token", prefix: b"ghr_", min_len: 30, alphabet: alnum },
    Prefixed { kind: "a GitHub token", prefix: b"github_pat_", min_len: 22, alphabet: token },
    Prefixed { kind: "an API secret key", prefix: b"sk-", min_len: 20, alphabet: token },
    Prefixed { kind: "a Stripe secret key", prefix: b"sk_live_", min_len: 16, alphabet: alnum },
    Prefixed { kind: "a Stripe restricted key", prefix: b"rk_live_", min_len: 16, alphabet: alnum },
    Prefixed { kind: "a Slack token", prefix: b"xoxb-", min_len: 10, alphabet: token },
    Prefixed { kind: "a Slack token", prefix: b"xoxp-", min_len: 10, alphabet: token },
    Prefixed { kind: "a Slack token", prefix: b"xoxa-", min_len: 10, alphabet: token },
    Prefixed { kind: "a Slack token", prefix: b"xoxr-", min_len: 10, alphabet: token },
    Prefixed { kind: "a Slack token", prefix: b"xoxs-", min_len: 10, alphabet: token },
    Prefixed { kind: "a Google API key", prefix: b"AIza", min_len: 35, alphabet: token },
    Prefixed { kind: "a GitLab token", prefix: b"glpat-", min_len: 20, alphabet: token },
    Prefixed { kind: "a bearer token", prefix: b"Bearer ", min_len: 20, alphabet: base64ish },
];

/// Names that, followed by `:` or `=` and a random-looking value, make an
/// assignment of a credential (`db_password=…` counts: the name may end
/// with one of these).
const ASSIGNED: &[&[u8]] =
    &[b"password", b"passwd", b"secret", b"api_key", b"apikey", b"access_key", b"auth_token", b"private_key"];

/// Names the first credential in `text`, if there is one.
pub(crate) fn find(text: &str) -> Option<&'static str> {
    if text.contains("PRIVATE KEY-----") && text.contains("-----BEGIN") {
        return Some("a private key block");
    }
    let bytes = text.as_bytes();
    let word_starts = (0..bytes.len()).filter(|&i| token(bytes[i]) && (i == 0 || !token(bytes[i - 1])));
    // Every prefix starts with one of these; most words can be skipped on
    // their first byte.
    for start in word_starts.filter(|&i| matches!(bytes[i], b'A' | b'B' | b'e' | b'g' | b'r' | b's' | b'x')) {
        let rest = &bytes[start..];
        for scanner in PREFIXED.iter().filter(|s| s.prefix[0] == rest[0] && rest.starts_with(s.prefix)) {
            let run = rest[scanner.prefix.len()..].iter().take_while(|&&b| (scanner.alphabet)(b)).count();
            if run >= scanner.min_len {
                return Some(scanner.kind);
            }
        }
        if rest.starts_with(b"eyJ") && is_jwt(rest) {
            return Some("a JSON web token");
        }
    }
    if has_url_credentials(text) {
        return Some("a URL with a password");
    }
    has_assigned_secret(bytes).then_some("a credential assignment")
}

fn is_jwt(candidate: &[u8]) -> bool {
    let run = candidate.iter().take_while(|&&b| token(b) || b == b'.').count();
    let parts: Vec<&[u8]> = candidate[..run].split(|&b| b == b'.').collect();
    parts.len() == 3 && parts[1].starts_with(b"eyJ") && parts.iter().all(|p| p.len() >= 8)
}

fn has_url_credentials(text: &str) -> bool {
    text.match_indices("://").any(|(start, _)| {
        let authority = text[start + 3..].split(['/', ' ', '\n', '?', '#']).next().unwrap_or_default();
        authority
            .split_once('@')
            .is_some_and(|(userinfo, _)| userinfo.split_once(':').is_some_and(|(_, password)| password.len() >= 3))
    })
}

/// Looks back from every `=` and `:` for a credential name, and forward
/// for a value that looks random.
fn has_assigned_secret(bytes: &[u8]) -> bool {
    let trim = |b: &u8| matches!(b, b' ' | b'"' | b'\'');
    bytes.iter().enumerate().filter(|(_, b)| matches!(b, b'=' | b':')).any(|(at, _)| {
        let before = &bytes[..at];
        let name_end = before.len() - before.iter().rev().take_while(|b| trim(b)).count();
        let name = &before[..name_end];
        let named = ASSIGNED.iter().any(|keyword| {
            name.len() >= keyword.len() && name[name.len() - keyword.len()..].eq_ignore_ascii_case(keyword)
        });
        let after = &bytes[at + 1..];
        let value_start = after.iter().take_while(|b| trim(b)).count();
        let value = &after[value_start..];
        let run = &value[..value.iter().take_while(|&&b| base64ish(b)).count()];
        named && run.len() >= 12 && run.iter().any(u8::is_ascii_digit) && run.iter().any(u8::is_ascii_alphabetic)
    })
}
