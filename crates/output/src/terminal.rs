//! Untrusted text made safe for a terminal.
//!
//! Record fields are chosen by whoever made the call (user names, user agents, request
//! parameters); an escape sequence in one could retitle or rewrite the reader's terminal.
//! On a terminal, text and table output show control characters escaped (`\x1b`), as fd's
//! `sanitize` does; piped output stays byte-identical to the AWS CLI's. JSON escapes them
//! anyway.

use std::borrow::Cow;

use serde_json::Value;
use trailscan_layout::printable::printable_lines;

/// Escapes control characters other than tab and newline in every string of `value`.
pub fn sanitize_for_terminal(value: &mut Value) {
    match value {
        Value::String(s) => {
            if let Cow::Owned(escaped) = printable_lines(s) {
                *s = escaped;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(sanitize_for_terminal),
        Value::Object(map) => map.values_mut().for_each(sanitize_for_terminal),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escapes_control_sequences_only() {
        let mut v = json!({"Username": "evil\u{1b}]0;pwned\u{7}\r", "List": ["ok\tfine\n", "é"]});
        sanitize_for_terminal(&mut v);
        assert_eq!(
            v,
            json!({"Username": "evil\\x1b]0;pwned\\x07\\x0d", "List": ["ok\tfine\n", "é"]})
        );
    }
}
