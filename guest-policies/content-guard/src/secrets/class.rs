//! Byte classes: one table lookup says what kind of character a byte is, so
//! an alphabet is a bit mask and testing a byte against it is a single `&`.
//! The table is built at compile time; nothing here runs per call.

/// `a`–`f`.
pub(super) const LOWER_HEX: u32 = 1 << 0;
/// `g`–`z`.
pub(super) const LOWER_REST: u32 = 1 << 1;
/// `A`–`F`.
pub(super) const UPPER_HEX: u32 = 1 << 2;
/// `G`–`Z`.
pub(super) const UPPER_REST: u32 = 1 << 3;
/// `0`, `1`: split from the others because base32 (AWS key ids) lacks them.
pub(super) const DIGIT_01: u32 = 1 << 4;
/// `2`–`7`.
pub(super) const DIGIT_27: u32 = 1 << 5;
/// `8`, `9`.
pub(super) const DIGIT_89: u32 = 1 << 6;
pub(super) const UNDERSCORE: u32 = 1 << 7;
pub(super) const DASH: u32 = 1 << 8;
pub(super) const PLUS: u32 = 1 << 9;
pub(super) const SLASH: u32 = 1 << 10;
pub(super) const DOT: u32 = 1 << 11;
pub(super) const EQUALS: u32 = 1 << 12;
pub(super) const TILDE: u32 = 1 << 13;
pub(super) const PERCENT: u32 = 1 << 14;
/// Space, tab, carriage return, line feed.
pub(super) const SPACE: u32 = 1 << 15;
/// Every other printable ASCII symbol.
pub(super) const PUNCT: u32 = 1 << 16;
/// `,` `;` `&` `"` `'` `` ` `` `<` `)` `]` `}`: what ends an unquoted value.
pub(super) const SEPARATOR: u32 = 1 << 17;

pub(super) const DIGIT: u32 = DIGIT_01 | DIGIT_27 | DIGIT_89;
pub(super) const LOWER: u32 = LOWER_HEX | LOWER_REST;
pub(super) const UPPER: u32 = UPPER_HEX | UPPER_REST;
pub(super) const ALPHA: u32 = LOWER | UPPER;
pub(super) const ALNUM: u32 = ALPHA | DIGIT;
/// Lowercase hexadecimal.
pub(super) const HEX: u32 = DIGIT | LOWER_HEX;
/// Hexadecimal in either case.
pub(super) const HEX_ANY: u32 = HEX | UPPER_HEX;
pub(super) const LOWER_ALNUM: u32 = LOWER | DIGIT;
pub(super) const UPPER_ALNUM: u32 = UPPER | DIGIT;
/// RFC 4648 base32: `A`–`Z`, `2`–`7`.
pub(super) const BASE32: u32 = UPPER | DIGIT_27;
/// Letters, digits, `_` and `-`: base64url and most token bodies.
pub(super) const URLSAFE: u32 = ALNUM | UNDERSCORE | DASH;
/// Standard base64 without padding.
pub(super) const BASE64: u32 = ALNUM | PLUS | SLASH;
/// Characters that continue a name like `db_password` or `x-api-key`.
pub(super) const NAME: u32 = ALNUM | UNDERSCORE | DASH | DOT;
/// Any printable, non-space ASCII byte.
pub(super) const VISIBLE: u32 =
    ALNUM | UNDERSCORE | DASH | PLUS | SLASH | DOT | EQUALS | TILDE | PERCENT | PUNCT | SEPARATOR;

const fn build() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = match c {
            b'a'..=b'f' => LOWER_HEX,
            b'g'..=b'z' => LOWER_REST,
            b'A'..=b'F' => UPPER_HEX,
            b'G'..=b'Z' => UPPER_REST,
            b'0' | b'1' => DIGIT_01,
            b'2'..=b'7' => DIGIT_27,
            b'8' | b'9' => DIGIT_89,
            b'_' => UNDERSCORE,
            b'-' => DASH,
            b'+' => PLUS,
            b'/' => SLASH,
            b'.' => DOT,
            b'=' => EQUALS,
            b'~' => TILDE,
            b'%' => PERCENT,
            b' ' | b'\t' | b'\r' | b'\n' => SPACE,
            b',' | b';' | b'&' | b'"' | b'\'' | b'`' | b'<' | b')' | b']' | b'}' => SEPARATOR,
            b'!'..=b'~' => PUNCT,
            _ => 0,
        };
        b += 1;
    }
    table
}

static CLASS: [u32; 256] = build();

/// The class bits of `b`.
pub(super) fn of(b: u8) -> u32 {
    CLASS[usize::from(b)]
}

/// Whether `b` belongs to `alphabet`.
pub(super) fn is(b: u8, alphabet: u32) -> bool {
    of(b) & alphabet != 0
}

/// How many bytes of `alphabet` start at `from`, counting at most `max`.
pub(super) fn run(bytes: &[u8], from: usize, alphabet: u32, max: usize) -> usize {
    // A plain loop: this is the scan's inner loop, and the iterator chain
    // it replaces did not compile to one.
    let end = bytes.len().min(from.saturating_add(max));
    let mut at = from;
    while at < end && is(bytes[at], alphabet) {
        at += 1;
    }
    at.saturating_sub(from)
}

/// Whether `haystack` contains `needle`, ignoring ASCII case.
pub(super) fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|window| window.eq_ignore_ascii_case(needle))
}
