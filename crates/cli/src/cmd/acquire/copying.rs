//! An acquisition's copying: objects copied a batch at a time as the listing hands them over,
//! what happened to each tallied, and their manifest entries kept in sorted runs.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;

use rayon::prelude::*;
use trailscan_archive::{
    joined, list_streaming, map_fetched_until, Listing, LocalFolder, ObjectRef, ObjectStore,
    StoreError,
};
use trailscan_engine::Reporter;
use trailscan_integrity::copy::{copy_fetched, in_the_copy, Outcome};
use trailscan_integrity::manifest::ManifestEntry;
use trailscan_integrity::manifest_runs::{KnownHashes, SortedRuns};
use trailscan_layout::key::ObjectKind;
use trailscan_layout::printable::printable;
use trailscan_layout::Selection;

use super::RUNS_DIR;
use crate::progress::Progress;

/// Objects checked and copied at once, as the listing hands them over.
const BATCH: usize = 1024;

/// What a run did with the objects, tallied a batch at a time.
#[derive(Default)]
pub(super) struct Tally {
    pub(super) listed: u64,
    pub(super) copied: u64,
    pub(super) bytes: u64,
    pub(super) present: u64,
    pub(super) problems: u64,
    pub(super) refused: u64,
    /// Why the copy can take no more (a write to it, or to the manifest's runs, failed so):
    /// the run stops.
    pub(super) unwritable: Option<String>,
}

/// What a batch needs besides its objects.
pub(super) struct Copying<'a> {
    pub(super) source: &'a dyn ObjectStore,
    pub(super) copy: &'a LocalFolder,
    pub(super) known: &'a KnownHashes,
    pub(super) pool: &'a rayon::ThreadPool,
    pub(super) progress: &'a Progress,
    /// Set once the copy can take no more: the run stops.
    pub(super) stop: &'a AtomicBool,
}

impl Copying<'_> {
    /// Copies `objects`: first what the copy already holds (on disk, on all cores), then the
    /// rest fetched, as many in flight as the source keeps, and written as each arrives.
    fn batch(&self, objects: &[ObjectRef]) -> Vec<(usize, Outcome)> {
        let (copy, progress, stop) = (self.copy, self.progress, self.stop);
        self.pool.install(|| {
            let held: Vec<Result<Option<ManifestEntry>, Outcome>> = objects
                .par_iter()
                .map(|object| in_the_copy(copy, object, self.known.get(&object.key).as_deref()))
                .collect();
            let mut results = Vec::with_capacity(objects.len());
            let mut to_fetch = Vec::new();
            for (i, held) in held.into_iter().enumerate() {
                match held {
                    Err(outcome) => {
                        progress.object_done(objects[i].size, 0, 0);
                        results.push((i, outcome));
                    }
                    Ok(existing) => to_fetch.push((i, existing)),
                }
            }
            let keys: Vec<&str> = to_fetch
                .iter()
                .map(|(i, _)| objects[*i].key.as_str())
                .collect();
            let requests = self.source.requests_in_flight();
            let copied =
                map_fetched_until(self.source, &keys, requests, true, stop, |n, fetched| {
                    let (i, existing) = &to_fetch[n];
                    let outcome = copy_fetched(copy, &objects[*i], existing.as_ref(), fetched);
                    if matches!(outcome, Outcome::CopyUnwritable(_)) {
                        stop.store(true, Ordering::Relaxed);
                    }
                    progress.object_done(objects[*i].size, 0, 0);
                    outcome
                });
            results.extend(
                copied
                    .into_iter()
                    .map(|(n, outcome)| (to_fetch[n].0, outcome)),
            );
            results
        })
    }

    /// Copies the objects handed over on `listed` a batch at a time, tallying into `tally`
    /// and keeping their entries in `runs`, until the listing ends or the copy can take no
    /// more (then `listed` is let go, and the listing stops).
    pub(super) fn all(
        &self,
        listed: Receiver<Vec<ObjectRef>>,
        tally: &mut Tally,
        runs: &mut SortedRuns,
    ) {
        let mut batch: Vec<ObjectRef> = Vec::new();
        let mut parts = listed.into_iter();
        loop {
            let part = parts.next();
            let ended = part.is_none();
            if let Some(part) = part {
                let bytes = part.iter().map(|o| o.size).sum();
                self.progress.more_to_scan(part.len() as u64, bytes);
                tally.listed += part.len() as u64;
                batch.extend(part);
            }
            if batch.len() >= BATCH || (ended && !batch.is_empty()) {
                let mut outcomes = self.batch(&batch);
                outcomes.sort_by(|a, b| batch[a.0].key.cmp(&batch[b.0].key));
                for (i, outcome) in outcomes {
                    tally.record(self, std::mem::take(&mut batch[i].key), outcome, runs);
                }
                batch.clear();
            }
            if ended || self.stop.load(Ordering::Relaxed) {
                return;
            }
        }
    }
}

impl Tally {
    fn record(
        &mut self,
        copying: &Copying<'_>,
        key: String,
        outcome: Outcome,
        runs: &mut SortedRuns,
    ) {
        let said = |message: &str| {
            // Keys are the bucket's: escaped, so that none forges a line.
            let line = format!("trailscan: {}: {message}", copying.source.display_key(&key));
            copying.progress.eprintln(printable(&line));
        };
        let entry = match outcome {
            Outcome::Copied(entry) => {
                self.copied += 1;
                self.bytes += entry.size;
                Some(entry)
            }
            Outcome::Present(entry) => {
                self.present += 1;
                Some(entry)
            }
            Outcome::Differs(message) | Outcome::Failed(message) => {
                self.problems += 1;
                said(&message);
                None
            }
            Outcome::Refused(message) => {
                self.refused += 1;
                said(&message);
                None
            }
            Outcome::CopyUnwritable(e) => {
                self.unwritable.get_or_insert(e.to_string());
                None
            }
        };
        let Some(entry) = entry else { return };
        if let Err(e) = runs.push(key, entry) {
            // The runs are in the copy: a disk that cannot take them cannot take the copy.
            let runs_dir = copying.copy.display_key(RUNS_DIR);
            self.unwritable.get_or_insert(format!(
                "{runs_dir}: cannot keep the manifest's entries: {e}"
            ));
            copying.stop.store(true, Ordering::Relaxed);
        }
    }
}

/// Lists the three kinds' folders at once (from S3, each listing is round trips), handing
/// each folder's objects to `deliver` as it is listed; their listings, without objects.
pub(super) fn list_kinds(
    source: &dyn ObjectStore,
    selection: &(dyn Fn(ObjectKind) -> Selection + Sync),
    deliver: &(dyn Fn(Vec<ObjectRef>) -> bool + Sync),
) -> Result<Vec<Listing>, StoreError> {
    std::thread::scope(|scope| {
        let running = [ObjectKind::Log, ObjectKind::Insight, ObjectKind::Digest]
            .map(|kind| scope.spawn(move || list_streaming(source, &selection(kind), deliver)));
        running.into_iter().map(joined).collect()
    })
}
