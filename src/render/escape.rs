//! Text from a manifest or a server reaches terminals, CI logs and pull-request comments.
//! A control character in it could recolour or hide output, move the cursor or rewrite
//! earlier lines (ESC, CSI, CR, backspace), and a bidirectional override could make a
//! reviewer read an address or a value in another order than it has. Every such character
//! is shown as a `\u{..}` escape instead, the notation Rust's `{:?}` uses for the same
//! characters, so quoted and unquoted fields read alike.

use std::borrow::Cow;
use std::fmt::Write;

/// `text` with every control character (C0, DEL, C1; newlines and tabs included) and every
/// bidirectional formatting character escaped. Borrowed when there is nothing to escape.
pub fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if needs_escape(c) {
            let _ = write!(escaped, "\\u{{{:x}}}", u32::from(c));
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}

/// [`escape_controls`] for a message of several lines, keeping its layout: line breaks
/// (`\n`, `\r\n`) and tabs, which only move the cursor forward, are kept.
pub fn escape_lines(text: &str) -> Cow<'_, str> {
    let lines: Vec<(&str, &str)> = text
        .split('\n')
        .map(|line| match line.strip_suffix('\r') {
            Some(line) => (line, "\r"),
            None => (line, ""),
        })
        .collect();
    let escaped_in_line = |c: char| c != '\t' && needs_escape(c);
    if !lines
        .iter()
        .any(|(line, _)| line.chars().any(escaped_in_line))
    {
        return Cow::Borrowed(text);
    }
    let escaped: Vec<String> = lines
        .into_iter()
        .map(|(line, end)| {
            let line: Vec<Cow<'_, str>> = line.split('\t').map(escape_controls).collect();
            format!("{}{end}", line.join("\t"))
        })
        .collect();
    Cow::Owned(escaped.join("\n"))
}

fn needs_escape(c: char) -> bool {
    c.is_control() || is_bidi_control(c) || matches!(c, '\u{2028}' | '\u{2029}')
}

/// The Unicode bidirectional formatting characters (marks, embeddings, overrides,
/// isolates): invisible, and able to reorder the text around them.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        let text = "alice@example.com: Zoë, 東京, 🙂";
        assert!(matches!(escape_controls(text), Cow::Borrowed(t) if t == text));
        assert!(matches!(escape_lines("a\nb"), Cow::Borrowed("a\nb")));
    }

    #[test]
    fn terminal_sequences_are_shown_not_obeyed() {
        assert_eq!(
            escape_controls("\x1b[31mred\x1b[0m@example.com"),
            "\\u{1b}[31mred\\u{1b}[0m@example.com"
        );
        assert_eq!(
            escape_controls("a\rb\u{8}c\u{7f}"),
            "a\\u{d}b\\u{8}c\\u{7f}"
        );
        assert_eq!(
            escape_controls("\u{9b}2J"),
            "\\u{9b}2J",
            "the C1 form of CSI"
        );
        assert_eq!(
            escape_controls("one\ntwo\tthree"),
            "one\\u{a}two\\u{9}three"
        );
    }

    #[test]
    fn bidirectional_overrides_are_shown() {
        assert_eq!(
            escape_controls("admin\u{202e}moc.elpmaxe@\u{202c}"),
            "admin\\u{202e}moc.elpmaxe@\\u{202c}"
        );
        assert_eq!(escape_controls("\u{2067}x\u{2069}"), "\\u{2067}x\\u{2069}");
        assert_eq!(escape_controls("a\u{2028}b"), "a\\u{2028}b");
    }

    #[test]
    fn matches_the_debug_notation() {
        let text = "\x1b\u{9b}\u{202e}";
        assert_eq!(
            format!("\"{}\"", escape_controls(text)),
            format!("{text:?}")
        );
    }

    #[test]
    fn lines_keep_their_breaks() {
        assert_eq!(
            escape_lines("error: bad `\x1b[2J`\n  |\tli\rne\r\n"),
            "error: bad `\\u{1b}[2J`\n  |\tli\\u{d}ne\r\n"
        );
    }
}
