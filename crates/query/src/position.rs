//! Where an event stands in a lookup's order: newest first, then by `eventID`, then (without
//! one) by provenance. Shared by the collector, its spilled runs and page tokens, so that all
//! three order and compare events alike.

use std::cmp::Ordering;

use trailscan_records::EventTime;

/// Where an event stands in the order; also what a page token remembers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Position {
    /// `eventTime` seconds.
    #[serde(rename = "s")]
    pub secs: i64,
    /// `eventTime` nanoseconds.
    #[serde(rename = "n")]
    pub nanos: u32,
    /// `eventID`, empty when the record has none.
    #[serde(rename = "e")]
    pub event_id: String,
    /// Object key: orders records without `eventID`, and picks among duplicates.
    #[serde(rename = "k")]
    pub key: String,
    /// Position in the object's `Records`.
    #[serde(rename = "i")]
    pub index: u64,
}

impl Position {
    pub(crate) fn time(&self) -> EventTime {
        EventTime {
            secs: self.secs,
            nanos: self.nanos,
        }
    }

    /// The event order: newest first, then by event id, then (without an id) by provenance.
    /// `Equal` means "the same event".
    pub fn order(&self, other: &Position) -> Ordering {
        other
            .time()
            .cmp(&self.time())
            .then_with(|| self.event_id.cmp(&other.event_id))
            .then_with(|| {
                if self.event_id.is_empty() {
                    self.provenance().cmp(&other.provenance())
                } else {
                    Ordering::Equal
                }
            })
    }

    pub(crate) fn provenance(&self) -> (&str, u64) {
        (&self.key, self.index)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Ordered(pub(crate) Position);

impl PartialEq for Ordered {
    fn eq(&self, other: &Self) -> bool {
        self.0.order(&other.0) == Ordering::Equal
    }
}
impl Eq for Ordered {}
impl PartialOrd for Ordered {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ordered {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.order(&other.0)
    }
}
