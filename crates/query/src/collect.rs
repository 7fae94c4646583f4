//! Newest first, each event once, one page at a time.
//!
//! Order: `eventTime` descending, then `eventID` ascending; records without an `eventID` are
//! ordered among themselves by object key and position. Two records with the same
//! `eventTime` and `eventID` are one event delivered twice (CloudTrail documents duplicate
//! deliveries); the copy from the first object key (then position) is kept, so the choice
//! does not depend on which thread saw which copy first. A page holds the first `limit`
//! events strictly after a cursor, so memory is bounded by the page size when one is given.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::convert::Infallible;

use trailscan_records::{compact_into, EventTime, LookupEvent};

use crate::sink::{Match, RecordSink};

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
    fn time(&self) -> EventTime {
        EventTime { secs: self.secs, nanos: self.nanos }
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

    fn provenance(&self) -> (&str, u64) {
        (&self.key, self.index)
    }
}

#[derive(Debug, Clone)]
struct Ordered(Position);

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

/// Collects matches into one newest-first page.
pub struct NewestFirst {
    /// Events per page; `None` for all.
    limit: Option<usize>,
    /// Only events strictly after this position.
    after: Option<Position>,
    events: BTreeMap<Ordered, LookupEvent>,
    duplicates: u64,
    compact: Vec<u8>,
}

/// One page of events, and where the next page starts if there is one.
#[derive(Debug)]
pub struct Page {
    /// The events, newest first.
    pub events: Vec<LookupEvent>,
    /// The last event's position, when more events follow it.
    pub next: Option<Position>,
    /// Copies of events dropped as duplicate deliveries.
    pub duplicates: u64,
}

impl NewestFirst {
    /// A collector for the page of `limit` events after `after`.
    pub fn new(limit: Option<usize>, after: Option<Position>) -> NewestFirst {
        NewestFirst { limit, after, events: BTreeMap::new(), duplicates: 0, compact: Vec::new() }
    }

    fn insert(&mut self, position: Position, build: impl FnOnce(&mut Vec<u8>) -> LookupEvent) {
        if self.after.as_ref().is_some_and(|after| position.order(after) != Ordering::Greater) {
            return;
        }
        let key = Ordered(position);
        if let Some((existing, _)) = self.events.get_key_value(&key) {
            self.duplicates += 1;
            if existing.0.provenance() <= key.0.provenance() {
                return;
            }
            self.events.remove(&key);
        } else if let Some(limit) = self.limit {
            // One more than the page, to know whether a next page exists.
            if self.events.len() > limit {
                match self.events.last_key_value() {
                    Some((last, _)) if *last < key => return,
                    _ => {}
                }
            }
        }
        let event = build(&mut self.compact);
        self.events.insert(key, event);
        if let Some(limit) = self.limit {
            while self.events.len() > limit + 1 {
                self.events.pop_last();
            }
        }
    }

    /// Adds another collector's events (for merging per-thread collectors).
    pub fn merge(mut self, other: NewestFirst) -> NewestFirst {
        self.duplicates += other.duplicates;
        for (key, event) in other.events {
            self.insert(key.0, |_| event);
        }
        self
    }

    /// The page.
    pub fn finish(self) -> Page {
        let mut events: Vec<(Position, LookupEvent)> = self.events.into_iter().map(|(k, e)| (k.0, e)).collect();
        let next = match self.limit {
            Some(limit) if events.len() > limit => {
                events.truncate(limit);
                events.last().map(|(p, _)| p.clone())
            }
            _ => None,
        };
        Page { events: events.into_iter().map(|(_, e)| e).collect(), next, duplicates: self.duplicates }
    }
}

impl RecordSink for NewestFirst {
    type Error = Infallible;

    fn record(&mut self, m: &Match<'_, '_, '_>) -> Result<bool, Infallible> {
        let position = Position {
            secs: m.event_time.secs,
            nanos: m.event_time.nanos,
            event_id: m.record.event_id().unwrap_or("").to_string(),
            key: m.object.key.clone(),
            index: m.index as u64,
        };
        self.insert(position, |compact| {
            compact_into(m.text, compact);
            LookupEvent::from_record(m.record, m.event_time, compact)
        });
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(secs: i64, id: &str, key: &str, index: u64) -> Position {
        Position { secs, nanos: 0, event_id: id.into(), key: key.into(), index }
    }

    fn event(p: &Position) -> LookupEvent {
        LookupEvent {
            event_id: Some(p.event_id.clone()),
            event_name: Some(p.key.clone()),
            read_only: None,
            access_key_id: None,
            event_time: EventTime::from_secs(p.secs),
            event_source: None,
            username: None,
            resources: vec![],
            cloudtrail_event: String::new(),
        }
    }

    fn collect(limit: Option<usize>, after: Option<Position>, items: &[Position]) -> Page {
        let mut c = NewestFirst::new(limit, after);
        for p in items {
            c.insert(p.clone(), |_| event(p));
        }
        c.finish()
    }

    fn ids(page: &Page) -> Vec<String> {
        page.events.iter().map(|e| format!("{}:{}", e.event_id.as_deref().unwrap(), e.event_name.as_deref().unwrap())).collect()
    }

    #[test]
    fn newest_first_dedup_keeps_first_key() {
        let items = [pos(1, "a", "k2", 0), pos(3, "c", "k1", 0), pos(2, "b", "k9", 0), pos(2, "b", "k3", 5), pos(2, "", "k1", 1)];
        let page = collect(None, None, &items);
        assert_eq!(ids(&page), ["c:k1", ":k1", "b:k3", "a:k2"]);
        assert_eq!(page.duplicates, 1);
        assert!(page.next.is_none());
    }

    #[test]
    fn pages_resume_exactly() {
        let items: Vec<Position> = (0..10).map(|i| pos(100 - i / 2, &format!("id{i}"), "k", i as u64)).collect();
        let mut all = Vec::new();
        let mut after = None;
        for _ in 0..10 {
            let page = collect(Some(3), after.clone(), &items);
            all.extend(ids(&page));
            match page.next {
                Some(p) => after = Some(p),
                None => break,
            }
        }
        assert_eq!(all, ids(&collect(None, None, &items)));
        assert_eq!(all.len(), 10);
    }

    #[test]
    fn merge_is_order_independent() {
        let a = [pos(5, "x", "k2", 0), pos(4, "y", "k1", 0)];
        let b = [pos(5, "x", "k1", 0), pos(3, "z", "k1", 0)];
        let build = |items: &[Position]| {
            let mut c = NewestFirst::new(Some(2), None);
            for p in items {
                c.insert(p.clone(), |_| event(p));
            }
            c
        };
        let ab = build(&a).merge(build(&b)).finish();
        let ba = build(&b).merge(build(&a)).finish();
        assert_eq!(ids(&ab), ids(&ba));
        assert_eq!(ids(&ab), ["x:k1", "y:k1"]);
    }
}
