//! `--output csv`: RFC 4180 quoting, one header row, and a guard against formula injection.
//!
//! A cell that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is prefixed with
//! `'`, so that a spreadsheet shows it instead of evaluating it (OWASP "CSV Injection"):
//! user names, user agents and request parameters are chosen by whoever made the call.

use std::io::{self, Write};

use serde_json::Value;
use trailscan_records::LookupEvent;

use crate::lookup_json::EVENT_MEMBERS;

/// The columns of `--output csv` without `--query`: the members of `Event`.
pub const EVENT_COLUMNS: [&str; 9] = EVENT_MEMBERS;

/// Quotes one cell.
pub fn cell(text: &str) -> String {
    let guarded = match text.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{text}"),
        _ => text.to_string(),
    };
    if guarded.contains(['"', ',', '\n', '\r']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// Writes one row.
pub fn write_row<S: AsRef<str>>(out: &mut dyn Write, cells: &[S]) -> io::Result<()> {
    let line: Vec<String> = cells.iter().map(|c| cell(c.as_ref())).collect();
    writeln!(out, "{}", line.join(","))
}

/// A value as a cell: strings as they are, `null` empty, containers as compact JSON.
pub fn value_cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// One event as a row of [`EVENT_COLUMNS`]; `Resources` as compact JSON.
pub fn event_row(e: &LookupEvent) -> Vec<String> {
    let resources: Vec<Value> = e
        .resources
        .iter()
        .map(|r| serde_json::json!({"ResourceType": r.resource_type, "ResourceName": r.resource_name}))
        .collect();
    vec![
        e.event_id.clone().unwrap_or_default(),
        e.event_name.clone().unwrap_or_default(),
        e.read_only.map(|b| b.to_string()).unwrap_or_default(),
        e.access_key_id.clone().unwrap_or_default(),
        e.event_time.to_iso(),
        e.event_source.clone().unwrap_or_default(),
        e.username.clone().unwrap_or_default(),
        Value::Array(resources).to_string(),
        e.cloudtrail_event.clone(),
    ]
}

/// Writes a `--query` result that is a list of lists (or of scalars, or of objects) as rows,
/// after a header of `names` (or the first object's keys).
pub fn write_query_rows(
    out: &mut dyn Write,
    result: &Value,
    names: Option<Vec<String>>,
) -> Result<io::Result<()>, String> {
    let Value::Array(rows) = result else {
        return Err("--output csv needs the --query result to be a list (for example Events[*].[EventTime,EventName])".to_string());
    };
    let header = match rows.first() {
        Some(Value::Object(first)) => first.keys().cloned().collect(),
        Some(Value::Array(first)) => {
            names.unwrap_or_else(|| (1..=first.len()).map(|i| format!("column{i}")).collect())
        }
        _ => names.unwrap_or_else(|| vec!["value".to_string()]),
    };
    let mut write = || -> io::Result<()> {
        write_row(out, &header)?;
        for row in rows {
            let cells: Vec<String> = match row {
                Value::Array(items) => items.iter().map(value_cell).collect(),
                Value::Object(map) => header
                    .iter()
                    .map(|k| map.get(k).map(value_cell).unwrap_or_default())
                    .collect(),
                scalar => vec![value_cell(scalar)],
            };
            write_row(out, &cells)?;
        }
        Ok(())
    };
    Ok(write())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quoting_and_guards() {
        assert_eq!(cell("plain"), "plain");
        assert_eq!(cell("a,b"), "\"a,b\"");
        assert_eq!(cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(cell("line\nbreak"), "\"line\nbreak\"");
        assert_eq!(cell("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("-1"), "'-1");
    }

    #[test]
    fn query_rows() {
        let mut out = Vec::new();
        let v = json!([["t1", "Run", null], ["t0", "a,b", 3]]);
        write_query_rows(
            &mut out,
            &v,
            Some(vec!["EventTime".into(), "EventName".into(), "N".into()]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "EventTime,EventName,N\nt1,Run,\nt0,\"a,b\",3\n"
        );
        assert!(write_query_rows(&mut Vec::new(), &json!({"a": 1}), None).is_err());
    }
}
