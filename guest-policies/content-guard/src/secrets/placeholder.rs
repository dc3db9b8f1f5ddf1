//! The placeholder filter every rule applies before it reports: values that
//! have a credential's place or shape but are templates (`${TOKEN}`,
//! `{{ pw }}`, `<token>`), fillers (`xxxx`, `****`, `abcdef…`, `your-key`),
//! or keys vendors print in their own documentation. A memory may explain
//! how a token is configured; it may not hold one.

/// Substrings that mark a value as made up, matched ignoring case. Short
/// ones are rare by chance: four given letters turn up in about one random
/// 100-character token in ten thousand.
const FILLERS: &[&[u8]] = &[
    b"example",
    b"sample",
    b"dummy",
    b"fake",
    b"placeholder",
    b"redacted",
    b"changeme",
    b"change_me",
    b"change-me",
    b"your_",
    b"your-",
    b"yourkey",
    b"yourtoken",
    b"yoursecret",
    b"yourpass",
    b"yourapi",
    b"insert",
    b"replace",
    b"test123",
    b"lorem",
    b"foobar",
    b"todo",
    b"_here",
    b"-here",
    b"mytoken",
    b"my_token",
    b"my-token",
    b"mysecret",
    b"my_secret",
    b"mypassword",
    b"my_password",
    b"notreal",
    b"not_real",
    b"not-real",
    b"qwerty",
    b"asdfgh",
    b"zxcvbn",
];

/// Whole values that stand for a credential rather than being one, matched
/// ignoring case (default credentials included: they are public).
const STAND_INS: &[&[u8]] = &[
    b"password",
    b"passwd",
    b"pass",
    b"pwd",
    b"pw",
    b"secret",
    b"token",
    b"key",
    b"apikey",
    b"api_key",
    b"xxx",
    b"none",
    b"null",
    b"nil",
    b"empty",
    b"hidden",
    b"masked",
    b"test",
    b"default",
    b"user",
    b"username",
    b"admin",
    b"root",
    b"guest",
    b"postgres",
    b"mysql",
    b"letmein",
    b"foo",
    b"bar",
    b"baz",
    b"abc",
    b"abc123",
    b"password1",
    b"password123",
    b"passw0rd",
    b"p@ssw0rd",
    b"p@ssword",
    b"secret123",
    b"pass123",
    b"admin123",
    b"changeit",
    b"welcome1",
    b"12345678",
    b"123456789",
    b"1234567890",
];

/// Credentials vendors publish as examples in their own documentation, and
/// public test vectors. They are inert, and common in notes.
const DOCUMENTED: &[&[u8]] = &[
    // AWS: the access key pair used throughout the AWS documentation.
    b"AKIAIOSFODNN7EXAMPLE",
    b"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    // Stripe: the sample test keys its API reference embeds.
    b"sk_test_4eC39HqLyjWDarjtT1zdp7dc",
    b"sk_test_BQokikJOvBiI2HlWgH4olfQ2",
    // jwt.io: the signature of the example token on its front page.
    b"SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    // Dynatrace: the token in its "token format" documentation.
    b"dt0s01.ST2EY72KQINMH574WMNVI7YN.G3DFPBEJYMODIDAEX454M7YWBUVEFOWKPRVMWFASS64NFH52PX6BNDVFFM572RZM",
    // Heroku: the token in its Platform API quickstart.
    b"cf0e05d9-4eca-4948-a012-b91fe9704bab",
    // age: identities from the age test kit.
    b"AGE-SECRET-KEY-1XMWWC06LY3EE5RYTXM9MFLAZ2U56JJJ36S0MYPDRWSVLUL66MV4QX3S7F6",
    b"AGE-SECRET-KEY-1EGTZVFFV20835NWYV6270LXYVK2VKNX2MMDKWYKLMGR48UAWX40Q2P2LM0",
    // RFC 7617: `Aladdin:open sesame` as an HTTP Basic credential.
    b"QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
];

/// A run this long of a filler character (`0000`, `xxxx`, `****`) marks a
/// made-up value; four zeros turn up in about one random 64-digit hex
/// string in a thousand.
const FILLER_RUN: usize = 4;

/// A run this long of any one character is not randomness either: even in
/// hex it turns up by chance in about one 64-digit string in twenty
/// thousand.
const REPEAT_RUN: usize = 6;

/// Consecutive ascending or descending characters (`abcdef`, `123456`,
/// `987654`) that mark a typed-in value.
const SEQUENCE_RUN: usize = 6;

/// Whether `value` is a template, a filler or a stand-in rather than a
/// credential. Applied to a token's body (after its prefix) and to assigned
/// values alike.
pub(super) fn is_placeholder(value: &[u8]) -> bool {
    templated(value)
        || STAND_INS.iter().any(|word| value.eq_ignore_ascii_case(word))
        || low_variety(value)
        || sequential(value)
        || has_filler(value)
        || is_documented(value)
}

/// By byte, the [`FILLERS`] starting with it in either case (bit `i` for
/// `FILLERS[i]`): most positions of a value are passed over after one
/// lookup, and the rest compare only their own fillers, not every one
/// (issue 11: the scan over the whole list was most of this check).
static FILLERS_BY_START: [u64; 256] = {
    assert!(FILLERS.len() <= 64, "one bit per filler");
    let mut starts = [0u64; 256];
    let mut i = 0;
    while i < FILLERS.len() {
        let first = FILLERS[i][0];
        starts[first.to_ascii_lowercase() as usize] |= 1 << i;
        starts[first.to_ascii_uppercase() as usize] |= 1 << i;
        i += 1;
    }
    starts
};

/// Whether one of the [`FILLERS`] occurs in `value`, ignoring case.
fn has_filler(value: &[u8]) -> bool {
    (0..value.len()).any(|at| {
        let mut candidates = FILLERS_BY_START[usize::from(value[at])];
        while candidates != 0 {
            let word = FILLERS[candidates.trailing_zeros() as usize];
            if value.len() - at >= word.len() && value[at..at + word.len()].eq_ignore_ascii_case(word) {
                return true;
            }
            candidates &= candidates - 1;
        }
        false
    })
}

/// Whether `token` is, or contains, a credential vendors document as an
/// example.
pub(super) fn is_documented(token: &[u8]) -> bool {
    // The first byte compared inline before the whole window: the window
    // comparison is a `memcmp` call, made otherwise at every offset for
    // every example (issue 11).
    DOCUMENTED
        .iter()
        .any(|example| token.windows(example.len()).any(|window| window[0] == example[0] && window == *example))
}

/// `${VAR}`, `$(cmd)`, `$VAR`, `%VAR%`, `{{ var }}`, `%(var)s`, `%s`,
/// `<token>`, `[REDACTED]`: the value is filled in elsewhere. A `%` inside
/// a password (`Kr%_PGk…`) is just a character.
fn templated(value: &[u8]) -> bool {
    let first = value.first().copied().unwrap_or_default();
    let sigil =
        first == b'$' && value.get(1).is_some_and(|&b| b.is_ascii_alphabetic() || matches!(b, b'_' | b'{' | b'('));
    let format = matches!(value, b"%s" | b"%d" | b"%v" | b"%r") || (first == b'%' && value.last() == Some(&b'%'));
    sigil
        || format
        || (first == b'[' && value.last() == Some(&b']'))
        || value.iter().any(|&b| matches!(b, b'<' | b'>' | b'{' | b'}'))
        || value.windows(2).any(|pair| matches!(pair, b"${" | b"$(" | b"%("))
}

/// One character filling most of the value, a run of filler, or a stretch
/// of characters repeated (`abcabcabc`).
fn low_variety(value: &[u8]) -> bool {
    let mut counts = [0u8; 256];
    let mut distinct = 0usize;
    let mut most = 0u8;
    for &b in value {
        let count = &mut counts[usize::from(b)];
        distinct += usize::from(*count == 0);
        *count = count.saturating_add(1);
        most = most.max(*count);
    }
    let filler_run = value.chunk_by(|a, b| a == b).any(|run| {
        run.len() >= REPEAT_RUN
            || (run.len() >= FILLER_RUN && matches!(run[0], b'x' | b'X' | b'*' | b'.' | b'#' | b'0'))
    });
    // `abcabcabc`, `deadbeefdeadbeef`: random text never repeats itself.
    let periodic = || {
        (1..=value.len() / 2).any(|period| value[period..].iter().zip(value).all(|(later, earlier)| later == earlier))
    };
    (value.len() >= 6 && usize::from(most) * 10 >= value.len() * 6)
        || (value.len() >= 12 && distinct <= 4)
        || filler_run
        || periodic()
}

/// A run of characters counting up or down by one: `abcdef`, `123456`.
fn sequential(value: &[u8]) -> bool {
    let up = value.chunk_by(|a, b| a.wrapping_add(1) == *b).any(|run| run.len() >= SEQUENCE_RUN);
    let down = value.chunk_by(|a, b| b.wrapping_add(1) == *a).any(|run| run.len() >= SEQUENCE_RUN);
    up || down
}
