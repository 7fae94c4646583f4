//! `acquire`'s settings.

use std::path::PathBuf;

use anyhow::Result;
use trailscan_archive::S3Options;
use trailscan_query::parse_time_arg;

use crate::exit_codes::UsageError;
use crate::flags::AcquireArgs;

/// What `acquire` copies, and where to.
pub struct AcquireSettings {
    /// `s3://bucket[/prefix]`.
    pub source: String,
    /// How to reach it.
    pub s3: S3Options,
    /// The evidence folder.
    pub dir: PathBuf,
    /// Objects delivered from this time on (epoch seconds).
    pub start: Option<i64>,
    /// Objects delivered up to this time (epoch seconds, inclusive of its second).
    pub end: Option<i64>,
    /// Only these accounts (all when empty).
    pub accounts: Vec<String>,
    /// Only these regions (all when empty).
    pub regions: Vec<String>,
    /// Parallel downloads (0: the store's default).
    pub threads: usize,
    /// No progress display.
    pub no_progress: bool,
    /// `-q`: no summary.
    pub quiet: bool,
}

impl AcquireSettings {
    /// Converts and checks the flags.
    pub fn new(args: &AcquireArgs) -> Result<AcquireSettings> {
        let time = |v: &Option<String>| v.as_deref().map(parse_time_arg).transpose();
        super::check_account_ids(&args.account_ids)?;
        super::check_regions(&args.regions)?;
        // `acquire SOURCE DIR`, or `acquire --source SOURCE DIR` (its one positional is then DIR).
        let (source, dir) = match (&args.source_flag, &args.source, &args.dir) {
            (Some(source), Some(dir), None) => (source.clone(), PathBuf::from(dir)),
            (None, Some(source), Some(dir)) => (source.clone(), dir.clone()),
            (Some(_), Some(_), Some(_)) => {
                return Err(UsageError(
                    "give the source once: acquire --source SOURCE DIR, or acquire SOURCE DIR"
                        .into(),
                )
                .into())
            }
            _ => {
                return Err(UsageError(
                    "the following required arguments were not provided:\n  <DIR>".into(),
                )
                .into())
            }
        };
        Ok(AcquireSettings {
            source,
            s3: args.s3.options(&args.regions),
            dir,
            start: time(&args.start_time)?.map(|t| t.secs),
            end: time(&args.end_time)?.map(|t| t.secs.saturating_add(1)),
            accounts: args.account_ids.clone(),
            regions: args.regions.clone(),
            threads: args.threads,
            no_progress: args.no_progress || args.quiet,
            quiet: args.quiet,
        })
    }
}
