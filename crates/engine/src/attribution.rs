//! The attribution questions as engine calls: `trace` (who was behind a key) and
//! `summarize` (what a principal did, with where each key it used came from). The rounds
//! are attribution's planner's; the reading is [`RoundReader`]'s.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};

use trailscan_attribution::{
    follow_chains, gather, is_temporary_key, Executor, Gathered, Planner, Subject, Summary, Traced,
};
use trailscan_index::{value_hash, Probes};
use trailscan_query::{LookupRequest, Match, Prefilter, RecordSink, ScanStats};
use trailscan_records::{event_identity, AttributeKey};

use crate::index_use::IndexUse;
use crate::rounds::{window_of, RoundReader};
use crate::source::Source;
use crate::Error;

/// A trace's answer and what reading it cost.
pub struct TraceRun {
    /// The keys, their evidence and the rounds read.
    pub gathered: Gathered,
    /// All rounds' scans.
    pub stats: ScanStats,
    /// The index's part, summed over rounds.
    pub index_use: Option<IndexUse>,
}

/// Traces `traced` over `scan` (every record from 36 hours before the window to its end),
/// counting its uses in `uses` (the window as given).
pub fn trace(
    source: &Source<'_>,
    scan: &LookupRequest,
    uses: &LookupRequest,
    traced: &Traced,
) -> Result<TraceRun, Error> {
    let mut reader = RoundReader::new(source, scan);
    let gathered = gather(&mut reader, traced, window_of(scan), window_of(uses))?;
    Ok(TraceRun {
        gathered,
        stats: reader.stats,
        index_use: reader.index_use,
    })
}

/// A summary's answer and what reading it cost.
pub struct SummaryRun {
    /// What the subject did, with the evidence of each key's origin.
    pub summary: Summary,
    /// Events delivered twice and counted once.
    pub duplicates: u64,
    /// The pass's and the rounds' scans.
    pub stats: ScanStats,
    /// The index's part, summed over rounds.
    pub index_use: Option<IndexUse>,
}

/// Summarizes what `subject` did in `window`, reading `scan` (the window and the 36 hours
/// before it, for the long-term keys' issuances); then each key used is traced to its origin
/// in rounds, as [`trace`] does.
pub fn summarize(
    source: &Source<'_>,
    scan: &LookupRequest,
    window: &LookupRequest,
    subject: &Subject,
) -> Result<SummaryRun, Error> {
    // With an index, a key or a Username is a probe; a principal or an IP is read for.
    let hashes = match subject {
        Subject::AccessKey(key) => vec![value_hash(AttributeKey::AccessKeyId, key)],
        Subject::Username(name) => vec![value_hash(AttributeKey::Username, name)],
        Subject::Principal(_) | Subject::SourceIp(_) => Vec::new(),
    };
    let (objects, index_use) = source.objects_for_round(scan, Probes::All(&hashes))?;
    let counted = Mutex::new(HashSet::new());
    let counted = &counted;
    // A key or an IP is written plainly: records without it (or a CreateAccessKey) are not
    // parsed. A principal's ARN or a Username may be written otherwise.
    let prefilter = match subject {
        Subject::AccessKey(needle) | Subject::SourceIp(needle) => {
            Some(Prefilter::any_of(&[needle.as_bytes(), b"CreateAccessKey"]))
        }
        Subject::Principal(_) | Subject::Username(_) => None,
    };
    let scanned = source.scan_prefiltered(
        &objects,
        scan,
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
    );
    let (sink, stats) = match scanned {
        Ok(done) => done,
        Err(never) => match never {},
    };
    let duplicates = sink.duplicates;
    let mut summary = sink.summary;
    summary.evidence.searched_from = scan.start;
    // Where each key used came from: the walks, in rounds, as trace makes them.
    let mut keys: Vec<String> = summary.evidence.uses.keys().cloned().collect();
    keys.sort();
    let mut reader = RoundReader::new(source, scan);
    reader.add(&stats, index_use);
    // Without pruning the pass read the whole scan, long-term keys' issuances too.
    let long_term_kept = !reader.prunes();
    let mut planner = Planner::new(keys, window_of(scan), HashSet::new(), long_term_kept);
    follow_chains(&mut reader, &mut planner, &mut summary.evidence)?;
    Ok(SummaryRun {
        summary,
        duplicates,
        stats: reader.stats,
        index_use: reader.index_use,
    })
}

/// A worker's share of a summary's pass.
struct SummarySink<'s> {
    summary: Summary,
    subject: &'s Subject,
    window: &'s LookupRequest,
    /// The events counted, by every worker: an event CloudTrail delivered twice is counted
    /// once ([`event_identity`]: the same `eventID` at the same `eventTime`).
    counted: &'s Mutex<HashSet<u128>>,
    duplicates: u64,
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
                if !counted.insert(event_identity(m.event_time, id)) {
                    self.duplicates += 1;
                    return Ok(true);
                }
            }
            self.summary.add(m.record, m.event_time);
        }
        Ok(true)
    }
}
