//! One digest chain validated end to end: walked, its log files hashed, the files no digest
//! lists found ([`check_chain`]), then printed as the AWS CLI prints one ([`report_chain`]);
//! and a run over many chains printed with its totals ([`print_chains`]).

use std::collections::HashMap;
use std::io::{self, Write};

use serde_json::json;
use trailscan_archive::StoreError;
use trailscan_layout::time::format_utc;

use crate::buckets::Buckets;
use crate::coverage::{excuse, unlisted_logs, Unlisted, Walked};
use crate::keys::PublicKeys;
use crate::logs::{hash_logs, verdict, LogRead};
use crate::report::{Counts, Printer};
use crate::state::{Continuation, DigestHead, HeadWatch};
use crate::walk::{unaccounted_hours, unique_logs, Fatal, LogKey, Step, Trail, Walker};

/// Why a chain could not be checked.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// What makes the AWS CLI stop (exit 255), in its words.
    #[error(transparent)]
    Fatal(#[from] Fatal),
    /// The log folders could not be listed for the coverage check.
    #[error(transparent)]
    Listing(#[from] StoreError),
    /// The chain's lines could not be written.
    #[error("cannot print: {0}")]
    Print(io::Error),
}

impl From<io::Error> for ChainError {
    fn from(e: io::Error) -> ChainError {
        ChainError::Print(e)
    }
}

/// Log files whose digests are hashed and printed together: enough to keep every core (and,
/// from S3, every request in flight) busy, few enough that a chain's steps and verdicts are
/// never held whole, however many years it covers.
const BATCH_LOGS: usize = 4096;

/// Some steps of the walk, in its order, and the reads of the log files their valid digests
/// list (a log listed twice in a batch is read once).
pub struct Batch<'a> {
    /// The steps, each tagged with whether it is a backfill step.
    pub steps: &'a [(bool, Step)],
    /// The log files read, by location.
    pub reads: &'a HashMap<LogKey, LogRead>,
}

/// Hands a batch to whoever prints it; `Send`, since the walk that hands it over runs on the
/// pool's threads.
pub type EachBatch<'a> = &'a mut (dyn FnMut(Batch<'_>) -> io::Result<()> + Send);

/// The steps of the walk gathered until they list [`BATCH_LOGS`] log files, then read and
/// handed over.
struct Batches<'a, 'e> {
    buckets: &'a Buckets,
    trail: &'a Trail,
    /// The valid digests offered to the coverage check.
    walked: &'a Walked,
    checked: &'a (dyn Fn(u64) + Sync),
    each: EachBatch<'e>,
    steps: Vec<(bool, Step)>,
    logs: usize,
    /// The delivery hours of the digests found INVALID or missing so far.
    excused: Vec<(i64, i64)>,
}

impl Batches<'_, '_> {
    fn push(&mut self, backfill: bool, step: Step) -> Result<(), ChainError> {
        if let Step::Valid(d) = &step {
            self.logs += d.logs.len();
            if d.bucket == self.trail.bucket {
                self.walked.offer(d);
            }
        }
        self.steps.push((backfill, step));
        if self.logs >= BATCH_LOGS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ChainError> {
        (self.checked)(self.steps.len() as u64);
        let reads = hash_logs(self.buckets, &unique_logs(&self.steps), self.checked);
        self.excused.extend(unaccounted_hours(&self.steps));
        (self.each)(Batch {
            steps: &self.steps,
            reads: &reads,
        })?;
        self.steps.clear();
        self.logs = 0;
        Ok(())
    }
}

/// Walks one trail's chain over `window` and hashes the log files its digests list, on
/// `pool`'s threads (from S3, many more than cores: each waits on its GET), handing `each`
/// the steps a batch at a time as the walk goes; returns the log files no digest lists.
/// `checked` is told of every digest and log file done, for a progress display; `now` bounds
/// the coverage check (files of the last two hours may still wait for their digest).
#[allow(clippy::too_many_arguments)]
pub fn check_chain(
    buckets: &Buckets,
    trail: &Trail,
    keys: &PublicKeys,
    (start, end): (i64, i64),
    now: i64,
    pool: &rayon::ThreadPool,
    checked: &(dyn Fn(u64) + Sync),
    each: EachBatch<'_>,
) -> Result<Vec<Unlisted>, ChainError> {
    // The coverage check runs beside the walk (on another of the pool's threads, where one is
    // free), which it does not need until the end (the hours of INVALID digests excuse their
    // files): from S3, its listings would otherwise be round trips at the end. Each waits for
    // the other as rayon's threads wait, working: chains validated at once never leave a
    // thread of the pool blocked on a job queued behind it. The digests the walk verifies are
    // offered to the check, which then need not read them again.
    let offered = Walked::default();
    let (walked, unlisted) = pool.install(|| {
        rayon::join(
            || {
                let mut batches = Batches {
                    buckets,
                    trail,
                    walked: &offered,
                    checked,
                    each,
                    steps: Vec::new(),
                    logs: 0,
                    excused: Vec::new(),
                };
                Walker::new(buckets, trail, keys, start, end)
                    .walk_each(&mut |backfill, step| batches.push(backfill, step))?;
                batches.flush()?;
                Ok::<_, ChainError>(batches.excused)
            },
            || unlisted_logs(buckets, trail, (start, end), now, &offered),
        )
    });
    // The walk's failure first: it is what the AWS CLI stops on (exit 255, in its words).
    let excused = walked?;
    Ok(excuse(unlisted?, &excused))
}

/// What one chain's validation decided.
#[derive(Debug, Clone)]
pub struct ChainResult {
    /// Its counts.
    pub counts: Counts,
    /// Its `--report` record.
    pub record: serde_json::Value,
    /// The newest valid digest of its standard chain, and how it continued a state's head.
    pub heads: HeadWatch,
}

/// Validates one chain as [`check_chain`] does and prints it as the AWS CLI prints one, a
/// batch at a time as the walk goes, after the header `printer` has printed (the AWS CLI
/// prints it before the walk, so it stands even when the walk fails), and says what it
/// decided. `title` names the chain in the report; `since` is the head a `--state` recorded.
pub fn report_chain(
    mut printer: Printer<'_>,
    run: &ChainRun<'_>,
    trail: &Trail,
    title: &str,
    (start, end): (i64, i64),
    since: Option<&DigestHead>,
) -> Result<ChainResult, ChainError> {
    printer.record.keep_entries = run.record;
    let mut heads = HeadWatch::new(since);
    let unlisted = check_chain(
        run.buckets,
        trail,
        run.keys,
        (start, end),
        run.now,
        run.pool,
        run.checked,
        &mut |batch| {
            for (backfill, step) in batch.steps {
                heads.step(*backfill, step);
                printer.step(*backfill, step, &mut |d, i| {
                    let log = d.logs[i].as_ref()?;
                    let read = batch.reads.get(&(log.bucket.clone(), log.key.clone()))?;
                    Some(verdict(read, &log.hash))
                })?;
            }
            Ok(())
        },
    )?;
    for unlisted in &unlisted {
        printer.unlisted(&unlisted.line())?;
    }
    printer.summary()?;
    let record = json!({
        "trail": title,
        "bucket": trail.bucket,
        "prefix": trail.prefix,
        "account": trail.account,
        "region": trail.source_region,
        "window": {"from": format_utc(start), "to": format_utc(end)},
        "result": printer.record.to_json(&printer.counts),
    });
    Ok(ChainResult {
        counts: printer.counts.clone(),
        record,
        heads,
    })
}

/// One chain's printed output and result, held until the chains before it are printed (and
/// what a validate-logs shard keeps of each of its chains, one JSON object per line).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ChainOutput {
    /// Position among all chains of the run.
    pub index: usize,
    /// What it printed on stdout.
    pub stdout: String,
    /// What it printed on stderr.
    pub stderr: String,
    /// Its counts.
    pub counts: Counts,
    /// Its `--report` record.
    pub record: serde_json::Value,
    /// The newest valid digest of its standard chain: what `--state` records next.
    #[serde(default)]
    pub head: Option<DigestHead>,
    /// With `--state`, how the walk continued the head the state recorded.
    #[serde(default)]
    pub continued: Option<Continuation>,
}

/// How [`validate_chain`] runs: what [`check_chain`] needs besides the chain.
pub struct ChainRun<'a> {
    /// The buckets the chain's objects are read from.
    pub buckets: &'a Buckets,
    /// The keys of the chain's region.
    pub keys: &'a PublicKeys,
    /// `--verbose`: valid digests and log files printed too.
    pub verbose: bool,
    /// Now (epoch seconds).
    pub now: i64,
    /// The workers.
    pub pool: &'a rayon::ThreadPool,
    /// Told of every digest and log file checked.
    pub checked: &'a (dyn Fn(u64) + Sync),
    /// Whether the `--report` record lists every digest and log file (else only its counts
    /// and the time covered: the entries are a run's size, not a chain's).
    pub record: bool,
}

/// Validates chain number `index` of a run over `window` and keeps what it prints, headed by
/// `title`, for printing in the run's order; with `since` (a `--state`'s head), checks that
/// the walk reaches it unchanged, and counts a chain that does not as a failure.
pub fn validate_chain(
    run: &ChainRun<'_>,
    index: usize,
    trail: &Trail,
    title: &str,
    window: (i64, i64),
    since: Option<&DigestHead>,
) -> Result<ChainOutput, ChainError> {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let mut printer = Printer::new(&mut out, &mut err, run.verbose, window.0, window.1);
    printer.header(title)?;
    let mut result = report_chain(printer, run, trail, title, window, since)?;
    let continued = result.heads.continuation();
    if let (Some(head), Some(continued)) = (since, &continued) {
        // The report says it too: an auditor's file must not read clean where the run failed.
        result.record["result"]["state"] = json!({
            "head": format!("s3://{}/{}", head.bucket, head.key),
            "new_digests": continued.new_digests,
            "new_log_files": continued.new_logs,
            "mismatch": continued.mismatch,
        });
    }
    if let Some(mismatch) = continued.as_ref().and_then(|c| c.mismatch.as_ref()) {
        writeln!(
            err,
            "trailscan: {title}: {mismatch}: this archive does not continue the audited chain (validate it whole with --full)"
        )?;
        result.counts.state_mismatches += 1;
        result.record["result"]["counts"]["state_mismatches"] = json!(1);
    }
    Ok(ChainOutput {
        index,
        stdout: String::from_utf8_lossy(&out).into_owned(),
        stderr: String::from_utf8_lossy(&err).into_owned(),
        counts: result.counts,
        record: result.record,
        head: result.heads.newest_head(),
        continued,
    })
}

/// Prints each chain as the AWS CLI prints one, in order, each followed by a blank line, then
/// the totals: how many chains had INVALID files, and the digest and log file ratios worded as
/// the AWS CLI words one chain's; `source` as the user named it.
pub fn print_chains(
    out: &mut dyn Write,
    err: &mut dyn Write,
    chains: &[ChainOutput],
    source: &str,
) -> io::Result<Counts> {
    let mut total = Counts::default();
    for chain in chains {
        out.write_all(chain.stdout.as_bytes())?;
        out.flush()?;
        err.write_all(chain.stderr.as_bytes())?;
        writeln!(out)?;
        total.add(&chain.counts);
    }
    let failed = chains.iter().filter(|c| c.counts.exit_code() != 0).count();
    writeln!(
        out,
        "All {} digest chains under {source}: {failed} with INVALID files",
        chains.len()
    )?;
    let ratio = |valid: u64, invalid: u64, name: &str| -> String {
        let t = valid + invalid;
        if invalid > 0 {
            format!("{valid}/{t} {name} files valid, {invalid}/{t} {name} files INVALID")
        } else {
            format!("{valid}/{t} {name} files valid")
        }
    };
    writeln!(
        out,
        "{}",
        ratio(total.valid_digests, total.invalid_digests, "digest")
    )?;
    if total.valid_backfill + total.invalid_backfill > 0 {
        writeln!(
            out,
            "{}",
            ratio(
                total.valid_backfill,
                total.invalid_backfill,
                "backfill digest"
            )
        )?;
    }
    writeln!(
        out,
        "{}",
        ratio(total.valid_logs, total.invalid_logs, "log")
    )?;
    for (n, what) in [
        (total.broken_links, "links between digests INVALID"),
        (total.unlisted_logs, "log files not listed in any digest"),
        (
            total.unverified_digests,
            "digest files not verified (signature not available)",
        ),
        (
            total.state_mismatches,
            "digest chains that do not continue the --state",
        ),
    ] {
        if n > 0 {
            writeln!(out, "{n} {what}")?;
        }
    }
    Ok(total)
}
