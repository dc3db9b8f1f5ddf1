//! Turns text into the words the injection layers compare, undoing the
//! disguises that keep a phrase from matching: case, fullwidth forms,
//! Cyrillic and Greek look-alikes inside Latin words, accents, leetspeak,
//! zero-width characters inside words, and letters spread out with spaces
//! or dots (`i g n o r e`, `i.g.n.o.r.e`).
//!
//! The result is a flat list of words in which an empty string marks the end
//! of a sentence, so that the layers' word windows do not reach across
//! sentences.

use super::lexicon;

/// The folded words of a text: every word written back to back into one
/// buffer, and each word's range in it. One buffer instead of a `String`
/// per word (issue 11): a word is then a slice, and a run of words is the
/// slice from the first's start to the last's end.
#[derive(Debug, Default)]
pub(crate) struct Folded {
    text: String,
    /// INVARIANT: each span starts where the one before it ends, so the
    /// spans cover `text` in order; an empty span marks a sentence end.
    spans: Vec<(usize, usize)>,
}

impl Folded {
    /// The words, `""` marking a sentence boundary.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        self.spans.iter().map(|&(start, end)| &self.text[start..end])
    }

    /// Whether any word holds an `@` (an e-mail address keeps it through
    /// folding): one search of the buffer, so that most texts skip looking
    /// word by word (issue 10).
    pub(crate) fn has_at_sign(&self) -> bool {
        self.text.as_bytes().contains(&b'@')
    }

    /// Appends a word made of `chars` (a transformed copy of another word).
    pub(crate) fn push(&mut self, chars: impl Iterator<Item = char>) {
        let start = self.text.len();
        self.text.extend(chars);
        self.spans.push((start, self.text.len()));
    }
}

/// Folded words of `text`; `""` marks a sentence boundary.
pub(crate) fn words(text: &str) -> Folded {
    let mut out = String::with_capacity(text.len());
    let mut spans = Vec::with_capacity(text.len() / 5);
    let mut scratch = String::new();
    let mut start = 0;
    let mut mixed = WordScripts::default();
    let bytes = text.as_bytes();
    let mut previous = ' ';
    let mut at = 0;
    while at < bytes.len() {
        let b = bytes[at];
        if b.is_ascii_alphanumeric() {
            // The common case, taken first: a run of ASCII letters and
            // digits, copied at once.
            let (run, seen) = alphanumeric_run(bytes, at);
            let slice = &text[at..at + run];
            mixed.latin |= seen & ALPHA != 0;
            let copied = out.len();
            out.push_str(slice);
            if seen & UPPER != 0 {
                // Lowercased now, while in cache: `finish` would fold
                // these bytes to the same letters. Most runs have no
                // capital, and skip this.
                out[copied..].make_ascii_lowercase();
            }
            previous = char::from(bytes[at + run - 1]);
            at += run;
            if bytes.get(at) == Some(&b' ') && !(mixed.non_ascii || mixed.apostrophe || mixed.hyphen) {
                // The most common end of a word: what `finish` and the
                // space and punctuation case below do, without their
                // tests (issue 10).
                spans.push((start, out.len()));
                mixed = WordScripts::default();
                start = out.len();
                previous = ' ';
                at += 1;
            }
            continue;
        }
        let c = if b.is_ascii() { char::from(b) } else { text[at..].chars().next().unwrap_or(' ') };
        at += c.len_utf8();
        let next = || text[at..].chars().next().unwrap_or(' ');
        if b.is_ascii() && !matches!(b, b'\'' | b'@' | b'$' | b'!' | b'|' | b'-') {
            // Space and punctuation, the next most common case: no ASCII
            // one is dropped, a letter or a mark, or joins a word; the
            // general path below would answer the same, test by test.
            finish(&mut out, &mut spans, start, &mut mixed, &mut scratch);
            let ends_sentence = matches!(b, b'\n' | b'?') || (b == b'.' && !next().is_alphanumeric());
            if ends_sentence && spans.last().is_some_and(|&(s, e)| e > s) {
                spans.push((out.len(), out.len()));
            }
            start = out.len();
            previous = c;
            continue;
        }
        if is_dropped_inside_word(c) {
            continue;
        }
        // Hyphens inside a word vanish too: "dis-re-gard" is "disregard".
        let joins = matches!(c, '\'' | '’' | '@' | '$' | '!' | '|' | '-')
            && previous.is_alphanumeric()
            && next().is_alphanumeric();
        if c.is_alphanumeric() || is_inside_word_mark(c) || joins {
            mixed.apostrophe |= c == '\'';
            mixed.hyphen |= c == '-';
            mixed.note(c);
            mixed.non_ascii |= !c.is_ascii();
            out.push(c);
        } else {
            finish(&mut out, &mut spans, start, &mut mixed, &mut scratch);
            let ends_sentence = matches!(c, '\n' | '!' | '?' | '。' | '！' | '？' | '؟' | '।')
                || (c == '.' && !next().is_alphanumeric());
            if ends_sentence && spans.last().is_some_and(|&(s, e)| e > s) {
                spans.push((out.len(), out.len()));
            }
            start = out.len();
        }
        previous = c;
    }
    finish(&mut out, &mut spans, start, &mut mixed, &mut scratch);
    // Most texts have no single letters and no long words, and nothing to
    // join or split: the spans are then kept as they are (issue 10).
    let spans = if spans.iter().any(|&(start, end)| end - start == 1 || end - start >= MIN_GLUED_BYTES) {
        join_spread_letters(&out, spans)
    } else {
        spans
    };
    Folded { text: out, spans }
}

/// [`ASCII_CLASS`] bits.
const ALPHANUMERIC: u8 = 1;
const ALPHA: u8 = 2;
const UPPER: u8 = 4;

/// For each byte, whether it is an ASCII letter or digit, a letter, a
/// capital: one load instead of the range tests, which the guest (no
/// SIMD) pays for byte by byte (issue 10).
static ASCII_CLASS: [u8; 256] = {
    let mut table = [0; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = match b as u8 {
            b'0'..=b'9' => ALPHANUMERIC,
            b'a'..=b'z' => ALPHANUMERIC | ALPHA,
            b'A'..=b'Z' => ALPHANUMERIC | ALPHA | UPPER,
            _ => 0,
        };
        b += 1;
    }
    table
};

/// How many ASCII letters and digits start at `from`, and the union of
/// their [`ASCII_CLASS`] bits.
pub(crate) fn alphanumeric_run(bytes: &[u8], from: usize) -> (usize, u8) {
    let mut seen = 0;
    let mut end = from;
    while let Some(&b) = bytes.get(end) {
        let class = ASCII_CLASS[usize::from(b)];
        if class & ALPHANUMERIC == 0 {
            break;
        }
        seen |= class;
        end += 1;
    }
    (end - from, seen)
}

/// Which scripts a word mixes: look-alike folding applies only to words
/// that mix Latin with Cyrillic or Greek, so Russian stays Russian.
#[derive(Default)]
struct WordScripts {
    latin: bool,
    lookalike: bool,
    non_ascii: bool,
    /// Whether the word holds an ASCII apostrophe or a hyphen, noted as
    /// they are joined so `finish` need not search for them.
    apostrophe: bool,
    hyphen: bool,
}

impl WordScripts {
    fn note(&mut self, c: char) {
        self.latin |= c.is_ascii_alphabetic() || ('\u{FF21}'..='\u{FF5A}').contains(&c);
        self.lookalike |= ('\u{0370}'..='\u{04FF}').contains(&c);
    }
}

/// Folds the word `out[start..]` in place and records it.
fn finish(
    out: &mut String,
    spans: &mut Vec<(usize, usize)>,
    start: usize,
    scripts: &mut WordScripts,
    scratch: &mut String,
) {
    if out.len() == start {
        return;
    }
    // ASCII letters and digits were lowercased as they were copied.
    if scripts.non_ascii || scripts.apostrophe {
        let fold_lookalikes = scripts.latin && scripts.lookalike;
        scratch.clear();
        scratch.push_str(&out[start..]);
        out.truncate(start);
        for c in scratch.chars() {
            if matches!(c, '\'' | '’') {
                continue; // "don't" and "dont" are one word
            }
            match fold_char(c, fold_lookalikes) {
                Some(latin) => out.push(latin),
                None => out.extend(c.to_lowercase()),
            }
        }
    }
    if scripts.hyphen {
        push_hyphenated(out, spans, start);
    } else {
        spans.push((start, out.len()));
    }
    *scripts = WordScripts::default();
}

/// Combining marks and the viramas, vowel signs and harakat of Indic and
/// Arabic script are part of the word they sit in.
fn is_inside_word_mark(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{0483}'..='\u{0489}'
        | '\u{0591}'..='\u{05C7}'
        | '\u{064B}'..='\u{065F}'
        | '\u{0670}'
        | '\u{06D6}'..='\u{06ED}'
        | '\u{0900}'..='\u{0DFF}'
        | '\u{0E31}'..='\u{0E4E}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{FE20}'..='\u{FE2F}')
}

/// A hyphenated word: split at its hyphens ("security-scan" is two words)
/// unless it looks like one word cut up to hide it ("dis-re-gard",
/// "in-struc-tions", "up-load"): three or more pieces, or a piece of one or
/// two letters.
fn push_hyphenated(out: &mut String, spans: &mut Vec<(usize, usize)>, start: usize) {
    let folded = out.split_off(start);
    let pieces = folded.split('-');
    let glue = pieces.clone().count() >= 3 || pieces.clone().any(|piece| piece.chars().count() <= 2);
    for piece in pieces {
        let piece_start = out.len();
        out.push_str(piece);
        if !glue {
            spans.push((piece_start, out.len()));
        }
    }
    if glue {
        spans.push((start, out.len()));
    }
}

/// Zero-width and soft-hyphen characters vanish inside a word: they are
/// how a phrase is split without a reader seeing it.
fn is_dropped_inside_word(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{034F}')
}

/// The ASCII letter `c` stands for, if it stands for one.
fn fold_char(c: char, fold_lookalikes: bool) -> Option<char> {
    if c.is_ascii() {
        return Some(c.to_ascii_lowercase());
    }
    if ('\u{FF01}'..='\u{FF5E}').contains(&c) {
        // Fullwidth forms sit at a fixed distance from ASCII.
        return char::from_u32(c as u32 - 0xFEE0).map(|a| a.to_ascii_lowercase());
    }
    let accentless = match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'a',
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'i',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => 'u',
        'ñ' | 'Ñ' | 'ń' => 'n',
        'ç' | 'Ç' | 'ć' => 'c',
        'ý' | 'ÿ' | 'Ý' => 'y',
        'ı' | 'İ' => 'i',
        'ş' | 'Ş' | 'ś' => 's',
        'ğ' | 'Ğ' => 'g',
        'ł' | 'Ł' => 'l',
        'ą' => 'a',
        'ę' => 'e',
        'ź' | 'ż' => 'z',
        'ß' => 's',
        _ => '\0',
    };
    if accentless != '\0' {
        return Some(accentless);
    }
    if !fold_lookalikes {
        return None;
    }
    let latin = match c {
        'а' | 'А' | 'α' | 'Α' => 'a',
        'В' | 'Β' | 'в' => 'b',
        'с' | 'С' | 'ϲ' => 'c',
        'ԁ' => 'd',
        'е' | 'Е' | 'ε' | 'Ε' => 'e',
        'һ' | 'Н' | 'Η' => 'h',
        'і' | 'І' | 'ι' | 'Ι' | 'ӏ' => 'i',
        'ј' | 'Ј' => 'j',
        'к' | 'К' | 'κ' | 'Κ' => 'k',
        'М' | 'Μ' | 'м' => 'm',
        'Ν' | 'η' => 'n',
        'о' | 'О' | 'ο' | 'Ο' | 'σ' => 'o',
        'р' | 'Р' | 'ρ' | 'Ρ' => 'p',
        'ԛ' => 'q',
        'ѕ' | 'Ѕ' => 's',
        'т' | 'Т' | 'τ' | 'Τ' => 't',
        'υ' | 'Υ' => 'u',
        'ν' => 'v',
        'ԝ' => 'w',
        'х' | 'Х' | 'χ' | 'Χ' => 'x',
        'у' | 'У' | 'γ' => 'y',
        'Ζ' => 'z',
        _ => return None,
    };
    Some(latin)
}

/// Words this long may be several glued together ("ignoreprevious").
const MIN_GLUED_BYTES: usize = 12;

/// Joins runs of one-letter words (`i g n o r e a l l`) and splits long
/// words glued from known ones (`ignorepreviousinstructions`) into the
/// words the layers know. The words sit back to back in `text`, so a run
/// of them is one range.
fn join_spread_letters(text: &str, spans: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    let mut out = Vec::with_capacity(spans.len());
    let mut run = (0, 0);
    let mut run_len = 0;
    for (start, end) in spans {
        let word = &text.as_bytes()[start..end];
        if word.len() == 1 && word[0].is_ascii_alphanumeric() {
            if run_len == 0 {
                run.0 = start;
            }
            run.1 = end;
            run_len += 1;
            continue;
        }
        flush_run(text, &mut out, run, &mut run_len);
        if word.len() >= MIN_GLUED_BYTES && word.iter().all(|b| b.is_ascii_lowercase()) {
            segment(text, &mut out, (start, end));
        } else {
            out.push((start, end));
        }
    }
    flush_run(text, &mut out, run, &mut run_len);
    out
}

fn flush_run(text: &str, out: &mut Vec<(usize, usize)>, run: (usize, usize), run_len: &mut usize) {
    if *run_len >= 3 {
        segment(text, out, run);
    } else if *run_len > 0 {
        // One or two single letters are ordinary words ("a", "I", "x").
        out.extend((run.0..run.1).map(|at| (at, at + 1)));
    }
    *run_len = 0;
}

/// Splits the glued word at `glued` greedily into the longest known words;
/// keeps it whole when it does not split completely.
fn segment(text: &str, out: &mut Vec<(usize, usize)>, glued: (usize, usize)) {
    let before = out.len();
    let mut at = glued.0;
    while at < glued.1 {
        let rest = &text[at..glued.1];
        // The first byte compared inline: `starts_with` is a `memcmp` call,
        // and long words (`configuration`) come here often.
        let head = rest.as_bytes()[0];
        let known = lexicon::SEGMENT_WORDS.iter().filter(|w| w.as_bytes()[0] == head && rest.starts_with(**w));
        let Some(longest) = known.max_by_key(|w| w.len()) else {
            out.truncate(before);
            out.push(glued);
            return;
        };
        out.push((at, at + longest.len()));
        at += longest.len();
    }
    if out.len() - before < 2 {
        out.truncate(before);
        out.push(glued);
    }
}

/// Whether `word` spells `target`, reading leetspeak digits and symbols as
/// the letters they stand for; a `*` at the end of `target` matches any
/// ending.
pub(crate) fn spells(word: &str, target: &str) -> bool {
    // The last byte, not `strip_suffix`: this runs for every phrase a word
    // might start, and the byte test is what makes it cheap (issue 11).
    let (stem, any_ending) = match target.as_bytes().split_last() {
        Some((b'*', stem)) => (stem, true),
        _ => (target.as_bytes(), false),
    };
    if word.len() < stem.len() || (!any_ending && word.len() != stem.len()) {
        return false;
    }
    word.bytes().zip(stem).all(|(w, &t)| w == t || leet(w).contains(&t))
}

fn leet(b: u8) -> &'static [u8] {
    match b {
        b'0' => b"o",
        b'1' => b"il",
        b'3' => b"e",
        b'4' | b'@' => b"a",
        b'5' | b'$' => b"s",
        b'7' => b"t",
        b'8' => b"b",
        b'9' => b"g",
        b'!' | b'|' => b"il",
        _ => b"",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(text: &str) -> String {
        words(text).iter().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn disguises_fold_to_plain_words() {
        assert_eq!(joined("IGNORE Previous"), "ignore previous");
        assert_eq!(joined("ｉｇｎｏｒｅ ａｌｌ"), "ignore all");
        assert_eq!(joined("іgnоrе the rules"), "ignore the rules"); // Cyrillic і, о, е
        assert_eq!(joined("ig\u{200B}nore"), "ignore");
        assert_eq!(joined("i g n o r e all previous"), "ignore all previous");
        assert_eq!(joined("i.g.n.o.r.e a.l.l p.r.e.v.i.o.u.s"), "ignore all previous");
        assert_eq!(joined("IgnorePreviousInstructions now"), "ignore previous instructions now");
        assert_eq!(joined("don't tell"), "dont tell");
    }

    #[test]
    fn other_scripts_are_kept() {
        assert_eq!(joined("Игнорируй инструкции"), "игнорируй инструкции");
        assert_eq!(joined("a b"), "a b");
    }

    #[test]
    fn sentences_are_marked() {
        let words = |text| words(text).iter().map(String::from).collect::<Vec<_>>();
        assert_eq!(words("Send it. Keys are here"), ["send", "it", "", "keys", "are", "here"]);
        assert_eq!(words("v1.2 works"), ["v1", "2", "works"]);
    }

    #[test]
    fn leetspeak_spells_words() {
        assert!(spells("1gn0r3", "ignore"));
        assert!(spells("pr3v10us", "previous"));
        assert!(spells("instructions", "instruct*"));
        assert!(!spells("ignored", "ignore"));
        assert!(!spells("1234", "test"));
    }
}
