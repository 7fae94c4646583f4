//! What `validate-logs` prints, byte for byte as awscli 1.45.11 `CloudTrailValidateLogs`
//! (reference section 1.11): valid lines on stdout (with `--verbose`), INVALID and gap lines on
//! stderr, the blank-line rule between them, and the summary.
//!
//! trailscan's additions print only when they have something to say, so that a run the AWS
//! CLI would print identically stays identical: broken links between digests, and digests
//! whose signature is not available in a copy without metadata.

use std::io::{self, Write};

use serde_json::{json, Value};
use trailscan_layout::printable::printable_columns;
use trailscan_layout::time::format_utc;

use crate::digest_body::ValidDigest;
use crate::logs::LogVerdict;
use crate::walk::Step;

/// Counts for the summary and the exit code.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counts {
    /// Valid standard digests.
    pub valid_digests: u64,
    /// INVALID standard digests.
    pub invalid_digests: u64,
    /// Valid backfill digests.
    pub valid_backfill: u64,
    /// INVALID backfill digests.
    pub invalid_backfill: u64,
    /// Valid log files (each reference counts).
    pub valid_logs: u64,
    /// INVALID log files.
    pub invalid_logs: u64,
    /// Digests whose signature was not available (beyond the AWS CLI).
    pub unverified_digests: u64,
    /// Broken links between digests (beyond the AWS CLI).
    pub broken_links: u64,
    /// Log files no digest lists (beyond the AWS CLI).
    pub unlisted_logs: u64,
    /// Chains that do not continue the `--state` they were validated from.
    #[serde(default)]
    pub state_mismatches: u64,
}

impl Counts {
    /// Adds another chain's counts.
    pub fn add(&mut self, c: &Counts) {
        self.valid_digests += c.valid_digests;
        self.invalid_digests += c.invalid_digests;
        self.valid_backfill += c.valid_backfill;
        self.invalid_backfill += c.invalid_backfill;
        self.valid_logs += c.valid_logs;
        self.invalid_logs += c.invalid_logs;
        self.unverified_digests += c.unverified_digests;
        self.broken_links += c.broken_links;
        self.unlisted_logs += c.unlisted_logs;
        self.state_mismatches += c.state_mismatches;
    }

    /// The AWS CLI's exit code: 1 when anything is INVALID.
    pub fn exit_code(&self) -> u8 {
        u8::from(
            self.invalid_digests
                + self.invalid_backfill
                + self.invalid_logs
                + self.broken_links
                + self.unlisted_logs
                + self.state_mismatches
                > 0,
        )
    }
}

/// Everything a run decided, for `--report FILE.json`.
#[derive(Debug, Clone, Default)]
pub struct Record {
    /// Digests with their verdicts.
    pub digests: Vec<Value>,
    /// Log files with their verdicts.
    pub logs: Vec<Value>,
    /// Times without digests.
    pub gaps: Vec<Value>,
    /// Broken links between digests.
    pub links: Vec<Value>,
    /// Log files no digest lists.
    pub unlisted: Vec<Value>,
    /// Delivery time covered by valid digests, merged: `(start, end)`.
    pub covered: Vec<(i64, i64)>,
    /// Whether `digests` and `logs` are kept (a run with a report to write); without, the
    /// record keeps the findings and what was covered, and its memory does not follow the
    /// archive's size.
    pub keep_entries: bool,
}

impl Record {
    fn entry_of_digest(&mut self, entry: Value) {
        if self.keep_entries {
            self.digests.push(entry);
        }
    }

    fn cover(&mut self, start: i64, end: i64) {
        self.covered.push((start, end));
        self.covered.sort_unstable();
        let mut merged: Vec<(i64, i64)> = Vec::new();
        for (s, e) in self.covered.drain(..) {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        self.covered = merged;
    }

    /// The record as JSON.
    pub fn to_json(&self, counts: &Counts) -> Value {
        let covered: Vec<Value> = self
            .covered
            .iter()
            .map(|(s, e)| json!({"from": format_utc(*s), "to": format_utc(*e)}))
            .collect();
        json!({
            "counts": {
                "digests_valid": counts.valid_digests, "digests_invalid": counts.invalid_digests,
                "backfill_digests_valid": counts.valid_backfill, "backfill_digests_invalid": counts.invalid_backfill,
                "logs_valid": counts.valid_logs, "logs_invalid": counts.invalid_logs,
                "digests_not_verified": counts.unverified_digests, "links_invalid": counts.broken_links,
                "logs_not_listed": counts.unlisted_logs,
            },
            "covered": covered,
            "gaps": self.gaps,
            "digests": self.digests,
            "logs": self.logs,
            "links_invalid": self.links,
            "logs_not_listed": self.unlisted,
        })
    }
}

/// `Digest file\ts3://b/k\tINVALID: why` as (location, reason).
fn split_line(line: &str) -> (String, String) {
    let mut parts = line.splitn(3, '\t');
    let (_, location, verdict) = (
        parts.next(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    (
        location.to_string(),
        verdict
            .strip_prefix("INVALID: ")
            .unwrap_or(verdict)
            .to_string(),
    )
}

/// Writes one validation run.
pub struct Printer<'w> {
    out: &'w mut (dyn Write + Send),
    err: &'w mut (dyn Write + Send),
    verbose: bool,
    /// The AWS CLI's `_is_last_status_double_space`.
    double_spaced: bool,
    start: i64,
    end: i64,
    found: Option<(i64, i64)>,
    /// The counts so far.
    pub counts: Counts,
    /// What was decided, for the report.
    pub record: Record,
}

impl<'w> Printer<'w> {
    /// A printer for the window `[start, end]`.
    pub fn new(
        out: &'w mut (dyn Write + Send),
        err: &'w mut (dyn Write + Send),
        verbose: bool,
        start: i64,
        end: i64,
    ) -> Self {
        Printer {
            out,
            err,
            verbose,
            double_spaced: true,
            start,
            end,
            found: None,
            counts: Counts::default(),
            record: Record {
                keep_entries: true,
                ..Record::default()
            },
        }
    }

    /// `Validating log files for trail ARN between START and END` and a blank line.
    pub fn header(&mut self, trail: &str) -> io::Result<()> {
        write!(
            self.out,
            "Validating log files for trail {trail} between {} and {}\n\n",
            format_utc(self.start),
            format_utc(self.end)
        )
    }

    fn status(&mut self, message: &str, is_error: bool) -> io::Result<()> {
        // Keys come from the bucket's listing and the digests: a control character in one
        // must not reach the reader's terminal or forge a line.
        let message = printable_columns(message);
        if is_error {
            if self.double_spaced {
                write!(self.err, "{message}\n\n")?;
            } else {
                write!(self.err, "\n{message}\n\n")?;
            }
            self.double_spaced = true;
        } else if self.verbose {
            self.double_spaced = false;
            writeln!(self.out, "{message}")?;
        }
        Ok(())
    }

    fn track_found(&mut self, d: &ValidDigest) {
        let start = d.start.max(self.start);
        let end = d.end.min(self.end);
        self.found = Some(match self.found {
            None => (start, end),
            Some((s, e)) => (s.min(start), e.max(end)),
        });
    }

    /// One step of the walk; `log_verdict` gives the verdict of each log a valid digest lists
    /// (`None` for an entry the digest does not describe fully).
    pub fn step(
        &mut self,
        backfill: bool,
        step: &Step,
        log_verdict: &mut dyn FnMut(&ValidDigest, usize) -> Option<LogVerdict>,
    ) -> io::Result<()> {
        let tag = if backfill { "(backfill) " } else { "" };
        match step {
            Step::Valid(d) => {
                self.track_found(d);
                if backfill {
                    self.counts.valid_backfill += 1;
                } else {
                    self.counts.valid_digests += 1;
                }
                self.status(
                    &format!("{tag}Digest file\ts3://{}/{}\tvalid", d.bucket, d.key),
                    false,
                )?;
                self.record.cover(d.start, d.end);
                let digest_s3 = format!("s3://{}/{}", d.bucket, d.key);
                self.record.entry_of_digest(
                    json!({"s3": digest_s3, "backfill": backfill, "verdict": "valid",
                    "start": format_utc(d.start), "end": format_utc(d.end)}),
                );
                for (i, log) in d.logs.iter().enumerate() {
                    let verdict = log_verdict(d, i).unwrap_or(LogVerdict::InvalidFormat);
                    let location = match log {
                        Some(l) => format!("s3://{}/{}", l.bucket, l.key),
                        None => format!(
                            "s3://{}/(logFiles[{i}] has no s3Bucket, s3Object or hashValue)",
                            d.bucket
                        ),
                    };
                    let message = verdict.message();
                    if self.record.keep_entries {
                        self.record.logs.push(json!({"s3": location, "digest": digest_s3,
                            "verdict": if message.is_some() { "INVALID" } else { "valid" }, "reason": message}));
                    }
                    match message {
                        None => {
                            self.counts.valid_logs += 1;
                            self.status(&format!("Log file\t{location}\tvalid"), false)?;
                        }
                        Some(why) => {
                            self.counts.invalid_logs += 1;
                            self.status(&format!("Log file\t{location}\tINVALID: {why}"), true)?;
                        }
                    }
                }
            }
            Step::Unverified { bucket, key } => {
                self.counts.unverified_digests += 1;
                let line = format!(
                    "{tag}Digest file\ts3://{bucket}/{key}\tnot verified: its signature is not in this copy (no {}) and no newer digest links to it",
                    trailscan_archive::sidecar::SIDECAR_SUFFIX
                );
                self.record.entry_of_digest(
                    json!({"s3": format!("s3://{bucket}/{key}"), "backfill": backfill,
                    "verdict": "not verified", "reason": "signature not available"}),
                );
                self.status(&line, true)?;
            }
            Step::Invalid(message) => {
                let (location, reason) = split_line(message);
                self.record.entry_of_digest(json!({"s3": location, "backfill": backfill, "verdict": "INVALID", "reason": reason}));
                self.count_invalid(backfill);
                self.status(&format!("{tag}{message}"), true)?;
            }
            Step::Missing { bucket, key } => {
                self.count_invalid(backfill);
                self.record.entry_of_digest(
                    json!({"s3": format!("s3://{bucket}/{key}"), "backfill": backfill,
                    "verdict": "INVALID", "reason": "not found"}),
                );
                self.status(
                    &format!("{tag}Digest file\ts3://{bucket}/{key}\tINVALID: not found"),
                    true,
                )?;
            }
            Step::Gap {
                next_end,
                last_start,
            } => {
                let line = format!(
                    "{tag}No log files were delivered by CloudTrail between {} and {}",
                    format_utc(*next_end),
                    format_utc(*last_start)
                );
                self.record.gaps.push(json!({"from": format_utc(*next_end), "to": format_utc(*last_start), "backfill": backfill}));
                self.status(&line, true)?;
            }
            Step::BrokenLink(message) => {
                self.counts.broken_links += 1;
                let (location, reason) = split_line(message);
                self.record
                    .links
                    .push(json!({"digest": location, "reason": reason}));
                self.status(&format!("{tag}{message}"), true)?;
            }
        }
        Ok(())
    }

    /// A log file that no digest lists.
    pub fn unlisted(&mut self, line: &str) -> io::Result<()> {
        self.counts.unlisted_logs += 1;
        let (location, reason) = split_line(line);
        self.record
            .unlisted
            .push(json!({"s3": location, "reason": reason}));
        self.status(line, true)
    }

    fn count_invalid(&mut self, backfill: bool) {
        if backfill {
            self.counts.invalid_backfill += 1;
        } else {
            self.counts.invalid_digests += 1;
        }
    }

    fn ratio(&mut self, valid: u64, invalid: u64, name: &str) -> io::Result<()> {
        let total = valid + invalid;
        if total > 0 {
            write!(self.out, "\n{valid}/{total} {name} files valid")?;
            if invalid > 0 {
                write!(self.out, ", {invalid}/{total} {name} files INVALID")?;
            }
        }
        Ok(())
    }

    /// The summary block.
    pub fn summary(&mut self) -> io::Result<()> {
        if !self.double_spaced {
            writeln!(self.out)?;
        }
        writeln!(
            self.out,
            "Results requested for {} to {}",
            format_utc(self.start),
            format_utc(self.end)
        )?;
        let c = self.counts.clone();
        let valid = c.valid_digests + c.valid_backfill;
        let invalid = c.invalid_digests + c.invalid_backfill;
        if valid == 0 && invalid == 0 && c.unverified_digests == 0 {
            return writeln!(self.out, "No digests found");
        }
        match self.found {
            None => writeln!(self.out, "No valid digests found in range")?,
            Some((s, e)) => writeln!(
                self.out,
                "Results found for {} to {}:",
                format_utc(s),
                format_utc(e)
            )?,
        }
        self.ratio(c.valid_digests, c.invalid_digests, "digest")?;
        self.ratio(c.valid_backfill, c.invalid_backfill, "backfill digest")?;
        self.ratio(c.valid_logs, c.invalid_logs, "log")?;
        if c.broken_links > 0 {
            write!(
                self.out,
                "\n{} links between digests INVALID",
                c.broken_links
            )?;
        }
        if c.unlisted_logs > 0 {
            write!(
                self.out,
                "\n{} log files not listed in any digest",
                c.unlisted_logs
            )?;
        }
        if c.unverified_digests > 0 {
            write!(
                self.out,
                "\n{} digest files not verified (signature not available)",
                c.unverified_digests
            )?;
        }
        writeln!(self.out)
    }
}
