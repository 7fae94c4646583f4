//! The `Event` of a `LookupEvents` answer, owned, for collecting and printing.

use crate::event_time::EventTime;
use crate::record::Record;

/// One `Resources` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resource {
    /// `ResourceType`, from the record's `resources[].type`.
    pub resource_type: Option<String>,
    /// `ResourceName`, from the record's `resources[].ARN`.
    pub resource_name: Option<String>,
}

/// An `Event` as `lookup-events` returns it, in the service model's member order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupEvent {
    /// `EventId`.
    pub event_id: Option<String>,
    /// `EventName`.
    pub event_name: Option<String>,
    /// `ReadOnly`, printed as the string `"true"` or `"false"`.
    pub read_only: Option<bool>,
    /// `AccessKeyId`.
    pub access_key_id: Option<String>,
    /// `EventTime`.
    pub event_time: EventTime,
    /// `EventSource`.
    pub event_source: Option<String>,
    /// `Username`.
    pub username: Option<String>,
    /// `Resources`, always present (possibly empty), as in the service's answers.
    pub resources: Vec<Resource>,
    /// `CloudTrailEvent`: the record's compact JSON text.
    pub cloudtrail_event: String,
}

impl LookupEvent {
    /// Builds the event from a parsed record, its time, and its compact text (which must be
    /// valid UTF-8: it parsed).
    pub fn from_record(
        record: &Record<'_, '_>,
        event_time: EventTime,
        compact_text: &[u8],
    ) -> LookupEvent {
        let owned = |s: Option<&str>| s.map(str::to_owned);
        LookupEvent {
            event_id: owned(record.event_id()),
            event_name: owned(record.event_name()),
            read_only: record.read_only(),
            access_key_id: owned(record.access_key_id()),
            event_time,
            event_source: owned(record.event_source()),
            username: owned(record.username()),
            resources: record
                .resources()
                .map(|(t, n)| Resource {
                    resource_type: owned(t),
                    resource_name: owned(n),
                })
                .collect(),
            // The text parsed, so it is UTF-8; lossy only as a guard.
            cloudtrail_event: match std::str::from_utf8(compact_text) {
                Ok(text) => text.to_owned(),
                Err(_) => String::from_utf8_lossy(compact_text).into_owned(),
            },
        }
    }
}
