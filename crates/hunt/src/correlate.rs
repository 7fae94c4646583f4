//! Correlation rules, after the scan: the matched events, each once, in time order (however
//! the scan read the files), through rsigma's correlation engine, as [`crate::Findings`]
//! reads them back.

use rsigma_parser::CorrelationType;
use trailscan_records::EventTime;

use crate::detect::MatchedEvent;
use crate::event::RecordEvent;
use crate::rule_set::{position, HuntRules};

/// One correlation rule firing.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationHit {
    /// The correlation's position in [`HuntRules::correlations`].
    pub correlation: usize,
    /// Its type (`event_count`, `value_count`, `temporal`, `temporal_ordered`).
    pub kind: &'static str,
    /// The `eventTime` (as written) of the event that made it fire: the window's end.
    pub event_time: String,
    /// That time, parsed.
    pub time: EventTime,
    /// The window's first member's time, seconds since the epoch.
    pub window_start: i64,
    /// The `group-by` fields and their values.
    pub group_by: Vec<(String, String)>,
    /// What the condition was compared with (the count of events or of distinct values).
    pub count: f64,
    /// The rule's `timespan`, seconds.
    pub timespan_secs: u64,
    /// The `eventID`s of the window's members, oldest first.
    pub event_ids: Vec<String>,
}

/// Why correlation could not run.
#[derive(Debug, thiserror::Error)]
pub enum CorrelateError {
    /// rsigma refused the correlation rules (they were checked when loaded).
    #[error("correlation rules: {0}")]
    Rules(#[from] rsigma_eval::EvalError),
    /// A matched record's JSON, kept from the scan, no longer parses.
    #[error("the record {key} #{index} kept for correlation does not parse: {why}")]
    Record {
        /// Its log file.
        key: String,
        /// Its position there.
        index: usize,
        /// simd-json's reason.
        why: String,
    },
}

/// The correlation rules, fed the matched events in time order, each once.
pub struct Correlator {
    engine: rsigma_eval::CorrelationEngine,
}

impl Correlator {
    /// The correlator of `rules`, or `None` when they hold no correlation.
    pub fn new(rules: &HuntRules) -> Result<Option<Correlator>, CorrelateError> {
        if !rules.correlates() {
            return Ok(None);
        }
        Ok(Some(Correlator {
            engine: rules.correlation_engine()?,
        }))
    }

    /// Feeds `matched` (the next event in time order, not fed before) and adds the
    /// correlations it made fire to `hits`. An event without its JSON (matched by no
    /// correlation's base rule) is passed over.
    pub fn feed(
        &mut self,
        matched: &MatchedEvent,
        hits: &mut impl Extend<CorrelationHit>,
    ) -> Result<(), CorrelateError> {
        let Some(json) = &matched.json else {
            return Ok(());
        };
        let mut bytes = json.as_bytes().to_vec();
        let tape = simd_json::to_tape(&mut bytes).map_err(|e| CorrelateError::Record {
            key: matched.object_key.to_string(),
            index: matched.record_index,
            why: e.to_string(),
        })?;
        let event = RecordEvent::new(tape.as_value());
        for result in self.engine.process_event_at(&event, matched.time.secs) {
            let (Some(body), Some(correlation)) = (
                result.as_correlation(),
                position(&result.header.custom_attributes),
            ) else {
                continue;
            };
            let refs = body.event_refs.as_deref().unwrap_or_default();
            hits.extend([CorrelationHit {
                correlation,
                kind: kind_name(body.correlation_type),
                event_time: matched.fields.event_time().to_string(),
                time: matched.time,
                window_start: refs
                    .iter()
                    .map(|r| r.timestamp)
                    .min()
                    .unwrap_or(matched.time.secs),
                group_by: body.group_key.clone(),
                count: body.aggregated_value,
                timespan_secs: body.timespan_secs,
                event_ids: refs.iter().filter_map(|r| r.id.clone()).collect(),
            }]);
        }
        Ok(())
    }
}

fn kind_name(kind: CorrelationType) -> &'static str {
    kind.as_str()
}
