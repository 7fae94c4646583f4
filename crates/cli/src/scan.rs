//! What lookup-events and export share before and around their scan: the source opened and
//! listed, the worker threads, the progress display, and problems with objects reported.

use anyhow::{bail, Context, Result};
use trailscan_archive::{default_threads, list, open_archive, Listing, ObjectRef, ObjectStore};
use trailscan_query::{
    scan, LookupRequest, ObjectProblem, ObjectScanned, RecordSink, ScanOptions, ScanStats,
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

/// A source opened and listed, with its worker threads and progress display.
pub struct OpenScan {
    /// The progress display, already counting the listing.
    pub progress: Progress,
    /// What the selection needs.
    pub listing: Listing,
    /// Where the objects are.
    pub store: Box<dyn ObjectStore>,
    pool: rayon::ThreadPool,
    max_inflated_bytes: u64,
    max_record_bytes: u64,
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
        let listing = list(&*store, &source.selection)?;
        if listing.awslogs_folders == 0 {
            bail!(
                "no AWSLogs/ folder under {}: give the bucket CloudTrail delivers to (s3://BUCKET[/PREFIX]), a copy of it, or a folder inside it",
                store.name()
            );
        }
        for problem in &listing.problems {
            progress.eprintln(format_args!("trailscan: {problem}"));
        }
        let bytes = listing.objects.iter().map(|o| o.size).sum();
        progress.start(Meter::Scan, listing.objects.len() as u64, bytes);
        Ok(OpenScan {
            pool: worker_pool(source.threads)?,
            progress,
            listing,
            store,
            max_inflated_bytes: source.max_inflated_bytes,
            max_record_bytes: source.max_record_bytes,
        })
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
            report: &report,
            progress: Some(&on_object),
        };
        scan(objects, request, &options, new_sink, merge)
    }
}
