//! `trailscan export`: the selected events into Hive-partitioned Parquet (or JSON lines) for
//! Athena, Trino, Spark and DuckDB; and `--print-ddl athena`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Result;
use trailscan_archive::{is_s3_url, open_existing, LocalFolder, ObjectRef, S3Options};
use trailscan_engine::{IndexCheck, Source, SourceOptions};
use trailscan_export::{
    athena_ddl, claim_table, day_string, export_objects, exported_regions, AthenaTable,
    DeliveryDay, Destination, Exported, Format, PartitionWriter, RowSink, WriterOptions,
};
use trailscan_query::LookupRequest;
use trailscan_records::EventTime;
use trailscan_shards::{Counts, Output, ShardDir, ShardSummary};

use crate::exit_codes;
use crate::progress::Progress;
use crate::settings::ExportSettings;

/// Runs the export (or prints the DDL).
pub fn run(settings: &ExportSettings) -> Result<ExitCode> {
    let (source, request, window, definition, format, out, run_id, memory_budget) = match settings {
        ExportSettings::PrintDdl {
            out,
            s3,
            table_name,
            format,
        } => return print_ddl(out.as_deref(), s3, table_name, *format),
        ExportSettings::Export {
            source,
            request,
            window,
            definition,
            format,
            out,
            run_id,
            memory_budget,
        } => (
            source,
            request,
            window,
            definition,
            *format,
            out,
            run_id,
            *memory_budget,
        ),
    };
    let started = Instant::now();
    let shard = source.options.selection.shard;
    let destination = Destination::open(out, &source.options.s3)?;
    // A retried shard's earlier summary goes first: until the new one is written, the shard
    // is not taken for finished.
    let shard_dir = shard
        .map(|shard| ShardDir::prepare(Arc::clone(&destination.store), run_id, shard))
        .transpose()?;
    let progress = Progress::on_stderr(source.no_progress, source.quiet);
    // An export reads every file of its window but those whose events all miss it: its
    // listing of the window costs little beside that, and gives every delivery day written
    // (sealed or not) from the archive itself.
    let options = SourceOptions {
        index_check: IndexCheck::Full,
        ..source.options.clone()
    };
    // Recorded once the source is known to be an archive: a mistyped source records nothing.
    let claim = || {
        claim_table(&*destination.store, definition)?;
        let options = WriterOptions {
            memory_budget,
            ..WriterOptions::new(format)
        };
        anyhow::Ok(PartitionWriter::new(&destination.staging(), options))
    };
    let (opened, exported, index_use) = match options.index {
        Some(_) => {
            let opened = Source::open(&options, &progress)?;
            let writer = claim()?;
            let (objects, index_use) = opened.objects_to_read(request)?;
            let days = || opened.listing.objects.iter().map(DeliveryDay::of).collect();
            let objects = objects.iter().cloned();
            let exported = export_from(&opened, objects, days, writer, &destination, request)?;
            (opened, exported, index_use)
        }
        // Without an index, the archive is listed a month of a region at a time, in key
        // order, as it is exported: the listing is never held whole.
        None => {
            let mut opened = Source::open_streaming(&options, &progress)?;
            let exported = opened.in_key_order(|opened, objects| {
                let writer = claim()?;
                let days = std::cell::RefCell::new(BTreeSet::new());
                let objects = objects.inspect(|o| {
                    days.borrow_mut().insert(DeliveryDay::of(o));
                });
                export_from(
                    opened,
                    objects,
                    || days.take(),
                    writer,
                    &destination,
                    request,
                )
            })??;
            (opened, exported, None)
        }
    };
    let listing = &opened.listing;
    progress.finish();
    let Exported { files, stats, .. } = &exported;
    let rows: u64 = files.iter().map(|f| f.rows).sum();
    let bytes: u64 = files.iter().map(|f| f.bytes).sum();
    let elapsed = started.elapsed().as_secs_f64();
    if let (Some(dir), Some(plan)) = (shard_dir, &listing.shard_plan) {
        let counts = Counts::new(listing, opened.selection_misses(), stats, rows);
        let arguments = source.arguments.clone();
        let spec = &source.options.spec;
        let mut summary = ShardSummary::new("export", arguments, spec, run_id, plan, counts);
        summary.outputs = files
            .iter()
            .map(|f| Output {
                path: f.path.clone(),
                rows: f.rows,
                bytes: f.bytes,
                sha256: f.sha256.clone(),
            })
            .collect();
        dir.write_summary(&summary)?;
    }
    if !source.quiet {
        eprintln!(
            "trailscan: exported {rows} events into {} files ({:.1} MB) under {out} in {elapsed:.3} s ({:.0} events/s)",
            files.len(),
            bytes as f64 / 1e6,
            rows as f64 / elapsed.max(1e-9)
        );
        eprintln!(
            "  {} log files listed: {} read, {} failed, {} with problems; skipped: {}",
            listing.objects_listed,
            stats.objects_read,
            stats.objects_failed,
            stats.objects_with_problems,
            listing.skipped
        );
        if let Some(index) = index_use {
            eprintln!("{index}");
        }
        eprintln!(
            "  events: {} in the files, {} unreadable, {} selected (duplicate deliveries kept as delivered: each row names its log file)",
            stats.records, stats.records_skipped, stats.records_matched
        );
        eprintln!("{}", days_line(window, &exported));
        eprint_times(&exported, memory_budget);
    }
    if shard.is_some() {
        // Problems are the merge's to report: a batch engine takes a non-zero exit for a
        // failed job and would run it again.
        return Ok(ExitCode::SUCCESS);
    }
    Ok(exit_codes::completed(opened.problems(stats)))
}

/// Exports `objects` (in key order) of `opened` through `writer`, recording the delivery days
/// `days` gives once they are all read.
fn export_from(
    opened: &Source<'_>,
    objects: impl Iterator<Item = ObjectRef>,
    days: impl FnOnce() -> BTreeSet<DeliveryDay>,
    writer: PartitionWriter,
    destination: &Destination,
    request: &LookupRequest,
) -> Result<Exported> {
    let scan_batch =
        |batch: &[_]| match opened.scan(batch, request, true, RowSink::default, RowSink::merge) {
            Ok(scanned) => scanned,
            Err(never) => match never {},
        };
    Ok(export_objects(
        objects,
        days,
        writer,
        destination,
        &opened.pool,
        scan_batch,
    )?)
}

/// Where the time went, so that the next bottleneck is visible: the scan on all cores
/// (columns built inside it, their CPU time summed over threads), and on the writer's
/// thread beside it, sorting, encoding (what the rest is), writing, hashing and publishing
/// the files; and rows written early for the memory budget.
fn eprint_times(exported: &Exported, memory_budget: u64) {
    let Exported {
        scanning,
        building,
        writing,
        times,
        publishing,
        early_row_groups,
        ..
    } = exported;
    let encoding = writing.saturating_sub(times.sort + times.write + times.hash + *publishing);
    eprintln!(
        "  time: scan {:.3} s (building columns {:.3} s of CPU over the threads); beside it {:.3} s: sort {:.3} s, encode {:.3} s, write {:.3} s, hash {:.3} s, publish {:.3} s",
        scanning.as_secs_f64(),
        building.as_secs_f64(),
        writing.as_secs_f64(),
        times.sort.as_secs_f64(),
        encoding.as_secs_f64(),
        times.write.as_secs_f64(),
        times.hash.as_secs_f64(),
        publishing.as_secs_f64(),
    );
    if *early_row_groups > 0 {
        eprintln!(
            "  memory: a partition's rows written early {early_row_groups} times (before 128 Ki rows), to keep the rows waiting within --memory-budget ({})",
            crate::flags::binary_size(memory_budget)
        );
    }
}

/// Which delivery days were exported (each whole, whatever the window), and what an earlier
/// export of them left that was removed.
fn days_line(window: &(Option<EventTime>, Option<EventTime>), exported: &Exported) -> String {
    let days = &exported.days;
    let stale_removed = exported.stale_removed;
    let dates: BTreeSet<i64> = days.iter().map(|d| d.day).collect();
    let mut line = match (dates.first(), dates.last()) {
        (Some(first), Some(last)) => format!(
            "  delivery days: {} account x region x day units from {} to {}, each exported whole",
            days.len(),
            day_string(*first),
            day_string(*last)
        ),
        _ => "  delivery days: none listed".to_string(),
    };
    if window.0.is_some() || window.1.is_some() {
        line.push_str(" (the window selects days; every event of them is exported)");
    }
    if !exported.failed_days.is_empty() {
        line.push_str(&format!(
            "; {} of them not written, a log file of theirs could not be read: what an earlier export wrote for them is kept; export again once it can be read",
            exported.failed_days.len()
        ));
    }
    if stale_removed > 0 {
        line.push_str(&format!(
            "; {stale_removed} files an earlier export wrote for them and this one did not were removed"
        ));
    }
    line
}

/// `--print-ddl athena`: the table over the export at `--out` (its regions when it holds an
/// export), else over a placeholder location to edit.
fn print_ddl(out: Option<&str>, s3: &S3Options, name: &str, format: Format) -> Result<ExitCode> {
    const PLACEHOLDER: &str = "s3://EXPORT-BUCKET/PREFIX";
    let (location, regions) = match out {
        Some(out) if is_s3_url(out) => {
            let store = open_existing(out, s3)?;
            (out.to_string(), exported_regions(&*store)?)
        }
        Some(dir) => {
            eprintln!("trailscan: LOCATION is a placeholder: give --out s3://BUCKET/PREFIX, where the export is, to fill it in");
            let regions = match LocalFolder::open(Path::new(dir)) {
                Ok(folder) => exported_regions(&folder)?,
                // No readable folder there (no export yet): the table lists no regions, for
                // the user to fill in with the placeholder LOCATION.
                Err(_) => Vec::new(),
            };
            (PLACEHOLDER.to_string(), regions)
        }
        None => (PLACEHOLDER.to_string(), Vec::new()),
    };
    print!(
        "{}",
        athena_ddl(&AthenaTable {
            name,
            location: &location,
            regions: &regions,
            format,
        })
    );
    Ok(ExitCode::SUCCESS)
}
