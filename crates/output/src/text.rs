//! `--output text`, ported from awscli 1.45.11 `awscli/text.py`.
//!
//! Dicts print their scalar values on one tab-separated line, in sorted key order, after the
//! upper-cased key they sit under; lists of dicts share the union of their scalar keys as
//! columns (a missing key prints empty); nested values follow, each under its own key.

use std::collections::BTreeSet;
use std::io::{self, Write};

use serde_json::{Map, Value};

use crate::python::{py_repr, py_str};

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

/// Writes `value` as the AWS CLI's text output.
pub fn format_text(value: &Value, out: &mut dyn Write) -> io::Result<()> {
    format_item(value, out, None, None)
}

fn format_item(
    item: &Value,
    out: &mut dyn Write,
    identifier: Option<&str>,
    scalar_keys: Option<&[String]>,
) -> io::Result<()> {
    match item {
        Value::Object(map) => format_dict(scalar_keys, map, identifier, out),
        Value::Array(list) => format_list(list, identifier, out),
        scalar => writeln!(out, "{}", py_str(scalar)),
    }
}

fn format_list(items: &[Value], identifier: Option<&str>, out: &mut dyn Write) -> io::Result<()> {
    if items.is_empty() {
        return Ok(());
    }
    if items.iter().any(Value::is_object) {
        let keys = all_scalar_keys(items);
        for element in items {
            format_item(element, out, identifier, Some(&keys))?;
        }
    } else if items.iter().any(Value::is_array) {
        let (scalars, non_scalars): (Vec<&Value>, Vec<&Value>) =
            items.iter().partition(|v| is_scalar(v));
        if !scalars.is_empty() {
            format_scalar_list(&scalars, identifier, out)?;
        }
        for non_scalar in non_scalars {
            format_item(non_scalar, out, identifier, None)?;
        }
    } else {
        let all: Vec<&Value> = items.iter().collect();
        format_scalar_list(&all, identifier, out)?;
    }
    Ok(())
}

fn format_scalar_list(
    elements: &[&Value],
    identifier: Option<&str>,
    out: &mut dyn Write,
) -> io::Result<()> {
    match identifier {
        Some(id) => {
            let id = id.to_uppercase();
            for item in elements {
                writeln!(out, "{id}\t{}", py_str(item))?;
            }
            Ok(())
        }
        None => {
            let cells: Vec<_> = elements.iter().map(|v| py_str(v)).collect();
            writeln!(out, "{}", cells.join("\t"))
        }
    }
}

fn format_dict(
    scalar_keys: Option<&[String]>,
    item: &Map<String, Value>,
    identifier: Option<&str>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let (mut scalars, non_scalars) = partition_dict(item, scalar_keys);
    if !scalars.is_empty() {
        if let Some(id) = identifier {
            scalars.insert(0, id.to_uppercase());
        }
        writeln!(out, "{}", scalars.join("\t"))?;
    }
    for (key, value) in non_scalars {
        format_item(value, out, Some(key), None)?;
    }
    Ok(())
}

/// The sorted union of the keys with scalar values in any dict of the list.
fn all_scalar_keys(items: &[Value]) -> Vec<String> {
    let keys: BTreeSet<&String> = items
        .iter()
        .filter_map(Value::as_object)
        .flat_map(|m| m.iter().filter(|(_, v)| is_scalar(v)).map(|(k, _)| k))
        .collect();
    keys.into_iter().cloned().collect()
}

fn partition_dict<'a>(
    item: &'a Map<String, Value>,
    scalar_keys: Option<&[String]>,
) -> (Vec<String>, Vec<(&'a str, &'a Value)>) {
    let mut sorted: Vec<(&String, &Value)> = item.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    match scalar_keys {
        None => {
            let mut scalar = Vec::new();
            let mut non_scalar = Vec::new();
            for (k, v) in sorted {
                if is_scalar(v) {
                    scalar.push(py_str(v).into_owned());
                } else {
                    non_scalar.push((k.as_str(), v));
                }
            }
            (scalar, non_scalar)
        }
        Some(keys) => {
            // A key scalar elsewhere in the list but a container here prints as Python's
            // str() of it, as the AWS CLI does.
            let scalar = keys
                .iter()
                .map(|k| match item.get(k) {
                    None => String::new(),
                    Some(v) if is_scalar(v) => py_str(v).into_owned(),
                    Some(v) => py_repr(v),
                })
                .collect();
            let non_scalar = sorted
                .into_iter()
                .filter(|(k, _)| !keys.contains(k))
                .map(|(k, v)| (k.as_str(), v))
                .collect();
            (scalar, non_scalar)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(v: &Value) -> String {
        let mut out = Vec::new();
        format_text(v, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// The spec's two-event example, first page (section 3.3), with `<CTE>` for the event text.
    #[test]
    fn events_page() {
        let page = json!({"Events": [
            {"EventId": "1111", "EventName": "TerminateInstances", "ReadOnly": "false", "AccessKeyId": "AKIAIOSFODNN7EXAMPLE",
             "EventTime": "1705287845.0", "EventSource": "ec2.amazonaws.com", "Username": "alice",
             "Resources": [{"ResourceType": "AWS::EC2::Instance", "ResourceName": "i-0123456789abcdef0"}], "CloudTrailEvent": "<CTE>"},
        ]});
        assert_eq!(
            text(&page),
            "EVENTS\tAKIAIOSFODNN7EXAMPLE\t<CTE>\t1111\tTerminateInstances\tec2.amazonaws.com\t1705287845.0\tfalse\talice\n\
             RESOURCES\ti-0123456789abcdef0\tAWS::EC2::Instance\n"
        );
    }

    #[test]
    fn lists_and_scalars() {
        assert_eq!(
            text(&json!([["a", null, 1.0], ["b", true, 2]])),
            "a\tNone\t1.0\nb\tTrue\t2\n"
        );
        assert_eq!(
            text(&json!({"NextToken": {"NextToken": "tok"}})),
            "NEXTTOKEN\ttok\n"
        );
        assert_eq!(text(&json!(null)), "None\n");
        assert_eq!(text(&json!([])), "");
        assert_eq!(text(&json!({"Ids": ["x", "y"]})), "IDS\tx\nIDS\ty\n");
    }
}
