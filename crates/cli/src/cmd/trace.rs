//! `trailscan trace`: who was behind an access key. The rounds of reading are attribution's
//! planner's and the engine's ([`trailscan_engine::trace`]); this prints the walks.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use serde_json::json;
use trailscan_attribution::{Link, Trace, Traced};
use trailscan_engine::Source;
use trailscan_layout::printable::printable;

use crate::exit_codes;
use crate::print::print_value;
use crate::progress::Progress;
use crate::settings::TraceSettings;

/// Runs a trace and prints it.
pub fn run(settings: &TraceSettings) -> Result<ExitCode> {
    let started = Instant::now();
    let source = &settings.source;
    let progress = Progress::on_stderr(source.no_progress, source.quiet);
    let opened = Source::open(&source.options, &progress)?;
    let run = trailscan_engine::trace(&opened, &settings.scan, &settings.uses, &settings.traced)?;
    progress.finish();
    let traces = run.gathered.traces();
    summarize(settings, &traces);
    let answer = match &settings.traced {
        Traced::Key(_) => traces[0].to_value(),
        Traced::Principal(arn) => json!({
            "Principal": arn,
            "Traces": traces.iter().map(Trace::to_value).collect::<Vec<_>>(),
        }),
    };
    print_value(&settings.output, "Trace", answer)?;
    let stats = &run.stats;
    if !source.quiet {
        eprintln!(
            "  {} log files listed: {} object reads in {} round(s), {} failed, {} with problems; {} events read; {:.3} s",
            opened.listing.objects_listed,
            stats.objects_read,
            run.gathered.rounds,
            stats.objects_failed,
            stats.objects_with_problems,
            stats.records_parsed,
            started.elapsed().as_secs_f64()
        );
        if let Some(index) = run.index_use {
            eprintln!("{index}");
        }
        if let Some(line) = opened.requests_line() {
            eprintln!("{line}");
        }
    }
    Ok(exit_codes::completed(opened.problems(stats)))
}

/// One line per key on stderr: how far the chain goes.
fn summarize(settings: &TraceSettings, traces: &[Trace]) {
    if settings.source.quiet {
        return;
    }
    if traces.is_empty() {
        eprintln!("trailscan: the principal used no access key in the window");
    }
    for t in traces {
        let heuristic = t.hops.iter().filter(|h| h.link != Link::Exact).count();
        let line = format!(
            "trailscan: {}: {} hop(s) ({} heuristic), origin {} {}{}",
            t.access_key,
            t.hops.len(),
            heuristic,
            t.origin.kind.as_deref().unwrap_or("unknown"),
            t.origin.arn.as_deref().unwrap_or(""),
            if t.origin.complete {
                ""
            } else {
                " (incomplete)"
            }
        );
        // The key and the ARN come from records: whoever made the calls chose them.
        eprintln!("{}", printable(&line));
    }
}
