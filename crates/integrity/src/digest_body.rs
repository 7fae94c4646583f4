//! What a digest file's body says about the log files it covers: the model that the chain
//! walk, the coverage check and the index's `--verify` read, parsed in one place.

use serde_json::{Map, Value};

/// A log file a valid digest lists.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LogRef {
    /// `s3Bucket`.
    pub bucket: String,
    /// `s3Object`.
    pub key: String,
    /// `hashValue`, lowercase hex SHA-256 of the inflated file.
    pub hash: String,
}

/// A digest whose signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidDigest {
    /// Where it is.
    pub bucket: String,
    /// Its key.
    pub key: String,
    /// `digestStartTime`, epoch seconds.
    pub start: i64,
    /// `digestEndTime`, epoch seconds.
    pub end: i64,
    /// SHA-256 (hex) of its inflated body: what the next digest's `previousDigestHashValue`
    /// names, and what `validate-logs --state` records of the chain's head.
    pub sha256: String,
    /// `logFiles`, in order; entries without the three fields are `None`.
    pub logs: Vec<Option<LogRef>>,
}

/// The `logFiles` of a digest's JSON, in order; an entry without its three fields is `None`
/// (reported as such, never checked).
pub fn log_refs(json: &Map<String, Value>) -> Vec<Option<LogRef>> {
    let Some(Value::Array(logs)) = json.get("logFiles") else {
        return Vec::new();
    };
    logs.iter()
        .map(|l| {
            let field = |k: &str| l.get(k).and_then(Value::as_str).map(str::to_string);
            Some(LogRef {
                bucket: field("s3Bucket")?,
                key: field("s3Object")?,
                hash: field("hashValue")?,
            })
        })
        .collect()
}

/// The `s3Object` of every `logFiles` entry that names one: the log files a digest lists
/// (an entry missing its other fields still lists its object).
pub fn listed_objects(digest: &Map<String, Value>) -> Vec<String> {
    digest
        .get("logFiles")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|l| {
            l.get("s3Object")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .collect()
}

/// `(s3Object, hashValue)` of each `logFiles` entry that names both: what the index's
/// `--verify` compares with its catalog (the bucket is the archive's own there).
pub fn listed_hashes(digest: &Map<String, Value>) -> Vec<(String, String)> {
    digest
        .get("logFiles")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| {
            let s = |k: &str| f.get(k).and_then(Value::as_str).map(str::to_string);
            Some((s("s3Object")?, s("hashValue")?))
        })
        .collect()
}

/// A digest's body parsed, `None` when it is not a JSON object.
pub fn parse_digest(json: &[u8]) -> Option<Map<String, Value>> {
    serde_json::from_slice(json).ok()
}
