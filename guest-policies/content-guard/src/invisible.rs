//! Characters that render as nothing, or reorder what is rendered, so that a
//! reviewer reads something other than what the model will: zero-width and
//! bidi controls, Unicode tag characters, variation selectors used to
//! smuggle bytes, fillers and blanks.
//!
//! Some of them have honest uses that must pass: ZWJ inside emoji
//! sequences and Indic or Arabic-script words, ZWNJ in Persian and Indic
//! words, one VS15/VS16 after an emoji or a keycap digit, one ideographic
//! variation selector after a CJK ideograph, the tag sequence of a
//! subdivision flag. A selector that follows a selector, or sits after
//! ordinary Latin text, has no honest use: that is how bytes are smuggled.

/// Describes the first invisible character of `text` that is not in one of
/// its honest uses, if any.
pub(crate) fn find(text: &str) -> Option<String> {
    if is_plain(text.as_bytes()) {
        return None; // printable ASCII and ordinary whitespace: nothing to find
    }
    if !text.chars().any(is_invisible) {
        // Only an invisible character is ever reported: with none, the
        // walk below (a buffer of every character, each with its
        // neighbours) would find nothing (issue 11).
        return None;
    }
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut position = 0;
    while let Some(&(offset, c)) = chars.get(position) {
        let previous = position.checked_sub(1).map(|p| chars[p].1);
        let next = chars.get(position + 1).map(|&(_, c)| c);
        if c == '\u{1F3F4}' {
            position += 1 + flag_tags(&chars[position + 1..]);
            continue;
        }
        position += 1;
        if is_invisible(c) && !is_honest_use(c, previous, next) {
            return Some(format!("U+{:04X} ({}) at byte {offset}", c as u32, describe(c)));
        }
    }
    None
}

/// Whether `bytes` are all printable ASCII or ordinary whitespace.
///
/// Eight bytes at a time (SWAR): the guest has no SIMD, and byte by byte
/// this test was a tenth of content-guard's fuel on plain prose (issue 10).
/// A word with a byte below a space is looked at byte by byte, for the
/// line breaks and tabs that are plain.
fn is_plain(bytes: &[u8]) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH_BITS: u64 = ONES * 0x80;
    let plain = |b: u8| (b' '..0x7f).contains(&b) || matches!(b, b'\n' | b'\r' | b'\t');
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let word = u64::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3], chunk[4], chunk[5], chunk[6], chunk[7]]);
        if word & HIGH_BITS != 0 {
            return false; // not ASCII
        }
        // With no high bit set, these flag exactly the words holding a byte
        // below a space, or a DEL.
        let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH_BITS;
        let del = word ^ (ONES * 0x7f);
        let has_del = del.wrapping_sub(ONES) & !del & HIGH_BITS;
        if (below_space | has_del) != 0 && !chunk.iter().all(|&b| plain(b)) {
            return false;
        }
    }
    chunks.remainder().iter().all(|&b| plain(b))
}

/// How many characters after U+1F3F4 spell a subdivision flag: two to six
/// tag letters or digits, then the cancel tag U+E007F. Anything else after
/// the black flag is not a flag, and is judged character by character.
fn flag_tags(after: &[(usize, char)]) -> usize {
    let spelled = after
        .iter()
        .take(7)
        .take_while(|&&(_, c)| matches!(c, '\u{E0030}'..='\u{E0039}' | '\u{E0061}'..='\u{E007A}'))
        .count();
    let cancelled = after.get(spelled).is_some_and(|&(_, c)| c == '\u{E007F}');
    if (2..=6).contains(&spelled) && cancelled { spelled + 1 } else { 0 }
}

fn is_tag(c: char) -> bool {
    ('\u{E0000}'..='\u{E007F}').contains(&c)
}

fn is_variation_selector(c: char) -> bool {
    matches!(c, '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}

fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}' | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{2028}' | '\u{2029}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}'
        | '\u{2800}' | '\u{3164}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{FFF9}'..='\u{FFFB}'
        | '\u{1D173}'..='\u{1D17A}')
        || is_tag(c)
        || is_variation_selector(c)
        || (c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

/// The honest uses of joiners and selectors; every other invisible
/// character has none.
fn is_honest_use(c: char, previous: Option<char>, next: Option<char>) -> bool {
    let previous_is = |test: fn(char) -> bool| previous.is_some_and(test);
    let next_is = |test: fn(char) -> bool| next.is_some_and(test);
    match c {
        // ZWJ: between the parts of an emoji, or inside a joined script.
        '\u{200D}' => {
            (previous_is(is_emoji_part) && next_is(is_emoji))
                || (previous_is(is_joining_script) && next.is_none_or(|n| is_joining_script(n) || !n.is_alphanumeric()))
        }
        // ZWNJ: inside Persian, Arabic-script and Indic words.
        '\u{200C}' => previous_is(is_joining_script) && next_is(|n| is_joining_script(n) || n == ' '),
        // VS15/VS16: one, after an emoji or a character with an emoji form.
        '\u{FE0E}' | '\u{FE0F}' => previous_is(|p| is_emoji(p) || p.is_ascii_digit() || matches!(p, '#' | '*')),
        // Standardised variation sequences of symbols and CJK: one.
        '\u{FE00}'..='\u{FE0D}' => previous_is(|p| !p.is_ascii() && !is_variation_selector(p) && !is_invisible(p)),
        // Ideographic variation sequences: one, after an ideograph.
        '\u{E0100}'..='\u{E01EF}' => previous_is(is_ideograph),
        _ => false,
    }
}

/// Pictographs and symbols that take emoji presentation, plus the marks
/// that continue an emoji (skin tones, keycap, VS16).
fn is_emoji(c: char) -> bool {
    matches!(c,
        '\u{00A9}' | '\u{00AE}' | '\u{203C}' | '\u{2049}' | '\u{2122}' | '\u{2139}'
        | '\u{2194}'..='\u{21AA}'
        | '\u{231A}'..='\u{23FF}'
        | '\u{24C2}' | '\u{25AA}'..='\u{25FE}'
        | '\u{2600}'..='\u{27BF}'
        | '\u{2934}' | '\u{2935}' | '\u{2B05}'..='\u{2B55}'
        | '\u{3030}' | '\u{303D}' | '\u{3297}' | '\u{3299}'
        | '\u{1F000}'..='\u{1FAFF}')
}

fn is_emoji_part(c: char) -> bool {
    is_emoji(c) || matches!(c, '\u{FE0F}' | '\u{20E3}' | '\u{1F3FB}'..='\u{1F3FF}')
}

/// Scripts in which ZWJ and ZWNJ shape letters: Arabic (Persian, Urdu),
/// Syriac, the Indic scripts, Sinhala.
fn is_joining_script(c: char) -> bool {
    matches!(c, '\u{0600}'..='\u{08FF}' | '\u{0900}'..='\u{0DFF}' | '\u{FB50}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFC}')
}

fn is_ideograph(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{3FFFF}')
}

fn describe(c: char) -> &'static str {
    match c {
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' => "zero-width",
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => "bidi control",
        '\u{E0000}'..='\u{E007F}' => "tag character",
        '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}' => "variation selector",
        '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' | '\u{2800}' => "blank filler",
        '\u{2028}' | '\u{2029}' => "line or paragraph separator",
        _ if c.is_control() => "control character",
        _ => "invisible",
    }
}

#[cfg(test)]
mod tests {
    use super::{find, is_plain};

    #[test]
    fn smuggling_is_found() {
        for text in [
            "looks\u{200B}harmless",
            "admin\u{202E}txt.exe",
            "tag\u{E0041}\u{E0042}chars",
            "hi\u{FE01}\u{FE02}\u{FE03}",
            "😀\u{E0101}\u{E0102}\u{E0103}\u{E0104}",
            "plain\u{FE0F}text",
            "a\u{2800}b",
            "x\u{3164}y",
            "line\u{2028}hidden",
            "esc \u{1B}[2J clears",
        ] {
            assert!(find(text).is_some(), "{text:?}");
        }
    }

    #[test]
    fn plain_text_is_told_apart_eight_bytes_at_a_time() {
        let plain = |b: u8| (b' '..0x7f).contains(&b) || matches!(b, b'\n' | b'\r' | b'\t');
        for b in 0..=255u8 {
            for at in 0..17 {
                let mut text = b"a plain line,\tthen\r\nmore".to_vec();
                text[at] = b;
                assert_eq!(is_plain(&text), text.iter().all(|&b| plain(b)), "{b} at {at}");
            }
        }
    }

    #[test]
    fn honest_uses_pass() {
        for text in [
            "family 👨\u{200D}👩\u{200D}👧\u{200D}👦 and rainbow 🏳\u{FE0F}\u{200D}🌈",
            "love ❤\u{FE0F}, phone ☎\u{FE0F}, keycap 1\u{FE0F}\u{20E3}, coder 👩🏽\u{200D}💻",
            "Persian: می\u{200C}خواهم",
            "Hindi: क्\u{200D}ष, Malayalam ന്\u{200D}",
            "ideograph 葛\u{E0100} variant",
            "England 🏴\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F} flag",
            "prix\u{202F}: 10\u{A0}€",
        ] {
            assert_eq!(find(text), None, "{text:?}");
        }
    }
}
