//! What a hunt found, read back as it is printed: the detections in [`printed_order`], each
//! (rule, event) once, with the correlations they made fire, one at a time, so that neither
//! the detections nor the correlations' member lists are held whole.
//!
//! [`printed_order`]: crate::printed_order

use std::collections::{HashSet, VecDeque};
use std::io;
use std::sync::Arc;

use trailscan_records::EventTime;

use crate::correlate::{CorrelateError, CorrelationHit, Correlator};
use crate::detect::Detection;
use crate::rule_set::HuntRules;
use crate::spill::{HeldDetections, Ordered};

/// One line of a hunt's answer.
#[derive(Debug)]
pub enum Finding {
    /// A rule matched an event (printed rules' and correlations' base rules' alike).
    Detection(Detection),
    /// A correlation rule fired.
    Correlation(CorrelationHit),
}

/// Why the findings cannot be read on.
#[derive(Debug, thiserror::Error)]
pub enum FindingsError {
    /// A run of detections on disk could not be written or read back.
    #[error(
        "cannot keep detections in temporary files (set TMPDIR to a folder with free space): {0}"
    )]
    Spill(#[from] io::Error),
    /// The correlation rules.
    #[error(transparent)]
    Correlate(#[from] CorrelateError),
}

/// What the findings held, counted as they were read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Detections per rule, in [`HuntRules::rules`]' order.
    pub per_rule: Vec<u64>,
    /// Firings per correlation, in [`HuntRules::correlations`]' order.
    pub per_correlation: Vec<u64>,
    /// Detections of duplicate deliveries left out.
    pub duplicates: u64,
}

/// Whether a detection's event is new among those of its `eventTime` and `eventID`
/// (detections in [`crate::printed_order`] bring the detections of one event, and of its
/// duplicate deliveries, together): an event matched by several rules is fed to the
/// correlations, or written to `--output-events`, once.
#[derive(Debug, Default)]
pub struct EventOnce {
    group: Option<(EventTime, Option<String>)>,
    seen: HashSet<(Arc<str>, usize)>,
}

impl EventOnce {
    /// True the first time `detection`'s event (its log file and position) comes.
    pub fn first(&mut self, detection: &Detection) -> bool {
        let e = &*detection.event;
        let same_group = self
            .group
            .as_ref()
            .is_some_and(|(time, id)| *time == e.time && id.as_deref() == e.fields.event_id());
        if !same_group {
            self.group = Some((e.time, e.fields.event_id().map(str::to_string)));
            self.seen.clear();
        }
        self.seen.insert((e.object_key.clone(), e.record_index))
    }
}

/// The findings, in time order: each detection, and each correlation after the detections of
/// the time it fired at.
pub struct Findings {
    ordered: Ordered,
    /// The next detection to give (read ahead, to know when a correlation's time is past).
    next: Option<Detection>,
    /// The (rule, event identity) of the last detection given, to leave out its duplicates
    /// (which come right after it).
    last: Option<(usize, u128)>,
    correlator: Option<Correlator>,
    fed: EventOnce,
    fired: VecDeque<CorrelationHit>,
    tally: Tally,
}

impl Findings {
    /// The findings of `detections` under `rules`.
    pub fn new(rules: &HuntRules, detections: HeldDetections) -> Result<Findings, FindingsError> {
        let mut findings = Findings {
            ordered: detections.into_ordered()?,
            next: None,
            last: None,
            correlator: Correlator::new(rules)?,
            fed: EventOnce::default(),
            fired: VecDeque::new(),
            tally: Tally {
                per_rule: vec![0; rules.rules.len()],
                per_correlation: vec![0; rules.correlations.len()],
                duplicates: 0,
            },
        };
        findings.next = findings.read_on()?;
        Ok(findings)
    }

    /// What was read so far (all of it once the findings are read to their end).
    pub fn tally(&self) -> &Tally {
        &self.tally
    }

    /// The next detection that is not a duplicate delivery's.
    fn read_on(&mut self) -> io::Result<Option<Detection>> {
        while let Some(d) = self.ordered.next_detection()? {
            if let Some(identity) = d.event.identity {
                if self.last == Some((d.rule, identity)) {
                    self.tally.duplicates += 1;
                    continue;
                }
                self.last = Some((d.rule, identity));
            }
            return Ok(Some(d));
        }
        Ok(None)
    }

    fn next_finding(&mut self) -> Result<Option<Finding>, FindingsError> {
        if let Some(hit) = self.fired.front() {
            if self.next.as_ref().is_none_or(|d| hit.time < d.event.time) {
                let hit = self.fired.pop_front().expect("a fired correlation");
                self.tally.per_correlation[hit.correlation] += 1;
                return Ok(Some(Finding::Correlation(hit)));
            }
        }
        let Some(detection) = self.next.take() else {
            return Ok(None);
        };
        self.next = self.read_on()?;
        if let Some(correlator) = &mut self.correlator {
            if self.fed.first(&detection) {
                correlator.feed(&detection.event, &mut self.fired)?;
            }
        }
        self.tally.per_rule[detection.rule] += 1;
        Ok(Some(Finding::Detection(detection)))
    }
}

impl Iterator for Findings {
    type Item = Result<Finding, FindingsError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_finding().transpose()
    }
}
