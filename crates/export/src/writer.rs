//! Rows into Hive partitions `v1/account=/region=/day=`, one open file per partition, written
//! a sorted row group at a time, so memory stays bounded by the partitions open at once.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, TimestampMillisecondType};
use arrow_array::Array;
use arrow_array::RecordBatch;
use arrow_data::ArrayData;
use arrow_schema::{ArrowError, DataType, Schema};
use arrow_select::interleave::interleave;
use parquet::arrow::arrow_writer::{compute_leaves, ArrowRowGroupWriterFactory};
use parquet::arrow::{add_encoded_arrow_schema_to_metadata, ArrowSchemaConverter};
use parquet::basic::{Compression, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;
use rayon::prelude::*;
use trailscan_archive::digest::sha256_stream;
use trailscan_archive::ObjectRef;

use crate::dates::day_string;
use crate::jsonl::write_rows;
use crate::schema::{arrow_schema, BLOOM_FILTER_COLUMNS, EVENT_TS, RECORD_INDEX, SOURCE_KEY};

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Apache Parquet, zstd, with page statistics and bloom filters.
    Parquet,
    /// One JSON object per line (the same row objects), uncompressed.
    Jsonl,
}

impl Format {
    /// The file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Jsonl => "jsonl",
        }
    }
}

/// What one set of files holds: the rows of one Hive partition (an account, a region, and a
/// UTC day of event time) that came from the log files of one delivery day. A delivery day's
/// files name their rows' partition and their delivery day, so that exporting that day again
/// writes the same names and replaces them, whatever else was exported.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Partition {
    /// 12-digit account id (from the log file's key).
    pub account: String,
    /// Region (from the log file's key).
    pub region: String,
    /// Days since 1970-01-01 of the event time.
    pub day: i64,
    /// Days since 1970-01-01 of the log files' delivery (their key's folder).
    pub delivered_day: i64,
}

impl Partition {
    /// `v1/account=<id>/region=<region>/day=<YYYY-MM-DD>`.
    pub fn dir(&self) -> String {
        format!(
            "v1/account={}/region={}/day={}",
            self.account,
            self.region,
            day_string(self.day)
        )
    }

    /// The delivery day its rows come from.
    pub fn delivery_day(&self) -> DeliveryDay {
        DeliveryDay {
            account: self.account.clone(),
            region: self.region.clone(),
            day: self.delivered_day,
        }
    }

    /// The start of its files' names: `delivered-<YYYY-MM-DD>-`.
    pub fn file_prefix(&self) -> String {
        format!("delivered-{}-", day_string(self.delivered_day))
    }
}

/// One account x region x delivery day: the unit an export reads whole and writes files for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeliveryDay {
    /// Account id.
    pub account: String,
    /// Region.
    pub region: String,
    /// Days since 1970-01-01 of delivery.
    pub day: i64,
}

impl DeliveryDay {
    /// The delivery day `object` belongs to (its key's folder).
    pub fn of(object: &ObjectRef) -> DeliveryDay {
        DeliveryDay {
            account: object.layout.account.clone(),
            region: object.layout.region.clone(),
            day: delivery_day_number(object),
        }
    }
}

/// Days since 1970-01-01 of `object`'s delivery.
pub(crate) fn delivery_day_number(object: &ObjectRef) -> i64 {
    object.layout.delivered_at.div_euclid(86_400)
}

/// How files are named and sized.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// Parquet or JSON lines.
    pub format: Format,
    /// Rows per row group (and per sort): bounds memory per open partition.
    pub row_group_rows: usize,
    /// A file is closed once it holds this many bytes and a new one started.
    pub max_file_bytes: u64,
    /// About the most memory the rows held may take, over all open partitions: the rows
    /// waiting are kept within a [`MEMORY_PER_VALUE_BYTE`]th of it, as [`rows_bytes`] counts
    /// them; past that, the partition with the most waiting is written out as a row group
    /// before it is full.
    pub memory_budget: u64,
}

impl WriterOptions {
    /// 128 Ki rows per row group; files closed past 200 MB (Athena reads 64-256 MB files
    /// best); a memory budget of 512 MiB (128 MiB of values waiting).
    pub fn new(format: Format) -> WriterOptions {
        WriterOptions {
            format,
            row_group_rows: 128 * 1024,
            max_file_bytes: 200 << 20,
            memory_budget: 512 << 20,
        }
    }
}

/// A file written and closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenFile {
    /// Path relative to the output root (`v1/account=.../part-....parquet`).
    pub path: String,
    /// Rows in it.
    pub rows: u64,
    /// Its size.
    pub bytes: u64,
    /// SHA-256 (hex) of its bytes.
    pub sha256: String,
    /// The delivery day its rows come from.
    pub delivery_day: DeliveryDay,
}

/// Why a file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The file system refused.
    #[error("cannot write {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// Rows that Arrow could not take (a bug: rows are built for the schema).
    #[error("cannot write {path}")]
    Arrow {
        /// The file.
        path: PathBuf,
        /// What Arrow said.
        source: ArrowError,
    },
    /// The Parquet writer failed.
    #[error("cannot write {path}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// What the writer said.
        source: ParquetError,
    },
}

enum OpenFile {
    Parquet(Box<ParquetFile>),
    Jsonl(BufWriter<TimedFile>),
}

struct OpenPartition {
    /// Batches of rows not written yet, each as built (unsorted).
    pending: Vec<RecordBatch>,
    /// Their [`rows_bytes`].
    pending_bytes: u64,
    file: Option<(OpenFile, PathBuf, String, u64)>,
}

/// Memory the rows held take per byte of their values ([`rows_bytes`]): the builders'
/// buffers (which grow by doubling), the sorted copy a row group is written from, and its
/// encoded columns, held until the row group is complete. Measured over a generated archive
/// of busy partitions (200,000 events a day each): full 128 Ki-row groups, about 85 MB of
/// values each, took the peak from about 170 MB to 600 MB, about 5 bytes per byte of one
/// row group's values. 4, not 5, so that the default budget (512 MiB: 128 MiB of values)
/// still lets one busy partition's full row group wait with room to spare, and writes them
/// as before.
pub const MEMORY_PER_VALUE_BYTE: u64 = 4;

/// Writes rows into partition files under a root folder.
pub struct PartitionWriter {
    root: PathBuf,
    options: WriterOptions,
    schema: Arc<Schema>,
    properties: WriterProperties,
    open: BTreeMap<Partition, OpenPartition>,
    /// Files started per partition in this run (the next file's sequence number).
    started: BTreeMap<Partition, u32>,
    written: Vec<WrittenFile>,
    /// The [`rows_bytes`] of every open partition's pending rows.
    waiting_bytes: u64,
    /// Row groups written before they were full, to stay within the memory budget.
    early_row_groups: u64,
    /// Time spent sorting rows and hashing closed files.
    times: WriteTimes,
    /// Nanoseconds spent in the files' writes (shared with each [`TimedFile`]).
    writing: Arc<AtomicU64>,
}

/// Where a [`PartitionWriter`]'s time went, beside what its caller measures as a whole (the
/// rest is encoding: Parquet's columns, or JSON lines' text).
#[derive(Debug, Clone, Copy, Default)]
pub struct WriteTimes {
    /// Sorting each row group's rows.
    pub sort: Duration,
    /// In the file system's writes.
    pub write: Duration,
    /// Reading each closed file back for its SHA-256.
    pub hash: Duration,
}

/// A file that counts the time its writes take.
struct TimedFile {
    file: File,
    nanos: Arc<AtomicU64>,
}

impl TimedFile {
    fn new(file: File, nanos: &Arc<AtomicU64>) -> TimedFile {
        TimedFile {
            file,
            nanos: Arc::clone(nanos),
        }
    }

    fn timed<T>(&mut self, f: impl FnOnce(&mut File) -> T) -> T {
        let started = Instant::now();
        let out = f(&mut self.file);
        let nanos = started.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64;
        self.nanos.fetch_add(nanos, Ordering::Relaxed);
        out
    }
}

impl Write for TimedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.timed(|f| f.write(buf))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.timed(|f| f.flush())
    }
}

impl PartitionWriter {
    /// Writes under `root` (created as needed).
    pub fn new(root: &Path, options: WriterOptions) -> PartitionWriter {
        PartitionWriter {
            root: root.to_path_buf(),
            properties: parquet_properties(options.row_group_rows),
            options,
            schema: arrow_schema(),
            open: BTreeMap::new(),
            started: BTreeMap::new(),
            written: Vec::new(),
            waiting_bytes: 0,
            early_row_groups: 0,
            times: WriteTimes::default(),
            writing: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Where the time went so far.
    pub fn times(&self) -> WriteTimes {
        WriteTimes {
            write: Duration::from_nanos(self.writing.load(Ordering::Relaxed)),
            ..self.times
        }
    }

    /// About the most memory the rows held may take ([`WriterOptions::memory_budget`]).
    pub fn memory_budget(&self) -> u64 {
        self.options.memory_budget
    }

    /// Row groups written before they were full, to stay within the memory budget.
    pub fn early_row_groups(&self) -> u64 {
        self.early_row_groups
    }

    /// Adds rows (batches of the table's schema, see [`crate::RowsBuilder`]) to a partition,
    /// writing a row group once enough are pending, and the fullest partition's rows early
    /// while more than the memory budget are waiting.
    pub fn add(&mut self, partition: Partition, rows: Vec<RecordBatch>) -> Result<(), WriteError> {
        let open = self
            .open
            .entry(partition.clone())
            .or_insert_with(|| OpenPartition {
                pending: Vec::new(),
                pending_bytes: 0,
                file: None,
            });
        for batch in rows.into_iter().filter(|b| b.num_rows() > 0) {
            let bytes = rows_bytes(&batch);
            open.pending_bytes += bytes;
            self.waiting_bytes += bytes;
            open.pending.push(batch);
        }
        let pending_rows: usize = open.pending.iter().map(RecordBatch::num_rows).sum();
        if pending_rows >= self.options.row_group_rows {
            self.write_pending(&partition)?;
        }
        while self.waiting_bytes > self.options.memory_budget / MEMORY_PER_VALUE_BYTE {
            let fullest = self
                .open
                .iter()
                .filter(|(_, open)| open.pending_bytes > 0)
                .max_by_key(|(_, open)| open.pending_bytes)
                .map(|(partition, _)| partition.clone());
            let Some(fullest) = fullest else { break };
            self.write_pending(&fullest)?;
            self.early_row_groups += 1;
        }
        Ok(())
    }

    /// Finishes every open partition for which `done` says no more rows will come.
    pub fn finish_where(&mut self, done: impl Fn(&Partition) -> bool) -> Result<(), WriteError> {
        let finished: Vec<Partition> = self.open.keys().filter(|p| done(p)).cloned().collect();
        for partition in finished {
            self.write_pending(&partition)?;
            if let Some(mut open) = self.open.remove(&partition) {
                if let Some(file) = open.file.take() {
                    self.close(file, partition.delivery_day())?;
                }
            }
        }
        Ok(())
    }

    /// Drops every open partition for which `discard` says so: its rows waiting and its
    /// file being written (staged, never published). Files it closed before (past the size
    /// at which a file is closed) stay.
    pub fn discard_where(
        &mut self,
        discard: impl Fn(&Partition) -> bool,
    ) -> Result<(), WriteError> {
        let dropped: Vec<Partition> = self.open.keys().filter(|p| discard(p)).cloned().collect();
        for partition in dropped {
            let Some(open) = self.open.remove(&partition) else {
                continue;
            };
            self.waiting_bytes -= open.pending_bytes;
            if let Some((file, path, _, _)) = open.file {
                drop(file);
                fs::remove_file(&path).map_err(|source| WriteError::Io { path, source })?;
            }
        }
        Ok(())
    }

    /// Files closed so far (taken: each is returned once).
    pub fn take_written(&mut self) -> Vec<WrittenFile> {
        std::mem::take(&mut self.written)
    }

    fn write_pending(&mut self, partition: &Partition) -> Result<(), WriteError> {
        let Some(open) = self.open.get_mut(partition) else {
            return Ok(());
        };
        if open.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut open.pending);
        self.waiting_bytes -= std::mem::take(&mut open.pending_bytes);
        if open.file.is_none() {
            let seq = self.started.entry(partition.clone()).or_insert(0);
            let dir = self.root.join(partition.dir());
            if *seq == 0 {
                remove_own_files(&dir, &partition.file_prefix())?;
            }
            let rel = format!(
                "{}/{}{:05}.{}",
                partition.dir(),
                partition.file_prefix(),
                *seq,
                self.options.format.extension()
            );
            *seq += 1;
            // Written under a hidden name and renamed when closed: a reader (or a kill) never
            // sees a partial file under the final name; Hive, Spark and Athena skip names
            // starting with a dot.
            let path = self.root.join(staged_name(&rel));
            let io_err = |source| WriteError::Io {
                path: path.clone(),
                source,
            };
            fs::create_dir_all(&dir).map_err(io_err)?;
            let file = File::create(&path).map_err(io_err)?;
            let file = BufWriter::with_capacity(1 << 20, TimedFile::new(file, &self.writing));
            let file = match self.options.format {
                Format::Parquet => OpenFile::Parquet(Box::new(
                    ParquetFile::create(file, &self.schema, &self.properties).map_err(
                        |source| WriteError::Parquet {
                            path: path.clone(),
                            source,
                        },
                    )?,
                )),
                Format::Jsonl => OpenFile::Jsonl(file),
            };
            open.file = Some((file, path, rel, 0));
        }
        let Some((file, path, _, count)) = open.file.as_mut() else {
            unreachable!("opened above");
        };
        let sorting = Instant::now();
        let batch = sorted(&pending).map_err(|source| WriteError::Arrow {
            path: path.clone(),
            source,
        })?;
        self.times.sort += sorting.elapsed();
        drop(pending);
        *count += batch.num_rows() as u64;
        let size = match file {
            OpenFile::Parquet(writer) => {
                writer
                    .write(&batch, self.options.row_group_rows)
                    .map_err(|source| WriteError::Parquet {
                        path: path.clone(),
                        source,
                    })?;
                writer.file.bytes_written() as u64
            }
            OpenFile::Jsonl(writer) => {
                // Slices of rows formatted in parallel, written in order.
                const ROWS_PER_SLICE: usize = 4096;
                let slices: Vec<Vec<u8>> = (0..batch.num_rows().div_ceil(ROWS_PER_SLICE))
                    .into_par_iter()
                    .map(|i| {
                        let start = i * ROWS_PER_SLICE;
                        let rows = batch.slice(start, ROWS_PER_SLICE.min(batch.num_rows() - start));
                        let mut lines = Vec::new();
                        write_rows(&rows, &mut lines);
                        lines
                    })
                    .collect();
                for lines in slices {
                    writer.write_all(&lines).map_err(|source| WriteError::Io {
                        path: path.clone(),
                        source,
                    })?;
                }
                writer.get_ref().file.metadata().map_or(0, |m| m.len())
                    + writer.buffer().len() as u64
            }
        };
        if size >= self.options.max_file_bytes {
            if let Some(file) = open.file.take() {
                self.close(file, partition.delivery_day())?;
            }
        }
        Ok(())
    }

    fn close(
        &mut self,
        (file, path, rel, rows): (OpenFile, PathBuf, String, u64),
        delivery_day: DeliveryDay,
    ) -> Result<(), WriteError> {
        let io_err = |source| WriteError::Io {
            path: path.clone(),
            source,
        };
        match file {
            OpenFile::Parquet(writer) => {
                let inner = writer
                    .file
                    .into_inner()
                    .map_err(|source| WriteError::Parquet {
                        path: path.clone(),
                        source,
                    })?;
                inner.into_inner().map_err(|e| io_err(e.into_error()))?;
            }
            OpenFile::Jsonl(writer) => {
                writer.into_inner().map_err(|e| io_err(e.into_error()))?;
            }
        }
        let done = self.root.join(&rel);
        fs::rename(&path, &done).map_err(io_err)?;
        let hashing = Instant::now();
        let (bytes, sha256) = file_sha256(&done).map_err(|source| WriteError::Io {
            path: done.clone(),
            source,
        })?;
        self.times.hash += hashing.elapsed();
        self.written.push(WrittenFile {
            path: rel,
            rows,
            bytes,
            sha256,
            delivery_day,
        });
        Ok(())
    }
}

/// A Parquet file being written, a row group at a time, its columns encoded in parallel.
struct ParquetFile {
    file: SerializedFileWriter<BufWriter<TimedFile>>,
    columns: ArrowRowGroupWriterFactory,
    row_groups: usize,
}

impl ParquetFile {
    /// What `ArrowWriter` writes (the same Parquet schema, properties, and the Arrow schema
    /// in the footer for Arrow readers), but with the encoding of a row group's columns
    /// spread over the worker threads (rayon's pool where it runs), not one after another.
    fn create(
        file: BufWriter<TimedFile>,
        schema: &Arc<Schema>,
        properties: &WriterProperties,
    ) -> Result<ParquetFile, ParquetError> {
        let parquet_schema = ArrowSchemaConverter::new()
            .with_coerce_types(properties.coerce_types())
            .convert(schema)?;
        let mut properties = properties.clone();
        add_encoded_arrow_schema_to_metadata(schema, &mut properties);
        let file = SerializedFileWriter::new(
            file,
            parquet_schema.root_schema_ptr(),
            Arc::new(properties),
        )?;
        let columns = ArrowRowGroupWriterFactory::new(&file, Arc::clone(schema));
        Ok(ParquetFile {
            file,
            columns,
            row_groups: 0,
        })
    }

    /// Writes `batch` as row groups of at most `row_group_rows` rows.
    fn write(&mut self, batch: &RecordBatch, row_group_rows: usize) -> Result<(), ParquetError> {
        let mut offset = 0;
        while offset < batch.num_rows() {
            let rows = batch.slice(offset, row_group_rows.min(batch.num_rows() - offset));
            offset += rows.num_rows();
            let writers = self.columns.create_column_writers(self.row_groups)?;
            self.row_groups += 1;
            let mut leaves = Vec::with_capacity(writers.len());
            for (field, array) in rows.schema().fields().iter().zip(rows.columns()) {
                leaves.extend(compute_leaves(field, array)?);
            }
            let chunks = writers
                .into_par_iter()
                .zip(leaves)
                .map(|(mut writer, leaf)| {
                    writer.write(&leaf)?;
                    writer.close()
                })
                .collect::<Result<Vec<_>, _>>()?;
            let mut row_group = self.file.next_row_group()?;
            for chunk in chunks {
                chunk.append_to_row_group(&mut row_group)?;
            }
            row_group.close()?;
        }
        Ok(())
    }
}

/// Where a file is written until it is closed: `dir/.part-....parquet.partial` for
/// `dir/part-....parquet`.
fn staged_name(rel: &str) -> String {
    match rel.rsplit_once('/') {
        Some((dir, name)) => format!("{dir}/.{name}.partial"),
        None => format!(".{rel}.partial"),
    }
}

/// Removes the staged files (a run killed mid-write) an earlier run left in a partition under
/// the names this one writes (`prefix`). Finished files stay until this run's own replace
/// them (a rename over the same name) or the delivery day's manifest says they are no longer
/// its (`crate::record_delivery_days`): a run that fails to read a day keeps the day's files.
fn remove_own_files(dir: &Path, prefix: &str) -> Result<(), WriteError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(WriteError::Io {
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    let own: BTreeSet<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.strip_prefix('.')
                .is_some_and(|n| n.starts_with(prefix))
        })
        .map(|e| e.path())
        .collect();
    for path in own {
        fs::remove_file(&path).map_err(|source| WriteError::Io { path, source })?;
    }
    Ok(())
}

/// Size and SHA-256 (hex) of a file.
pub fn file_sha256(path: &Path) -> io::Result<(u64, String)> {
    sha256_stream(&mut File::open(path)?)
}

/// What a batch's rows take in memory, counted from their values (each string's bytes and
/// offset, each fixed-width value), not from the buffers' capacities: the count depends on
/// the rows alone, never on how the scan's threads split them into batches, so the budget's
/// decisions, and the files, are the same on every run.
fn rows_bytes(batch: &RecordBatch) -> u64 {
    /// The first and last of an array's offsets (`buffer` starts at the array's own offset).
    fn offset_range(data: &ArrayData) -> Option<(i32, i32)> {
        let offsets = data.buffer::<i32>(0);
        Some((*offsets.first()?, *offsets.get(data.len())?))
    }
    fn data_bytes(data: &ArrayData) -> u64 {
        let offsets = 4 * data.len() as u64;
        match data.data_type() {
            DataType::Utf8 => offset_range(data).map_or(0, |(first, last)| {
                u64::try_from(last - first).unwrap_or(0) + offsets
            }),
            // Only the items of this array's rows: a sliced list keeps all of its child's.
            DataType::List(_) | DataType::Map(..) => {
                match (offset_range(data), data.child_data().first()) {
                    (Some((first, last)), Some(items)) => {
                        let (first, count) = (first as usize, (last - first) as usize);
                        offsets + data_bytes(&items.slice(first, count))
                    }
                    _ => 0,
                }
            }
            // A sliced struct's children carry the slice (arrow-data's `slice`).
            DataType::Struct(_) => data.child_data().iter().map(data_bytes).sum(),
            other => other
                .primitive_width()
                .map_or(0, |w| (w * data.len()) as u64),
        }
    }
    batch
        .columns()
        .iter()
        .map(|column| data_bytes(&column.to_data()))
        .sum()
}

/// The rows of `batches` in one batch, in the table's order: by event time, then by log
/// file and position in it (unique, so the order never depends on which thread read what).
fn sorted(batches: &[RecordBatch]) -> Result<RecordBatch, ArrowError> {
    let Some(first) = batches.first() else {
        return Ok(RecordBatch::new_empty(arrow_schema()));
    };
    let column = |name| first.schema_ref().index_of(name);
    let (ts, key, index) = (
        column(EVENT_TS)?,
        column(SOURCE_KEY)?,
        column(RECORD_INDEX)?,
    );
    let mut order = Vec::with_capacity(batches.iter().map(RecordBatch::num_rows).sum());
    for (b, batch) in batches.iter().enumerate() {
        let ts = batch.column(ts).as_primitive::<TimestampMillisecondType>();
        let key = batch.column(key).as_string::<i32>();
        let index = batch.column(index).as_primitive::<Int32Type>();
        for row in 0..batch.num_rows() {
            order.push((ts.value(row), key.value(row), index.value(row), b, row));
        }
    }
    order.par_sort_unstable();
    let indices: Vec<(usize, usize)> = order.iter().map(|&(.., b, row)| (b, row)).collect();
    // Column by column on every core: the writer's thread waits on this, and the scan's
    // next batch waits on the writer.
    let columns = (0..first.num_columns())
        .into_par_iter()
        .map(|c| {
            let arrays: Vec<&dyn Array> = batches.iter().map(|b| b.column(c).as_ref()).collect();
            interleave(&arrays, &indices)
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new(first.schema(), columns)
}

/// zstd, page statistics, bloom filters on the lookup columns, Parquet's standard list and
/// map names (`set_coerce_types`: `element`, not Arrow's `item`, which Athena and Spark read).
fn parquet_properties(row_group_rows: usize) -> WriterProperties {
    // zstd's level 1, not 3: over the benchmark archive it wrote smaller files (74.2 MB
    // against 80.2 MB; CloudTrail's columns repeat, which level 1's fast matcher finds as
    // well) in less time (4.18 s against 4.65 s, medians of 5 runs taking turns).
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).unwrap_or_default()))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(row_group_rows))
        .set_coerce_types(true)
        .set_created_by(format!("trailscan {}", env!("CARGO_PKG_VERSION")));
    for path in BLOOM_FILTER_COLUMNS {
        let column = ColumnPath::new(path.iter().map(|s| s.to_string()).collect());
        builder = builder
            .set_column_bloom_filter_enabled(column.clone(), true)
            .set_column_bloom_filter_fpp(column.clone(), 0.01)
            .set_column_bloom_filter_max_ndv(column, row_group_rows as u64);
    }
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::columns::{Provenance, RowsBuilder};
    use crate::test_support::with_tape;
    use arrow_array::StringArray;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    /// Rows `range` of a log file `key` of `day`, their event times in reverse order (so
    /// that the sort shows), of varied sizes.
    fn rows(day: i64, range: std::ops::Range<usize>, key: &str) -> RecordBatch {
        let mut builder = RowsBuilder::default();
        for i in range {
            // Strings, a struct, a map in it, a list of structs: every kind of column.
            let json = format!(
                r#"{{"eventID":"{key}-{i}","eventName":"GetObject","requestParameters":{{"bucketName":"b{}","key":"{}"}},"userIdentity":{{"type":"AssumedRole","sessionContext":{{"webIdFederationData":{{"attributes":{{"a":"{}"}}}}}}}},"resources":[{{"ARN":"arn:aws:s3:::b/{}","type":"AWS::S3::Object"}},{{"ARN":"arn:aws:s3:::b"}}]}}"#,
                i % 7,
                "k".repeat(i % 50),
                "v".repeat(i % 13),
                "o".repeat(i % 31)
            );
            let provenance = Provenance {
                source_key: key,
                source_sha256: "ab",
                record_index: i,
            };
            let ts_millis = (day * 86_400 + 10_000 - i as i64) * 1000;
            with_tape(&json, |value| builder.append(value, ts_millis, &provenance));
        }
        builder.finish().unwrap()
    }

    /// Each file written: its bytes, and its row groups' event ids in order.
    type Files = BTreeMap<String, (Vec<u8>, Vec<Vec<String>>)>;

    /// The two days' partitions.
    const DAYS: [i64; 2] = [19_700, 19_701];

    /// Three log files of 500 rows for each of two days, written under `budget`, each file's
    /// rows in one batch or, `split`, in two (as the scan's threads may hand them over).
    fn write(budget: u64, split: bool) -> (Files, u64) {
        let dir = tempfile::tempdir().unwrap();
        let options = WriterOptions {
            memory_budget: budget,
            ..WriterOptions::new(Format::Parquet)
        };
        let mut writer = PartitionWriter::new(dir.path(), options);
        for file in 0..3 {
            for day in DAYS {
                let partition = Partition {
                    account: "123456789012".into(),
                    region: "us-east-1".into(),
                    day,
                    delivered_day: day,
                };
                let key = format!("f{file}");
                let batches = match split {
                    false => vec![rows(day, 0..500, &key)],
                    true => vec![rows(day, 0..123, &key), rows(day, 123..500, &key)],
                };
                writer.add(partition, batches).unwrap();
            }
        }
        writer.finish_where(|_| true).unwrap();
        let mut files = Files::new();
        for written in writer.take_written() {
            let path = dir.path().join(&written.path);
            let reader =
                ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap()).unwrap();
            let groups = reader.metadata().num_row_groups();
            let mut ids = Vec::new();
            for group in 0..groups {
                let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap())
                    .unwrap()
                    .with_row_groups(vec![group])
                    .build()
                    .unwrap();
                let mut group_ids = Vec::new();
                let mut times: Vec<i64> = Vec::new();
                for batch in reader {
                    let batch = batch.unwrap();
                    let id = batch.column_by_name("eventid").unwrap();
                    let id = id.as_any().downcast_ref::<StringArray>().unwrap();
                    group_ids.extend(id.iter().map(|v| v.unwrap().to_string()));
                    let ts = batch.column_by_name(EVENT_TS).unwrap();
                    times.extend(
                        ts.as_primitive::<TimestampMillisecondType>()
                            .values()
                            .iter(),
                    );
                }
                assert!(
                    times.is_sorted(),
                    "a row group of {} is not sorted",
                    written.path
                );
                ids.push(group_ids);
            }
            files.insert(written.path, (fs::read(&path).unwrap(), ids));
        }
        (files, writer.early_row_groups())
    }

    #[test]
    fn the_memory_budget_writes_row_groups_early_with_the_same_rows() {
        let (roomy, roomy_early) = write(u64::MAX, false);
        let (tight, tight_early) = write(1, false);
        assert_eq!(roomy_early, 0);
        // Each batch added is over a budget of nothing: written at once, as a row group.
        assert_eq!(tight_early, 6);
        assert_eq!(
            roomy.keys().collect::<Vec<_>>(),
            tight.keys().collect::<Vec<_>>(),
            "the same files"
        );
        for (path, (_, roomy_groups)) in &roomy {
            let tight_groups = &tight[path].1;
            assert_eq!((roomy_groups.len(), tight_groups.len()), (1, 3), "{path}");
            let mut roomy_ids = roomy_groups.concat();
            let mut tight_ids = tight_groups.concat();
            roomy_ids.sort();
            tight_ids.sort();
            assert_eq!(roomy_ids.len(), 1500);
            assert_eq!(roomy_ids, tight_ids, "the same rows in {path}");
        }
    }

    #[test]
    fn the_budget_decides_the_same_however_the_rows_are_split_into_batches() {
        // Exactly one file of each day may wait: the second file of a day goes over by its
        // own rows, and the fullest partition is written early. Counting a single byte more
        // for rows split into two batches would write the first file of each day alone.
        let one_file = |day| rows_bytes(&rows(day, 0..500, "f0"));
        let budget = MEMORY_PER_VALUE_BYTE * DAYS.iter().map(|&day| one_file(day)).sum::<u64>();
        let (whole, whole_early) = write(budget, false);
        let (split, split_early) = write(budget, true);
        assert_eq!(whole_early, 2);
        assert_eq!(split_early, whole_early);
        for (path, (bytes, groups)) in &whole {
            let sizes: Vec<usize> = groups.iter().map(Vec::len).collect();
            assert_eq!(sizes, [1000, 500], "{path}");
            assert!(
                split[path].0 == *bytes,
                "{path} differs when the rows come split"
            );
        }
    }

    #[test]
    fn rows_are_counted_the_same_however_they_are_split_or_sliced() {
        let batch = rows(19_700, 0..500, "f");
        let whole = rows_bytes(&batch);
        let built =
            rows_bytes(&rows(19_700, 0..123, "f")) + rows_bytes(&rows(19_700, 123..500, "f"));
        let sliced = rows_bytes(&batch.slice(0, 123)) + rows_bytes(&batch.slice(123, 377));
        assert_eq!((built, sliced), (whole, whole));
        // Every value counted: the ids alone are 500 strings of 5 to 7 bytes.
        assert!(whole > 500 * 5, "{whole}");
    }
}
