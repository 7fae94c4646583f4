//! `trailscan hunt`: Sigma rules over the archive. The rules are loaded and compiled by
//! [`trailscan_hunt`], the scan and its index plan are the engine's
//! ([`trailscan_engine::hunt`]); this reports the rules, prints the detections
//! ([`super::hunt_print`]) and sums up.

use std::collections::HashSet;
use std::fmt::Display;
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{bail, Result};
use trailscan_engine::{Reporter, Source};
use trailscan_hunt::{HuntRules, LoadReport};
use trailscan_layout::printable::printable;

use crate::cmd::hunt_print::print_findings;
use crate::exit_codes;
use crate::progress::Progress;
use crate::settings::HuntSettings;

/// Loads the rules, hunts, prints.
pub fn run(settings: &HuntSettings) -> Result<ExitCode> {
    let started = Instant::now();
    let (rules, report) = HuntRules::load(&settings.rule_paths, &settings.choice)?;
    let quiet = settings.logs.quiet;
    report_rules(&rules, &report, quiet);
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
    let progress = Progress::on_stderr(settings.logs.no_progress, quiet);
    let once = OnceEach::new(&progress);
    let mut logs = Source::open_streaming(&settings.logs.options, &once)?;
    let mut insights = Source::open_streaming(&settings.insights.options, &once)?;
    let keep_json = settings.output_events.is_some();
    let mut run = trailscan_engine::hunt(
        &mut [&mut logs, &mut insights],
        &rules,
        settings.start,
        settings.end,
        keep_json,
        settings.memory_budget,
    )?;
    progress.finish();
    print_findings(
        settings.output,
        &rules,
        &mut run.findings,
        &*logs.store,
        settings.output_events.as_deref(),
    )?;
    let problems = logs.problems(&run.stats) + insights.problems(&Default::default());
    if !quiet {
        summarize(
            &rules,
            &run,
            &logs,
            &insights,
            started,
            settings.memory_budget,
        );
    }
    let refused = report.refused.len() as u64;
    Ok(exit_codes::completed(problems + refused))
}

/// The rules' accounting on stderr: refusals always (they change the answer), the rest
/// unless `--quiet`.
fn report_rules(rules: &HuntRules, report: &LoadReport, quiet: bool) {
    for refusal in &report.refused {
        eprintln!(
            "{}",
            printable(&format!(
                "trailscan: {}: rule refused: {}",
                refusal.origin, refusal.why
            ))
        );
    }
    if quiet {
        return;
    }
    for warning in &report.warnings {
        eprintln!(
            "{}",
            printable(&format!(
                "trailscan: {}: warning: {}",
                warning.origin, warning.why
            ))
        );
    }
    eprintln!(
        "trailscan: {} rule(s) and {} correlation(s) loaded from {} file(s); {} for other log sources passed over, {} not chosen, {} refused",
        rules.rules.len(),
        rules.correlations.len(),
        report.files,
        report.passed_over,
        report.not_chosen,
        report.refused.len()
    );
    let unbounded = rules.unbounded();
    if !unbounded.is_empty() {
        let titles: Vec<&str> = unbounded.iter().map(|r| r.title.as_str()).collect();
        eprintln!(
            "{}",
            printable(&format!(
                "trailscan: every record is evaluated: {} rule(s) need no particular value ({})",
                titles.len(),
                titles.join("; ")
            ))
        );
    }
}

/// Matches per rule, the scan's accounting, the index's.
fn summarize(
    rules: &HuntRules,
    run: &trailscan_engine::HuntRun,
    logs: &Source<'_>,
    insights: &Source<'_>,
    started: Instant,
    memory_budget: usize,
) {
    let tally = run.findings.tally();
    let per_rule = &tally.per_rule;
    for (info, count) in rules.rules.iter().zip(per_rule).filter(|(_, n)| **n > 0) {
        let silent = if info.printed {
            ""
        } else {
            " (base of a correlation: not printed)"
        };
        let line = format!(
            "  {count:>8}  {:<13} {}{silent}",
            info.level.map(|l| l.as_str()).unwrap_or("-"),
            info.title
        );
        eprintln!("{}", printable(&line));
    }
    for (info, count) in rules
        .correlations
        .iter()
        .zip(&tally.per_correlation)
        .filter(|(_, n)| **n > 0)
    {
        let line = format!(
            "  {count:>8}  {:<13} {} (correlation)",
            info.level.map(|l| l.as_str()).unwrap_or("-"),
            info.title
        );
        eprintln!("{}", printable(&line));
    }
    let silent_rules = per_rule.iter().filter(|n| **n == 0).count();
    let printed: u64 = rules
        .rules
        .iter()
        .zip(per_rule)
        .filter(|(info, _)| info.printed)
        .map(|(_, n)| n)
        .sum();
    let stats = &run.stats;
    eprintln!(
        "trailscan: {printed} detection(s) printed ({} more of correlations' base rules) by {} rule(s) ({} matched nothing), {} correlation(s); {} detection(s) of duplicate deliveries left out",
        per_rule.iter().sum::<u64>() - printed,
        per_rule.iter().filter(|n| **n > 0).count(),
        silent_rules,
        tally.per_correlation.iter().sum::<u64>(),
        tally.duplicates
    );
    eprintln!(
        "trailscan: {} log files and {} Insights files listed: {} read, {} ruled out by the prefilter, {} failed, {} with problems; {} events read, {} evaluated; {:.3} s",
        logs.listing.objects_listed,
        insights.listing.objects_listed,
        stats.objects_read,
        stats.objects_ruled_out,
        stats.objects_failed,
        stats.objects_with_problems,
        stats.records,
        run.evaluated,
        started.elapsed().as_secs_f64()
    );
    if run.spilled > 0 {
        eprintln!(
            "trailscan: {} detection(s) kept in temporary files past --memory-budget ({})",
            run.spilled,
            crate::flags::binary_size(memory_budget as u64)
        );
    }
    if let Some(index) = run.index_use {
        eprintln!("{index}");
    }
    if !run.unindexed_rules.is_empty() {
        eprintln!(
            "{}",
            printable(&format!(
                "trailscan: the index could not narrow the files: {} rule(s) need no event name or source it holds ({})",
                run.unindexed_rules.len(),
                run.unindexed_rules.join("; ")
            ))
        );
    }
    for line in [logs.requests_line(), insights.requests_line()]
        .into_iter()
        .flatten()
    {
        eprintln!("{line}");
    }
}

/// The reporter of two sources opened over one archive (log files and Insights files): each
/// problem once (an `--account-id` the archive lacks is found by both listings).
struct OnceEach<'p> {
    inner: &'p Progress,
    seen: Mutex<HashSet<String>>,
}

impl<'p> OnceEach<'p> {
    fn new(inner: &'p Progress) -> OnceEach<'p> {
        OnceEach {
            inner,
            seen: Mutex::new(HashSet::new()),
        }
    }
}

impl Reporter for OnceEach<'_> {
    fn listing(&self, what: &str) {
        self.inner.listing(what);
    }
    fn scanning(&self, objects: u64, bytes: u64) {
        Reporter::scanning(self.inner, objects, bytes);
    }
    fn more_to_scan(&self, objects: u64, bytes: u64) {
        Reporter::more_to_scan(self.inner, objects, bytes);
    }
    fn object_done(&self, bytes: u64, events: u64, matched: u64) {
        Reporter::object_done(self.inner, bytes, events, matched);
    }
    fn note(&self, message: &dyn Display) {
        Reporter::note(self.inner, message);
    }
    fn problem(&self, message: &dyn Display) {
        let text = message.to_string();
        let new = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(text.clone());
        if new {
            Reporter::problem(self.inner, &text);
        }
    }
}
