//! `trailscan trace`: who was behind an access key.
//!
//! One pass over the window (from 36 hours before it, where the issuing events of its keys
//! can be) collects every event that issued a key and the uses of the keys asked about; the
//! walk back from each key is then in memory (`trailscan-attribution`).

use std::collections::HashSet;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use serde_json::json;
use trailscan_attribution::{trace, Evidence, Trace, Wanted};
use trailscan_query::{LookupRequest, Match, RecordSink};

use crate::exit_codes;
use crate::print::print_value;
use crate::scan::OpenScan;
use crate::settings::{TraceSettings, Traced};

/// A worker's share of the pass.
struct EvidenceSink<'s> {
    evidence: Evidence,
    /// The window whose uses count.
    window: &'s LookupRequest,
    wanted: &'s Wanted,
    /// Before the window, issuing events count and uses do not.
    nothing: &'s Wanted,
}

impl RecordSink for EvidenceSink<'_> {
    type Error = std::convert::Infallible;

    fn record(&mut self, m: &Match<'_, '_, '_>) -> Result<bool, Self::Error> {
        let wanted = if self.window.wants_time(m.event_time) {
            self.wanted
        } else {
            self.nothing
        };
        self.evidence.add(m.record, &m.object.key, wanted);
        Ok(true)
    }
}

/// Runs a trace and prints it.
pub fn run(settings: &TraceSettings) -> Result<ExitCode> {
    let started = Instant::now();
    let opened = OpenScan::open(&settings.source)?;
    let (objects, index_use) = opened.objects_to_read(&settings.scan);
    let wanted = match &settings.traced {
        Traced::Key(key) => Wanted::Keys(HashSet::from([key.clone()])),
        Traced::Principal(arn) => Wanted::Principal(arn.clone()),
    };
    let nothing = Wanted::Keys(HashSet::new());
    let window = &settings.uses;
    let (sink, stats) = opened.scan(
        &objects,
        &settings.scan,
        false,
        || EvidenceSink {
            evidence: Evidence::default(),
            window,
            wanted: &wanted,
            nothing: &nothing,
        },
        |a, b| {
            Ok(EvidenceSink {
                evidence: a.evidence.merge(b.evidence),
                ..a
            })
        },
    )?;
    opened.progress.finish();
    let mut evidence = sink.evidence;
    evidence.settle();
    let answer = match &settings.traced {
        Traced::Key(key) => {
            let traced = trace(key, &evidence);
            let value = traced.to_value();
            summarize(settings, &[traced]);
            value
        }
        Traced::Principal(arn) => {
            let mut keys: Vec<&String> = evidence.uses.keys().collect();
            keys.sort();
            let traces: Vec<Trace> = keys.iter().map(|k| trace(k, &evidence)).collect();
            summarize(settings, &traces);
            json!({
                "Principal": arn,
                "Traces": traces.iter().map(Trace::to_value).collect::<Vec<_>>(),
            })
        }
    };
    print_value(&settings.output, "Trace", answer)?;
    let listing = &opened.listing;
    if !settings.source.quiet {
        let issuances: usize = evidence.issuances.values().map(Vec::len).sum();
        eprintln!(
            "  {} log files listed: {} read, {} failed, {} with problems; {} events read, {} of them issued keys; {:.3} s",
            listing.objects.len(),
            stats.objects_read,
            stats.objects_failed,
            stats.objects_with_problems,
            stats.records_parsed,
            issuances,
            started.elapsed().as_secs_f64()
        );
        if let Some(index) = index_use {
            eprintln!("{index}");
        }
        if let Some(line) = opened.requests_line() {
            eprintln!("{line}");
        }
    }
    let problems =
        stats.objects_failed + stats.objects_with_problems + listing.problems.len() as u64;
    Ok(exit_codes::completed(problems))
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
        let heuristic = t
            .hops
            .iter()
            .filter(|h| h.link != trailscan_attribution::Link::Exact)
            .count();
        eprintln!(
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
    }
}
