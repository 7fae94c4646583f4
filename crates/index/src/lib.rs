//! The persistent lookup index: which objects a lookup must read, decided in milliseconds.
//!
//! The archive stays the evidence and the only source of answers: the index only decides
//! which objects to read. Per log object it keeps a catalog row (key, size, ETag or mtime,
//! account, region, delivery time, the real first and last `eventTime`, SHA-256 of the
//! inflated bytes, and anything a scan would report) and a filter of the hashes of its
//! lookup values, derived exactly as lookups derive them ([`value_hash`], [`ValueFilter`]).
//! Rows live in immutable Parquet segments, one group (account x region x delivery month)
//! each, named by a [`Snapshot`] that is replaced as a whole ([`IndexStore`]).
//!
//! A lookup lists its window as a scan does, then [`plan`] keeps only the objects that may
//! match, plus every object the index does not hold or that changed since it was indexed:
//! the answer is the scan's, byte for byte.
#![deny(missing_docs)]

mod build;
mod catalog;
mod filter;
mod group;
mod hash;
mod plan;
mod reader;
mod run;
mod seal;
mod segment;
mod snapshot;
pub mod summary;
mod update;
mod verify;

pub use build::{
    catalog_entry, index_object, index_objects, BuildOptions, IndexedObject, OnIndexed,
};
pub use catalog::{Catalog, CatalogEntry, Freshness, Row};
pub use filter::{BadFilter, ValueFilter};
pub use group::Group;
pub use hash::{issued_key_hash, record_hashes, value_hash, HASH_NAME, HASH_SEED};
pub use plan::{
    deleted_since_indexed, groups_of, plan, plan_probes, plan_sealed, Caps, IndexPlan, Probes,
};
pub use reader::{IndexReader, SegmentsPicked};
pub use run::{join_shards, Coverage, DayListed, RunWork, ShardWork, SHARD_WORK_FORMAT};
pub use seal::{
    day_fingerprints, reseal, sealable_through, BrokenSeal, DaySeal, Fingerprint, Listed, Resealed,
    SealMap, SealedRange,
};
pub use segment::{read_segment, write_segment};
pub use snapshot::{
    segment_files, FileRef, IndexStore, SegmentInfo, Snapshot, FORMAT_NAME, FORMAT_VERSION,
    INDEX_ENTRIES,
};
pub use update::{next_generation, to_index, write_rows, ToIndex, Update, MAX_SEGMENTS_PER_GROUP};
pub use verify::{compare_with_digests, rebuild_and_compare, DigestComparison};

/// What is wrong with an index. Each names the file; none is ever answered with a shorter
/// lookup: the way around is `--no-index` (or rebuilding it).
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The store failed.
    #[error("{0}")]
    Store(String),
    /// No snapshot at all.
    #[error("no index at {0} (build one with `trailscan index --source SRC --index {0}`)")]
    NoIndex(String),
    /// A file that is not what the index wrote.
    #[error("{file}: damaged index file ({problem}); rebuild the index (trailscan index) or run without it (--no-index)")]
    Corrupt {
        /// The file.
        file: String,
        /// What is wrong.
        problem: String,
    },
    /// A segment the snapshot names is not there.
    #[error("{file}: index file missing or unreadable ({problem}); rebuild the index (trailscan index) or run without it (--no-index)")]
    Missing {
        /// The file.
        file: String,
        /// Why.
        problem: String,
    },
    /// Not a trailscan index.
    #[error(
        "{file}: not a trailscan index; give the folder `trailscan index` wrote, or --no-index"
    )]
    Foreign {
        /// The file.
        file: String,
    },
    /// Another format version.
    #[error("{file}: index format {found}, and this trailscan reads format {supported}; rebuild the index with this trailscan (trailscan index into a new folder) or run with --no-index")]
    Version {
        /// The file.
        file: String,
        /// Its version.
        found: u64,
        /// This build's.
        supported: u32,
    },
    /// Another run published this generation first.
    #[error("{file}: another `trailscan index` run updated the index at the same time and published first; nothing was lost: run again to add what this run found")]
    Raced {
        /// The snapshot that exists.
        file: String,
    },
}
