//! `acquire`'s settings.

use std::path::PathBuf;

use anyhow::Result;
use trailscan_archive::S3Options;
use trailscan_query::parse_time_arg;

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
}

impl AcquireSettings {
    /// Converts and checks the flags.
    pub fn new(args: &AcquireArgs) -> Result<AcquireSettings> {
        let time = |v: &Option<String>| v.as_deref().map(parse_time_arg).transpose();
        super::check_account_ids(&args.account_ids)?;
        Ok(AcquireSettings {
            source: args.source.clone(),
            s3: args.s3.options(&args.regions),
            dir: args.dir.clone(),
            start: time(&args.start_time)?.map(|t| t.secs),
            end: time(&args.end_time)?.map(|t| t.secs.saturating_add(1)),
            accounts: args.account_ids.clone(),
            regions: args.regions.clone(),
            threads: args.threads,
            no_progress: args.no_progress,
        })
    }
}
