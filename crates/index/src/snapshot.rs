//! The snapshot: one small JSON file naming the live segments, replaced as a whole.
//!
//! Files under the index's folder or prefix:
//! - `snapshots/NNNNNNNNNN.json`, one per generation, each written create-only (a rename
//!   without replacing on disk, `If-None-Match: *` on S3): the highest generation is the
//!   index. Two `trailscan index` runs that both read generation N race to write N+1, and
//!   exactly one wins; the other fails and says so, having changed nothing a reader sees.
//! - `segments/<SHA-256>.parquet`, immutable, named by their content.
//! - `seals/<SHA-256>.json`, the day seals of a generation ([`crate::DaySeal`]), named by
//!   their content; only updates read them.
//! - `current.json`, the generation last published: a hint that spares a lookup listing every
//!   generation ever written. It is written after the generation it names, so it may lag
//!   behind; a reader then looks for the generations after it, one request each, until one
//!   is missing. Without it (an index of an older trailscan, a hint lost) the generations are
//!   listed.
//! - `runs/RUN-ID/shard-K-of-N/`, what each shard of a sharded build (`index --shard`) did,
//!   which the run's publish joins into one generation (see `trailscan_engine`'s sharded
//!   build).

use std::collections::HashMap;

use bytes::Bytes;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use trailscan_archive::digest::sha256_hex;
use trailscan_archive::{key_under, ObjectStore, Problem, StoreError, WriteMode};

use crate::catalog::{Catalog, CatalogEntry, Columns};
use crate::group::Group;
use crate::hash::{HASH_NAME, HASH_SEED};
use crate::seal::{DaySeal, SealedRange};
use crate::segment::{read_columns, write_segment};
use crate::summary::Summary;
use crate::IndexError;
use trailscan_layout::sealed::region_folder_and_day;

/// What a snapshot says it is.
pub const FORMAT_NAME: &str = "trailscan-index";

/// The index's format. Bumped by any change to what a segment holds or how lookup values
/// are derived or hashed ([`trailscan_records::AttributeKey::values_in`], [`crate::value_hash`]):
/// an index of another version is refused and must be rebuilt.
/// Version 4 hashes `EventName` and `EventSource` lowercased (for `hunt`).
pub const FORMAT_VERSION: u32 = 4;

const SNAPSHOTS: &str = "snapshots/";
const SEALS: &str = "seals/";
const POINTER: &str = "current.json";

/// The folders and files an index writes under its folder or prefix, and nothing else: a new
/// index is written only where nothing else is.
pub const INDEX_ENTRIES: [&str; 5] = ["snapshots", "segments", "seals", "runs", "current.json"];

/// The largest snapshot read: about 300 bytes a segment, so room for millions of segments,
/// and a bound on what a damaged or hostile file can make a lookup read.
const MAX_SNAPSHOT_BYTES: u64 = 1 << 30;

/// Whether a segment's file is named as the index names segments, by its SHA-256.
fn is_segment_name(segment: &SegmentInfo) -> bool {
    let hex = &segment.sha256;
    hex.len() == 64
        && hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && segment.file == format!("{SEGMENTS}{hex}.parquet")
}
const SEGMENTS: &str = "segments/";
const SEALS_FORMAT: &str = "trailscan-index-seals";

/// One generation of the index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    /// [`FORMAT_NAME`].
    pub format: String,
    /// [`FORMAT_VERSION`].
    pub version: u32,
    /// The hash of lookup values ([`HASH_NAME`]) and its seed.
    pub hash: String,
    /// The hash's seed.
    pub hash_seed: u64,
    /// This generation: 1 for a new index, one more for each update.
    pub generation: u64,
    /// The segments, oldest first: where two hold the same key, the later one is current.
    pub segments: Vec<SegmentInfo>,
    /// The sealed days of each region folder: a lookup does not list them.
    #[serde(default)]
    pub sealed: Vec<SealedRange>,
    /// The day seals of the sealed days, which an update re-checks the listing against.
    #[serde(default)]
    pub seals: Option<FileRef>,
}

/// A file of the index named by its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRef {
    /// Its key under the index.
    pub file: String,
    /// SHA-256 of its bytes.
    pub sha256: String,
    /// Its size.
    pub bytes: u64,
}

/// A segment as the snapshot names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SegmentInfo {
    /// Its key under the index (`segments/<SHA-256>.parquet`).
    pub file: String,
    /// SHA-256 of its bytes, which `trailscan index --verify` checks.
    pub sha256: String,
    /// XXH3-64 of its bytes (hex), checked on every read: it catches a damaged or truncated
    /// file at a tenth of SHA-256's cost, which a lookup in milliseconds cannot spare.
    pub xxh3: String,
    /// Its size.
    pub bytes: u64,
    /// The group it belongs to: account, region and delivery month (`YYYY-MM`) of its
    /// objects. A lookup reads only the groups of the objects it lists.
    pub account: String,
    /// The group's region.
    pub region: String,
    /// The group's delivery month.
    pub month: String,
    /// The earliest delivery time (epoch seconds, from the keys) of its objects.
    pub first_delivered_at: i64,
    /// The latest delivery time of its objects.
    pub last_delivered_at: i64,
    /// The region folders (`…/ACCOUNT/KIND/REGION`) of its objects: with the seals, whether
    /// every one of its rows lies in a sealed day.
    pub folders: Vec<String>,
    /// Catalog rows.
    pub objects: u64,
    /// Records in its objects.
    pub events: u64,
    /// The earliest and latest `eventTime` of its records (microseconds, rounded outwards),
    /// if any: a lookup whose window misses them needs none of its rows.
    pub event_micros: Option<(i64, i64)>,
    /// Rows with a problem, which every lookup reads (and so reads the segment).
    pub rows_with_problems: u64,
    /// Its largest inflated object and largest record: a lookup with lower caps reads it.
    pub max_inflated_bytes: u64,
    /// See `max_inflated_bytes`.
    pub max_record_bytes: u64,
    /// The size and XXH3-64 (hex) of its summary (`segments/<SHA-256>.summary`, see
    /// [`crate::summary`]).
    pub summary_bytes: u64,
    /// See `summary_bytes`.
    pub summary_xxh3: String,
}

impl SegmentInfo {
    /// The group key.
    pub fn group(&self) -> Group {
        Group {
            account: self.account.clone(),
            region: self.region.clone(),
            month: self.month.clone(),
        }
    }

    /// Whether this segment is of `group`, without building its key: what picks one group's
    /// segments out of a snapshot's, group after group.
    pub fn is_of(&self, group: &Group) -> bool {
        self.account == group.account && self.region == group.region && self.month == group.month
    }
}

/// Where an index lives: a store and the prefix under it.
pub struct IndexStore<'s> {
    store: &'s dyn ObjectStore,
}

impl<'s> IndexStore<'s> {
    /// The index in `store`, under its base.
    pub fn new(store: &'s dyn ObjectStore) -> IndexStore<'s> {
        IndexStore { store }
    }

    /// The store, for messages.
    pub fn name(&self) -> &str {
        self.store.name()
    }

    fn key(&self, rel: &str) -> String {
        key_under(self.store.base(), rel)
    }

    fn display(&self, rel: &str) -> String {
        self.store.display_key(&self.key(rel))
    }

    /// The newest snapshot, or `None` where no index was ever written.
    pub fn current(&self) -> Result<Option<Snapshot>, IndexError> {
        let Some((generation, body)) = self.newest_generation()? else {
            return Ok(None);
        };
        let rel = format!("{SNAPSHOTS}{}", snapshot_name(generation));
        let file = self.display(&rel);
        let bad = |problem: String| IndexError::Corrupt {
            file: file.clone(),
            problem,
        };
        if body.len() as u64 > MAX_SNAPSHOT_BYTES {
            return Err(bad(format!(
                "{} bytes, more than the {MAX_SNAPSHOT_BYTES} a snapshot can be",
                body.len()
            )));
        }
        // The format is checked before the rest: a newer trailscan may add fields. Only the
        // two fields are kept (not a tree of the whole file).
        #[derive(Deserialize)]
        struct Head {
            format: Option<String>,
            version: Option<u64>,
        }
        let head: Head =
            serde_json::from_slice(&body).map_err(|e| bad(format!("not JSON: {e}")))?;
        if head.format.as_deref() != Some(FORMAT_NAME) {
            return Err(IndexError::Foreign { file });
        }
        match head.version {
            Some(v) if v == u64::from(FORMAT_VERSION) => {}
            Some(v) => {
                return Err(IndexError::Version {
                    file,
                    found: v,
                    supported: FORMAT_VERSION,
                })
            }
            None => return Err(bad("no format version".into())),
        }
        let snapshot: Snapshot = serde_json::from_slice(&body).map_err(|e| bad(e.to_string()))?;
        // A segment is read by the name the snapshot gives: only the index's own
        // `segments/<SHA-256>.parquet`, never any other key of the store.
        if let Some(segment) = snapshot.segments.iter().find(|s| !is_segment_name(s)) {
            return Err(bad(format!(
                "names a segment {:?} that is not segments/<its SHA-256>.parquet",
                segment.file
            )));
        }
        crate::seal::SealMap::new(&snapshot.sealed).map_err(bad)?;
        if snapshot.hash != HASH_NAME || snapshot.hash_seed != HASH_SEED {
            return Err(bad(format!(
                "values hashed with {} seed {}, not {HASH_NAME} seed {HASH_SEED}",
                snapshot.hash, snapshot.hash_seed
            )));
        }
        if snapshot.generation != generation {
            return Err(bad(format!(
                "says generation {} in file {generation}",
                snapshot.generation
            )));
        }
        Ok(Some(snapshot))
    }

    /// The newest generation and its snapshot's bytes: from the pointer and the generations
    /// after it where there is a pointer, else from a listing of every generation.
    fn newest_generation(&self) -> Result<Option<(u64, Vec<u8>)>, IndexError> {
        let store_error = |e: StoreError| IndexError::Store(e.to_string());
        let read = |generation: u64| -> Result<Option<Vec<u8>>, IndexError> {
            let rel = format!("{SNAPSHOTS}{}", snapshot_name(generation));
            match self.store.read_at_most(&self.key(&rel), MAX_SNAPSHOT_BYTES) {
                Ok(body) => Ok(Some(body.to_vec())),
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(store_error(e)),
            }
        };
        let hint = self.pointer()?;
        let mut newest = match hint {
            Some(generation) => read(generation)?.map(|body| (generation, body)),
            None => None,
        };
        if newest.is_none() {
            // No pointer, or one naming a generation not there: every generation, listed.
            let listed = self
                .store
                .list_keys(&self.key(SNAPSHOTS), "")
                .map_err(store_error)?;
            let generation = listed
                .iter()
                .filter_map(|o| {
                    let name = o.key.rsplit('/').next()?;
                    let generation: u64 = name.strip_suffix(".json")?.parse().ok()?;
                    (name == snapshot_name(generation)).then_some(generation)
                })
                .max();
            newest = match generation {
                Some(g) => read(g)?.map(|body| (g, body)),
                None => None,
            };
        }
        // A pointer may lag behind what was published since: look for the next ones.
        while let Some(next) = newest.as_ref().and_then(|(g, _)| g.checked_add(1)) {
            match read(next)? {
                Some(body) => newest = Some((next, body)),
                None => break,
            }
        }
        Ok(newest)
    }

    /// The generation `current.json` names, if it names one.
    fn pointer(&self) -> Result<Option<u64>, IndexError> {
        let body = match self.store.read_at_most(&self.key(POINTER), 4096) {
            Ok(body) => body,
            Err(e) if e.is_not_found() => return Ok(None),
            // A hint: one too large or unreadable is passed over for the listing.
            Err(_) => return Ok(None),
        };
        #[derive(Deserialize)]
        struct Pointer {
            generation: u64,
        }
        // Only a hint: a damaged one is passed over for the listing.
        Ok(serde_json::from_slice::<Pointer>(&body)
            .ok()
            .map(|p| p.generation))
    }

    /// Reads the segments that `wanted` picks, `in_flight` at once, checking each against its
    /// XXH3 (and with `thorough`, its SHA-256): their rows by key.
    pub fn load(
        &self,
        snapshot: &Snapshot,
        wanted: impl Fn(&SegmentInfo) -> bool,
        in_flight: usize,
        thorough: bool,
    ) -> Result<Catalog, IndexError> {
        let picked: Vec<&SegmentInfo> = snapshot.segments.iter().filter(|s| wanted(s)).collect();
        let mut catalog = Catalog::default();
        for columns in self.load_columns(&picked, in_flight, thorough)? {
            catalog.add(columns);
        }
        Ok(catalog)
    }

    /// Reads `picked` segments, `in_flight` at once, each checked against its XXH3 (and with
    /// `thorough`, its SHA-256): each one's columns, in `picked`'s order.
    pub(crate) fn load_columns(
        &self,
        picked: &[&SegmentInfo],
        in_flight: usize,
        thorough: bool,
    ) -> Result<Vec<Vec<Columns>>, IndexError> {
        let keys: Vec<String> = picked.iter().map(|s| self.key(&s.file)).collect();
        let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let check = |i: usize, body: Result<Bytes, StoreError>| {
            let info = picked[i];
            let file = self.display(&info.file);
            let body = body.map_err(|e| IndexError::Missing {
                file: file.clone(),
                problem: e.to_string(),
            })?;
            let damaged = |what: &str| IndexError::Corrupt {
                file: file.clone(),
                problem: format!(
                    "{} bytes whose {what} is not the snapshot's ({} bytes expected)",
                    body.len(),
                    info.bytes
                ),
            };
            if body.len() as u64 != info.bytes || xxh3_hex(&body) != info.xxh3 {
                return Err(damaged("XXH3 checksum"));
            }
            if thorough && sha256_hex(&body) != info.sha256 {
                return Err(damaged("SHA-256"));
            }
            read_columns(body).map_err(|problem| IndexError::Corrupt {
                file: file.clone(),
                problem,
            })
        };
        let sizes: Vec<u64> = picked.iter().map(|s| s.bytes).collect();
        let mut read = self.read_bounded(&key_refs, &sizes, in_flight, check);
        read.sort_by_key(|(i, _)| *i);
        read.into_iter().map(|(_, columns)| columns).collect()
    }

    /// Reads each of `keys`, refused where larger than its `sizes` (not fetched: S3 says the
    /// size before the body), and hands it to `check`: across a network `in_flight` at once, on
    /// disk on every core (each shared where it lies, mapped rather than copied).
    fn read_bounded<T: Send>(
        &self,
        keys: &[&str],
        sizes: &[u64],
        in_flight: usize,
        check: impl Fn(usize, Result<Bytes, StoreError>) -> T + Sync,
    ) -> Vec<(usize, T)> {
        let read = |(i, key): (usize, &&str)| (i, check(i, self.store.read_at_most(key, sizes[i])));
        let all = || keys.par_iter().enumerate().map(read).collect();
        match self.store.is_remote() {
            true => match rayon::ThreadPoolBuilder::new()
                .num_threads(in_flight.clamp(1, keys.len().max(1)))
                .build()
            {
                Ok(pool) => pool.install(all),
                Err(_) => all(),
            },
            false => all(),
        }
    }

    /// Writes a segment of `rows` (sorted by key) with its `summary`, and says what it is. A
    /// segment already there under the same name has the same bytes (the name is their hash).
    pub fn write_segment(
        &self,
        group: &Group,
        rows: &[CatalogEntry],
        summary: &[u8],
    ) -> Result<SegmentInfo, IndexError> {
        let bytes = write_segment(rows)
            .map_err(|e| IndexError::Store(format!("cannot encode a segment: {e}")))?;
        let sha256 = sha256_hex(&bytes);
        let file = format!("{SEGMENTS}{sha256}.parquet");
        // The summary first: a segment a snapshot names always has one.
        for (name, body) in [(summary_file(&sha256), summary), (file.clone(), &bytes[..])] {
            match self
                .store
                .write(&self.key(&name), body, None, WriteMode::CreateNew)
            {
                Ok(())
                | Err(StoreError {
                    problem: Problem::Exists,
                    ..
                }) => {}
                Err(e) => return Err(IndexError::Store(e.to_string())),
            }
        }
        let folders: std::collections::BTreeSet<&str> = rows
            .iter()
            .filter_map(|r| region_folder_and_day(&r.key).map(|(folder, _)| folder))
            .collect();
        let times = rows.iter().filter_map(|r| r.event_micros);
        let event_micros = times.reduce(|(a, b), (c, d)| (a.min(c), b.max(d)));
        Ok(SegmentInfo {
            file,
            sha256,
            xxh3: xxh3_hex(&bytes),
            bytes: bytes.len() as u64,
            account: group.account.clone(),
            region: group.region.clone(),
            month: group.month.clone(),
            first_delivered_at: rows.iter().map(|r| r.delivered_at).min().unwrap_or(0),
            last_delivered_at: rows.iter().map(|r| r.delivered_at).max().unwrap_or(0),
            folders: folders.into_iter().map(str::to_string).collect(),
            objects: rows.len() as u64,
            events: rows.iter().map(|r| r.events).sum(),
            event_micros,
            rows_with_problems: rows.iter().filter(|r| r.problem.is_some()).count() as u64,
            max_inflated_bytes: rows.iter().map(|r| r.inflated_bytes).max().unwrap_or(0),
            max_record_bytes: rows.iter().map(|r| r.max_record_bytes).max().unwrap_or(0),
            summary_bytes: summary.len() as u64,
            summary_xxh3: xxh3_hex(summary),
        })
    }

    /// Reads the summaries of `segments`, `in_flight` at once, each checked against its size
    /// (its buckets are checked as they are probed).
    pub fn read_summaries(
        &self,
        segments: &[&SegmentInfo],
        in_flight: usize,
    ) -> Result<Vec<Bytes>, IndexError> {
        let keys: Vec<String> = segments
            .iter()
            .map(|s| self.key(&summary_file(&s.sha256)))
            .collect();
        let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let check = |i: usize, body: Result<Bytes, StoreError>| {
            let body = body.map_err(|e| self.summary_missing(segments[i], e))?;
            self.check_summary_size(segments[i], body.len() as u64)?;
            Ok(body)
        };
        let sizes: Vec<u64> = segments.iter().map(|s| s.summary_bytes).collect();
        let mut read = self.read_bounded(&key_refs, &sizes, in_flight, check);
        read.sort_by_key(|(i, _)| *i);
        read.into_iter().map(|(_, body)| body).collect()
    }

    /// What `probe` says of `segment`'s summary, opened where it lies (only what the probe
    /// reads is read), checked against the snapshot's size.
    pub fn probe_summary(
        &self,
        segment: &SegmentInfo,
        probe: impl FnOnce(Summary) -> Result<bool, String>,
    ) -> Result<bool, IndexError> {
        let key = self.key(&summary_file(&segment.sha256));
        let file = self
            .store
            .open_ranges(&key)
            .map_err(|e| self.summary_missing(segment, e))?;
        self.check_summary_size(segment, file.len())?;
        Summary::open(file)
            .and_then(probe)
            .map_err(|problem| self.summary_damaged(segment, problem))
    }

    /// A summary that could not be read.
    fn summary_missing(&self, segment: &SegmentInfo, e: StoreError) -> IndexError {
        IndexError::Missing {
            file: self.display(&summary_file(&segment.sha256)),
            problem: e.to_string(),
        }
    }

    /// A summary whose size is not the snapshot's is damaged.
    fn check_summary_size(&self, segment: &SegmentInfo, len: u64) -> Result<(), IndexError> {
        match len == segment.summary_bytes {
            true => Ok(()),
            false => Err(self.summary_damaged(
                segment,
                format!(
                    "{len} bytes, not the {} the snapshot says",
                    segment.summary_bytes
                ),
            )),
        }
    }

    /// A summary found damaged.
    pub fn summary_damaged(&self, segment: &SegmentInfo, problem: String) -> IndexError {
        IndexError::Corrupt {
            file: self.display(&summary_file(&segment.sha256)),
            problem,
        }
    }

    /// The whole summary of `segment`, checked against the snapshot's XXH3 (for a merge,
    /// which copies it).
    pub fn read_summary(&self, segment: &SegmentInfo) -> Result<Vec<u8>, IndexError> {
        let body = self.read_summaries(&[segment], 1)?.remove(0);
        match xxh3_hex(&body) == segment.summary_xxh3 {
            true => Ok(body.to_vec()),
            false => Err(IndexError::Corrupt {
                file: self.display(&summary_file(&segment.sha256)),
                problem: "its XXH3 checksum is not the snapshot's".into(),
            }),
        }
    }

    /// The files of `segments` (each segment and its summary) that are not in the index with
    /// the size recorded, by name: one listing of the segments' folder, not a request each.
    pub fn unwritten(&self, segments: &[SegmentInfo]) -> Result<Vec<String>, IndexError> {
        if segments.is_empty() {
            return Ok(Vec::new());
        }
        let base = self.key("");
        let sizes: HashMap<String, u64> = self
            .store
            .list_keys(&self.key(SEGMENTS), "")
            .map_err(|e| IndexError::Store(e.to_string()))?
            .into_iter()
            .map(|o| {
                (
                    o.key.strip_prefix(&base).unwrap_or(&o.key).to_string(),
                    o.size,
                )
            })
            .collect();
        let mut missing = Vec::new();
        for segment in segments {
            if !is_segment_name(segment) {
                missing.push(format!("{:?} (not the name of a segment)", segment.file));
                continue;
            }
            let files = [
                (segment.file.clone(), segment.bytes),
                (summary_file(&segment.sha256), segment.summary_bytes),
            ];
            for (file, bytes) in files {
                if sizes.get(&file) != Some(&bytes) {
                    missing.push(self.display(&file));
                }
            }
        }
        Ok(missing)
    }

    /// Publishes `snapshot` as its generation, create-only, then points `current.json` at it.
    pub fn publish(&self, snapshot: &Snapshot) -> Result<(), IndexError> {
        let rel = format!("{SNAPSHOTS}{}", snapshot_name(snapshot.generation));
        let mut body = serde_json::to_vec_pretty(snapshot).expect("a snapshot serializes");
        body.push(b'\n');
        match self
            .store
            .write(&self.key(&rel), &body, None, WriteMode::CreateNew)
        {
            Ok(()) => {}
            Err(StoreError {
                problem: Problem::Exists,
                ..
            }) => {
                return Err(IndexError::Raced {
                    file: self.display(&rel),
                })
            }
            Err(e) => return Err(IndexError::Store(e.to_string())),
        }
        // Published: the pointer is a hint, and a reader finds a generation it does not name.
        let pointer = format!("{{\"generation\": {}}}\n", snapshot.generation);
        self.store
            .write(
                &self.key(POINTER),
                pointer.as_bytes(),
                None,
                WriteMode::Replace,
            )
            .map_err(|e| IndexError::Store(e.to_string()))
    }

    /// The snapshot of `generation`, if it is there (read as [`IndexStore::current`] reads
    /// the newest).
    pub fn generation(&self, generation: u64) -> Result<Option<Snapshot>, IndexError> {
        let rel = format!("{SNAPSHOTS}{}", snapshot_name(generation));
        let body = match self.store.read_at_most(&self.key(&rel), MAX_SNAPSHOT_BYTES) {
            Ok(body) => body,
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(IndexError::Store(e.to_string())),
        };
        serde_json::from_slice(&body)
            .map(Some)
            .map_err(|e| IndexError::Corrupt {
                file: self.display(&rel),
                problem: e.to_string(),
            })
    }

    /// Removes what no kept generation names: the snapshots older than `keep` generations
    /// back from `current`, and the segments, summaries and seals only those named. Only the
    /// index's own names are touched (`snapshots/N.json`, `segments/<sha>.parquet|.summary`,
    /// `seals/<sha>.json`), and only files older than the current snapshot: an update running
    /// meanwhile started from it, so what it has written and not yet published is newer (as is
    /// a generation published since). Returns the files removed and their bytes.
    ///
    /// `also_kept` names more files to keep (relative to the index): the segments of sharded
    /// runs not yet published.
    pub fn collect_garbage(
        &self,
        current: &Snapshot,
        keep: u64,
        also_kept: &std::collections::HashSet<String>,
    ) -> Result<(u64, u64), IndexError> {
        let oldest_kept = current
            .generation
            .saturating_sub(keep.saturating_sub(1))
            .max(1);
        let mut named: std::collections::HashSet<String> = std::collections::HashSet::new();
        for generation in oldest_kept..=current.generation {
            let Some(snapshot) = self.generation(generation)? else {
                continue;
            };
            named.insert(format!("{SNAPSHOTS}{}", snapshot_name(generation)));
            for segment in &snapshot.segments {
                named.insert(segment.file.clone());
                named.insert(summary_file(&segment.sha256));
            }
            if let Some(seals) = &snapshot.seals {
                named.insert(seals.file.clone());
            }
        }
        let base = self.key("");
        let listed = self
            .store
            .list_keys(&base, "")
            .map_err(|e| IndexError::Store(e.to_string()))?;
        let current_file = format!("{SNAPSHOTS}{}", snapshot_name(current.generation));
        let published = listed
            .iter()
            .find(|o| o.key.strip_prefix(&base) == Some(current_file.as_str()))
            .and_then(|o| o.modified);
        let (mut files, mut bytes) = (0, 0);
        for object in listed {
            let rel = object.key.strip_prefix(&base).unwrap_or(&object.key);
            let older = matches!((object.modified, published), (Some(m), Some(p)) if m < p);
            if named.contains(rel) || also_kept.contains(rel) || !is_index_file(rel) || !older {
                continue;
            }
            self.store
                .delete(&object.key)
                .map_err(|e| IndexError::Store(e.to_string()))?;
            files += 1;
            bytes += object.size;
        }
        Ok((files, bytes))
    }

    /// Writes the day seals of a generation, named by their content.
    pub fn write_seals(&self, days: &[DaySeal]) -> Result<FileRef, IndexError> {
        #[derive(Serialize)]
        struct Seals<'a> {
            format: &'a str,
            days: &'a [DaySeal],
        }
        let mut body = serde_json::to_vec(&Seals {
            format: SEALS_FORMAT,
            days,
        })
        .expect("seals serialize");
        body.push(b'\n');
        let sha256 = sha256_hex(&body);
        let file = format!("{SEALS}{sha256}.json");
        match self
            .store
            .write(&self.key(&file), &body, None, WriteMode::CreateNew)
        {
            Ok(())
            | Err(StoreError {
                problem: Problem::Exists,
                ..
            }) => {}
            Err(e) => return Err(IndexError::Store(e.to_string())),
        }
        Ok(FileRef {
            file,
            sha256,
            bytes: body.len() as u64,
        })
    }

    /// The day seals `snapshot` names (none where it names none), checked against their
    /// SHA-256.
    pub fn read_seals(&self, snapshot: &Snapshot) -> Result<Vec<DaySeal>, IndexError> {
        let Some(seals) = &snapshot.seals else {
            return Ok(Vec::new());
        };
        let file = self.display(&seals.file);
        let bad = |problem: String| IndexError::Corrupt {
            file: file.clone(),
            problem,
        };
        if seals.file != format!("{SEALS}{}.json", seals.sha256) || seals.bytes > MAX_SNAPSHOT_BYTES
        {
            return Err(bad("not a seals file the index names by its SHA-256".into()));
        }
        let body = self
            .store
            .read_at_most(&self.key(&seals.file), seals.bytes)
            .map_err(|e| IndexError::Missing {
                file: file.clone(),
                problem: e.to_string(),
            })?;
        if body.len() as u64 != seals.bytes || sha256_hex(&body) != seals.sha256 {
            return Err(bad("its SHA-256 is not the snapshot's".into()));
        }
        #[derive(Deserialize)]
        struct Seals {
            format: String,
            days: Vec<DaySeal>,
        }
        let parsed: Seals = serde_json::from_slice(&body).map_err(|e| bad(e.to_string()))?;
        match parsed.format == SEALS_FORMAT {
            true => Ok(parsed.days),
            false => Err(bad(format!("format {:?}", parsed.format))),
        }
    }
}

impl Snapshot {
    /// The latest delivery time of any indexed object, if any.
    pub fn last_delivered_at(&self) -> Option<i64> {
        self.segments.iter().map(|s| s.last_delivered_at).max()
    }

    /// The object rows, events and bytes of its segments.
    pub fn totals(&self) -> (u64, u64, u64) {
        self.segments.iter().fold((0, 0, 0), |(o, e, b), s| {
            (o + s.objects, e + s.events, b + s.bytes)
        })
    }

    /// An empty index's first generation.
    pub fn first() -> Snapshot {
        Snapshot {
            format: FORMAT_NAME.to_string(),
            version: FORMAT_VERSION,
            hash: HASH_NAME.to_string(),
            hash_seed: HASH_SEED,
            generation: 0,
            segments: Vec::new(),
            sealed: Vec::new(),
            seals: None,
        }
    }
}

/// Whether `rel` is named as the index names its files (what garbage collection may remove).
fn is_index_file(rel: &str) -> bool {
    let hex = |s: &str| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
    if let Some(name) = rel.strip_prefix(SNAPSHOTS) {
        let generation = name
            .strip_suffix(".json")
            .and_then(|g| g.parse::<u64>().ok());
        return generation.is_some_and(|g| name == snapshot_name(g));
    }
    if let Some(name) = rel.strip_prefix(SEGMENTS) {
        let stem = name
            .strip_suffix(".parquet")
            .or_else(|| name.strip_suffix(".summary"));
        return stem.is_some_and(hex);
    }
    rel.strip_prefix(SEALS)
        .and_then(|name| name.strip_suffix(".json"))
        .is_some_and(hex)
}

/// The files of a segment: itself and its summary (relative to the index).
pub fn segment_files(segment: &SegmentInfo) -> [String; 2] {
    [segment.file.clone(), summary_file(&segment.sha256)]
}

/// A segment's summary file, named after the segment.
fn summary_file(segment_sha256: &str) -> String {
    format!("{SEGMENTS}{segment_sha256}.summary")
}

fn snapshot_name(generation: u64) -> String {
    format!("{generation:010}.json")
}

/// XXH3-64 of `bytes`, 16 hex digits.
fn xxh3_hex(bytes: &[u8]) -> String {
    format!("{:016x}", twox_hash::XxHash3_64::oneshot(bytes))
}
