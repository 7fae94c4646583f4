//! A copy of CloudTrail's bucket on local disk.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::key::{parse_key, KeyClass};
use crate::layout_walk::{enter_dir, enter_path, Level};
use crate::object::{DayFolder, Listing, Location, ObjectRef, SkipReason};
use crate::select::Selection;
use crate::shard::{assign, Unit};

/// Why a source folder cannot be listed at all.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// The path does not exist or cannot be read.
    #[error("cannot read source folder {path}: {source}")]
    Unreadable {
        /// The source as given.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// The path is a file.
    #[error("source {path} is not a folder (give the folder that holds AWSLogs/)")]
    NotAFolder {
        /// The source as given.
        path: PathBuf,
    },
    /// The bucket cannot be listed (credentials, permissions, no such bucket, no network).
    #[error("cannot list {url}: {reason}")]
    S3 {
        /// `s3://bucket/prefix`.
        url: String,
        /// What S3 said (credentials redacted).
        reason: String,
    },
}

/// A folder holding one or more `AWSLogs/` trees: a copy of a bucket (`aws s3 sync`), a
/// key-prefix folder, or a folder inside `AWSLogs/` itself.
#[derive(Debug, Clone)]
pub struct LocalArchive {
    /// The folder as given, canonicalized.
    root: PathBuf,
    /// The folder keys are relative to: the parent of the `AWSLogs` folder when `root` is
    /// inside one, else `root`.
    key_root: PathBuf,
}

impl LocalArchive {
    /// Opens a source folder.
    pub fn open(path: &Path) -> Result<LocalArchive, ListError> {
        let root = fs::canonicalize(path).map_err(|source| ListError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?;
        let meta = fs::metadata(&root).map_err(|source| ListError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?;
        if !meta.is_dir() {
            return Err(ListError::NotAFolder {
                path: path.to_path_buf(),
            });
        }
        // Inside an AWSLogs tree, keys start at the folder holding AWSLogs, so that a user can
        // point at `bucket/AWSLogs/123456789012/CloudTrail/us-east-1` and still get full keys.
        let key_root = root
            .ancestors()
            .find(|a| a.file_name().is_some_and(|n| n == "AWSLogs"))
            .and_then(Path::parent)
            .unwrap_or(&root)
            .to_path_buf();
        Ok(LocalArchive { root, key_root })
    }

    /// The source folder, canonicalized.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Lists the objects `selection` needs, pruning folders by account, region and date
    /// without reading them. Unreadable sub-folders are reported in the listing's problems.
    pub fn list(&self, selection: &Selection) -> Result<Listing, ListError> {
        let mut listing = Listing::default();
        // Walk down from the key root to the source folder as if listing it.
        let rel = self
            .root
            .strip_prefix(&self.key_root)
            .unwrap_or(Path::new(""));
        let names: Vec<String> = rel
            .iter()
            .map(|n| n.to_string_lossy().into_owned())
            .collect();
        let Some(level) = enter_path(names.iter().map(String::as_str), selection, &mut listing)
        else {
            return Ok(listing);
        };
        fs::read_dir(&self.root).map_err(|source| ListError::Unreadable {
            path: self.root.clone(),
            source,
        })?;
        self.walk(&self.root.clone(), level, selection, &mut listing);
        if let Some(shard) = selection.shard {
            let (plan, own) = assign(std::mem::take(&mut listing.day_folders), shard);
            listing.shard_plan = Some(plan);
            for folder in own {
                if let DayFolder::Local(path) = folder {
                    self.walk(&path, Level::Day, selection, &mut listing);
                }
            }
        }
        listing.objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(listing)
    }

    fn walk(&self, dir: &Path, level: Level, selection: &Selection, listing: &mut Listing) {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                listing
                    .problems
                    .push(format!("{}: cannot list folder: {e}", dir.display()));
                return;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    listing
                        .problems
                        .push(format!("{}: cannot list folder: {e}", dir.display()));
                    continue;
                }
            };
            let path = entry.path();
            let file_type = match entry.file_type() {
                Ok(t) => t,
                Err(e) => {
                    listing
                        .problems
                        .push(format!("{}: cannot stat: {e}", path.display()));
                    continue;
                }
            };
            let name = entry.file_name();
            if file_type.is_symlink() {
                listing.skipped.file(SkipReason::Symlink);
            } else if file_type.is_dir() {
                match enter_dir(level, &name.to_string_lossy(), selection) {
                    Ok(Level::Day) if selection.shard.is_some() => {
                        // Sharded: day folders are listed once this shard's are known.
                        let names = relative_key(&self.key_root, &path).unwrap_or_default();
                        match Unit::from_day_folder(names.split('/')) {
                            Some(unit) => listing.day_folders.push((unit, DayFolder::Local(path))),
                            None => listing.skipped.folder(SkipReason::NotCloudTrailLayout),
                        }
                    }
                    Ok(next) => {
                        listing.awslogs_folders += u64::from(matches!(next, Level::AwsLogs));
                        self.walk(&path, next, selection, listing);
                    }
                    Err(reason) => listing.skipped.folder(reason),
                }
            } else {
                self.add_file(&path, &entry, selection, listing);
            }
        }
    }

    fn add_file(&self, path: &Path, entry: &fs::DirEntry, sel: &Selection, listing: &mut Listing) {
        let Some(key) = relative_key(&self.key_root, path) else {
            listing.skipped.file(SkipReason::UnexpectedFileName);
            return;
        };
        let layout = match parse_key(&key) {
            KeyClass::CloudTrail(layout) => layout,
            KeyClass::NotCloudTrail(reason) => {
                listing.skipped.file(reason);
                return;
            }
        };
        if let Err(reason) = sel.check(&layout) {
            listing.skipped.file(reason);
            return;
        }
        let size = match entry.metadata() {
            Ok(m) => m.len(),
            Err(e) => {
                listing
                    .problems
                    .push(format!("{}: cannot stat: {e}", path.display()));
                return;
            }
        };
        listing.objects.push(ObjectRef {
            key,
            layout,
            location: Location::Local(path.to_path_buf()),
            size,
        });
    }
}

/// `a/b/c` from `key_root/a/b/c`, or `None` for a name that is not UTF-8 (no S3 key could
/// have produced it).
fn relative_key(key_root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(key_root).ok()?;
    let parts: Option<Vec<&str>> = rel.iter().map(|c| c.to_str()).collect();
    Some(parts?.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::epoch_seconds;

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

    #[test]
    fn finds_every_trail_under_the_source() {
        let dir = archive();
        let l = LocalArchive::open(dir.path())
            .unwrap()
            .list(&Selection::default())
            .unwrap();
        assert_eq!(keys(&l), vec![A, B]);
        assert_eq!(l.awslogs_folders, 2);
        assert_eq!(l.skipped.files_for(SkipReason::OutsideAwsLogs), 1);
        assert_eq!(l.skipped.folders_total(), 2, "{}", l.skipped); // digest + Config
    }

    #[test]
    fn prunes_by_account_region_and_day() {
        let dir = archive();
        let arch = LocalArchive::open(dir.path()).unwrap();
        let sel = Selection {
            accounts: vec!["222222222222".into()],
            ..Selection::default()
        };
        assert_eq!(keys(&arch.list(&sel).unwrap()), vec![B]);
        let sel = Selection {
            regions: vec!["us-east-1".into()],
            ..Selection::default()
        };
        assert_eq!(keys(&arch.list(&sel).unwrap()), vec![A]);
        let sel = Selection {
            start: epoch_seconds(2024, 1, 16, 0, 0, 0),
            ..Selection::default()
        };
        let l = arch.list(&sel).unwrap();
        assert_eq!(keys(&l), vec![B]);
        assert!(l.skipped.folders_total() >= 1);
    }

    #[test]
    fn source_inside_awslogs_keeps_full_keys() {
        let dir = archive();
        let inner = dir.path().join("pfx/AWSLogs/o-abcdefghij/222222222222");
        let l = LocalArchive::open(&inner)
            .unwrap()
            .list(&Selection::default())
            .unwrap();
        // Keys start at the folder that holds AWSLogs: the trail's prefix is not visible from
        // inside.
        assert_eq!(keys(&l), vec![B.strip_prefix("pfx/").unwrap()]);
    }

    #[test]
    fn missing_source_is_an_error() {
        let err = LocalArchive::open(Path::new("/nonexistent/trailscan")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/trailscan"));
    }
}
