//! `trailscan hunt`: Sigma rules over the archive. The rules are loaded and compiled by
//! [`trailscan_hunt`], the scan and its index plan are the engine's
//! ([`trailscan_engine::hunt`]); this reports the rules ([`report`]), prints the findings
//! ([`print`]) or, of a shard, writes its detections for `trailscan merge` ([`shard`]), and
//! sums up.

mod line;
mod print;
mod report;
pub mod shard;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{bail, Result};
use trailscan_archive::open_destination;
use trailscan_engine::{HuntRun, Source};
use trailscan_hunt::{Findings, HuntRules, LoadReport};
use trailscan_shards::ShardDir;

use crate::exit_codes;
use crate::progress::Progress;
use crate::settings::HuntSettings;
use print::print_findings;
use report::{report_rules, summarize_findings, summarize_scan, OnceEach};

/// Loads the rules, hunts, prints; with `--shard`, writes the shard's detections instead.
pub fn run(settings: &HuntSettings) -> Result<ExitCode> {
    let started = Instant::now();
    let (rules, report) = load_rules(settings)?;
    let quiet = settings.logs.quiet;
    // A shard's folder is made ready first: a shard that cannot write fails before scanning.
    let shard_dir = match (&settings.shard_out, settings.logs.options.selection.shard) {
        (Some(out), Some(shard)) => {
            let store = Arc::from(open_destination(out, &settings.logs.options.s3)?);
            Some(ShardDir::prepare(
                store,
                settings.logs.required_run_id()?,
                shard,
            )?)
        }
        _ => None,
    };
    let progress = Progress::on_stderr(settings.logs.no_progress, quiet);
    let once = OnceEach::new(&progress);
    let mut logs = Source::open_streaming(&settings.logs.options, &once)?;
    let mut insights = Source::open_streaming(&settings.insights.options, &once)?;
    let keep_json = settings.output_events.is_some();
    let HuntRun { detections, scan } = trailscan_engine::hunt(
        &mut [&mut logs, &mut insights],
        &rules,
        settings.start,
        settings.end,
        keep_json,
        settings.memory_budget,
    )?;
    progress.finish();
    let spilled = detections.spilled();
    let scan_summary = || {
        if !quiet {
            let budget = settings.memory_budget;
            summarize_scan(&scan, spilled, budget, &logs, &insights, started);
        }
    };
    if let Some(dir) = shard_dir {
        let exit = shard::write(settings, &rules, detections, &scan, &logs, dir)?;
        scan_summary();
        return Ok(exit);
    }
    let mut findings = Findings::new(&rules, detections)?;
    print_findings(
        settings.output,
        &rules,
        &mut findings,
        &|key| logs.store.display_key(key),
        settings.output_events.as_deref(),
    )?;
    let problems = logs.problems(&scan.stats) + insights.problems(&Default::default());
    if !quiet {
        summarize_findings(&rules, findings.tally());
    }
    scan_summary();
    let refused = report.refused.len() as u64;
    Ok(exit_codes::completed(problems + refused))
}

/// The rules of `--rules`, chosen, their accounting reported; refused with `--strict` if any
/// cannot run, and when none is left to run.
fn load_rules(settings: &HuntSettings) -> Result<(HuntRules, LoadReport)> {
    let (rules, report) = HuntRules::load(&settings.rule_paths, &settings.choice)?;
    report_rules(&rules, &report, settings.logs.quiet);
    if settings.strict && !report.refused.is_empty() {
        bail!(
            "{} rule document(s) cannot be run (--strict): nothing was scanned",
            report.refused.len()
        );
    }
    if rules.rules.is_empty() {
        bail!(
            "no CloudTrail rule to run: {} rule file(s) read, {} rule(s) for other log sources passed over, {} not chosen, {} refused",
            report.files,
            report.passed_over,
            report.not_chosen,
            report.refused.len()
        );
    }
    Ok((rules, report))
}
