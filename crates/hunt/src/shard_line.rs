//! A detection as a shard of a split hunt writes it for `trailscan merge`, which orders,
//! de-duplicates and correlates the detections of every shard as one hunt would: a shard
//! does neither, since a duplicate delivery or a correlation's members may be in another
//! shard's files.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use trailscan_records::{event_identity, EventTime};

use crate::detect::{Detection, EventFields, MatchedEvent};
use crate::rule_set::HuntRules;

/// One line of a shard's `detections.jsonl`.
#[derive(Debug, Serialize, Deserialize)]
pub struct DetectionLine {
    /// The rule's position among the rules loaded.
    pub rule: usize,
    /// The rule's id and title, to check that the merge loaded the same rules.
    pub rule_id: Option<String>,
    /// The rule's title.
    pub rule_title: String,
    /// `eventTime`, parsed: seconds since the epoch.
    pub secs: i64,
    /// And nanoseconds.
    pub nanos: u32,
    /// What the output prints of the record, in [`EventFields::NAMES`]' order.
    pub fields: [Option<String>; 8],
    /// The log file it is in.
    pub object_key: String,
    /// Its position there.
    pub record_index: usize,
    /// The record, when correlations or `--output-events` need it.
    pub record: Option<Box<RawValue>>,
}

impl DetectionLine {
    /// The line of `detection` under `rules`, its object key as `display_key` names it (the
    /// merge prints it as it is).
    pub fn of(
        detection: &Detection,
        rules: &HuntRules,
        display_key: &dyn Fn(&str) -> String,
    ) -> Result<DetectionLine, String> {
        let rule = &rules.rules[detection.rule];
        let e = &*detection.event;
        let record = match &e.json {
            None => None,
            Some(json) => Some(RawValue::from_string(json.to_string()).map_err(|e| e.to_string())?),
        };
        Ok(DetectionLine {
            rule: detection.rule,
            rule_id: rule.id.clone(),
            rule_title: rule.title.clone(),
            secs: e.time.secs,
            nanos: e.time.nanos,
            fields: std::array::from_fn(|i| e.fields.get(i).map(str::to_string)),
            object_key: display_key(&e.object_key),
            record_index: e.record_index,
            record,
        })
    }

    /// The detection again, its rule checked against `rules` (those the merge loaded).
    pub fn into_detection(self, rules: &HuntRules) -> Result<Detection, String> {
        let same = rules
            .rules
            .get(self.rule)
            .is_some_and(|r| r.id == self.rule_id && r.title == self.rule_title);
        if !same {
            return Err(format!(
                "rule #{} ({}) is not the rule the shard ran: were the rule files changed, or other --rules given, since the shards ran?",
                self.rule, self.rule_title
            ));
        }
        let time = EventTime {
            secs: self.secs,
            nanos: self.nanos,
        };
        // Worked out again, not read: what identifies an event across duplicate deliveries
        // must be this process's (a shard may have run another build).
        let identity = self.fields[7].as_deref().map(|id| event_identity(time, id));
        let event = MatchedEvent {
            time,
            identity,
            fields: EventFields::from_values(self.fields.each_ref().map(Option::as_deref)),
            object_key: Arc::from(self.object_key),
            record_index: self.record_index,
            json: self.record.map(|r| Box::<str>::from(r.get())),
        };
        Ok(Detection {
            rule: self.rule,
            event: Arc::new(event),
        })
    }
}
