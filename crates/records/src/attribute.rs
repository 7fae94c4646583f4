//! The eight lookup attributes of `LookupEvents`, and how each matches a record.

use std::fmt;
use std::str::FromStr;

use crate::record::Record;

/// `AttributeKey` of the `LookupEvents` API (case-sensitive, as the service).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AttributeKey {
    /// `eventID`.
    EventId,
    /// `eventName` (Insights: `insightDetails.eventName`).
    EventName,
    /// `readOnly`, as `true` or `false`.
    ReadOnly,
    /// The derived user name (see [`Record::username`]).
    Username,
    /// `type` of any entry of `resources[]`.
    ResourceType,
    /// `ARN` of any entry of `resources[]`.
    ResourceName,
    /// `eventSource` (Insights: `insightDetails.eventSource`).
    EventSource,
    /// `userIdentity.accessKeyId`.
    AccessKeyId,
}

impl AttributeKey {
    /// Every key, in the order of the service model's enum.
    pub const ALL: [AttributeKey; 8] = [
        AttributeKey::EventId,
        AttributeKey::EventName,
        AttributeKey::ReadOnly,
        AttributeKey::Username,
        AttributeKey::ResourceType,
        AttributeKey::ResourceName,
        AttributeKey::EventSource,
        AttributeKey::AccessKeyId,
    ];

    /// The key's name in the API.
    pub fn name(self) -> &'static str {
        match self {
            AttributeKey::EventId => "EventId",
            AttributeKey::EventName => "EventName",
            AttributeKey::ReadOnly => "ReadOnly",
            AttributeKey::Username => "Username",
            AttributeKey::ResourceType => "ResourceType",
            AttributeKey::ResourceName => "ResourceName",
            AttributeKey::EventSource => "EventSource",
            AttributeKey::AccessKeyId => "AccessKeyId",
        }
    }
}

impl fmt::Display for AttributeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An attribute key the API does not have; one that differs from a key by case only is
/// named (keys are case-sensitive, as in the API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownAttributeKey(pub String);

impl fmt::Display for UnknownAttributeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown AttributeKey '{}'", self.0)?;
        let near = AttributeKey::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(&self.0));
        if let Some(key) = near {
            write!(f, " (did you mean '{key}'? keys are case-sensitive)")?;
        }
        f.write_str("; valid keys: EventId, EventName, ReadOnly, Username, ResourceType, ResourceName, EventSource, AccessKeyId")
    }
}

impl std::error::Error for UnknownAttributeKey {}

impl FromStr for AttributeKey {
    type Err = UnknownAttributeKey;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AttributeKey::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| UnknownAttributeKey(s.to_string()))
    }
}

/// One `AttributeKey=K,AttributeValue=V` pair. Values match exactly and case-sensitively.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LookupAttribute {
    /// Which field.
    pub key: AttributeKey,
    /// The value it must have.
    pub value: String,
}

impl AttributeKey {
    /// Calls `each` with every value the record has for this key, as lookups compare them:
    /// the one derivation that both matching ([`LookupAttribute::matches`]) and the index's
    /// filters use, so that an index can never disagree with a scan.
    pub fn values_in<'i>(self, record: &Record<'_, 'i>, mut each: impl FnMut(&'i str)) {
        let mut one = |v: Option<&'i str>| {
            if let Some(v) = v {
                each(v)
            }
        };
        match self {
            AttributeKey::EventId => one(record.event_id()),
            AttributeKey::EventName => one(record.event_name()),
            AttributeKey::ReadOnly => {
                one(record.read_only().map(|b| if b { "true" } else { "false" }))
            }
            AttributeKey::Username => one(record.username()),
            AttributeKey::ResourceType => record.resources().for_each(|(t, _)| one(t)),
            AttributeKey::ResourceName => record.resources().for_each(|(_, n)| one(n)),
            AttributeKey::EventSource => one(record.event_source()),
            AttributeKey::AccessKeyId => one(record.access_key_id()),
        }
    }
}

impl LookupAttribute {
    /// Whether the record has this attribute value.
    pub fn matches(&self, record: &Record<'_, '_>) -> bool {
        let mut found = false;
        self.key.values_in(record, |v| found |= v == self.value);
        found
    }

    /// Bytes that the raw JSON text of every matching record contains, unless the text uses
    /// `\u` escapes: the longest run of the value free of the characters JSON can write with a
    /// two-character escape (`"`, `\`, `/` and control characters). `None` when no such run
    /// exists, so that every record is a candidate.
    ///
    /// Two values are not taken verbatim from the text: `ReadOnly` (`true`/`false` may be a
    /// boolean or a string), whose needle is the key `readOnly`; and `Username=root`, derived
    /// from `"type":"Root"`, whose needle is `oot`.
    pub fn needle(&self) -> Option<Vec<u8>> {
        match (self.key, self.value.as_str()) {
            (AttributeKey::ReadOnly, _) => return Some(b"readOnly".to_vec()),
            (AttributeKey::Username, "root") => return Some(b"oot".to_vec()),
            _ => {}
        }
        self.value
            .split(|c: char| c == '"' || c == '\\' || c == '/' || c.is_control())
            .max_by_key(|run| run.len())
            .filter(|run| !run.is_empty())
            .map(|run| run.as_bytes().to_vec())
    }
}
