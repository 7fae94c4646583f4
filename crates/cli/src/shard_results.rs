//! What a shard leaves for `trailscan merge`: `OUT/RUN-ID/shard-K-of-N/summary.json` (the
//! shard, its units, its counts, its outputs with their SHA-256) beside its results, and how
//! a merge reads a run back and refuses one with missing, duplicate or disagreeing shards.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use trailscan_archive::{plan_sha256, Listing, Shard, ShardPlan};
use trailscan_export::file_sha256;
use trailscan_query::{Position, ScanStats};

/// The file every shard writes last: its presence says the shard finished.
pub const SUMMARY_FILE: &str = "summary.json";
/// A sharded lookup's events, newest first, one JSON object per line.
pub const EVENTS_FILE: &str = "events.jsonl";

/// `summary.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardSummary {
    /// The trailscan version that wrote it.
    pub trailscan: String,
    /// `lookup-events`, `export` or `validate-logs`.
    pub command: String,
    /// The command's flags as given, less the sharding flags: identical in every shard of
    /// a run, and what the merge re-reads to print as the unsharded command would.
    pub arguments: Vec<String>,
    /// The source as given.
    pub source: String,
    /// The run.
    pub run_id: String,
    /// This shard's index.
    pub shard_index: u32,
    /// How many shards.
    pub shard_count: u32,
    /// Units found by every shard's walk.
    pub units_total: usize,
    /// SHA-256 of the sorted list of all units: equal in every shard of a run.
    pub plan_sha256: String,
    /// This shard's units (`YYYY/MM/DD ACCOUNT REGION`).
    pub units: Vec<String>,
    /// What the scan did.
    pub counts: Counts,
    /// Files written (paths relative to the shard's folder, or to the export root).
    pub outputs: Vec<Output>,
}

/// The scan's counts, summed by a merge.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Counts {
    /// Objects listed for this shard.
    pub objects: u64,
    /// Read whole.
    pub objects_read: u64,
    /// Not readable.
    pub objects_failed: u64,
    /// Read with problems.
    pub objects_with_problems: u64,
    /// Ruled out by the prefilter.
    pub objects_ruled_out: u64,
    /// Files passed over while listing.
    pub files_skipped: u64,
    /// Folders that could not be listed.
    pub listing_problems: u64,
    /// Compressed bytes read.
    pub bytes_read: u64,
    /// Bytes inflated.
    pub bytes_inflated: u64,
    /// Records in the files.
    pub records: u64,
    /// Records unreadable.
    pub records_skipped: u64,
    /// Records matched.
    pub records_matched: u64,
    /// Results written (events, or rows exported).
    pub results: u64,
}

impl Counts {
    /// From a listing and a scan.
    pub fn new(listing: &Listing, stats: &ScanStats, results: u64) -> Counts {
        Counts {
            objects: stats.objects,
            objects_read: stats.objects_read,
            objects_failed: stats.objects_failed,
            objects_with_problems: stats.objects_with_problems,
            objects_ruled_out: stats.objects_ruled_out,
            files_skipped: listing.skipped.files_total(),
            listing_problems: listing.problems.len() as u64,
            bytes_read: stats.bytes_read,
            bytes_inflated: stats.bytes_inflated,
            records: stats.records,
            records_skipped: stats.records_skipped,
            records_matched: stats.records_matched,
            results,
        }
    }

    fn add(&mut self, o: &Counts) {
        self.objects += o.objects;
        self.objects_read += o.objects_read;
        self.objects_failed += o.objects_failed;
        self.objects_with_problems += o.objects_with_problems;
        self.objects_ruled_out += o.objects_ruled_out;
        self.files_skipped += o.files_skipped;
        self.listing_problems += o.listing_problems;
        self.bytes_read += o.bytes_read;
        self.bytes_inflated += o.bytes_inflated;
        self.records += o.records;
        self.records_skipped += o.records_skipped;
        self.records_matched += o.records_matched;
        self.results += o.results;
    }

    /// Problems that make the exit code 1.
    pub fn problems(&self) -> u64 {
        self.objects_failed + self.objects_with_problems + self.listing_problems
    }
}

/// One output file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Output {
    /// Path.
    pub path: String,
    /// Rows or events in it.
    pub rows: u64,
    /// Size.
    pub bytes: u64,
    /// SHA-256 (hex).
    pub sha256: String,
}

/// Which units a shard took: from a sharded listing, or dealt here (digest chains).
pub struct Plan {
    /// The shard.
    pub shard: Shard,
    /// Units of all shards.
    pub units_total: usize,
    /// This shard's, by name.
    pub units: Vec<String>,
    /// SHA-256 of the names of all units, one per line, in order.
    pub plan_sha256: String,
}

impl From<&ShardPlan> for Plan {
    fn from(plan: &ShardPlan) -> Plan {
        Plan {
            shard: plan.shard,
            units_total: plan.units_total,
            units: plan.own.iter().map(ToString::to_string).collect(),
            plan_sha256: plan.plan_sha256.clone(),
        }
    }
}

impl Plan {
    /// Deals `names` (in the order every shard derives) round-robin, as a sharded listing
    /// deals its units; returns the plan and the indexes of this shard's units.
    pub fn deal(shard: Shard, names: &[String]) -> (Plan, Vec<usize>) {
        let own: Vec<usize> = (0..names.len()).filter(|&i| shard.owns(i)).collect();
        let plan = Plan {
            shard,
            units_total: names.len(),
            units: own.iter().map(|&i| names[i].clone()).collect(),
            plan_sha256: plan_sha256(names),
        };
        (plan, own)
    }
}

impl ShardSummary {
    /// A summary for `command`, with this process's flags less the sharding ones.
    pub fn new(
        command: &str,
        source: &str,
        run_id: &str,
        plan: Plan,
        counts: Counts,
    ) -> ShardSummary {
        ShardSummary {
            trailscan: env!("CARGO_PKG_VERSION").to_string(),
            command: command.to_string(),
            arguments: arguments_without_sharding(std::env::args().skip(2)),
            source: source.to_string(),
            run_id: run_id.to_string(),
            shard_index: plan.shard.index,
            shard_count: plan.shard.count,
            units_total: plan.units_total,
            plan_sha256: plan.plan_sha256,
            units: plan.units,
            counts,
            outputs: Vec::new(),
        }
    }
}

/// The command the shards of a run were given, parsed again (as `trailscan COMMAND ARGS`),
/// so that a merge prints as that command would.
pub fn recorded_command(summary: &ShardSummary) -> Result<crate::flags::Command> {
    use clap::Parser;
    let argv = ["trailscan", summary.command.as_str()]
        .into_iter()
        .map(String::from)
        .chain(summary.arguments.iter().cloned());
    Ok(crate::flags::Cli::try_parse_from(argv)
        .context("the shards' recorded command line does not parse")?
        .command)
}

/// The flags less `--shard`, `--run-id` and `--out` (which differ between shards, or only
/// say where results go).
fn arguments_without_sharding(args: impl Iterator<Item = String>) -> Vec<String> {
    const SHARDING: [&str; 3] = ["--shard", "--run-id", "--out"];
    let mut kept = Vec::new();
    let mut skip_value = false;
    for arg in args {
        if std::mem::take(&mut skip_value) {
            continue;
        }
        if SHARDING.contains(&arg.as_str()) {
            skip_value = true;
        } else if !SHARDING
            .iter()
            .any(|flag| arg.starts_with(&format!("{flag}=")))
        {
            kept.push(arg);
        }
    }
    kept
}

/// `OUT/RUN-ID/shard-K-of-N`, created empty of an earlier attempt's summary (so that a
/// retried shard that fails is not taken for finished).
pub fn prepare_shard_dir(out: &Path, run_id: &str, shard: Shard) -> Result<PathBuf> {
    let dir = out.join(run_id).join(shard.folder_name());
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    match fs::remove_file(dir.join(SUMMARY_FILE)) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            return Err(e)
                .with_context(|| format!("cannot replace {}", dir.join(SUMMARY_FILE).display()))
        }
        _ => {}
    }
    Ok(dir)
}

/// Writes `summary.json` (last, atomically: written beside and renamed).
pub fn write_summary(dir: &Path, summary: &ShardSummary) -> Result<()> {
    let path = dir.join(SUMMARY_FILE);
    let partial = dir.join(format!("{SUMMARY_FILE}.partial"));
    let mut text = serde_json::to_vec_pretty(summary)?;
    text.push(b'\n');
    fs::write(&partial, text)
        .and_then(|()| fs::rename(&partial, &path))
        .with_context(|| format!("cannot write {}", path.display()))
}

/// One line of `events.jsonl`: where the event stands, and its record.
#[derive(Serialize)]
struct EventLineOut<'a> {
    position: &'a Position,
    record: &'a serde_json::value::RawValue,
}

#[derive(Deserialize)]
struct EventLineIn {
    position: Position,
    record: Box<serde_json::value::RawValue>,
}

/// Writes events (newest first) to `events.jsonl`; returns the output entry.
pub fn write_events<I>(dir: &Path, events: I) -> Result<Output>
where
    I: Iterator<Item = io::Result<(Position, trailscan_records::LookupEvent)>>,
{
    let path = dir.join(EVENTS_FILE);
    let context = || format!("cannot write {}", path.display());
    let mut out = BufWriter::new(fs::File::create(&path).with_context(context)?);
    let mut rows = 0;
    for item in events {
        let (position, event) = item.context("cannot read back the collected events")?;
        let record: &serde_json::value::RawValue = serde_json::from_str(&event.cloudtrail_event)
            .context("a collected record is not JSON")?;
        serde_json::to_writer(
            &mut out,
            &EventLineOut {
                position: &position,
                record,
            },
        )?;
        out.write_all(b"\n").with_context(context)?;
        rows += 1;
    }
    out.into_inner()
        .map_err(|e| e.into_error())
        .with_context(context)?;
    let (bytes, sha256) = file_sha256(&path).with_context(context)?;
    Ok(Output {
        path: EVENTS_FILE.to_string(),
        rows,
        bytes,
        sha256,
    })
}

/// Reads `events.jsonl` back, calling `each` with every position and record text.
pub fn read_events(dir: &Path, mut each: impl FnMut(Position, &str) -> Result<()>) -> Result<()> {
    let path = dir.join(EVENTS_FILE);
    let file = fs::File::open(&path).with_context(|| format!("cannot read {}", path.display()))?;
    for (n, line) in BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("cannot read {}", path.display()))?;
        let parsed: EventLineIn = serde_json::from_str(&line).with_context(|| {
            format!(
                "{}: line {}: not a trailscan event line",
                path.display(),
                n + 1
            )
        })?;
        each(parsed.position, parsed.record.get())?;
    }
    Ok(())
}

/// A run's shards, read and checked.
pub struct Run {
    /// Shard folders and their summaries, by index.
    pub shards: Vec<(PathBuf, ShardSummary)>,
    /// Counts over every shard.
    pub counts: Counts,
}

/// Reads `OUT/RUN-ID`: every `shard-K-of-N` must be there exactly once, finished, from the
/// same command, flags and unit list, with outputs matching their recorded SHA-256.
pub fn read_run(run_dir: &Path) -> Result<Run> {
    let entries =
        fs::read_dir(run_dir).with_context(|| format!("cannot read {}", run_dir.display()))?;
    let mut found: BTreeMap<u32, Vec<(PathBuf, u32)>> = BTreeMap::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", run_dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("shard-") else {
            continue;
        };
        let Some((k, n)) = rest.split_once("-of-") else {
            continue;
        };
        let (Ok(k), Ok(n)) = (k.parse::<u32>(), n.parse::<u32>()) else {
            continue;
        };
        found.entry(k).or_default().push((entry.path(), n));
    }
    let counts: Vec<u32> = found.values().flatten().map(|(_, n)| *n).collect();
    let Some(&count) = counts.first() else {
        bail!(
            "{}: no shard-K-of-N folders: not the folder of a sharded run (give OUT/RUN-ID)",
            run_dir.display()
        );
    };
    if let Some(other) = counts.iter().find(|n| **n != count) {
        bail!(
            "{}: shards of different runs: some are of {count}, some of {other} (one run per folder)",
            run_dir.display()
        );
    }
    let mut shards = Vec::new();
    let mut missing = Vec::new();
    for k in 0..count {
        match found.get(&k).map(Vec::as_slice) {
            None | Some([]) => missing.push(format!("shard-{k}-of-{count}")),
            Some([(dir, _)]) => {
                let path = dir.join(SUMMARY_FILE);
                if !path.exists() {
                    missing.push(format!(
                        "shard-{k}-of-{count} (no {SUMMARY_FILE}: not finished)"
                    ));
                    continue;
                }
                let text =
                    fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
                let summary: ShardSummary = serde_json::from_slice(&text).with_context(|| {
                    format!("{}: not a trailscan shard summary", path.display())
                })?;
                if summary.shard_index != k || summary.shard_count != count {
                    bail!(
                        "{}: says shard {}/{} but is in the folder of shard {k}/{count}",
                        path.display(),
                        summary.shard_index,
                        summary.shard_count
                    );
                }
                shards.push((dir.clone(), summary));
            }
            Some(several) => bail!(
                "{}: shard {k} is there {} times: {}",
                run_dir.display(),
                several.len(),
                several
                    .iter()
                    .map(|(p, _)| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
    if !missing.is_empty() {
        bail!(
            "{}: missing {}: run it (again) before merging",
            run_dir.display(),
            missing.join(", ")
        );
    }
    let (_, first) = &shards[0];
    for (dir, s) in &shards[1..] {
        let differs = |what: &str| {
            anyhow::anyhow!(
                "{}: {what} differs from shard 0's: the shards are not of one run",
                dir.display()
            )
        };
        if s.command != first.command {
            return Err(differs("the command"));
        }
        if s.arguments != first.arguments {
            return Err(differs("the command line"));
        }
        if s.plan_sha256 != first.plan_sha256 || s.units_total != first.units_total {
            return Err(differs(
                "the list of units (the archive changed between shards?)",
            ));
        }
    }
    let mut total = Counts::default();
    for (dir, s) in &shards {
        total.add(&s.counts);
        for output in s.outputs.iter().filter(|o| !o.path.contains('/')) {
            let path = dir.join(&output.path);
            let (bytes, sha256) =
                file_sha256(&path).with_context(|| format!("cannot read {}", path.display()))?;
            if bytes != output.bytes || sha256 != output.sha256 {
                bail!(
                    "{}: SHA-256 {sha256} ({bytes} bytes) is not the {} ({} bytes) its summary.json recorded: changed or truncated since the shard wrote it",
                    path.display(),
                    output.sha256,
                    output.bytes
                );
            }
        }
    }
    Ok(Run {
        shards,
        counts: total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sharding_flags_are_left_out() {
        let args = [
            "--shard",
            "auto",
            "--run-id=r",
            "--output",
            "text",
            "--out",
            "/x",
            "--source",
            "s",
        ];
        assert_eq!(
            arguments_without_sharding(args.iter().map(|s| s.to_string())),
            vec!["--output", "text", "--source", "s"]
        );
    }
}
