//! `trailscan lookup-events`.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use serde_json::value::RawValue;
use trailscan_archive::open_destination;
use trailscan_engine::{Scanned, Source};
use trailscan_query::NewestFirst;
use trailscan_shards::{Counts, EventLine, ShardDir, ShardError, ShardSummary, EVENTS_FILE};

use crate::exit_codes;
use crate::print::{print_page, SPILL_FAILED};
use crate::progress::Progress;
use crate::settings::LookupSettings;
use crate::summary::lookup_summary;

/// Runs a lookup and prints the answer on stdout, problems and the summary on stderr; with
/// `--shard`, writes the shard's events for `trailscan merge` instead.
pub fn run(settings: &LookupSettings) -> Result<ExitCode> {
    let started = Instant::now();
    let source = &settings.source;
    // A shard's folder is made ready first: a shard that cannot write fails before scanning.
    let shard_dir = match (&settings.shard_out, source.options.selection.shard) {
        (Some(out), Some(shard)) => {
            let store = Arc::from(open_destination(out, &source.options.s3)?);
            Some(ShardDir::prepare(store, source.required_run_id()?, shard)?)
        }
        _ => None,
    };
    let progress = Progress::on_stderr(source.no_progress, source.quiet);
    let mut opened = Source::open_streaming(&source.options, &progress)?;
    // A shard keeps one event more than the page: a merge needs it to know whether a next
    // page exists.
    let limit = settings
        .limit()
        .map(|n| n + usize::from(shard_dir.is_some()));
    let after = settings.resume.as_ref().map(|r| r.position.clone());
    let Scanned {
        sink: collector,
        stats,
        index_use,
    } = opened
        .read(
            &settings.request,
            None,
            None,
            || NewestFirst::new(limit, after.clone()),
            NewestFirst::merge,
        )?
        .context(SPILL_FAILED)?;
    let listing = &opened.listing;
    progress.finish();
    let problems = opened.problems(&stats);
    if let (Some(dir), Some(plan)) = (shard_dir, &listing.shard_plan) {
        let page = collector.finish().context(SPILL_FAILED)?;
        let lines = page.events.map(|item| {
            let (position, event) = item.map_err(|cause| ShardError::Staging {
                what: SPILL_FAILED.to_string(),
                cause,
            })?;
            let record = RawValue::from_string(event.cloudtrail_event).map_err(|e| {
                ShardError::Malformed {
                    target: "a collected record".into(),
                    problem: e.to_string(),
                }
            })?;
            Ok(EventLine { position, record })
        });
        let counts = Counts::new(listing, opened.selection_misses(), &stats, 0);
        let (run_id, arguments) = (source.required_run_id()?, source.arguments.clone());
        let summary = ShardSummary::new(
            "lookup-events",
            arguments,
            &source.options.spec,
            run_id,
            plan,
            counts,
        );
        let summary = dir.write_results(EVENTS_FILE, lines, summary)?;
        if !source.quiet {
            let written = summary.counts.results;
            let (own, total) = (plan.own.len(), plan.units_total);
            eprintln!(
                "trailscan: shard {} ({own} of {total} units): {written} events written to {dir}",
                plan.shard
            );
            let elapsed = started.elapsed();
            eprintln!(
                "{}",
                lookup_summary(listing, &stats, written as usize, 0, elapsed, index_use)
            );
        }
        // Problems are the merge's to report (in its exit code): a batch engine takes a
        // non-zero exit for a failed job and would run it again.
        return Ok(ExitCode::SUCCESS);
    }
    let printed = print_page(settings, collector)?;
    if !source.quiet {
        let summary = lookup_summary(
            listing,
            &stats,
            printed.returned,
            printed.duplicates,
            started.elapsed(),
            index_use,
        );
        eprintln!("{summary}");
        if let Some(requests) = opened.requests_line() {
            eprintln!("{requests}");
        }
    }
    Ok(exit_codes::completed(problems))
}
