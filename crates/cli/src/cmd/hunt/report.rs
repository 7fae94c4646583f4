//! What a hunt says on stderr besides its problems: the rules loaded, passed over and
//! refused; the matches per rule; the scan's accounting.

use std::collections::HashSet;
use std::fmt::Display;
use std::sync::Mutex;
use std::time::Instant;

use trailscan_engine::{HuntScan, Reporter, Source};
use trailscan_hunt::{HuntRules, LoadReport, Tally};
use trailscan_layout::printable::printable;

use crate::progress::Progress;

/// The rules' accounting on stderr: refusals always (they change the answer), the rest
/// unless `--quiet`.
pub(super) fn report_rules(rules: &HuntRules, report: &LoadReport, quiet: bool) {
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

/// Matches per rule and per correlation, and the detections printed: what the findings
/// held (of one hunt, or of a sharded hunt's merge).
pub(super) fn summarize_findings(rules: &HuntRules, tally: &Tally) {
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
    eprintln!(
        "trailscan: {printed} detection(s) printed ({} more of correlations' base rules) by {} rule(s) ({} matched nothing), {} correlation(s); {} detection(s) of duplicate deliveries left out",
        per_rule.iter().sum::<u64>() - printed,
        per_rule.iter().filter(|n| **n > 0).count(),
        silent_rules,
        tally.per_correlation.iter().sum::<u64>(),
        tally.duplicates
    );
}

/// The scan's accounting, the index's, and the requests made.
pub(super) fn summarize_scan(
    scan: &HuntScan,
    spilled: u64,
    memory_budget: usize,
    logs: &Source<'_>,
    insights: &Source<'_>,
    started: Instant,
) {
    let stats = &scan.stats;
    eprintln!(
        "trailscan: {} log files and {} Insights files listed: {} read, {} ruled out by the prefilter, {} failed, {} with problems; {} events read, {} evaluated; {:.3} s",
        logs.listing.objects_listed,
        insights.listing.objects_listed,
        stats.objects_read,
        stats.objects_ruled_out,
        stats.objects_failed,
        stats.objects_with_problems,
        stats.records,
        scan.evaluated,
        started.elapsed().as_secs_f64()
    );
    if spilled > 0 {
        eprintln!(
            "trailscan: {} detection(s) kept in temporary files past --memory-budget ({})",
            spilled,
            crate::flags::binary_size(memory_budget as u64)
        );
    }
    if let Some(index) = scan.index_use {
        eprintln!("{index}");
    }
    if !scan.unindexed_rules.is_empty() {
        eprintln!(
            "{}",
            printable(&format!(
                "trailscan: the index could not narrow the files: {} rule(s) need no event name or source it holds ({})",
                scan.unindexed_rules.len(),
                scan.unindexed_rules.join("; ")
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
pub(super) struct OnceEach<'p> {
    inner: &'p Progress,
    seen: Mutex<HashSet<String>>,
}

impl<'p> OnceEach<'p> {
    pub(super) fn new(inner: &'p Progress) -> OnceEach<'p> {
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
