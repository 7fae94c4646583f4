//! The export's pipeline: the scan's matches into rows per worker ([`RowSink`]), batches of
//! objects handed to a writer thread, partitions finished once no more rows can come to
//! them, and closed files published at the destination ([`Destination`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};

use trailscan_archive::{
    key_under, open_destination, ObjectRef, ObjectStore, S3Options, StoreError, WriteMode,
};
use trailscan_query::{Match, ObjectProblem, RecordSink, ScanStats};

use crate::columns::{Provenance, RowsBuilder};
use crate::error::ExportError;
use crate::table::record_delivery_days;
use crate::writer::{
    delivery_day_number, DeliveryDay, Partition, PartitionWriter, WriteTimes, WrittenFile,
};
use crate::RecordBatch;

/// Objects scanned between two hand-overs to the writer, at most: bounds the rows held in
/// memory while keeping every core busy.
pub const OBJECTS_PER_BATCH: usize = 256;

/// Stored (compressed) bytes scanned between two hand-overs to the writer, per thread of the
/// scan, at most, whatever the number of objects: three batches' rows are held at once (one
/// scanned, one waiting, one written), so a batch's size is what export's memory follows. A
/// count alone made it follow the log files' size: batches of 256 files of 30 KB (a quiet
/// region's) are 8 MB of gzip each and took export to 263 MiB, and a busy region's 10 MB
/// files would take gigabytes. Measured on 2 cores (BENCHMARKS.md): 512 KiB a thread held 77 MiB at 900k
/// events and 85 MiB at 9M, in the same time as 256 files; 1 MiB a thread, 97 and 122 MiB.
/// An object larger than a batch is a batch of its own.
pub const BYTES_PER_BATCH_PER_THREAD: u64 = 512 << 10;

/// Memory the rows in flight take per stored byte of a batch: a MiB of gzip is about 20 MiB
/// of rows, three batches at once; a batch stays within this share of the memory budget.
const HELD_PER_STORED_BYTE: u64 = 64;

/// The stored bytes of a batch, at most, for a scan on `threads` threads within
/// `memory_budget`.
fn batch_bytes(threads: usize, memory_budget: u64) -> u64 {
    let per_threads = BYTES_PER_BATCH_PER_THREAD.saturating_mul(threads as u64);
    per_threads.min(memory_budget / HELD_PER_STORED_BYTE).max(1)
}

/// What an export wrote, and where the writer's time went.
pub struct Exported {
    /// The files written, as published.
    pub files: Vec<WrittenFile>,
    /// The scans' counts, over every batch.
    pub stats: ScanStats,
    /// Time spent scanning (on every core).
    pub scanning: Duration,
    /// CPU time spent turning records into rows, summed over the scan's threads.
    pub building: Duration,
    /// The time the writer's thread was busy.
    pub writing: Duration,
    /// Where the writer's time went.
    pub times: WriteTimes,
    /// Moving closed files into place (from S3: uploading them).
    pub publishing: Duration,
    /// Row groups written before they were full, to stay within the memory budget.
    pub early_row_groups: u64,
    /// Files an earlier export wrote for the delivery days read that this one did not write
    /// again, removed.
    pub stale_removed: u64,
    /// Every delivery day read (each whole), those written and those not.
    pub days: BTreeSet<DeliveryDay>,
    /// Delivery days not written because one of their objects could not be read: what an
    /// earlier export wrote for them is kept as it was.
    pub failed_days: BTreeSet<DeliveryDay>,
}

/// Exports `objects`: `scan` reads each batch of them (consecutive objects of one account and
/// region) into rows, and `writer` sorts, encodes and writes them on a thread of its own
/// while the next batch is scanned; one batch waits in between at most, which bounds memory.
/// The encoding runs on `pool` (the scan's workers), a row group's columns in parallel,
/// taking the cores the scan leaves idle. Closed files are published at `destination`; then
/// the manifest of every delivery day of `days` (those read, each whole) is written and the
/// files those days no longer have are removed ([`crate::record_delivery_days`]).
pub fn export_objects(
    objects: impl Iterator<Item = ObjectRef>,
    days: impl FnOnce() -> BTreeSet<DeliveryDay>,
    writer: PartitionWriter,
    destination: &Destination,
    pool: &rayon::ThreadPool,
    mut scan: impl FnMut(&[ObjectRef]) -> (RowSink, ScanStats),
) -> Result<Exported, ExportError> {
    let mut stats = ScanStats::default();
    let (mut scanning, mut building) = (Duration::ZERO, Duration::ZERO);
    let memory_budget = writer.memory_budget();
    let (to_writer, batches_to_write) = sync_channel::<WriterBatch>(1);
    let written = std::thread::scope(|scope| -> Result<WriterResult, ExportError> {
        let writer_thread =
            scope.spawn(|| write_batches(writer, batches_to_write, destination, pool));
        let limit = batch_bytes(pool.current_num_threads(), memory_budget);
        for batch in batches(objects, limit) {
            let scan_started = Instant::now();
            let (mut sink, batch_stats) = scan(&batch);
            scanning += scan_started.elapsed();
            building += sink.build_time;
            stats.add(&batch_stats);
            let first = &batch[0].layout;
            let failed_days = std::mem::take(&mut sink.failed_days);
            let job = WriterBatch {
                account: first.account.clone(),
                region: first.region.clone(),
                failed_days,
                partitions: sink.into_partitions(&first.account, &first.region)?,
                // The listing is sorted by key, so by delivery day: rows of earlier delivery
                // days of this account and region stop coming.
                delivered_day: delivery_day_number(&batch[batch.len() - 1]),
            };
            if to_writer.send(job).is_err() {
                // The writer stopped on an error, which its join below returns.
                break;
            }
        }
        drop(to_writer);
        trailscan_archive::joined(writer_thread)
    })?;
    let days = days();
    let complete: BTreeSet<DeliveryDay> = days.difference(&written.failed_days).cloned().collect();
    let stale_removed = record_delivery_days(&*destination.store, &complete, &written.files)?;
    Ok(Exported {
        days,
        stale_removed,
        failed_days: written.failed_days,
        files: written.files,
        stats,
        scanning,
        building,
        writing: written.busy,
        times: written.times,
        publishing: written.publishing,
        early_row_groups: written.early_row_groups,
    })
}

/// Consecutive objects of one account and region (the objects come in key order, so by
/// account, region and delivery day), at most [`OBJECTS_PER_BATCH`] and `limit` stored bytes
/// at a time.
fn batches(
    objects: impl Iterator<Item = ObjectRef>,
    limit: u64,
) -> impl Iterator<Item = Vec<ObjectRef>> {
    let mut objects = objects.peekable();
    std::iter::from_fn(move || {
        let first = objects.next()?;
        let (account, region) = (first.layout.account.clone(), first.layout.region.clone());
        let mut bytes = first.size;
        let mut batch = Vec::with_capacity(OBJECTS_PER_BATCH);
        batch.push(first);
        while batch.len() < OBJECTS_PER_BATCH {
            let fits = |o: &ObjectRef| {
                o.layout.account == account && o.layout.region == region && bytes + o.size <= limit
            };
            match objects.next_if(fits) {
                Some(next) => {
                    bytes += next.size;
                    batch.push(next);
                }
                None => break,
            }
        }
        Some(batch)
    })
}

/// What the scan hands the writer after each batch of objects.
struct WriterBatch {
    /// The batch's account and region.
    account: String,
    region: String,
    /// Rows by partition.
    partitions: Vec<(Partition, Vec<RecordBatch>)>,
    /// Delivery days (since 1970) of the batch's objects that could not be read whole.
    failed_days: BTreeSet<i64>,
    /// The delivery day of the batch's last object: partitions of rows delivered before it
    /// are finished.
    delivered_day: i64,
}

/// The files written, the time the writer's thread was busy, and where that time went.
struct WriterResult {
    files: Vec<WrittenFile>,
    failed_days: BTreeSet<DeliveryDay>,
    busy: Duration,
    times: WriteTimes,
    publishing: Duration,
    early_row_groups: u64,
}

/// The writer's thread: adds each batch's rows, finishes the partitions no more rows will
/// come to, and publishes closed files, until the scan is done (or a write fails).
fn write_batches(
    mut writer: PartitionWriter,
    batches: Receiver<WriterBatch>,
    destination: &Destination,
    pool: &rayon::ThreadPool,
) -> Result<WriterResult, ExportError> {
    let mut files = Vec::new();
    let (mut busy, mut publishing) = (Duration::ZERO, Duration::ZERO);
    let mut publish = |written: Vec<WrittenFile>| -> Result<(), ExportError> {
        let started = Instant::now();
        files.extend(destination.publish(written)?);
        publishing += started.elapsed();
        Ok(())
    };
    let mut failed_days = BTreeSet::new();
    for batch in batches {
        let started = Instant::now();
        let (account, region) = (batch.account, batch.region);
        // A day with an object that could not be read is not written at all: what an earlier
        // export wrote for it stays, whole, until a run reads all of it.
        failed_days.extend(batch.failed_days.iter().map(|&day| DeliveryDay {
            account: account.clone(),
            region: region.clone(),
            day,
        }));
        writer.discard_where(|p| failed_days.contains(&p.delivery_day()))?;
        let work = || {
            for (partition, rows) in batch.partitions {
                if !failed_days.contains(&partition.delivery_day()) {
                    writer.add(partition, rows)?;
                }
            }
            writer.finish_where(|p| {
                p.account != account || p.region != region || p.delivered_day < batch.delivered_day
            })
        };
        pool.install(work)?;
        publish(writer.take_written())?;
        busy += started.elapsed();
    }
    let started = Instant::now();
    pool.install(|| writer.finish_where(|_| true))?;
    publish(writer.take_written())?;
    busy += started.elapsed();
    Ok(WriterResult {
        files,
        failed_days,
        busy,
        times: writer.times(),
        publishing,
        early_row_groups: writer.early_row_groups(),
    })
}

/// Builds rows per worker thread, by the days (since 1970) of their event time and of their
/// log file's delivery.
#[derive(Default)]
pub struct RowSink {
    days: BTreeMap<(i64, i64), Vec<RowsBuilder>>,
    /// The last object's SHA-256 in hex, to format it once per object, not per record.
    last_hash: Option<([u8; 32], String)>,
    /// Time spent turning records into rows (summed over threads).
    build_time: Duration,
    /// Delivery days (since 1970) of objects that could not be read whole.
    failed_days: BTreeSet<i64>,
}

impl RowSink {
    /// Two workers' rows as one.
    pub fn merge(mut self, mut other: RowSink) -> Result<RowSink, std::convert::Infallible> {
        self.build_time += other.build_time;
        self.failed_days.append(&mut other.failed_days);
        for (day, mut rows) in other.days {
            self.days.entry(day).or_default().append(&mut rows);
        }
        Ok(self)
    }

    /// Rows by partition. A batch holds the files of one account and region (see
    /// [`batches`]), which are the partition's, from the files' keys as in CloudTrail's own
    /// layout.
    fn into_partitions(
        self,
        account: &str,
        region: &str,
    ) -> Result<Vec<(Partition, Vec<RecordBatch>)>, ExportError> {
        self.days
            .into_iter()
            .map(|((day, delivered_day), builders)| {
                let partition = Partition {
                    account: account.to_string(),
                    region: region.to_string(),
                    day,
                    delivered_day,
                };
                let rows = builders
                    .into_iter()
                    .map(RowsBuilder::finish)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(ExportError::Columns)?;
                Ok((partition, rows))
            })
            .collect()
    }
}

impl RecordSink for RowSink {
    type Error = std::convert::Infallible;

    fn record(&mut self, m: &Match<'_, '_, '_>) -> Result<bool, Self::Error> {
        let hash = m.object_sha256.copied().unwrap_or_default();
        if self.last_hash.as_ref().is_none_or(|(h, _)| *h != hash) {
            self.last_hash = Some((hash, hex::encode(hash)));
        }
        let hex = self.last_hash.as_ref().map_or("", |(_, hex)| hex.as_str());
        let ts_millis = m.event_time.secs * 1000 + i64::from(m.event_time.nanos / 1_000_000);
        let provenance = Provenance {
            source_key: &m.object.key,
            source_sha256: hex,
            record_index: m.index,
        };
        let building = Instant::now();
        let day = m.event_time.secs.div_euclid(86_400);
        let delivered_day = delivery_day_number(m.object);
        // One builder per pair of days on this thread; `merge` gathers the threads' builders.
        let rows = self
            .days
            .entry((day, delivered_day))
            .or_insert_with(|| vec![RowsBuilder::default()]);
        if let Some(rows) = rows.last_mut() {
            rows.append(m.record.value(), ts_millis, &provenance);
        }
        self.build_time += building.elapsed();
        Ok(true)
    }

    fn reads_text(&self) -> bool {
        // Columns are built from the parsed record.
        false
    }

    /// A day whose object could not be read (the store failed: a transient error, or an
    /// object gone since listed) is not written, so that an earlier complete export of it is
    /// not replaced by less. An object whose bytes are broken (not gzip, not a log file)
    /// stays broken: its day is written without it, the same on every run.
    fn object_failed(&mut self, object: &ObjectRef, problem: &ObjectProblem) {
        if matches!(problem, ObjectProblem::Read(_)) {
            self.failed_days.insert(delivery_day_number(object));
        }
    }
}

/// Where files go: a store; files are written in place in a folder, or to a local staging
/// folder first and uploaded as each is closed (then removed locally).
pub struct Destination {
    /// The store files are published in.
    pub store: Arc<dyn ObjectStore>,
    staging: Option<tempfile::TempDir>,
}

impl Destination {
    /// The destination `out` (a folder, or `s3://bucket/prefix`).
    pub fn open(out: &str, s3: &S3Options) -> Result<Destination, ExportError> {
        let store: Arc<dyn ObjectStore> = Arc::from(open_destination(out, s3)?);
        let staging = match store.local_folder() {
            Some(_) => None,
            None => Some(
                tempfile::Builder::new()
                    .prefix("trailscan-export-")
                    .tempdir()
                    .map_err(ExportError::Staging)?,
            ),
        };
        Ok(Destination { store, staging })
    }

    /// The folder files are written in: the destination's own, or the staging folder.
    pub fn staging(&self) -> PathBuf {
        match (&self.staging, self.store.local_folder()) {
            (Some(staging), _) => staging.path().to_path_buf(),
            (None, Some(folder)) => folder.join(self.store.base()),
            // A store has a local folder, or gets a staging folder when opened.
            (None, None) => std::env::temp_dir(),
        }
    }

    /// Makes closed files visible at the destination.
    fn publish(&self, files: Vec<WrittenFile>) -> Result<Vec<WrittenFile>, StoreError> {
        if let Some(staging) = &self.staging {
            for file in &files {
                let key = key_under(self.store.base(), &file.path);
                self.store.write_file(
                    &key,
                    &staging.path().join(&file.path),
                    WriteMode::Replace,
                )?;
            }
        }
        Ok(files)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trailscan_archive::ObjectInfo;

    fn object(region: &str, n: u32, size: u64) -> ObjectRef {
        let key = format!(
            "AWSLogs/123456789012/CloudTrail/{region}/2024/03/01/123456789012_CloudTrail_{region}_20240301T{:02}{:02}Z_x.json.gz",
            n / 60,
            n % 60
        );
        ObjectRef::listed(ObjectInfo {
            key,
            size,
            etag: None,
            modified: None,
        })
        .unwrap()
    }

    fn sizes(objects: Vec<ObjectRef>) -> Vec<Vec<u64>> {
        batches(objects.into_iter(), 2 << 20)
            .map(|batch| batch.iter().map(|o| o.size).collect())
            .collect()
    }

    #[test]
    fn a_batch_takes_half_a_mib_a_thread_within_the_memory_budget() {
        assert_eq!(batch_bytes(2, 512 << 20), 1 << 20);
        assert_eq!(batch_bytes(64, 512 << 20), 8 << 20);
        assert_eq!(batch_bytes(2, 0), 1);
    }

    #[test]
    fn a_batch_ends_at_its_bytes_its_count_or_its_region() {
        let mb = 1 << 20;
        // By bytes: 1 + 1 fits in 2 MiB, a third does not; a file past the bound is alone.
        let by_bytes = (0..3)
            .map(|n| object("eu-west-1", n, mb))
            .chain([object("eu-west-1", 3, 5 * mb), object("eu-west-1", 4, 1)]);
        assert_eq!(
            sizes(by_bytes.collect()),
            vec![vec![mb, mb], vec![mb], vec![5 * mb], vec![1]]
        );
        // By count, then by region.
        let small = (0..300).map(|n| object("eu-west-1", n, 1));
        let other = (0..2).map(|n| object("us-east-1", n, 1));
        let lengths: Vec<usize> = sizes(small.chain(other).collect())
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(lengths, vec![OBJECTS_PER_BATCH, 300 - OBJECTS_PER_BATCH, 2]);
    }
}
