//! Building, updating and checking the lookup index over a source: what `trailscan index`
//! runs, as library calls.

use trailscan_archive::{open_archive, open_destination, ObjectStore, RequestCounts};

use trailscan_index::{
    compare_with_digests, groups_of, next_generation, rebuild_and_compare, reseal,
    sealable_through, BrokenSeal, Coverage, DaySeal, DigestComparison, IndexError, IndexStore,
    Listed, Resealed, RunWork, Snapshot, Update, INDEX_ENTRIES, MAX_SEGMENTS_PER_GROUP,
};
use trailscan_layout::sealed::day_name;
use trailscan_layout::{Selection, NEWEST_RECORD_SLACK_SECS};

pub use crate::index_compare::changed_since_indexed;
use crate::index_compare::{build_options, list_indexable};
pub(crate) use crate::index_compare::{
    compare_and_index, group_of_folder, Compared, Indexed, KindPlan,
};
use crate::report::Reporter;
use crate::source::{worker_pool, SourceOptions};
use crate::Error;

/// How long after its end a delivery day is sealed by default (`index --seal-after`):
/// CloudTrail delivers within minutes, late deliveries within hours, into the current day's
/// folder or at most the previous one's; two days leave room for both.
pub const DEFAULT_SEAL_AFTER_SECS: i64 = 2 * 86_400;

/// What an update, or one shard of a sharded build, found of the files it listed, and indexed.
pub struct IndexedFiles {
    /// Log and Insights files listed.
    pub listed: usize,
    /// Of those, indexed now (new or changed since indexed).
    pub indexed: usize,
    /// Of those indexed now, the ones changed since indexed.
    pub changed: usize,
    /// Events in the files indexed now.
    pub events: u64,
    /// Files indexed now with a problem a lookup reads and reports.
    pub with_problems: usize,
    /// Listed files that could not be read (not indexed: lookups read them), by display
    /// name, with why.
    pub failed: Vec<(String, String)>,
    /// Indexed files no longer listed.
    pub deleted: usize,
    /// Folders that could not be listed.
    pub listing_problems: usize,
    /// `--account-id` and `--region` values that name no folder of the archive.
    pub selection_misses: usize,
}

impl IndexedFiles {
    pub(crate) fn new(
        store: &dyn ObjectStore,
        compared: &Compared,
        indexed: &Indexed,
    ) -> IndexedFiles {
        IndexedFiles {
            listed: compared.listed,
            indexed: indexed.indexed,
            changed: compared.changed.len(),
            events: indexed.events,
            with_problems: indexed.with_problems,
            failed: indexed
                .failed
                .iter()
                .map(|(o, e)| (store.display_key(&o.key), e.problem.to_string()))
                .collect(),
            deleted: compared.deleted.len(),
            listing_problems: compared.listing_problems,
            selection_misses: compared.selection_misses,
        }
    }

    /// What makes the run's exit status 1: files that could not be read, folders that could
    /// not be listed, files changed or deleted since indexed (CloudTrail writes each file
    /// once), and accounts or regions asked for that the archive has no folder of.
    pub fn problems(&self) -> usize {
        self.failed.len()
            + self.listing_problems
            + self.changed
            + self.deleted
            + self.selection_misses
    }
}

/// What an update did.
pub struct IndexUpdate {
    /// The index, for messages.
    pub index_name: String,
    /// What it listed and indexed.
    pub files: IndexedFiles,
    /// Sealed days whose objects are no longer those sealed, by display name (`FOLDER/YYYY/MM/DD`):
    /// objects added, changed or deleted since.
    pub broken_seals: Vec<(String, BrokenSeal)>,
    /// Sealed days with objects after this update, and before it.
    pub sealed_days: (u64, u64),
    /// The generation now current, and what this update wrote if it published one.
    pub snapshot: Snapshot,
    /// What this update wrote; `None` when the index was already up to date.
    pub update: Option<Update>,
    /// S3 requests made, of the source and of the index, where they are in S3.
    pub requests: Vec<(&'static str, RequestCounts)>,
}

/// What `--verify` found.
pub struct IndexVerification {
    /// The index, for messages.
    pub index_name: String,
    /// The generation checked.
    pub generation: u64,
    /// Objects the index holds for the listing's groups.
    pub indexed: usize,
    /// Objects rebuilt and compared.
    pub compared: usize,
    /// Objects whose rebuilt row differs, by display name, with what differs.
    pub differences: Vec<(String, String)>,
    /// The catalog against the digests' `hashValue`s (keys by display name).
    pub digests: DigestComparison,
}

/// The source and the index opened, the index's current snapshot read, and the log and
/// Insights files of `selection` listed.
pub(crate) struct Opened {
    pub(crate) store: Box<dyn ObjectStore>,
    pub(crate) index_store: Box<dyn ObjectStore>,
    pub(crate) current: Option<Snapshot>,
}

pub(crate) fn open(options: &SourceOptions, location: &str) -> Result<Opened, Error> {
    let store = open_archive(&options.spec, &options.s3)?;
    let index_store =
        open_destination(location, &options.s3).map_err(|source| Error::OpenIndex {
            location: location.to_string(),
            source,
        })?;
    let current = IndexStore::new(&*index_store).current()?;
    if current.is_none() {
        refuse_foreign_files(&*index_store, location)?;
    }
    Ok(Opened {
        store,
        index_store,
        current,
    })
}

/// A new index is written only where nothing but an index's own folders is: never among an
/// archive's or another tool's files (`--index` given the source's folder, say), which a
/// later cleanup of the index would take for its own.
fn refuse_foreign_files(store: &dyn ObjectStore, location: &str) -> Result<(), Error> {
    let base = match store.base() {
        "" => String::new(),
        base => format!("{}/", base.trim_end_matches('/')),
    };
    let listing = match store.list_dir(&base) {
        Ok(listing) => listing,
        Err(e) if e.is_not_found() => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let own = |name: &str| {
        let name = name.strip_prefix(base.as_str()).unwrap_or(name);
        INDEX_ENTRIES.contains(&name.trim_end_matches('/'))
    };
    let foreign =
        listing.folders.iter().any(|f| !own(f)) || listing.objects.iter().any(|o| !own(&o.key));
    match foreign {
        true => Err(Error::NotAnIndexFolder(location.to_string())),
        false => Ok(()),
    }
}

/// What an update covered of the archive: the region folders under the source's base (a
/// source narrowed to a prefix lists no other) of the selection's accounts and regions, and
/// the delivery days its window lists whole.
pub(crate) fn coverage(store: &dyn ObjectStore, selection: &Selection) -> Coverage {
    Coverage {
        base: store.base().trim_end_matches('/').to_string(),
        accounts: selection.accounts.clone(),
        regions: selection.regions.clone(),
        days: days_listed_whole(selection),
    }
}

/// Lists the selection's log and Insights files, indexes those the index at `location`
/// does not hold as they are now, re-checks every sealed day against its seal, seals the days
/// older than `seal_after_secs` after their end, and publishes a new generation (the first,
/// where there is no index yet) when anything changed.
///
/// An update lists everything the selection names, group by group, but compares row by row
/// only the days that are not sealed or whose listing no longer matches their seal (see
/// [`compare_and_index`]).
pub fn update_index(
    options: &SourceOptions,
    location: &str,
    seal_after_secs: i64,
    reporter: &dyn Reporter,
) -> Result<IndexUpdate, Error> {
    // What may be sealed is decided as of the listing, not of the end of a long build.
    let listed_at = trailscan_layout::time::epoch_secs(std::time::SystemTime::now());
    let Opened {
        store,
        index_store,
        current,
    } = open(options, location)?;
    let index = IndexStore::new(&*index_store);
    let current = current.unwrap_or_else(Snapshot::first);
    let in_flight = index_store.requests_in_flight();
    let (compared, mut indexed) =
        compare_and_index(&*store, &index, &current, options, in_flight, reporter)?;
    let resealed = reseal_listing(
        &index,
        &current,
        &compared.previous_days,
        &RunWork {
            listed_at,
            seal_after_secs,
            coverage: Some(coverage(&*store, &options.selection)),
            complete: compared.listing_problems == 0,
            fingerprints: compared.fingerprints.clone(),
            first_unreadable: indexed.first_unreadable(),
            ..RunWork::default()
        },
    )?;
    let broken_seals = name_broken_seals(&|key| store.display_key(key), &resealed.broken);
    let sealed_days = (
        resealed.days.len() as u64,
        compared.previous_days.len() as u64,
    );
    let (base, seals_changed) = with_seals(&index, &current, &compared.previous_days, resealed)?;
    let published =
        match indexed.segments.is_empty() && compared.deleted.is_empty() && !seals_changed {
            true => None,
            false => {
                let (next, update) = next_generation(
                    &index,
                    &base,
                    std::mem::take(&mut indexed.segments),
                    &compared.deleted,
                    MAX_SEGMENTS_PER_GROUP,
                    in_flight,
                )?;
                index.publish(&next)?;
                Some((next, update))
            }
        };
    let (snapshot, update) = match published {
        Some((snapshot, update)) => (snapshot, Some(update)),
        None => (current, None),
    };
    Ok(IndexUpdate {
        index_name: index.name().to_string(),
        files: IndexedFiles::new(&*store, &compared, &indexed),
        broken_seals,
        sealed_days,
        snapshot,
        update,
        requests: requests_made(&*store, &*index_store),
    })
}

/// The seals after what `work` listed (one update's listing, or every shard's of a run): the
/// sealed days of `base` re-checked, and the days sealable as of the listing sealed.
pub(crate) fn reseal_listing(
    index: &IndexStore<'_>,
    base: &Snapshot,
    previous_days: &[DaySeal],
    work: &RunWork,
) -> Result<Resealed, Error> {
    let coverage = work.coverage.clone().unwrap_or_default();
    let listed = Listed {
        fingerprints: &work.fingerprints,
        covers_folder: &|folder| coverage.covers_folder(folder),
        days: coverage.days,
        first_unreadable: &work.first_unreadable,
        complete: work.complete,
    };
    let through = sealable_through(work.listed_at, work.seal_after_secs);
    reseal(&base.sealed, previous_days, &listed, through).map_err(|problem| {
        IndexError::Corrupt {
            file: index.name().to_string(),
            problem,
        }
        .into()
    })
}

/// The broken seals, each by the name of its day folder as a person gives it.
pub(crate) fn name_broken_seals(
    display_key: &dyn Fn(&str) -> String,
    broken: &[BrokenSeal],
) -> Vec<(String, BrokenSeal)> {
    broken
        .iter()
        .map(|b| {
            let day = day_name(b.day).replace('-', "/");
            (display_key(&format!("{}/{day}", b.folder)), b.clone())
        })
        .collect()
}

/// `current` with the seals of `resealed` (their file written where they changed), and
/// whether they changed.
pub(crate) fn with_seals(
    index: &IndexStore<'_>,
    current: &Snapshot,
    previous_days: &[DaySeal],
    resealed: Resealed,
) -> Result<(Snapshot, bool), Error> {
    let mut base = current.clone();
    base.sealed = resealed.ranges;
    let changed = base.sealed != current.sealed || resealed.days != previous_days;
    if changed {
        base.seals = match resealed.days.is_empty() {
            true => None,
            false => Some(index.write_seals(&resealed.days)?),
        };
    }
    Ok((base, changed))
}

/// The S3 requests made, of the source and of the index, where they are in S3.
pub(crate) fn requests_made(
    store: &dyn ObjectStore,
    index_store: &dyn ObjectStore,
) -> Vec<(&'static str, RequestCounts)> {
    [("source", store), ("index", index_store)]
        .into_iter()
        .filter_map(|(what, store)| Some((what, store.requests_made()?)))
        .collect()
}

/// The delivery days a listing of `selection` covers whole: every file delivered on them is
/// listed (`None`: no bound on that side).
fn days_listed_whole(selection: &Selection) -> (Option<i64>, Option<i64>) {
    const DAY: i64 = 86_400;
    // A file delivered at t is listed when t + slack >= start and t - margin <= end.
    let first = selection
        .start
        .map(|s| (s - NEWEST_RECORD_SLACK_SECS + DAY - 1).div_euclid(DAY));
    let last = selection
        .end
        .map(|e| (e + selection.delivery_margin_secs + 1).div_euclid(DAY) - 1);
    (first, last)
}

/// Generations `index --gc` keeps: the current one, and the one before it, which a lookup
/// that started just before the last update may still be reading.
pub const GC_KEEPS_GENERATIONS: u64 = 2;

/// What `index --gc` removed.
pub struct IndexGc {
    /// The index, for messages.
    pub index_name: String,
    /// The current generation.
    pub generation: u64,
    /// Files removed, and their bytes.
    pub removed: (u64, u64),
}

/// Removes from the index at `location` the files that neither the current generation nor
/// the one before it names.
pub fn gc_index(location: &str, s3: &trailscan_archive::S3Options) -> Result<IndexGc, Error> {
    let index_store =
        trailscan_archive::open_existing(location, s3).map_err(|source| Error::OpenIndex {
            location: location.to_string(),
            source,
        })?;
    let index = IndexStore::new(&*index_store);
    let current = index
        .current()?
        .ok_or_else(|| IndexError::NoIndex(location.to_string()))?;
    let pending = crate::runs::segments_of_runs(&*index_store)?;
    let removed = index.collect_garbage(&current, GC_KEEPS_GENERATIONS, &pending)?;
    Ok(IndexGc {
        index_name: index.name().to_string(),
        generation: current.generation,
        removed,
    })
}

/// Checks the index at `location` against the source: rebuilds the rows of a `sample`
/// share of the listed, indexed objects and compares them with the index's, and compares
/// the catalog's SHA-256 of inflated bytes with the digests' `hashValue`s.
pub fn verify_index(
    options: &SourceOptions,
    location: &str,
    sample: f64,
    reporter: &dyn Reporter,
) -> Result<IndexVerification, Error> {
    let Opened {
        store,
        index_store,
        current,
    } = open(options, location)?;
    let listed = list_indexable(&*store, &options.selection, reporter)?;
    let Some(snapshot) = current else {
        return Err(IndexError::NoIndex(location.to_string()).into());
    };
    let index = IndexStore::new(&*index_store);
    let groups = groups_of(&listed);
    let catalog = index.load(
        &snapshot,
        |s| groups.contains(&s.group()),
        store.requests_in_flight(),
        true,
    )?;
    let build = build_options(&*store, options);
    let pool = worker_pool(options.threads)?;
    let compared = pool.install(|| rebuild_and_compare(&catalog, &listed, sample, &build));
    let differences = compared
        .iter()
        .filter_map(|(o, d)| Some((store.display_key(&o.key), d.clone()?)))
        .collect();
    let mut digests = compare_with_digests(&*store, &options.selection, &catalog)?;
    for (key, _, _) in &mut digests.mismatched {
        *key = store.display_key(key);
    }
    Ok(IndexVerification {
        index_name: index.name().to_string(),
        generation: snapshot.generation,
        indexed: catalog.len(),
        compared: compared.len(),
        differences,
        digests,
    })
}
