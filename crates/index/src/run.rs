//! What each shard of a sharded index build (`trailscan index --shard K/N`) leaves for the
//! publish: the segments it wrote, and what it listed, so that the publish seals and drops
//! rows from all the shards' listings together, as one unsharded update would from its one
//! listing.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use trailscan_layout::Selection;

use crate::snapshot::SegmentInfo;

/// What [`ShardWork::format`] says.
pub const SHARD_WORK_FORMAT: &str = "trailscan-index-shard";

/// The region folders and delivery days a run's listing covered whole: the days it may seal,
/// and where an indexed file it did not find is taken for deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Coverage {
    /// The source's base: only region folders under it were listed (`""`: all).
    pub base: String,
    /// The accounts listed; empty for all.
    pub accounts: Vec<String>,
    /// The regions listed; empty for all.
    pub regions: Vec<String>,
    /// The first and last delivery day listed whole (days since the epoch; `None`: no bound).
    pub days: (Option<i64>, Option<i64>),
}

impl Coverage {
    /// Whether a listing of this coverage listed the region folder `…/ACCOUNT/KIND/REGION`.
    pub fn covers_folder(&self, folder: &str) -> bool {
        let base = self.base.trim_end_matches('/');
        let under = base.is_empty()
            || folder
                .strip_prefix(base)
                .is_some_and(|rest| rest.starts_with('/'));
        let mut names = folder.rsplit('/');
        let (region, _kind, account) = (names.next(), names.next(), names.next());
        let wanted = Selection {
            accounts: self.accounts.clone(),
            regions: self.regions.clone(),
            ..Selection::default()
        };
        under
            && region.is_some_and(|r| wanted.wants_region(r))
            && account.is_some_and(|a| wanted.wants_account(a))
    }
}

/// One (region folder, delivery day) a shard listed: its files and their fingerprint (see
/// [`crate::day_fingerprints`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayListed {
    /// The region folder.
    pub folder: String,
    /// The day (days since the epoch).
    pub day: i64,
    /// Its files.
    pub objects: u64,
    /// SHA-256 (hex) of their list.
    pub sha256: String,
}

/// What one shard of an index build did, for the publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardWork {
    /// [`SHARD_WORK_FORMAT`].
    pub format: String,
    /// The generation the shard compared its listing with (0: no index yet). Every shard of a
    /// run must have compared with the same one, and it must still be the current one when the
    /// run is published.
    pub base_generation: u64,
    /// When the shard listed (epoch seconds): what it may seal is decided from then.
    pub listed_at: i64,
    /// `--seal-after`, in seconds.
    pub seal_after_secs: i64,
    /// What the listing covered.
    pub coverage: Coverage,
    /// How the source names its keys' root (`s3://BUCKET/`, a folder's path), for messages.
    pub source_root: String,
    /// Whether every folder could be listed.
    pub complete: bool,
    /// The segments it wrote, one per group of the files it indexed.
    pub segments: Vec<SegmentInfo>,
    /// Each (region folder, day) it listed with files.
    pub days: Vec<DayListed>,
    /// Each region folder's first day with a file the shard could not read.
    pub first_unreadable: BTreeMap<String, i64>,
    /// Indexed files its listing no longer finds (deleted since indexed).
    pub removed: Vec<String>,
    /// Files it could not read (not indexed: lookups read them), by display name, with why.
    pub failed: Vec<(String, String)>,
    /// Files changed since indexed (indexed again), by display name.
    pub changed: Vec<String>,
    /// Folders it could not list.
    pub listing_problems: u64,
    /// `--account-id` and `--region` values that name no folder of the archive (every shard
    /// lists the same account and region folders, so each finds the same).
    #[serde(default)]
    pub selection_misses: u64,
    /// The (region folder, day) of indexed files of the groups it compared that it did not
    /// list (mostly other shards' days): where no shard listed a file, the day folder was
    /// deleted whole, and the publish drops its rows.
    pub unlisted_indexed_days: Vec<(String, i64)>,
}

impl ShardWork {
    /// The records of a shard's record file, one JSON object per line.
    pub fn parse_lines(text: &[u8]) -> Result<Vec<ShardWork>, String> {
        (text.split(|b| *b == b'\n'))
            .filter(|line| !line.is_empty())
            .map(|line| {
                serde_json::from_slice(line)
                    .map_err(|e| format!("not a trailscan index shard's record ({e})"))
            })
            .collect()
    }
}

/// The shards' work together: what the publish seals and writes.
#[derive(Debug, Default)]
pub struct RunWork {
    /// The generation every shard compared with.
    pub base_generation: u64,
    /// The earliest listing: days are sealed as of then.
    pub listed_at: i64,
    /// `--seal-after`, in seconds.
    pub seal_after_secs: i64,
    /// What every shard's listing covered.
    pub coverage: Option<Coverage>,
    /// Whether every shard listed every folder.
    pub complete: bool,
    /// Every shard's segments, in shard order.
    pub segments: Vec<SegmentInfo>,
    /// Every (region folder, day) listed, with its fingerprint.
    pub fingerprints: BTreeMap<(String, i64), (u64, String)>,
    /// Each region folder's first day with an unreadable file, over all shards.
    pub first_unreadable: HashMap<String, i64>,
    /// Files deleted since indexed, over all shards.
    pub removed: Vec<String>,
    /// Files the shards could not read, with why.
    pub failed: Vec<(String, String)>,
    /// Files changed since indexed.
    pub changed: Vec<String>,
    /// Folders the shards could not list.
    pub listing_problems: u64,
    /// `--account-id` and `--region` values that name no folder (the most any shard found).
    pub selection_misses: u64,
    /// Days with indexed files that some shard did not list (see
    /// [`ShardWork::unlisted_indexed_days`]).
    pub unlisted_indexed_days: BTreeSet<(String, i64)>,
}

impl RunWork {
    /// The days with indexed files that no shard listed a file of, within what the run's
    /// listing covered whole: day folders deleted whole since indexed. None when a folder
    /// could not be listed.
    pub fn days_emptied(&self) -> BTreeSet<(String, i64)> {
        let Some(coverage) = self.coverage.as_ref().filter(|_| self.complete) else {
            return BTreeSet::new();
        };
        let (first, last) = coverage.days;
        (self.unlisted_indexed_days.iter())
            .filter(|at| !self.fingerprints.contains_key(*at))
            .filter(|(folder, day)| {
                coverage.covers_folder(folder)
                    && first.is_none_or(|f| f <= *day)
                    && last.is_none_or(|l| *day <= l)
            })
            .cloned()
            .collect()
    }
}

/// Joins the shards' work (in shard order), or says how two shards disagree: they were not
/// run over the same index generation, with the same flags.
pub fn join_shards(works: Vec<ShardWork>) -> Result<RunWork, String> {
    let mut run = RunWork {
        complete: true,
        listed_at: i64::MAX,
        ..RunWork::default()
    };
    for (k, work) in works.into_iter().enumerate() {
        if work.format != SHARD_WORK_FORMAT {
            return Err(format!(
                "shard {k}: {:?} is not a trailscan index shard's record",
                work.format
            ));
        }
        match &run.coverage {
            None => {
                run.base_generation = work.base_generation;
                run.seal_after_secs = work.seal_after_secs;
                run.coverage = Some(work.coverage.clone());
            }
            Some(coverage) => {
                if work.base_generation != run.base_generation {
                    return Err(format!(
                        "shard {k} compared the archive with index generation {}, shard 0 with {}: the index was updated while the run's shards ran; run every shard again under a new --run-id",
                        work.base_generation, run.base_generation
                    ));
                }
                if *coverage != work.coverage || work.seal_after_secs != run.seal_after_secs {
                    return Err(format!(
                        "shard {k} listed another source, selection or --seal-after than shard 0"
                    ));
                }
            }
        }
        run.listed_at = run.listed_at.min(work.listed_at);
        run.complete &= work.complete;
        run.segments.extend(work.segments);
        for day in work.days {
            run.fingerprints
                .insert((day.folder, day.day), (day.objects, day.sha256));
        }
        for (folder, day) in work.first_unreadable {
            let first = run.first_unreadable.entry(folder).or_insert(day);
            *first = (*first).min(day);
        }
        run.removed.extend(work.removed);
        run.failed.extend(work.failed);
        run.changed.extend(work.changed);
        run.listing_problems += work.listing_problems;
        run.selection_misses = run.selection_misses.max(work.selection_misses);
        run.unlisted_indexed_days.extend(work.unlisted_indexed_days);
    }
    run.removed.sort();
    run.removed.dedup();
    Ok(run)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn work(k: i64, base_generation: u64) -> ShardWork {
        ShardWork {
            format: SHARD_WORK_FORMAT.into(),
            base_generation,
            listed_at: 1_000 + k,
            seal_after_secs: 172_800,
            coverage: Coverage {
                base: "trail".into(),
                accounts: vec![],
                regions: vec!["us-east-1".into()],
                days: (None, None),
            },
            source_root: "s3://b/".into(),
            complete: k != 1,
            segments: vec![],
            days: vec![DayListed {
                folder: "trail/AWSLogs/111122223333/CloudTrail/us-east-1".into(),
                day: 19_000 + k,
                objects: 3,
                sha256: format!("{k}"),
            }],
            first_unreadable: [("f".to_string(), 20 - k)].into(),
            removed: vec![format!("gone-{}", k % 2)],
            failed: vec![(format!("f{k}"), "why".into())],
            changed: vec![],
            listing_problems: u64::from(k == 1),
            selection_misses: u64::from(k >= 1),
            unlisted_indexed_days: vec![
                (
                    "trail/AWSLogs/111122223333/CloudTrail/us-east-1".into(),
                    19_000,
                ),
                (
                    "trail/AWSLogs/111122223333/CloudTrail/us-east-1".into(),
                    18_000,
                ),
            ],
        }
    }

    #[test]
    fn shards_join_into_one_listing() {
        let run = join_shards((0..3).map(|k| work(k, 4)).collect()).unwrap();
        assert_eq!(run.base_generation, 4);
        assert_eq!(run.listed_at, 1_000);
        assert!(!run.complete, "shard 1 could not list everything");
        assert_eq!(run.fingerprints.len(), 3);
        assert_eq!(run.first_unreadable["f"], 18);
        assert_eq!(run.removed, ["gone-0", "gone-1"]);
        assert_eq!((run.failed.len(), run.listing_problems), (3, 1));
        // Each shard names the same misses: the run has them once.
        assert_eq!(run.selection_misses, 1);
        assert!(
            run.days_emptied().is_empty(),
            "shard 1 could not list everything"
        );
        let whole = join_shards(vec![work(0, 4), work(2, 4)]).unwrap();
        let folder = "trail/AWSLogs/111122223333/CloudTrail/us-east-1".to_string();
        assert_eq!(whole.days_emptied(), BTreeSet::from([(folder, 18_000)]));
    }

    #[test]
    fn shards_of_different_generations_or_selections_do_not_join() {
        let err = join_shards(vec![work(0, 4), work(1, 5)]).unwrap_err();
        assert!(err.contains("generation 5, shard 0 with 4"), "{err}");
        let mut other = work(1, 4);
        other.coverage.regions.clear();
        let err = join_shards(vec![work(0, 4), other]).unwrap_err();
        assert!(err.contains("another source, selection"), "{err}");
    }

    #[test]
    fn coverage_is_the_base_accounts_and_regions() {
        let coverage = work(0, 1).coverage;
        let folder = |p: &str| coverage.covers_folder(p);
        assert!(folder("trail/AWSLogs/111122223333/CloudTrail/us-east-1"));
        assert!(!folder("trail/AWSLogs/111122223333/CloudTrail/eu-west-1"));
        assert!(!folder("trail2/AWSLogs/111122223333/CloudTrail/us-east-1"));
    }
}
