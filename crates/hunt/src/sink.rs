//! The scan's side of a hunt: each record the prefilter lets through is parsed once, every
//! rule evaluated on it, and each match kept as a [`crate::Detection`] with what the output
//! prints.

use std::io;
use std::sync::Arc;

use trailscan_query::{Match, RecordSink};
use trailscan_records::event_identity;
use trailscan_records::json_text::write_value;

use crate::detect::{EventFields, MatchedEvent};
use crate::event::RecordEvent;
use crate::rule_set::HuntRules;
use crate::spill::HeldDetections;

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
        let matched = match m.alternatives {
            Some(rules) => self.rules.matches_among(&event, rules),
            None => self.rules.matches(&event),
        };
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
