//! Rounds of reading for credential attribution: the engine's [`Executor`], which reads
//! what attribution's planner asks for with index probes or a scan of the round's window.

use trailscan_attribution::{Evidence, Executor, Interest, Needles, Round, Window};
use trailscan_index::{issued_key_hash, value_hash, Probes};
use trailscan_query::{LookupRequest, Match, Prefilter, RecordSink, ScanStats};
use trailscan_records::AttributeKey;

use crate::index_use::IndexUse;
use crate::source::Source;
use crate::Error;

/// A round's reader over a source: every round reads with `scan`'s attributes and
/// categories, in the round's window.
pub struct RoundReader<'s, 'r> {
    source: &'s Source<'r>,
    scan: &'s LookupRequest,
    /// All rounds' scans.
    pub stats: ScanStats,
    /// The index's part, summed over rounds.
    pub index_use: Option<IndexUse>,
}

impl<'s, 'r> RoundReader<'s, 'r> {
    /// A reader of rounds over `source`, each a part of `scan`.
    pub fn new(source: &'s Source<'r>, scan: &'s LookupRequest) -> RoundReader<'s, 'r> {
        RoundReader {
            source,
            scan,
            stats: ScanStats::default(),
            index_use: None,
        }
    }

    /// What a round of the caller's own read (summary's first pass), added to the counts.
    pub fn add(&mut self, stats: &ScanStats, index_use: Option<IndexUse>) {
        self.stats.add(stats);
        if let Some(used) = index_use {
            self.index_use = Some(IndexUse::and_then(self.index_use, used));
        }
    }
}

/// The scan's request narrowed to `window`.
pub fn in_window(scan: &LookupRequest, window: Window) -> LookupRequest {
    LookupRequest {
        start: window.start,
        end: window.end,
        ..scan.clone()
    }
}

/// The event-time window of a request.
pub fn window_of(request: &LookupRequest) -> Window {
    Window {
        start: request.start,
        end: request.end,
    }
}

impl Executor for RoundReader<'_, '_> {
    type Error = Error;

    fn prunes(&self) -> bool {
        self.source.has_index()
    }

    fn read(&mut self, round: &Round) -> Result<Evidence, Self::Error> {
        let hashes: Vec<u64> = match &round.needles {
            Needles::Every => Vec::new(),
            Needles::Keys { issued, used, .. } => issued
                .iter()
                .map(|k| issued_key_hash(k))
                .chain(
                    used.iter()
                        .map(|k| value_hash(AttributeKey::AccessKeyId, k)),
                )
                .collect(),
        };
        let probes = match &round.needles {
            Needles::Every => Probes::All(&[]),
            Needles::Keys { .. } => Probes::Any(&hashes),
        };
        let prefilter = round.needles.prefilter_needles().map(|needles| {
            Prefilter::any_of(&needles.iter().map(|n| n.as_bytes()).collect::<Vec<_>>())
        });
        let request = in_window(self.scan, round.window);
        let (objects, used) = self.source.objects_for_round(&request, probes)?;
        if let Some(used) = used {
            self.index_use = Some(IndexUse::and_then(self.index_use, used));
        }
        let interest = &round.interest;
        let (sink, stats) = self
            .source
            .scan_prefiltered(
                &objects,
                self.scan,
                false,
                prefilter.as_ref(),
                || EvidenceSink {
                    evidence: Evidence::default(),
                    interest,
                },
                |a, b| {
                    Ok(EvidenceSink {
                        evidence: a.evidence.merge(b.evidence),
                        ..a
                    })
                },
            )
            .unwrap_or_else(|never| match never {});
        self.stats.add(&stats);
        Ok(sink.evidence)
    }
}

/// A worker's share of a round.
struct EvidenceSink<'s> {
    evidence: Evidence,
    interest: &'s Interest,
}

impl RecordSink for EvidenceSink<'_> {
    type Error = std::convert::Infallible;

    fn record(&mut self, m: &Match<'_, '_, '_>) -> Result<bool, Self::Error> {
        self.interest
            .keep(m.record, m.event_time, &m.object.key, &mut self.evidence);
        Ok(true)
    }
}
