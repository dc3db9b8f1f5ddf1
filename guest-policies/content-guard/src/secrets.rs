//! Anchored scanners for credential shapes. Each names what it found, never
//! the value.

/// A token with a fixed prefix followed by at least `min_len` characters
/// from its alphabet.
struct Prefixed {
    kind: &'static str,
    prefix: &'static str,
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
    Prefixed { kind: "an AWS access key id", prefix: "AKIA", min_len: 16, alphabet: upper_alnum },
    Prefixed { kind: "an AWS temporary access key id", prefix: "ASIA", min_len: 16, alphabet: upper_alnum },
    Prefixed { kind: "a GitHub token", prefix: "ghp_", min_len: 30, alphabet: alnum },
    Prefixed { kind: "a GitHub token", prefix: "gho_", min_len: 30, alphabet: alnum },
    Prefixed { kind: "a GitHub token", prefix: "ghu_", min_len: 30, alphabet: alnum },
    Prefixed { kind: "a GitHub token", prefix: "ghs_", min_len: 30, alphabet: alnum },
    Prefixed { kind: "a GitHub token", prefix: "ghr_", min_len: 30, alphabet: alnum },
    Prefixed { kind: "a GitHub token", prefix: "github_pat_", min_len: 22, alphabet: token },
    Prefixed { kind: "an API secret key", prefix: "sk-", min_len: 20, alphabet: token },
    Prefixed { kind: "a Stripe secret key", prefix: "sk_live_", min_len: 16, alphabet: alnum },
    Prefixed { kind: "a Stripe restricted key", prefix: "rk_live_", min_len: 16, alphabet: alnum },
    Prefixed { kind: "a Slack token", prefix: "xoxb-", min_len: 10, alphabet: token },
    Prefixed { kind: "a Slack token", prefix: "xoxp-", min_len: 10, alphabet: token },
    Prefixed { kind: "a Slack token", prefix: "xoxa-", min_len: 10, alphabet: token },
    Prefixed { kind: "a Slack token", prefix: "xoxr-", min_len: 10, alphabet: token },
    Prefixed { kind: "a Slack token", prefix: "xoxs-", min_len: 10, alphabet: token },
    Prefixed { kind: "a Google API key", prefix: "AIza", min_len: 35, alphabet: token },
    Prefixed { kind: "a GitLab token", prefix: "glpat-", min_len: 20, alphabet: token },
    Prefixed { kind: "a bearer token", prefix: "Bearer ", min_len: 20, alphabet: base64ish },
];

/// Words that, followed by `:` or `=` and a random-looking value, make an
/// assignment of a credential.
const ASSIGNED: &[&str] =
    &["password", "passwd", "secret", "api_key", "apikey", "access_key", "auth_token", "client_secret", "private_key"];

/// Names the first credential in `text`, if there is one.
pub(crate) fn find(text: &str) -> Option<&'static str> {
    if text.contains("-----BEGIN") && text.contains("PRIVATE KEY-----") {
        return Some("a private key block");
    }
    let bytes = text.as_bytes();
    for scanner in PREFIXED {
        for (start, _) in text.match_indices(scanner.prefix) {
            let starts_word = start == 0 || !token(bytes[start - 1]);
            let tail = &bytes[start + scanner.prefix.len()..];
            let run = tail.iter().take_while(|&&b| (scanner.alphabet)(b)).count();
            if starts_word && run >= scanner.min_len {
                return Some(scanner.kind);
            }
        }
    }
    if has_jwt(bytes) {
        return Some("a JSON web token");
    }
    if has_url_credentials(text) {
        return Some("a URL with a password");
    }
    has_assigned_secret(text).then_some("a credential assignment")
}

fn has_jwt(bytes: &[u8]) -> bool {
    (0..bytes.len()).filter(|&i| bytes[i..].starts_with(b"eyJ")).any(|start| {
        let run = bytes[start..].iter().take_while(|&&b| token(b) || b == b'.').count();
        let candidate = &bytes[start..start + run];
        let parts: Vec<&[u8]> = candidate.split(|&b| b == b'.').collect();
        parts.len() == 3 && parts[1].starts_with(b"eyJ") && parts.iter().all(|p| p.len() >= 8)
    })
}

fn has_url_credentials(text: &str) -> bool {
    text.match_indices("://").any(|(start, _)| {
        let authority = text[start + 3..].split(['/', ' ', '\n', '?', '#']).next().unwrap_or_default();
        authority
            .split_once('@')
            .is_some_and(|(userinfo, _)| userinfo.split_once(':').is_some_and(|(_, password)| password.len() >= 3))
    })
}

fn has_assigned_secret(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    ASSIGNED.iter().any(|keyword| {
        lower.match_indices(keyword).any(|(start, _)| {
            let rest = lower[start + keyword.len()..].trim_start_matches(['"', '\'', ' ']);
            let Some(value) = rest.strip_prefix([':', '=']) else { return false };
            let value = value.trim_start_matches([' ', '"', '\'']);
            let run: &str = &value[..value.bytes().take_while(|&b| base64ish(b)).count()];
            run.len() >= 12 && run.bytes().any(|b| b.is_ascii_digit()) && run.bytes().any(|b| b.is_ascii_alphabetic())
        })
    })
}
