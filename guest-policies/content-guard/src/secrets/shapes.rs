//! Credentials recognised by structure rather than by a leading prefix:
//! JSON web tokens, private-key blocks (PEM, OpenSSH, PGP, PuTTY, and a
//! Google service-account file around one), Telegram and Discord bot
//! tokens, and tokens whose marker sits at a fixed offset inside them
//! (Azure DevOps `AZDO`, Entra `Q~`, DeepL `:fx`, Mailchimp `-us`, New
//! Relic `NRAL`). Called at every word start; each test first looks at one
//! or two bytes, so most words cost almost nothing.

use super::class::{self, ALNUM, BASE64, DASH, DIGIT, DOT, EQUALS, HEX, HEX_ANY, TILDE, UNDERSCORE, URLSAFE};
use super::{Found, checksum, placeholder, value};

/// Fewest base64 characters of key material that make a private-key block
/// a leak rather than a header quoted in an explanation.
const MIN_KEY_CHARS: usize = 40;

/// How far a private-key body is followed before giving up.
const MAX_KEY_BYTES: usize = 16 * 1024;

/// The structurally recognised credential starting at word start `start`,
/// whose first run of letters and digits is `word_len` long.
pub(super) fn at(bytes: &[u8], start: usize, word_len: usize) -> Option<Found> {
    let found = match bytes[start] {
        b'e' => jwt(bytes, start),
        b'0'..=b'9' => telegram(bytes, start),
        b'M' | b'N' | b'O' => discord_bot(bytes, start),
        b'B' => private_key(bytes, start),
        b'P' => putty(bytes, start),
        _ => None,
    };
    found.or_else(|| marked(bytes, start, word_len))
}

/// `header.payload.signature`, both JSON parts base64url-encoded objects.
fn jwt(bytes: &[u8], start: usize) -> Option<Found> {
    if !bytes[start..].starts_with(b"eyJ") {
        return None;
    }
    let len = class::run(bytes, start, URLSAFE | DOT, MAX_KEY_BYTES);
    let token = bytes[start..start + len].strip_suffix(b".").unwrap_or(&bytes[start..start + len]);
    let mut parts = token.split(|&b| b == b'.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    let signed = parts.next().is_none()
        && header.len() >= 10
        && payload.starts_with(b"eyJ")
        && payload.len() >= 10
        && signature.len() >= 16;
    (signed && !placeholder::is_placeholder(signature) && !placeholder::is_documented(signature))
        .then_some(Found::Certain("a JSON web token"))
}

/// `<bot id>:<35 characters>`, as BotFather issues them.
fn telegram(bytes: &[u8], start: usize) -> Option<Found> {
    let digits = class::run(bytes, start, DIGIT, 11);
    let body = start + digits + 1;
    let shaped = (8..=10).contains(&digits)
        && bytes.get(start + digits) == Some(&b':')
        && class::run(bytes, body, URLSAFE, 36) == 35;
    (shaped && value::scrambled(&bytes[body..body + 35]) && !placeholder::is_placeholder(&bytes[body..body + 35]))
        .then_some(Found::Certain("a Telegram bot token"))
}

/// `<base64 of the bot's numeric id>.<timestamp>.<HMAC>`.
fn discord_bot(bytes: &[u8], start: usize) -> Option<Found> {
    let id_len = class::run(bytes, start, URLSAFE, 29);
    let stamp = start + id_len + 1;
    let stamp_len = class::run(bytes, stamp, URLSAFE, 8);
    let mac = stamp + stamp_len + 1;
    let mac_len = class::run(bytes, mac, URLSAFE | DOT, 40);
    let shaped = (23..=28).contains(&id_len)
        && bytes.get(start + id_len) == Some(&b'.')
        && (6..=7).contains(&stamp_len)
        && bytes.get(stamp + stamp_len) == Some(&b'.')
        && (27..=38).contains(&mac_len);
    if !shaped || placeholder::is_placeholder(&bytes[mac..mac + mac_len]) {
        return None;
    }
    // The first part is a Discord snowflake id, in base64: 17 to 20 digits.
    let mut decoded = [0u8; 24];
    let id = checksum::base64_decode(&bytes[start..start + id_len], &mut decoded)?;
    ((17..=20).contains(&id.len()) && id.iter().all(u8::is_ascii_digit))
        .then_some(Found::Certain("a Discord bot token"))
}

/// `-----BEGIN … PRIVATE KEY-----` followed by real key material.
fn private_key(bytes: &[u8], start: usize) -> Option<Found> {
    if !bytes[start..].starts_with(b"BEGIN ") || start < 5 || &bytes[start - 5..start] != b"-----" {
        return None;
    }
    let label_start = start + b"BEGIN ".len();
    let label_len = bytes[label_start..].iter().take(40).position(|&b| b == b'-')?;
    let label = &bytes[label_start..label_start + label_len];
    let body = label_start + label_len + b"-----".len();
    if !bytes[label_start + label_len..].starts_with(b"-----") {
        return None;
    }
    let kind = match label {
        b"PRIVATE KEY" => "a private key block",
        b"RSA PRIVATE KEY" => "an RSA private key block",
        b"EC PRIVATE KEY" => "an EC private key block",
        b"DSA PRIVATE KEY" => "a DSA private key block",
        b"OPENSSH PRIVATE KEY" => "an OpenSSH private key block",
        b"ENCRYPTED PRIVATE KEY" => "an encrypted private key block",
        b"PGP PRIVATE KEY BLOCK" => "a PGP private key block",
        b"SSH2 ENCRYPTED PRIVATE KEY" => "an SSH2 private key block",
        _ => return None,
    };
    if !has_key_material(&bytes[body..]) {
        return None;
    }
    // A service-account file quotes the key inside JSON that names itself.
    let service_account = label == b"PRIVATE KEY"
        && class::contains_ignore_case(bytes, b"\"service_account\"")
        && class::contains_ignore_case(bytes, b"\"private_key\"");
    Some(Found::Certain(if service_account { "a Google Cloud service account key" } else { kind }))
}

/// A PuTTY `.ppk` file: its `Private-Lines:` hold the key.
fn putty(bytes: &[u8], start: usize) -> Option<Found> {
    const PRIVATE: &[u8] = b"Private-Lines:";
    if !bytes[start..].starts_with(b"PuTTY-User-Key-File-") {
        return None;
    }
    let window = &bytes[start..bytes.len().min(start + MAX_KEY_BYTES)];
    let at = window.windows(PRIVATE.len()).position(|w| w == PRIVATE)?;
    let line_end = window[at..].iter().position(|&b| b == b'\n')?;
    has_key_material(&window[at + line_end..]).then_some(Found::Certain("a PuTTY private key"))
}

/// Whether a key body (after its `BEGIN` line) holds at least
/// [`MIN_KEY_CHARS`] of varied base64 before its `END` line. Header lines
/// (`Proc-Type:`, `Version:`) are skipped; lines may be separated by real
/// newlines or by `\n` escapes inside a JSON string. A body like `...`,
/// `<key>` or `MIIE…` stops the count.
fn has_key_material(rest: &[u8]) -> bool {
    let rest = &rest[..rest.len().min(MAX_KEY_BYTES)];
    let mut seen = [false; 128];
    let (mut count, mut distinct) = (0usize, 0usize);
    for piece in rest.split(|&b| b == b'\n').flat_map(|line| line.split(|&b| b == b'\\')) {
        // A `\n` escape leaves its `n` (or `r`) at the start of the piece.
        let piece = piece.strip_prefix(b"n").or_else(|| piece.strip_prefix(b"r")).unwrap_or(piece);
        if piece.contains(&b':') {
            continue;
        }
        for word in piece.split(u8::is_ascii_whitespace) {
            let word = word.trim_ascii_end().trim_ascii_start();
            let word = word.strip_suffix(b",").unwrap_or(word);
            let word = word.strip_suffix(b"\"").unwrap_or(word).strip_prefix(b"\"").unwrap_or(word);
            if word.is_empty() {
                continue;
            }
            if word.starts_with(b"-----") || !word.iter().all(|&b| class::is(b, BASE64 | EQUALS)) {
                return false;
            }
            for &b in word {
                distinct += usize::from(!seen[usize::from(b & 0x7f)]);
                seen[usize::from(b & 0x7f)] = true;
            }
            count += word.len();
            if count >= MIN_KEY_CHARS && distinct >= 16 {
                return true;
            }
        }
    }
    false
}

/// Tokens without a prefix but with a marker at a fixed offset. Each opens
/// with a run of letters and digits whose length says which it could be,
/// and ordinary words are shorter than all of them.
fn marked(bytes: &[u8], start: usize, word_len: usize) -> Option<Found> {
    let has = |offset: usize, marker: &[u8]| bytes.get(start + offset..start + offset + marker.len()) == Some(marker);
    let all = |alphabet: u32, len: usize| class::run(bytes, start, alphabet, len) == len;
    let fresh = |len: usize| !placeholder::is_placeholder(&bytes[start..start + len]);
    let boundary = |offset: usize| !class::is(*bytes.get(start + offset).unwrap_or(&b' '), ALNUM);
    match word_len {
        // Microsoft Entra client secrets: three characters, a digit, `Q~`
        // and 31 to 34 more.
        5 if has(4, b"Q~") && bytes[start + 3].is_ascii_digit() => {
            let len = class::run(bytes, start, ALNUM | UNDERSCORE | DASH | DOT | TILDE, 41);
            let random = (37..=40).contains(&len) && fresh(len) && value::scrambled(&bytes[start + 6..start + len]);
            random.then_some(Found::Certain("a Microsoft Entra client secret"))
        }
        // DeepL: a UUID followed by `:fx` for the free API.
        8 if has(36, b":fx") && is_uuid(&bytes[start..start + 36]) && boundary(39) => {
            fresh(36).then_some(Found::Certain("a DeepL API key"))
        }
        // Mailchimp: 32 hex digits, `-us` and the data-centre number.
        32 if has(32, b"-us") && all(HEX, 32) && (1..=2).contains(&class::run(bytes, start + 35, DIGIT, 3)) => {
            fresh(32).then_some(Found::Certain("a Mailchimp API key"))
        }
        // New Relic license keys end in `NRAL` after 36 hex digits.
        40 if has(36, b"NRAL") && all(HEX_ANY, 36) => fresh(36).then_some(Found::Certain("a New Relic license key")),
        // Azure DevOps: 84 characters with the signature `AZDO` at 76.
        84 if has(76, b"AZDO") => fresh(76).then_some(Found::Certain("an Azure DevOps personal access token")),
        _ => None,
    }
}

/// `8-4-4-4-12` hexadecimal digits.
pub(super) fn is_uuid(candidate: &[u8]) -> bool {
    candidate.len() == 36
        && candidate.iter().enumerate().all(|(i, &b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => class::is(b, HEX_ANY),
        })
}
