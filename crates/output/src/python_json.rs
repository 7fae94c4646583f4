//! JSON exactly as the AWS CLI prints it: Python's `json.dump(obj, indent=4,
//! ensure_ascii=False)` plus a newline (awscli `formatter.py`, `JSONFormatter`).
//!
//! Python's layout: 4-space indents, `", "`-free item separators (`,` then newline),
//! `": "` after keys, `[]` and `{}` for empty containers, non-ASCII written raw, and only `"`,
//! `\`, and control characters escaped (`\n`, `\r`, `\t`, `\b`, `\f`, else `\u00xx`).

use std::io::{self, Write};

use serde_json::Value;

/// Writes `s` as a JSON string literal, escaped as Python's `json` does with
/// `ensure_ascii=False`.
pub fn write_string(w: &mut impl Write, s: &str) -> io::Result<()> {
    w.write_all(b"\"")?;
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => b"",
            _ => continue,
        };
        w.write_all(&bytes[start..i])?;
        if escape.is_empty() {
            write!(w, "\\u{b:04x}")?;
        } else {
            w.write_all(escape)?;
        }
        start = i + 1;
    }
    w.write_all(&bytes[start..])?;
    w.write_all(b"\"")
}

/// Writes a newline and the indentation of nesting `level`.
pub fn newline_indent(w: &mut impl Write, level: usize) -> io::Result<()> {
    w.write_all(b"\n")?;
    for _ in 0..level {
        w.write_all(b"    ")?;
    }
    Ok(())
}

/// Writes `value` at nesting `level` (the caller has written the indentation before it).
pub fn write_value(w: &mut impl Write, value: &Value, level: usize) -> io::Result<()> {
    match value {
        Value::Null => w.write_all(b"null"),
        Value::Bool(b) => w.write_all(if *b { b"true" } else { b"false" }),
        Value::Number(n) => write!(w, "{n}"),
        Value::String(s) => write_string(w, s),
        Value::Array(items) if items.is_empty() => w.write_all(b"[]"),
        Value::Array(items) => {
            w.write_all(b"[")?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    w.write_all(b",")?;
                }
                newline_indent(w, level + 1)?;
                write_value(w, item, level + 1)?;
            }
            newline_indent(w, level)?;
            w.write_all(b"]")
        }
        Value::Object(map) if map.is_empty() => w.write_all(b"{}"),
        Value::Object(map) => {
            w.write_all(b"{")?;
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    w.write_all(b",")?;
                }
                newline_indent(w, level + 1)?;
                write_string(w, k)?;
                w.write_all(b": ")?;
                write_value(w, v, level + 1)?;
            }
            newline_indent(w, level)?;
            w.write_all(b"}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(v: &Value) -> String {
        let mut out = Vec::new();
        write_value(&mut out, v, 0).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn matches_python_layout() {
        // python3 -c 'import json;print(json.dumps({"a":[1,{"b":None}],"c":[],"d":{},"e":"é\t\u0001\"/"},indent=4,ensure_ascii=False))'
        let v = json!({"a": [1, {"b": null}], "c": [], "d": {}, "e": "é\t\u{1}\"/"});
        assert_eq!(
            text(&v),
            "{\n    \"a\": [\n        1,\n        {\n            \"b\": null\n        }\n    ],\n    \"c\": [],\n    \"d\": {},\n    \"e\": \"é\\t\\u0001\\\"/\"\n}"
        );
    }
}
