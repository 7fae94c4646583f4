//! Listing a CloudTrail archive in any store: the layout walked one level at a time from
//! where the store points, folders pruned by account, region and date without listing them,
//! the levels below a folder listed in parallel. A window never lists the whole bucket.

use std::sync::atomic::Ordering;

use rayon::prelude::*;
use trailscan_layout::sealed::{month_days, year_days, SealedDays};
use trailscan_layout::time::days_from_civil;
use trailscan_layout::walk::{enter_dir, Level};
use trailscan_layout::{assign, Selection, SkipReason, Unit};

use crate::object::{Listing, ObjectRef};
use crate::store::{delimited, DirListing, ObjectInfo, ObjectStore, StoreError};

/// Lists the objects `selection` needs under the store's base. Folders that cannot be listed
/// are in the listing's problems (the listing goes on); only the first level failing (no
/// such folder, no access to the bucket) is an error.
pub fn list(store: &dyn ObjectStore, selection: &Selection) -> Result<Listing, StoreError> {
    list_unsealed(store, selection, None)
}

/// The sealed days of a region folder (`…/AWSLogs/[o-ORG/]ACCOUNT/KIND/REGION`, without a
/// trailing `/`), as an index knows them.
pub type SealedFolders<'a> = &'a (dyn Fn(&str) -> Option<SealedDays> + Sync);

/// [`list`] without the days `sealed` names: their year, month and day folders are neither
/// listed nor entered (an index answers for them). The levels above (accounts, kinds,
/// regions) are listed as always, so that a new account or region is found; nothing is asked
/// ahead beyond a level (see [`Walk::fetch`]), so that the requests do not grow with the
/// sealed days.
pub fn list_unsealed(
    store: &dyn ObjectStore,
    selection: &Selection,
    sealed: Option<SealedFolders<'_>>,
) -> Result<Listing, StoreError> {
    in_listing_threads(store, || walk(store, selection, sealed, None, false))
}

/// Where a streamed listing hands each folder's objects as it lists them (from whichever
/// thread listed the folder, in no set order); `false` once nothing more is wanted (the
/// walk then lists no further folder).
pub type Deliver<'a> = &'a (dyn Fn(Vec<ObjectRef>) -> bool + Sync);

/// [`list`] that keeps no object: each folder's objects go to `deliver` as soon as they are
/// listed, so that the work on them starts at once and memory holds only what is in flight,
/// however large the archive. The listing returned has no objects, and all the rest (what
/// was skipped and why, problems, the folders seen, a shard's plan) as [`list`] has it.
pub fn list_streaming(
    store: &dyn ObjectStore,
    selection: &Selection,
    deliver: Deliver<'_>,
) -> Result<Listing, StoreError> {
    in_listing_threads(store, || walk(store, selection, None, Some(deliver), false))
}

/// The day folders `selection` needs (a shard's own, with `selection.shard`), found by the
/// walk but not listed: what a caller lists a few at a time with [`list_day_folders`], in the
/// order it needs, so that what is held at once is those few folders' objects, not the
/// archive's listing. A day folder holds a day's files, and files are only ever in one.
///
/// The listing returned has no objects, and all the rest of what [`list`] would say of the
/// levels above the days (skipped, problems, the folders seen, a shard's plan).
pub fn find_day_folders(
    store: &dyn ObjectStore,
    selection: &Selection,
) -> Result<(Listing, Vec<String>), StoreError> {
    let mut listing = in_listing_threads(store, || walk(store, selection, None, None, true))?;
    let folders = std::mem::take(&mut listing.day_folders);
    Ok((listing, folders.into_iter().map(|(_, f)| f).collect()))
}

/// Lists `folders`, day folders of `selection` ([`find_day_folders`]), in parallel: their
/// objects sorted by key, and what was skipped or could not be listed. It runs on the
/// threads it is called from: a caller that lists folders a few at a time calls it within
/// [`in_listing_threads`], once around them all, not a pool made for every call.
pub fn list_day_folders(
    store: &dyn ObjectStore,
    selection: &Selection,
    folders: Vec<String>,
) -> Listing {
    let walk = Walk::new(store, selection, None, None, true);
    let mut listing = Listing::default();
    let days = folders.into_iter().map(|f| (f, Level::Day, None, None));
    for child in walk.list_below(days.collect(), Levels::Store) {
        listing.absorb(child);
    }
    listing.gather();
    listing.objects.sort_by(|a, b| a.key.cmp(&b.key));
    listing
}

/// Runs `walk` where a listing's folders are listed: across a network, as many folders at
/// once as requests may be in flight (a listing is round trips); on disk, rayon's threads
/// (one per core).
pub fn in_listing_threads<R: Send>(store: &dyn ObjectStore, walk: impl FnOnce() -> R + Send) -> R {
    match store.requests_in_flight() {
        0 => walk(),
        requests => match rayon::ThreadPoolBuilder::new()
            .num_threads(requests)
            .build()
        {
            Ok(pool) => pool.install(walk),
            // No threads to be had: the listing takes longer, and is the same.
            Err(_) => walk(),
        },
    }
}

fn walk(
    store: &dyn ObjectStore,
    selection: &Selection,
    sealed: Option<SealedFolders<'_>>,
    deliver: Option<Deliver<'_>>,
    days_only: bool,
) -> Result<Listing, StoreError> {
    let mut listing = Listing::default();
    let base = store.base();
    // Enter the base's own folders as the walk would (a source inside AWSLogs/).
    let Some((level, sealed_here)) = enter_path(
        base.split('/').filter(|n| !n.is_empty()),
        selection,
        sealed,
        &mut listing,
    ) else {
        return Ok(listing);
    };
    let start = if base.is_empty() {
        String::new()
    } else {
        format!("{base}/")
    };
    let walk = Walk::new(store, selection, sealed, deliver, days_only);
    let first = walk.fetch(&start, level, Levels::Store, true);
    // Only the first level failing is an error: no such bucket or folder, no access.
    let found = first.level?;
    if days_only && matches!(level, Level::Day) {
        // A source at a day's folder: that folder is the one day folder, listed apart.
        match Unit::from_day_folder(base.split('/').filter(|n| !n.is_empty())) {
            Some(unit) => listing.day_folders.push((unit, start)),
            None => listing.skipped.folder(SkipReason::NotCloudTrailLayout),
        }
    } else {
        walk.merge(
            &mut listing,
            found,
            first.ahead,
            (level, sealed_here),
            Levels::Store,
        );
    }
    if let Some(shard) = selection.shard {
        let found = std::mem::take(&mut listing.day_folders);
        let found = found.into_iter().map(|(u, f)| (u.clone(), (u, f)));
        let (plan, own) = assign(found.collect(), shard);
        listing.shard_plan = Some(plan);
        if days_only {
            listing.day_folders = own;
            return Ok(listing);
        }
        let own = own
            .into_iter()
            .map(|(_, f)| (f, Level::Day, None, None))
            .collect();
        for child in walk.list_below(own, Levels::Store) {
            listing.absorb(child);
        }
    }
    listing.gather();
    // Already in order where every file lies in a day's folder (the walk lists folders in
    // order): then this only checks it.
    listing.objects.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(listing)
}

/// Enters the folders that lead to where a listing starts, as the walk would, counting what
/// it passes; `None` when one of them is pruned (the listing is then complete as it is).
fn enter_path<'n>(
    names: impl IntoIterator<Item = &'n str>,
    sel: &Selection,
    sealed: Option<SealedFolders<'_>>,
    listing: &mut Listing,
) -> Option<(Level, Option<SealedDays>)> {
    let (mut level, mut sealed_here) = (Level::Outside, None);
    let mut path = String::new();
    for name in names {
        listing.saw_folder(level, name);
        path = match path.is_empty() {
            true => name.to_string(),
            false => format!("{path}/{name}"),
        };
        match enter_dir(level, name, sel) {
            Ok(next) => {
                listing.awslogs_folders += u64::from(matches!(next, Level::AwsLogs));
                if matches!(next, Level::Region) {
                    sealed_here = sealed.and_then(|sealed| sealed(&path));
                    if sealed_here.is_some() {
                        listing.sealed_folders.insert(path.clone());
                    }
                }
                if is_sealed(level, next, name, sealed_here) {
                    return None;
                }
                level = next;
            }
            Err(reason) => {
                listing.skipped.folder(reason);
                return None;
            }
        }
    }
    Some((level, sealed_here))
}

/// Whether the folder `name`, entered from `level` into `next`, holds only sealed days.
fn is_sealed(level: Level, next: Level, name: &str, sealed: Option<SealedDays>) -> bool {
    let Some(sealed) = sealed else {
        return false;
    };
    let (first, last) = match (level, next) {
        (_, Level::Year(y)) => year_days(y),
        (_, Level::Month(y, m)) => month_days(y, m),
        (Level::Month(y, m), Level::Day) => match name.parse::<u32>() {
            Ok(d) => {
                let day = days_from_civil(i64::from(y), m, d);
                (day, day)
            }
            Err(_) => return false,
        },
        _ => return false,
    };
    sealed.holds_span(first, last)
}

/// Where a walk takes a folder's level from.
#[derive(Clone, Copy)]
enum Levels<'k> {
    /// The store: a request each (a round trip from S3).
    Store,
    /// Every key below a folder above, brought by one request: no request at all.
    Keys(&'k [ObjectInfo]),
}

/// One folder's answers, asked for in the same round trip: its level, and what was asked
/// beside it.
struct Fetched {
    level: Result<DirListing, StoreError>,
    ahead: Ahead,
}

/// What a walk asked for beside a folder's level (see [`Walk::fetch`]).
#[derive(Default)]
struct Ahead {
    /// Every key below the folder, when one request brought them all.
    all_below: Option<Vec<ObjectInfo>>,
    /// The sub-folder the walk was sure to enter next, fetched.
    foreseen: Option<(String, Box<Fetched>)>,
}

/// A walk of the layout over one store, for one selection.
struct Walk<'a> {
    store: &'a dyn ObjectStore,
    sel: &'a Selection,
    /// Whether each level costs a round trip, and so is worth asking for ahead of time.
    remote: bool,
    /// Days not to list, by region folder.
    sealed: Option<SealedFolders<'a>>,
    /// Where each folder's objects go instead of the listing, when it streams.
    deliver: Option<Deliver<'a>>,
    /// False once `deliver` wants nothing more: no further folder is listed.
    wanted: std::sync::atomic::AtomicBool,
    /// Whether every day folder is kept in the listing, not listed ([`find_day_folders`]);
    /// a shard's are too, to be dealt out once they are all known.
    days_only: bool,
}

impl<'a> Walk<'a> {
    fn new(
        store: &'a dyn ObjectStore,
        sel: &'a Selection,
        sealed: Option<SealedFolders<'a>>,
        deliver: Option<Deliver<'a>>,
        days_only: bool,
    ) -> Walk<'a> {
        Walk {
            store,
            sel,
            remote: store.is_remote(),
            sealed,
            deliver,
            wanted: std::sync::atomic::AtomicBool::new(true),
            days_only,
        }
    }

    /// Whether the walk keeps day folders in the listing rather than listing them.
    fn stops_at_days(&self) -> bool {
        self.days_only || self.sel.shard.is_some()
    }

    /// Lists `folder`, at `level` of the layout. Across a network, a walk that went level by
    /// level would wait a round trip per level (eight from a bucket's top to a day's files), so
    /// in the same round trip it also asks for:
    /// - every key below a kind's or a region's folder, in one request: when they fit in one
    ///   answer (a small archive, a quiet region), the levels below come from it;
    /// - the folder it is sure to enter next: `AWSLogs/` below where it starts, the kind's
    ///   folder (`CloudTrail/`, ...) below an account.
    ///
    /// What the walk finds is the same either way: the levels taken from the keys are what the
    /// store would have answered ([`delimited`]).
    fn fetch(&self, folder: &str, level: Level, levels: Levels<'_>, start: bool) -> Fetched {
        if let Levels::Keys(keys) = levels {
            return Fetched {
                level: Ok(delimited(folder, keys)),
                ahead: Ahead::default(),
            };
        }
        // Not with sealed days: every key below a region would be its sealed days' too; nor
        // where the walk stops at the days, which are listed apart.
        let ask_all_below = self.remote
            && self.sealed.is_none()
            && !self.days_only
            && matches!(level, Level::Kind | Level::Region);
        let foreseen = match level {
            _ if !self.remote => None,
            Level::Outside if start => Some(AWSLOGS),
            Level::Account => Some(self.sel.kind.folder()),
            _ => None,
        };
        let ((found, all_below), foreseen) = rayon::join(
            || {
                rayon::join(
                    || self.store.list_dir(folder),
                    // Not an answer the walk needs: a failure here is the level's to report.
                    || {
                        ask_all_below
                            .then(|| self.store.list_all_below(folder).ok().flatten())
                            .flatten()
                    },
                )
            },
            || {
                let name = foreseen?;
                let next = enter_dir(level, name, self.sel).ok()?;
                let child = format!("{folder}{name}/");
                let fetched = self.fetch(&child, next, Levels::Store, false);
                Some((child, Box::new(fetched)))
            },
        );
        Fetched {
            level: found,
            ahead: Ahead {
                all_below,
                foreseen,
            },
        }
    }

    /// Adds what `found`, a folder's level at `level`, holds to `listing`, and walks down the
    /// sub-folders the selection wants.
    fn merge(
        &self,
        listing: &mut Listing,
        found: DirListing,
        ahead: Ahead,
        (level, sealed_here): (Level, Option<SealedDays>),
        levels: Levels<'_>,
    ) {
        for _ in 0..found.links {
            listing.skipped.file(SkipReason::Symlink);
        }
        for _ in 0..found.special {
            listing.skipped.file(SkipReason::SpecialFile);
        }
        for _ in 0..found.unnamed {
            listing.skipped.file(SkipReason::UnexpectedFileName);
        }
        listing.problems.extend(found.problems);
        let mut objects = Vec::new();
        for info in found.objects {
            match ObjectRef::listed(info) {
                Ok(object) => match self.sel.check(&object.layout) {
                    Ok(()) => objects.push(object),
                    Err(reason) => listing.skipped.file(reason),
                },
                Err(reason) => listing.skipped.file(reason),
            }
        }
        listing.objects_listed += objects.len() as u64;
        match self.deliver {
            Some(deliver) if !objects.is_empty() => {
                if !deliver(objects) {
                    self.wanted.store(false, Ordering::Relaxed);
                }
            }
            _ => listing.objects.extend(objects),
        }
        let mut foreseen = ahead.foreseen;
        let mut below = Vec::new();
        for folder in found.folders {
            let name = folder
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or_default();
            listing.saw_folder(level, name);
            match enter_dir(level, name, self.sel) {
                Ok(Level::Day) if self.stops_at_days() => {
                    // Sharded: day folders are listed once this shard's are known.
                    match Unit::from_day_folder(folder.trim_end_matches('/').split('/')) {
                        Some(unit) => listing.day_folders.push((unit, folder)),
                        None => listing.skipped.folder(SkipReason::NotCloudTrailLayout),
                    }
                }
                Ok(next) => {
                    listing.awslogs_folders += u64::from(matches!(next, Level::AwsLogs));
                    let sealed = match next {
                        Level::Region => {
                            let region = folder.trim_end_matches('/');
                            let sealed = self.sealed.and_then(|sealed| sealed(region));
                            if sealed.is_some() {
                                listing.sealed_folders.insert(region.to_string());
                            }
                            sealed
                        }
                        _ => sealed_here,
                    };
                    if is_sealed(level, next, name, sealed) {
                        continue;
                    }
                    let fetched = match foreseen.take() {
                        Some((name, fetched)) if name == folder => Some(*fetched),
                        other => {
                            foreseen = other;
                            None
                        }
                    };
                    below.push((folder, next, fetched, sealed));
                }
                Err(reason) => listing.skipped.folder(reason),
            }
        }
        let levels = match &ahead.all_below {
            Some(keys) => Levels::Keys(keys),
            None => levels,
        };
        for child in self.list_below(below, levels) {
            listing.absorb(child);
        }
    }

    /// Lists folders (in parallel) and walks each down from its level; a folder fetched
    /// already comes with its answers.
    fn list_below(
        &self,
        below: Vec<(String, Level, Option<Fetched>, Option<SealedDays>)>,
        levels: Levels<'_>,
    ) -> Vec<Listing> {
        below
            .into_par_iter()
            .map(|(folder, next, fetched, sealed)| {
                let mut child = Listing::default();
                if !self.wanted.load(Ordering::Relaxed) {
                    return child;
                }
                let fetched = fetched.unwrap_or_else(|| self.fetch(&folder, next, levels, false));
                match fetched.level {
                    Ok(found) => {
                        self.merge(&mut child, found, fetched.ahead, (next, sealed), levels)
                    }
                    Err(e) => child.problems.push(e),
                }
                child
            })
            .collect()
    }
}

/// The folder every archive's layout starts with.
const AWSLOGS: &str = "AWSLogs";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::folder::LocalFolder;
    use crate::MemoryStore;
    use std::fs;
    use std::path::Path;
    use trailscan_layout::time::epoch_seconds;

    fn touch(root: &Path, key: &str) {
        let p = root.join(key);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, b"x").unwrap();
    }

    const A: &str = "AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/15/111111111111_CloudTrail_us-east-1_20240115T0105Z_aaaa.json.gz";
    const B: &str = "pfx/AWSLogs/o-abcdefghij/222222222222/CloudTrail/eu-west-1/2024/01/16/222222222222_CloudTrail_eu-west-1_20240116T2355Z_bbbb.json.gz";
    const D: &str = "AWSLogs/111111111111/CloudTrail-Digest/us-east-1/2024/01/15/111111111111_CloudTrail-Digest_us-east-1_t_us-east-1_20240115T010000Z.json.gz";

    fn archive() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for k in [A, B, D, "notes.txt", "AWSLogs/111111111111/Config/x.json"] {
            touch(dir.path(), k);
        }
        dir
    }

    fn keys(l: &Listing) -> Vec<&str> {
        l.objects.iter().map(|o| o.key.as_str()).collect()
    }

    fn list_folder(path: &Path, sel: &Selection) -> Listing {
        list(&LocalFolder::open_archive(path).unwrap(), sel).unwrap()
    }

    #[test]
    fn finds_every_trail_under_the_source() {
        let dir = archive();
        let l = list_folder(dir.path(), &Selection::default());
        assert_eq!(keys(&l), vec![A, B]);
        assert_eq!(l.awslogs_folders, 2);
        assert_eq!(l.skipped.files_for(SkipReason::OutsideAwsLogs), 1);
        assert_eq!(l.skipped.folders_total(), 2, "{}", l.skipped); // digest + Config
    }

    #[test]
    fn prunes_by_account_region_and_day() {
        let dir = archive();
        let sel = Selection {
            accounts: vec!["222222222222".into()],
            ..Selection::default()
        };
        assert_eq!(keys(&list_folder(dir.path(), &sel)), vec![B]);
        let sel = Selection {
            regions: vec!["us-east-1".into()],
            ..Selection::default()
        };
        assert_eq!(keys(&list_folder(dir.path(), &sel)), vec![A]);
        let sel = Selection {
            start: epoch_seconds(2024, 1, 16, 0, 0, 0),
            ..Selection::default()
        };
        let l = list_folder(dir.path(), &sel);
        assert_eq!(keys(&l), vec![B]);
        assert!(l.skipped.folders_total() >= 1);
    }

    #[test]
    fn source_inside_awslogs_keeps_full_keys() {
        let dir = archive();
        let inner = dir.path().join("pfx/AWSLogs/o-abcdefghij/222222222222");
        // Keys start at the folder that holds AWSLogs: the trail's prefix is not visible from
        // inside.
        let l = list_folder(&inner, &Selection::default());
        assert_eq!(keys(&l), vec![B.strip_prefix("pfx/").unwrap()]);
    }

    #[test]
    fn the_same_listing_from_memory() {
        let dir = archive();
        let memory = MemoryStore::new();
        for k in [A, B, D, "notes.txt", "AWSLogs/111111111111/Config/x.json"] {
            memory
                .write(k, b"x", None, crate::WriteMode::Replace)
                .unwrap();
        }
        let from_disk = list_folder(dir.path(), &Selection::default());
        let from_memory = list(&memory, &Selection::default()).unwrap();
        assert_eq!(keys(&from_disk), keys(&from_memory));
        assert_eq!(from_disk.skipped, from_memory.skipped);
    }

    /// Keys of three regions (one busy, two quiet) over a few days, and what is not a trail's.
    fn bucket_keys() -> Vec<String> {
        let mut keys = vec![
            A.to_string(),
            B.to_string(),
            D.to_string(),
            "notes.txt".to_string(),
            "AWSLogs/111111111111/Config/x.json".to_string(),
            "AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/15/stray.txt".to_string(),
            "AWSLogs/111111111111/CloudTrail/us-east-1/2024/xx/15/x.json.gz".to_string(),
        ];
        for (region, files) in [("us-east-1", 12), ("eu-west-1", 2), ("ap-south-1", 1)] {
            for day in 10..14 {
                for n in 0..files {
                    keys.push(format!("AWSLogs/111111111111/CloudTrail/{region}/2023/12/{day}/111111111111_CloudTrail_{region}_202312{day}T{:02}00Z_{n:04}.json.gz", n % 24));
                }
            }
        }
        keys
    }

    /// [`bucket_keys`] in a store that answers 12 keys a request.
    fn bucket_store() -> MemoryStore {
        let store = MemoryStore::paged(12);
        for k in bucket_keys() {
            store
                .write(&k, b"x", None, crate::WriteMode::Replace)
                .unwrap();
        }
        store
    }

    /// The whole selection, and a shard of it (the second of three).
    fn whole_and_sharded() -> [Selection; 2] {
        let shard = trailscan_layout::Shard { index: 1, count: 3 };
        [
            Selection::default(),
            Selection {
                shard: Some(shard),
                ..Selection::default()
            },
        ]
    }

    fn summary(l: &Listing) -> (Vec<&str>, String, u64, usize) {
        (
            keys(l),
            l.skipped.to_string(),
            l.awslogs_folders,
            l.problems.len(),
        )
    }

    #[test]
    fn levels_taken_from_one_request_are_the_levels_listed() {
        let stores = [
            MemoryStore::new(),
            MemoryStore::paged(1000),
            MemoryStore::paged(12),
            MemoryStore::paged(1),
        ];
        for store in &stores {
            for k in bucket_keys() {
                store
                    .write(&k, b"x", None, crate::WriteMode::Replace)
                    .unwrap();
            }
        }
        let selections = [
            Selection::default(),
            Selection {
                start: epoch_seconds(2023, 12, 12, 0, 0, 0),
                end: epoch_seconds(2024, 1, 15, 23, 0, 0),
                ..Selection::default()
            },
            Selection {
                regions: vec!["eu-west-1".into(), "us-east-1".into()],
                ..Selection::default()
            },
        ];
        let lists = |store: &MemoryStore| store.requests_made().unwrap().list;
        for sel in &selections {
            let level_by_level = list(&stores[0], sel).unwrap();
            assert!(level_by_level.objects.len() > 10);
            for (n, store) in stores.iter().enumerate().skip(1) {
                let before = lists(store);
                let listing = list(store, sel).unwrap();
                assert_eq!(summary(&listing), summary(&level_by_level), "store {n}");
                // A kind's folder whole from one request: the top, AWSLogs, the accounts and
                // their kind's folders (twice: its level, and all below it), the prefix and the
                // organization of the other trail; no region, year, month or day listed.
                if n == 1 {
                    assert_eq!(lists(store) - before, 11);
                }
            }
        }
        // Where no folder fits in a request, every level is listed as before, and more.
        assert!(lists(&stores[3]) > lists(&stores[2]));
        assert!(lists(&stores[2]) > lists(&stores[1]));
    }

    #[test]
    fn a_streamed_listing_hands_over_what_a_listing_keeps() {
        let store = bucket_store();
        for sel in whole_and_sharded() {
            let kept = list(&store, &sel).unwrap();
            let parts = std::sync::Mutex::new(Vec::new());
            let streamed = list_streaming(&store, &sel, &|part| {
                parts.lock().unwrap().push(part);
                true
            })
            .unwrap();
            let mut handed: Vec<ObjectRef> = parts.into_inner().unwrap().concat();
            handed.sort_by(|a, b| a.key.cmp(&b.key));
            let handed: Vec<&str> = handed.iter().map(|o| o.key.as_str()).collect();
            assert!(streamed.objects.is_empty());
            assert_eq!(handed, keys(&kept));
            assert_eq!(streamed.objects_listed, kept.objects.len() as u64);
            assert_eq!(kept.objects_listed, kept.objects.len() as u64);
            assert_eq!(summary(&streamed).1, summary(&kept).1);
            assert_eq!(streamed.awslogs_folders, kept.awslogs_folders);
            assert_eq!(streamed.regions_seen, kept.regions_seen);
            assert_eq!(
                streamed.shard_plan.map(|p| p.own),
                kept.shard_plan.map(|p| p.own)
            );
        }
    }

    #[test]
    fn a_source_at_a_day_folder_is_its_one_day_folder() {
        let dir = archive();
        let day = dir
            .path()
            .join("AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/15");
        let store = LocalFolder::open_archive(&day).unwrap();
        let kept = list(&store, &Selection::default()).unwrap();
        assert_eq!(keys(&kept), vec![A]);
        let (mut found, folders) = find_day_folders(&store, &Selection::default()).unwrap();
        assert!(found.objects.is_empty());
        assert_eq!(folders.len(), 1, "{folders:?}");
        found.add_part(list_day_folders(&store, &Selection::default(), folders));
        assert_eq!(keys(&found), vec![A]);
    }

    #[test]
    fn day_folders_found_then_listed_a_few_at_a_time_are_the_listing() {
        let store = bucket_store();
        let window = Selection {
            start: epoch_seconds(2023, 12, 12, 0, 0, 0),
            ..Selection::default()
        };
        for sel in whole_and_sharded().into_iter().chain([window]) {
            let kept = list(&store, &sel).unwrap();
            let (mut found, folders) = find_day_folders(&store, &sel).unwrap();
            assert!(found.objects.is_empty());
            assert!(folders.len() > 1, "{folders:?}");
            // Listed two folders at a time, in reverse: the objects are the same, and so is
            // everything else the listing says.
            let mut pairs: Vec<Vec<String>> = folders.chunks(2).map(<[String]>::to_vec).collect();
            pairs.reverse();
            for pair in pairs {
                found.add_part(list_day_folders(&store, &sel, pair));
            }
            found.objects.sort_by(|a, b| a.key.cmp(&b.key));
            assert_eq!(summary(&found), summary(&kept));
            assert_eq!(found.objects_listed, kept.objects_listed);
            assert_eq!(found.regions_seen, kept.regions_seen);
            assert_eq!(
                found.shard_plan.map(|p| p.own),
                kept.shard_plan.map(|p| p.own)
            );
        }
    }

    #[test]
    fn a_streamed_listing_stops_when_nothing_more_is_wanted() {
        let store = MemoryStore::new();
        for k in bucket_keys() {
            store
                .write(&k, b"x", None, crate::WriteMode::Replace)
                .unwrap();
        }
        let all = list(&store, &Selection::default()).unwrap().objects.len() as u64;
        let streamed = list_streaming(&store, &Selection::default(), &|_| false).unwrap();
        assert!(
            streamed.objects_listed < all,
            "{} of {all}",
            streamed.objects_listed
        );
    }

    #[test]
    fn missing_source_is_an_error() {
        let err = LocalFolder::open_archive(Path::new("/nonexistent/trailscan")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/trailscan"), "{err}");
    }
}
