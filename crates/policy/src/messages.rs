//! Error messages that quote outside input: at most a little of it.
//!
//! A parse error names the value it could not use, and that value can be a
//! whole file: `pack_map: /etc/passwd` once printed the file (issue 9). Every
//! parse error of a config, rule pack, pack map or context file goes through
//! [`parse_error`], which keeps each quoted value short.

/// Characters of one quoted value kept in a message.
pub const MAX_QUOTED_CHARS: usize = 32;
/// Characters of a whole parse message kept.
pub const MAX_MESSAGE_CHARS: usize = 300;

/// `err` as one line, every `"…"` or `` `…` `` value in it cut to
/// [`MAX_QUOTED_CHARS`] and the whole to [`MAX_MESSAGE_CHARS`].
pub fn parse_error(err: &impl std::fmt::Display) -> String {
    let text = err.to_string();
    let mut out = String::with_capacity(text.len().min(MAX_MESSAGE_CHARS + 8));
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '"' && c != '`' {
            push_plain(&mut out, c);
            continue;
        }
        out.push(c);
        let mut escaped = false;
        for (kept, inner) in chars.by_ref().enumerate() {
            if inner == c && !escaped {
                break;
            }
            escaped = c == '"' && inner == '\\' && !escaped;
            if kept < MAX_QUOTED_CHARS {
                push_plain(&mut out, inner);
            } else if kept == MAX_QUOTED_CHARS {
                out.push('…');
            }
        }
        out.push(c);
    }
    if out.chars().count() > MAX_MESSAGE_CHARS {
        out = out.chars().take(MAX_MESSAGE_CHARS).collect();
        out.push('…');
    }
    out
}

/// Pushes `c`, escaped if it would break the one-line message.
fn push_plain(out: &mut String, c: char) {
    match c {
        '\n' | '\r' => out.push(' '),
        c if c.is_control() => out.extend(c.escape_default()),
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_quoted_values_are_cut() {
        let secret = "root:x:0:0:root:/root:/bin/bash daemon:x:1:1:daemon:/usr/sbin";
        let message = parse_error(&format!("invalid type: string \"{secret}\", expected struct PackMapFile"));
        assert_eq!(message, "invalid type: string \"root:x:0:0:root:/root:/bin/bash …\", expected struct PackMapFile");
        let message = parse_error(&format!("unknown field `{secret}`, expected `default`"));
        assert!(message.starts_with("unknown field `root:x:0:0:root:/root:/bin/bash …`, expected `default`"));
    }

    #[test]
    fn escaped_quotes_and_control_characters_stay_inside() {
        let message = parse_error(&"string \"a\\\"b\nc\", expected x".to_string());
        assert_eq!(message, "string \"a\\\"b c\", expected x");
        assert!(parse_error(&"x".repeat(1000)).chars().count() <= MAX_MESSAGE_CHARS + 1);
    }
}
