//! `trailscan merge OUT/RUN-ID`: one answer from the shards of a sharded run.

use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use trailscan_query::NewestFirst;
use trailscan_records::{EventTime, LookupEvent, RecordParser};

use crate::cmd::lookup_events::{print_page, SPILL_FAILED};
use crate::exit_codes;
use crate::flags::{Command, MergeArgs};
use crate::settings::LookupSettings;
use crate::shard_results::{read_events, read_run, recorded_command, Run};

/// Checks the run's shards and prints the merged answer.
pub fn run(args: &MergeArgs) -> Result<ExitCode> {
    let run = read_run(&args.run_dir)?;
    let first = &run.shards[0].1;
    match first.command.as_str() {
        "lookup-events" => merge_lookup(&run),
        "validate-logs" => crate::cmd::validate_logs::merge_shards(&run),
        // An export's files are already in place in the partitions: the merge checks that
        // every shard finished and sums what they wrote.
        "export" => {
            let files: usize = run.shards.iter().map(|(_, s)| s.outputs.len()).sum();
            eprintln!(
                "trailscan: {} shards of {} units, all finished: {} events exported in {files} files; {} log files listed, {} failed",
                run.shards.len(),
                first.units_total,
                run.counts.results,
                run.counts.objects,
                run.counts.objects_failed
            );
            Ok(exit_codes::completed(run.counts.problems()))
        }
        other => bail!(
            "{}: shards of `{other}`, which merge does not know",
            args.run_dir.display()
        ),
    }
}

fn merge_lookup(run: &Run) -> Result<ExitCode> {
    let first = &run.shards[0].1;
    let Command::LookupEvents(mut args) = recorded_command(first)? else {
        bail!("the shards' recorded command is not lookup-events");
    };
    args.source
        .source
        .get_or_insert_with(|| first.source.clone());
    let settings = LookupSettings::new(&args)?;
    let after = settings.resume.as_ref().map(|r| r.position.clone());
    let mut collector = NewestFirst::new(settings.limit(), after);
    let mut parser = RecordParser::default();
    for (dir, _) in &run.shards {
        read_events(dir, |position, record| {
            let time = EventTime {
                secs: position.secs,
                nanos: position.nanos,
            };
            let event = parser
                .parse(record.as_bytes(), |r| {
                    LookupEvent::from_record(&r, time, record.as_bytes())
                })
                .with_context(|| format!("{}: a record does not parse", dir.display()))?;
            collector.push(position, event).context(SPILL_FAILED)
        })?;
    }
    let printed = print_page(&settings, collector)?;
    if !settings.source.quiet {
        let c = &run.counts;
        eprintln!(
            "trailscan: merged {} shards ({} units): {} log files listed: {} read, {} failed, {} with problems; {} files skipped",
            run.shards.len(),
            first.units_total,
            c.objects,
            c.objects_read,
            c.objects_failed,
            c.objects_with_problems,
            c.files_skipped
        );
        eprintln!(
            "  events: {} in the files, {} unreadable, {} matched, {} returned ({} duplicate deliveries dropped)",
            c.records, c.records_skipped, c.records_matched, printed.returned, printed.duplicates
        );
    }
    Ok(exit_codes::completed(run.counts.problems()))
}
