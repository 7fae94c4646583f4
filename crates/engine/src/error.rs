//! What can stop the engine before or around a scan. Problems with single objects never do:
//! they are reported ([`crate::Reporter::problem`]) and counted, and the scan goes on.

use trailscan_archive::StoreError;
use trailscan_index::IndexError;

/// Why a source could not be opened, listed or read with its index.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The source (or another store) failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The index is missing, damaged or of another version.
    #[error(transparent)]
    Index(#[from] IndexError),
    /// The index's store could not be opened.
    #[error("cannot open the index {location}")]
    OpenIndex {
        /// `--index` as given.
        location: String,
        /// Why.
        #[source]
        source: StoreError,
    },
    /// The source lists no `AWSLogs/` folder at all.
    #[error("no AWSLogs/ folder under {0}: give the bucket CloudTrail delivers to (s3://BUCKET[/PREFIX]), a copy of it, or a folder inside it")]
    NotAnArchive(String),
    /// An index would be written among files that are not an index's.
    #[error("{0} holds other files and no trailscan index: give an empty folder (or a new prefix) for the index, or the folder of an existing one")]
    NotAnIndexFolder(String),
    /// A sharded run's records could not be written or read back whole.
    #[error(transparent)]
    Shard(#[from] trailscan_shards::ShardError),
    /// A sharded index build's run cannot be published.
    #[error("{run}: {problem}")]
    Run {
        /// The run's folder.
        run: String,
        /// Why, and what to do.
        problem: String,
    },
    /// The worker threads could not be started.
    #[error("cannot start worker threads")]
    Threads(#[source] rayon::ThreadPoolBuildError),
}
