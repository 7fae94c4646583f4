//! `trailscan lookup-events`.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use trailscan_archive::{ObjectRef, Source};
use trailscan_query::{encode_token, scan, NewestFirst, ObjectProblem, Resume, ScanOptions};

use crate::exit_codes;
use crate::flags::LookupEventsArgs;
use crate::render::{render, PageLayout, Terminal};
use crate::settings::{LookupSettings, Paging};
use crate::summary::lookup_summary;

const SPILL_FAILED: &str =
    "cannot keep matches in temporary files (set TMPDIR to a folder with free space)";

/// Runs a lookup and prints the answer on stdout, problems and the summary on stderr.
pub fn run(args: &LookupEventsArgs) -> Result<ExitCode> {
    let settings = LookupSettings::new(args)?;
    let started = Instant::now();
    let source = &settings.source;
    let archive = Source::open(&source.spec, &source.s3)?;
    let listing = archive.list(&source.selection)?;
    if listing.awslogs_folders == 0 {
        bail!(
            "no AWSLogs/ folder under {}: give the bucket CloudTrail delivers to (s3://BUCKET[/PREFIX]), a copy of it, or a folder inside it",
            archive.name()
        );
    }
    for problem in &listing.problems {
        eprintln!("trailscan: {problem}");
    }
    let threads = if source.threads == 0 {
        archive.default_threads()
    } else {
        source.threads
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start worker threads")?;
    let report = |object: &ObjectRef, problem: &ObjectProblem| {
        eprintln!("trailscan: {}: {problem}", object.display_name());
    };
    let options = ScanOptions {
        source: &archive,
        pool: &pool,
        max_inflated_bytes: source.max_inflated_bytes,
        report: &report,
    };
    let limit = settings.limit();
    let after = settings.resume.as_ref().map(|r| r.position.clone());
    let (collector, stats) = scan(
        &listing.objects,
        &settings.request,
        &options,
        || NewestFirst::new(limit, after.clone()),
        NewestFirst::merge,
    )
    .context(SPILL_FAILED)?;
    let mut page = collector.finish().context(SPILL_FAILED)?;
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
    let mut events = page
        .events
        .by_ref()
        .map_while(|e| e.map_err(|e| spill_error = Some(e)).ok());
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
    if !source.quiet {
        let duplicates = page.events.duplicates();
        let summary = lookup_summary(&listing, &stats, returned, duplicates, started.elapsed());
        eprintln!("{summary}");
    }
    let problems =
        stats.objects_failed + stats.objects_with_problems + listing.problems.len() as u64;
    Ok(exit_codes::completed(problems))
}

/// A closed pipe (`| head`) is the reader's choice, not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
