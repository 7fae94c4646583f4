//! A hunt split between workers: each shard writes its detections, unordered by the others',
//! with the records that correlations and `--output-events` need; `trailscan merge` loads the
//! same rules, then orders, de-duplicates and correlates every shard's detections as one hunt
//! would (a duplicate delivery, or a correlation's members, may be in several shards' files).

use std::process::ExitCode;

use anyhow::Result;
use trailscan_engine::{HuntScan, Source};
use trailscan_hunt::{DetectionLine, Findings, HeldDetections, HuntRules};
use trailscan_shards::{Counts, Run, ShardDir, ShardError, ShardSummary, DETECTIONS_FILE};

use super::print::print_findings;
use super::report::summarize_findings;
use crate::exit_codes;
use crate::print::SPILL_FAILED;
use crate::settings::HuntSettings;

/// Writes the shard's detections (object keys as the source names them, which the merge
/// prints) and its summary under `dir`.
pub(super) fn write(
    settings: &HuntSettings,
    rules: &HuntRules,
    detections: HeldDetections,
    scan: &HuntScan,
    logs: &Source<'_>,
    dir: ShardDir,
) -> Result<ExitCode> {
    let spill = |cause| ShardError::Staging {
        what: SPILL_FAILED.to_string(),
        cause,
    };
    let display_key = |key: &str| logs.store.display_key(key);
    let lines = detections.into_ordered().map_err(spill)?.map(|detection| {
        let detection = detection.map_err(spill)?;
        DetectionLine::of(&detection, rules, &display_key).map_err(|problem| {
            ShardError::Malformed {
                target: "a detection's record".into(),
                problem,
            }
        })
    });
    let Some(plan) = &logs.listing.shard_plan else {
        anyhow::bail!("a shard's listing has no shard plan");
    };
    let counts = Counts::new(&logs.listing, logs.selection_misses(), &scan.stats, 0);
    let source = &settings.logs;
    let summary = ShardSummary::new(
        "hunt",
        source.arguments.clone(),
        &source.options.spec,
        source.required_run_id()?,
        plan,
        counts,
    );
    let summary = dir.write_results(DETECTIONS_FILE, lines, summary)?;
    if !source.quiet {
        eprintln!(
            "trailscan: shard {} ({} of {} units): {} detection(s) written to {dir}",
            plan.shard,
            plan.own.len(),
            plan.units_total,
            summary.counts.results
        );
    }
    // Problems are the merge's to report (in its exit code): a batch engine takes a non-zero
    // exit for a failed job and would run it again.
    Ok(ExitCode::SUCCESS)
}

/// Prints what one unsharded hunt would have: the rules loaded again from the recorded
/// `--rules` (each shard's lines name their rule, which must be the same), every shard's
/// detections ordered, de-duplicated and correlated.
pub fn merge(run: &Run, settings: &HuntSettings) -> Result<ExitCode> {
    let (rules, report) = super::load_rules(settings)?;
    let mut detections = HeldDetections::with_budget(settings.memory_budget);
    for (dir, _) in &run.shards {
        let malformed = |problem: String| ShardError::Malformed {
            target: dir.display_file(DETECTIONS_FILE),
            problem,
        };
        dir.read_lines(DETECTIONS_FILE, |line: DetectionLine| {
            let detection = line.into_detection(&rules).map_err(malformed)?;
            (detections.push(detection.event, &[detection.rule])).map_err(|cause| {
                ShardError::Staging {
                    what: SPILL_FAILED.to_string(),
                    cause,
                }
            })
        })?;
    }
    let mut findings = Findings::new(&rules, detections)?;
    print_findings(
        settings.output,
        &rules,
        &mut findings,
        &str::to_string,
        settings.output_events.as_deref(),
    )?;
    let c = &run.counts;
    if !settings.logs.quiet {
        summarize_findings(&rules, findings.tally());
        eprintln!(
            "trailscan: merged {} shards ({} units): {} files listed: {} read, {} ruled out by the prefilter, {} failed, {} with problems; {} events read; {} files skipped",
            run.shards.len(),
            run.shards[0].1.units_total,
            c.scan.objects,
            c.scan.objects_read,
            c.scan.objects_ruled_out,
            c.scan.objects_failed,
            c.scan.objects_with_problems,
            c.scan.records,
            c.files_skipped
        );
    }
    let problems = crate::cmd::merged::merged_problems(run);
    Ok(exit_codes::completed(
        problems + report.refused.len() as u64,
    ))
}
