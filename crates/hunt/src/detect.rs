//! A match of a rule, as a hunt keeps it ([`Detection`]: the rule, the record's printed fields
//! and where it was read), and the order detections are printed in.

use std::cmp::Ordering;
use std::sync::Arc;

use trailscan_records::{EventTime, Record};

/// One rule matching one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    /// The rule's position in [`HuntRules::rules`].
    pub rule: usize,
    /// The record (shared by every rule that matched it).
    pub event: Arc<MatchedEvent>,
}

/// A record some rule matched: what the output prints of it, and where it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchedEvent {
    /// `eventTime`, parsed (for ordering).
    pub time: EventTime,
    /// What identifies the event across duplicate deliveries (`None`: no `eventID`).
    pub identity: Option<u128>,
    /// What the output prints of the record.
    pub fields: EventFields,
    /// The log file it is in (shared by the matches of one file).
    pub object_key: Arc<str>,
    /// Its position in the file's `Records`.
    pub record_index: usize,
    /// The record's compact JSON, when correlations or `--output-events` need it.
    pub json: Option<Box<str>>,
}

/// The fields of a matched record that the output prints, in one buffer (a hunt may keep
/// hundreds of thousands: one allocation each, not eight).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFields {
    text: String,
    /// Where each field is in `text`, in [`EventFields::NAMES`]' order; `None`: absent.
    spans: [Option<(u32, u32)>; 8],
}

impl EventFields {
    /// The fields, as the output names them.
    pub const NAMES: [&'static str; 8] = [
        "EventTime",
        "EventName",
        "EventSource",
        "Principal",
        "SourceIPAddress",
        "AwsRegion",
        "AccountId",
        "EventId",
    ];

    /// What the output prints of `record`, found in a file of `account`: `eventTime` as
    /// written; `eventName` and `eventSource` (an Insights record's from `insightDetails`);
    /// `userIdentity.arn`, else the user name lookups derive; `sourceIPAddress`; `awsRegion`;
    /// `recipientAccountId`, else the account of the file's key; `eventID`.
    pub fn of(record: &Record<'_, '_>, account: &str) -> EventFields {
        let values = [
            record.event_time_text(),
            record.event_name(),
            record.event_source(),
            record
                .str_at(&["userIdentity", "arn"])
                .or_else(|| record.username()),
            record.str_field("sourceIPAddress"),
            record.str_field("awsRegion"),
            record.str_field("recipientAccountId").or(Some(account)),
            record.event_id(),
        ];
        EventFields::from_values(values)
    }

    /// The fields, given in [`EventFields::NAMES`]' order (`None`: absent).
    pub fn from_values(values: [Option<&str>; 8]) -> EventFields {
        let mut fields = EventFields {
            text: String::with_capacity(values.iter().flatten().map(|v| v.len()).sum()),
            spans: [None; 8],
        };
        for (span, value) in fields.spans.iter_mut().zip(values) {
            if let Some(value) = value {
                let start = fields.text.len() as u32;
                fields.text.push_str(value);
                *span = Some((start, fields.text.len() as u32));
            }
        }
        fields
    }

    /// The bytes of the fields' text.
    pub fn text_len(&self) -> usize {
        self.text.len()
    }

    /// The field at `index` of [`EventFields::NAMES`].
    pub fn get(&self, index: usize) -> Option<&str> {
        let (start, end) = self.spans.get(index).copied().flatten()?;
        self.text.get(start as usize..end as usize)
    }

    /// `eventTime` as written.
    pub fn event_time(&self) -> &str {
        self.get(0).unwrap_or_default()
    }

    /// `eventID`.
    pub fn event_id(&self) -> Option<&str> {
        self.get(7)
    }
}

/// The order detections are printed in: by time, then event id, then rule, then where the
/// record was read (so that the output is the same however the scan read the files).
pub fn printed_order(a: &Detection, b: &Detection) -> Ordering {
    fn key(d: &Detection) -> (EventTime, Option<&str>, usize, &str, usize) {
        let e = &*d.event;
        (
            e.time,
            e.fields.event_id(),
            d.rule,
            &e.object_key,
            e.record_index,
        )
    }
    key(a).cmp(&key(b))
}
