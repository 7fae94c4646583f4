//! A folder on disk as an object store: a copy of a bucket (`aws s3 sync`, `trailscan
//! acquire`), or a destination for what trailscan writes.
//!
//! Keys become paths in one function, [`LocalFolder::path_of`], which refuses every key that
//! could name a file outside the folder, and every path that passes through a symbolic link
//! inside it (a link can point anywhere). Symbolic links are never listed; reads open only
//! regular files, without following a link at the last step and without blocking on a FIFO.

use std::cell::RefCell;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::sidecar::{parse_sidecar, sidecar_text, SIDECAR_SUFFIX};
use crate::store::{
    DirListing, ObjectInfo, ObjectMetadata, ObjectStore, Operation, Problem, StoreError, WriteMode,
};

/// From this size on, [`LocalFolder`]'s `read_shared` maps a file instead of reading it: below
/// it, a map costs more system calls than the copy it saves.
const MAP_FROM_BYTES: u64 = 64 * 1024;

/// Whether `segment` (a part of a key between `/`) can name a file or folder under a folder
/// and nothing else: not empty, not `.` or `..`, no backslash (a separator on Windows), no
/// control character.
fn is_safe_segment(segment: &str) -> bool {
    !segment.is_empty()
        && segment != "."
        && segment != ".."
        && !segment.chars().any(|c| c == '\\' || c.is_control())
}

/// Renames `from` to `to` unless `to` exists, in one step (Linux's `renameat2` with
/// `RENAME_NOREPLACE`): a kill at any moment leaves either the staged file or the object, never
/// both. Elsewhere, and on filesystems without it, an error other than `AlreadyExists`.
fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        let c_path = |p: &Path| CString::new(p.as_os_str().as_bytes()).map_err(io::Error::other);
        let (from, to) = (c_path(from)?, c_path(to)?);
        // SAFETY: two valid NUL-terminated paths, relative to the working folder.
        let rc = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                from.as_ptr(),
                libc::AT_FDCWD,
                to.as_ptr(),
                libc::RENAME_NOREPLACE,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (from, to);
        Err(io::ErrorKind::Unsupported.into())
    }
}

/// A folder standing for a bucket's top.
#[derive(Debug, Clone)]
pub struct LocalFolder {
    /// As the user gave it.
    name: String,
    /// The folder that key `""` names, canonicalized.
    key_root: PathBuf,
    /// The same folder as the user named it (relative stays relative), for messages: a
    /// problem names `fixtures/x/AWSLogs/...` as given, not the machine's absolute path.
    display_root: PathBuf,
    /// The folder given, relative to `key_root`, `/`-separated.
    base: String,
    /// The bucket written sidecars name as the objects' origin.
    copy_of: Option<String>,
}

fn io_error(operation: Operation, path: &Path, e: io::Error) -> StoreError {
    let problem = if e.kind() == io::ErrorKind::NotFound {
        Problem::NotFound
    } else {
        Problem::Io(e)
    };
    StoreError::new(operation, path.display().to_string(), problem)
}

impl LocalFolder {
    /// A CloudTrail archive on disk: a copy of a bucket, a key-prefix folder, or a folder
    /// inside `AWSLogs/`. Inside an `AWSLogs` tree, keys start at the folder holding
    /// `AWSLogs`, so that a user can point at `bucket/AWSLogs/123456789012/CloudTrail/
    /// us-east-1` and still get full keys.
    pub fn open_archive(path: &Path) -> Result<LocalFolder, StoreError> {
        let folder = LocalFolder::open(path)?;
        let key_root = folder
            .key_root
            .ancestors()
            .find(|a| a.file_name().is_some_and(|n| n == "AWSLogs"))
            .and_then(Path::parent)
            .unwrap_or(&folder.key_root)
            .to_path_buf();
        let base = match folder.key_root.strip_prefix(&key_root) {
            Ok(rel) => rel
                .iter()
                .map(|n| n.to_string_lossy())
                .collect::<Vec<_>>()
                .join("/"),
            // key_root is an ancestor by construction.
            Err(_) => String::new(),
        };
        // The folder as given, less the levels inside AWSLogs/ it named (when they can be
        // told apart; else the canonical path).
        let levels = base.split('/').filter(|n| !n.is_empty()).count();
        let display_root = match path.components().count() > levels {
            true if levels > 0 => path.ancestors().nth(levels).map(Path::to_path_buf),
            _ => None,
        }
        .filter(|root| fs::canonicalize(root).ok().as_ref() == Some(&key_root))
        .unwrap_or_else(|| match levels {
            0 => folder.display_root.clone(),
            _ => key_root.clone(),
        });
        Ok(LocalFolder {
            key_root,
            display_root,
            base,
            ..folder
        })
    }

    /// An existing folder, whose keys start at it.
    pub fn open(path: &Path) -> Result<LocalFolder, StoreError> {
        let target = || format!("source folder {}", path.display());
        let key_root = fs::canonicalize(path)
            .map_err(|e| StoreError::new(Operation::Read, target(), Problem::Io(e)))?;
        let meta = fs::metadata(&key_root)
            .map_err(|e| StoreError::new(Operation::Read, target(), Problem::Io(e)))?;
        if !meta.is_dir() {
            return Err(StoreError::new(
                Operation::Read,
                target(),
                Problem::NotAFolder,
            ));
        }
        Ok(LocalFolder {
            name: path.display().to_string(),
            key_root,
            display_root: path.to_path_buf(),
            base: String::new(),
            copy_of: None,
        })
    }

    /// A destination folder, created if needed, whose keys start at it.
    pub fn create(path: &Path) -> Result<LocalFolder, StoreError> {
        fs::create_dir_all(path).map_err(|e| io_error(Operation::Write, path, e))?;
        LocalFolder::open(path)
    }

    /// Sidecars written from now on name `bucket` as the objects' origin (a copy of it).
    pub fn recording_bucket(mut self, bucket: &str) -> LocalFolder {
        self.copy_of = Some(bucket.to_string());
        self
    }

    /// The path of `key` (or of a folder prefix ending in `/`) under the folder; a key that
    /// could name anything outside it is refused. The one place where keys become paths.
    pub fn path_of(&self, key: &str) -> Result<PathBuf, StoreError> {
        self.resolve(Operation::Read, key)
    }

    fn resolve(&self, operation: Operation, key: &str) -> Result<PathBuf, StoreError> {
        let refused = || StoreError::new(operation, format!("key {key:?}"), Problem::UnsafeKey);
        let rel = key.strip_suffix('/').unwrap_or(key);
        if rel.is_empty() {
            return Ok(self.key_root.clone());
        }
        let mut path = self.key_root.clone();
        for segment in rel.split('/') {
            if !is_safe_segment(segment) {
                return Err(refused());
            }
            path.push(segment);
        }
        self.refuse_links_above(operation, &path)?;
        Ok(path)
    }

    /// Refuses `path` if a folder between the folder's top and it is a symbolic link: a copy
    /// whose `AWSLogs` is a link to `/etc` must not be read or written through. Each existing
    /// folder on the way is checked without following links (`lstat`); one not there yet is
    /// created by the write as a real folder. The last folder found clean is remembered per
    /// thread, as consecutive objects mostly share their day folder.
    fn refuse_links_above(&self, operation: Operation, path: &Path) -> Result<(), StoreError> {
        thread_local! {
            static LAST_CLEAN: RefCell<PathBuf> = const { RefCell::new(PathBuf::new()) };
        }
        let Some(parent) = path.parent() else {
            return Ok(());
        };
        if LAST_CLEAN.with(|last| *last.borrow() == parent) {
            return Ok(());
        }
        let mut all_there = true;
        for folder in parent.ancestors().take_while(|a| *a != self.key_root) {
            match fs::symlink_metadata(folder) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    let target = folder.display().to_string();
                    return Err(StoreError::new(operation, target, Problem::LinkInPath));
                }
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => all_there = false,
                Err(e) => return Err(io_error(operation, folder, e)),
            }
        }
        if all_there {
            LAST_CLEAN.with(|last| parent.clone_into(&mut last.borrow_mut()));
        }
        Ok(())
    }

    /// The key of a path under the folder, or `None` for a name that is not UTF-8 (no S3 key
    /// could have produced it).
    fn key_of(&self, path: &Path) -> Option<String> {
        let rel = path.strip_prefix(&self.key_root).ok()?;
        let parts: Option<Vec<&str>> = rel.iter().map(|c| c.to_str()).collect();
        Some(parts?.join("/"))
    }

    /// Appends the rest of `file`, opened for `key`, to `buf`.
    fn read_opened(
        &self,
        key: &str,
        file: &mut fs::File,
        buf: &mut Vec<u8>,
    ) -> Result<(), StoreError> {
        file.read_to_end(buf)
            .map_err(|e| io_error(Operation::Read, &self.key_root.join(key), e))?;
        Ok(())
    }

    /// Opens a regular file for reading: not through a symbolic link at the last step, and
    /// without blocking on a FIFO (then refused as not a file).
    fn open_regular(&self, key: &str) -> Result<(fs::File, ObjectInfo), StoreError> {
        if key.is_empty() || key.ends_with('/') {
            // A folder's name, which no object has.
            let target = self.display_key(key);
            return Err(StoreError::new(Operation::Read, target, Problem::NotFound));
        }
        let path = self.path_of(key)?;
        let mut options = fs::OpenOptions::new();
        options.read(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
        }
        let file = options
            .open(&path)
            .map_err(|e| io_error(Operation::Read, &path, e))?;
        let meta = file
            .metadata()
            .map_err(|e| io_error(Operation::Read, &path, e))?;
        if !meta.is_file() {
            return Err(StoreError::new(
                Operation::Read,
                path.display().to_string(),
                Problem::Io(io::Error::other("not a regular file")),
            ));
        }
        let info = ObjectInfo {
            key: key.to_string(),
            size: meta.len(),
            etag: None,
            modified: meta.modified().ok(),
        };
        Ok((file, info))
    }

    fn read_sidecar(&self, key: &str) -> Result<Option<ObjectMetadata>, StoreError> {
        let path = self.path_of(&format!("{key}{SIDECAR_SUFFIX}"))?;
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error(Operation::Read, &path, e)),
        };
        parse_sidecar(&text).map(Some).map_err(|e| {
            StoreError::new(
                Operation::Read,
                path.display().to_string(),
                Problem::Service(e.to_string()),
            )
        })
    }

    /// Writes `body` to `path` through `path.partial`, so that the object is never seen
    /// half-written (a kill leaves at most `path.partial`, which the next write of the key
    /// replaces); create-only by a rename or hard link that fails where a file is.
    fn write_path(path: &Path, body: &[u8], mode: WriteMode) -> Result<(), StoreError> {
        let fail = |e| io_error(Operation::Write, path, e);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(fail)?;
        }
        let partial = PathBuf::from(format!("{}.partial", path.display()));
        if let Err(e) = fs::File::create(&partial).and_then(|mut f| f.write_all(body)) {
            // Half a file helps no one (and takes room on a full disk).
            let _ = fs::remove_file(&partial);
            return Err(fail(e));
        }
        LocalFolder::publish(&partial, path, mode)
    }

    /// Moves a finished file into place.
    fn publish(from: &Path, to: &Path, mode: WriteMode) -> Result<(), StoreError> {
        let fail = |e| io_error(Operation::Write, to, e);
        match mode {
            WriteMode::Replace => fs::rename(from, to).map_err(fail),
            WriteMode::CreateNew => {
                let exists = || {
                    let target = to.display().to_string();
                    StoreError::new(Operation::Write, target, Problem::Exists)
                };
                let no_links = |e: &io::Error| {
                    matches!(
                        e.kind(),
                        io::ErrorKind::Unsupported | io::ErrorKind::PermissionDenied
                    )
                };
                match rename_no_replace(from, to) {
                    Ok(()) => return Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                        // The staged file is ours alone: nothing is lost if removing it fails.
                        let _ = fs::remove_file(from);
                        return Err(exists());
                    }
                    // Not on this system or filesystem: by a hard link below.
                    Err(_) => {}
                }
                let published = match fs::hard_link(from, to) {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(exists()),
                    // No hard links here (FAT and exFAT drives refuse them, some network shares
                    // do not have them): look, then rename; not atomic, but nothing else writes
                    // the copy meanwhile. A real lack of permission fails the rename too.
                    Err(e) if no_links(&e) && fs::symlink_metadata(to).is_ok() => Err(exists()),
                    Err(e) if no_links(&e) => return fs::rename(from, to).map_err(fail),
                    Err(e) => Err(io_error(Operation::Write, to, e)),
                };
                // The staged file is ours alone: nothing else is lost if removing it fails.
                let _ = fs::remove_file(from);
                published
            }
        }
    }

    fn walk_keys(&self, dir: &Path, keys: &mut Vec<ObjectInfo>) -> Result<(), StoreError> {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(io_error(Operation::List, dir, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| io_error(Operation::List, dir, e))?;
            let path = entry.path();
            let file_type = entry
                .file_type()
                .map_err(|e| io_error(Operation::List, &path, e))?;
            if file_type.is_dir() {
                self.walk_keys(&path, keys)?;
            } else if file_type.is_file() {
                // A name that is not UTF-8 is not a key of the bucket copied.
                let Some(key) = self.key_of(&path) else {
                    continue;
                };
                if key.ends_with(SIDECAR_SUFFIX) {
                    continue;
                }
                let meta = entry
                    .metadata()
                    .map_err(|e| io_error(Operation::List, &path, e))?;
                keys.push(ObjectInfo {
                    key,
                    size: meta.len(),
                    etag: None,
                    modified: meta.modified().ok(),
                });
            }
        }
        Ok(())
    }
}

impl ObjectStore for LocalFolder {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn base(&self) -> &str {
        &self.base
    }

    fn local_folder(&self) -> Option<&Path> {
        Some(&self.key_root)
    }

    fn display_key(&self, key: &str) -> String {
        self.display_root.join(key).display().to_string()
    }

    fn list_dir(&self, dir: &str) -> Result<DirListing, StoreError> {
        let path = self.resolve(Operation::List, dir)?;
        let entries = fs::read_dir(&path).map_err(|e| io_error(Operation::List, &path, e))?;
        let mut level = DirListing::default();
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    level.problems.push(io_error(Operation::List, &path, e));
                    continue;
                }
            };
            let file_type = match entry.file_type() {
                Ok(t) => t,
                Err(e) => {
                    level
                        .problems
                        .push(io_error(Operation::List, &entry.path(), e));
                    continue;
                }
            };
            if file_type.is_symlink() {
                level.links += 1;
                continue;
            }
            // A name no key of this folder can have (not UTF-8, or one that `path_of` would
            // refuse) is passed over, and counted.
            let name = entry.file_name().to_str().map(str::to_string);
            let Some(name) = name.filter(|n| is_safe_segment(n)) else {
                level.unnamed += 1;
                continue;
            };
            if file_type.is_dir() {
                level.folders.push(format!("{dir}{name}/"));
            } else if !file_type.is_file() {
                level.special += 1;
            } else if !name.ends_with(SIDECAR_SUFFIX) {
                match entry.metadata() {
                    Ok(meta) => level.objects.push(ObjectInfo {
                        key: format!("{dir}{name}"),
                        size: meta.len(),
                        etag: None,
                        modified: meta.modified().ok(),
                    }),
                    Err(e) => level
                        .problems
                        .push(io_error(Operation::List, &entry.path(), e)),
                }
            }
        }
        level.folders.sort();
        level.objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(level)
    }

    fn list_keys(&self, prefix: &str, start_after: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        // Walk only the folder the prefix names, then filter as S3 would.
        let folder = prefix.rfind('/').map_or("", |i| &prefix[..i]);
        let Ok(dir) = self.resolve(Operation::List, folder) else {
            // No file of the copy can have an unsafe key.
            return Ok(Vec::new());
        };
        let mut keys = Vec::new();
        self.walk_keys(&dir, &mut keys)?;
        keys.retain(|o| o.key.starts_with(prefix) && o.key.as_str() > start_after);
        keys.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(keys)
    }

    fn read(&self, key: &str, buf: &mut Vec<u8>) -> Result<ObjectInfo, StoreError> {
        let (mut file, info) = self.open_regular(key)?;
        buf.clear();
        self.read_opened(key, &mut file, buf)?;
        Ok(info)
    }

    fn read_at_most(&self, key: &str, max_bytes: u64) -> Result<bytes::Bytes, StoreError> {
        let (_, info) = self.open_regular(key)?;
        match info.size > max_bytes {
            true => Err(crate::store::too_large(
                &self.display_key(key),
                info.size,
                max_bytes,
            )),
            // Read once more: the file may have grown since.
            false => self
                .read_shared(key)
                .and_then(|body| match body.len() as u64 > max_bytes {
                    true => Err(crate::store::too_large(
                        &self.display_key(key),
                        body.len() as u64,
                        max_bytes,
                    )),
                    false => Ok(body),
                }),
        }
    }

    fn open_ranges(&self, key: &str) -> Result<Box<dyn crate::store::Ranges>, StoreError> {
        let (file, info) = self.open_regular(key)?;
        Ok(Box::new(FileRanges {
            file,
            size: info.size,
            path: self.key_root.join(key),
        }))
    }

    /// A file of [`MAP_FROM_BYTES`] or more is mapped: its pages are the page cache's, where
    /// a copy would take a fault on every fresh 4 KiB page of the buffer (a lookup reading an
    /// index of 6.7 MB took 1,640 of them, about 2.5 us each on this project's machines).
    /// A file truncated by another program while it is mapped would end the process (SIGBUS)
    /// where a read would have reported it; the index's segments, read this way, are written
    /// once under their own hash and never changed in place.
    fn read_shared(&self, key: &str) -> Result<bytes::Bytes, StoreError> {
        let (mut file, info) = self.open_regular(key)?;
        if info.size < MAP_FROM_BYTES {
            let mut buf = Vec::new();
            self.read_opened(key, &mut file, &mut buf)?;
            return Ok(bytes::Bytes::from(buf));
        }
        // SAFETY: the map is read only and lives as long as the bytes that own it; see above
        // for a file changed while mapped.
        let map = unsafe { memmap2::Mmap::map(&file) }
            .map_err(|e| io_error(Operation::Read, &self.key_root.join(key), e))?;
        Ok(bytes::Bytes::from_owner(map))
    }

    fn read_with_metadata(
        &self,
        key: &str,
        buf: &mut Vec<u8>,
    ) -> Result<(ObjectInfo, Option<ObjectMetadata>), StoreError> {
        let info = self.read(key, buf)?;
        Ok((info, self.read_sidecar(key)?))
    }

    fn read_stream(&self, key: &str) -> Result<Box<dyn io::Read + Send>, StoreError> {
        Ok(Box::new(self.open_regular(key)?.0))
    }

    fn write(
        &self,
        key: &str,
        body: &[u8],
        metadata: Option<&ObjectMetadata>,
        mode: WriteMode,
    ) -> Result<(), StoreError> {
        let path = self.resolve(Operation::Write, key)?;
        if mode == WriteMode::CreateNew && fs::symlink_metadata(&path).is_ok() {
            // Refused before the sidecar below could replace the present object's.
            let target = path.display().to_string();
            return Err(StoreError::new(Operation::Write, target, Problem::Exists));
        }
        if let Some(metadata) = metadata {
            // The sidecar first: an object is never there without its metadata.
            let mut metadata = metadata.clone();
            if metadata.bucket.is_none() {
                metadata.bucket.clone_from(&self.copy_of);
            }
            let sidecar = self.resolve(Operation::Write, &format!("{key}{SIDECAR_SUFFIX}"))?;
            LocalFolder::write_path(
                &sidecar,
                sidecar_text(key, &metadata).as_bytes(),
                WriteMode::Replace,
            )?;
        }
        LocalFolder::write_path(&path, body, mode)
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        let path = self.resolve(Operation::Write, key)?;
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                Err(io_error(Operation::Write, &path, e))
            }
            _ => Ok(()),
        }
    }

    fn write_file(&self, key: &str, file: &Path, mode: WriteMode) -> Result<(), StoreError> {
        let path = self.resolve(Operation::Write, key)?;
        if path == file {
            return Ok(());
        }
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| io_error(Operation::Write, &path, e))?;
        }
        let partial = PathBuf::from(format!("{}.partial", path.display()));
        if fs::rename(file, &partial).is_err() {
            // Another filesystem: copy, then drop the original.
            fs::copy(file, &partial).map_err(|e| io_error(Operation::Write, &path, e))?;
            // The copy is in place; a leftover staged file is only wasted space.
            let _ = fs::remove_file(file);
        }
        LocalFolder::publish(&partial, &path, mode)
    }
}

/// A file read where asked: `pread`, so that the pages not asked for are never touched, and
/// nothing is mapped (unmapping costs every core a TLB flush).
struct FileRanges {
    file: fs::File,
    size: u64,
    path: PathBuf,
}

impl crate::store::Ranges for FileRanges {
    fn len(&self) -> u64 {
        self.size
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), StoreError> {
        use std::os::unix::fs::FileExt;
        self.file
            .read_exact_at(buf, offset)
            .map_err(|e| match e.kind() {
                io::ErrorKind::UnexpectedEof => {
                    crate::store::past_the_end(&self.path.display().to_string())
                }
                _ => io_error(Operation::Read, &self.path, e),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(root: &Path, key: &str, body: &str) {
        let p = root.join(key);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, body).unwrap();
    }

    #[test]
    fn lists_like_s3_and_reads_sidecars() {
        let dir = tempfile::tempdir().unwrap();
        put(
            dir.path(),
            "p/AWSLogs/1/CloudTrail-Digest/r/2024/01/02/b.json.gz",
            "b",
        );
        put(
            dir.path(),
            "p/AWSLogs/1/CloudTrail-Digest/r/2024/01/01/a.json.gz",
            "a",
        );
        put(
            dir.path(),
            "p/AWSLogs/1/CloudTrail-Digest/r2/2024/01/01/c.json.gz",
            "c",
        );
        put(
            dir.path(),
            "p/AWSLogs/1/CloudTrail-Digest/r/2024/01/01/a.json.gz.s3meta.json",
            r#"{"format":"trailscan-s3-metadata/1","bucket":"bk","key":"k","metadata":{"signature":"ab"}}"#,
        );
        let store = LocalFolder::open(dir.path()).unwrap();
        let keys = |prefix: &str, after: &str| -> Vec<String> {
            let found = store.list_keys(prefix, after).unwrap();
            found.into_iter().map(|o| o.key).collect()
        };
        // "r2" also starts with the prefix "…/r", as in S3; sidecars are not objects.
        assert_eq!(keys("p/AWSLogs/1/CloudTrail-Digest/r", "").len(), 3);
        assert_eq!(
            keys(
                "p/AWSLogs/1/CloudTrail-Digest/r/",
                "p/AWSLogs/1/CloudTrail-Digest/r/2024/01/01/a.json.gz"
            ),
            vec!["p/AWSLogs/1/CloudTrail-Digest/r/2024/01/02/b.json.gz"]
        );
        let mut buf = Vec::new();
        let (info, meta) = store
            .read_with_metadata(
                "p/AWSLogs/1/CloudTrail-Digest/r/2024/01/01/a.json.gz",
                &mut buf,
            )
            .unwrap();
        assert_eq!((info.size, buf.as_slice()), (1, &b"a"[..]));
        let meta = meta.unwrap();
        assert_eq!(meta.user["signature"], "ab");
        assert_eq!(meta.bucket.as_deref(), Some("bk"));
        let (_, meta) = store
            .read_with_metadata(
                "p/AWSLogs/1/CloudTrail-Digest/r/2024/01/02/b.json.gz",
                &mut buf,
            )
            .unwrap();
        assert_eq!(meta, None);
        assert!(store.read("nope", &mut buf).unwrap_err().is_not_found());
        let level = store
            .list_dir("p/AWSLogs/1/CloudTrail-Digest/r/2024/01/01/")
            .unwrap();
        assert_eq!(level.objects.len(), 1, "{level:?}");
    }

    #[test]
    fn keys_never_leave_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalFolder::create(&dir.path().join("copy")).unwrap();
        for key in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "a//b",
            "a/./b",
            "a\\..\\b",
            "a/b\u{0}",
            "a/\nb",
            ".",
        ] {
            let err = store.path_of(key).unwrap_err();
            assert!(matches!(err.problem, Problem::UnsafeKey), "{key:?}: {err}");
            assert!(store.write(key, b"x", None, WriteMode::Replace).is_err());
        }
        assert!(!dir.path().join("x").exists());
        assert_eq!(
            store.path_of("a/b.json.gz").unwrap(),
            store.key_root.join("a/b.json.gz")
        );
    }

    #[test]
    fn links_inside_the_folder_are_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        put(&outside, "123/secret.json.gz", "secret");
        let copy = dir.path().join("copy");
        fs::create_dir_all(copy.join("a")).unwrap();
        std::os::unix::fs::symlink(&outside, copy.join("a/AWSLogs")).unwrap();
        let store = LocalFolder::open(&copy).unwrap();
        let mut buf = Vec::new();
        let err = store
            .read("a/AWSLogs/123/secret.json.gz", &mut buf)
            .unwrap_err();
        assert!(matches!(err.problem, Problem::LinkInPath), "{err}");
        assert!(err.to_string().contains("copy/a/AWSLogs"), "{err}");
        let err = store.list_dir("a/AWSLogs/123/").unwrap_err();
        assert!(matches!(err.problem, Problem::LinkInPath), "{err}");
        // A write would create the folders below the link, outside.
        let err = store
            .write("a/AWSLogs/new/x.json.gz", b"x", None, WriteMode::CreateNew)
            .unwrap_err();
        assert!(matches!(err.problem, Problem::LinkInPath), "{err}");
        assert!(!outside.join("new").exists());
        // The same key is fine once the link is a real folder.
        fs::remove_file(copy.join("a/AWSLogs")).unwrap();
        store
            .write("a/AWSLogs/new/x.json.gz", b"x", None, WriteMode::CreateNew)
            .unwrap();
        assert_eq!(
            fs::read(copy.join("a/AWSLogs/new/x.json.gz")).unwrap(),
            b"x"
        );
    }

    #[test]
    fn writes_replace_or_create_once_with_sidecars() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalFolder::create(dir.path())
            .unwrap()
            .recording_bucket("bk");
        let meta = ObjectMetadata {
            bucket: None,
            user: [("signature".to_string(), "ab".to_string())].into(),
        };
        store
            .write("a/k", b"one", Some(&meta), WriteMode::CreateNew)
            .unwrap();
        let err = store
            .write("a/k", b"two", None, WriteMode::CreateNew)
            .unwrap_err();
        assert!(matches!(err.problem, Problem::Exists), "{err}");
        store
            .write("a/k", b"three", None, WriteMode::Replace)
            .unwrap();
        let mut buf = Vec::new();
        let (_, read) = store.read_with_metadata("a/k", &mut buf).unwrap();
        assert_eq!(buf, b"three");
        assert_eq!(read.unwrap().bucket.as_deref(), Some("bk"));
        assert!(!dir.path().join("a/k.partial").exists());
    }

    #[test]
    fn fifos_and_links_are_not_objects() {
        let dir = tempfile::tempdir().unwrap();
        put(dir.path(), "real.json.gz", "x");
        std::os::unix::fs::symlink(
            dir.path().join("real.json.gz"),
            dir.path().join("link.json.gz"),
        )
        .unwrap();
        let fifo = dir.path().join("fifo.json.gz");
        let c_path = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
        put(dir.path(), "back\\slash.json.gz", "x");
        let store = LocalFolder::open(dir.path()).unwrap();
        let level = store.list_dir("").unwrap();
        assert_eq!(level.objects.len(), 1);
        assert_eq!((level.links, level.special, level.unnamed), (1, 1, 1));
        let mut buf = Vec::new();
        // Neither blocks nor follows the link.
        assert!(store.read("fifo.json.gz", &mut buf).is_err());
        assert!(store.read("link.json.gz", &mut buf).is_err());
    }
}
