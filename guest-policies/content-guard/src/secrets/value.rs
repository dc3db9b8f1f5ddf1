//! Tests on a value found next to a credential name (`password = …`,
//! `"token": …`, "the password is …"): does it look like a real password or
//! a random token, or is it code, a type, a word or a reference to where
//! the secret is really kept?

use super::class::{self, ALNUM, DIGIT, LOWER, UNDERSCORE, UPPER};
use super::placeholder;

/// Longest value considered; longer runs are data, not a credential.
const MAX_VALUE: usize = 512;

/// Shortest random token reported on the strength of its shape alone.
pub(super) const MIN_TOKEN: usize = 16;

/// Shortest password reported.
pub(super) const MIN_PASSWORD: usize = 8;

/// What a value is made of.
struct Profile {
    len: usize,
    upper: bool,
    lower: bool,
    digit: bool,
    /// Punctuation other than `_`, `-` and `.`, which are as common in
    /// names and versions as in passwords.
    symbol: bool,
    space: bool,
    /// How often the kind of letter or digit (upper, lower, digit)
    /// changes from one to the next: random strings change often, words
    /// and identifiers rarely.
    transitions: usize,
    /// Shannon entropy in bits per character.
    entropy: f32,
}

impl Profile {
    fn of(value: &[u8]) -> Profile {
        let mut counts = [0u16; 256];
        let (mut upper, mut lower, mut digit, mut symbol, mut space) = (false, false, false, false, false);
        let mut transitions = 0;
        let mut last_kind = 0u8;
        for &b in value {
            counts[usize::from(b)] += 1;
            let kind = match b {
                b'A'..=b'Z' => 1,
                b'a'..=b'z' => 2,
                b'0'..=b'9' => 3,
                _ => 0,
            };
            upper |= kind == 1;
            lower |= kind == 2;
            digit |= kind == 3;
            symbol |= kind == 0 && !matches!(b, b'_' | b'-' | b'.') && b.is_ascii_punctuation();
            space |= b.is_ascii_whitespace() || !b.is_ascii();
            // Separators (`my-secret-value`) are not changes of kind.
            if kind != 0 {
                transitions += usize::from(last_kind != 0 && kind != last_kind);
                last_kind = kind;
            }
        }
        let len = value.len();
        let entropy = counts
            .iter()
            .filter(|&&count| count > 0)
            .map(|&count| {
                let p = f32::from(count) / len as f32;
                -p * p.log2()
            })
            .sum();
        Profile { len, upper, lower, digit, symbol, space, transitions, entropy }
    }

    fn classes(&self) -> usize {
        [self.upper, self.lower, self.digit, self.symbol].iter().filter(|&&has| has).count()
    }
}

/// A machine-generated token: long, mixing letters and digits, changing
/// character kind often, and with high entropy.
pub(super) fn random_like(value: &[u8]) -> bool {
    if !(MIN_TOKEN..=MAX_VALUE).contains(&value.len()) || placeholder::is_placeholder(value) {
        return false;
    }
    let profile = Profile::of(value);
    // Random hex of 32 digits carries about 3.7 bits a character, random
    // base62 of 16 about 3.8; words and identifiers stay lower.
    let floor = if profile.len < 32 { 3.0 } else { 3.3 };
    !profile.space
        && (profile.upper || profile.lower)
        && profile.digit
        && profile.transitions * 6 >= profile.len
        && profile.entropy >= floor
}

/// A token body that looks machine-made: letters and digits, changing
/// kind often, with the entropy of random text. For bodies after a prefix
/// that is short or a common word (`sk-`, `secret_`, `cio`).
pub(super) fn scrambled(body: &[u8]) -> bool {
    let profile = Profile::of(body);
    profile.digit
        && (profile.upper || profile.lower)
        && profile.transitions * 6 >= profile.len
        && profile.entropy >= 3.0
}

/// A body of letters only that is still random: upper and lower case
/// mixed densely (`pfVSueyUVIvZ`). `CamelCaseWords` change case about once
/// a word and fail.
pub(super) fn scrambled_letters(body: &[u8]) -> bool {
    let profile = Profile::of(body);
    profile.upper && profile.lower && profile.transitions * 4 >= profile.len && profile.entropy >= 3.0
}

/// Whether `body` has uppercase letters, lowercase letters and digits.
pub(super) fn mixed_case(body: &[u8]) -> bool {
    let profile = Profile::of(body);
    profile.upper && profile.lower && profile.digit
}

/// A password someone typed. `strict` is for prose, where anything can
/// follow "is": it then needs three kinds of character (`Tr0ub4dor&3`). In
/// an assignment two do, as long as one is a digit or a symbol
/// (`Summer2024`, `Zk29vQ8rTm4xLp`), so identifiers like `UserPassword`
/// stay out.
pub(super) fn password_like(value: &[u8], strict: bool) -> bool {
    if !(MIN_PASSWORD..=MAX_VALUE).contains(&value.len()) || placeholder::is_placeholder(value) {
        return false;
    }
    let profile = Profile::of(value);
    if profile.space || !(profile.upper || profile.lower) {
        return false;
    }
    match strict {
        true => profile.classes() >= 3 || (profile.classes() == 2 && profile.digit && profile.transitions >= 4),
        false => profile.classes() >= 2 && (profile.digit || profile.symbol),
    }
}

/// A value that names where a secret lives instead of holding it: a
/// secret-manager reference (`vault:…`, `op://…`, `arn:aws:…`) and, when
/// unquoted, a call, an index, a dotted path without digits
/// (`process.env.TOKEN`, `settings.SECRET_KEY`), a YAML tag or alias.
pub(super) fn is_reference(value: &[u8], quoted: bool) -> bool {
    const SCHEMES: &[&[u8]] = &[
        b"vault:",
        b"secretref",
        b"ref+",
        b"arn:aws:",
        b"sm://",
        b"op://",
        b"env:",
        b"file:",
        b"ssm:",
        b"awssm:",
        b"k8s:",
        b"keyvault:",
        b"@microsoft.keyvault",
        b"enc[",
        b"secret://",
    ];
    if SCHEMES.iter().any(|scheme| value.len() >= scheme.len() && value[..scheme.len()].eq_ignore_ascii_case(scheme)) {
        return true;
    }
    let first = value.first().copied().unwrap_or_default();
    let dotted_path = value.contains(&b'.')
        && value.split(|&b| b == b'.').all(|segment| {
            segment.first().is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
                && segment.iter().all(|&b| class::is(b, ALNUM | UNDERSCORE) && !b.is_ascii_digit())
        });
    !quoted
        && (matches!(first, b'!' | b'&' | b'*' | b'@')
            || value.iter().any(|&b| matches!(b, b'(' | b'['))
            || dotted_path)
}

/// An identifier as code would use it (`db_pass`, `userPassword2`): a
/// bare, unquoted value after `=` in code is a variable, unless it changes
/// character kind as often as a random string does.
pub(super) fn is_identifier(value: &[u8]) -> bool {
    let starts = value.first().is_some_and(|&b| class::is(b, LOWER | UPPER | UNDERSCORE));
    starts
        && value.iter().all(|&b| class::is(b, ALNUM | UNDERSCORE))
        && (value.contains(&b'_') || Profile::of(value).transitions < 4)
}

/// Whether a name is written the way environment variables are
/// (`DB_PASSWORD`): its value is then a literal even when unquoted.
pub(super) fn is_env_style(name: &[u8]) -> bool {
    name.iter().any(u8::is_ascii_uppercase) && name.iter().all(|&b| class::is(b, UPPER | DIGIT | UNDERSCORE))
}

/// Keys their vendors publish by design: Stripe and Mapbox publishable
/// keys, Supabase publishable keys, Square application ids.
pub(super) fn is_public(value: &[u8]) -> bool {
    const PUBLIC: &[&[u8]] = &[b"pk_live_", b"pk_test_", b"pk.", b"sb_publishable_", b"sq0idp-"];
    PUBLIC.iter().any(|prefix| value.starts_with(prefix))
}
