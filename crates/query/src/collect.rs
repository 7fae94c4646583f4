//! Newest first, each event once, one page at a time.
//!
//! Order: `eventTime` descending, then `eventID` ascending; records without an `eventID` are
//! ordered among themselves by object key and position. Two records with the same
//! `eventTime` and `eventID` are one event delivered twice (CloudTrail documents duplicate
//! deliveries); the copy from the first object key (then position) is kept, so the choice
//! does not depend on which thread saw which copy first. A page holds the first `limit`
//! events strictly after a cursor, so memory is bounded by the page size when one is given.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap};
use std::io;

use trailscan_records::{compact_into, LookupEvent};

use crate::position::{Ordered, Position};
use crate::sink::{Match, RecordSink};
use crate::spill::{write_run, Run};

/// Bytes of events a collector holds before it writes them to disk as a sorted run. Only a
/// lookup without `--max-results` can need more (a page holds its size plus one); the
/// budget is per worker thread, so memory stays bounded whatever the number of matches.
pub const DEFAULT_SPILL_BUDGET: usize = 48 << 20;

/// Collects matches into one newest-first page.
pub struct NewestFirst {
    /// Events per page; `None` for all.
    limit: Option<usize>,
    /// Only events strictly after this position.
    after: Option<Position>,
    events: BTreeMap<Ordered, LookupEvent>,
    held_bytes: usize,
    budget: usize,
    runs: Vec<Run>,
    duplicates: u64,
    compact: Vec<u8>,
}

/// One page of events, and where the next page starts if there is one.
pub struct Page {
    /// The events, newest first, each once.
    pub events: Events,
    /// The last event's position, when more events follow it.
    pub next: Option<Position>,
}

/// The events of a page, streamed from memory or merged from runs on disk.
pub struct Events {
    source: Source,
    duplicates: u64,
}

enum Source {
    Memory(std::vec::IntoIter<(Position, LookupEvent)>),
    Runs {
        runs: Vec<Run>,
        heap: BinaryHeap<Reverse<Head>>,
        last: Option<Position>,
    },
}

/// The smallest unread event of one run.
struct Head {
    position: Position,
    run: usize,
    event: LookupEvent,
}

impl Head {
    fn key(&self) -> (Ordered, (&str, u64), usize) {
        (
            Ordered(self.position.clone()),
            self.position.provenance(),
            self.run,
        )
    }
}
impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Head {}
impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        // Among copies of one event, the first object key wins, as in memory.
        self.key().cmp(&other.key())
    }
}

impl Events {
    /// Copies of events dropped as duplicate deliveries (final once the events are read).
    pub fn duplicates(&self) -> u64 {
        self.duplicates
    }
}

impl Iterator for Events {
    /// Each event with where it stands in the order (what a shard's results keep, so that a
    /// merge can order and de-duplicate across shards exactly as one run would).
    type Item = io::Result<(Position, LookupEvent)>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.source {
            Source::Memory(events) => events.next().map(Ok),
            Source::Runs { runs, heap, last } => loop {
                let Reverse(head) = heap.pop()?;
                match runs[head.run].next_event() {
                    Ok(Some((position, event))) => heap.push(Reverse(Head {
                        position,
                        run: head.run,
                        event,
                    })),
                    Ok(None) => {}
                    Err(e) => return Some(Err(e)),
                }
                if last
                    .as_ref()
                    .is_some_and(|l| l.order(&head.position) == Ordering::Equal)
                {
                    self.duplicates += 1;
                    continue;
                }
                *last = Some(head.position.clone());
                return Some(Ok((head.position, head.event)));
            },
        }
    }
}

fn held_size(p: &Position, e: &LookupEvent) -> usize {
    let strings = [
        &e.event_id,
        &e.event_name,
        &e.access_key_id,
        &e.event_source,
        &e.username,
    ];
    let resources: usize = e
        .resources
        .iter()
        .map(|r| {
            64 + r.resource_type.as_ref().map_or(0, String::len)
                + r.resource_name.as_ref().map_or(0, String::len)
        })
        .sum();
    // Struct, map node and allocation overheads, roughly.
    256 + p.event_id.len()
        + p.key.len()
        + e.cloudtrail_event.len()
        + resources
        + strings
            .iter()
            .map(|s| s.as_ref().map_or(0, String::len))
            .sum::<usize>()
}

impl NewestFirst {
    /// A collector for the page of `limit` events after `after`.
    pub fn new(limit: Option<usize>, after: Option<Position>) -> NewestFirst {
        NewestFirst::with_budget(limit, after, DEFAULT_SPILL_BUDGET)
    }

    /// A collector that spills to disk past `budget` bytes of held events.
    pub fn with_budget(
        limit: Option<usize>,
        after: Option<Position>,
        budget: usize,
    ) -> NewestFirst {
        NewestFirst {
            limit,
            after,
            events: BTreeMap::new(),
            held_bytes: 0,
            budget,
            runs: Vec::new(),
            duplicates: 0,
            compact: Vec::new(),
        }
    }

    fn insert(
        &mut self,
        position: Position,
        build: impl FnOnce(&mut Vec<u8>) -> LookupEvent,
    ) -> io::Result<()> {
        if self
            .after
            .as_ref()
            .is_some_and(|after| position.order(after) != Ordering::Greater)
        {
            return Ok(());
        }
        let key = Ordered(position);
        if let Some((existing, _)) = self.events.get_key_value(&key) {
            self.duplicates += 1;
            if existing.0.provenance() <= key.0.provenance() {
                return Ok(());
            }
            if let Some((old_key, old)) = self.events.remove_entry(&key) {
                self.held_bytes -= held_size(&old_key.0, &old);
            }
        } else if let Some(limit) = self.limit {
            // One more than the page, to know whether a next page exists.
            if self.events.len() > limit {
                match self.events.last_key_value() {
                    Some((last, _)) if *last < key => return Ok(()),
                    _ => {}
                }
            }
        }
        let event = build(&mut self.compact);
        self.held_bytes += held_size(&key.0, &event);
        self.events.insert(key, event);
        if let Some(limit) = self.limit {
            while self.events.len() > limit + 1 {
                if let Some((k, e)) = self.events.pop_last() {
                    self.held_bytes -= held_size(&k.0, &e);
                }
            }
        } else if self.held_bytes > self.budget {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> io::Result<()> {
        let events = std::mem::take(&mut self.events);
        self.held_bytes = 0;
        self.runs
            .push(write_run(events.iter().map(|(k, e)| (&k.0, e)))?);
        Ok(())
    }

    /// Adds one event collected elsewhere (a shard's results, read back by a merge).
    pub fn push(&mut self, position: Position, event: LookupEvent) -> io::Result<()> {
        self.insert(position, |_| event)
    }

    /// Adds another collector's events (for merging per-thread collectors).
    pub fn merge(mut self, mut other: NewestFirst) -> io::Result<NewestFirst> {
        self.duplicates += other.duplicates;
        self.runs.append(&mut other.runs);
        for (key, event) in other.events {
            self.insert(key.0, |_| event)?;
        }
        Ok(self)
    }

    /// The page.
    pub fn finish(mut self) -> io::Result<Page> {
        if !self.runs.is_empty() {
            self.spill()?;
            let mut heap = BinaryHeap::new();
            for (run, reader) in self.runs.iter_mut().enumerate() {
                if let Some((position, event)) = reader.next_event()? {
                    heap.push(Reverse(Head {
                        position,
                        run,
                        event,
                    }));
                }
            }
            let source = Source::Runs {
                runs: self.runs,
                heap,
                last: None,
            };
            return Ok(Page {
                events: Events {
                    source,
                    duplicates: self.duplicates,
                },
                next: None,
            });
        }
        let mut events: Vec<(Position, LookupEvent)> =
            self.events.into_iter().map(|(k, e)| (k.0, e)).collect();
        let next = match self.limit {
            Some(limit) if events.len() > limit => {
                events.truncate(limit);
                events.last().map(|(p, _)| p.clone())
            }
            _ => None,
        };
        Ok(Page {
            events: Events {
                source: Source::Memory(events.into_iter()),
                duplicates: self.duplicates,
            },
            next,
        })
    }
}

impl RecordSink for NewestFirst {
    type Error = io::Error;

    fn record(&mut self, m: &Match<'_, '_, '_>) -> io::Result<bool> {
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
        })?;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trailscan_records::EventTime;

    fn pos(secs: i64, id: &str, key: &str, index: u64) -> Position {
        Position {
            secs,
            nanos: 0,
            event_id: id.into(),
            key: key.into(),
            index,
        }
    }

    fn event(p: &Position) -> LookupEvent {
        LookupEvent {
            event_id: Some(p.event_id.clone()),
            event_name: Some(p.key.clone()),
            read_only: Some(p.index.is_multiple_of(2)),
            access_key_id: None,
            event_time: EventTime::from_secs(p.secs),
            event_source: None,
            username: Some(format!("u{}", p.index)),
            resources: vec![trailscan_records::Resource {
                resource_type: None,
                resource_name: Some(p.key.clone()),
            }],
            cloudtrail_event: format!("{{\"k\":\"{}\"}}", p.key),
        }
    }

    fn fill(mut c: NewestFirst, items: &[Position]) -> NewestFirst {
        for p in items {
            c.insert(p.clone(), |_| event(p)).unwrap();
        }
        c
    }

    struct Done {
        ids: Vec<String>,
        events: Vec<LookupEvent>,
        next: Option<Position>,
        duplicates: u64,
    }

    fn done(c: NewestFirst) -> Done {
        let mut page = c.finish().unwrap();
        let events: Vec<LookupEvent> = page.events.by_ref().map(|e| e.unwrap().1).collect();
        let ids = events
            .iter()
            .map(|e| {
                format!(
                    "{}:{}",
                    e.event_id.as_deref().unwrap(),
                    e.event_name.as_deref().unwrap()
                )
            })
            .collect();
        Done {
            ids,
            events,
            next: page.next,
            duplicates: page.events.duplicates(),
        }
    }

    fn collect(limit: Option<usize>, after: Option<Position>, items: &[Position]) -> Done {
        done(fill(NewestFirst::new(limit, after), items))
    }

    #[test]
    fn newest_first_dedup_keeps_first_key() {
        let items = [
            pos(1, "a", "k2", 0),
            pos(3, "c", "k1", 0),
            pos(2, "b", "k9", 0),
            pos(2, "b", "k3", 5),
            pos(2, "", "k1", 1),
        ];
        let page = collect(None, None, &items);
        assert_eq!(page.ids, ["c:k1", ":k1", "b:k3", "a:k2"]);
        assert_eq!(page.duplicates, 1);
        assert!(page.next.is_none());
    }

    #[test]
    fn pages_resume_exactly() {
        let items: Vec<Position> = (0..10)
            .map(|i| pos(100 - i / 2, &format!("id{i}"), "k", i as u64))
            .collect();
        let mut all = Vec::new();
        let mut after = None;
        for _ in 0..10 {
            let page = collect(Some(3), after.clone(), &items);
            all.extend(page.ids);
            match page.next {
                Some(p) => after = Some(p),
                None => break,
            }
        }
        assert_eq!(all, collect(None, None, &items).ids);
        assert_eq!(all.len(), 10);
    }

    #[test]
    fn merge_is_order_independent() {
        let a = [pos(5, "x", "k2", 0), pos(4, "y", "k1", 0)];
        let b = [pos(5, "x", "k1", 0), pos(3, "z", "k1", 0)];
        let build = |items: &[Position]| fill(NewestFirst::new(Some(2), None), items);
        let ab = done(build(&a).merge(build(&b)).unwrap());
        let ba = done(build(&b).merge(build(&a)).unwrap());
        assert_eq!(ab.ids, ba.ids);
        assert_eq!(ab.ids, ["x:k1", "y:k1"]);
    }

    /// Spilled runs merge to exactly what memory gives, duplicates across runs included.
    #[test]
    fn spilling_changes_nothing() {
        let mut items = Vec::new();
        for i in 0..500u64 {
            let secs = 1000 - (i * 7919 % 300) as i64;
            items.push(pos(
                secs,
                &format!("id{:03}", i % 400),
                &format!("k{}", i % 13),
                i,
            ));
            if i % 10 == 0 {
                items.push(pos(secs, &format!("id{:03}", i % 400), "a-first-key", i));
            }
        }
        let memory = collect(None, None, &items);
        let (left, right) = items.split_at(items.len() / 3);
        let tiny = |part: &[Position]| fill(NewestFirst::with_budget(None, None, 4096), part);
        let spilled = done(tiny(left).merge(tiny(right)).unwrap());
        assert_eq!(spilled.ids, memory.ids);
        assert_eq!(
            spilled.events, memory.events,
            "every field survives the round trip"
        );
        assert!(memory.duplicates > 0);
        assert_eq!(spilled.duplicates, memory.duplicates);
    }
}
