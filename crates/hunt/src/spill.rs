//! A hunt's detections, held up to a memory budget and past it written out as sorted runs in
//! temporary files, then read back merged in [`printed_order`]. A sweep over years can match
//! millions of records (a broad rule, or a correlation's base rule that matches every
//! `AssumeRole`): memory must not be what decides how much archive a hunt can read.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Write};
use std::sync::Arc;

use trailscan_query::run_codec::{
    get_opt, get_str, get_u64, get_u8, put_opt, put_str, put_u64, rewound, temp_writer,
};
use trailscan_records::EventTime;

use crate::detect::{printed_order, Detection, EventFields, MatchedEvent};

/// Runs of one level merged into one of the next, so that a thread's detections are rewritten
/// once a level, however many runs it writes.
const FAN_IN: usize = 16;

/// The most runs kept open at once (each with a 64 KiB buffer): the runs of many threads
/// joined are merged, the lowest levels first, down to this (never one file per run, which
/// would exhaust file descriptors).
const MAX_OPEN_RUNS: usize = 64;

/// Detections held in memory, and the runs written so far.
pub struct HeldDetections {
    held: Vec<Detection>,
    held_bytes: usize,
    budget: usize,
    /// Each run with its level: 0 written from memory, L + 1 merged from FAN_IN runs of L.
    runs: Vec<(u32, BufReader<File>)>,
    /// Detections written out from memory.
    written: u64,
}

impl HeldDetections {
    /// Detections that go to disk past `budget` bytes held.
    pub fn with_budget(budget: usize) -> HeldDetections {
        HeldDetections {
            held: Vec::new(),
            held_bytes: 0,
            budget,
            runs: Vec::new(),
            written: 0,
        }
    }

    /// How many detections go to temporary files by the time they are read back (none while
    /// they fit the budget).
    pub fn spilled(&self) -> u64 {
        match self.runs.is_empty() {
            true => 0,
            false => self.written + self.held.len() as u64,
        }
    }

    /// Adds the detections of `event`, one per rule of `rules`.
    pub fn push(&mut self, event: Arc<MatchedEvent>, rules: &[usize]) -> io::Result<()> {
        self.held_bytes += held_size(&event) + rules.len() * size_of::<Detection>();
        for &rule in rules {
            self.held.push(Detection {
                rule,
                event: event.clone(),
            });
        }
        if self.held_bytes > self.budget {
            self.write_run()?;
        }
        Ok(())
    }

    /// Adds what `other` holds and wrote (another scan thread's detections).
    pub fn append(&mut self, mut other: HeldDetections) -> io::Result<()> {
        self.runs.append(&mut other.runs);
        self.written += other.written;
        self.held_bytes += other.held_bytes;
        self.held.append(&mut other.held);
        if self.held_bytes > self.budget {
            self.write_run()?;
        }
        self.bound_open_runs()
    }

    /// Every detection, in [`printed_order`] (duplicates included: see [`crate::Findings`]).
    pub fn into_ordered(mut self) -> io::Result<Ordered> {
        if self.runs.is_empty() {
            self.held.sort_by(printed_order);
            return Ok(Ordered::Memory(self.held.into_iter()));
        }
        self.write_run()?;
        Ordered::merging(self.runs.into_iter().map(|(_, run)| run).collect())
    }

    /// Writes what is held as a run, then merges the last runs a level up while FAN_IN of
    /// them share one.
    fn write_run(&mut self) -> io::Result<()> {
        if self.held.is_empty() {
            return Ok(());
        }
        let mut held = std::mem::take(&mut self.held);
        self.held_bytes = 0;
        self.written += held.len() as u64;
        held.sort_by(printed_order);
        self.runs.push((0, write_run(held.into_iter().map(Ok))?));
        while let Some(first) = self.runs.len().checked_sub(FAN_IN) {
            if self.runs[first..].iter().any(|r| r.0 != self.runs[first].0) {
                break;
            }
            let last = self.runs.split_off(first);
            self.runs.push(merged(last)?);
        }
        Ok(())
    }

    /// Merges the lowest levels' runs, FAN_IN at a time, while more than MAX_OPEN_RUNS are
    /// kept (threads' runs joined: each thread's are bounded, their sum is not).
    fn bound_open_runs(&mut self) -> io::Result<()> {
        while self.runs.len() > MAX_OPEN_RUNS {
            self.runs
                .sort_by_key(|(level, _)| std::cmp::Reverse(*level));
            let lowest = self.runs.split_off(self.runs.len() - FAN_IN);
            self.runs.push(merged(lowest)?);
        }
        Ok(())
    }
}

/// `runs` merged into one, a level above the highest of them.
fn merged(runs: Vec<(u32, BufReader<File>)>) -> io::Result<(u32, BufReader<File>)> {
    let level = runs.iter().map(|(level, _)| *level).max().unwrap_or(0) + 1;
    let ordered = Ordered::merging(runs.into_iter().map(|(_, run)| run).collect())?;
    Ok((level, write_run(ordered)?))
}

/// About what a matched event costs in memory: its fields, its JSON, the structure around
/// them.
fn held_size(event: &MatchedEvent) -> usize {
    192 + event.fields.text_len() + event.json.as_ref().map_or(0, |j| j.len())
}

/// Detections in [`printed_order`], from memory or merged from runs.
pub enum Ordered {
    /// All of them fit the budget.
    #[doc(hidden)]
    Memory(std::vec::IntoIter<Detection>),
    /// Read back from runs, the next of each in a heap.
    #[doc(hidden)]
    Runs {
        /// The runs.
        runs: Vec<BufReader<File>>,
        /// The next detection of each run that has one.
        heap: BinaryHeap<Head>,
    },
}

/// A run's next detection, ordered for a min-heap (the first in [`printed_order`] on top, of
/// equals the earlier run's).
#[doc(hidden)]
pub struct Head {
    detection: Detection,
    run: usize,
}

impl Ord for Head {
    fn cmp(&self, other: &Head) -> Ordering {
        printed_order(&other.detection, &self.detection).then(other.run.cmp(&self.run))
    }
}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Head) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Head {
    fn eq(&self, other: &Head) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Head {}

impl Ordered {
    fn merging(mut runs: Vec<BufReader<File>>) -> io::Result<Ordered> {
        let mut heap = BinaryHeap::with_capacity(runs.len());
        for (run, reader) in runs.iter_mut().enumerate() {
            if let Some(detection) = read_detection(reader)? {
                heap.push(Head { detection, run });
            }
        }
        Ok(Ordered::Runs { runs, heap })
    }

    /// The next detection, or `None` past the last.
    pub fn next_detection(&mut self) -> io::Result<Option<Detection>> {
        match self {
            Ordered::Memory(held) => Ok(held.next()),
            Ordered::Runs { runs, heap } => {
                let Some(Head { detection, run }) = heap.pop() else {
                    return Ok(None);
                };
                if let Some(next) = read_detection(&mut runs[run])? {
                    heap.push(Head {
                        detection: next,
                        run,
                    });
                }
                Ok(Some(detection))
            }
        }
    }
}

impl Iterator for Ordered {
    type Item = io::Result<Detection>;

    fn next(&mut self) -> Option<io::Result<Detection>> {
        self.next_detection().transpose()
    }
}

/// Writes `detections` (in order) to a new run, rewound for reading.
fn write_run(
    detections: impl Iterator<Item = io::Result<Detection>>,
) -> io::Result<BufReader<File>> {
    let mut w = temp_writer()?;
    for detection in detections {
        write_detection(&mut w, &detection?)?;
    }
    w.write_all(&[0])?;
    rewound(w)
}

fn write_detection(w: &mut BufWriter<File>, d: &Detection) -> io::Result<()> {
    let e = &*d.event;
    w.write_all(&[1])?;
    put_u64(w, d.rule as u64)?;
    put_u64(w, e.time.secs as u64)?;
    put_u64(w, u64::from(e.time.nanos))?;
    match e.identity {
        None => w.write_all(&[0])?,
        Some(identity) => {
            w.write_all(&[1])?;
            w.write_all(&identity.to_le_bytes())?;
        }
    }
    for index in 0..EventFields::NAMES.len() {
        put_opt(w, e.fields.get(index))?;
    }
    put_str(w, &e.object_key)?;
    put_u64(w, e.record_index as u64)?;
    put_opt(w, e.json.as_deref())
}

fn read_detection(r: &mut BufReader<File>) -> io::Result<Option<Detection>> {
    if get_u8(r)? == 0 {
        return Ok(None);
    }
    let rule = get_u64(r)? as usize;
    let time = EventTime {
        secs: get_u64(r)? as i64,
        nanos: get_u64(r)? as u32,
    };
    let identity = match get_u8(r)? {
        0 => None,
        _ => {
            let mut bytes = [0u8; 16];
            io::Read::read_exact(r, &mut bytes)?;
            Some(u128::from_le_bytes(bytes))
        }
    };
    let mut values: [Option<String>; 8] = Default::default();
    for value in &mut values {
        *value = get_opt(r)?;
    }
    let event = MatchedEvent {
        time,
        identity,
        fields: EventFields::from_values(values.each_ref().map(Option::as_deref)),
        object_key: Arc::from(get_str(r)?),
        record_index: get_u64(r)? as usize,
        json: get_opt(r)?.map(String::into_boxed_str),
    };
    Ok(Some(Detection {
        rule,
        event: Arc::new(event),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detection(rule: usize, secs: i64, id: Option<&str>, key: &str, json: bool) -> Detection {
        let mut values: [Option<&str>; 8] = Default::default();
        values[1] = Some("AssumeRole");
        values[7] = id;
        Detection {
            rule,
            event: Arc::new(MatchedEvent {
                time: EventTime::from_secs(secs),
                identity: id
                    .map(|id| trailscan_records::event_identity(EventTime::from_secs(secs), id)),
                fields: EventFields::from_values(values),
                object_key: Arc::from(key),
                record_index: secs as usize % 7,
                json: json.then(|| format!("{{\"t\":{secs}}}").into_boxed_str()),
            }),
        }
    }

    fn some_detections() -> Vec<Detection> {
        (0..500)
            .map(|i| {
                let id = format!("id-{}", i % 37);
                let id = (i % 11 != 0).then_some(id.as_str());
                detection(
                    i % 3,
                    (i * 7919 % 101) as i64,
                    id,
                    &format!("k{}", i % 5),
                    i % 2 == 0,
                )
            })
            .collect()
    }

    fn ordered(held: HeldDetections) -> Vec<Detection> {
        held.into_ordered().unwrap().map(Result::unwrap).collect()
    }

    #[test]
    fn runs_read_back_as_memory_orders() {
        let all = some_detections();
        let mut memory = HeldDetections::with_budget(usize::MAX);
        // A budget of a few detections: hundreds of runs, merged a level up every FAN_IN.
        let (mut left, mut right) = (
            HeldDetections::with_budget(1500),
            HeldDetections::with_budget(1500),
        );
        for (i, d) in all.iter().enumerate() {
            memory.push(d.event.clone(), &[d.rule]).unwrap();
            let side = if i % 3 == 0 { &mut left } else { &mut right };
            side.push(d.event.clone(), &[d.rule]).unwrap();
        }
        assert!(left.runs.len() + right.runs.len() > 2);
        assert!(
            left.runs.iter().any(|r| r.0 > 0),
            "no run merged a level up"
        );
        left.append(right).unwrap();
        let expected = ordered(memory);
        let spilled = ordered(left);
        assert_eq!(spilled.len(), all.len());
        assert_eq!(spilled, expected);
        assert!(expected
            .windows(2)
            .all(|w| printed_order(&w[0], &w[1]).is_le()));
    }

    #[test]
    fn many_threads_runs_joined_stay_within_the_open_files_bound() {
        let all = some_detections();
        let mut memory = HeldDetections::with_budget(usize::MAX);
        // A budget of nothing: every detection a run of its own, in each of 12 threads.
        let mut threads: Vec<HeldDetections> =
            (0..12).map(|_| HeldDetections::with_budget(0)).collect();
        for (i, d) in all.iter().enumerate() {
            memory.push(d.event.clone(), &[d.rule]).unwrap();
            threads[i % 12].push(d.event.clone(), &[d.rule]).unwrap();
        }
        let open: usize = threads.iter().map(|t| t.runs.len()).sum();
        assert!(
            open > MAX_OPEN_RUNS,
            "{open} runs: the case needs more than the bound"
        );
        let mut joined = HeldDetections::with_budget(0);
        for thread in threads {
            joined.append(thread).unwrap();
            assert!(joined.runs.len() <= MAX_OPEN_RUNS, "{}", joined.runs.len());
        }
        assert_eq!(joined.spilled(), all.len() as u64);
        assert_eq!(ordered(joined), ordered(memory));
    }

    #[test]
    fn an_event_of_several_rules_is_one_detection_each() {
        let mut held = HeldDetections::with_budget(0);
        let d = detection(0, 5, Some("a"), "k", true);
        held.push(d.event.clone(), &[2, 0]).unwrap();
        let read: Vec<(usize, Option<Box<str>>)> = ordered(held)
            .into_iter()
            .map(|d| (d.rule, d.event.json.clone()))
            .collect();
        assert_eq!(read, [(0, d.event.json.clone()), (2, d.event.json.clone())]);
    }
}
