//! `validate-logs`' and `merge`'s settings.

use std::path::PathBuf;
use std::time::SystemTime;

use anyhow::{anyhow, Result};
use trailscan_archive::{is_s3_url, S3Options};
use trailscan_integrity::aws_cli::without_offset;
use trailscan_layout::time::epoch_secs;
use trailscan_layout::Shard;
use trailscan_query::parse_time_arg;

use super::{parse_shard, recorded_arguments, resolve_run_id};
use crate::exit_codes::{aws_cli_error, UsageError};
use crate::flags::{MergeArgs, ValidateLogsArgs};

/// Everything `validate-logs` needs, typed.
pub struct ValidateSettings {
    /// `--trail-arn` as given (checked when the run starts, as the AWS CLI checks it).
    pub trail_arn: Option<String>,
    /// `--start-time`, epoch seconds.
    pub start: Option<i64>,
    /// `--end-time`, else now, epoch seconds.
    pub end: i64,
    /// Now, which bounds the check for log files no digest lists yet.
    pub now: i64,
    /// `--s3-bucket`.
    pub s3_bucket: Option<String>,
    /// `--s3-prefix`.
    pub s3_prefix: Option<String>,
    /// `--account-id`.
    pub account_ids: Vec<String>,
    /// `--region`.
    pub regions: Vec<String>,
    /// `--verbose`.
    pub verbose: bool,
    /// `--public-keys`.
    pub public_keys: Option<PathBuf>,
    /// The source as given.
    pub source: String,
    /// How to reach S3.
    pub s3: S3Options,
    /// `--report`.
    pub report: Option<PathBuf>,
    /// `--report-html`.
    pub report_html: Option<PathBuf>,
    /// `--force`: replace an existing report.
    pub force: bool,
    /// Copies of other buckets (`--bucket-copy NAME=DIR`).
    pub bucket_copies: Vec<(String, PathBuf)>,
    /// Worker threads (0: the store's default).
    pub threads: usize,
    /// No progress display.
    pub no_progress: bool,
    /// `-q`: no summary lines of trailscan's own.
    pub quiet: bool,
    /// With `--shard`: the shard, the run and where its results go.
    pub shard: Option<ShardOut>,
    /// `--state`: where the last audit's state is, and is written.
    pub state: Option<String>,
    /// `--full`: the state's record ignored.
    pub full: bool,
    /// The command line less the sharding flags.
    pub arguments: Vec<String>,
}

/// Where a shard's results go.
pub struct ShardOut {
    /// The shard.
    pub shard: Shard,
    /// The run it belongs to.
    pub run_id: String,
    /// `--out`: a folder or `s3://BUCKET[/PREFIX]`.
    pub out: String,
}

/// A time for validate-logs, a failure worded as the AWS CLI words it. With `--trail-arn`
/// (the AWS CLI's command, byte for byte) its offset is relabelled as UTC, the AWS CLI's
/// quirk (see [`without_offset`]): `12:00+05:00` is 12:00Z. In trailscan's own mode (every
/// chain) it is converted, as lookups convert it: `12:00+05:00` is 07:00Z.
fn parse_cli_date(text: &str, aws_cli_parity: bool) -> Result<i64> {
    let text_read = match aws_cli_parity {
        true => without_offset(text),
        false => text,
    };
    parse_time_arg(text_read)
        .map(|t| t.secs)
        .map_err(|_| aws_cli_error(format!("Unable to parse date value: {text}")))
}

impl ValidateSettings {
    /// Converts and checks the flags, in the AWS CLI's order: times first.
    pub fn new(args: &ValidateLogsArgs) -> Result<ValidateSettings> {
        let parity = args.trail_arn.is_some();
        let start = args
            .start_time
            .as_deref()
            .map(|t| parse_cli_date(t, parity))
            .transpose()?;
        // The AWS CLI's validation takes what it is given; trailscan's own checks the shapes.
        if !parity {
            super::check_account_ids(&args.account_ids)?;
            super::check_regions(&args.regions)?;
        }
        let now = epoch_secs(SystemTime::now());
        let end = match &args.end_time {
            Some(t) => parse_cli_date(t, parity)?,
            None => now,
        };
        if start.is_some_and(|s| s > end) {
            return Err(aws_cli_error(
                "Invalid time range specified: start-time must occur before end-time",
            ));
        }
        let bucket_copies = args
            .bucket_copy
            .iter()
            .map(|copy| {
                let (name, dir) = copy
                    .split_once('=')
                    .ok_or_else(|| anyhow!("--bucket-copy takes NAME=DIR, not {copy}"))?;
                Ok((name.to_string(), PathBuf::from(dir)))
            })
            .collect::<Result<_>>()?;
        let shard = match (&args.shard, &args.out) {
            (Some(shard), Some(out)) => {
                let run_id = resolve_run_id(args.run_id.as_deref())?;
                Some(ShardOut {
                    shard: parse_shard(shard)?,
                    run_id: super::required_run_id(run_id.as_deref())?.to_string(),
                    out: out.clone(),
                })
            }
            // clap requires --out with --shard, and --shard with --out.
            _ => None,
        };
        // Refused before any work: an auditor's earlier report is not replaced by mistake.
        let reports = [
            ("--report", &args.report),
            ("--report-html", &args.report_html),
        ];
        for (flag, report) in reports {
            if let Some(report) = report.as_ref().filter(|r| r.exists() && !args.force) {
                return Err(UsageError(format!(
                    "{flag} {}: the file exists; give another name, or --force to replace it",
                    report.display()
                ))
                .into());
            }
        }
        if args.report.is_some() && args.report == args.report_html {
            return Err(UsageError(
                "--report and --report-html name the same file: give each its own".into(),
            )
            .into());
        }
        if args.force && args.report.is_none() && args.report_html.is_none() {
            return Err(UsageError(
                "--force replaces a --report or --report-html file: give one".into(),
            )
            .into());
        }
        Ok(ValidateSettings {
            trail_arn: args.trail_arn.clone(),
            start,
            end,
            now,
            s3_bucket: args.s3_bucket.clone(),
            s3_prefix: args.s3_prefix.clone(),
            account_ids: args.account_ids.clone(),
            regions: args.regions.clone(),
            verbose: args.verbose,
            public_keys: args.public_keys.clone(),
            source: args.source.clone(),
            // With --trail-arn, the region validated is the last one given.
            s3: args.s3.options(match parity {
                true => &args.regions[args.regions.len().saturating_sub(1)..],
                false => &args.regions,
            }),
            report: args.report.clone(),
            report_html: args.report_html.clone(),
            force: args.force,
            bucket_copies,
            threads: args.threads,
            no_progress: args.no_progress || args.quiet,
            quiet: args.quiet,
            shard,
            state: args.state.clone(),
            full: args.full,
            arguments: recorded_arguments(),
        })
    }
}

/// The run `merge` combines.
pub struct MergeSettings {
    /// Where the run's folder is: `OUT`, a folder or `s3://BUCKET[/PREFIX]`.
    pub out: String,
    /// The run's folder name under it.
    pub run_id: String,
    /// How to reach S3.
    pub s3: S3Options,
    /// `-q`: no summary.
    pub quiet: bool,
}

impl MergeSettings {
    /// Splits `OUT/RUN-ID`.
    pub fn new(args: &MergeArgs) -> Result<MergeSettings> {
        let given = match (&args.run_dir, &args.source) {
            (Some(dir), _) | (None, Some(dir)) => dir.as_str(),
            // clap requires one of the two.
            (None, None) => return Err(anyhow!("give the run's folder, OUT/RUN-ID")),
        };
        // A folder is named by its real path, so that `.` and `run/.` have a last name.
        let real = match is_s3_url(given) {
            true => None,
            false => std::fs::canonicalize(given).ok(),
        };
        let real = real.map(|p| p.display().to_string());
        let run_dir = real.as_deref().unwrap_or(given).trim_end_matches('/');
        let (out, run_id) = match run_dir.rsplit_once('/') {
            Some((out, run_id)) if !out.is_empty() && out != "s3:/" => (out, run_id),
            Some(_) if is_s3_url(run_dir) => {
                return Err(anyhow!(
                    "{run_dir}: give s3://BUCKET[/PREFIX]/RUN-ID, the folder of one run"
                ))
            }
            Some(_) => ("/", run_dir.trim_start_matches('/')),
            None => (".", run_dir),
        };
        Ok(MergeSettings {
            out: out.to_string(),
            run_id: run_id.to_string(),
            s3: args.s3.options(&[]),
            quiet: args.quiet,
        })
    }
}

impl ValidateSettings {
    /// What `--report` says of a run that started at `started`; `None` without `--report`.
    pub fn report_run(&self, started: SystemTime) -> Option<crate::print::ReportRun<'_>> {
        if self.report.is_none() && self.report_html.is_none() {
            return None;
        }
        Some(crate::print::ReportRun {
            path: self.report.as_deref(),
            html: self.report_html.as_deref(),
            force: self.force,
            source: &self.source,
            public_keys: self.public_keys.as_deref(),
            arguments: &self.arguments,
            started,
            state: None,
        })
    }
}
