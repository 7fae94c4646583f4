//! A source opened for questions: the store, its listing, the index's rows for it, and the
//! worker threads; then, per question, the objects to read and the scan over them.

use std::borrow::Cow;
use std::sync::{mpsc, Mutex, PoisonError};

use trailscan_archive::{
    alongside, default_threads, find_day_folders, list_streaming, list_unsealed, open_archive,
    open_existing, Listing, ObjectRef, ObjectStore, S3Options,
};
use trailscan_index::{
    deleted_since_indexed, groups_of, plan_probes, plan_sealed, value_hash, Caps, Catalog,
    IndexError, IndexPlan, IndexReader, Probes, SealMap,
};
use trailscan_layout::Selection;
use trailscan_query::{
    scan, LookupRequest, ObjectProblem, ObjectScanned, Objects, Prefilter, RecordSink, ScanOptions,
    ScanStats,
};

use crate::index_use::IndexUse;
use crate::memory::let_catalog_go;
use crate::ordered::{in_order, DayFolders};
use crate::report::Reporter;
use crate::Error;

/// The largest record read by default (`--max-record-size`): CloudTrail's records are
/// kilobytes; a larger one is reported and skipped unparsed.
pub const DEFAULT_MAX_RECORD_BYTES: u64 = 4 << 20;

/// Folders' objects a streamed listing may have ready ahead of the scan: enough that the
/// workers never wait on a folder's listing, few enough that memory holds only them.
const PARTS_AHEAD: usize = 16;

/// What [`Source::read`] read: the sinks joined, the counts, and what the index did.
#[derive(Debug)]
pub struct Scanned<S> {
    /// The workers' sinks, joined.
    pub sink: S,
    /// What the scan did.
    pub stats: ScanStats,
    /// What the index did, with one.
    pub index_use: Option<IndexUse>,
}

/// Where to read and how: what `--source`, the selection flags, `--index` and the limits
/// say, typed.
#[derive(Debug, Clone)]
pub struct SourceOptions {
    /// A folder, or `s3://bucket[/prefix]`.
    pub spec: String,
    /// How to reach S3.
    pub s3: S3Options,
    /// Which objects to read.
    pub selection: Selection,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Cap on one object's inflated size.
    pub max_inflated_bytes: u64,
    /// Cap on one record's size.
    pub max_record_bytes: u64,
    /// The lookup index to read, if any: a folder or `s3://bucket/prefix`.
    pub index: Option<String>,
    /// What a question through the index checks of the archive.
    pub index_check: IndexCheck,
}

/// What a question through the index checks of the archive (`--index-check`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IndexCheck {
    /// Days the index sealed are answered from it without listing them; the other days are
    /// listed and compared with the index; every object read is checked against what the
    /// index or the listing said of it. Safe for CloudTrail, whose objects are written once:
    /// a sealed day that changes is tampering or a delivery later than the seal's lag, which
    /// `trailscan index` reports, as `validate-logs` reports tampering.
    #[default]
    Sealed,
    /// Every day of the window is listed and every object compared with the index (added,
    /// changed, deleted since indexed): the cost of a listing of the window.
    Full,
}

impl SourceOptions {
    /// The source at `spec`, every log file, no index, the default limits.
    pub fn new(spec: impl Into<String>) -> SourceOptions {
        SourceOptions {
            spec: spec.into(),
            s3: S3Options::default(),
            selection: Selection::default(),
            threads: 0,
            max_inflated_bytes: trailscan_archive::inflate::DEFAULT_MAX_INFLATED_BYTES,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            index: None,
            index_check: IndexCheck::Sealed,
        }
    }

    fn caps(&self) -> Caps {
        Caps {
            max_inflated_bytes: self.max_inflated_bytes,
            max_record_bytes: self.max_record_bytes,
        }
    }
}

/// Worker threads: `threads`, else one per core.
pub fn worker_pool(threads: usize) -> Result<rayon::ThreadPool, Error> {
    let threads = match threads {
        0 => default_threads(),
        n => n,
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(Error::Threads)
}

/// A source opened and listed, with its worker threads and, with an index, the index's rows
/// for what was listed.
pub struct Source<'r> {
    /// What the selection needs.
    pub listing: Listing,
    /// Where the objects are.
    pub store: Box<dyn ObjectStore>,
    /// The worker threads: the scan's, and any other work of the caller's.
    pub pool: rayon::ThreadPool,
    reporter: &'r dyn Reporter,
    options: SourceOptions,
    /// The index, its segments read as questions need them.
    index: Option<IndexReader>,
    /// The rows of the index's groups that hold days not sealed (every group of the window,
    /// with `--index-check full`): compared with the listing of those days. Taken (and freed)
    /// by the first [`Source::objects_to_read`], so that the scan has the memory, or kept for
    /// rounds.
    open_rows: Mutex<Option<Catalog>>,
    /// The index's segments of the window's wholly sealed groups: read only where their
    /// summaries say they may hold a match.
    sealed_segments: Vec<usize>,
    /// Indexed objects no longer listed, found (and reported) by the first round of reading.
    deleted_in_rounds: std::sync::OnceLock<u64>,
    /// The days the index sealed, which were not listed (with `--index-check sealed`).
    seals: Option<SealMap>,
    /// `--account-id` and `--region` values that name no folder of the archive.
    misses: u64,
    /// Opened to be listed as it is read ([`Source::open_streaming`]): each [`Source::read`]
    /// lists it again, and [`Source::listing`] holds no object.
    streams: bool,
}

impl<'r> Source<'r> {
    /// Opens the source and lists what the selection needs, reading the index (if any)
    /// beside the listing; listing problems are reported (the scan goes on without those
    /// folders). A source without any `AWSLogs/` folder is refused: it is not a CloudTrail
    /// archive.
    pub fn open(options: &SourceOptions, reporter: &'r dyn Reporter) -> Result<Source<'r>, Error> {
        let store = open_archive(&options.spec, &options.s3)?;
        reporter.listing(store.name());
        let index = options
            .index
            .as_deref()
            .map(|location| open_index(location, &options.s3))
            .transpose()?;
        // Sealed days are not listed, except for a shard: which day folders a shard takes is
        // decided from the list of them all, as every other shard decides it.
        let seals = match &index {
            Some(reader)
                if options.index_check == IndexCheck::Sealed
                    && options.selection.shard.is_none() =>
            {
                let sealed = &reader.snapshot().sealed;
                Some(SealMap::new(sealed).map_err(|problem| IndexError::Corrupt {
                    file: options.index.clone().unwrap_or_default(),
                    problem,
                })?)
            }
            _ => None,
        };
        let sealed_days = |folder: &str| seals.as_ref()?.get(folder);
        let (open_segments, sealed_segments) = match &index {
            Some(reader) => {
                reader.split_open(&reader.segments_for(&options.selection), seals.as_ref())
            }
            None => (Vec::new(), Vec::new()),
        };
        // The segments of groups not wholly sealed are read beside the listing. From S3 that
        // saves the index's round trips; on disk, the listing's stats and the segments'
        // decoding run on both cores.
        let (listing, open_rows) = alongside(
            || Some(index.as_ref()?.catalog(&open_segments)),
            || {
                let sealed = seals.as_ref().map(|_| &sealed_days as _);
                list_unsealed(&*store, &options.selection, sealed)
            },
        );
        let listing = listing?;
        // Only the sealed days of the region folders the walk came to: an index of another
        // bucket or prefix, or of a folder gone since, answers for nothing here.
        let seals = seals.map(|seals| seals.only(&listing.sealed_folders));
        let misses = check_listing(&listing, &*store, &options.selection, reporter)?;
        let open_rows = match open_rows.transpose()? {
            Some(mut catalog) => {
                // Rows of groups nothing was listed in stay where the window's listing should
                // have found them: a group deleted whole is named as deleted.
                let selection = &options.selection;
                catalog.retain_groups(&groups_of(&listing.objects), |delivered| {
                    selection.delivery_period_may_match(delivered, delivered)
                });
                if let Some(reader) = &index {
                    // Read once: the rows kept are in `open_rows`.
                    reader.forget();
                }
                Some(catalog)
            }
            None => None,
        };
        Ok(Source {
            pool: worker_pool(options.threads)?,
            listing,
            store,
            reporter,
            options: options.clone(),
            index,
            open_rows: Mutex::new(open_rows),
            sealed_segments,
            deleted_in_rounds: std::sync::OnceLock::new(),
            seals,
            misses,
            streams: false,
        })
    }

    /// [`Source::open`] for one pass over the objects ([`Source::read`]), which lists the
    /// source as it reads it: the listing is never held whole, so memory does not grow with
    /// the archive. Until that read, [`Source::listing`] is empty, and a source that is not
    /// an archive is found by the read. Read it with [`Source::read`] only. With an index,
    /// the same as [`Source::open`] (what the index answers for is compared with a listing of
    /// the days it has not sealed).
    pub fn open_streaming(
        options: &SourceOptions,
        reporter: &'r dyn Reporter,
    ) -> Result<Source<'r>, Error> {
        if options.index.is_some() {
            return Source::open(options, reporter);
        }
        let store = open_archive(&options.spec, &options.s3)?;
        reporter.listing(store.name());
        Ok(Source {
            pool: worker_pool(options.threads)?,
            listing: Listing::default(),
            store,
            reporter,
            options: options.clone(),
            index: None,
            open_rows: Mutex::new(None),
            sealed_segments: Vec::new(),
            deleted_in_rounds: std::sync::OnceLock::new(),
            seals: None,
            misses: 0,
            streams: true,
        })
    }

    /// Reads a source opened streaming ([`Source::open_streaming`], without an index) in key
    /// order, with no more of its listing held than a few months of one region: its day
    /// folders are found first, then listed a month of a region folder at a time, a few
    /// months ahead of `work`, which is given this source and their objects in key order.
    /// [`Source::listing`] then has the listing's counts and problems (no objects). What
    /// reads an archive in key order (an export, whose partitions are finished as their
    /// account, region and delivery day are passed) holds only what is in flight.
    pub fn in_key_order<R>(
        &mut self,
        work: impl FnOnce(&Source<'r>, &mut dyn Iterator<Item = ObjectRef>) -> R,
    ) -> Result<R, Error> {
        assert!(
            self.streams,
            "a source is read in key order when opened streaming"
        );
        let selection = self.options.selection.clone();
        let (mut listing, mut folders) = find_day_folders(&*self.store, &selection)?;
        self.misses = check_listing(&listing, &*self.store, &selection, self.reporter)?;
        folders.sort();
        let mut months: Vec<(String, DayFolders)> = Vec::new();
        for folder in folders {
            let month = folder
                .trim_end_matches('/')
                .rsplit_once('/')
                .map(|(m, _)| m);
            let month = month.unwrap_or_default().to_string();
            match months.last_mut() {
                Some((last, days)) if *last == month => days.push((selection.kind, folder)),
                _ => months.push((month, vec![(selection.kind, folder)])),
            }
        }
        self.reporter.scanning(0, 0);
        let this: &Source<'r> = self;
        let (result, rest) = in_order(&*this.store, &selection, months, this.reporter, |listed| {
            let mut rest = Listing::default();
            let result = {
                let mut objects = listed.flat_map(|(_, mut month)| {
                    let objects = std::mem::take(&mut month.objects);
                    let bytes = objects.iter().map(|o| o.size).sum();
                    this.reporter.more_to_scan(objects.len() as u64, bytes);
                    rest.add_part(month);
                    objects
                });
                work(this, &mut objects)
            };
            (result, rest)
        });
        listing.add_part(rest);
        self.listing = listing;
        Ok(result)
    }

    /// Whether an index decides which objects are read.
    pub fn has_index(&self) -> bool {
        self.index.is_some()
    }

    /// Listing problems, accounts and regions asked for that the archive has no folder of,
    /// and objects that failed or had problems in `stats`: what makes a completed run's
    /// answer partial, or possibly not the one meant.
    pub fn problems(&self, stats: &ScanStats) -> u64 {
        stats.objects_failed
            + stats.objects_with_problems
            + self.listing.problems.len() as u64
            + self.misses
    }

    /// How many `--account-id` and `--region` values name no folder of the archive (each
    /// was reported).
    pub fn selection_misses(&self) -> u64 {
        self.misses
    }

    /// What the run cost in S3 requests, source and index, for a summary; `None` on disk.
    pub fn requests_line(&self) -> Option<String> {
        let source = self.store.requests_made().map(|r| format!("source {r}"));
        let index = self
            .index
            .as_ref()
            .and_then(|reader| reader.store().requests_made())
            .map(|r| format!("index {r}"));
        let parts: Vec<String> = source.into_iter().chain(index).collect();
        (!parts.is_empty()).then(|| format!("  S3: {}", parts.join("; ")))
    }

    /// The kind of files listed (log files, or Insights files).
    pub fn kind(&self) -> trailscan_layout::key::ObjectKind {
        self.options.selection.kind
    }

    /// The objects `request` must read, and tells the reporter the scan starts: the
    /// listing's, or with an index, those it cannot rule out plus every object it does not
    /// hold or that changed since indexed (each reported), so that the answer is the scan's.
    /// The index's rows are let go here.
    pub fn objects_to_read(
        &self,
        request: &LookupRequest,
    ) -> Result<(Cow<'_, [ObjectRef]>, Option<IndexUse>), Error> {
        let hashes: Vec<u64> = request
            .attributes
            .iter()
            .map(|a| value_hash(a.key, &a.value))
            .collect();
        self.objects_probing(request, Probes::All(&hashes))
    }

    /// [`Source::objects_to_read`] for values given as index hashes, all or any of them (a
    /// hunt's: any value some rule needs), in `request`'s window.
    pub fn objects_probing(
        &self,
        request: &LookupRequest,
        probes: Probes<'_>,
    ) -> Result<(Cow<'_, [ObjectRef]>, Option<IndexUse>), Error> {
        assert!(
            !self.streams,
            "a source opened streaming is read with Source::read"
        );
        let listed = &self.listing.objects;
        let catalog = self
            .open_rows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let (objects, used) = match &catalog {
            None => (Cow::Borrowed(&listed[..]), None),
            Some(catalog) => {
                let planned = self.plan(catalog, listed, request, probes)?;
                let deleted = deleted_since_indexed(
                    catalog,
                    listed,
                    planned.indexed() - planned.sealed as usize,
                    &self.options.selection,
                    self.listing.shard_plan.as_ref(),
                    self.store.base(),
                    self.seals.as_ref(),
                );
                let name = |key: &str| self.store.display_key(key);
                for key in &planned.changed {
                    self.reporter.problem(&format_args!(
                        "{}: changed since indexed (size, ETag or modification time); read again",
                        name(key)
                    ));
                }
                report_deleted(self.reporter, &*self.store, &deleted);
                let used = IndexUse::of(&planned, deleted.len() as u64);
                (Cow::Owned(planned.read), Some(used))
            }
        };
        if let Some(catalog) = catalog {
            let_catalog_go(catalog, objects.len());
        }
        if let Some(reader) = &self.index {
            reader.forget();
        }
        let bytes = objects.iter().map(|o| o.size).sum();
        self.reporter.scanning(objects.len() as u64, bytes);
        Ok((objects, used))
    }

    /// The listed objects a round of reading needs for `request`'s window. One rule, with or
    /// without an index: the files whose delivery time can hold events of the window (from
    /// its start to its end plus `--delivery-margin`, as a listing selects them); with an
    /// index, of those, the ones that may hold any of `probes` (or, with none, any event) in
    /// the window, plus every object the index does not hold or that changed since indexed
    /// (the index's rows stay for further rounds). A file delivered later than the margin is
    /// read by neither.
    pub fn objects_for_round(
        &self,
        request: &LookupRequest,
        probes: Probes<'_>,
    ) -> Result<(Vec<ObjectRef>, Option<IndexUse>), Error> {
        assert!(
            !self.streams,
            "a source opened streaming is read with Source::read"
        );
        let window = Selection {
            start: request.start.map(|t| t.secs),
            end: request.end.map(|t| t.secs.saturating_add(1)),
            ..self.options.selection.clone()
        };
        let delivered: Vec<ObjectRef> = self
            .listing
            .objects
            .iter()
            .filter(|o| window.check(&o.layout).is_ok())
            .cloned()
            .collect();
        let guard = self
            .open_rows
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let Some(catalog) = guard.as_ref() else {
            return Ok((delivered, None));
        };
        let planned = self.plan(catalog, &delivered, request, probes)?;
        // The first round looks for indexed objects no longer listed, once for all rounds.
        let deleted = *self.deleted_in_rounds.get_or_init(|| {
            let listed = &self.listing.objects;
            let found = listed.iter().filter(|o| catalog.contains(&o.key)).count();
            let deleted = deleted_since_indexed(
                catalog,
                listed,
                found,
                &self.options.selection,
                self.listing.shard_plan.as_ref(),
                self.store.base(),
                self.seals.as_ref(),
            );
            report_deleted(self.reporter, &*self.store, &deleted);
            deleted.len() as u64
        });
        let used = IndexUse::of(&planned, deleted);
        Ok((planned.read, Some(used)))
    }

    /// What the index decides for `request`: of the `listed` objects (with `open_rows`, the
    /// index's rows of groups not wholly sealed), and of the sealed days (which were not
    /// listed: their segments read only where their summaries may hold a match), the objects
    /// to read.
    fn plan(
        &self,
        open_rows: &Catalog,
        listed: &[ObjectRef],
        request: &LookupRequest,
        probes: Probes<'_>,
    ) -> Result<IndexPlan, Error> {
        let caps = self.options.caps();
        let planned = plan_probes(open_rows, listed, request, probes, caps);
        let (Some(seals), Some(reader)) = (&self.seals, &self.index) else {
            return Ok(planned);
        };
        // The window of the request, as the listing would have selected files.
        let selection = Selection {
            start: request.start.map(|t| t.secs),
            end: request.end.map(|t| t.secs.saturating_add(1)),
            ..self.options.selection.clone()
        };
        let base = self.store.base();
        let in_open = plan_sealed(open_rows, seals, &selection, base, request, probes, caps);
        let picked = reader.may_match(&self.sealed_segments, &selection, request, probes, caps)?;
        let sealed_rows = reader.catalog(&picked.read)?;
        let mut sealed = plan_sealed(&sealed_rows, seals, &selection, base, request, probes, caps);
        sealed.segments_ruled_out = picked.ruled_out;
        Ok(planned.and(in_open).and(sealed))
    }

    /// Reads what `request` needs into a sink per worker thread (as [`Source::scan`]): every
    /// listed object or, with an index, those it cannot rule out for `probes` (`None`: the
    /// request's attributes, all of them). A source opened with [`Source::open_streaming`] is
    /// listed while it is read, a folder at a time, and its [`Source::listing`] is complete
    /// once this returns. The outer error is the source's; the inner, the sink's.
    pub fn read<S, N, M>(
        &mut self,
        request: &LookupRequest,
        probes: Option<Probes<'_>>,
        prefilter: Option<&Prefilter>,
        new_sink: N,
        merge: M,
    ) -> Result<Result<Scanned<S>, S::Error>, Error>
    where
        S: RecordSink + Send,
        N: Fn() -> S + Sync + Send,
        M: Fn(S, S) -> Result<S, S::Error>,
    {
        if !self.streams {
            let (objects, index_use) = match probes {
                Some(probes) => self.objects_probing(request, probes)?,
                None => self.objects_to_read(request)?,
            };
            let scanned =
                self.scan_prefiltered(&*objects, request, false, prefilter, new_sink, merge);
            return Ok(scanned.map(|(sink, stats)| Scanned {
                sink,
                stats,
                index_use,
            }));
        }
        self.reporter.scanning(0, 0);
        let (parts, objects) = mpsc::sync_channel::<Vec<ObjectRef>>(PARTS_AHEAD);
        let (store, reporter) = (&*self.store, self.reporter);
        let selection = &self.options.selection;
        let (listed, scanned) = std::thread::scope(|scope| {
            let walk = scope.spawn(move || {
                let deliver = |part: Vec<ObjectRef>| {
                    reporter.more_to_scan(part.len() as u64, part.iter().map(|o| o.size).sum());
                    // The scan is gone only when it stopped early.
                    parts.send(part).is_ok()
                };
                list_streaming(store, selection, &deliver)
            });
            let streamed = Objects::Streamed(objects);
            let scanned =
                self.scan_prefiltered(streamed, request, false, prefilter, new_sink, merge);
            let listed = trailscan_archive::joined(walk);
            (listed, scanned)
        });
        self.listing = listed?;
        // A scan that failed stopped the walk: what it did not reach is not missing.
        if scanned.is_ok() {
            self.misses = check_listing(&self.listing, store, selection, reporter)?;
        }
        Ok(scanned.map(|(sink, stats)| Scanned {
            sink,
            stats,
            index_use: None,
        }))
    }

    /// Scans `objects` (the listing's, or a batch of them) for `request` on the worker
    /// threads, into a sink per thread made by `new_sink` and joined by `merge`; each problem
    /// with an object is reported, and each object done. With `hash_objects`, each object's
    /// SHA-256 as stored reaches the sink.
    pub fn scan<'o, S, N, M>(
        &self,
        objects: impl Into<Objects<'o>>,
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

    /// [`Source::scan`] with a prefilter of the caller's (a trace's needles) instead of the
    /// request's attributes'.
    pub fn scan_prefiltered<'o, S, N, M>(
        &self,
        objects: impl Into<Objects<'o>>,
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
        let reporter = self.reporter;
        let store = &*self.store;
        let report = |object: &ObjectRef, problem: &ObjectProblem| {
            reporter.problem(&format_args!(
                "{}: {problem}",
                store.display_key(&object.key)
            ))
        };
        let on_object =
            |o: &ObjectScanned| reporter.object_done(o.listed_bytes, o.records, o.matched);
        let options = ScanOptions {
            source: store,
            pool: &self.pool,
            requests_in_flight: store.requests_in_flight(),
            max_inflated_bytes: self.options.max_inflated_bytes,
            max_record_bytes: self.options.max_record_bytes,
            hash_objects,
            prefilter,
            report: &report,
            progress: Some(&on_object),
        };
        scan(objects, request, &options, new_sink, merge)
    }
}

/// What a reader is told of a listing once it is done: the problems of folders that could not
/// be listed, and the `--account-id` and `--region` values that name no folder (returned: how
/// many). A source without any `AWSLogs/` folder is refused: it is not a CloudTrail archive.
fn check_listing(
    listing: &Listing,
    store: &dyn ObjectStore,
    selection: &Selection,
    reporter: &dyn Reporter,
) -> Result<u64, Error> {
    if listing.awslogs_folders == 0 {
        return Err(Error::NotAnArchive(store.name().to_string()));
    }
    for problem in &listing.problems {
        reporter.problem(problem);
    }
    let misses = selection_misses(selection, listing);
    for miss in &misses {
        reporter.problem(miss);
    }
    Ok(misses.len() as u64)
}

/// The `--account-id` and `--region` values that name no folder the walk came to, each with
/// the names it did come to: a typo must not look like an empty answer.
pub fn selection_misses(selection: &Selection, listing: &Listing) -> Vec<String> {
    let holds = |seen: &std::collections::BTreeSet<String>| {
        const SHOWN: usize = 20;
        let mut names: Vec<&str> = seen.iter().take(SHOWN).map(String::as_str).collect();
        let more = seen.len().saturating_sub(SHOWN);
        if more > 0 {
            names.push("...");
        }
        match names.is_empty() {
            true => "none".to_string(),
            false if more > 0 => format!("{} ({more} more)", names.join(", ")),
            false => names.join(", "),
        }
    };
    let mut misses = Vec::new();
    for account in &selection.accounts {
        if !listing.accounts_seen.contains(account) {
            misses.push(format!(
                "--account-id {account}: the archive has no folder of this account (it holds {})",
                holds(&listing.accounts_seen)
            ));
        }
    }
    // Regions are seen only under the accounts entered: with none of those, no region is
    // known to be missing.
    let entered = selection.accounts.is_empty()
        || selection
            .accounts
            .iter()
            .any(|a| listing.accounts_seen.contains(a));
    for region in selection.regions.iter().filter(|_| entered) {
        if !listing.regions_seen.contains(region) {
            misses.push(format!(
                "--region {region}: the archive has no folder of this region under the accounts read (it holds {})",
                holds(&listing.regions_seen)
            ));
        }
    }
    misses
}

/// Reports each indexed object that the listing no longer found.
pub fn report_deleted(reporter: &dyn Reporter, store: &dyn ObjectStore, keys: &[String]) {
    for key in keys {
        reporter.problem(&format_args!(
            "{}: indexed, but no longer in the archive (deleted since indexed?)",
            store.display_key(key)
        ));
    }
}

/// The index at `location`, its current snapshot read.
fn open_index(location: &str, s3: &S3Options) -> Result<IndexReader, Error> {
    let index_store = open_existing(location, s3).map_err(|source| Error::OpenIndex {
        location: location.to_string(),
        source,
    })?;
    Ok(IndexReader::open(index_store, location)?)
}
