//! The scan's side of a hunt: each record the prefilter lets through is parsed once, every
//! rule evaluated on it, and each match kept as a [`Detection`] with what the output prints.

use std::cmp::Ordering;

use trailscan_query::{Match, RecordSink};
use trailscan_records::json_text::write_value;
use trailscan_records::{event_identity, EventTime, Record};

use crate::event::RecordEvent;
use crate::rule_set::HuntRules;

/// One rule matching one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    /// The rule's position in [`HuntRules::rules`].
    pub rule: usize,
    /// `eventTime`, parsed (for ordering).
    pub time: EventTime,
    /// What identifies the event across duplicate deliveries (`None`: no `eventID`).
    pub identity: Option<u128>,
    /// What the output prints of the record.
    pub fields: EventFields,
    /// The log file it is in.
    pub object_key: String,
    /// Its position in the file's `Records`.
    pub record_index: usize,
    /// The record's compact JSON, when correlations or `--output-events` need it.
    pub json: Option<Box<str>>,
}

/// The fields of a matched record that the output prints.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFields {
    /// `eventTime` as written.
    pub event_time: String,
    /// `eventName` (an Insights record's `insightDetails.eventName`).
    pub event_name: Option<String>,
    /// `eventSource` (likewise).
    pub event_source: Option<String>,
    /// `userIdentity.arn`, else the user name lookups derive.
    pub principal: Option<String>,
    /// `sourceIPAddress`.
    pub source_ip: Option<String>,
    /// `awsRegion`.
    pub region: Option<String>,
    /// `recipientAccountId`, else the account of the file's key.
    pub account_id: Option<String>,
    /// `eventID`.
    pub event_id: Option<String>,
}

impl EventFields {
    /// What the output prints of `record`, found in a file of `account`.
    pub fn of(record: &Record<'_, '_>, account: &str) -> EventFields {
        let own = |s: Option<&str>| s.map(str::to_string);
        EventFields {
            event_time: record.event_time_text().unwrap_or_default().to_string(),
            event_name: own(record.event_name()),
            event_source: own(record.event_source()),
            principal: own(record
                .str_at(&["userIdentity", "arn"])
                .or_else(|| record.username())),
            source_ip: own(record.str_field("sourceIPAddress")),
            region: own(record.str_field("awsRegion")),
            account_id: own(record.str_field("recipientAccountId").or(Some(account))),
            event_id: own(record.event_id()),
        }
    }
}

/// A sink per scan thread: the detections of the records it was given.
pub struct HuntSink<'r> {
    rules: &'r HuntRules,
    keep_json: bool,
    /// What it found.
    pub detections: Vec<Detection>,
    /// Records evaluated.
    pub evaluated: u64,
}

impl<'r> HuntSink<'r> {
    /// A sink for `rules`; with `keep_json`, each detection keeps its record's JSON.
    pub fn new(rules: &'r HuntRules, keep_json: bool) -> HuntSink<'r> {
        HuntSink {
            rules,
            keep_json,
            detections: Vec::new(),
            evaluated: 0,
        }
    }

    /// Two threads' sinks as one.
    pub fn merge(mut self, other: HuntSink<'r>) -> HuntSink<'r> {
        self.detections.extend(other.detections);
        self.evaluated += other.evaluated;
        self
    }
}

impl RecordSink for HuntSink<'_> {
    type Error = std::convert::Infallible;

    fn record(&mut self, m: &Match<'_, '_, '_>) -> Result<bool, Self::Error> {
        self.evaluated += 1;
        let event = RecordEvent::new(m.record.value());
        let matched = self.rules.matches(&event);
        if matched.is_empty() {
            return Ok(true);
        }
        let fields = EventFields::of(m.record, &m.object.layout.account);
        let identity = m
            .record
            .event_id()
            .map(|id| event_identity(m.event_time, id));
        let json = self.keep_json.then(|| {
            let mut text = Vec::new();
            write_value(m.record.value(), &mut text);
            String::from_utf8(text).unwrap_or_default().into_boxed_str()
        });
        for rule in matched {
            self.detections.push(Detection {
                rule,
                time: m.event_time,
                identity,
                fields: fields.clone(),
                object_key: m.object.key.clone(),
                record_index: m.index,
                json: json.clone(),
            });
        }
        Ok(true)
    }

    fn reads_text(&self) -> bool {
        false
    }
}

/// The order detections are printed in: by time, then event id, then rule, then where the
/// record was read (so that the output is the same however the scan read the files).
pub fn printed_order(a: &Detection, b: &Detection) -> Ordering {
    (
        a.time,
        &a.fields.event_id,
        a.rule,
        &a.object_key,
        a.record_index,
    )
        .cmp(&(
            b.time,
            &b.fields.event_id,
            b.rule,
            &b.object_key,
            b.record_index,
        ))
}

/// `detections` in [`printed_order`], each (rule, event) once: of an event delivered more than
/// once (the same `eventID` and `eventTime`), the copy from the first log file (by key) stays.
/// Returns how many duplicates were left out.
pub fn settle(detections: &mut Vec<Detection>) -> usize {
    detections.sort_by(printed_order);
    let before = detections.len();
    let mut seen = std::collections::HashSet::new();
    detections.retain(|d| match d.identity {
        None => true,
        Some(identity) => seen.insert((d.rule, identity)),
    });
    before - detections.len()
}
