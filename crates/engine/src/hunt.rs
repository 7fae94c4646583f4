//! A hunt: Sigma rules over every record of the sources (log files, then Insights files),
//! prefiltered by the values the rules need, through the index where every rule needs values
//! it holds, then ordered, de-duplicated and correlated.

use trailscan_hunt::{
    correlate, settle, CorrelateError, CorrelationHit, Detection, HuntRules, HuntSink,
};
use trailscan_index::{value_hash, Probes};
use trailscan_layout::key::ObjectKind;
use trailscan_query::{LookupRequest, ScanStats};
use trailscan_records::EventTime;

use crate::index_use::IndexUse;
use crate::source::{Scanned, Source};
use crate::Error;

/// What a hunt found and what it read.
#[derive(Debug, Default)]
pub struct HuntRun {
    /// The detections, in time order, each (rule, event) once.
    pub detections: Vec<Detection>,
    /// The correlation rules that fired, in time order.
    pub correlations: Vec<CorrelationHit>,
    /// Detections of duplicate deliveries left out.
    pub duplicates: usize,
    /// Records every rule was evaluated on (the prefilter's candidates).
    pub evaluated: u64,
    /// What the scans read.
    pub stats: ScanStats,
    /// What the index did, summed over the sources read through it.
    pub index_use: Option<IndexUse>,
    /// With an index: the rules that need no value it holds, so that every file of the
    /// window was read (empty when the index planned the hunt).
    pub unindexed_rules: Vec<String>,
}

/// Why a hunt stopped.
#[derive(Debug, thiserror::Error)]
pub enum HuntError {
    /// The source or its index.
    #[error(transparent)]
    Source(#[from] Error),
    /// The correlation phase.
    #[error(transparent)]
    Correlate(#[from] CorrelateError),
}

/// Runs `rules` over the records of `sources` (each opened for one kind of file; an
/// Insights source hunts Insights records) between `start` and `end`; with `keep_json`,
/// each detection keeps its record's JSON (those of correlations' base rules keep it anyway).
pub fn hunt(
    sources: &mut [&mut Source<'_>],
    rules: &HuntRules,
    start: Option<EventTime>,
    end: Option<EventTime>,
    keep_json: bool,
) -> Result<HuntRun, HuntError> {
    let prefilter = rules.prefilter();
    let probes = rules.index_probes();
    let hashes: Option<Vec<u64>> = probes
        .as_ref()
        .ok()
        .map(|probes| probes.iter().map(|(k, v)| value_hash(*k, v)).collect());
    let mut run = HuntRun::default();
    for source in sources {
        let request = LookupRequest {
            start,
            end,
            insight: source.kind() == ObjectKind::Insight,
            include_data_events: true,
            every_category: true,
            ..LookupRequest::default()
        };
        let probes = hashes.as_deref().map(Probes::Any);
        let read = source.read(
            &request,
            probes,
            Some(&prefilter),
            || HuntSink::new(rules, keep_json),
            |a, b| Ok(a.merge(b)),
        )?;
        let Ok(Scanned {
            sink,
            stats,
            index_use,
        }) = read;
        if let Some(used) = index_use {
            run.index_use = Some(match run.index_use {
                Some(before) => before.and(used),
                None => used,
            });
        }
        run.stats.add(&stats);
        run.evaluated += sink.evaluated;
        run.detections.extend(sink.detections);
    }
    if run.index_use.is_some() {
        if let Err(rules) = &probes {
            run.unindexed_rules = rules.iter().map(|r| r.title.clone()).collect();
        }
    }
    run.duplicates = settle(&mut run.detections);
    run.correlations = correlate(rules, &run.detections)?;
    Ok(run)
}
