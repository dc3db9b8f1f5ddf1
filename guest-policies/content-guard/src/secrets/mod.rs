//! Secret detection: finds the first credential in a text and names its
//! kind ("a Stripe live secret key"), never its value. Read [`find`] first.
//!
//! One pass over the text, a word at a time. At each word start the
//! [`catalogue`] of prefixed formats is consulted for the words that could
//! begin one (an index on the first two bytes), then the prefix-less
//! [`shapes`] (JSON web tokens, private-key blocks, bot tokens). At each
//! `=` and `:` (and the `,` of `define('NAME', …)`, the `>` of `<name>`)
//! the [`assignment`] rules look for a credential name before it and a
//! value after it ([`vendor`] names with their exact value shapes first),
//! and `://` goes to [`connection`]. Sentences are read by [`prose`],
//! headers and command lines by [`command`]. Every rule passes what
//! it found through the [`placeholder`] filter, so templates, fillers and
//! vendors' documentation examples are not reported.
//!
//! There is no regex engine and nothing is built per call: the instance is
//! fresh for every evaluation, so tables are `static` and indexed at
//! compile time.
//!
//! Does not: decode or unpack content (base64 blobs, archives), verify a
//! credential with its provider, or look at more than one text at a time.

mod assignment;
mod catalogue;
pub(crate) mod checksum;
mod class;
mod command;
mod connection;
mod formats;
mod placeholder;
mod prose;
mod shapes;
mod value;
mod vendor;

#[cfg(test)]
mod tests;

use class::{ALNUM, SPACE, UNDERSCORE};

/// What a rule found.
#[derive(Clone, Copy)]
enum Found {
    /// A format recognised by prefix, structure and checks: reported at
    /// once.
    Certain(&'static str),
    /// Recognised from context (a name, a header, a sentence) or with a
    /// failed checksum: reported if nothing certain turns up later, so a
    /// catalogued token assigned to `API_KEY=` is still named precisely.
    Likely(&'static str),
}

/// Names the first credential in `text`, preferring one recognised by its
/// format over one recognised by its context.
pub(crate) fn find(text: &str) -> Option<&'static str> {
    let bytes = text.as_bytes();
    let mut likely = None;
    let mut at = 0;
    while at < bytes.len() {
        let this = class::of(bytes[at]);
        let mut next = at + 1;
        let found = if this & (ALNUM | UNDERSCORE) != 0 {
            // INVARIANT: `at` follows a byte that is not a letter, a digit or
            // `_`, because whole words are stepped over: it starts a word.
            let letters = class::run(bytes, at, ALNUM, usize::MAX);
            next = at + letters + class::run(bytes, at + letters, ALNUM | UNDERSCORE, usize::MAX);
            match letters {
                0 => None,
                _ => word_start(bytes, at, letters, likely.is_none()),
            }
        } else {
            match bytes[at] {
                b'=' | b':' | b',' | b'>' => assignment::at_operator(bytes, at),
                b'-' if at == 0 || class::is(bytes[at - 1], SPACE) => command::at_dash(bytes, at),
                _ => None,
            }
        };
        match found {
            Some(Found::Certain(kind)) => return Some(kind),
            Some(Found::Likely(kind)) => likely = likely.or(Some(kind)),
            None => {}
        }
        at = next;
    }
    likely
}

/// What starts at the word start `start`, whose letters and digits run for
/// `len` bytes. The rules that read prose ("the password is …", "Bearer
/// …") only run until something likely was found.
// Kept out of line, like the operator rules: inlined, their state made the
// byte loop in `find` several times slower.
#[inline(never)]
fn word_start(bytes: &[u8], start: usize, len: usize, want_likely: bool) -> Option<Found> {
    let found = catalogue::at(bytes, start).or_else(|| shapes::at(bytes, start, len));
    if found.is_some() || !want_likely {
        return found;
    }
    match len {
        2..=3 => prose::at_connector(bytes, start, start + len),
        5 | 6 | 8 | 10 => command::at_word(bytes, start, len).or_else(|| prose::at_word(bytes, start, len)),
        _ => None,
    }
}
