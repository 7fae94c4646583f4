//! `--lookup-attributes` values: the AWS CLI's shorthand and JSON forms.
//!
//! Shorthand: `AttributeKey=EventName,AttributeValue=ConsoleLogin`; a value holding a comma
//! is quoted (`AttributeValue="a,b"` or `'a,b'`) or the comma escaped (`a\,b`), as in the AWS
//! CLI's shorthand syntax. JSON: `[{"AttributeKey":"EventName","AttributeValue":"X"}]` (a
//! single object is accepted too). Several values, in one flag or in repeated flags, are
//! AND-combined.

use trailscan_records::{AttributeKey, LookupAttribute};

/// Why a `--lookup-attributes` value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AttributeArgError {
    /// Neither shorthand nor JSON.
    #[error("Error parsing parameter '--lookup-attributes': {reason}: {value}")]
    Syntax {
        /// What is wrong.
        reason: String,
        /// The value as given.
        value: String,
    },
}

/// Parses one `--lookup-attributes` value into one or more attributes.
pub fn parse_attribute_arg(value: &str) -> Result<Vec<LookupAttribute>, AttributeArgError> {
    let err = |reason: &str| AttributeArgError::Syntax {
        reason: reason.to_string(),
        value: value.to_string(),
    };
    let trimmed = value.trim_start();
    if trimmed.starts_with('[') || trimmed.starts_with('{') {
        return parse_json(value).map_err(|r| err(&r));
    }
    let mut key = None;
    let mut val = None;
    for pair in split_unquoted(value, ',').map_err(|r| err(&r))? {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| err("expected AttributeKey=...,AttributeValue=..."))?;
        match k.trim() {
            "AttributeKey" => key = Some(unquote(v.trim())),
            "AttributeValue" => val = Some(unquote(v)),
            other => {
                // `EventName=X`: an attribute key where the shorthand's member belongs.
                let hint = match other.parse::<AttributeKey>() {
                    Ok(key) => format!(
                        "; the shorthand is AttributeKey={key},AttributeValue={}",
                        unquote(v)
                    ),
                    Err(_) => "; the shorthand is AttributeKey=KEY,AttributeValue=VALUE".into(),
                };
                return Err(err(&format!("unknown member '{other}'{hint}")));
            }
        }
    }
    let key = key.ok_or_else(|| err("missing AttributeKey"))?;
    let value_text = val.ok_or_else(|| err("missing AttributeValue"))?;
    Ok(vec![attribute(&key, value_text).map_err(|r| err(&r))?])
}

fn attribute(key: &str, value: String) -> Result<LookupAttribute, String> {
    let key: AttributeKey = key
        .parse()
        .map_err(|e: trailscan_records::UnknownAttributeKey| e.to_string())?;
    if value.is_empty() {
        return Err("AttributeValue must not be empty".to_string());
    }
    Ok(LookupAttribute { key, value })
}

fn parse_json(value: &str) -> Result<Vec<LookupAttribute>, String> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Json {
        #[serde(rename = "AttributeKey")]
        key: String,
        #[serde(rename = "AttributeValue")]
        value: String,
    }
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        Many(Vec<Json>),
        One(Json),
    }
    let parsed: OneOrMany =
        serde_json::from_str(value).map_err(|e| format!("invalid JSON ({e})"))?;
    let list = match parsed {
        OneOrMany::Many(list) => list,
        OneOrMany::One(one) => vec![one],
    };
    if list.is_empty() {
        return Err("the list is empty".to_string());
    }
    list.into_iter()
        .map(|j| attribute(&j.key, j.value))
        .collect()
}

/// Splits on `sep` outside quotes; `\` escapes the next character.
fn split_unquoted(s: &str, sep: char) -> Result<Vec<String>, String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quote = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match (c, quote) {
            ('\\', _) => {
                let next = chars.next().ok_or("a trailing backslash")?;
                // Keep the escape for unquote() to drop, so quotes stay literal.
                current.push('\\');
                current.push(next);
            }
            ('"' | '\'', None) => {
                quote = Some(c);
                current.push(c);
            }
            (c, Some(q)) if c == q => {
                quote = None;
                current.push(c);
            }
            (c, None) if c == sep => parts.push(std::mem::take(&mut current)),
            (c, _) => current.push(c),
        }
    }
    if quote.is_some() {
        return Err("an unclosed quote".to_string());
    }
    parts.push(current);
    Ok(parts)
}

/// Drops surrounding quotes and backslash escapes.
fn unquote(s: &str) -> String {
    let inner = match s.as_bytes() {
        [b'"', .., b'"'] | [b'\'', .., b'\''] if s.len() >= 2 => &s[1..s.len() - 1],
        _ => s,
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(s: &str) -> (AttributeKey, String) {
        let v = parse_attribute_arg(s).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v.len(), 1);
        (v[0].key, v[0].value.clone())
    }

    #[test]
    fn shorthand() {
        assert_eq!(
            one("AttributeKey=EventName,AttributeValue=ConsoleLogin"),
            (AttributeKey::EventName, "ConsoleLogin".into())
        );
        assert_eq!(
            one("AttributeValue=alice,AttributeKey=Username"),
            (AttributeKey::Username, "alice".into())
        );
        assert_eq!(
            one(r#"AttributeKey=ResourceName,AttributeValue="a,b=c""#),
            (AttributeKey::ResourceName, "a,b=c".into())
        );
        assert_eq!(
            one(r"AttributeKey=ResourceName,AttributeValue=a\,b"),
            (AttributeKey::ResourceName, "a,b".into())
        );
        assert_eq!(
            one("AttributeKey=ResourceName,AttributeValue=arn:aws:iam::123456789012:role/x=y"),
            (
                AttributeKey::ResourceName,
                "arn:aws:iam::123456789012:role/x=y".into()
            )
        );
    }

    #[test]
    fn json_forms() {
        let v = parse_attribute_arg(r#"[{"AttributeKey":"EventSource","AttributeValue":"s3.amazonaws.com"},{"AttributeKey":"ReadOnly","AttributeValue":"false"}]"#).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].key, AttributeKey::ReadOnly);
        assert_eq!(
            one(r#"{"AttributeKey":"EventId","AttributeValue":"x"}"#),
            (AttributeKey::EventId, "x".into())
        );
    }

    #[test]
    fn errors_name_the_problem() {
        for (arg, needle) in [
            (
                "AttributeKey=Bogus,AttributeValue=x",
                "unknown AttributeKey 'Bogus'",
            ),
            (
                "AttributeKey=eventname,AttributeValue=x",
                "unknown AttributeKey 'eventname'",
            ),
            ("AttributeKey=EventName", "missing AttributeValue"),
            (
                "AttributeKey=EventName,AttributeValue=",
                "must not be empty",
            ),
            ("EventName=x", "unknown member 'EventName'"),
            ("[]", "the list is empty"),
            ("[{\"AttributeKey\":1}]", "invalid JSON"),
            (
                "AttributeKey=EventName,AttributeValue=\"x",
                "unclosed quote",
            ),
        ] {
            let e = parse_attribute_arg(arg).unwrap_err().to_string();
            assert!(e.contains(needle), "{arg}: {e}");
        }
    }
}
