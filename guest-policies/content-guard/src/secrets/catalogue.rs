//! Matching credential formats that carry a documented prefix: each
//! format (listed in `formats`) is the prefix, the structure after it
//! (runs of an alphabet with exact or bounded lengths, and literal
//! separators) and an extra check — a checksum, a randomness test for
//! short or word-like prefixes, or a nearby vendor name. The list is
//! indexed by its first two bytes at compile time, so a fresh instance
//! pays nothing to build anything. Read [`at`] first.

use super::class::{self, ALNUM, HEX};
use super::formats::CATALOGUE;
use super::{Found, checksum, placeholder, value};

/// One piece of a token's structure after its prefix.
#[derive(Clone, Copy)]
pub(super) enum Part {
    /// Between `min` and `max` bytes of `alphabet`, taken greedily.
    Run { alphabet: u32, min: u16, max: u16 },
    /// Exactly these bytes.
    Lit(&'static [u8]),
}

/// What must hold beyond the structure.
#[derive(Clone, Copy)]
pub(super) enum Check {
    /// The prefix and structure are enough.
    Shape,
    /// The prefix is short or a common word: the body must also look
    /// machine-made (letters and digits, changing often).
    Random,
    /// Like `Random`, for bodies of letters only: both cases, densely mixed.
    Letters,
    /// GitHub classic and npm tokens: the last six characters are the
    /// base62 CRC32 of the thirty before. A token that fails it is reported
    /// as this lower-confidence kind when it otherwise looks real.
    Crc32(&'static str),
    /// The whole token is bech32 with a valid checksum (age).
    Bech32,
    /// One of these words, ignoring case, within [`NEAR_BYTES`] before the
    /// token: the shape alone is too common.
    Near(&'static [&'static [u8]]),
    /// An auth token (32 hex digits) follows within
    /// [`AUTH_TOKEN_BYTES`]: a Twilio account SID alone is an identifier,
    /// with its token a login.
    ThenHex32,
}

/// A credential format.
pub(super) struct Format {
    /// What the message calls it: "a Stripe live secret key".
    pub(super) kind: &'static str,
    pub(super) prefix: &'static [u8],
    pub(super) body: &'static [Part],
    pub(super) check: Check,
}

/// How far before a token [`Check::Near`] looks for its vendor's name.
const NEAR_BYTES: usize = 120;

/// How far after a Twilio account SID [`Check::ThenHex32`] looks for its
/// auth token (`AC…, auth token 3a87…`).
const AUTH_TOKEN_BYTES: usize = 48;

/// Catalogue positions sorted by the first two bytes of their prefix
/// (keeping table order among equals), so a word is compared only with the
/// entries that start like it.
struct Index {
    order: [u16; CATALOGUE.len()],
    /// The second prefix byte of each entry in `order`.
    seconds: [u8; CATALOGUE.len()],
    /// The first four bytes of each prefix in `order`, little-endian, and
    /// the mask of the bytes it has: one integer comparison rejects most
    /// candidates before a slice comparison.
    heads: [(u32, u32); CATALOGUE.len()],
    /// Entries starting with byte `b` are `order[start[b]..start[b + 1]]`.
    start: [u16; 257],
    /// Bit `c` of `pairs[b]` is set when some prefix starts with `b`, `c`:
    /// most words (`the`, `st…`) are dismissed by one bit test.
    pairs: [[u64; 4]; 256],
}

const fn build_index() -> Index {
    let mut start = [0u16; 257];
    let mut i = 0;
    while i < CATALOGUE.len() {
        // INVARIANT: prefixes have two bytes at least; `pairs` indexes the second.
        assert!(CATALOGUE[i].prefix.len() >= 2);
        start[CATALOGUE[i].prefix[0] as usize + 1] += 1;
        i += 1;
    }
    let mut b = 0;
    while b < 256 {
        start[b + 1] += start[b];
        b += 1;
    }
    // Counting sort on the first byte, then a stable insertion sort on the
    // second within each first byte.
    let mut next = start;
    let mut order = [0u16; CATALOGUE.len()];
    i = 0;
    while i < CATALOGUE.len() {
        let first = CATALOGUE[i].prefix[0] as usize;
        order[next[first] as usize] = i as u16;
        next[first] += 1;
        i += 1;
    }
    b = 0;
    while b < 256 {
        let (low, high) = (start[b] as usize, start[b + 1] as usize);
        let mut k = low + 1;
        while k < high {
            let mut j = k;
            while j > low && CATALOGUE[order[j - 1] as usize].prefix[1] > CATALOGUE[order[j] as usize].prefix[1] {
                let swap = order[j];
                order[j] = order[j - 1];
                order[j - 1] = swap;
                j -= 1;
            }
            k += 1;
        }
        b += 1;
    }
    let mut seconds = [0u8; CATALOGUE.len()];
    let mut heads = [(0u32, 0u32); CATALOGUE.len()];
    let mut pairs = [[0u64; 4]; 256];
    let mut slot = 0;
    while slot < CATALOGUE.len() {
        let prefix = CATALOGUE[order[slot] as usize].prefix;
        seconds[slot] = prefix[1];
        let (mut head, mut mask, mut k) = (0u32, 0u32, 0);
        while k < 4 && k < prefix.len() {
            head |= (prefix[k] as u32) << (8 * k);
            mask |= 0xff << (8 * k);
            k += 1;
        }
        heads[slot] = (head, mask);
        pairs[prefix[0] as usize][prefix[1] as usize / 64] |= 1 << (prefix[1] as usize % 64);
        slot += 1;
    }
    Index { order, seconds, heads, start, pairs }
}

static INDEX: Index = build_index();

/// The catalogued credential starting at `start` (a word start), if any.
pub(super) fn at(bytes: &[u8], start: usize) -> Option<Found> {
    let first = usize::from(bytes[start]);
    let second = *bytes.get(start + 1)?;
    if INDEX.pairs[first][usize::from(second) / 64] & (1 << (second % 64)) == 0 {
        return None;
    }
    let bucket = usize::from(INDEX.start[first])..usize::from(INDEX.start[first + 1]);
    let seconds = &INDEX.seconds[bucket.clone()];
    let low = bucket.start + seconds.partition_point(|&s| s < second);
    let high = bucket.start + seconds.partition_point(|&s| s <= second);
    let rest = &bytes[start..];
    let word = rest.iter().take(4).enumerate().fold(0u32, |word, (k, &b)| word | u32::from(b) << (8 * k));
    (low..high).find_map(|slot| {
        let (head, mask) = INDEX.heads[slot];
        let format = &CATALOGUE[usize::from(INDEX.order[slot])];
        if word & mask != head || !rest.starts_with(format.prefix) {
            return None;
        }
        let body_start = start + format.prefix.len();
        let end = structure_end(bytes, body_start, format.body)?;
        judge(format, bytes, start, body_start, end)
    })
}

/// Where `body` ends when it matches at `from`, ending on a token boundary.
fn structure_end(bytes: &[u8], from: usize, body: &[Part]) -> Option<usize> {
    let mut at = from;
    let mut last = ALNUM;
    for part in body {
        match *part {
            Part::Lit(expected) => {
                if !bytes.get(at..)?.starts_with(expected) {
                    return None;
                }
                at += expected.len();
                last = ALNUM;
            }
            Part::Run { alphabet, min, max } => {
                let len = class::run(bytes, at, alphabet, usize::from(max));
                if len < usize::from(min) {
                    return None;
                }
                at += len;
                last = alphabet | ALNUM;
            }
        }
    }
    // A longer run of the same characters is a different, longer token.
    match bytes.get(at) {
        Some(&next) if class::is(next, last) => None,
        _ => Some(at),
    }
}

/// What a token matching `format`'s structure at `start..end` is, once
/// the placeholder filter and the format's own check have had their say.
fn judge(format: &Format, bytes: &[u8], start: usize, body_start: usize, end: usize) -> Option<Found> {
    let token = &bytes[start..end];
    let body = &bytes[body_start..end];
    if placeholder::is_placeholder(body) || placeholder::is_documented(token) {
        return None;
    }
    let certain = match format.check {
        Check::Shape => true,
        Check::Random => value::scrambled(body),
        Check::Letters => value::scrambled_letters(body),
        Check::Crc32(miss) => {
            if checksum::base62_crc_ok(body) {
                true
            } else {
                // A mistyped copy of a real token still leaks most of it; a
                // made-up one rarely mixes upper, lower and digits throughout.
                return (value::scrambled(body) && value::mixed_case(body)).then_some(Found::Likely(miss));
            }
        }
        Check::Bech32 => checksum::bech32_ok(token),
        Check::Near(words) => {
            let window = &bytes[start.saturating_sub(NEAR_BYTES)..start];
            words.iter().any(|word| class::contains_ignore_case(window, word))
        }
        Check::ThenHex32 => {
            let window = &bytes[end..bytes.len().min(end + AUTH_TOKEN_BYTES)];
            (1..window.len()).any(|offset| {
                let at = end + offset;
                !class::is(bytes[at - 1], ALNUM)
                    && class::run(bytes, at, HEX, 33) == 32
                    && !class::is(*bytes.get(at + 32).unwrap_or(&b' '), ALNUM)
                    && !placeholder::is_placeholder(&bytes[at..at + 32])
            })
        }
    };
    certain.then_some(Found::Certain(format.kind))
}
