//! `trailscan merge OUT/RUN-ID`: one answer from the shards of a sharded run.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::Parser;
use trailscan_archive::open_existing;
use trailscan_integrity::chain::ChainOutput;
use trailscan_query::NewestFirst;
use trailscan_records::{EventTime, LookupEvent, RecordParser};
use trailscan_shards::{
    read_run, EventLine, Run, ShardError, ShardSummary, CHAINS_FILE, EVENTS_FILE,
};

use crate::cmd::merged::{merged_exit, selection_missed};
use crate::flags::{Cli, Command};
use crate::print::{print_all, print_page, ReportRun, SPILL_FAILED};
use crate::settings::{HuntSettings, LookupSettings, MergeSettings, ValidateSettings};

/// Checks the run's shards and prints the merged answer.
pub fn run(settings: &MergeSettings) -> Result<ExitCode> {
    let store = Arc::from(open_existing(&settings.out, &settings.s3)?);
    let run = read_run(store, &settings.run_id)?;
    let first = &run.shards[0].1;
    match first.command.as_str() {
        "lookup-events" => {
            let Command::LookupEvents(mut args) = recorded_command(first)? else {
                bail!("the shards' recorded command is not lookup-events");
            };
            args.source
                .source
                .get_or_insert_with(|| first.source.clone());
            args.source.quiet |= settings.quiet;
            merge_lookup(&run, &LookupSettings::new(&args)?)
        }
        "validate-logs" => {
            let Command::ValidateLogs(args) = recorded_command(first)? else {
                bail!("the shards' recorded command is not validate-logs");
            };
            let settings = ValidateSettings::new(&args)?;
            let report = settings.report_run(std::time::SystemTime::now());
            merge_validation(&run, report.as_ref())
        }
        "hunt" => {
            let Command::Hunt(mut args) = recorded_command(first)? else {
                bail!("the shards' recorded command is not hunt");
            };
            args.source
                .source
                .get_or_insert_with(|| first.source.clone());
            args.source.quiet |= settings.quiet;
            crate::cmd::hunt::shard::merge(&run, &HuntSettings::new(&args)?)
        }
        // An export's files are already in place in the partitions: the merge checks that
        // every shard finished and sums what they wrote.
        "export" => {
            let files: usize = run.shards.iter().map(|(_, s)| s.outputs.len()).sum();
            if settings.quiet {
                return Ok(merged_exit(&run));
            }
            eprintln!(
                "trailscan: {} shards of {} units, all finished: {} events exported in {files} files; {} log files listed, {} failed",
                run.shards.len(),
                first.units_total,
                run.counts.results,
                run.counts.scan.objects,
                run.counts.scan.objects_failed
            );
            Ok(merged_exit(&run))
        }
        other => bail!(
            "{}/{}: shards of `{other}`, which merge does not know",
            settings.out,
            settings.run_id,
        ),
    }
}

/// The command the shards of a run were given, parsed again (as `trailscan COMMAND ARGS`),
/// so that a merge prints as that command would.
fn recorded_command(summary: &ShardSummary) -> Result<Command> {
    let argv = ["trailscan", summary.command.as_str()]
        .into_iter()
        .map(String::from)
        .chain(summary.arguments.iter().cloned());
    Cli::try_parse_from(argv)
        .context("the shards' recorded command line does not parse")?
        .command
        .context("the shards' recorded command line names no command")
}

/// Merges the chains of a sharded run (`trailscan merge`) and prints them as one run would;
/// `report` is the run's `--report`.
fn merge_validation(run: &Run, report: Option<&ReportRun<'_>>) -> Result<ExitCode> {
    let first = &run.shards[0].1;
    let mut chains: BTreeMap<usize, ChainOutput> = BTreeMap::new();
    for (dir, _) in &run.shards {
        dir.read_lines(CHAINS_FILE, |chain: ChainOutput| {
            let index = chain.index;
            match chains.insert(index, chain) {
                None => Ok(()),
                Some(_) => Err(trailscan_shards::ShardError::Run {
                    target: dir.display_file(CHAINS_FILE),
                    problem: format!("chain {index} was validated by two shards"),
                }),
            }
        })?;
    }
    if let Some(missing) = (0..first.units_total).find(|i| !chains.contains_key(i)) {
        bail!(
            "chain {missing} of {} is in no shard's results: the run is incomplete",
            first.units_total
        );
    }
    let chains: Vec<ChainOutput> = chains.into_values().collect();
    let code = print_all(&chains, &first.source, report)?;
    Ok(match run.counts.selection_misses {
        0 => code,
        misses => {
            eprintln!("{}", selection_missed(misses));
            ExitCode::from(1)
        }
    })
}

fn merge_lookup(run: &Run, settings: &LookupSettings) -> Result<ExitCode> {
    let first = &run.shards[0].1;
    let after = settings.resume.as_ref().map(|r| r.position.clone());
    let mut collector = NewestFirst::new(settings.limit(), after);
    let mut parser = RecordParser::default();
    for (dir, _) in &run.shards {
        dir.read_lines(EVENTS_FILE, |line: EventLine| {
            let (position, record) = (line.position, line.record.get().as_bytes());
            let time = EventTime {
                secs: position.secs,
                nanos: position.nanos,
            };
            let malformed = |problem: String| ShardError::Malformed {
                target: dir.display_file(EVENTS_FILE),
                problem,
            };
            let event = parser
                .parse(record, |r| LookupEvent::from_record(&r, time, record))
                .map_err(|e| malformed(format!("a record does not parse: {e}")))?;
            collector
                .push(position, event)
                .map_err(|e| malformed(format!("{SPILL_FAILED}: {e}")))
        })?;
    }
    let printed = print_page(settings, collector)?;
    if !settings.source.quiet {
        let c = &run.counts;
        eprintln!(
            "trailscan: merged {} shards ({} units): {} log files listed: {} read, {} failed, {} with problems; {} files skipped",
            run.shards.len(),
            first.units_total,
            c.scan.objects,
            c.scan.objects_read,
            c.scan.objects_failed,
            c.scan.objects_with_problems,
            c.files_skipped
        );
        eprintln!(
            "  events: {} in the files, {} unreadable, {} matched, {} returned ({} duplicate deliveries dropped)",
            c.scan.records, c.scan.records_skipped, c.scan.records_matched, printed.returned, printed.duplicates
        );
    }
    Ok(merged_exit(run))
}
