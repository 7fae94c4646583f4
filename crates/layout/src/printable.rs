//! Text from outside (object keys, folder names, record fields) made safe to print for a
//! person: whoever can write into a trail's bucket chooses its keys, and whoever makes a call
//! chooses most of its record's fields. A control character among them could move the
//! cursor, rewrite or retitle the reader's terminal, or forge a line of a report; escaped, it
//! shows as `\x1b` (or `\u{NNNN}` above `\xff`), as fd and ripgrep show them. Machine
//! formats (JSON) escape them their own way and do not use this.

use std::borrow::Cow;

/// `text` with every control character escaped: for one line of a message.
pub fn printable(text: &str) -> Cow<'_, str> {
    escape_where(text, char::is_control)
}

/// `text` with every control character but newline and tab escaped: for text of several
/// lines or columns (an error with its hint, a table cell).
pub fn printable_lines(text: &str) -> Cow<'_, str> {
    escape_where(text, |c| c.is_control() && c != '\n' && c != '\t')
}

/// `text` with every control character but tab escaped: for one line of tab-separated
/// columns (validate-logs' lines).
pub fn printable_columns(text: &str) -> Cow<'_, str> {
    escape_where(text, |c| c.is_control() && c != '\t')
}

fn escape_where(text: &str, unsafe_char: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(&unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c as u32 {
            _ if !unsafe_char(c) => out.push(c),
            cp @ 0..=0xff => out.push_str(&format!("\\x{cp:02x}")),
            cp => out.push_str(&format!("\\u{{{cp:04x}}}")),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        let key = "AWSLogs/1_ab\u{1b}]0;pwned\u{7}cd\u{9b}2J\u{2028}é.json.gz";
        assert_eq!(
            printable(key),
            "AWSLogs/1_ab\\x1b]0;pwned\\x07cd\\x9b2J\u{2028}é.json.gz"
        );
        assert_eq!(printable("line\nforged\tcol"), "line\\x0aforged\\x09col");
        assert_eq!(printable_lines("line\nnext\tcol\r"), "line\nnext\tcol\\x0d");
        assert_eq!(printable_columns("a\tb\nc"), "a\tb\\x0ac");
        assert!(matches!(printable("plain text"), Cow::Borrowed(_)));
    }
}
