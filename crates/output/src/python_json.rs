//! JSON exactly as the AWS CLI prints it: Python's `json.dump(obj, indent=4,
//! ensure_ascii=False)` plus a newline (awscli `formatter.py`, `JSONFormatter`).
//!
//! Python's layout: 4-space indents, `", "`-free item separators (`,` then newline),
//! `": "` after keys, `[]` and `{}` for empty containers, non-ASCII written raw, and only `"`,
//! `\`, and control characters escaped (`\n`, `\r`, `\t`, `\b`, `\f`, else `\u00xx`).

use std::io::{self, Write};

use memchr::memchr2;
use serde_json::Value;

/// Writes `s` as a JSON string literal, escaped as Python's `json` does with
/// `ensure_ascii=False`. Runs between quotes and backslashes are found with memchr and
/// checked for control characters in one vectorizable pass, so the common case copies.
pub fn write_string(w: &mut (impl Write + ?Sized), s: &str) -> io::Result<()> {
    w.write_all(b"\"")?;
    let bytes = s.as_bytes();
    let mut start = 0;
    while start < bytes.len() {
        let end = memchr2(b'"', b'\\', &bytes[start..]).map_or(bytes.len(), |i| start + i);
        let run = &bytes[start..end];
        if run.iter().fold(false, |any, &b| any | (b < 0x20)) {
            write_escaped(w, run)?;
        } else {
            w.write_all(run)?;
        }
        if let Some(&b) = bytes.get(end) {
            w.write_all(if b == b'"' { b"\\\"" } else { b"\\\\" })?;
        }
        start = end + 1;
    }
    w.write_all(b"\"")
}

/// Writes bytes that hold control characters (and no `"` or `\`), escaping those.
fn write_escaped(w: &mut (impl Write + ?Sized), run: &[u8]) -> io::Result<()> {
    let mut start = 0;
    for (i, &b) in run.iter().enumerate() {
        if b >= 0x20 {
            continue;
        }
        w.write_all(&run[start..i])?;
        match b {
            b'\n' => w.write_all(b"\\n")?,
            b'\r' => w.write_all(b"\\r")?,
            b'\t' => w.write_all(b"\\t")?,
            0x08 => w.write_all(b"\\b")?,
            0x0c => w.write_all(b"\\f")?,
            _ => write!(w, "\\u{b:04x}")?,
        }
        start = i + 1;
    }
    w.write_all(&run[start..])
}

/// Writes a newline and the indentation of nesting `level`.
pub fn newline_indent(w: &mut (impl Write + ?Sized), level: usize) -> io::Result<()> {
    w.write_all(b"\n")?;
    for _ in 0..level {
        w.write_all(b"    ")?;
    }
    Ok(())
}

/// Writes `value` at nesting `level` (the caller has written the indentation before it).
pub fn write_value(w: &mut (impl Write + ?Sized), value: &Value, level: usize) -> io::Result<()> {
    match value {
        Value::Null => w.write_all(b"null"),
        Value::Bool(b) => w.write_all(if *b { b"true" } else { b"false" }),
        Value::Number(n) => w.write_all(crate::python::number_repr(n).as_bytes()),
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
    fn strings_escape_as_python() {
        // python3 -c 'import json; print(json.dumps("a\"b\\c\n\x01\x7fé\u2028", ensure_ascii=False))'
        let mut out = Vec::new();
        write_string(&mut out, "a\"b\\c\n\u{1}\u{7f}é\u{2028}").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a\\\"b\\\\c\\n\\u0001\u{7f}é\u{2028}\""
        );
        let mut out = Vec::new();
        write_string(&mut out, "").unwrap();
        assert_eq!(out, b"\"\"");
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
