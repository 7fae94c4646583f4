//! How Python writes values, for output that must match the AWS CLI's byte for byte.

use std::borrow::Cow;

use serde_json::{Number, Value};

use crate::east_asian_width::WIDE;

/// `repr(float)`, which `str()` and `json.dumps` use: the shortest digits that round-trip,
/// fixed notation when the decimal point falls within 16 digits (`1000000000000000.0`,
/// `0.0001`), else scientific with a signed two-digit exponent (`1e+16`, `1e-05`).
pub fn float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_string();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_string();
    }
    // Rust's `{:e}` gives the same shortest round-trip digits: "1.5e-5", "-1e16", "0e0".
    let sci = format!("{x:e}");
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    // The value is 0.DIGITS x 10^point.
    let point = exponent + 1;
    if !(-4 < point && point <= 16) {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let e = point - 1;
        let e_sign = if e < 0 { '-' } else { '+' };
        return format!("{sign}{first}{fraction}e{e_sign}{:02}", e.abs());
    }
    let body = if point <= 0 {
        format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
    } else if point as usize >= digits.len() {
        format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
    } else {
        let (whole, fraction) = digits.split_at(point as usize);
        format!("{whole}.{fraction}")
    };
    format!("{sign}{body}")
}

/// A JSON number as Python prints it.
pub fn number_repr(n: &Number) -> Cow<'_, str> {
    match n.as_f64() {
        Some(f) if n.is_f64() => Cow::Owned(float_repr(f)),
        _ => Cow::Owned(n.to_string()),
    }
}

/// `str(value)` for a scalar: strings as they are, `None`, `True`, `False`, numbers as Python
/// prints them. Containers get their JSON text (the formatters never print them with `str`).
pub fn py_str(value: &Value) -> Cow<'_, str> {
    match value {
        Value::String(s) => Cow::Borrowed(s),
        Value::Null => Cow::Borrowed("None"),
        Value::Bool(true) => Cow::Borrowed("True"),
        Value::Bool(false) => Cow::Borrowed("False"),
        Value::Number(n) => number_repr(n),
        other => Cow::Owned(other.to_string()),
    }
}

/// `repr(value)` with Python's literals: `{'k': 'v'}`, `['a', None, True]`. Used where the AWS
/// CLI prints a container with `str()` (a key scalar in one dict of a list but not in
/// another). Non-printable characters are approximated by Rust's `char::is_control`.
pub fn py_repr(value: &Value) -> String {
    match value {
        Value::String(s) => str_repr(s),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(py_repr).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Object(map) => {
            let inner: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", str_repr(k), py_repr(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
        scalar => py_str(scalar).into_owned(),
    }
}

fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {
                let cp = c as u32;
                if cp < 0x100 {
                    out.push_str(&format!("\\x{cp:02x}"));
                } else {
                    out.push_str(&format!("\\u{cp:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// Columns a text takes in the AWS CLI's tables (`awscli.table.get_text_length`): two for
/// East Asian Wide, Fullwidth and Ambiguous characters, one for the rest.
pub fn text_length(text: &str) -> usize {
    text.chars()
        .map(|c| {
            let cp = c as u32;
            if cp < 0xA1 {
                return 1;
            }
            let wide = WIDE
                .binary_search_by(|&(lo, hi)| {
                    if hi < cp {
                        std::cmp::Ordering::Less
                    } else if lo > cp {
                        std::cmp::Ordering::Greater
                    } else {
                        std::cmp::Ordering::Equal
                    }
                })
                .is_ok();
            1 + usize::from(wide)
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_as_python() {
        // python3 -c 'for x in [...]: print(repr(x))'
        for (x, py) in [
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (1705287845.0, "1705287845.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (-2.5, "-2.5"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (123456789.125, "123456789.125"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (0.1, "0.1"),
        ] {
            assert_eq!(float_repr(x), py, "{x}");
        }
    }

    #[test]
    fn reprs_as_python() {
        // python3 -c 'print(repr({"a": [None, True, 1.5, "it\'s"], "b\n": "x\x1b"}))'
        let v = serde_json::json!({"a": [null, true, 1.5, "it's"], "b\n": "x\u{1b}"});
        assert_eq!(
            py_repr(&v),
            r#"{'a': [None, True, 1.5, "it's"], 'b\n': 'x\x1b'}"#
        );
    }

    #[test]
    fn widths() {
        assert_eq!(text_length("abc"), 3);
        assert_eq!(text_length("日本"), 4);
        assert_eq!(text_length("é"), 2); // Python: Ambiguous, so two columns
        assert_eq!(text_length("\u{a0}"), 1);
        assert_eq!(text_length("±"), 2); // ambiguous counts double
    }
}
