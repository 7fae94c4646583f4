//! One CloudTrail record as one row of the table: a JSON object keyed by the table's column
//! names, which both writers take (Arrow's JSON decoder for Parquet, and JSON lines as is).

use serde_json::{Map, Value};
use trailscan_layout::time::civil_from_days;

use crate::schema::SOURCE_SHA256;
use crate::schema::{Column, Kind, COLUMNS, EVENT_TS, RECORD_COLUMNS, RECORD_INDEX, SOURCE_KEY};

/// Where a record came from.
#[derive(Debug, Clone, Copy)]
pub struct Provenance<'a> {
    /// The log file's key.
    pub source_key: &'a str,
    /// SHA-256 (hex) of the log file as stored.
    pub source_sha256: &'a str,
    /// Position in the file's `Records` list.
    pub record_index: usize,
}

/// A row ready for a writer: its sort key and its JSON text (one line, no newline).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Row {
    /// `event_ts`, epoch milliseconds: rows are written in this order.
    pub ts_millis: i64,
    /// The row as a JSON object (ties in time are ordered by this text, which ends with the
    /// provenance, so the order never depends on which thread read what).
    pub line: Vec<u8>,
}

/// Why a record cannot become a row.
#[derive(Debug, thiserror::Error)]
pub enum RowError {
    /// Not valid JSON.
    #[error("record is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Valid JSON, not an object.
    #[error("record is not a JSON object")]
    NotAnObject,
}

/// Builds the row of one record (`raw`, its JSON text as in the log file) whose event time
/// is `ts_millis`.
pub fn build_row(raw: &[u8], ts_millis: i64, provenance: &Provenance<'_>) -> Result<Row, RowError> {
    let Value::Object(record) = serde_json::from_slice::<Value>(raw)? else {
        return Err(RowError::NotAnObject);
    };
    let mut row = table_object(&record, &COLUMNS[..RECORD_COLUMNS]);
    row.insert(EVENT_TS.into(), Value::String(iso_millis(ts_millis)));
    row.insert(SOURCE_KEY.into(), provenance.source_key.into());
    row.insert(SOURCE_SHA256.into(), provenance.source_sha256.into());
    row.insert(RECORD_INDEX.into(), provenance.record_index.into());
    let line = serde_json::to_vec(&Value::Object(row))?;
    Ok(Row { ts_millis, line })
}

/// The members of `object` that `columns` name (keys compared without case, as Hive's JSON
/// SerDe does), converted to the columns' types; absent and null members are left out.
fn table_object(object: &Map<String, Value>, columns: &[Column]) -> Map<String, Value> {
    let mut out = Map::new();
    for column in columns {
        let found = object
            .get(column.name)
            .or_else(|| {
                object
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(column.name))
                    .map(|(_, v)| v)
            })
            .filter(|v| !v.is_null());
        if let Some(value) = found.and_then(|v| convert(v, &column.kind)) {
            out.insert(column.name.into(), value);
        }
    }
    out
}

fn convert(value: &Value, kind: &Kind) -> Option<Value> {
    match (kind, value) {
        (Kind::Str | Kind::MapOfStr, _) if value.is_null() => None,
        (Kind::Str, Value::String(_)) => Some(value.clone()),
        (Kind::Str, other) => Some(Value::String(other.to_string())),
        (Kind::Struct(columns), Value::Object(o)) => Some(Value::Object(table_object(o, columns))),
        (Kind::ListOfStruct(columns), Value::Array(items)) => Some(Value::Array(
            items
                .iter()
                .map(|item| match item {
                    Value::Object(o) => Value::Object(table_object(o, columns)),
                    _ => Value::Null,
                })
                .collect(),
        )),
        (Kind::MapOfStr, Value::Object(o)) => Some(Value::Object(
            o.iter()
                .filter_map(|(k, v)| Some((k.clone(), convert(v, &Kind::Str)?)))
                .collect(),
        )),
        _ => None,
    }
}

/// `2024-01-15T03:04:05.000Z`.
pub fn iso_millis(ts_millis: i64) -> String {
    let secs = ts_millis.div_euclid(1000);
    let millis = ts_millis.rem_euclid(1000);
    let rem = secs.rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}.{millis:03}Z",
        day_string(secs.div_euclid(86_400)),
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `YYYY-MM-DD` of a day number (days since 1970-01-01).
pub fn day_string(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(json: &str) -> Value {
        let p = Provenance {
            source_key: "AWSLogs/k.json.gz",
            source_sha256: "ab",
            record_index: 7,
        };
        serde_json::from_slice(
            &build_row(json.as_bytes(), 1_705_287_845_000, &p)
                .unwrap()
                .line,
        )
        .unwrap()
    }

    #[test]
    fn names_types_and_blobs_follow_the_aws_table() {
        let r = row(
            r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","userName":"alice","sessionContext":{"webIdFederationData":{"attributes":{"a":1}}}},
            "eventTime":"2024-01-15T03:04:05Z","sourceIPAddress":"1.2.3.4","requestParameters":{"bucketName":"b","n":[1,2]},
            "responseElements":null,"readOnly":true,"resources":[{"ARN":"arn:aws:s3:::b","type":"AWS::S3::Bucket"},"junk"],"unknownField":1}"#,
        );
        assert_eq!(r["eventversion"], "1.08");
        assert_eq!(r["useridentity"]["username"], "alice");
        assert_eq!(
            r["useridentity"]["sessioncontext"]["webidfederationdata"]["attributes"]["a"],
            "1"
        );
        assert_eq!(r["sourceipaddress"], "1.2.3.4");
        assert_eq!(r["requestparameters"], r#"{"bucketName":"b","n":[1,2]}"#);
        assert!(r.get("responseelements").is_none());
        assert_eq!(r["readonly"], "true");
        assert_eq!(r["resources"][0]["arn"], "arn:aws:s3:::b");
        assert!(r["resources"][1].is_null());
        assert!(r.get("unknownfield").is_none());
        assert_eq!(r["event_ts"], "2024-01-15T03:04:05.000Z");
        assert_eq!(r["source_key"], "AWSLogs/k.json.gz");
        assert_eq!(r["record_index"], 7);
    }

    #[test]
    fn wrong_types_become_null_not_errors() {
        let r = row(r#"{"userIdentity":"x","resources":{"a":1},"eventName":5}"#);
        assert!(r.get("useridentity").is_none());
        assert!(r.get("resources").is_none());
        assert_eq!(r["eventname"], "5");
        assert!(build_row(
            b"[1]",
            0,
            &Provenance {
                source_key: "",
                source_sha256: "",
                record_index: 0
            }
        )
        .is_err());
    }

    #[test]
    fn iso_millis_before_and_after_epoch() {
        assert_eq!(iso_millis(1_705_287_845_123), "2024-01-15T03:04:05.123Z");
        assert_eq!(iso_millis(-1), "1969-12-31T23:59:59.999Z");
    }
}
