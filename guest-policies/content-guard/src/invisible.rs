//! Characters that render as nothing, or reorder what is rendered, so that a
//! reviewer reads something other than what the model will.

/// Describes the first invisible character of `text`, if any.
pub(crate) fn find(text: &str) -> Option<String> {
    if text.bytes().all(|b| (b' '..0x7f).contains(&b) || matches!(b, b'\n' | b'\r' | b'\t')) {
        return None; // printable ASCII and ordinary whitespace: nothing to find
    }
    text.char_indices()
        .find(|(_, c)| is_invisible(*c))
        .map(|(offset, c)| format!("U+{:04X} ({}) at byte {offset}", c as u32, describe(c)))
}

fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}'
        | '\u{FEFF}'
        | '\u{E0000}'..='\u{E007F}')
        || (c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

fn describe(c: char) -> &'static str {
    match c {
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' => "zero-width",
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => "bidi control",
        '\u{E0000}'..='\u{E007F}' => "tag character",
        _ if c.is_control() => "control character",
        _ => "invisible",
    }
}
