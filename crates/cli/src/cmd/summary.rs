//! `trailscan summary`: what a principal did.
//!
//! One pass over the window (and the 36 hours before it, for the long-term keys' issuances)
//! counts the subject's events per principal (with an index, only the files that may hold
//! its key or Username); then each key used is traced to its origin in rounds, as trace
//! does.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use anyhow::Result;
use serde_json::Value;
use trailscan_attribution::{is_temporary_key, Subject, Summary};
use trailscan_index::{value_hash, Probes};
use trailscan_output::csv::write_row;
use trailscan_output::OutputFormat;
use trailscan_query::{LookupRequest, Match, Prefilter, RecordSink};
use trailscan_records::AttributeKey;

use crate::cmd::trace::{follow_chains, Gathered};
use crate::exit_codes;
use crate::print::print_value;
use crate::scan::OpenScan;
use crate::settings::SummarySettings;

/// A worker's share of the pass.
struct SummarySink<'s> {
    summary: Summary,
    subject: &'s Subject,
    window: &'s LookupRequest,
    /// The `eventID`s counted, by every worker: an event CloudTrail delivered twice (its
    /// documented duplicates have the same `eventID`) is counted once.
    counted: &'s Mutex<HashSet<u64>>,
    duplicates: u64,
}

fn id_hash(event_id: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    event_id.hash(&mut h);
    h.finish()
}

impl RecordSink for SummarySink<'_> {
    type Error = std::convert::Infallible;

    fn record(&mut self, m: &Match<'_, '_, '_>) -> Result<bool, Self::Error> {
        // Long-term keys' issuances (CreateAccessKey, few) from the whole scan: the keys'
        // walks need them, and no later round reads that far back.
        if m.record
            .issued_access_key()
            .is_some_and(|k| !is_temporary_key(k))
        {
            self.summary.evidence.add_issuance(m.record, &m.object.key);
        }
        if self.window.wants_time(m.event_time) && self.subject.covers(m.record) {
            if let Some(id) = m.record.event_id() {
                let mut counted = self.counted.lock().unwrap_or_else(PoisonError::into_inner);
                if !counted.insert(id_hash(id)) {
                    self.duplicates += 1;
                    return Ok(true);
                }
            }
            self.summary.add(m.record, m.event_time);
        }
        Ok(true)
    }
}

/// Runs a summary and prints it.
pub fn run(settings: &SummarySettings) -> Result<ExitCode> {
    let started = Instant::now();
    let opened = OpenScan::open(&settings.source)?;
    // With an index, a key or a Username is a probe; a principal or an IP is read for.
    let hashes = match &settings.subject {
        Subject::AccessKey(key) => vec![value_hash(AttributeKey::AccessKeyId, key)],
        Subject::Username(name) => vec![value_hash(AttributeKey::Username, name)],
        Subject::Principal(_) | Subject::SourceIp(_) => Vec::new(),
    };
    let (objects, index_use) = opened.objects_for_round(&settings.scan, Probes::All(&hashes));
    let (subject, window) = (&settings.subject, &settings.window);
    let counted = Mutex::new(HashSet::new());
    let counted = &counted;
    // A key or an IP is written plainly: records without it (or a CreateAccessKey) are not
    // parsed. A principal's ARN or a Username may be written otherwise.
    let prefilter = match &settings.subject {
        Subject::AccessKey(needle) | Subject::SourceIp(needle) => {
            Some(Prefilter::any_of(&[needle.as_bytes(), b"CreateAccessKey"]))
        }
        Subject::Principal(_) | Subject::Username(_) => None,
    };
    let (sink, stats) = opened.scan_prefiltered(
        &objects,
        &settings.scan,
        false,
        prefilter.as_ref(),
        || SummarySink {
            summary: Summary::default(),
            subject,
            window,
            counted,
            duplicates: 0,
        },
        |a, b| {
            Ok(SummarySink {
                summary: a.summary.merge(b.summary),
                duplicates: a.duplicates + b.duplicates,
                ..a
            })
        },
    )?;
    let duplicates = sink.duplicates;
    let mut summary = sink.summary;
    // Where each key used came from: the walks, in rounds, as trace makes them.
    let mut keys: Vec<String> = summary.evidence.uses.keys().cloned().collect();
    keys.sort();
    let long_term_kept = index_use.is_none();
    let mut gathered = Gathered::from(std::mem::take(&mut summary.evidence), stats, index_use);
    let probed = HashSet::new();
    follow_chains(
        &opened,
        &settings.scan,
        &keys,
        probed,
        long_term_kept,
        &mut gathered,
    )?;
    summary.evidence = std::mem::take(&mut gathered.evidence);
    let (stats, index_use) = (gathered.stats, gathered.index_use);
    let answer = summary.to_value();
    match settings.output.format {
        OutputFormat::Csv => print_csv(&answer)?,
        _ => print_value(&settings.output, "Summary", answer)?,
    }
    let listing = &opened.listing;
    if !settings.source.quiet {
        eprintln!(
            "trailscan: {} principal(s); {} log files listed: {} read, {} failed, {} with problems; {} events read ({} duplicate deliveries counted once); {:.3} s",
            summary.principals(),
            listing.objects.len(),
            stats.objects_read,
            stats.objects_failed,
            stats.objects_with_problems,
            stats.records_parsed,
            duplicates,
            started.elapsed().as_secs_f64()
        );
        opened.eprint_costs(index_use);
    }
    let problems =
        stats.objects_failed + stats.objects_with_problems + listing.problems.len() as u64;
    Ok(exit_codes::completed(problems))
}

/// The CSV form: one row per principal and event name, busiest first, with the failures and
/// their error codes (`Code=N;...`).
fn print_csv(answer: &Value) -> Result<()> {
    let mut out = BufWriter::new(io::stdout().lock());
    let header = [
        "Principal",
        "Type",
        "AccountId",
        "EventSource",
        "EventName",
        "Count",
        "Failed",
        "ErrorCodes",
    ];
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_string);
    let written = (|| -> io::Result<()> {
        write_row(&mut out, &header)?;
        for s in answer["Summaries"].as_array().into_iter().flatten() {
            for e in s["EventNames"].as_array().into_iter().flatten() {
                let codes: Vec<String> = e["ErrorCodes"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(code, n)| format!("{code}={n}"))
                    .collect();
                write_row(
                    &mut out,
                    &[
                        text(&s["Principal"]),
                        s["Type"].as_str().unwrap_or_default().to_string(),
                        s["AccountId"].as_str().unwrap_or_default().to_string(),
                        text(&e["EventSource"]),
                        text(&e["EventName"]),
                        e["Count"].to_string(),
                        e["Failed"].to_string(),
                        codes.join(";"),
                    ],
                )?;
            }
        }
        out.flush()
    })();
    match written {
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
