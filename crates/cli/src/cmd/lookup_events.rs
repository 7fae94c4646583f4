//! `trailscan lookup-events`.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use trailscan_archive::{Listing, ObjectRef, Source};
use trailscan_query::{
    encode_token, scan, LookupRequest, NewestFirst, ObjectProblem, ObjectScanned, RecordSink,
    Resume, ScanOptions, ScanStats,
};

use crate::exit_codes::{self, UsageError};
use crate::flags::LookupEventsArgs;
use crate::progress::{Meter, Progress};
use crate::render::{render, PageLayout, Terminal};
use crate::settings::{LookupSettings, Paging, SourceSettings};
use crate::shard_results::{prepare_shard_dir, write_events, write_summary, Counts, ShardSummary};
use crate::summary::lookup_summary;

pub const SPILL_FAILED: &str =
    "cannot keep matches in temporary files (set TMPDIR to a folder with free space)";

/// Runs a lookup and prints the answer on stdout, problems and the summary on stderr; with
/// `--shard`, writes the shard's events for `trailscan merge` instead.
pub fn run(args: &LookupEventsArgs) -> Result<ExitCode> {
    let settings = LookupSettings::new(args)?;
    let started = Instant::now();
    let source = &settings.source;
    let shard_out = match (&args.out, source.selection.shard) {
        (Some(out), Some(shard)) => Some(prepare_shard_dir(out, source.required_run_id()?, shard)?),
        (None, Some(_)) => bail!(UsageError(
            "--shard needs --out DIR: a shard writes its results there for `trailscan merge`"
                .into()
        )),
        _ => None,
    };
    let opened = OpenScan::open(source)?;
    let listing = &opened.listing;
    // A shard keeps one event more than the page: a merge needs it to know whether a next
    // page exists.
    let limit = settings
        .limit()
        .map(|n| n + usize::from(shard_out.is_some()));
    let after = settings.resume.as_ref().map(|r| r.position.clone());
    let (collector, stats) = opened
        .scan(
            &listing.objects,
            &settings.request,
            false,
            || NewestFirst::new(limit, after.clone()),
            NewestFirst::merge,
        )
        .context(SPILL_FAILED)?;
    opened.progress.finish();
    let listing_problems = listing.problems.len() as u64;
    let problems = stats.objects_failed + stats.objects_with_problems + listing_problems;
    if let (Some(dir), Some(plan)) = (shard_out, &listing.shard_plan) {
        let page = collector.finish().context(SPILL_FAILED)?;
        let output = write_events(&dir, page.events)?;
        let mut summary = ShardSummary::new(
            "lookup-events",
            &source.spec,
            source.required_run_id()?,
            plan.into(),
            Counts::new(listing, &stats, output.rows),
        );
        summary.outputs.push(output);
        write_summary(&dir, &summary)?;
        if !source.quiet {
            eprintln!(
                "trailscan: shard {} ({} of {} units): {} events written to {}",
                plan.shard,
                plan.own.len(),
                plan.units_total,
                summary.counts.results,
                dir.display()
            );
            eprintln!(
                "{}",
                lookup_summary(
                    listing,
                    &stats,
                    summary.counts.results as usize,
                    0,
                    started.elapsed()
                )
            );
        }
        // Problems are the merge's to report (in its exit code): a batch engine takes a
        // non-zero exit for a failed job and would run it again.
        return Ok(ExitCode::SUCCESS);
    }
    let printed = print_page(&settings, collector)?;
    if !source.quiet {
        let summary = lookup_summary(
            listing,
            &stats,
            printed.returned,
            printed.duplicates,
            started.elapsed(),
        );
        eprintln!("{summary}");
    }
    Ok(exit_codes::completed(problems))
}

/// A source opened and listed, with its worker threads and progress display: where
/// lookup-events and export both start.
pub struct OpenScan {
    /// The progress display, already counting the listing.
    pub progress: Progress,
    /// What the selection needs.
    pub listing: Listing,
    archive: Source,
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
        let archive = Source::open(&source.spec, &source.s3)?;
        progress.listing(&archive.name());
        let listing = archive.list(&source.selection)?;
        if listing.awslogs_folders == 0 {
            bail!(
                "no AWSLogs/ folder under {}: give the bucket CloudTrail delivers to (s3://BUCKET[/PREFIX]), a copy of it, or a folder inside it",
                archive.name()
            );
        }
        for problem in &listing.problems {
            progress.eprintln(format_args!("trailscan: {problem}"));
        }
        let bytes = listing.objects.iter().map(|o| o.size).sum();
        progress.start(Meter::Scan, listing.objects.len() as u64, bytes);
        Ok(OpenScan {
            pool: worker_pool(source.threads, &archive)?,
            progress,
            listing,
            archive,
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
        let report = |object: &ObjectRef, problem: &ObjectProblem| {
            progress.eprintln(format_args!(
                "trailscan: {}: {problem}",
                object.display_name()
            ))
        };
        let on_object =
            |o: &ObjectScanned| progress.object_done(o.listed_bytes, o.records, o.matched);
        let options = ScanOptions {
            source: &self.archive,
            pool: &self.pool,
            max_inflated_bytes: self.max_inflated_bytes,
            max_record_bytes: self.max_record_bytes,
            hash_objects,
            report: &report,
            progress: Some(&on_object),
        };
        scan(objects, request, &options, new_sink, merge)
    }
}

/// The worker threads: `--threads`, else what the source needs.
fn worker_pool(threads: usize, archive: &Source) -> Result<rayon::ThreadPool> {
    let threads = if threads == 0 {
        archive.default_threads()
    } else {
        threads
    };
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start worker threads")
}

/// What [`print_page`] printed.
pub struct Printed {
    /// Events printed.
    pub returned: usize,
    /// Copies dropped as duplicate deliveries.
    pub duplicates: u64,
}

/// Prints the collected page as `--output` and the paging flags say, with its NextToken.
pub fn print_page(settings: &LookupSettings, collector: NewestFirst) -> Result<Printed> {
    let mut page = collector.finish().context(SPILL_FAILED)?;
    let limit = settings.limit();
    let first_page_offset = settings
        .resume
        .as_ref()
        .map_or(0, |r| r.page_offset as usize);
    // A next page exists only under a limit, and then this answer holds exactly `limit`.
    let token = page.next.take().map(|position| {
        let page_offset = match (settings.paging, limit) {
            (Paging::Auto { page_size, .. }, Some(n)) => {
                ((first_page_offset + n) % page_size) as u64
            }
            _ => 0,
        };
        encode_token(
            &settings.canonical,
            &Resume {
                position,
                page_offset,
            },
        )
    });
    let layout = PageLayout {
        paging: settings.paging,
        first_page_offset,
    };
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let mut spill_error = None;
    let mut events = page.events.by_ref().map_while(|e| {
        e.map(|(_, event)| event)
            .map_err(|e| spill_error = Some(e))
            .ok()
    });
    let rendered = render(
        &settings.output,
        &layout,
        &mut events,
        token.as_deref(),
        &Terminal::stdout(),
        &mut out,
    )
    .and_then(|n| out.flush().map(|()| n).map_err(anyhow::Error::from));
    if let Some(e) = spill_error {
        return Err(anyhow::Error::new(e).context(SPILL_FAILED));
    }
    let returned = match rendered {
        Ok(n) => n,
        Err(e) if is_broken_pipe(&e) => 0,
        Err(e) => return Err(e),
    };
    Ok(Printed {
        returned,
        duplicates: page.events.duplicates(),
    })
}

/// A closed pipe (`| head`) is the reader's choice, not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
