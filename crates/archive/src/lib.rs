//! Where CloudTrail objects live and how to get their bytes.
//!
//! [`ObjectStore`] is the one seam between trailscan and storage: a folder on disk
//! ([`LocalFolder`]), a bucket in S3 (`s3::S3Bucket`, with the `s3` feature), or memory
//! ([`MemoryStore`]); [`open_archive`] and its siblings turn what a user types into one. Over
//! any store, [`list`] walks CloudTrail's layout into the objects a [`Selection`] needs, and
//! [`inflate`] turns an object's bytes into JSON text with a size cap and a check for data
//! after the gzip stream. Keys become local paths in one audited function
//! ([`LocalFolder::path_of`]). This crate never parses CloudTrail's JSON.
//!
//! ```
//! use trailscan_archive::{list, MemoryStore, ObjectStore, WriteMode};
//! use trailscan_layout::Selection;
//!
//! let bucket = MemoryStore::new();
//! let key = "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/\
//!            111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz";
//! bucket.write(key, b"...", None, WriteMode::CreateNew).unwrap();
//! let listing = list(&bucket, &Selection::default()).unwrap();
//! assert_eq!(listing.objects[0].layout.account, "111122223333");
//! ```
#![deny(missing_docs)]

pub mod digest;
mod fetch;
mod folder;
pub mod inflate;
mod listing;
mod memory;
mod object;
mod open;
#[cfg(feature = "s3")]
pub mod s3;
mod s3_options;
pub mod sidecar;
mod store;

pub use fetch::{alongside, joined, map_fetched, map_fetched_until};
pub use folder::LocalFolder;
pub use listing::{
    find_day_folders, in_listing_threads, list, list_day_folders, list_streaming, list_unsealed,
    Deliver, SealedFolders,
};
pub use memory::MemoryStore;
pub use object::{Listing, ObjectRef};
pub use open::{is_s3_url, open_archive, open_destination, open_existing};
pub use s3_options::S3Options;
pub use store::{
    key_under, read_each_with_threads, DirListing, Fetched, ObjectInfo, ObjectMetadata,
    ObjectStore, Operation, Problem, Ranges, RequestCounts, StoreError, UserMetadata, WriteMode,
};

/// Requests kept in flight to S3 before any round trip was timed (the listing's first
/// levels), unless `--max-concurrent-requests` says otherwise.
pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 64;

/// The fewest requests in flight that trailscan sizes for a round trip: on a co-located
/// server, where more compete with the server for the cores.
pub const MIN_AUTO_REQUESTS: usize = 32;

/// The most requests in flight that trailscan sizes for a round trip (from 32 ms on two
/// cores): a thread waits on each, and beyond this many they cost more than they hide
/// (measured at 80 ms: 512 in flight were slower than 256).
pub const MAX_AUTO_REQUESTS: usize = 256;

/// CPU workers: one per core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}
