//! A sharded index build, as the workers of an AWS Batch array job or a Kubernetes Indexed
//! Job run it: each shard (`trailscan index --shard K/N --run-id ID`) indexes its share of
//! the day folders (the same deal as every sharded command), writes its segments into the
//! index, and records what it did under the index's `runs/ID/shard-K-of-N/`, last. Nothing a
//! lookup reads changes until the run is published: by the shard that finds every other one
//! finished, or by `trailscan index --publish --run-id ID`. The publish joins the shards'
//! records into one generation, exactly what one unsharded update would have published
//! (the same rows; a group's rows may lie in several segments, one per shard that indexed
//! some of its days).

use std::collections::BTreeSet;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use trailscan_archive::{open_existing, ObjectStore, RequestCounts, S3Options};
use trailscan_index::{
    join_shards, next_generation, BrokenSeal, DayListed, IndexError, IndexStore, ShardWork,
    Snapshot, Update, SHARD_WORK_FORMAT,
};
use trailscan_layout::sealed::region_folder_and_day;
use trailscan_layout::{Shard, ShardPlan};
use trailscan_query::ScanStats;
use trailscan_shards::{read_run_checking, Counts, Run, ShardDir, ShardError, ShardSummary};

use crate::indexing::{
    compare_and_index, coverage, group_of_folder, name_broken_seals, open, requests_made,
    reseal_listing, with_seals, IndexedFiles, KindPlan, Opened,
};
use crate::report::Reporter;
use crate::runs::{run_folder, WORK_FILE};
use crate::source::SourceOptions;
use crate::Error;

/// What a shard's summary says the command was.
const COMMAND: &str = "index";

/// What one shard of a sharded build did.
pub struct ShardBuild {
    /// The index, for messages.
    pub index_name: String,
    /// The shard.
    pub shard: Shard,
    /// What it listed of its day folders, and indexed.
    pub files: IndexedFiles,
    /// Segments written.
    pub segments_written: usize,
    /// The shard's record, as a person names it.
    pub record: String,
    /// Whether the run could be published after this shard.
    pub run: RunState,
    /// S3 requests made, of the source and of the index.
    pub requests: Vec<(&'static str, RequestCounts)>,
}

/// Where a run stands after one of its shards finished.
pub enum RunState {
    /// Shards that have not finished (or not started), by folder name.
    Waiting(Vec<String>),
    /// Every shard finished: the run is published (by this shard or another).
    Published(Box<RunPublished>),
    /// Every shard finished, but the run could not be published: why.
    Refused(String),
}

/// What publishing a run did.
pub struct RunPublished {
    /// The index, for messages.
    pub index_name: String,
    /// The run.
    pub run_id: String,
    /// Its shards.
    pub shards: u32,
    /// The generation now current.
    pub snapshot: Snapshot,
    /// What this publish wrote; `None` when the run found nothing new, or was published
    /// before (see `earlier`).
    pub update: Option<Update>,
    /// The generation that had published the run already (by another shard, or an earlier
    /// `--publish`).
    pub earlier: Option<u64>,
    /// Sealed days whose files changed since they were sealed, by day folder.
    pub broken_seals: Vec<(String, BrokenSeal)>,
    /// Sealed days with files after the publish, and before it.
    pub sealed_days: (u64, u64),
    /// Rows dropped: files deleted since indexed.
    pub removed: usize,
    /// Files the shards could not read (not indexed: lookups read them), by display name,
    /// with why.
    pub failed: Vec<(String, String)>,
    /// Files changed since indexed (indexed again), by display name.
    pub changed: Vec<String>,
    /// Folders the shards could not list.
    pub listing_problems: u64,
    /// `--account-id` and `--region` values that name no folder (each shard named them).
    pub selection_misses: u64,
    /// The shards listed different day folders (one created between their listings): nothing
    /// new was sealed, and the day folders no shard took are left to the next update.
    pub units_differ: bool,
}

impl RunPublished {
    /// What makes the run's exit status 1, as an unsharded update's: files that could not be
    /// read, folders that could not be listed, files changed or deleted since indexed, and
    /// sealed days whose files changed, and values of `--account-id` or `--region` that name
    /// no folder.
    pub fn problems(&self) -> u64 {
        (self.failed.len() + self.changed.len() + self.removed + self.broken_seals.len()) as u64
            + self.listing_problems
            + self.selection_misses
    }
}

/// Indexes shard `options.selection.shard`'s share of the selection's day folders into the
/// index at `location`, records its work under `runs/RUN_ID/`, and, when every shard of the
/// run has finished, publishes the run. `arguments` are the command's flags less the sharding
/// ones: every shard of a run must be given the same.
pub fn index_shard(
    options: &SourceOptions,
    location: &str,
    seal_after_secs: i64,
    run_id: &str,
    arguments: Vec<String>,
    reporter: &dyn Reporter,
) -> Result<ShardBuild, Error> {
    let shard = options
        .selection
        .shard
        .expect("index_shard is given a shard");
    let listed_at = trailscan_layout::time::epoch_secs(std::time::SystemTime::now());
    let Opened {
        store,
        index_store,
        current,
    } = open(options, location)?;
    let index_store: Arc<dyn ObjectStore> = Arc::from(index_store);
    // An earlier attempt's record goes first: a shard that fails now is not taken for done.
    let dir = ShardDir::prepare(Arc::clone(&index_store), &run_folder(run_id), shard)?;
    let index = IndexStore::new(&*index_store);
    let base = current.unwrap_or_else(Snapshot::first);
    let in_flight = index_store.requests_in_flight();
    let (compared, indexed) =
        compare_and_index(&*store, &index, &base, options, in_flight, reporter)?;
    let files = IndexedFiles::new(&*store, &compared, &indexed);
    let work = ShardWork {
        format: SHARD_WORK_FORMAT.to_string(),
        base_generation: base.generation,
        listed_at,
        seal_after_secs,
        coverage: coverage(&*store, &options.selection),
        source_root: store.display_key(""),
        complete: compared.listing_problems == 0,
        segments: indexed.segments.clone(),
        days: compared
            .fingerprints
            .iter()
            .map(|((folder, day), (objects, sha256))| DayListed {
                folder: folder.clone(),
                day: *day,
                objects: *objects,
                sha256: sha256.clone(),
            })
            .collect(),
        first_unreadable: indexed.first_unreadable().into_iter().collect(),
        removed: compared.deleted.clone(),
        failed: files.failed.clone(),
        changed: (compared.changed.iter())
            .map(|key| store.display_key(key))
            .collect(),
        listing_problems: compared.listing_problems as u64,
        selection_misses: compared.selection_misses as u64,
        unlisted_indexed_days: compared.unlisted_indexed_days.iter().cloned().collect(),
    };
    let counts = Counts {
        scan: ScanStats {
            objects: compared.listed as u64,
            objects_read: indexed.indexed as u64,
            objects_failed: indexed.failed.len() as u64,
            records: indexed.events,
            ..ScanStats::default()
        },
        files_skipped: 0,
        listing_problems: compared.listing_problems as u64,
        selection_misses: compared.selection_misses as u64,
        results: indexed.segments.len() as u64,
    };
    let plan = joined_plan(shard, &compared.plans);
    let summary = ShardSummary::new(COMMAND, arguments, &options.spec, run_id, &plan, counts);
    dir.write_results(WORK_FILE, std::iter::once(Ok(work)), summary)?;
    let run = match read_run_checking(Arc::clone(&index_store), &run_folder(run_id), false) {
        Err(ShardError::Incomplete { missing, .. }) => RunState::Waiting(missing),
        Err(e) => RunState::Refused(e.to_string()),
        Ok(run) => match publish(&index_store, run_id, &run) {
            Ok(published) => RunState::Published(Box::new(published)),
            Err(e) => RunState::Refused(e.to_string()),
        },
    };
    Ok(ShardBuild {
        index_name: index.name().to_string(),
        shard,
        files,
        segments_written: indexed.segments.len(),
        record: dir.display_file(trailscan_shards::SUMMARY_FILE),
        run,
        requests: requests_made(&*store, &*index_store),
    })
}

/// The shard's plans of both kinds as one: its day folders of each, and one SHA-256 over
/// both unit lists, which every shard of the run must report alike.
fn joined_plan(shard: Shard, plans: &[KindPlan]) -> ShardPlan {
    let mut sha = Sha256::new();
    let mut joined = ShardPlan {
        shard,
        units_total: 0,
        own: Vec::new(),
        plan_sha256: String::new(),
    };
    for KindPlan { kind, plan } in plans {
        sha.update(format!("{kind:?} {}\n", plan.plan_sha256));
        joined.units_total += plan.units_total;
        joined
            .own
            .extend(plan.own.iter().map(|unit| format!("{kind:?} {unit}")));
    }
    joined.plan_sha256 = hex::encode(sha.finalize());
    joined
}

/// Publishes the run `run_id` of the index at `location`: every one of its shards must have
/// finished, over the same generation, which must still be the current one.
pub fn publish_index_run(
    location: &str,
    s3: &S3Options,
    run_id: &str,
) -> Result<RunPublished, Error> {
    let index_store: Arc<dyn ObjectStore> = Arc::from(open_existing(location, s3).map_err(
        |source| Error::OpenIndex {
            location: location.to_string(),
            source,
        },
    )?);
    let run = read_run_checking(Arc::clone(&index_store), &run_folder(run_id), false)?;
    publish(&index_store, run_id, &run)
}

/// Joins the finished shards of `run` into the next generation of the index and publishes
/// it; or finds that it was published already.
fn publish(
    index_store: &Arc<dyn ObjectStore>,
    run_id: &str,
    run: &Run,
) -> Result<RunPublished, Error> {
    let index = IndexStore::new(&**index_store);
    let run_name = index_store.display_key(&run_folder(run_id));
    let refused = |problem: String| Error::Run {
        run: run_name.clone(),
        problem,
    };
    let mut works = Vec::new();
    for (dir, summary) in &run.shards {
        if summary.command != COMMAND {
            return Err(refused(format!(
                "{dir} is a shard of `trailscan {}`, not of an index build",
                summary.command
            )));
        }
        let mut records = Vec::new();
        dir.read_lines(WORK_FILE, |work: ShardWork| {
            records.push(work);
            Ok(())
        })?;
        let [work] = <[ShardWork; 1]>::try_from(records).map_err(|records| {
            refused(format!(
                "{} holds {} records, not one",
                dir.display_file(WORK_FILE),
                records.len()
            ))
        })?;
        works.push(work);
    }
    let source_root = works.first().map(|w| w.source_root.clone());
    let mut work = join_shards(works).map_err(&refused)?;
    // Shards that listed different day folders (one created between their listings) may have
    // left a day to no shard: it would look empty, so nothing new is sealed or taken for
    // deleted; the next update (or run) seals it.
    let units_differ = run
        .shards
        .windows(2)
        .any(|w| w[0].1.plan_sha256 != w[1].1.plan_sha256);
    work.complete &= !units_differ;
    let missing = index.unwritten(&work.segments)?;
    if !missing.is_empty() {
        return Err(refused(format!(
            "the shards' segments {} are not in the index (removed by `index --gc`, or never written whole); run the shards again under a new --run-id",
            missing.join(", ")
        )));
    }
    let current = index.current()?.unwrap_or_else(Snapshot::first);
    let base = match work.base_generation {
        0 => Snapshot::first(),
        g => index.generation(g)?.ok_or_else(|| {
            refused(format!(
                "the generation {g} its shards compared with is no longer in the index; run the shards again under a new --run-id"
            ))
        })?,
    };
    let in_flight = index_store.requests_in_flight();
    let previous_days = index.read_seals(&base)?;
    let resealed = reseal_listing(&index, &base, &previous_days, &work)?;
    // A day folder deleted whole is in no shard's listing, so no shard found its files
    // deleted: its rows are dropped here (a sealed one's broken seal says so too).
    let mut emptied = work.days_emptied();
    let sealed_emptied = resealed.broken.iter().filter(|b| b.now == 0);
    emptied.extend(sealed_emptied.map(|b| (b.folder.clone(), b.day)));
    let mut removed = std::mem::take(&mut work.removed);
    removed.extend(rows_of_emptied_days(&index, &base, &emptied, in_flight)?);
    removed.sort();
    removed.dedup();
    let root = source_root.unwrap_or_default();
    let display_key = |key: &str| format!("{}/{key}", root.trim_end_matches('/'));
    let broken_seals = name_broken_seals(&display_key, &resealed.broken);
    let sealed_days = (resealed.days.len() as u64, previous_days.len() as u64);
    let (with_new_seals, seals_changed) = with_seals(&index, &base, &previous_days, resealed)?;
    let mut published = RunPublished {
        index_name: index.name().to_string(),
        run_id: run_id.to_string(),
        shards: run.shards.len() as u32,
        snapshot: current.clone(),
        update: None,
        earlier: None,
        broken_seals,
        sealed_days,
        removed: removed.len(),
        units_differ,
        failed: std::mem::take(&mut work.failed),
        changed: std::mem::take(&mut work.changed),
        listing_problems: work.listing_problems,
        selection_misses: work.selection_misses,
    };
    if work.segments.is_empty() && removed.is_empty() && !seals_changed {
        return Ok(published);
    }
    // Unmerged: a group indexed by several shards keeps a segment of each, as a merge would
    // read every row of the index on the one machine that publishes.
    let (next, update) = next_generation(
        &index,
        &with_new_seals,
        work.segments,
        &removed,
        usize::MAX,
        in_flight,
    )?;
    let earlier = |index: &IndexStore<'_>| -> Result<Option<u64>, Error> {
        Ok(index
            .generation(next.generation)?
            .filter(|g| *g == next)
            .map(|g| g.generation))
    };
    if current.generation != base.generation {
        published.earlier = earlier(&index)?;
        if published.earlier.is_none() {
            return Err(refused(format!(
                "the index was updated (generation {}) after the run's shards compared the archive with generation {}: its work cannot be published over that; run the shards again under a new --run-id",
                current.generation, base.generation
            )));
        }
        return Ok(published);
    }
    match index.publish(&next) {
        Ok(()) => {
            published.snapshot = next;
            published.update = Some(update);
        }
        // Another shard finishing at the same time published first: the same generation,
        // or another update's.
        Err(IndexError::Raced { file }) => {
            published.earlier = earlier(&index)?;
            if published.earlier.is_none() {
                return Err(IndexError::Raced { file }.into());
            }
            published.snapshot = next;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(published)
}

/// The indexed files of `emptied` days (region folder, day) whose day folder no shard listed.
fn rows_of_emptied_days(
    index: &IndexStore<'_>,
    base: &Snapshot,
    emptied: &BTreeSet<(String, i64)>,
    in_flight: usize,
) -> Result<Vec<String>, Error> {
    if emptied.is_empty() {
        return Ok(Vec::new());
    }
    let groups: BTreeSet<_> = emptied
        .iter()
        .filter_map(|(folder, day)| group_of_folder(folder, *day))
        .collect();
    let catalog = index.load(base, |s| groups.contains(&s.group()), in_flight, false)?;
    Ok(catalog
        .rows()
        .filter(|r| {
            region_folder_and_day(r.key())
                .is_some_and(|(folder, day)| emptied.contains(&(folder.to_string(), day)))
        })
        .map(|r| r.key().to_string())
        .collect())
}
