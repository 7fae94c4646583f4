//! The storage seam: one interface for "where objects live", whatever holds them.
//!
//! Every read and write of objects in trailscan goes through [`ObjectStore`]: the scan's
//! listing and GETs, validation's digests and log files (with their signatures in object
//! metadata), acquire's copy, the export's files, the shards' results. It is implemented for
//! a folder on disk ([`crate::LocalFolder`]), a bucket in S3 (`S3Bucket`, with the `s3`
//! feature) and memory ([`crate::MemoryStore`], for tests and fuzzing).
//!
//! A trait rather than an enum: S3 sits behind a cargo feature (so that the crates which only
//! parse build without the AWS SDK), which an enum would have to repeat in every match; the
//! in-memory store serves tests and fuzz targets that no enum variant should carry; and every
//! call is per object or per folder, never per record, so the dynamic dispatch costs nothing
//! a scan could measure.
//!
//! Keys are S3 keys, `/`-separated, relative to the bucket's top (for a folder: to the folder
//! that stands for the bucket's top). [`ObjectStore::base`] is the prefix the user named, where
//! listings of an archive start and under which destinations write.

use std::collections::BTreeMap;
use std::fmt;
use std::io;
use std::path::Path;
use std::time::SystemTime;

/// An object's user metadata as S3 returns it (`x-amz-meta-NAME`, without the prefix).
pub type UserMetadata = BTreeMap<String, String>;

/// What a listing or a read says of an object besides its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// The key.
    pub key: String,
    /// Size in bytes, as stored.
    pub size: u64,
    /// S3's ETag (quotes included, as S3 sends it); `None` on disk.
    pub etag: Option<String>,
    /// Last modification: S3's LastModified, the file's mtime on disk.
    pub modified: Option<SystemTime>,
}

/// An object's metadata beyond its size: what a digest's signature needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectMetadata {
    /// The bucket the object is in, or, for a copy, the bucket it was copied from (when the
    /// copy recorded it).
    pub bucket: Option<String>,
    /// The object's user metadata.
    pub user: UserMetadata,
}

/// An object's bytes and, when asked for and known, its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The object as stored.
    pub body: Vec<u8>,
    /// What the store said of it as it was read: its size, its ETag (S3's GET) or its
    /// modification time (`fstat` of the file opened), for a reader to compare with what a
    /// listing or an index said.
    pub info: ObjectInfo,
    /// Its metadata: `None` when not asked for, or where the store cannot know it.
    pub metadata: Option<ObjectMetadata>,
}

/// One level of a delimited listing (S3's `ListObjectsV2` with a `/` delimiter).
#[derive(Debug, Default)]
pub struct DirListing {
    /// Sub-prefixes, each ending in `/`, in byte order.
    pub folders: Vec<String>,
    /// Objects directly at this level, in byte order.
    pub objects: Vec<ObjectInfo>,
    /// Entries that are not objects and were passed over: symbolic links on disk (not
    /// followed, so that a copy cannot loop or leave its folder).
    pub links: u64,
    /// Entries that are neither files nor folders (FIFOs, sockets, devices) on disk, passed
    /// over: reading one could block or never end.
    pub special: u64,
    /// Entries whose names no S3 key could have (not UTF-8), passed over.
    pub unnamed: u64,
    /// Entries that could not be looked at; the rest of the level was listed.
    pub problems: Vec<StoreError>,
}

/// One level below `dir` of `objects` (keys in byte order), exactly as S3 answers a delimited
/// listing of `dir`: a key with a further `/` after `dir` is in the folder up to that `/`,
/// any other key under `dir` (`dir` itself included) is an object of the level.
pub fn delimited(dir: &str, objects: &[ObjectInfo]) -> DirListing {
    let mut level = DirListing::default();
    let first = objects.partition_point(|o| o.key.as_str() < dir);
    for object in &objects[first..] {
        let Some(rest) = object.key.strip_prefix(dir) else {
            break;
        };
        match rest.find('/') {
            Some(i) => {
                let folder = &object.key[..dir.len() + i + 1];
                if level.folders.last().map(String::as_str) != Some(folder) {
                    level.folders.push(folder.to_string());
                }
            }
            None => level.objects.push(object.clone()),
        }
    }
    level
}

/// Requests a store made across the network, by kind: what a run cost in S3 requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestCounts {
    /// ListObjectsV2 pages.
    pub list: u64,
    /// GetObject.
    pub get: u64,
    /// PutObject.
    pub put: u64,
    /// Anything else (DeleteObject; HeadBucket, where S3 refused a request for the wrong
    /// region without naming the bucket's).
    pub other: u64,
}

impl RequestCounts {
    /// All of them.
    pub fn total(&self) -> u64 {
        self.list + self.get + self.put + self.other
    }
}

impl fmt::Display for RequestCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} requests ({} LIST, {} GET, {} PUT, {} other)",
            self.total(),
            self.list,
            self.get,
            self.put,
            self.other
        )
    }
}

/// How a write treats an object that is already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Replace it (atomically: a reader sees the old object or the new one, never a part).
    Replace,
    /// Fail with [`Problem::Exists`] (on S3, a conditional PUT with `If-None-Match: *`).
    CreateNew,
}

/// What a store was asked to do when it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Open the store (a folder, a bucket).
    Open,
    /// List a folder or prefix.
    List,
    /// Read an object.
    Read,
    /// Write an object.
    Write,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Open => "open",
            Operation::List => "list",
            Operation::Read => "read",
            Operation::Write => "write",
        })
    }
}

/// Why a store could not do it.
#[derive(Debug)]
pub enum Problem {
    /// No such object (S3's `NoSuchKey`, a missing file).
    NotFound,
    /// A create-only write found the object there.
    Exists,
    /// The folder given is a file.
    NotAFolder,
    /// A key that cannot name a file under the folder (`..`, an empty segment, a leading `/`,
    /// a backslash, a control character): refused, never turned into a path.
    UnsafeKey,
    /// A folder on the way to the file is a symbolic link inside the folder: refused, never
    /// followed (it could lead anywhere).
    LinkInPath,
    /// What the operating system said (kept whole, for its kind).
    Io(io::Error),
    /// What S3 or the connection said, credentials redacted.
    Service(String),
    /// An `s3://` location in a build without S3.
    NoS3Support,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NotFound => f.write_str("not found"),
            Problem::Exists => f.write_str("already exists (not overwritten)"),
            Problem::NotAFolder => f.write_str("it is not a folder (give the folder that holds AWSLogs/)"),
            Problem::UnsafeKey => f.write_str(
                "unsafe key (a `..` or `.` segment, an empty segment, a leading `/`, a backslash or a control character), refused",
            ),
            Problem::LinkInPath => f.write_str(
                "a symbolic link inside the folder, refused (trailscan never follows links out of a copy)",
            ),
            Problem::Io(e) => write!(f, "{e}"),
            Problem::Service(message) => f.write_str(message),
            Problem::NoS3Support => {
                f.write_str("this trailscan was built without S3 support (cargo feature `s3`)")
            }
        }
    }
}

/// A store's failure, naming what it was doing and the object or folder, as a sentence:
/// `cannot read s3://bucket/key: not found`.
#[derive(Debug)]
pub struct StoreError {
    /// What was asked.
    pub operation: Operation,
    /// The object or folder, as a person names it: a path, or `s3://bucket/key`.
    pub target: String,
    /// Why it failed.
    pub problem: Problem,
}

impl StoreError {
    /// An error of `operation` on `target`.
    pub fn new(operation: Operation, target: impl Into<String>, problem: Problem) -> StoreError {
        StoreError {
            operation,
            target: target.into(),
            problem,
        }
    }

    /// Whether no further write to the same destination can succeed either: a full disk or
    /// quota, a read-only filesystem, a file-size limit, no permission. A run that writes
    /// stops there instead of failing every object the same way.
    pub fn ends_writing(&self) -> bool {
        use io::ErrorKind::*;
        match &self.problem {
            Problem::Io(e) => matches!(
                e.kind(),
                StorageFull | QuotaExceeded | ReadOnlyFilesystem | FileTooLarge | PermissionDenied
            ),
            _ => false,
        }
    }

    /// Whether the object does not exist.
    pub fn is_not_found(&self) -> bool {
        match &self.problem {
            Problem::NotFound => true,
            Problem::Io(e) => e.kind() == io::ErrorKind::NotFound,
            _ => false,
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "cannot {} {}: {}",
            self.operation, self.target, self.problem
        )
    }
}

impl std::error::Error for StoreError {}

/// Where objects live: a folder, a bucket, memory. See the module's documentation.
pub trait ObjectStore: Send + Sync + fmt::Debug {
    /// The location as the user gave it (`./evidence`, `s3://bucket/prefix`), for messages.
    fn name(&self) -> &str;

    /// The key prefix the location names, without a trailing `/` (empty for a bucket's top):
    /// where an archive's listing starts, and what a destination's keys go under.
    fn base(&self) -> &str;

    /// The bucket, for an S3 store.
    fn bucket(&self) -> Option<&str> {
        None
    }

    /// The folder that stands for the bucket's top, for a store on disk: files written under
    /// it are in place, with no upload.
    fn local_folder(&self) -> Option<&Path> {
        None
    }

    /// Whether requests cross a network (each then waits a round trip).
    fn is_remote(&self) -> bool {
        false
    }

    /// How many requests to keep in flight at once, for a store across a network: enough to
    /// hide the round trip (see [`crate::DEFAULT_MAX_CONCURRENT_REQUESTS`]). 0 for a store on
    /// this machine, whose readers need no help.
    fn requests_in_flight(&self) -> usize {
        0
    }

    /// The requests made so far across the network (`None` for a store on this machine).
    fn requests_made(&self) -> Option<RequestCounts> {
        None
    }

    /// An object as a person names it: its path, or `s3://bucket/key`.
    fn display_key(&self, key: &str) -> String;

    /// One level below `dir` (empty, or a prefix ending in `/`).
    fn list_dir(&self, dir: &str) -> Result<DirListing, StoreError>;

    /// Every object whose key starts with `prefix` and sorts after `start_after` (empty: from
    /// the first), in byte order, as `ListObjectsV2` pages them.
    fn list_keys(&self, prefix: &str, start_after: &str) -> Result<Vec<ObjectInfo>, StoreError>;

    /// Every object below `dir` (a prefix ending in `/`), in byte order, when one request
    /// brings them all (S3: a `ListObjectsV2` page without a delimiter that is not truncated);
    /// `None` when they are more than a request brings, or when the store's levels cost no
    /// round trip (the default). A walk asks it beside a level's listing, and where it comes
    /// back whole takes the levels below from it ([`delimited`]) instead of a round trip each.
    fn list_all_below(&self, dir: &str) -> Result<Option<Vec<ObjectInfo>>, StoreError> {
        let _ = dir;
        Ok(None)
    }

    /// Reads an object into `buf` (cleared first, capacity kept).
    fn read(&self, key: &str, buf: &mut Vec<u8>) -> Result<ObjectInfo, StoreError>;

    /// Reads an object whole, as bytes that may be shared and sliced without a copy. On disk a
    /// large file is mapped rather than copied (see [`crate::LocalFolder`]); the default reads
    /// it into a buffer.
    fn read_shared(&self, key: &str) -> Result<bytes::Bytes, StoreError> {
        let mut buf = Vec::new();
        self.read(key, &mut buf)?;
        Ok(bytes::Bytes::from(buf))
    }

    /// Reads an object whole, unless it is larger than `max_bytes`: then an error, without its
    /// body fetched (S3: refused from the GET's Content-Length; on disk, from `fstat`). For
    /// files whose size is known beforehand (an index's), so that a damaged or hostile one
    /// cannot make a reader fetch gigabytes.
    fn read_at_most(&self, key: &str, max_bytes: u64) -> Result<bytes::Bytes, StoreError> {
        let body = self.read_shared(key)?;
        match body.len() as u64 > max_bytes {
            true => Err(too_large(
                &self.display_key(key),
                body.len() as u64,
                max_bytes,
            )),
            false => Ok(body),
        }
    }

    /// Opens an object for reading parts of it ([`Ranges`]): on disk, the file, read where
    /// asked (no mapping, no copy of the rest); the default reads it whole once (one request
    /// to S3, where parts would cost one each).
    fn open_ranges(&self, key: &str) -> Result<Box<dyn Ranges>, StoreError> {
        Ok(Box::new(WholeObject {
            key: self.display_key(key),
            bytes: self.read_shared(key)?,
        }))
    }

    /// Reads an object into `buf` with its metadata; `None` where the store cannot know it (a
    /// copy on disk without its `.s3meta.json` sidecar).
    fn read_with_metadata(
        &self,
        key: &str,
        buf: &mut Vec<u8>,
    ) -> Result<(ObjectInfo, Option<ObjectMetadata>), StoreError>;

    /// Reads every object of `keys`, `in_flight` at once, and hands each (or why not, by its
    /// index in `keys`) to `each` on the calling thread as it arrives, in any order; stops
    /// asking once `each` returns false. With `with_metadata`, each comes with its metadata.
    /// Memory stays at about twice `in_flight` objects.
    ///
    /// The default reads with `in_flight` threads; a store across a network overrides it to
    /// keep requests in flight without a thread each.
    fn read_each(
        &self,
        keys: &[&str],
        in_flight: usize,
        with_metadata: bool,
        each: &mut dyn FnMut(usize, Result<Fetched, StoreError>) -> bool,
    ) {
        read_each_with_threads(self, keys, in_flight, with_metadata, each);
    }

    /// Streams an object, for what is too big to hold (a shard's results).
    fn read_stream(&self, key: &str) -> Result<Box<dyn io::Read + Send>, StoreError>;

    /// Writes an object, with its metadata when given (S3 user metadata; a sidecar on disk).
    fn write(
        &self,
        key: &str,
        body: &[u8],
        metadata: Option<&ObjectMetadata>,
        mode: WriteMode,
    ) -> Result<(), StoreError>;

    /// Writes an object from a finished local file (an upload; on disk, a copy unless the
    /// file is already in place).
    fn write_file(&self, key: &str, file: &Path, mode: WriteMode) -> Result<(), StoreError>;

    /// Deletes an object; one that is not there is not an error.
    fn delete(&self, key: &str) -> Result<(), StoreError>;

    /// The same store's view of another bucket, where it can reach one (S3: the same client
    /// and credentials); `None` for a folder, which is a copy of one bucket only.
    fn in_bucket(&self, _bucket: &str) -> Option<Box<dyn ObjectStore>> {
        None
    }

    /// The store itself as [`std::any::Any`], so that code needing one kind of store (a
    /// CloudTrail client sharing an S3 bucket's configuration: `s3::S3Bucket::of`) can ask
    /// for it without this trait naming every kind of store.
    fn as_any(&self) -> &dyn std::any::Any;
}

/// An object opened for reading parts of it.
pub trait Ranges: Send {
    /// Its size.
    fn len(&self) -> u64;

    /// Whether it is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Fills `buf` from `offset`: an error where the object ends first.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), StoreError>;
}

/// An object read whole, its parts served from memory.
struct WholeObject {
    key: String,
    bytes: bytes::Bytes,
}

impl Ranges for WholeObject {
    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), StoreError> {
        let part = usize::try_from(offset)
            .ok()
            .and_then(|at| self.bytes.get(at..at.checked_add(buf.len())?));
        match part {
            Some(part) => {
                buf.copy_from_slice(part);
                Ok(())
            }
            None => Err(past_the_end(&self.key)),
        }
    }
}

/// An object larger than a reader takes.
pub(crate) fn too_large(target: &str, size: u64, max_bytes: u64) -> StoreError {
    StoreError::new(
        Operation::Read,
        target,
        Problem::Io(io::Error::other(format!(
            "{size} bytes, more than the {max_bytes} expected: not read"
        ))),
    )
}

/// A read past an object's end.
pub(crate) fn past_the_end(target: &str) -> StoreError {
    StoreError::new(
        Operation::Read,
        target,
        Problem::Io(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "a read past its end",
        )),
    )
}

/// `base/rel`, or `rel` when `base` is empty: the key of `rel` under a store's base.
pub fn key_under(base: &str, rel: &str) -> String {
    if base.is_empty() {
        rel.to_string()
    } else {
        format!("{base}/{rel}")
    }
}

/// [`ObjectStore::read_each`] with `in_flight` threads, each reading one object at a time.
pub fn read_each_with_threads<S: ObjectStore + ?Sized>(
    store: &S,
    keys: &[&str],
    in_flight: usize,
    with_metadata: bool,
    each: &mut dyn FnMut(usize, Result<Fetched, StoreError>) -> bool,
) {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let readers = in_flight.clamp(1, keys.len().max(1));
    let (next, stop) = (AtomicUsize::new(0), AtomicBool::new(false));
    let (sender, receiver) = std::sync::mpsc::sync_channel(readers);
    std::thread::scope(|scope| {
        for _ in 0..readers {
            let (sender, next, stop) = (sender.clone(), &next, &stop);
            scope.spawn(move || loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                let Some(key) = keys.get(index).filter(|_| !stop.load(Ordering::Relaxed)) else {
                    return;
                };
                let mut body = Vec::new();
                let fetched = if with_metadata {
                    store.read_with_metadata(key, &mut body)
                } else {
                    store.read(key, &mut body).map(|info| (info, None))
                };
                let fetched = fetched.map(|(info, metadata)| Fetched {
                    body,
                    info,
                    metadata,
                });
                // The receiver is gone only once the caller stopped.
                if sender.send((index, fetched)).is_err() {
                    return;
                }
            });
        }
        drop(sender);
        for (index, fetched) in receiver.iter() {
            if !each(index, fetched) {
                stop.store(true, Ordering::Relaxed);
                break;
            }
        }
        // Dropping the receiver ends the readers' sends.
        drop(receiver);
    });
}
