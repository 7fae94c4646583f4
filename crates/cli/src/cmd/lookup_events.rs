//! `trailscan lookup-events`.

use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use trailscan_archive::{LocalArchive, ObjectRef};
use trailscan_output::write_response;
use trailscan_query::{encode_token, scan, NewestFirst, ObjectProblem, ScanOptions};

use crate::exit_codes;
use crate::flags::LookupEventsArgs;
use crate::settings::LookupSettings;
use crate::summary::lookup_summary;

const SPILL_FAILED: &str =
    "cannot keep matches in temporary files (set TMPDIR to a folder with free space)";

/// Runs a lookup and prints the answer on stdout, problems and the summary on stderr.
pub fn run(args: &LookupEventsArgs) -> Result<ExitCode> {
    let settings = LookupSettings::new(args)?;
    let started = Instant::now();
    let source = &settings.source;
    let archive = LocalArchive::open(&source.path)?;
    let listing = archive.list(&source.selection)?;
    if listing.awslogs_folders == 0 {
        bail!(
            "no AWSLogs/ folder under {}: give a copy of the bucket CloudTrail delivers to (aws s3 sync s3://BUCKET DIR) or a folder inside it",
            archive.root().display()
        );
    }
    for problem in &listing.problems {
        eprintln!("trailscan: {problem}");
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(source.threads)
        .build()
        .context("cannot start worker threads")?;
    let report = |object: &ObjectRef, problem: &ObjectProblem| {
        eprintln!("trailscan: {}: {problem}", object.display_name());
    };
    let options = ScanOptions {
        pool: &pool,
        max_inflated_bytes: source.max_inflated_bytes,
        report: &report,
    };
    let (collector, stats) = scan(
        &listing.objects,
        &settings.request,
        &options,
        || NewestFirst::new(settings.page_size, settings.after.clone()),
        NewestFirst::merge,
    )
    .context(SPILL_FAILED)?;
    let mut page = collector.finish().context(SPILL_FAILED)?;
    let token = page
        .next
        .as_ref()
        .map(|p| encode_token(&settings.canonical, p));
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let (mut returned, mut spill_error) = (0usize, None);
    let events = page
        .events
        .by_ref()
        .map_while(|e| e.map_err(|e| spill_error = Some(e)).ok())
        .inspect(|_| returned += 1);
    let written = write_response(&mut out, events, token.as_deref()).and_then(|()| out.flush());
    if let Some(e) = spill_error {
        return Err(anyhow::Error::new(e).context(SPILL_FAILED));
    }
    match written {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        other => other.context("cannot write the answer to stdout")?,
    }
    if !source.quiet {
        let duplicates = page.events.duplicates();
        let summary = lookup_summary(&listing, &stats, returned, duplicates, started.elapsed());
        eprintln!("{summary}");
    }
    let problems =
        stats.objects_failed + stats.objects_with_problems + listing.problems.len() as u64;
    Ok(exit_codes::completed(problems))
}
