//! An index opened for questions: its snapshot, and its segments read as the questions need
//! them, each once.
//!
//! A lookup reads whole only the segments of groups (account x region x delivery month) that
//! hold rows of days not sealed: those rows are compared with the listing of those days. The
//! segments of wholly sealed groups are first ruled out by what the snapshot says of them
//! (delivery and event times, caps) and by their summaries ([`crate::summary`]), so that a
//! needle reads index bytes in proportion to what can match, not to the years indexed.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};

use trailscan_archive::ObjectStore;
use trailscan_layout::Selection;
use trailscan_query::LookupRequest;

use crate::catalog::{micros_down, micros_up, Catalog, Columns};
use crate::group::Group;
use crate::plan::{Caps, Probes};
use crate::seal::SealMap;
use crate::snapshot::{IndexStore, SegmentInfo, Snapshot};
use crate::summary::{InMemory, Summary};
use crate::IndexError;
use rayon::prelude::*;

/// An index opened for questions.
pub struct IndexReader {
    store: Box<dyn ObjectStore>,
    snapshot: Snapshot,
    /// Segments read so far, by their place in the snapshot.
    loaded: Mutex<HashMap<usize, Vec<Columns>>>,
}

/// What [`IndexReader::may_match`] decided.
#[derive(Debug, Default)]
pub struct SegmentsPicked {
    /// The segments to read: those that may hold a match, and the other segments of their
    /// groups (where a later segment holds a newer row of the same object).
    pub read: Vec<usize>,
    /// Segments ruled out without reading them.
    pub ruled_out: u64,
}

impl IndexReader {
    /// The index in `store`; `location` names it in messages.
    pub fn open(store: Box<dyn ObjectStore>, location: &str) -> Result<IndexReader, IndexError> {
        let snapshot = IndexStore::new(&*store)
            .current()?
            .ok_or_else(|| IndexError::NoIndex(location.to_string()))?;
        Ok(IndexReader {
            store,
            snapshot,
            loaded: Mutex::new(HashMap::new()),
        })
    }

    /// The snapshot read.
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The store the index is in.
    pub fn store(&self) -> &dyn ObjectStore {
        &*self.store
    }

    /// The segments whose group (account x region x delivery month) `selection` may need.
    pub fn segments_for(&self, selection: &Selection) -> Vec<usize> {
        let wanted = |s: &SegmentInfo| {
            let month = s
                .month
                .split_once('-')
                .and_then(|(y, m)| Some((y.parse().ok()?, m.parse().ok()?)));
            selection.wants_account(&s.account)
                && selection.wants_region(&s.region)
                // A month that does not parse is read: the rows, not the name, decide.
                && month.is_none_or(|(y, m)| selection.month_may_match(y, m))
        };
        let segments = self.snapshot.segments.iter().enumerate();
        segments
            .filter(|(_, s)| wanted(s))
            .map(|(i, _)| i)
            .collect()
    }

    /// `segments` split into those of groups holding rows of days `seals` does not seal (all
    /// of them without seals), and those of groups wholly sealed.
    pub fn split_open(
        &self,
        segments: &[usize],
        seals: Option<&SealMap>,
    ) -> (Vec<usize>, Vec<usize>) {
        let all = &self.snapshot.segments;
        let open_groups: HashSet<Group> = segments
            .iter()
            .map(|&i| &all[i])
            .filter(|s| seals.is_none_or(|seals| !all_sealed(s, seals)))
            .map(SegmentInfo::group)
            .collect();
        segments
            .iter()
            .partition(|&&i| open_groups.contains(&all[i].group()))
    }

    /// Of `segments` (of wholly sealed groups), those that may hold an object `request` must
    /// read with `probes` in `selection`'s delivery window, with the other segments of their
    /// groups among `segments`. A segment with a row a scan would report, or an object over
    /// `caps`, is always read.
    pub fn may_match(
        &self,
        segments: &[usize],
        selection: &Selection,
        request: &LookupRequest,
        probes: Probes<'_>,
        caps: Caps,
    ) -> Result<SegmentsPicked, IndexError> {
        let all = &self.snapshot.segments;
        let must = |s: &SegmentInfo| {
            s.rows_with_problems > 0
                || s.max_inflated_bytes > caps.max_inflated_bytes
                || s.max_record_bytes > caps.max_record_bytes
        };
        let in_window = |s: &SegmentInfo| {
            let times = s.event_micros.is_some_and(|(first, last)| {
                request.start.is_none_or(|t| last >= micros_down(t))
                    && request.end.is_none_or(|t| first <= micros_up(t))
            });
            times && selection.delivery_period_may_match(s.first_delivered_at, s.last_delivered_at)
        };
        let hashes: &[u64] = match probes {
            Probes::All(h) | Probes::Any(h) => h,
        };
        let mut picked = Vec::new();
        let mut to_probe = Vec::new();
        for &i in segments {
            let s = &all[i];
            if must(s) {
                picked.push(i);
            } else if !in_window(s) || matches!(probes, Probes::Any([])) {
                continue;
            } else if hashes.is_empty() {
                picked.push(i);
            } else {
                to_probe.push(i);
            }
        }
        let index = IndexStore::new(&*self.store);
        let infos: Vec<&SegmentInfo> = to_probe.iter().map(|&i| &all[i]).collect();
        let probe = |summary: Summary| {
            let mut holds = hashes.iter().map(|&h| summary.may_contain(h));
            match probes {
                Probes::All(_) => holds.try_fold(true, |all, h| h.map(|h| all && h)),
                Probes::Any(_) => holds.try_fold(false, |any, h| h.map(|h| any || h)),
            }
        };
        let may: Vec<bool> = match self.store.is_remote() {
            // Across a network: each summary whole, many at once (a request per part would
            // cost more than the bytes).
            true => index
                .read_summaries(&infos, self.store.requests_in_flight())?
                .into_iter()
                .zip(&infos)
                .map(|(body, info)| {
                    let summary = Summary::open(Box::new(InMemory(body)));
                    summary
                        .and_then(probe)
                        .map_err(|p| index.summary_damaged(info, p))
                })
                .collect::<Result<_, _>>()?,
            // On disk: only the buckets probed are read.
            false => infos
                .par_iter()
                .map(|info| index.probe_summary(info, probe))
                .collect::<Result<_, _>>()?,
        };
        picked.extend(
            to_probe
                .iter()
                .zip(may)
                .filter(|(_, may)| *may)
                .map(|(&i, _)| i),
        );
        let groups: HashSet<Group> = picked.iter().map(|&i| all[i].group()).collect();
        let read: Vec<usize> = segments
            .iter()
            .copied()
            .filter(|&i| groups.contains(&all[i].group()))
            .collect();
        let ruled_out = (segments.len() - read.len()) as u64;
        Ok(SegmentsPicked { read, ruled_out })
    }

    /// The rows of `segments` (each read once, whatever the questions).
    pub fn catalog(&self, segments: &[usize]) -> Result<Catalog, IndexError> {
        let mut loaded = self.loaded.lock().unwrap_or_else(PoisonError::into_inner);
        let missing: Vec<usize> = segments
            .iter()
            .copied()
            .filter(|i| !loaded.contains_key(i))
            .collect();
        let infos: Vec<&SegmentInfo> = missing
            .iter()
            .map(|&i| &self.snapshot.segments[i])
            .collect();
        let index = IndexStore::new(&*self.store);
        let read = index.load_columns(&infos, self.store.requests_in_flight(), false)?;
        loaded.extend(missing.into_iter().zip(read));
        // In the snapshot's order: where two segments hold a key, the later one's row wins.
        let mut ordered: Vec<usize> = segments.to_vec();
        ordered.sort_unstable();
        ordered.dedup();
        let mut catalog = Catalog::default();
        for i in ordered {
            catalog.add(loaded[&i].clone());
        }
        Ok(catalog)
    }

    /// Lets go of the segments read so far.
    pub fn forget(&self) {
        self.loaded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

/// Whether every row of `segment` lies in a day `seals` seals: each of its folders sealed
/// over its delivery days, and a day more on each side (a row's day is its folder's, which
/// its file name's time only matches in a well-formed archive).
fn all_sealed(segment: &SegmentInfo, seals: &SealMap) -> bool {
    let first = segment.first_delivered_at.div_euclid(86_400) - 1;
    let last = segment.last_delivered_at.div_euclid(86_400) + 1;
    !segment.folders.is_empty()
        && segment
            .folders
            .iter()
            .all(|folder| seals.get(folder).is_some_and(|s| s.holds_span(first, last)))
}
