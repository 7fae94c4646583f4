//! Turning a location as the user gives it (`./evidence`, `s3://bucket/prefix`) into a store:
//! the one place that tells S3 from disk.

use std::path::Path;

use crate::folder::LocalFolder;
use crate::s3_options::S3Options;
use crate::store::{ObjectStore, StoreError};

/// Whether a location names S3 (`s3://bucket[/prefix]`).
pub fn is_s3_url(location: &str) -> bool {
    location.starts_with("s3://")
}

#[cfg(feature = "s3")]
fn open_bucket(url: &str, options: &S3Options) -> Result<Box<dyn ObjectStore>, StoreError> {
    Ok(Box::new(crate::s3::S3Bucket::open(url, options)?))
}

#[cfg(not(feature = "s3"))]
fn open_bucket(url: &str, _: &S3Options) -> Result<Box<dyn ObjectStore>, StoreError> {
    use crate::store::{Operation, Problem};
    Err(StoreError::new(Operation::Open, url, Problem::NoS3Support))
}

/// A CloudTrail archive to read: a bucket, or a folder holding one or more `AWSLogs/` trees
/// (a copy of a bucket, a key-prefix folder, or a folder inside `AWSLogs/`).
pub fn open_archive(location: &str, s3: &S3Options) -> Result<Box<dyn ObjectStore>, StoreError> {
    if is_s3_url(location) {
        open_bucket(location, s3)
    } else {
        Ok(Box::new(LocalFolder::open_archive(Path::new(location))?))
    }
}

/// An existing location whose keys start where it points: a folder or a bucket's prefix.
pub fn open_existing(location: &str, s3: &S3Options) -> Result<Box<dyn ObjectStore>, StoreError> {
    if is_s3_url(location) {
        open_bucket(location, s3)
    } else {
        Ok(Box::new(LocalFolder::open(Path::new(location))?))
    }
}

/// Where to write: a folder (created if needed) or a bucket's prefix.
pub fn open_destination(
    location: &str,
    s3: &S3Options,
) -> Result<Box<dyn ObjectStore>, StoreError> {
    if is_s3_url(location) {
        open_bucket(location, s3)
    } else {
        Ok(Box::new(LocalFolder::create(Path::new(location))?))
    }
}
