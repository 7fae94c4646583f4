//! `trailscan export`: the selected events into Hive-partitioned Parquet (or JSON lines) for
//! Athena, Trino, Spark and DuckDB; and `--print-ddl athena`.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use trailscan_archive::s3::{S3Archive, S3Options};
use trailscan_archive::{ObjectRef, Shard};
use trailscan_export::{
    athena_ddl, build_row, AthenaTable, Format, Partition, PartitionWriter, Provenance, Row,
    WriterOptions, WrittenFile,
};
use trailscan_query::{Match, RecordSink, ScanStats};

use crate::cmd::lookup_events::OpenScan;
use crate::exit_codes::{self, UsageError};
use crate::flags::ExportArgs;
use crate::settings::{lookup_request, object_kind, SourceSettings};
use crate::shard_results::{prepare_shard_dir, write_summary, Counts, Output, ShardSummary};

/// Objects scanned between two hand-overs to the writer: bounds the rows held in memory
/// (a few hundred thousand) while keeping every core busy.
const OBJECTS_PER_BATCH: usize = 256;

/// Runs the export (or prints the DDL).
pub fn run(args: &ExportArgs) -> Result<ExitCode> {
    let format = match args.format.as_str() {
        "jsonl" => Format::Jsonl,
        _ => Format::Parquet,
    };
    if args.print_ddl.is_some() {
        return print_ddl(args, format);
    }
    let Some(out) = args.out.as_deref() else {
        bail!(UsageError("--out is required".into()));
    };
    let started = Instant::now();
    let request = lookup_request(&args.selection)?;
    let source = SourceSettings::new(&args.source, object_kind(&request), &request)?;
    let shard = source.selection.shard;
    let run_id = match shard {
        Some(_) => source.required_run_id()?.to_string(),
        None => source
            .run_id
            .clone()
            .unwrap_or_else(|| "export".to_string()),
    };
    let shard_label = shard.unwrap_or(Shard { index: 0, count: 1 });
    let destination = Destination::open(out, &source.s3)?;
    let opened = OpenScan::open(&source)?;
    let (listing, progress) = (&opened.listing, &opened.progress);
    let file_tag = format!("{run_id}-{}-of-{}", shard_label.index, shard_label.count);
    let mut writer =
        PartitionWriter::new(destination.staging(), WriterOptions::new(format, file_tag));
    let mut stats = ScanStats::default();
    let mut written = Vec::new();
    for batch in batches(&listing.objects) {
        let (sink, batch_stats) =
            opened.scan(batch, &request, true, RowSink::default, RowSink::merge)?;
        stats.add(&batch_stats);
        for problem in &sink.problems {
            progress.eprintln(format_args!("trailscan: {problem}"));
        }
        let first = &batch[0].layout;
        // Rows of a day stop coming once files are delivered two days later (delivery takes
        // minutes; a late delivery after that starts a further file in the partition).
        let delivered_day = batch[batch.len() - 1]
            .layout
            .delivered_at
            .div_euclid(86_400);
        for (partition, rows) in sink.into_partitions(&first.account, &first.region) {
            writer.add(partition, rows)?;
        }
        writer.finish_where(|p| {
            p.account != first.account || p.region != first.region || p.day < delivered_day - 1
        })?;
        written.extend(destination.publish(writer.take_written())?);
    }
    written.extend(destination.publish(writer.finish()?)?);
    progress.finish();
    let rows: u64 = written.iter().map(|f| f.rows).sum();
    let bytes: u64 = written.iter().map(|f| f.bytes).sum();
    let elapsed = started.elapsed().as_secs_f64();
    if let (Some(shard), Some(plan)) = (shard, &listing.shard_plan) {
        let mut summary = ShardSummary::new(
            "export",
            &source.spec,
            &run_id,
            plan.into(),
            Counts::new(listing, &stats, rows),
        );
        summary.outputs = written
            .iter()
            .map(|f| Output {
                path: f.path.clone(),
                rows: f.rows,
                bytes: f.bytes,
                sha256: f.sha256.clone(),
            })
            .collect();
        destination.write_summary(&run_id, shard, &summary)?;
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
            stats.objects,
            stats.objects_read,
            stats.objects_failed,
            stats.objects_with_problems,
            listing.skipped
        );
        eprintln!(
            "  events: {} in the files, {} unreadable, {} selected",
            stats.records, stats.records_skipped, stats.records_matched
        );
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

/// Collects rows per worker thread, with the day (since 1970) of each row's event time.
#[derive(Default)]
struct RowSink {
    rows: Vec<(i64, Row)>,
    problems: Vec<String>,
    /// The last object's SHA-256 in hex, to format it once per object, not per record.
    last_hash: Option<([u8; 32], String)>,
}

impl RowSink {
    fn merge(mut self, mut other: RowSink) -> Result<RowSink, std::convert::Infallible> {
        self.rows.append(&mut other.rows);
        self.problems.append(&mut other.problems);
        Ok(self)
    }

    /// Rows by partition. A batch holds the files of one account and region (see
    /// [`batches`]), which are the partition's, from the files' keys as in CloudTrail's own
    /// layout.
    fn into_partitions(self, account: &str, region: &str) -> Vec<(Partition, Vec<Row>)> {
        let mut by_day: std::collections::BTreeMap<i64, Vec<Row>> = Default::default();
        for (day, row) in self.rows {
            by_day.entry(day).or_default().push(row);
        }
        by_day
            .into_iter()
            .map(|(day, rows)| {
                let partition = Partition {
                    account: account.to_string(),
                    region: region.to_string(),
                    day,
                };
                (partition, rows)
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
        match build_row(m.text, ts_millis, &provenance) {
            Ok(row) => self.rows.push((m.event_time.secs.div_euclid(86_400), row)),
            Err(e) => self.problems.push(format!(
                "{}: record {}: {e}; not exported",
                m.object.display_name(),
                m.index
            )),
        }
        Ok(true)
    }
}

/// Where files go: a folder, or a bucket (written to a local staging folder first, uploaded
/// as each file is closed, then removed locally).
enum Destination {
    Local(PathBuf),
    S3 {
        bucket: S3Archive,
        staging: tempfile::TempDir,
    },
}

impl Destination {
    fn open(out: &str, s3: &S3Options) -> Result<Destination> {
        if out.starts_with("s3://") {
            let bucket = S3Archive::open(out, s3)?;
            let staging = tempfile::Builder::new()
                .prefix("trailscan-export-")
                .tempdir()
                .context(
                    "cannot create a staging folder (set TMPDIR to a folder with free space)",
                )?;
            Ok(Destination::S3 { bucket, staging })
        } else {
            let dir = PathBuf::from(out);
            fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            Ok(Destination::Local(dir))
        }
    }

    fn staging(&self) -> &Path {
        match self {
            Destination::Local(dir) => dir,
            Destination::S3 { staging, .. } => staging.path(),
        }
    }

    fn key(bucket: &S3Archive, rel: &str) -> String {
        match bucket.prefix() {
            "" => rel.to_string(),
            prefix => format!("{prefix}/{rel}"),
        }
    }

    /// Makes closed files visible at the destination.
    fn publish(&self, files: Vec<WrittenFile>) -> Result<Vec<WrittenFile>> {
        if let Destination::S3 { bucket, staging } = self {
            for file in &files {
                let local = staging.path().join(&file.path);
                let key = Destination::key(bucket, &file.path);
                bucket.put_file(&key, &local).map_err(|e| {
                    anyhow::anyhow!("cannot upload s3://{}/{key}: {e}", bucket.bucket())
                })?;
                fs::remove_file(&local)
                    .with_context(|| format!("cannot remove {}", local.display()))?;
            }
        }
        Ok(files)
    }

    fn write_summary(&self, run_id: &str, shard: Shard, summary: &ShardSummary) -> Result<()> {
        let dir = prepare_shard_dir(self.staging(), run_id, shard)?;
        write_summary(&dir, summary)?;
        if let Destination::S3 { bucket, .. } = self {
            let rel = format!("{run_id}/{}/summary.json", shard.folder_name());
            let key = Destination::key(bucket, &rel);
            bucket
                .put_file(&key, &dir.join("summary.json"))
                .map_err(|e| {
                    anyhow::anyhow!("cannot upload s3://{}/{key}: {e}", bucket.bucket())
                })?;
        }
        Ok(())
    }
}

/// `--print-ddl athena`: the table over the export at `--out` (its regions when it holds an
/// export), else over a placeholder location to edit.
fn print_ddl(args: &ExportArgs, format: Format) -> Result<ExitCode> {
    let out = args.out.as_deref();
    let (location, regions) = match out {
        Some(out) if out.starts_with("s3://") => {
            let bucket = S3Archive::open(out, &args.source.s3.options(&args.source.regions))?;
            (out.to_string(), s3_regions(&bucket)?)
        }
        Some(dir) => {
            eprintln!("trailscan: LOCATION is a placeholder: give --out s3://BUCKET/PREFIX, where the export is, to fill it in");
            (
                "s3://EXPORT-BUCKET/PREFIX".to_string(),
                local_regions(Path::new(dir))?,
            )
        }
        None => ("s3://EXPORT-BUCKET/PREFIX".to_string(), Vec::new()),
    };
    print!(
        "{}",
        athena_ddl(&AthenaTable {
            name: &args.table_name,
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

fn local_regions(dir: &Path) -> Result<Vec<String>> {
    let mut regions = BTreeSet::new();
    let v1 = dir.join("v1");
    let Ok(accounts) = fs::read_dir(&v1) else {
        return Ok(Vec::new());
    };
    for account in accounts.flatten() {
        for region in fs::read_dir(account.path()).into_iter().flatten().flatten() {
            if let Some(r) = partition_value(&region.file_name().to_string_lossy(), "region") {
                regions.insert(r.to_string());
            }
        }
    }
    Ok(regions.into_iter().collect())
}

fn s3_regions(bucket: &S3Archive) -> Result<Vec<String>> {
    let base = match bucket.prefix() {
        "" => "v1/".to_string(),
        p => format!("{p}/v1/"),
    };
    let mut regions = BTreeSet::new();
    let fail = |e: String| anyhow::anyhow!("cannot list {}: {e}", bucket.url());
    for account in bucket.list_folders(&base).map_err(fail)? {
        for region in bucket.list_folders(&account).map_err(fail)? {
            if let Some(r) = partition_value(&region, "region") {
                regions.insert(r.to_string());
            }
        }
    }
    Ok(regions.into_iter().collect())
}
