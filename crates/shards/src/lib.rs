//! What a shard of a split run leaves for `trailscan merge`, and how a merge reads a run back.
//!
//! Each shard writes `OUT/RUN-ID/shard-K-of-N/` in any store (a folder, or a bucket that the
//! batch engine's workers share): its results (`events.jsonl` for a lookup, `chains.jsonl`
//! for a validation, one JSON object per line) and, last, `summary.json` (the shard, its
//! units, its counts, its outputs with their SHA-256), whose presence says the shard finished.
//! A hunt's shard writes `detections.jsonl`.
//! [`read_run`] takes a run back and refuses one with missing, duplicate, unfinished or
//! disagreeing shards, or with an output changed since its shard wrote it.
//!
//! ```
//! use std::sync::Arc;
//! use trailscan_archive::MemoryStore;
//! use trailscan_layout::{Shard, ShardPlan};
//! use trailscan_shards::{read_run, Counts, ShardDir, ShardSummary};
//!
//! let store = Arc::new(MemoryStore::new());
//! let names = vec!["2024/01/01 111122223333 us-east-1".to_string()];
//! let shard = Shard { index: 0, count: 1 };
//! let dir = ShardDir::prepare(store.clone(), "run-1", shard).unwrap();
//! let (plan, _) = ShardPlan::deal(shard, &names);
//! let summary = ShardSummary::new("export", vec![], "s3://b", "run-1", &plan, Counts::default());
//! dir.write_summary(&summary).unwrap();
//! let run = read_run(store, "run-1").unwrap();
//! assert_eq!(run.shards.len(), 1);
//! ```
#![deny(missing_docs)]

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::sync::Arc;

use serde::{de::DeserializeOwned, Deserialize, Serialize};
use sha2::{Digest, Sha256};
use trailscan_archive::digest::sha256_stream;
use trailscan_archive::{key_under, Listing, ObjectStore, StoreError, WriteMode};
use trailscan_layout::{Shard, ShardPlan};
use trailscan_query::{Position, ScanStats};

/// The file every shard writes last: its presence says the shard finished.
pub const SUMMARY_FILE: &str = "summary.json";
/// A sharded lookup's events, newest first, one JSON object per line.
pub const EVENTS_FILE: &str = "events.jsonl";
/// A sharded validation's chains, one JSON object per line.
pub const CHAINS_FILE: &str = "chains.jsonl";
/// A sharded hunt's detections, one JSON object per line (the merge orders them).
pub const DETECTIONS_FILE: &str = "detections.jsonl";

/// Why a shard's results could not be written or a run read back.
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A local staging file failed.
    #[error("{what}: {cause}")]
    Staging {
        /// What was being done.
        what: String,
        /// What the operating system said.
        cause: io::Error,
    },
    /// A file does not read as what it should be.
    #[error("{target}: {problem}")]
    Malformed {
        /// The file.
        target: String,
        /// What is wrong.
        problem: String,
    },
    /// Shards of the run have not finished (or not started).
    #[error("{target}: missing {}: run it (again) first", missing.join(", "))]
    Incomplete {
        /// The run's folder.
        target: String,
        /// The shards missing or unfinished, by folder name.
        missing: Vec<String>,
    },
    /// The run is not whole, or not one run.
    #[error("{target}: {problem}")]
    Run {
        /// The run or shard folder.
        target: String,
        /// What is wrong with it, and what to do.
        problem: String,
    },
}

/// The counts of a shard: the scan's, and what its listing passed over; summed by a merge.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// What the scan did.
    #[serde(flatten)]
    pub scan: ScanStats,
    /// Files passed over while listing.
    pub files_skipped: u64,
    /// Folders that could not be listed.
    pub listing_problems: u64,
    /// `--account-id` and `--region` values that name no folder of the archive. Every shard
    /// lists the same account and region folders, so each finds the same: a run has the most
    /// any shard found, not their sum.
    #[serde(default)]
    pub selection_misses: u64,
    /// Results written (events, rows exported, chains validated).
    pub results: u64,
}

impl Counts {
    /// From a listing, the selection's misses found in it, and a scan.
    pub fn new(listing: &Listing, selection_misses: u64, scan: &ScanStats, results: u64) -> Counts {
        Counts {
            scan: scan.clone(),
            files_skipped: listing.skipped.files_total(),
            listing_problems: listing.problems.len() as u64,
            selection_misses,
            results,
        }
    }

    fn add(&mut self, o: &Counts) {
        self.scan.add(&o.scan);
        self.files_skipped += o.files_skipped;
        self.listing_problems += o.listing_problems;
        self.selection_misses = self.selection_misses.max(o.selection_misses);
        self.results += o.results;
    }

    /// Problems that make the exit code 1.
    pub fn problems(&self) -> u64 {
        self.scan.objects_failed
            + self.scan.objects_with_problems
            + self.listing_problems
            + self.selection_misses
    }
}

/// One line of `events.jsonl`: where the event stands among all matches, and its record.
#[derive(Debug, Serialize, Deserialize)]
pub struct EventLine {
    /// Its place in the newest-first order.
    pub position: Position,
    /// The CloudTrail record, as in the log file.
    pub record: Box<serde_json::value::RawValue>,
}

/// One output file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Output {
    /// Relative to the shard's folder (`events.jsonl`), or, with a `/`, to the export's root.
    pub path: String,
    /// Rows or events in it.
    pub rows: u64,
    /// Size.
    pub bytes: u64,
    /// SHA-256 (hex).
    pub sha256: String,
}

/// `summary.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardSummary {
    /// The trailscan version that wrote it.
    pub trailscan: String,
    /// `lookup-events`, `export` or `validate-logs`.
    pub command: String,
    /// The command's flags as given, less the sharding flags (see
    /// [`arguments_without_sharding`]): identical in every shard of a run, and what the merge
    /// re-reads to print as the unsharded command would.
    pub arguments: Vec<String>,
    /// The source as given.
    pub source: String,
    /// The run.
    pub run_id: String,
    /// This shard's index.
    pub shard_index: u32,
    /// How many shards.
    pub shard_count: u32,
    /// Units of every shard together.
    pub units_total: usize,
    /// SHA-256 of the list of all units: equal in every shard of a run.
    pub plan_sha256: String,
    /// This shard's units.
    pub units: Vec<String>,
    /// What the shard did.
    pub counts: Counts,
    /// Files written.
    pub outputs: Vec<Output>,
}

impl ShardSummary {
    /// A summary of `command` run with `arguments` (already without the sharding flags).
    pub fn new(
        command: &str,
        arguments: Vec<String>,
        source: &str,
        run_id: &str,
        plan: &ShardPlan,
        counts: Counts,
    ) -> ShardSummary {
        ShardSummary {
            trailscan: env!("CARGO_PKG_VERSION").to_string(),
            command: command.to_string(),
            arguments,
            source: source.to_string(),
            run_id: run_id.to_string(),
            shard_index: plan.shard.index,
            shard_count: plan.shard.count,
            units_total: plan.units_total,
            plan_sha256: plan.plan_sha256.clone(),
            units: plan.own.clone(),
            counts,
            outputs: Vec::new(),
        }
    }
}

/// The flags less `--shard`, `--run-id` and `--out` (which differ between shards, or only say
/// where results go): what every shard of a run records alike.
pub fn arguments_without_sharding(args: impl Iterator<Item = String>) -> Vec<String> {
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

/// A shard's folder, `RUN-ID/shard-K-of-N`, under a store's base.
#[derive(Debug, Clone)]
pub struct ShardDir {
    store: Arc<dyn ObjectStore>,
    /// The folder's key, without a trailing `/`.
    key: String,
}

impl fmt::Display for ShardDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.store.display_key(&self.key))
    }
}

impl ShardDir {
    /// The folder of `shard` of `run_id`, emptied of an earlier attempt's summary (so that a
    /// retried shard that fails is not taken for finished), and shown writable before the
    /// shard does its work: a probe is written there and removed.
    pub fn prepare(
        store: Arc<dyn ObjectStore>,
        run_id: &str,
        shard: Shard,
    ) -> Result<ShardDir, ShardError> {
        let rel = format!("{run_id}/{}", shard.folder_name());
        let dir = ShardDir {
            key: key_under(store.base(), &rel),
            store,
        };
        dir.store.delete(&dir.file_key(SUMMARY_FILE))?;
        let probe = dir.file_key(".write-probe");
        dir.store.write(&probe, b"", None, WriteMode::Replace)?;
        dir.store.delete(&probe)?;
        Ok(dir)
    }

    fn file_key(&self, name: &str) -> String {
        format!("{}/{name}", self.key)
    }

    /// A file of the shard, as a person names it.
    pub fn display_file(&self, name: &str) -> String {
        self.store.display_key(&self.file_key(name))
    }

    /// Writes `items`, one JSON object per line, to the shard's file `name`, staged locally
    /// and then put in place whole; returns its output entry.
    pub fn write_lines<T: Serialize>(
        &self,
        name: &str,
        items: impl Iterator<Item = Result<T, ShardError>>,
    ) -> Result<Output, ShardError> {
        // On disk, staged in the shard's own folder (renamed into place from there): never
        // beside what other tools or commands read in the store's root.
        let staging_folder = self
            .store
            .local_folder()
            .map_or_else(std::env::temp_dir, |p| p.join(&self.key));
        let staging = |cause| ShardError::Staging {
            what: format!(
                "cannot stage {} in {} (set TMPDIR to a folder with free space)",
                self.display_file(name),
                staging_folder.display()
            ),
            cause,
        };
        let mut staged = tempfile::NamedTempFile::new_in(&staging_folder).map_err(staging)?;
        let mut out = HashingWriter {
            inner: BufWriter::new(staged.as_file_mut()),
            hasher: Sha256::new(),
            bytes: 0,
        };
        let mut rows = 0;
        for item in items {
            let line = serde_json::to_vec(&item?).map_err(|e| ShardError::Malformed {
                target: self.display_file(name),
                problem: e.to_string(),
            })?;
            out.write_all(&line).map_err(staging)?;
            out.write_all(b"\n").map_err(staging)?;
            rows += 1;
        }
        let (bytes, sha256) = out.finish().map_err(staging)?;
        let path = staged.into_temp_path();
        self.store
            .write_file(&self.file_key(name), &path, WriteMode::Replace)?;
        Ok(Output {
            path: name.to_string(),
            rows,
            bytes,
            sha256,
        })
    }

    /// Finishes the shard: writes its results, `items` to the file `name` (see
    /// [`ShardDir::write_lines`]), then `summary` with that output and its row count as the
    /// results; returns the summary written.
    pub fn write_results<T: Serialize>(
        &self,
        name: &str,
        items: impl Iterator<Item = Result<T, ShardError>>,
        mut summary: ShardSummary,
    ) -> Result<ShardSummary, ShardError> {
        let output = self.write_lines(name, items)?;
        summary.counts.results = output.rows;
        summary.outputs.push(output);
        self.write_summary(&summary)?;
        Ok(summary)
    }

    /// Reads the shard's file `name` back, one JSON object per line.
    pub fn read_lines<T: DeserializeOwned>(
        &self,
        name: &str,
        mut each: impl FnMut(T) -> Result<(), ShardError>,
    ) -> Result<(), ShardError> {
        let reader = BufReader::new(self.store.read_stream(&self.file_key(name))?);
        for (n, line) in reader.lines().enumerate() {
            let malformed = |problem: String| ShardError::Malformed {
                target: format!("{}: line {}", self.display_file(name), n + 1),
                problem,
            };
            let line = line.map_err(|e| malformed(e.to_string()))?;
            each(serde_json::from_str(&line).map_err(|e| malformed(e.to_string()))?)?;
        }
        Ok(())
    }

    /// Writes `summary.json`, last: its presence says the shard finished.
    pub fn write_summary(&self, summary: &ShardSummary) -> Result<(), ShardError> {
        let mut text = serde_json::to_vec_pretty(summary).map_err(|e| ShardError::Malformed {
            target: self.display_file(SUMMARY_FILE),
            problem: e.to_string(),
        })?;
        text.push(b'\n');
        self.store.write(
            &self.file_key(SUMMARY_FILE),
            &text,
            None,
            WriteMode::Replace,
        )?;
        Ok(())
    }

    fn read_summary(&self) -> Result<Option<ShardSummary>, ShardError> {
        let mut text = Vec::new();
        match self.store.read(&self.file_key(SUMMARY_FILE), &mut text) {
            Ok(_) => {}
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        serde_json::from_slice(&text)
            .map(Some)
            .map_err(|e| ShardError::Malformed {
                target: self.display_file(SUMMARY_FILE),
                problem: format!("not a trailscan shard summary: {e}"),
            })
    }

    /// Checks the shard's own outputs against the sizes and SHA-256 its summary recorded.
    fn verify(&self, outputs: &[Output]) -> Result<(), ShardError> {
        for output in outputs.iter().filter(|o| !o.path.contains('/')) {
            let target = self.display_file(&output.path);
            let mut reader = self.store.read_stream(&self.file_key(&output.path))?;
            let (bytes, sha256) =
                sha256_stream(&mut reader).map_err(|cause| ShardError::Staging {
                    what: format!("cannot read {target}"),
                    cause,
                })?;
            if bytes != output.bytes || sha256 != output.sha256 {
                return Err(ShardError::Run {
                    target,
                    problem: format!(
                        "SHA-256 {sha256} ({bytes} bytes) is not the {} ({} bytes) its summary.json recorded: changed or truncated since the shard wrote it",
                        output.sha256, output.bytes
                    ),
                });
            }
        }
        Ok(())
    }
}

/// Counts what goes through, and hashes it, as it is written.
struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    /// Flushes; the bytes written and their SHA-256.
    fn finish(mut self) -> io::Result<(u64, String)> {
        self.inner.flush()?;
        Ok((self.bytes, hex::encode(self.hasher.finalize())))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A run's shards, read and checked.
#[derive(Debug)]
pub struct Run {
    /// Shard folders and their summaries, by index.
    pub shards: Vec<(ShardDir, ShardSummary)>,
    /// Counts over every shard.
    pub counts: Counts,
}

/// The shard folders of a run by index, from the names `shard-K-of-N`: each with the N its
/// name says.
fn shard_folders(
    store: &Arc<dyn ObjectStore>,
    run_key: &str,
) -> Result<BTreeMap<u32, Vec<(ShardDir, u32)>>, ShardError> {
    let mut found: BTreeMap<u32, Vec<(ShardDir, u32)>> = BTreeMap::new();
    for folder in store.list_dir(&format!("{run_key}/"))?.folders {
        let name = folder
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or("");
        let Some((k, n)) = name
            .strip_prefix("shard-")
            .and_then(|rest| rest.split_once("-of-"))
        else {
            continue;
        };
        // Another folder beside the shards is not the merge's business.
        let (Ok(k), Ok(n)) = (k.parse::<u32>(), n.parse::<u32>()) else {
            continue;
        };
        let dir = ShardDir {
            store: Arc::clone(store),
            key: folder.trim_end_matches('/').to_string(),
        };
        found.entry(k).or_default().push((dir, n));
    }
    Ok(found)
}

/// Reads the run `run_id` under `store`'s base: every `shard-K-of-N` must be there exactly
/// once, finished, from the same command, flags and unit list, with outputs matching their
/// recorded SHA-256.
pub fn read_run(store: Arc<dyn ObjectStore>, run_id: &str) -> Result<Run, ShardError> {
    read_run_checking(store, run_id, true)
}

/// [`read_run`], with `same_units` false for a run whose shards may each have listed a few
/// more units than the others (an index build, whose shards start hours apart and whose work
/// is only a cache of the archive: a day folder created after a shard listed is indexed by the
/// next update). The units already there when every shard listed are dealt alike, as they
/// sort before the new ones.
pub fn read_run_checking(
    store: Arc<dyn ObjectStore>,
    run_id: &str,
    same_units: bool,
) -> Result<Run, ShardError> {
    let run_key = key_under(store.base(), run_id);
    let run_name = store.display_key(&run_key);
    let refused = |problem: String| ShardError::Run {
        target: run_name.clone(),
        problem,
    };
    let found = shard_folders(&store, &run_key)?;
    let counts: Vec<u32> = found.values().flatten().map(|(_, n)| *n).collect();
    let Some(&count) = counts.first().filter(|&&n| n > 0) else {
        return Err(refused(
            "no shard-K-of-N folders: not the folder of a sharded run (give OUT/RUN-ID)".into(),
        ));
    };
    if let Some(other) = counts.iter().find(|n| **n != count) {
        return Err(refused(format!(
            "shards of different runs: some are of {count}, some of {other} (one run per folder)"
        )));
    }
    let mut shards = Vec::new();
    let mut missing = Vec::new();
    for k in 0..count {
        match found.get(&k).map(Vec::as_slice) {
            None | Some([]) => missing.push(format!("shard-{k}-of-{count}")),
            Some([(dir, _)]) => match dir.read_summary()? {
                None => missing.push(format!(
                    "shard-{k}-of-{count} (no {SUMMARY_FILE}: not finished)"
                )),
                Some(summary) if summary.shard_index != k || summary.shard_count != count => {
                    return Err(ShardError::Run {
                        target: dir.display_file(SUMMARY_FILE),
                        problem: format!(
                            "says shard {}/{} but is in the folder of shard {k}/{count}",
                            summary.shard_index, summary.shard_count
                        ),
                    })
                }
                Some(summary) => shards.push((dir.clone(), summary)),
            },
            Some(several) => {
                let names: Vec<String> = several.iter().map(|(d, _)| d.to_string()).collect();
                return Err(refused(format!(
                    "shard {k} is there {} times: {}",
                    several.len(),
                    names.join(", ")
                )));
            }
        }
    }
    if !missing.is_empty() {
        return Err(ShardError::Incomplete {
            target: run_name,
            missing,
        });
    }
    check_one_run(&shards, same_units)?;
    let mut total = Counts::default();
    for (dir, summary) in &shards {
        total.add(&summary.counts);
        dir.verify(&summary.outputs)?;
    }
    Ok(Run {
        shards,
        counts: total,
    })
}

/// Every shard of a run was given the same command, flags and unit list.
fn check_one_run(shards: &[(ShardDir, ShardSummary)], same_units: bool) -> Result<(), ShardError> {
    let Some(((_, first), rest)) = shards.split_first() else {
        return Ok(());
    };
    for (dir, s) in rest {
        let differs = |what: &str| ShardError::Run {
            target: dir.to_string(),
            problem: format!("{what} differs from shard 0's: the shards are not of one run"),
        };
        if s.command != first.command {
            return Err(differs("the command"));
        }
        if s.arguments != first.arguments {
            return Err(differs("the command line"));
        }
        if same_units && (s.plan_sha256 != first.plan_sha256 || s.units_total != first.units_total)
        {
            return Err(differs(
                "the list of units (the archive changed between shards?)",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use trailscan_archive::MemoryStore;

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

    fn finished(store: &Arc<dyn ObjectStore>, names: &[String], shard: Shard) -> ShardDir {
        let dir = ShardDir::prepare(Arc::clone(store), "r", shard).unwrap();
        let (plan, own) = ShardPlan::deal(shard, names);
        let lines = own
            .into_iter()
            .map(|i| Ok(serde_json::json!({ "unit": i })));
        let output = dir.write_lines("units.jsonl", lines).unwrap();
        let mut summary = ShardSummary::new("x", vec![], "src", "r", &plan, Counts::default());
        summary.outputs.push(output);
        dir.write_summary(&summary).unwrap();
        dir
    }

    #[test]
    fn a_run_reads_back_whole_or_not_at_all() {
        let store: Arc<dyn ObjectStore> = Arc::new(MemoryStore::new());
        let names: Vec<String> = (0..5).map(|i| format!("unit {i}")).collect();
        finished(&store, &names, Shard { index: 0, count: 2 });
        let err = read_run(Arc::clone(&store), "r").unwrap_err().to_string();
        assert!(err.contains("missing shard-1-of-2"), "{err}");
        let dir = finished(&store, &names, Shard { index: 1, count: 2 });
        let run = read_run(Arc::clone(&store), "r").unwrap();
        let mut units = Vec::new();
        for (dir, _) in &run.shards {
            dir.read_lines("units.jsonl", |v: serde_json::Value| {
                units.push(v["unit"].as_u64().unwrap());
                Ok(())
            })
            .unwrap();
        }
        units.sort_unstable();
        assert_eq!(units, vec![0, 1, 2, 3, 4]);
        store
            .write(
                &dir.file_key("units.jsonl"),
                b"{}\n",
                None,
                WriteMode::Replace,
            )
            .unwrap();
        let err = read_run(Arc::clone(&store), "r").unwrap_err().to_string();
        assert!(err.contains("changed or truncated"), "{err}");
    }
}
