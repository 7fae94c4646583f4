//! Where a scan reads: a copy on disk or a bucket in S3, behind one interface.

use std::io;
use std::path::Path;

use crate::local::{ListError, LocalArchive};
use crate::object::{Listing, Location, ObjectRef};
use crate::s3::{FetchError, S3Archive, S3Options};
use crate::select::Selection;

/// An archive to scan.
#[derive(Debug)]
pub enum Source {
    /// A folder on disk.
    Local(LocalArchive),
    /// `s3://bucket[/prefix]`.
    S3(S3Archive),
}

impl Source {
    /// `s3://bucket[/prefix]` or a folder.
    pub fn open(spec: &str, s3: &S3Options) -> Result<Source, ListError> {
        if spec.starts_with("s3://") {
            S3Archive::open(spec, s3).map(Source::S3)
        } else {
            LocalArchive::open(Path::new(spec)).map(Source::Local)
        }
    }

    /// The source as a person would name it.
    pub fn name(&self) -> String {
        match self {
            Source::Local(a) => a.root().display().to_string(),
            Source::S3(a) => a.url(),
        }
    }

    /// Lists the objects `selection` needs.
    pub fn list(&self, selection: &Selection) -> Result<Listing, ListError> {
        match self {
            Source::Local(a) => a.list(selection),
            Source::S3(a) => a.list(selection),
        }
    }

    /// Reads an object into `buf`.
    pub fn read(&self, object: &ObjectRef, buf: &mut Vec<u8>) -> io::Result<()> {
        match (&object.location, self) {
            (Location::Local(path), _) => ObjectRef::read_local(path, buf),
            (Location::S3 { key, .. }, Source::S3(a)) => a.fetch(key, buf).map_err(|e| match e {
                FetchError::NotFound => io::Error::new(
                    io::ErrorKind::NotFound,
                    "not found (deleted since it was listed?)",
                ),
                FetchError::Failed(m) => io::Error::other(m),
            }),
            (Location::S3 { .. }, Source::Local(_)) => {
                Err(io::Error::other("an S3 object in a local source"))
            }
        }
    }

    /// Threads that keep the cores busy for this source: see [`default_threads`].
    pub fn default_threads(&self) -> usize {
        default_threads(matches!(self, Source::S3(_)))
    }
}

/// Threads that keep the cores busy: one per core on disk; from S3, where a worker waits for
/// its GET, enough to keep requests in flight (16 or two per core).
pub fn default_threads(from_s3: bool) -> usize {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    if from_s3 {
        (2 * cores).max(16)
    } else {
        cores
    }
}
