//! Compact JSON text, written as `serde_json::to_string` writes it (members in their order,
//! no spaces, the same escapes, the same numbers): the export's blob columns
//! (`requestparameters`, ...) and JSON lines rows, and what a Sigma rule sees of an object
//! field (`requestParameters|contains`).

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
    out.reserve(s.len() + 2);
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Eight bytes at a time past the runs that need no escape (most of every value).
        if let Some(chunk) = bytes.get(i..i + 8) {
            let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
            if !needs_escape(word) {
                i += 8;
                continue;
            }
        }
        let b = bytes[i];
        let short = match b {
            b'"' => b'"',
            b'\\' => b'\\',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            0x08 => b'b',
            0x0c => b'f',
            0..=0x1f => b'u',
            _ => {
                i += 1;
                continue;
            }
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
        i += 1;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

/// Whether any of the eight bytes of `word` is a control character, `"` or `\`.
fn needs_escape(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH != 0;
    // Bytes below 0x20 (bytes of 0x80 and above, UTF-8, have their high bit set and are
    // excluded by `!word`).
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH != 0;
    below_space
        || has_zero(word ^ (ONES * u64::from(b'"')))
        || has_zero(word ^ (ONES * u64::from(b'\\')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use simd_json::{fill_tape_padded, Buffers, Tape, INPUT_PADDING};

    fn with_tape<T>(text: &str, f: impl FnOnce(Value<'_, '_>) -> T) -> T {
        let mut input = text.as_bytes().to_vec();
        input.resize(text.len() + INPUT_PADDING, 0);
        let mut tape = Tape::null();
        fill_tape_padded(&mut input, text.len(), &mut Buffers::new(64), &mut tape).unwrap();
        f(tape.as_value())
    }

    fn compact(text: &str) -> String {
        let mut out = Vec::new();
        with_tape(text, |value| write_value(value, &mut out));
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escapes_every_byte_that_needs_it_wherever_it_sits() {
        for special in ['"', '\\', '\n', '\u{1}', '\u{1f}', '\u{7f}', 'é', '😀'] {
            for at in 0..20 {
                let text: String = (0..20)
                    .map(|i| if i == at { special } else { 'a' })
                    .collect();
                let mut out = Vec::new();
                write_str(&text, &mut out);
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    serde_json::to_string(&text).unwrap()
                );
            }
        }
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
