//! Building, updating and checking the lookup index over a source: what `trailscan index`
//! runs, as library calls.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use trailscan_archive::{
    list, open_archive, open_destination, Listing, ObjectRef, ObjectStore, RequestCounts,
    StoreError,
};

use trailscan_index::{
    compare_with_digests, day_fingerprints, deleted_since_indexed, groups_of, index_objects,
    next_generation, rebuild_and_compare, reseal, sealable_through, to_index, write_rows,
    BrokenSeal, BuildOptions, Coverage, DaySeal, DigestComparison, Group, IndexError, IndexStore,
    Listed, Resealed, RunWork, SealMap, SegmentInfo, Snapshot, ToIndex, Update, INDEX_ENTRIES,
    MAX_SEGMENTS_PER_GROUP,
};
use trailscan_layout::key::ObjectKind;
use trailscan_layout::sealed::{day_name, region_folder_and_day};
use trailscan_layout::{Selection, ShardPlan, Unit, NEWEST_RECORD_SLACK_SECS};

use crate::report::Reporter;
use crate::source::{report_deleted, selection_misses, worker_pool, SourceOptions};
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
            changed: compared.to_index.changed.len(),
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

/// How to index objects of `store`: with the scan's caps, so that an object a scan would
/// report is catalogued as one a lookup must read.
fn build_options<'a>(store: &'a dyn ObjectStore, options: &SourceOptions) -> BuildOptions<'a> {
    BuildOptions {
        source: store,
        requests_in_flight: store.requests_in_flight(),
        max_inflated_bytes: options.max_inflated_bytes,
        max_record_bytes: options.max_record_bytes,
        progress: None,
    }
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

/// A shard's plan for one kind of file (log or Insights: each is dealt on its own).
pub(crate) struct KindPlan {
    /// The kind.
    pub(crate) kind: ObjectKind,
    /// The shard's share of its day folders.
    pub(crate) plan: ShardPlan,
}

/// Lists the log and Insights files of `selection`, sorted by key, what could not be listed
/// (each reported), with `selection.shard`, the shard's plan of each kind, and how many
/// `--account-id` and `--region` values name no folder (each reported).
fn list_indexable(
    store: &dyn ObjectStore,
    selection: &Selection,
    reporter: &dyn Reporter,
) -> Result<(Vec<ObjectRef>, usize, Vec<KindPlan>, usize), Error> {
    reporter.listing(store.name());
    let (mut objects, mut problems, mut awslogs) = (Vec::new(), Vec::new(), 0);
    let (mut plans, mut seen) = (Vec::new(), Listing::default());
    for kind in [ObjectKind::Log, ObjectKind::Insight] {
        let mut listing = list(
            store,
            &Selection {
                kind,
                ..selection.clone()
            },
        )?;
        awslogs += listing.awslogs_folders;
        seen.take_seen_from(&mut listing);
        plans.extend(listing.shard_plan.map(|plan| KindPlan { kind, plan }));
        problems.extend(listing.problems.iter().map(ToString::to_string));
        objects.extend(listing.objects);
    }
    if awslogs == 0 {
        return Err(Error::NotAnArchive(store.name().to_string()));
    }
    // An --account-id or --region of no folder would index nothing and say little.
    let misses = selection_misses(selection, &seen);
    objects.sort_by(|a, b| a.key.cmp(&b.key));
    for problem in problems.iter().chain(&misses) {
        reporter.problem(problem);
    }
    Ok((objects, problems.len(), plans, misses.len()))
}

/// What an update (or a shard of one) found comparing its listing with the index.
pub(crate) struct Compared {
    /// How many log and Insights files were listed.
    pub(crate) listed: usize,
    /// Folders that could not be listed.
    pub(crate) listing_problems: usize,
    /// `--account-id` and `--region` values that name no folder.
    pub(crate) selection_misses: usize,
    /// Each (region folder, day) listed, and its fingerprint.
    pub(crate) fingerprints: BTreeMap<(String, i64), (u64, String)>,
    /// The index's day seals before the update.
    pub(crate) previous_days: Vec<DaySeal>,
    /// What to index: new files, and files changed since indexed.
    pub(crate) to_index: ToIndex,
    /// Indexed files the listing no longer finds.
    pub(crate) deleted: Vec<String>,
    /// A shard's plan of each kind listed.
    pub(crate) plans: Vec<KindPlan>,
    /// The (region folder, day) of each indexed file of the groups compared that this listing
    /// did not find: of a shard, mostly other shards' days; the publish drops the rows of
    /// those no shard listed (day folders deleted whole).
    pub(crate) unlisted_indexed_days: BTreeSet<(String, i64)>,
}

/// Lists the selection's log and Insights files (a shard's share of them, with
/// `selection.shard`) and compares them with `current`: re-checks every sealed day the
/// listing covers against its seal, and compares row by row only the days that are not sealed
/// or whose listing no longer matches their seal (the rows of matching sealed days are not
/// even read). Reports each file changed or deleted since indexed.
pub(crate) fn compare(
    store: &dyn ObjectStore,
    index: &IndexStore<'_>,
    current: &Snapshot,
    selection: &Selection,
    in_flight: usize,
    reporter: &dyn Reporter,
) -> Result<Compared, Error> {
    let (listed, listing_problems, plans, selection_misses) =
        list_indexable(store, selection, reporter)?;
    let previous_days = index.read_seals(current)?;
    let sealed = SealMap::new(&current.sealed).map_err(|problem| IndexError::Corrupt {
        file: index.name().to_string(),
        problem,
    })?;
    let fingerprints = day_fingerprints(&listed);
    let seal_of: HashMap<(&str, i64), (u64, &str)> = previous_days
        .iter()
        .filter_map(|d| {
            let day = trailscan_layout::sealed::parse_day_name(&d.day)?;
            Some(((d.folder.as_str(), day), (d.objects, d.sha256.as_str())))
        })
        .collect();
    // A sealed day whose listing matches its seal holds what was indexed: nothing to compare.
    let matches_seal = |folder: &str, day: i64| {
        let now = fingerprints
            .get(&(folder.to_string(), day))
            .map(|(n, sha)| (*n, sha.as_str()));
        sealed.get(folder).is_some_and(|s| s.holds(day))
            && seal_of.get(&(folder, day)).copied() == now
    };
    let unsealed: Vec<bool> = listed
        .iter()
        .map(|o| {
            region_folder_and_day(&o.key).is_none_or(|(folder, day)| !matches_seal(folder, day))
        })
        .collect();
    let unsealed_objects = || {
        listed
            .iter()
            .zip(&unsealed)
            .filter(|(_, u)| **u)
            .map(|(o, _)| o)
    };
    // The rows to compare: the groups of those objects, and of sealed days now without any
    // (of a shard, only its own days: the others are other shards' to compare).
    let own: Option<HashSet<&str>> = selection.shard.map(|_| {
        plans
            .iter()
            .flat_map(|p| p.plan.own.iter().map(String::as_str))
            .collect()
    });
    let mut groups = groups_of(unsealed_objects());
    for (folder, day) in seal_of.keys() {
        let owned = own
            .as_ref()
            .is_none_or(|own| unit_of(folder, *day).is_some_and(|u| own.contains(u.as_str())));
        if owned && !matches_seal(folder, *day) {
            if let Some(group) = group_of_folder(folder, *day) {
                groups.insert(group);
            }
        }
    }
    let catalog = index.load(current, |s| groups.contains(&s.group()), in_flight, false)?;
    let found = listed.iter().filter(|o| catalog.contains(&o.key)).count();
    let unlisted_indexed_days = match selection.shard {
        None => BTreeSet::new(),
        Some(_) => {
            let keys: HashSet<&str> = listed.iter().map(|o| o.key.as_str()).collect();
            (catalog.rows())
                .filter(|row| !keys.contains(row.key()))
                .filter_map(|row| region_folder_and_day(row.key()))
                .map(|(folder, day)| (folder.to_string(), day))
                .collect()
        }
    };
    let mut deleted = Vec::new();
    // A folder that could not be listed is not a folder emptied: without a whole listing,
    // no indexed file is taken for deleted (nor its row dropped).
    for kind in [ObjectKind::Log, ObjectKind::Insight]
        .into_iter()
        .filter(|_| listing_problems == 0)
    {
        let selection = Selection {
            kind,
            ..selection.clone()
        };
        let plan = plans.iter().find(|p| p.kind == kind).map(|p| &p.plan);
        deleted.extend(deleted_since_indexed(
            &catalog,
            &listed,
            found,
            &selection,
            plan,
            store.base(),
            None,
        ));
    }
    deleted.sort();
    deleted.dedup();
    // The listing is let go as the objects to index are taken from it (a first build takes
    // every one): what is held from here on is one copy of them.
    let listed_count = listed.len();
    let to_index = to_index(
        &catalog,
        listed
            .into_iter()
            .zip(unsealed)
            .filter(|(_, u)| *u)
            .map(|(o, _)| o),
    );
    for key in &to_index.changed {
        reporter.problem(&changed_since_indexed(&store.display_key(key)));
    }
    if listing_problems > 0 {
        reporter.note(&format_args!(
            "{listing_problems} folders could not be listed: files deleted since indexed are not looked for in this update"
        ));
    }
    report_deleted(reporter, store, &deleted);
    Ok(Compared {
        listed: listed_count,
        listing_problems,
        selection_misses,
        fingerprints,
        previous_days,
        to_index,
        deleted,
        plans,
        unlisted_indexed_days,
    })
}

/// The shard unit (`YYYY/MM/DD ACCOUNT REGION`) of `day` in a region folder.
fn unit_of(folder: &str, day: i64) -> Option<String> {
    let day_folder = format!("{folder}/{}", day_name(day).replace('-', "/"));
    Unit::from_day_folder(day_folder.split('/')).map(|u| u.to_string())
}

/// What indexing wrote.
pub(crate) struct Indexed {
    /// The segments written, one per group.
    pub(crate) segments: Vec<SegmentInfo>,
    /// Files that could not be read (not indexed: lookups read them), with why.
    pub(crate) failed: Vec<(ObjectRef, StoreError)>,
    /// Files indexed.
    pub(crate) indexed: usize,
    /// Their events.
    pub(crate) events: u64,
    /// Files indexed with a problem a lookup reads and reports.
    pub(crate) with_problems: usize,
}

impl Indexed {
    /// Each region folder's first day with a file that could not be read.
    pub(crate) fn first_unreadable(&self) -> HashMap<String, i64> {
        let mut first: HashMap<String, i64> = HashMap::new();
        for (object, _) in &self.failed {
            if let Some((folder, day)) = region_folder_and_day(&object.key) {
                let at = first.entry(folder.to_string()).or_insert(day);
                *at = (*at).min(day);
            }
        }
        first
    }
}

/// Indexes at least this many files between two writes of segments: enough for every core to
/// stay busy, few enough that what is held is a few megabytes of rows.
const FILES_PER_BATCH: usize = 1024;

/// Indexes `objects` on the worker pool, group after group (account x region x delivery
/// month), and writes each batch of groups' segments as it is done: what is held at once is
/// one batch's rows, however large the archive, and a run stopped halfway has written the
/// segments of the batches it finished.
pub(crate) fn index_into_segments(
    store: &dyn ObjectStore,
    index: &IndexStore<'_>,
    objects: &[ObjectRef],
    options: &SourceOptions,
    reporter: &dyn Reporter,
) -> Result<Indexed, Error> {
    reporter.scanning(objects.len() as u64, objects.iter().map(|o| o.size).sum());
    let on_object = |o: &ObjectRef, events: u64| reporter.object_done(o.size, events, 0);
    let build = BuildOptions {
        progress: Some(&on_object),
        ..build_options(store, options)
    };
    let mut by_group: Vec<&ObjectRef> = objects.iter().collect();
    let group =
        |o: &ObjectRef| Group::new(&o.layout.account, &o.layout.region, o.layout.delivered_at);
    // The objects come sorted by key, which this stable sort keeps within a group.
    by_group.sort_by_cached_key(|o| group(o));
    let pool = worker_pool(options.threads)?;
    let mut indexed = Indexed {
        segments: Vec::new(),
        failed: Vec::new(),
        indexed: 0,
        events: 0,
        with_problems: 0,
    };
    let mut rest = &by_group[..];
    while !rest.is_empty() {
        // Whole groups only: a group's rows go into one segment.
        let mut end = FILES_PER_BATCH.min(rest.len());
        while end < rest.len() && group(rest[end]) == group(rest[end - 1]) {
            end += 1;
        }
        let batch: Vec<ObjectRef> = rest[..end].iter().map(|o| (*o).clone()).collect();
        rest = &rest[end..];
        let (rows, failed) = pool.install(|| index_objects(&batch, &build));
        indexed.indexed += rows.len();
        indexed.events += rows.iter().map(|r| r.entry.events).sum::<u64>();
        indexed.with_problems += rows.iter().filter(|r| r.entry.problem.is_some()).count();
        indexed.failed.extend(failed);
        indexed.segments.extend(write_rows(index, rows)?);
    }
    Ok(indexed)
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
/// An update lists everything the selection names, but compares row by row only the days that
/// are not sealed or whose listing no longer matches their seal (see [`compare`]).
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

/// The problem of a file changed since it was indexed (size, ETag or modification time),
/// which an update or shard indexes again; `name` as a person names the file.
pub fn changed_since_indexed(name: &str) -> String {
    format!("{name}: changed since indexed (size, ETag or modification time); indexed again")
}

/// Lists and compares (see [`compare`]) with `base`, then indexes what is new or changed
/// (see [`index_into_segments`]).
pub(crate) fn compare_and_index(
    store: &dyn ObjectStore,
    index: &IndexStore<'_>,
    base: &Snapshot,
    options: &SourceOptions,
    in_flight: usize,
    reporter: &dyn Reporter,
) -> Result<(Compared, Indexed), Error> {
    let compared = compare(store, index, base, &options.selection, in_flight, reporter)?;
    let objects = &compared.to_index.objects;
    let indexed = index_into_segments(store, index, objects, options, reporter)?;
    Ok((compared, indexed))
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

/// The group (account x region x delivery month) of `day` in a region folder
/// (`…/ACCOUNT/KIND/REGION`).
pub(crate) fn group_of_folder(folder: &str, day: i64) -> Option<Group> {
    let mut names = folder.rsplit('/');
    let (region, _kind, account) = (names.next()?, names.next()?, names.next()?);
    Some(Group::new(account, region, day * 86_400))
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
    let (listed, _, _, _) = list_indexable(&*store, &options.selection, reporter)?;
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
