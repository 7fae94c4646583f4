//! Listing a CloudTrail archive in any store: the layout walked one level at a time from
//! where the store points, folders pruned by account, region and date without listing them,
//! the levels below a folder listed in parallel. A window never lists the whole bucket.

use rayon::prelude::*;
use trailscan_layout::key::{parse_key, KeyClass};
use trailscan_layout::walk::{enter_dir, Level};
use trailscan_layout::{assign, Selection, SkipReason, Unit};

use crate::object::{Listing, ObjectRef};
use crate::store::{DirListing, ObjectStore, StoreError};

/// Lists the objects `selection` needs under the store's base. Folders that cannot be listed
/// are in the listing's problems (the listing goes on); only the first level failing (no
/// such folder, no access to the bucket) is an error.
pub fn list(store: &dyn ObjectStore, selection: &Selection) -> Result<Listing, StoreError> {
    // Across a network, a listing is round trips: as many folders listed at once as requests
    // may be in flight. On disk, rayon's threads (one per core) list.
    match store.requests_in_flight() {
        0 => walk(store, selection),
        requests => match rayon::ThreadPoolBuilder::new()
            .num_threads(requests)
            .build()
        {
            Ok(pool) => pool.install(|| walk(store, selection)),
            // No threads to be had: the listing takes longer, and is the same.
            Err(_) => walk(store, selection),
        },
    }
}

fn walk(store: &dyn ObjectStore, selection: &Selection) -> Result<Listing, StoreError> {
    let mut listing = Listing::default();
    let base = store.base();
    // Enter the base's own folders as the walk would (a source inside AWSLogs/).
    let Some(level) = enter_path(
        base.split('/').filter(|n| !n.is_empty()),
        selection,
        &mut listing,
    ) else {
        return Ok(listing);
    };
    let start = if base.is_empty() {
        String::new()
    } else {
        format!("{base}/")
    };
    let first = store.list_dir(&start)?;
    merge_level(store, &mut listing, first, level, selection);
    if let Some(shard) = selection.shard {
        let (plan, own) = assign(std::mem::take(&mut listing.day_folders), shard);
        listing.shard_plan = Some(plan);
        let own: Vec<(String, Level)> = own.into_iter().map(|f| (f, Level::Day)).collect();
        for child in list_folders_below(store, &own, selection) {
            listing.absorb(child);
        }
    }
    listing.objects.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(listing)
}

/// Enters the folders that lead to where a listing starts, as the walk would, counting what
/// it passes; `None` when one of them is pruned (the listing is then complete as it is).
fn enter_path<'n>(
    names: impl IntoIterator<Item = &'n str>,
    sel: &Selection,
    listing: &mut Listing,
) -> Option<Level> {
    let mut level = Level::Outside;
    for name in names {
        match enter_dir(level, name, sel) {
            Ok(next) => {
                listing.awslogs_folders += u64::from(matches!(next, Level::AwsLogs));
                level = next;
            }
            Err(reason) => {
                listing.skipped.folder(reason);
                return None;
            }
        }
    }
    Some(level)
}

fn merge_level(
    store: &dyn ObjectStore,
    listing: &mut Listing,
    found: DirListing,
    level: Level,
    sel: &Selection,
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
    for info in found.objects {
        match parse_key(&info.key) {
            KeyClass::CloudTrail(layout) => match sel.check(&layout) {
                Ok(()) => listing.objects.push(ObjectRef {
                    key: info.key,
                    layout,
                    size: info.size,
                    etag: info.etag,
                    modified: info.modified,
                }),
                Err(reason) => listing.skipped.file(reason),
            },
            KeyClass::NotCloudTrail(reason) => listing.skipped.file(reason),
        }
    }
    let mut below = Vec::new();
    for folder in found.folders {
        let name = folder
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default();
        match enter_dir(level, name, sel) {
            Ok(Level::Day) if sel.shard.is_some() => {
                // Sharded: day folders are listed once this shard's are known.
                match Unit::from_day_folder(folder.trim_end_matches('/').split('/')) {
                    Some(unit) => listing.day_folders.push((unit, folder)),
                    None => listing.skipped.folder(SkipReason::NotCloudTrailLayout),
                }
            }
            Ok(next) => {
                listing.awslogs_folders += u64::from(matches!(next, Level::AwsLogs));
                below.push((folder, next));
            }
            Err(reason) => listing.skipped.folder(reason),
        }
    }
    for child in list_folders_below(store, &below, sel) {
        listing.absorb(child);
    }
}

/// Lists folders (in parallel) and walks each down from its level.
fn list_folders_below(
    store: &dyn ObjectStore,
    below: &[(String, Level)],
    sel: &Selection,
) -> Vec<Listing> {
    below
        .par_iter()
        .map(|(folder, next)| {
            let mut child = Listing::default();
            match store.list_dir(folder) {
                Ok(found) => merge_level(store, &mut child, found, *next, sel),
                Err(e) => child.problems.push(e),
            }
            child
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::folder::LocalFolder;
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
        let memory = crate::MemoryStore::new();
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

    #[test]
    fn missing_source_is_an_error() {
        let err = LocalFolder::open_archive(Path::new("/nonexistent/trailscan")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/trailscan"), "{err}");
    }
}
