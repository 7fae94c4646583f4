//! A hunt: Sigma rules over every record of the sources (log files, then Insights files),
//! prefiltered by the values the rules need, through the index where every rule needs values
//! it holds; its findings are then read in time order, de-duplicated and correlated as they
//! are printed ([`trailscan_hunt::Findings`]).

use trailscan_hunt::{FindingsError, HeldDetections, HuntRules, HuntSink};
use trailscan_index::{value_hash, Probes};
use trailscan_layout::key::ObjectKind;
use trailscan_query::{LookupRequest, ScanStats};
use trailscan_records::EventTime;

use crate::index_use::IndexUse;
use crate::source::Source;
use crate::Error;

/// What a hunt found and what it read.
pub struct HuntRun {
    /// The detections, to be read in time order, de-duplicated and correlated by
    /// [`trailscan_hunt::Findings`] (a shard's, by the merge).
    pub detections: HeldDetections,
    /// What the scans read.
    pub scan: HuntScan,
}

/// What a hunt's scans read.
pub struct HuntScan {
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
    /// Holding the detections.
    #[error(transparent)]
    Findings(#[from] FindingsError),
}

/// Runs `rules` over the records of `sources` (each opened for one kind of file; an
/// Insights source hunts Insights records) between `start` and `end`; with `keep_json`,
/// each detection keeps its record's JSON (those of correlations' base rules keep it anyway).
/// The detections held take about `budget` bytes at most (shared by the scan threads); the
/// rest go to sorted runs in temporary files.
pub fn hunt(
    sources: &mut [&mut Source<'_>],
    rules: &HuntRules,
    start: Option<EventTime>,
    end: Option<EventTime>,
    keep_json: bool,
    budget: usize,
) -> Result<HuntRun, HuntError> {
    let prefilter = rules.prefilter();
    let probes = rules.index_probes();
    let hashes: Option<Vec<u64>> = probes
        .as_ref()
        .ok()
        .map(|probes| probes.iter().map(|(k, v)| value_hash(*k, v)).collect());
    let mut detections = HeldDetections::with_budget(budget);
    let (mut evaluated, mut stats, mut index_use) = (0, ScanStats::default(), None);
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
        let per_thread = budget / source.pool.current_num_threads().max(1);
        let read = source.read(
            &request,
            probes,
            Some(&prefilter),
            || HuntSink::new(rules, keep_json, per_thread),
            HuntSink::merge,
        )?;
        let scanned = read.map_err(FindingsError::Spill)?;
        if let Some(used) = scanned.index_use {
            index_use = Some(match index_use {
                Some(before) => IndexUse::and(before, used),
                None => used,
            });
        }
        stats.add(&scanned.stats);
        evaluated += scanned.sink.evaluated;
        detections
            .append(scanned.sink.detections)
            .map_err(FindingsError::Spill)?;
    }
    let unindexed_rules = match (&index_use, &probes) {
        (Some(_), Err(rules)) => rules.iter().map(|r| r.title.clone()).collect(),
        _ => Vec::new(),
    };
    Ok(HuntRun {
        detections,
        scan: HuntScan {
            evaluated,
            stats,
            index_use,
            unindexed_rules,
        },
    })
}
