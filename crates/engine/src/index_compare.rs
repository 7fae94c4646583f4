//! An index build or update, group by group (account x region x delivery month): the day
//! folders are found first, without being listed; then each group's are listed, compared
//! with that group's rows and seals, and what is new indexed, before the next group's
//! objects are held. What a build holds at once is a few groups' listing and rows, not the
//! archive's listing (a million objects took 969 MiB held whole).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use trailscan_archive::{find_day_folders, Listing, ObjectRef, ObjectStore, StoreError};
use trailscan_index::{
    day_fingerprints, deleted_since_indexed, index_objects, to_index, write_rows, BuildOptions,
    DaySeal, Fingerprint, Group, IndexError, IndexStore, SealMap, SegmentInfo, Snapshot,
};
use trailscan_layout::key::ObjectKind;
use trailscan_layout::sealed::{
    day_name, parse_day_name, region_folder_and_day, region_folder_and_day_of_folder,
};
use trailscan_layout::{Selection, ShardPlan, Unit};

use crate::ordered::{in_order, of_kind, DayFolders};
use crate::report::Reporter;
use crate::source::{report_deleted, selection_misses, worker_pool, SourceOptions};
use crate::Error;

/// A shard's plan for one kind of file (log or Insights: each is dealt on its own).
pub(crate) struct KindPlan {
    /// The kind.
    pub(crate) kind: ObjectKind,
    /// The shard's share of its day folders.
    pub(crate) plan: ShardPlan,
}

/// The log and Insights day folders of a selection (a shard's share of them), found but not
/// listed, by group.
pub(crate) struct Indexable {
    /// Each group's day folders, the groups in order.
    pub(crate) groups: BTreeMap<Group, DayFolders>,
    /// Folders above the days that could not be listed (each reported).
    pub(crate) problems: usize,
    /// A shard's plan of each kind.
    pub(crate) plans: Vec<KindPlan>,
    /// `--account-id` and `--region` values that name no folder (each reported).
    pub(crate) selection_misses: usize,
}

/// Finds the day folders of the log and Insights files of `selection` (with
/// `selection.shard`, the shard's own), and reports what could not be listed.
pub(crate) fn find_indexable(
    store: &dyn ObjectStore,
    selection: &Selection,
    reporter: &dyn Reporter,
) -> Result<Indexable, Error> {
    reporter.listing(store.name());
    let (mut problems, mut awslogs) = (Vec::new(), 0);
    let (mut plans, mut seen) = (Vec::new(), Listing::default());
    let mut groups: BTreeMap<Group, DayFolders> = BTreeMap::new();
    for kind in [ObjectKind::Log, ObjectKind::Insight] {
        let (mut listing, folders) = find_day_folders(store, &of_kind(selection, kind))?;
        awslogs += listing.awslogs_folders;
        seen.take_seen_from(&mut listing);
        plans.extend(listing.shard_plan.map(|plan| KindPlan { kind, plan }));
        problems.extend(listing.problems.iter().map(ToString::to_string));
        for folder in folders {
            let group = region_folder_and_day_of_folder(&folder)
                .and_then(|(region_folder, day)| group_of_folder(region_folder, day));
            match group {
                Some(group) => groups.entry(group).or_default().push((kind, folder)),
                // The walk enters only folders of the layout's numbers.
                None => problems.push(format!("{folder}: not a day folder of the layout")),
            }
        }
    }
    if awslogs == 0 {
        return Err(Error::NotAnArchive(store.name().to_string()));
    }
    // An --account-id or --region of no folder would index nothing and say little.
    let misses = selection_misses(selection, &seen);
    for problem in problems.iter().chain(&misses) {
        reporter.problem(problem);
    }
    Ok(Indexable {
        groups,
        problems: problems.len(),
        plans,
        selection_misses: misses.len(),
    })
}

/// One group's objects, listed.
pub(crate) struct ListedGroup {
    pub(crate) group: Group,
    /// Its log and Insights files, sorted by key.
    pub(crate) objects: Vec<ObjectRef>,
    /// Its day folders that could not be listed (each reported).
    pub(crate) problems: usize,
}

/// Lists `groups` in order, a few ahead of `each` ([`in_order`]), and hands each to `each`;
/// stops at the first error `each` returns.
fn list_groups(
    store: &dyn ObjectStore,
    selection: &Selection,
    groups: BTreeMap<Group, DayFolders>,
    reporter: &dyn Reporter,
    mut each: impl FnMut(ListedGroup) -> Result<(), Error>,
) -> Result<(), Error> {
    in_order(store, selection, groups, reporter, |listed| {
        for (group, listing) in listed {
            each(ListedGroup {
                group,
                objects: listing.objects,
                problems: listing.problems.len(),
            })?;
        }
        Ok(())
    })
}

/// The selection's log and Insights files (a shard's share), sorted by key, with what could
/// not be listed (each reported): what `index --verify` compares whole.
pub(crate) fn list_indexable(
    store: &dyn ObjectStore,
    selection: &Selection,
    reporter: &dyn Reporter,
) -> Result<Vec<ObjectRef>, Error> {
    let found = find_indexable(store, selection, reporter)?;
    let mut objects = Vec::new();
    list_groups(store, selection, found.groups, reporter, |group| {
        objects.extend(group.objects);
        Ok(())
    })?;
    objects.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(objects)
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
    pub(crate) fingerprints: BTreeMap<(String, i64), Fingerprint>,
    /// The index's day seals before the update.
    pub(crate) previous_days: Vec<DaySeal>,
    /// Files indexed again because they changed since indexed.
    pub(crate) changed: Vec<String>,
    /// Indexed files the listing no longer finds.
    pub(crate) deleted: Vec<String>,
    /// A shard's plan of each kind listed.
    pub(crate) plans: Vec<KindPlan>,
    /// The (region folder, day) of each indexed file of the groups compared that this listing
    /// did not find: of a shard, mostly other shards' days; the publish drops the rows of
    /// those no shard listed (day folders deleted whole).
    pub(crate) unlisted_indexed_days: BTreeSet<(String, i64)>,
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

/// Lists the selection's log and Insights files (a shard's share of them, with
/// `selection.shard`) group by group, compares each group with `current`, and indexes what is
/// new or changed, writing segments a batch of whole groups at a time (a group's rows go into
/// one segment; a run stopped halfway has written the batches it finished).
///
/// Every sealed day the listing covers is re-checked against its seal; row by row, only the
/// days that are not sealed or whose listing no longer matches their seal are compared (the
/// rows of matching sealed days are not even read). Each file changed or deleted since
/// indexed is reported.
pub(crate) fn compare_and_index(
    store: &dyn ObjectStore,
    index: &IndexStore<'_>,
    current: &Snapshot,
    options: &SourceOptions,
    in_flight: usize,
    reporter: &dyn Reporter,
) -> Result<(Compared, Indexed), Error> {
    let selection = &options.selection;
    let found = find_indexable(store, selection, reporter)?;
    let previous_days = index.read_seals(current)?;
    let sealed = SealMap::new(&current.sealed).map_err(|problem| IndexError::Corrupt {
        file: index.name().to_string(),
        problem,
    })?;
    let own: Option<HashSet<&str>> = selection.shard.map(|_| {
        (found.plans.iter())
            .flat_map(|p| p.plan.own.iter().map(String::as_str))
            .collect()
    });
    let mut comparer = Comparer {
        store,
        index,
        current,
        selection,
        in_flight,
        reporter,
        plans: &found.plans,
        above_listed_whole: found.problems == 0,
        seals: Seals::new(&previous_days, &sealed, own.as_ref()),
        fingerprints: BTreeMap::new(),
        deleted: Vec::new(),
        changed: Vec::new(),
        unlisted_indexed_days: BTreeSet::new(),
        listed: 0,
        listing_problems: found.problems,
    };
    let mut indexing = Batches {
        store,
        index,
        options,
        reporter,
        pool: worker_pool(options.threads)?,
        waiting: Vec::new(),
        indexed: Indexed {
            segments: Vec::new(),
            failed: Vec::new(),
            indexed: 0,
            events: 0,
            with_problems: 0,
        },
    };
    reporter.scanning(0, 0);
    let mut visited = HashSet::new();
    list_groups(store, selection, found.groups, reporter, |listed| {
        visited.insert(listed.group.clone());
        let objects = comparer.compare(listed)?;
        indexing.add(objects)
    })?;
    // Groups whose sealed days are all gone (their folders deleted whole) were not listed:
    // their rows are compared with nothing.
    let unvisited: Vec<Group> = (comparer.seals.by_group.keys())
        .filter(|group| !visited.contains(*group))
        .cloned()
        .collect();
    for group in unvisited {
        let objects = comparer.compare(ListedGroup {
            group,
            objects: Vec::new(),
            problems: 0,
        })?;
        indexing.add(objects)?;
    }
    indexing.flush()?;
    let Comparer {
        mut deleted,
        changed,
        fingerprints,
        unlisted_indexed_days,
        listed,
        listing_problems,
        ..
    } = comparer;
    deleted.sort();
    deleted.dedup();
    if listing_problems > 0 {
        reporter.note(&format_args!(
            "{listing_problems} folders could not be listed: files deleted since indexed are not looked for where they are"
        ));
    }
    report_deleted(reporter, store, &deleted);
    let compared = Compared {
        listed,
        listing_problems,
        selection_misses: found.selection_misses,
        fingerprints,
        previous_days,
        changed,
        deleted,
        plans: found.plans,
        unlisted_indexed_days,
    };
    Ok((compared, indexing.indexed))
}

/// The index's day seals, as a group's comparison asks for them.
struct Seals<'a> {
    /// Each sealed day's recorded objects and fingerprint, by (region folder, day).
    of_day: HashMap<(&'a str, i64), (u64, &'a str)>,
    /// The sealed days of each group (of a shard, only its own days: the others are other
    /// shards' to compare).
    by_group: BTreeMap<Group, Vec<(&'a str, i64)>>,
    /// The sealed ranges.
    sealed: &'a SealMap,
}

impl<'a> Seals<'a> {
    fn new(days: &'a [DaySeal], sealed: &'a SealMap, own: Option<&HashSet<&str>>) -> Seals<'a> {
        let mut seals = Seals {
            of_day: HashMap::new(),
            by_group: BTreeMap::new(),
            sealed,
        };
        for d in days {
            let Some(day) = parse_day_name(&d.day) else {
                continue;
            };
            let folder = d.folder.as_str();
            seals
                .of_day
                .insert((folder, day), (d.objects, d.sha256.as_str()));
            let owned = own
                .is_none_or(|own| unit_of(folder, day).is_some_and(|u| own.contains(u.as_str())));
            if let Some(group) = group_of_folder(folder, day).filter(|_| owned) {
                seals.by_group.entry(group).or_default().push((folder, day));
            }
        }
        seals
    }

    /// Whether `day` of `folder` is sealed and its listing, `now`, matches its seal: then it
    /// holds what was indexed, and there is nothing to compare.
    fn matches(&self, folder: &str, day: i64, now: Option<&Fingerprint>) -> bool {
        let now = now.map(|(n, sha)| (*n, sha.as_str()));
        self.sealed.get(folder).is_some_and(|s| s.holds(day))
            && self.of_day.get(&(folder, day)).copied() == now
    }
}

/// The shard unit (`YYYY/MM/DD ACCOUNT REGION`) of `day` in a region folder.
fn unit_of(folder: &str, day: i64) -> Option<String> {
    let day_folder = format!("{folder}/{}", day_name(day).replace('-', "/"));
    Unit::from_day_folder(day_folder.split('/')).map(|u| u.to_string())
}

/// The comparison of a listing with the index, one group at a time, and what it found so far.
struct Comparer<'a> {
    store: &'a dyn ObjectStore,
    index: &'a IndexStore<'a>,
    current: &'a Snapshot,
    selection: &'a Selection,
    in_flight: usize,
    reporter: &'a dyn Reporter,
    plans: &'a [KindPlan],
    /// Whether every folder above the days was listed: else no indexed file is taken for
    /// deleted (a folder that could not be listed is not a folder emptied).
    above_listed_whole: bool,
    seals: Seals<'a>,
    fingerprints: BTreeMap<(String, i64), Fingerprint>,
    deleted: Vec<String>,
    changed: Vec<String>,
    unlisted_indexed_days: BTreeSet<(String, i64)>,
    listed: usize,
    listing_problems: usize,
}

impl Comparer<'_> {
    /// Compares one group's listing with the index; returns its objects to index (new, or
    /// changed since indexed), in key order.
    fn compare(&mut self, listed: ListedGroup) -> Result<Vec<ObjectRef>, Error> {
        let ListedGroup {
            group,
            objects,
            problems,
        } = listed;
        self.listed += objects.len();
        self.listing_problems += problems;
        let fingerprints = day_fingerprints(&objects);
        let unsealed: Vec<bool> = (objects.iter())
            .map(|o| {
                region_folder_and_day(&o.key).is_none_or(|(folder, day)| {
                    let now = fingerprints.get(&(folder.to_string(), day));
                    !self.seals.matches(folder, day, now)
                })
            })
            .collect();
        // A sealed day without any object now is compared too.
        let seal_broken =
            (self.seals.by_group.get(&group).into_iter().flatten()).any(|(folder, day)| {
                let now = fingerprints.get(&(folder.to_string(), *day));
                !self.seals.matches(folder, *day, now)
            });
        self.fingerprints.extend(fingerprints);
        if !seal_broken && !unsealed.contains(&true) {
            return Ok(Vec::new());
        }
        let catalog = self
            .index
            .load(self.current, |s| s.is_of(&group), self.in_flight, false)?;
        let found = objects.iter().filter(|o| catalog.contains(&o.key)).count();
        if self.selection.shard.is_some() {
            let keys: HashSet<&str> = objects.iter().map(|o| o.key.as_str()).collect();
            let unlisted = (catalog.rows())
                .filter(|row| !keys.contains(row.key()))
                .filter_map(|row| region_folder_and_day(row.key()));
            (self.unlisted_indexed_days)
                .extend(unlisted.map(|(folder, day)| (folder.to_string(), day)));
        }
        if self.above_listed_whole && problems == 0 {
            for kind in [ObjectKind::Log, ObjectKind::Insight] {
                let plan = self.plans.iter().find(|p| p.kind == kind).map(|p| &p.plan);
                self.deleted.extend(deleted_since_indexed(
                    &catalog,
                    &objects,
                    found,
                    &of_kind(self.selection, kind),
                    plan,
                    self.store.base(),
                    None,
                ));
            }
        }
        let unsealed_objects = objects.into_iter().zip(unsealed).filter(|(_, u)| *u);
        let to_index = to_index(&catalog, unsealed_objects.map(|(o, _)| o));
        for key in &to_index.changed {
            let name = self.store.display_key(key);
            self.reporter.problem(&changed_since_indexed(&name));
        }
        self.changed.extend(to_index.changed);
        Ok(to_index.objects)
    }
}

/// Objects to index, indexed a batch of whole groups at a time.
struct Batches<'a> {
    store: &'a dyn ObjectStore,
    index: &'a IndexStore<'a>,
    options: &'a SourceOptions,
    reporter: &'a dyn Reporter,
    pool: rayon::ThreadPool,
    /// Whole groups' objects not indexed yet.
    waiting: Vec<ObjectRef>,
    indexed: Indexed,
}

impl Batches<'_> {
    /// Adds a group's objects to index; indexes the batch once it holds enough.
    fn add(&mut self, group: Vec<ObjectRef>) -> Result<(), Error> {
        let bytes = group.iter().map(|o| o.size).sum();
        self.reporter.more_to_scan(group.len() as u64, bytes);
        self.waiting.extend(group);
        match self.waiting.len() >= FILES_PER_BATCH {
            true => self.flush(),
            false => Ok(()),
        }
    }

    /// Indexes the objects waiting, on the worker pool, and writes their groups' segments.
    fn flush(&mut self) -> Result<(), Error> {
        if self.waiting.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.waiting);
        let on_object = |o: &ObjectRef, events: u64| self.reporter.object_done(o.size, events, 0);
        let build = trailscan_index::BuildOptions {
            progress: Some(&on_object),
            ..build_options(self.store, self.options)
        };
        let (rows, failed) = self.pool.install(|| index_objects(&batch, &build));
        let indexed = &mut self.indexed;
        indexed.indexed += rows.len();
        indexed.events += rows.iter().map(|r| r.entry.events).sum::<u64>();
        indexed.with_problems += rows.iter().filter(|r| r.entry.problem.is_some()).count();
        indexed.failed.extend(failed);
        indexed.segments.extend(write_rows(self.index, rows)?);
        Ok(())
    }
}

/// How to index objects of `store`: with the scan's caps, so that an object a scan would
/// report is catalogued as one a lookup must read.
pub(crate) fn build_options<'a>(
    store: &'a dyn ObjectStore,
    options: &SourceOptions,
) -> BuildOptions<'a> {
    BuildOptions {
        source: store,
        requests_in_flight: store.requests_in_flight(),
        max_inflated_bytes: options.max_inflated_bytes,
        max_record_bytes: options.max_record_bytes,
        progress: None,
    }
}

/// The problem of a file changed since it was indexed (size, ETag or modification time),
/// which an update or shard indexes again; `name` as a person names the file.
pub fn changed_since_indexed(name: &str) -> String {
    format!("{name}: changed since indexed (size, ETag or modification time); indexed again")
}

/// The group (account x region x delivery month) of `day` in a region folder
/// (`…/ACCOUNT/KIND/REGION`).
pub(crate) fn group_of_folder(folder: &str, day: i64) -> Option<Group> {
    let mut names = folder.rsplit('/');
    let (region, _kind, account) = (names.next()?, names.next()?, names.next()?);
    Some(Group::new(account, region, day * 86_400))
}
