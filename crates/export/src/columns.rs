//! Records straight into the table's Arrow columns: the scan's parse (simd-json's tape) is
//! read once and each value converted to its column's type as [`COLUMNS`] declares it, with
//! no JSON text in between (an earlier version wrote each row as JSON and had Arrow parse it
//! again: three passes over every record, most of the export's time).
//!
//! The conversion is AWS's CloudTrail SerDe's: member names compared without case, a value
//! that is not a string kept as its JSON text in a STRING column, a STRUCT null where the
//! record's value is not an object, an array item that is not an object a null STRUCT.

use std::borrow::Cow;
use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder, Int32Builder, NullBufferBuilder, StringBuilder, TimestampMillisecondBuilder,
};
use arrow_array::{ArrayRef, ListArray, MapArray, RecordBatch, StructArray};
use arrow_buffer::{OffsetBuffer, ScalarBuffer};
use arrow_schema::{ArrowError, DataType, Fields};
// Not the whole prelude: its `Array` trait gives `Vec` an `iter()` that boxes.
use simd_json::prelude::{TypedScalarValue, ValueAsScalar};
use simd_json::tape::{Object, Value};

use crate::schema::{arrow_schema, data_type, Column, Kind, COLUMNS, RECORD_COLUMNS};
use trailscan_records::json_text::write_value;

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

/// The most members a STRUCT of the table has (the record itself: 29 columns); a bit each
/// in a `u32`.
const MAX_MEMBERS: usize = 32;

/// Rows of the table under construction, one column builder per column.
pub struct RowsBuilder {
    record: StructBuilder,
    event_ts: TimestampMillisecondBuilder,
    source_key: StringBuilder,
    source_sha256: StringBuilder,
    record_index: Int32Builder,
    /// JSON text of the value being converted (reused).
    scratch: Vec<u8>,
}

impl Default for RowsBuilder {
    fn default() -> Self {
        RowsBuilder {
            record: StructBuilder::new(&COLUMNS[..RECORD_COLUMNS]),
            event_ts: TimestampMillisecondBuilder::new().with_timezone("+00:00"),
            source_key: StringBuilder::new(),
            source_sha256: StringBuilder::new(),
            record_index: Int32Builder::new(),
            scratch: Vec::new(),
        }
    }
}

impl RowsBuilder {
    /// Rows appended so far.
    pub fn len(&self) -> usize {
        self.record_index.len()
    }

    /// True before the first row.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Appends the row of one record (its parsed value, a JSON object) whose event time is
    /// `ts_millis`.
    pub fn append(&mut self, record: Value<'_, '_>, ts_millis: i64, provenance: &Provenance<'_>) {
        self.record.append_members(record, &mut self.scratch);
        self.event_ts.append_value(ts_millis);
        self.source_key.append_value(provenance.source_key);
        self.source_sha256.append_value(provenance.source_sha256);
        self.record_index
            .append_value(i32::try_from(provenance.record_index).unwrap_or(i32::MAX));
    }

    /// The rows as a batch of the table's schema.
    pub fn finish(mut self) -> Result<RecordBatch, ArrowError> {
        let mut columns = self.record.finish_members()?;
        columns.push(Arc::new(self.event_ts.finish()));
        columns.push(Arc::new(self.source_key.finish()));
        columns.push(Arc::new(self.source_sha256.finish()));
        columns.push(Arc::new(self.record_index.finish()));
        RecordBatch::try_new(arrow_schema(), columns)
    }
}

/// A column's builder, after its [`Kind`].
enum ColumnBuilder {
    Str(StringBuilder),
    Struct(StructBuilder),
    ListOfStruct {
        items: StructBuilder,
        offsets: Vec<i32>,
        nulls: NullBufferBuilder,
    },
    MapOfStr {
        keys: StringBuilder,
        values: StringBuilder,
        offsets: Vec<i32>,
        nulls: NullBufferBuilder,
    },
    TimestampMillis(TimestampMillisecondBuilder),
    Int32(Int32Builder),
}

/// A STRUCT's members and which rows have one.
struct StructBuilder {
    columns: &'static [Column],
    members: Vec<ColumnBuilder>,
    nulls: NullBufferBuilder,
    /// The columns whose names have each length: a member's column is found by comparing
    /// its name with two or three, not all (this lookup was the export's hottest code).
    by_length: Vec<Vec<u8>>,
    /// For each member of the object being appended, its column ([`NO_COLUMN`]: none).
    resolved: Vec<u8>,
}

/// A member that no column takes.
const NO_COLUMN: u8 = u8::MAX;

impl StructBuilder {
    fn new(columns: &'static [Column]) -> StructBuilder {
        assert!(
            columns.len() <= MAX_MEMBERS,
            "a STRUCT of more than {MAX_MEMBERS} members"
        );
        let mut by_length =
            vec![Vec::new(); columns.iter().map(|c| c.name.len() + 1).max().unwrap_or(0)];
        for (i, column) in columns.iter().enumerate() {
            by_length[column.name.len()].push(i as u8);
        }
        StructBuilder {
            columns,
            members: columns
                .iter()
                .map(|c| ColumnBuilder::new(&c.kind))
                .collect(),
            nulls: NullBufferBuilder::new(0),
            by_length,
            resolved: Vec::new(),
        }
    }

    /// The column a member named `key` goes to: the column of that name compared without
    /// case.
    fn column_of(&self, key: &str) -> u8 {
        let Some(candidates) = self.by_length.get(key.len()) else {
            return NO_COLUMN;
        };
        candidates
            .iter()
            .copied()
            .find(|&i| self.columns[usize::from(i)].name.eq_ignore_ascii_case(key))
            .unwrap_or(NO_COLUMN)
    }

    /// Appends an object's members (or nulls, for a value that is not an object), without
    /// this STRUCT's own validity.
    fn append_members(&mut self, value: Value<'_, '_>, scratch: &mut Vec<u8>) -> bool {
        let Some(object) = value.as_object() else {
            for member in &mut self.members {
                member.append(None, scratch);
            }
            return false;
        };
        let mut seen = 0u32;
        let mut repeated = false;
        self.resolved.clear();
        for key in object.keys() {
            let column = self.column_of(key);
            if column != NO_COLUMN {
                repeated |= seen & (1 << column) != 0;
                seen |= 1 << column;
            }
            self.resolved.push(column);
        }
        if repeated {
            self.append_repeated(object, scratch);
            return true;
        }
        for ((_, value), &column) in object.iter().zip(&self.resolved) {
            if column != NO_COLUMN {
                self.members[usize::from(column)].append(Some(value), scratch);
            }
        }
        for (i, member) in self.members.iter_mut().enumerate() {
            if seen & (1 << i) == 0 {
                member.append(None, scratch);
            }
        }
        true
    }

    /// [`Self::append_members`] for an object where a column's name comes more than once
    /// (in different case, or repeated): the column takes the member of exactly its name,
    /// else the first whose name equals it without case; a repeated member its last value
    /// (as serde_json's map).
    fn append_repeated(&mut self, object: Object<'_, '_>, scratch: &mut Vec<u8>) {
        let mut found: Vec<Option<(&str, Value<'_, '_>)>> = vec![None; self.members.len()];
        for ((key, value), &column) in object.iter().zip(&self.resolved) {
            let Some(slot) = found.get_mut(usize::from(column)) else {
                continue;
            };
            let exact = |name: &str| name == self.columns[usize::from(column)].name;
            let replace = match slot {
                None => true,
                Some((name, _)) => *name == key || (exact(key) && !exact(name)),
            };
            if replace {
                *slot = Some((key, value));
            }
        }
        for (member, found) in self.members.iter_mut().zip(found) {
            member.append(found.map(|(_, value)| value), scratch);
        }
    }

    fn append(&mut self, value: Option<Value<'_, '_>>, scratch: &mut Vec<u8>) {
        let present = self.append_members(value.unwrap_or(Value::NULL), scratch);
        self.nulls.append(present);
    }

    fn finish_members(&mut self) -> Result<Vec<ArrayRef>, ArrowError> {
        self.members.iter_mut().map(ColumnBuilder::finish).collect()
    }

    fn finish(&mut self) -> Result<StructArray, ArrowError> {
        let fields = match data_type(&Kind::Struct(self.columns)) {
            DataType::Struct(fields) => fields,
            _ => Fields::empty(),
        };
        let members = self.finish_members()?;
        StructArray::try_new(fields, members, self.nulls.finish())
    }
}

impl ColumnBuilder {
    fn new(kind: &'static Kind) -> ColumnBuilder {
        match kind {
            Kind::Str => ColumnBuilder::Str(StringBuilder::new()),
            Kind::Struct(columns) => ColumnBuilder::Struct(StructBuilder::new(columns)),
            Kind::ListOfStruct(columns) => ColumnBuilder::ListOfStruct {
                items: StructBuilder::new(columns),
                offsets: vec![0],
                nulls: NullBufferBuilder::new(0),
            },
            Kind::MapOfStr => ColumnBuilder::MapOfStr {
                keys: StringBuilder::new(),
                values: StringBuilder::new(),
                offsets: vec![0],
                nulls: NullBufferBuilder::new(0),
            },
            Kind::TimestampMillis => ColumnBuilder::TimestampMillis(
                TimestampMillisecondBuilder::new().with_timezone("+00:00"),
            ),
            Kind::Int32 => ColumnBuilder::Int32(Int32Builder::new()),
        }
    }

    /// Appends the record's value for this column (`None`: absent).
    fn append(&mut self, value: Option<Value<'_, '_>>, scratch: &mut Vec<u8>) {
        let value = value.filter(|v| !v.is_null());
        match self {
            ColumnBuilder::Str(builder) => match value {
                Some(v) => match v.as_str() {
                    Some(s) => builder.append_value(s),
                    None => builder.append_value(json_text(v, scratch)),
                },
                None => builder.append_null(),
            },
            ColumnBuilder::Struct(builder) => builder.append(value, scratch),
            ColumnBuilder::ListOfStruct {
                items,
                offsets,
                nulls,
                ..
            } => {
                let array = value.and_then(|v| v.as_array());
                if let Some(array) = &array {
                    for item in array.iter() {
                        items.append(Some(item), scratch);
                    }
                }
                offsets.push(items.nulls.len() as i32);
                nulls.append(array.is_some());
            }
            ColumnBuilder::MapOfStr {
                keys,
                values,
                offsets,
                nulls,
                ..
            } => {
                let object = value.and_then(|v| v.as_object());
                if let Some(object) = &object {
                    // Null members left out; a repeated key once, at its first place, with
                    // its last value (as serde_json's map).
                    let mut entries: Vec<(&str, String)> = Vec::new();
                    for (key, member) in object.iter() {
                        let text = match member.as_str() {
                            Some(s) => s.to_string(),
                            None if member.is_null() => continue,
                            None => json_text(member, scratch).into_owned(),
                        };
                        match entries.iter_mut().find(|(k, _)| *k == key) {
                            Some(entry) => entry.1 = text,
                            None => entries.push((key, text)),
                        }
                    }
                    for (key, text) in entries {
                        keys.append_value(key);
                        values.append_value(text);
                    }
                }
                offsets.push(keys.len() as i32);
                nulls.append(object.is_some());
            }
            ColumnBuilder::TimestampMillis(builder) => {
                builder.append_option(value.and_then(|v| v.as_i64()))
            }
            ColumnBuilder::Int32(builder) => builder.append_option(
                value
                    .and_then(|v| v.as_i64())
                    .and_then(|n| i32::try_from(n).ok()),
            ),
        }
    }

    fn finish(&mut self) -> Result<ArrayRef, ArrowError> {
        Ok(match self {
            ColumnBuilder::Str(builder) => Arc::new(builder.finish()),
            ColumnBuilder::Struct(builder) => Arc::new(builder.finish()?),
            ColumnBuilder::ListOfStruct {
                items,
                offsets,
                nulls,
            } => {
                let DataType::List(field) = data_type(&Kind::ListOfStruct(items.columns)) else {
                    return Err(ArrowError::SchemaError("a list column's type".into()));
                };
                let offsets = std::mem::replace(offsets, vec![0]);
                Arc::new(ListArray::try_new(
                    field,
                    OffsetBuffer::new(ScalarBuffer::from(offsets)),
                    Arc::new(items.finish()?),
                    nulls.finish(),
                )?)
            }
            ColumnBuilder::MapOfStr {
                keys,
                values,
                offsets,
                nulls,
            } => {
                let DataType::Map(field, sorted) = data_type(&Kind::MapOfStr) else {
                    return Err(ArrowError::SchemaError("a map column's type".into()));
                };
                let DataType::Struct(entry_fields) = field.data_type() else {
                    return Err(ArrowError::SchemaError("a map's entries".into()));
                };
                let entries = StructArray::try_new(
                    entry_fields.clone(),
                    vec![Arc::new(keys.finish()), Arc::new(values.finish())],
                    None,
                )?;
                let offsets = std::mem::replace(offsets, vec![0]);
                Arc::new(MapArray::try_new(
                    field,
                    OffsetBuffer::new(ScalarBuffer::from(offsets)),
                    entries,
                    nulls.finish(),
                    sorted,
                )?)
            }
            ColumnBuilder::TimestampMillis(builder) => Arc::new(builder.finish()),
            ColumnBuilder::Int32(builder) => Arc::new(builder.finish()),
        })
    }
}

/// A value that is not a string, as the JSON text a STRING column keeps of it.
fn json_text<'s>(value: Value<'_, '_>, scratch: &'s mut Vec<u8>) -> Cow<'s, str> {
    scratch.clear();
    write_value(value, scratch);
    // Always valid: written from the parse's strings (the lossy branch is never taken).
    match std::str::from_utf8(scratch) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(scratch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jsonl::write_rows;
    use crate::test_support::with_tape;

    /// The row of one record, as its JSON line, parsed back.
    fn row(json: &str) -> serde_json::Value {
        let mut rows = RowsBuilder::default();
        let provenance = Provenance {
            source_key: "AWSLogs/k.json.gz",
            source_sha256: "ab",
            record_index: 7,
        };
        with_tape(json, |value| {
            rows.append(value, 1_705_287_845_000, &provenance)
        });
        let mut line = Vec::new();
        write_rows(&rows.finish().unwrap(), &mut line);
        assert_eq!(line.pop(), Some(b'\n'));
        serde_json::from_slice(&line).unwrap()
    }

    #[test]
    fn names_types_and_blobs_follow_the_aws_table() {
        let r = row(
            r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","userName":"alice","sessionContext":{"webIdFederationData":{"attributes":{"a":1,"b":null,"a":"2","c":"x"}}}},
            "eventTime":"2024-01-15T03:04:05Z","sourceIPAddress":"1.2.3.4","requestParameters":{"bucketName":"b","n":[1,2]},
            "responseElements":null,"readOnly":true,"resources":[{"ARN":"arn:aws:s3:::b","type":"AWS::S3::Bucket"},"junk"],"unknownField":1}"#,
        );
        assert_eq!(r["eventversion"], "1.08");
        assert_eq!(r["useridentity"]["username"], "alice");
        assert_eq!(
            r["useridentity"]["sessioncontext"]["webidfederationdata"]["attributes"],
            serde_json::json!({"a": "2", "c": "x"})
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
        assert_eq!(r["source_sha256"], "ab");
        assert_eq!(r["record_index"], 7);
    }

    #[test]
    fn wrong_types_become_null_not_errors() {
        let r = row(r#"{"userIdentity":"x","resources":{"a":1},"eventName":5,"tlsDetails":{}}"#);
        assert!(r.get("useridentity").is_none());
        assert!(r.get("resources").is_none());
        assert_eq!(r["eventname"], "5");
        assert_eq!(r["tlsdetails"], serde_json::json!({}));
    }

    #[test]
    fn an_exact_name_wins_and_a_repeated_member_keeps_its_last_value() {
        let r = row(
            r#"{"EventName":"a","eventname":"b","EVENTNAME":"c","awsRegion":"x","awsRegion":"y"}"#,
        );
        assert_eq!(r["eventname"], "b");
        assert_eq!(r["awsregion"], "y");
    }
}
