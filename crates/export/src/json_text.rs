//! Compact JSON text, written as `serde_json::to_string` writes it (members in their order,
//! no spaces, the same escapes, the same numbers): the blob columns (`requestparameters`,
//! ...) hold a record's nested values as this text, and JSON lines rows are this text.

use simd_json::prelude::*;
use simd_json::tape::Value;
use simd_json::ValueType;

/// Appends `value` as compact JSON.
pub fn write_value(value: Value<'_, '_>, out: &mut Vec<u8>) {
    match value.value_type() {
        ValueType::String => write_str(value.as_str().unwrap_or_default(), out),
        ValueType::Object => {
            out.push(b'{');
            if let Some(object) = value.as_object() {
                for (i, (key, member)) in object.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_str(key, out);
                    out.push(b':');
                    write_value(member, out);
                }
            }
            out.push(b'}');
        }
        ValueType::Array => {
            out.push(b'[');
            if let Some(array) = value.as_array() {
                for (i, item) in array.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_value(item, out);
                }
            }
            out.push(b']');
        }
        ValueType::Bool => out.extend_from_slice(if value.as_bool() == Some(true) {
            b"true"
        } else {
            b"false"
        }),
        ValueType::I64 | ValueType::U64 => match (value.as_i64(), value.as_u64()) {
            (Some(n), _) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
            (None, Some(n)) => out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes()),
            (None, None) => out.extend_from_slice(b"null"),
        },
        ValueType::F64 => match value.as_f64() {
            // serde_json writes finite floats with zmij ("1.0", "1e+16") and others as null.
            Some(f) if f.is_finite() => {
                out.extend_from_slice(zmij::Buffer::new().format(f).as_bytes())
            }
            _ => out.extend_from_slice(b"null"),
        },
        _ => out.extend_from_slice(b"null"),
    }
}

/// Appends `s` as a JSON string: `"` and `\` escaped, control characters as `\n`, `\t`, ...
/// or `\u00XX` (lower-case hex), everything else (`/`, non-ASCII) as is, as serde_json does.
pub fn write_str(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let short = match b {
            b'"' => b'"',
            b'\\' => b'\\',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            0x08 => b'b',
            0x0c => b'f',
            0..=0x1f => b'u',
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.push(b'\\');
        out.push(short);
        if short == b'u' {
            out.extend_from_slice(&[
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 15)],
            ]);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use simd_json::{fill_tape_padded, Buffers, Tape, INPUT_PADDING};

    fn compact(text: &str) -> String {
        let mut input = text.as_bytes().to_vec();
        input.resize(text.len() + INPUT_PADDING, 0);
        let mut tape = Tape::null();
        fill_tape_padded(&mut input, text.len(), &mut Buffers::new(64), &mut tape).unwrap();
        let mut out = Vec::new();
        write_value(tape.as_value(), &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn writes_what_serde_json_writes() {
        for text in [
            r#"{"b":1,"a":[true,false,null,-3,18446744073709551615],"c":{"d":"x\"y\\z\n\t\u0001\u001f/é"}}"#,
            r#"{"f":1.5,"g":1e16,"h":100000.0,"i":-0.25,"j":1e-7}"#,
            r#"[{}, [], "", " spaced " ]"#,
            r#""\u2028 \ud83d\ude00""#,
        ] {
            let expected =
                serde_json::to_string(&serde_json::from_str::<serde_json::Value>(text).unwrap())
                    .unwrap();
            assert_eq!(compact(text), expected, "{text}");
        }
    }
}
