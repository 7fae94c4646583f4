//! What lookup-events and export share before and around their scan: the source opened and
//! listed, the worker threads, the progress display, and problems with objects reported.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Mutex, PoisonError};

use anyhow::{Context, Result};
use trailscan_archive::{
    alongside, default_threads, list, open_archive, open_existing, Listing, ObjectRef, ObjectStore,
    RequestCounts,
};
use trailscan_index::{
    deleted_since_indexed, groups_of, plan, plan_probes, Caps, Catalog, IndexPlan, IndexStore,
    Probes,
};
use trailscan_query::{
    scan, LookupRequest, ObjectProblem, ObjectScanned, Prefilter, RecordSink, ScanOptions,
    ScanStats,
};

use crate::progress::{Meter, Progress};
use crate::settings::SourceSettings;

/// Worker threads: `threads` (`--threads`), else one per core.
pub fn worker_pool(threads: usize) -> Result<rayon::ThreadPool> {
    let threads = match threads {
        0 => default_threads(),
        n => n,
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start worker threads")
}

/// The error for a source that lists no `AWSLogs/` folder at all: not a CloudTrail archive.
pub fn not_an_archive(store: &dyn ObjectStore) -> anyhow::Error {
    anyhow::anyhow!(
        "no AWSLogs/ folder under {}: give the bucket CloudTrail delivers to (s3://BUCKET[/PREFIX]), a copy of it, or a folder inside it",
        store.name()
    )
}

/// Names each indexed object that the listing no longer found, on stderr.
pub fn report_deleted(progress: &Progress, store: &dyn ObjectStore, keys: &[String]) {
    for key in keys {
        progress.eprintln(format_args!(
            "trailscan: {}: indexed, but no longer in the archive (deleted since indexed?)",
            store.display_key(key)
        ));
    }
}

/// The index at `location`: the rows of every segment whose group (account x region x
/// delivery month) the selection may need, and the S3 requests reading them took.
fn load_index(location: &str, source: &SourceSettings) -> Result<(Catalog, Option<RequestCounts>)> {
    let index_store = open_existing(location, &source.s3)
        .with_context(|| format!("cannot open the index {location}"))?;
    let index = IndexStore::new(&*index_store);
    let snapshot = index
        .current()?
        .ok_or_else(|| trailscan_index::IndexError::NoIndex(location.to_string()))?;
    let selection = &source.selection;
    let wanted = |s: &trailscan_index::SegmentInfo| {
        let month = s
            .month
            .split_once('-')
            .and_then(|(y, m)| Some((y.parse().ok()?, m.parse().ok()?)));
        selection.wants_account(&s.account)
            && selection.wants_region(&s.region)
            // A month that does not parse is read: the rows, not the name, decide.
            && month.is_none_or(|(y, m)| selection.month_may_match(y, m))
    };
    let requests = index_store.requests_in_flight();
    let catalog = index.load(&snapshot, wanted, requests, false)?;
    Ok((catalog, index_store.requests_made()))
}

/// A source opened and listed, with its worker threads and progress display.
pub struct OpenScan {
    /// The progress display, already counting the listing.
    pub progress: Progress,
    /// What the selection needs.
    pub listing: Listing,
    /// Where the objects are.
    pub store: Box<dyn ObjectStore>,
    /// The worker threads (`--threads`): the scan's, and any other work of the command's.
    pub pool: rayon::ThreadPool,
    max_inflated_bytes: u64,
    max_record_bytes: u64,
    /// The index's rows for the listed objects' groups, with `--index`; taken (and freed)
    /// once the objects to read are known, so that the scan has the memory.
    index: Mutex<Option<Catalog>>,
    /// The S3 requests reading the index took, where it is in S3.
    index_requests: Option<RequestCounts>,
    selection: trailscan_layout::Selection,
}

/// What the index did for a lookup, for its summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexUse {
    /// Listed objects the index holds as they are.
    pub via_index: u64,
    /// Of those, the ones read (candidates, or ones a scan reports).
    pub candidates: u64,
    /// Listed objects it does not hold.
    pub not_indexed: u64,
    /// Listed objects changed since indexed.
    pub changed: u64,
    /// Indexed objects no longer listed.
    pub deleted: u64,
}

impl IndexUse {
    /// What a plan decided, with `deleted` indexed objects no longer listed.
    fn of(planned: &IndexPlan, deleted: u64) -> IndexUse {
        let not_candidates = planned.not_indexed + planned.changed.len() as u64;
        IndexUse {
            via_index: planned.via_index,
            candidates: planned.read.len() as u64 - not_candidates,
            not_indexed: planned.not_indexed,
            changed: planned.changed.len() as u64,
            deleted,
        }
    }
}

impl fmt::Display for IndexUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "  index: {} objects via the index ({} of them read as candidates), {} not indexed (scanned), {} changed since indexed (re-read), {} deleted since indexed",
            self.via_index, self.candidates, self.not_indexed, self.changed, self.deleted
        )
    }
}

impl OpenScan {
    /// Opens the source and lists what the selection needs, with a spinner, then starts the
    /// scan's bar; listing problems are reported on stderr (the scan goes on without those
    /// folders). A source without any `AWSLogs/` folder is refused: it is not a CloudTrail
    /// archive.
    pub fn open(source: &SourceSettings) -> Result<OpenScan> {
        let progress = Progress::on_stderr(source.no_progress, source.quiet);
        let store = open_archive(&source.spec, &source.s3)?;
        progress.listing(store.name());
        // With `--index`, the index is read beside the listing: the segments the selection may
        // need, narrowed to the listed objects' groups once the listing is in. From S3 that
        // saves the index's round trips; on disk, the listing's stats and the segments'
        // decoding run on both cores.
        let (listing, index) = alongside(
            || {
                let location = source.index.as_ref()?;
                Some(load_index(location, source))
            },
            || list(&*store, &source.selection),
        );
        let listing = listing?;
        if listing.awslogs_folders == 0 {
            return Err(not_an_archive(&*store));
        }
        for problem in &listing.problems {
            progress.eprintln(format_args!("trailscan: {problem}"));
        }
        let (index, index_requests) = match index.transpose()? {
            Some((mut catalog, requests)) => {
                catalog.retain_groups(&groups_of(&listing.objects));
                (Some(catalog), requests)
            }
            None => (None, None),
        };
        Ok(OpenScan {
            pool: worker_pool(source.threads)?,
            progress,
            listing,
            store,
            max_inflated_bytes: source.max_inflated_bytes,
            max_record_bytes: source.max_record_bytes,
            index: Mutex::new(index),
            index_requests,
            selection: source.selection.clone(),
        })
    }

    /// The index's and S3's lines of a summary, on stderr, where there are such.
    pub fn eprint_costs(&self, index_use: Option<IndexUse>) {
        if let Some(index) = index_use {
            eprintln!("{index}");
        }
        if let Some(line) = self.requests_line() {
            eprintln!("{line}");
        }
    }

    /// What the run cost in S3 requests, source and index, for the summary; `None` on disk.
    pub fn requests_line(&self) -> Option<String> {
        let source = self.store.requests_made().map(|r| format!("source {r}"));
        let index = self.index_requests.map(|r| format!("index {r}"));
        let parts: Vec<String> = source.into_iter().chain(index).collect();
        (!parts.is_empty()).then(|| format!("  S3: {}", parts.join("; ")))
    }

    /// The objects `request` must read, and starts the scan's bar with them: the listing's,
    /// or with an index, those it cannot rule out plus every object it does not hold or that
    /// changed since indexed (each reported), so that the answer is the scan's.
    pub fn objects_to_read(
        &self,
        request: &LookupRequest,
    ) -> (Cow<'_, [ObjectRef]>, Option<IndexUse>) {
        let listed = &self.listing.objects;
        let catalog = self
            .index
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let (objects, used) = match &catalog {
            None => (Cow::Borrowed(&listed[..]), None),
            Some(catalog) => {
                let caps = Caps {
                    max_inflated_bytes: self.max_inflated_bytes,
                    max_record_bytes: self.max_record_bytes,
                };
                let planned = plan(catalog, listed, request, caps);
                let deleted = deleted_since_indexed(
                    catalog,
                    listed,
                    planned.indexed(),
                    &self.selection,
                    self.listing.shard_plan.as_ref(),
                    self.store.base(),
                );
                let name = |key: &str| self.store.display_key(key);
                for key in &planned.changed {
                    self.progress.eprintln(format_args!(
                        "trailscan: {}: changed since indexed (size, ETag or modification time); read again",
                        name(key)
                    ));
                }
                report_deleted(&self.progress, &*self.store, &deleted);
                let used = IndexUse::of(&planned, deleted.len() as u64);
                (Cow::Owned(planned.read), Some(used))
            }
        };
        if objects.len() >= TRIM_BEFORE_OBJECTS {
            drop(catalog);
            give_back_freed_memory();
        } else if let Some(catalog) = catalog {
            // Letting the catalog go (its segments unmapped, its keys freed) takes about a
            // millisecond; beside a scan of a few objects, it goes on a thread of its own
            // (where no thread can be had, the refused closure drops it here).
            let _ = std::thread::Builder::new().spawn(move || drop(catalog));
        }
        let bytes = objects.iter().map(|o| o.size).sum();
        self.progress
            .start(Meter::Scan, objects.len() as u64, bytes);
        (objects, used)
    }

    /// The listed objects a round of a trace reads for `request`'s window: with an index,
    /// those that may hold any of `probes` (or, with none, any event) in the window, plus
    /// every object the index does not hold or that changed since indexed (the catalog stays
    /// for further rounds); without, those whose delivery time can hold events of the window.
    pub fn objects_for_round(
        &self,
        request: &LookupRequest,
        probes: Probes<'_>,
    ) -> (Vec<ObjectRef>, Option<IndexUse>) {
        let guard = self.index.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(catalog) = guard.as_ref() else {
            let window = trailscan_layout::Selection {
                start: request.start.map(|t| t.secs),
                end: request.end.map(|t| t.secs.saturating_add(1)),
                ..self.selection.clone()
            };
            let objects = self
                .listing
                .objects
                .iter()
                .filter(|o| window.check(&o.layout).is_ok())
                .cloned()
                .collect();
            return (objects, None);
        };
        let caps = Caps {
            max_inflated_bytes: self.max_inflated_bytes,
            max_record_bytes: self.max_record_bytes,
        };
        let planned = plan_probes(catalog, &self.listing.objects, request, probes, caps);
        let used = IndexUse::of(&planned, 0);
        (planned.read, Some(used))
    }

    /// Scans `objects` (the listing's, or a batch of them) as [`scan`] does, each problem
    /// with an object reported on stderr above the bar, and the bar moved on per object.
    pub fn scan<S, N, M>(
        &self,
        objects: &[ObjectRef],
        request: &LookupRequest,
        hash_objects: bool,
        new_sink: N,
        merge: M,
    ) -> Result<(S, ScanStats), S::Error>
    where
        S: RecordSink + Send,
        N: Fn() -> S + Sync + Send,
        M: Fn(S, S) -> Result<S, S::Error>,
    {
        self.scan_prefiltered(objects, request, hash_objects, None, new_sink, merge)
    }

    /// [`OpenScan::scan`] with a prefilter of the caller's (a trace's needles) instead of
    /// the request's attributes'.
    pub fn scan_prefiltered<S, N, M>(
        &self,
        objects: &[ObjectRef],
        request: &LookupRequest,
        hash_objects: bool,
        prefilter: Option<&Prefilter>,
        new_sink: N,
        merge: M,
    ) -> Result<(S, ScanStats), S::Error>
    where
        S: RecordSink + Send,
        N: Fn() -> S + Sync + Send,
        M: Fn(S, S) -> Result<S, S::Error>,
    {
        let progress = &self.progress;
        let store = &*self.store;
        let report = |object: &ObjectRef, problem: &ObjectProblem| {
            progress.eprintln(format_args!(
                "trailscan: {}: {problem}",
                store.display_key(&object.key)
            ))
        };
        let on_object =
            |o: &ObjectScanned| progress.object_done(o.listed_bytes, o.records, o.matched);
        let options = ScanOptions {
            source: store,
            pool: &self.pool,
            requests_in_flight: store.requests_in_flight(),
            max_inflated_bytes: self.max_inflated_bytes,
            max_record_bytes: self.max_record_bytes,
            hash_objects,
            prefilter,
            report: &report,
            progress: Some(&on_object),
        };
        scan(objects, request, &options, new_sink, merge)
    }
}

/// From this many objects to read on, the memory the catalog held is freed and given back
/// before the scan; a scan of fewer cannot grow into it, and the trim costs about a
/// millisecond.
const TRIM_BEFORE_OBJECTS: usize = 256;

/// Returns the memory just freed (the catalog) to the system before a scan that may need it:
/// glibc keeps freed blocks of that size in the heap (its mmap threshold grows with them),
/// which a scan of every file would otherwise add to its peak (measured at 9 M events: 271
/// MB peak RSS without, 203 MB with).
fn give_back_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator; no pointer is involved.
    unsafe {
        libc::malloc_trim(0);
    }
}
