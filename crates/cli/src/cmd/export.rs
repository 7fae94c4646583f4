//! `trailscan export`: the selected events into Hive-partitioned Parquet (or JSON lines) for
//! Athena, Trino, Spark and DuckDB; and `--print-ddl athena`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use trailscan_archive::{
    is_s3_url, key_under, open_destination, open_existing, LocalFolder, ObjectRef, ObjectStore,
    S3Options, WriteMode,
};
use trailscan_export::{
    athena_ddl, AthenaTable, Format, Partition, PartitionWriter, Provenance, RecordBatch,
    RowsBuilder, WriteTimes, WriterOptions, WrittenFile,
};
use trailscan_layout::Shard;
use trailscan_query::{Match, RecordSink, ScanStats};
use trailscan_shards::{Counts, Output, ShardDir, ShardSummary};

use crate::exit_codes;
use crate::scan::OpenScan;
use crate::settings::ExportSettings;

/// Objects scanned between two hand-overs to the writer: bounds the rows held in memory
/// (a few hundred thousand) while keeping every core busy.
const OBJECTS_PER_BATCH: usize = 256;

/// Runs the export (or prints the DDL).
pub fn run(settings: &ExportSettings) -> Result<ExitCode> {
    let (source, request, format, out, run_id, memory_budget) = match settings {
        ExportSettings::PrintDdl {
            out,
            s3,
            table_name,
            format,
        } => return print_ddl(out.as_deref(), s3, table_name, *format),
        ExportSettings::Export {
            source,
            request,
            format,
            out,
            run_id,
            memory_budget,
        } => (source, request, *format, out, run_id, *memory_budget),
    };
    let started = Instant::now();
    let shard = source.selection.shard;
    let shard_label = shard.unwrap_or(Shard { index: 0, count: 1 });
    let destination = Destination::open(out, &source.s3)?;
    // A retried shard's earlier summary goes first: until the new one is written, the shard
    // is not taken for finished.
    let shard_dir = shard
        .map(|shard| ShardDir::prepare(Arc::clone(&destination.store), run_id, shard))
        .transpose()?;
    let opened = OpenScan::open(source)?;
    let (listing, progress) = (&opened.listing, &opened.progress);
    let (objects, index_use) = opened.objects_to_read(request);
    let file_tag = format!("{run_id}-{}-of-{}", shard_label.index, shard_label.count);
    let writer = PartitionWriter::new(
        &destination.staging(),
        WriterOptions {
            memory_budget,
            ..WriterOptions::new(format, file_tag)
        },
    );
    let mut stats = ScanStats::default();
    let (mut scanning, mut building) = (Duration::ZERO, Duration::ZERO);
    // The files are sorted, encoded and written on a thread of their own while the scan reads
    // the next batch on every core; one batch waits in between at most, which bounds memory.
    let (to_writer, batches_to_write) = sync_channel::<WriterBatch>(1);
    let written = std::thread::scope(|scope| -> Result<WriterResult> {
        let writer_thread =
            scope.spawn(|| write_batches(writer, batches_to_write, &destination, &opened.pool));
        for batch in batches(&objects) {
            let scan_started = Instant::now();
            let (sink, batch_stats) =
                opened.scan(batch, request, true, RowSink::default, RowSink::merge)?;
            scanning += scan_started.elapsed();
            building += sink.build_time;
            stats.add(&batch_stats);
            let first = &batch[0].layout;
            let job = WriterBatch {
                partitions: sink.into_partitions(&first.account, &first.region)?,
                // Rows of a day stop coming once files are delivered two days later (delivery
                // takes minutes; a late delivery after that starts a further file in the
                // partition).
                delivered_day: batch[batch.len() - 1]
                    .layout
                    .delivered_at
                    .div_euclid(86_400),
            };
            if to_writer.send(job).is_err() {
                // The writer stopped on an error, which its join below returns.
                break;
            }
        }
        drop(to_writer);
        writer_thread
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })?;
    progress.finish();
    let WriterResult {
        files: written,
        busy: writing,
        times,
        publishing,
        early_row_groups,
    } = written;
    let rows: u64 = written.iter().map(|f| f.rows).sum();
    let bytes: u64 = written.iter().map(|f| f.bytes).sum();
    let elapsed = started.elapsed().as_secs_f64();
    if let (Some(dir), Some(plan)) = (shard_dir, &listing.shard_plan) {
        let counts = Counts::new(listing, &stats, rows);
        let arguments = source.arguments.clone();
        let mut summary =
            ShardSummary::new("export", arguments, &source.spec, run_id, plan, counts);
        summary.outputs = written
            .iter()
            .map(|f| Output {
                path: f.path.clone(),
                rows: f.rows,
                bytes: f.bytes,
                sha256: f.sha256.clone(),
            })
            .collect();
        dir.write_summary(&summary)?;
    }
    if !source.quiet {
        eprintln!(
            "trailscan: exported {rows} events into {} files ({:.1} MB) under {out} in {elapsed:.3} s ({:.0} events/s)",
            written.len(),
            bytes as f64 / 1e6,
            rows as f64 / elapsed.max(1e-9)
        );
        eprintln!(
            "  {} log files listed: {} read, {} failed, {} with problems; skipped: {}",
            listing.objects.len(),
            stats.objects_read,
            stats.objects_failed,
            stats.objects_with_problems,
            listing.skipped
        );
        if let Some(index) = index_use {
            eprintln!("{index}");
        }
        eprintln!(
            "  events: {} in the files, {} unreadable, {} selected",
            stats.records, stats.records_skipped, stats.records_matched
        );
        // Where the time went, so that the next bottleneck is visible: the scan on all cores
        // (columns built inside it, their CPU time summed over threads), and on the writer's
        // thread beside it, sorting, encoding (what the rest is), writing, hashing and
        // publishing the files.
        let encoding = writing.saturating_sub(times.sort + times.write + times.hash + publishing);
        eprintln!(
            "  time: scan {:.3} s (building columns {:.3} s of CPU over the threads); beside it {:.3} s: sort {:.3} s, encode {:.3} s, write {:.3} s, hash {:.3} s, publish {:.3} s",
            scanning.as_secs_f64(),
            building.as_secs_f64(),
            writing.as_secs_f64(),
            times.sort.as_secs_f64(),
            encoding.as_secs_f64(),
            times.write.as_secs_f64(),
            times.hash.as_secs_f64(),
            publishing.as_secs_f64(),
        );
        if early_row_groups > 0 {
            eprintln!(
                "  memory: a partition's rows written early {early_row_groups} times (before 128 Ki rows), to keep the rows waiting within --memory-budget ({})",
                binary_size(memory_budget)
            );
        }
    }
    if shard.is_some() {
        // Problems are the merge's to report: a batch engine takes a non-zero exit for a
        // failed job and would run it again.
        return Ok(ExitCode::SUCCESS);
    }
    let problems =
        stats.objects_failed + stats.objects_with_problems + listing.problems.len() as u64;
    Ok(exit_codes::completed(problems))
}

/// A size as `--memory-budget` takes it (powers of 1024): `512 MiB`, `1.5 GiB`, `64 KiB`.
fn binary_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / f64::from(1u32 << 30)),
        b if b >= 1 << 20 => format!("{:.0} MiB", b as f64 / f64::from(1u32 << 20)),
        b if b >= 1 << 10 => format!("{:.0} KiB", b as f64 / 1024.0),
        b => format!("{b} bytes"),
    }
}

/// Consecutive objects of one account and region (the listing is sorted by key, so by
/// account, region and delivery day), at most [`OBJECTS_PER_BATCH`] at a time.
fn batches(objects: &[ObjectRef]) -> impl Iterator<Item = &[ObjectRef]> {
    let mut rest = objects;
    std::iter::from_fn(move || {
        let first = rest.first()?;
        let same = rest
            .iter()
            .take(OBJECTS_PER_BATCH)
            .take_while(|o| {
                o.layout.account == first.layout.account && o.layout.region == first.layout.region
            })
            .count();
        let (batch, tail) = rest.split_at(same);
        rest = tail;
        Some(batch)
    })
}

/// What the scan hands the writer after each batch of objects.
struct WriterBatch {
    /// Rows by partition.
    partitions: Vec<(Partition, Vec<RecordBatch>)>,
    /// The delivery day of the batch's last object: partitions of days before the day
    /// before are finished.
    delivered_day: i64,
}

/// The files written, the time the writer's thread was busy, and where that time went.
struct WriterResult {
    files: Vec<WrittenFile>,
    busy: Duration,
    times: WriteTimes,
    /// Moving closed files into place (from S3: uploading them).
    publishing: Duration,
    /// Row groups written before they were full, to stay within `--memory-budget`.
    early_row_groups: u64,
}

/// The writer's thread: adds each batch's rows, finishes the partitions no more rows will
/// come to, and publishes closed files, until the scan is done (or a write fails). The
/// encoding runs on the scan's workers (`pool`), a row group's columns in parallel, taking
/// the cores the scan leaves idle.
fn write_batches(
    mut writer: PartitionWriter,
    batches: std::sync::mpsc::Receiver<WriterBatch>,
    destination: &Destination,
    pool: &rayon::ThreadPool,
) -> Result<WriterResult> {
    let mut files = Vec::new();
    let (mut busy, mut publishing) = (Duration::ZERO, Duration::ZERO);
    let mut publish = |written: Vec<WrittenFile>| -> Result<()> {
        let started = Instant::now();
        files.extend(destination.publish(written)?);
        publishing += started.elapsed();
        Ok(())
    };
    for batch in batches {
        let started = Instant::now();
        let Some((first, _)) = batch.partitions.first() else {
            continue;
        };
        let (account, region) = (first.account.clone(), first.region.clone());
        let work = || {
            for (partition, rows) in batch.partitions {
                writer.add(partition, rows)?;
            }
            writer.finish_where(|p| {
                p.account != account || p.region != region || p.day < batch.delivered_day - 1
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
        busy,
        times: writer.times(),
        publishing,
        early_row_groups: writer.early_row_groups(),
    })
}

/// Builds rows per worker thread, by the day (since 1970) of their event time.
#[derive(Default)]
struct RowSink {
    days: BTreeMap<i64, Vec<RowsBuilder>>,
    /// The last object's SHA-256 in hex, to format it once per object, not per record.
    last_hash: Option<([u8; 32], String)>,
    /// Time spent turning records into rows (summed over threads).
    build_time: Duration,
}

impl RowSink {
    fn merge(mut self, other: RowSink) -> Result<RowSink, std::convert::Infallible> {
        self.build_time += other.build_time;
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
    ) -> Result<Vec<(Partition, Vec<RecordBatch>)>> {
        self.days
            .into_iter()
            .map(|(day, builders)| {
                let partition = Partition {
                    account: account.to_string(),
                    region: region.to_string(),
                    day,
                };
                let rows = builders
                    .into_iter()
                    .map(RowsBuilder::finish)
                    .collect::<Result<Vec<_>, _>>()
                    .context("cannot build the rows' columns")?;
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
        // One builder per day on this thread; `merge` gathers the threads' builders.
        let rows = self
            .days
            .entry(day)
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
}

/// Where files go: a store; files are written in place in a folder, or to a local staging
/// folder first and uploaded as each is closed (then removed locally).
struct Destination {
    store: Arc<dyn ObjectStore>,
    staging: Option<tempfile::TempDir>,
}

impl Destination {
    fn open(out: &str, s3: &S3Options) -> Result<Destination> {
        let store: Arc<dyn ObjectStore> = Arc::from(open_destination(out, s3)?);
        let staging = match store.local_folder() {
            Some(_) => None,
            None => Some(
                tempfile::Builder::new()
                    .prefix("trailscan-export-")
                    .tempdir()
                    .context(
                        "cannot create a staging folder (set TMPDIR to a folder with free space)",
                    )?,
            ),
        };
        Ok(Destination { store, staging })
    }

    /// The folder files are written in: the destination's own, or the staging folder.
    fn staging(&self) -> PathBuf {
        match (&self.staging, self.store.local_folder()) {
            (Some(staging), _) => staging.path().to_path_buf(),
            (None, Some(folder)) => folder.join(self.store.base()),
            // A store has a local folder, or gets a staging folder when opened.
            (None, None) => std::env::temp_dir(),
        }
    }

    /// Makes closed files visible at the destination.
    fn publish(&self, files: Vec<WrittenFile>) -> Result<Vec<WrittenFile>> {
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

/// `--print-ddl athena`: the table over the export at `--out` (its regions when it holds an
/// export), else over a placeholder location to edit.
fn print_ddl(out: Option<&str>, s3: &S3Options, name: &str, format: Format) -> Result<ExitCode> {
    const PLACEHOLDER: &str = "s3://EXPORT-BUCKET/PREFIX";
    let (location, regions) = match out {
        Some(out) if is_s3_url(out) => {
            let store = open_existing(out, s3)?;
            (out.to_string(), exported_regions(&*store)?)
        }
        Some(dir) => {
            eprintln!("trailscan: LOCATION is a placeholder: give --out s3://BUCKET/PREFIX, where the export is, to fill it in");
            let regions = match LocalFolder::open(Path::new(dir)) {
                Ok(folder) => exported_regions(&folder)?,
                // No readable folder there (no export yet): the table lists no regions, for
                // the user to fill in with the placeholder LOCATION.
                Err(_) => Vec::new(),
            };
            (PLACEHOLDER.to_string(), regions)
        }
        None => (PLACEHOLDER.to_string(), Vec::new()),
    };
    print!(
        "{}",
        athena_ddl(&AthenaTable {
            name,
            location: &location,
            regions: &regions,
            format,
        })
    );
    Ok(ExitCode::SUCCESS)
}

fn partition_value<'a>(name: &'a str, key: &str) -> Option<&'a str> {
    name.trim_end_matches('/')
        .rsplit('/')
        .next()?
        .strip_prefix(key)?
        .strip_prefix('=')
}

/// The regions an export holds: its `v1/account=*/region=*` folders.
fn exported_regions(store: &dyn ObjectStore) -> Result<Vec<String>> {
    let v1 = match store.base() {
        "" => "v1/".to_string(),
        base => format!("{base}/v1/"),
    };
    let mut regions = BTreeSet::new();
    let accounts = match store.list_dir(&v1) {
        Ok(level) => level.folders,
        // No export there (yet): a table with no regions to edit.
        Err(e) if e.is_not_found() => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    for account in accounts {
        for region in store.list_dir(&account)?.folders {
            if let Some(r) = partition_value(&region, "region") {
                regions.insert(r.to_string());
            }
        }
    }
    Ok(regions.into_iter().collect())
}
