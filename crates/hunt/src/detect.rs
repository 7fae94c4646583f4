//! The scan's side of a hunt: each record the prefilter lets through is parsed once, every
//! rule evaluated on it, and each match kept as a [`Detection`] with what the output prints.

use std::cmp::Ordering;
use std::io;
use std::sync::Arc;

use trailscan_query::{Match, RecordSink};
use trailscan_records::json_text::write_value;
use trailscan_records::{event_identity, EventTime, Record};

use crate::event::RecordEvent;
use crate::rule_set::HuntRules;
use crate::spill::HeldDetections;

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

/// A sink per scan thread: the detections of the records it was given, past a budget in
/// sorted runs on disk.
pub struct HuntSink<'r> {
    rules: &'r HuntRules,
    keep_json: bool,
    /// The key of the file being read, shared by its matches.
    key: Option<Arc<str>>,
    /// What it found.
    pub detections: HeldDetections,
    /// Records evaluated.
    pub evaluated: u64,
}

impl<'r> HuntSink<'r> {
    /// A sink for `rules` that holds up to `budget` bytes of detections; with `keep_json`,
    /// each detection keeps its record's JSON (without, only those of correlations' base
    /// rules do).
    pub fn new(rules: &'r HuntRules, keep_json: bool, budget: usize) -> HuntSink<'r> {
        HuntSink {
            rules,
            keep_json,
            key: None,
            detections: HeldDetections::with_budget(budget),
            evaluated: 0,
        }
    }

    /// Two threads' sinks as one.
    pub fn merge(mut self, other: HuntSink<'r>) -> io::Result<HuntSink<'r>> {
        self.detections.append(other.detections)?;
        self.evaluated += other.evaluated;
        Ok(self)
    }
}

impl RecordSink for HuntSink<'_> {
    type Error = io::Error;

    fn record(&mut self, m: &Match<'_, '_, '_>) -> io::Result<bool> {
        self.evaluated += 1;
        let event = RecordEvent::new(m.record.value());
        let matched = self.rules.matches(&event);
        if matched.is_empty() {
            return Ok(true);
        }
        let key = match &self.key {
            Some(key) if **key == *m.object.key => key.clone(),
            _ => self.key.insert(Arc::from(m.object.key.as_str())).clone(),
        };
        // Correlations read the records of their base rules' matches only.
        let keep_json = self.keep_json || matched.iter().any(|&rule| self.rules.rules[rule].base);
        let json = keep_json.then(|| {
            let mut text = Vec::new();
            write_value(m.record.value(), &mut text);
            String::from_utf8(text).unwrap_or_default().into_boxed_str()
        });
        let event = Arc::new(MatchedEvent {
            time: m.event_time,
            identity: m
                .record
                .event_id()
                .map(|id| event_identity(m.event_time, id)),
            fields: EventFields::of(m.record, &m.object.layout.account),
            object_key: key,
            record_index: m.index,
            json,
        });
        self.detections.push(event, &matched)?;
        Ok(true)
    }

    fn reads_text(&self) -> bool {
        false
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
