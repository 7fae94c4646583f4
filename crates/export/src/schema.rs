//! The exported table's columns, declared once: the Arrow schema, the Athena DDL and the
//! mapping from a CloudTrail record are all derived from [`COLUMNS`].
//!
//! The record columns are AWS's own CloudTrail table for Athena (names lower case, the JSON
//! blobs `requestparameters`, `responseelements`, `additionaleventdata` and
//! `serviceeventdetails` as STRING), so that published Athena CloudTrail queries run
//! unchanged; the last four are trailscan's: the event time as a typed timestamp, and where
//! each row came from.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Fields, Schema, TimeUnit};

/// A column's type.
#[derive(Debug)]
pub enum Kind {
    /// STRING. A JSON value that is not a string is kept as its JSON text (`readonly` is
    /// `"true"`, `requestparameters` is the object's text), as AWS's CloudTrail SerDe does.
    Str,
    /// STRUCT of the given fields; null when the record's value is not an object.
    Struct(&'static [Column]),
    /// ARRAY<STRUCT<...>>; null when the record's value is not an array.
    ListOfStruct(&'static [Column]),
    /// MAP<STRING,STRING>.
    MapOfStr,
    /// TIMESTAMP, INT64 milliseconds UTC (what Athena and Glue read).
    TimestampMillis,
    /// INT (32-bit).
    Int32,
}

/// One column: its name in the table (and, compared without case, in the record's JSON).
#[derive(Debug)]
pub struct Column {
    /// Lower-case name.
    pub name: &'static str,
    /// Type.
    pub kind: Kind,
}

const fn col(name: &'static str, kind: Kind) -> Column {
    Column { name, kind }
}

const fn s(name: &'static str) -> Column {
    col(name, Kind::Str)
}

const SESSION_ISSUER: &[Column] = &[
    s("type"),
    s("principalid"),
    s("arn"),
    s("accountid"),
    s("username"),
];

const SESSION_CONTEXT: &[Column] = &[
    col(
        "attributes",
        Kind::Struct(&[s("mfaauthenticated"), s("creationdate")]),
    ),
    col("sessionissuer", Kind::Struct(SESSION_ISSUER)),
    s("ec2roledelivery"),
    col(
        "webidfederationdata",
        Kind::Struct(&[s("federatedprovider"), col("attributes", Kind::MapOfStr)]),
    ),
];

const USER_IDENTITY: &[Column] = &[
    s("type"),
    s("principalid"),
    s("arn"),
    s("accountid"),
    s("invokedby"),
    s("accesskeyid"),
    s("username"),
    col(
        "onbehalfof",
        Kind::Struct(&[s("userid"), s("identitystorearn")]),
    ),
    col("sessioncontext", Kind::Struct(SESSION_CONTEXT)),
];

/// Every column, in table order: the record's, then the provenance columns.
pub const COLUMNS: &[Column] = &[
    s("eventversion"),
    col("useridentity", Kind::Struct(USER_IDENTITY)),
    s("eventtime"),
    s("eventsource"),
    s("eventname"),
    s("awsregion"),
    s("sourceipaddress"),
    s("useragent"),
    s("errorcode"),
    s("errormessage"),
    s("requestparameters"),
    s("responseelements"),
    s("additionaleventdata"),
    s("requestid"),
    s("eventid"),
    s("readonly"),
    col(
        "resources",
        Kind::ListOfStruct(&[s("arn"), s("accountid"), s("type")]),
    ),
    s("eventtype"),
    s("apiversion"),
    s("recipientaccountid"),
    s("serviceeventdetails"),
    s("sharedeventid"),
    s("vpcendpointid"),
    s("vpcendpointaccountid"),
    s("eventcategory"),
    col(
        "addendum",
        Kind::Struct(&[
            s("reason"),
            s("updatedfields"),
            s("originalrequestid"),
            s("originaleventid"),
        ]),
    ),
    s("sessioncredentialfromconsole"),
    s("edgedevicedetails"),
    col(
        "tlsdetails",
        Kind::Struct(&[
            s("tlsversion"),
            s("ciphersuite"),
            s("clientprovidedhostheader"),
        ]),
    ),
    col(EVENT_TS, Kind::TimestampMillis),
    s(SOURCE_KEY),
    s(SOURCE_SHA256),
    col(RECORD_INDEX, Kind::Int32),
];

/// The event time, typed.
pub const EVENT_TS: &str = "event_ts";
/// The key of the log file the row came from.
pub const SOURCE_KEY: &str = "source_key";
/// SHA-256 (hex) of that log file as stored (compressed): what its digest file lists.
pub const SOURCE_SHA256: &str = "source_sha256";
/// The row's position in the file's `Records` list.
pub const RECORD_INDEX: &str = "record_index";

/// How many columns come from the record itself (the rest are provenance).
pub const RECORD_COLUMNS: usize = COLUMNS.len() - 4;

/// Columns with a Parquet bloom filter: the lookups' needles. Paths as written with Parquet's
/// standard list names (`list.element`), which is what readers ask for.
pub const BLOOM_FILTER_COLUMNS: &[&[&str]] = &[
    &["eventid"],
    &["useridentity", "accesskeyid"],
    &["useridentity", "username"],
    &["eventname"],
    &["eventsource"],
    &["resources", "list", "element", "arn"],
];

/// The Arrow schema of [`COLUMNS`].
pub fn arrow_schema() -> Arc<Schema> {
    Arc::new(Schema::new(fields(COLUMNS)))
}

fn fields(columns: &[Column]) -> Fields {
    columns
        .iter()
        .map(|c| Field::new(c.name, data_type(&c.kind), true))
        .collect()
}

pub(crate) fn data_type(kind: &Kind) -> DataType {
    match kind {
        Kind::Str => DataType::Utf8,
        Kind::Struct(columns) => DataType::Struct(fields(columns)),
        Kind::ListOfStruct(columns) => DataType::List(Arc::new(Field::new(
            "element",
            DataType::Struct(fields(columns)),
            true,
        ))),
        Kind::MapOfStr => DataType::Map(
            Arc::new(Field::new(
                "key_value",
                DataType::Struct(Fields::from(vec![
                    Field::new("key", DataType::Utf8, false),
                    Field::new("value", DataType::Utf8, true),
                ])),
                false,
            )),
            false,
        ),
        // An offset, not the name "UTC", which Arrow resolves only with a time zone database.
        Kind::TimestampMillis => DataType::Timestamp(TimeUnit::Millisecond, Some("+00:00".into())),
        Kind::Int32 => DataType::Int32,
    }
}

/// A column's type as Hive/Athena DDL writes it.
pub fn ddl_type(kind: &Kind) -> String {
    let members = |columns: &[Column]| {
        columns
            .iter()
            .map(|c| format!("{}:{}", c.name, ddl_type(&c.kind)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match kind {
        Kind::Str => "STRING".into(),
        Kind::Struct(columns) => format!("STRUCT<{}>", members(columns)),
        Kind::ListOfStruct(columns) => format!("ARRAY<STRUCT<{}>>", members(columns)),
        Kind::MapOfStr => "MAP<STRING,STRING>".into(),
        Kind::TimestampMillis => "TIMESTAMP".into(),
        Kind::Int32 => "INT".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lower_case_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for c in COLUMNS {
            assert_eq!(c.name, c.name.to_lowercase());
            assert!(seen.insert(c.name), "{} twice", c.name);
        }
        assert_eq!(COLUMNS[RECORD_COLUMNS].name, EVENT_TS);
    }

    #[test]
    fn ddl_types_match_aws_table() {
        let resources = COLUMNS.iter().find(|c| c.name == "resources").unwrap();
        assert_eq!(
            ddl_type(&resources.kind),
            "ARRAY<STRUCT<arn:STRING, accountid:STRING, type:STRING>>"
        );
        let identity = COLUMNS.iter().find(|c| c.name == "useridentity").unwrap();
        assert!(ddl_type(&identity.kind).contains(
            "webidfederationdata:STRUCT<federatedprovider:STRING, attributes:MAP<STRING,STRING>>"
        ));
    }
}
