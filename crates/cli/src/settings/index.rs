//! `index`' settings.

use anyhow::Result;
use trailscan_layout::key::ObjectKind;
use trailscan_query::{parse_time_arg, LookupRequest};

use super::SourceSettings;
use crate::exit_codes::UsageError;
use crate::flags::IndexArgs;

/// What `index` does.
pub struct IndexSettings {
    /// The archive, and which of its log files (the window, accounts, regions).
    pub source: SourceSettings,
    /// Where the index is: a folder or `s3://BUCKET/PREFIX`.
    pub index: String,
    /// `--verify`: the share of indexed files to rebuild and compare.
    pub verify: Option<f64>,
    /// `--seal-after`, in seconds.
    pub seal_after_secs: i64,
    /// `--gc`: remove what no kept generation names, instead of updating.
    pub gc: bool,
    /// What a sharded build does instead of an update.
    pub sharded: Option<Sharded>,
}

/// The two steps of a sharded build.
pub enum Sharded {
    /// `--shard K/N`: index the shard's day folders and record its work under the run.
    Shard {
        /// The run.
        run_id: String,
    },
    /// `--publish`: publish the run's shards as one generation.
    Publish {
        /// The run.
        run_id: String,
    },
}

impl IndexSettings {
    /// Converts and checks the flags.
    pub fn new(args: &IndexArgs) -> Result<IndexSettings> {
        let time = |v: &Option<String>| v.as_deref().map(parse_time_arg).transpose();
        let request = LookupRequest {
            start: time(&args.start_time)?,
            end: time(&args.end_time)?,
            ..LookupRequest::default()
        };
        request.validate()?;
        if args.source.no_index {
            return Err(UsageError(
                "--no-index: index builds the index named by --index; the flag is for questions that could read one".into(),
            )
            .into());
        }
        if let Some(check) = args.source.index_check {
            let given = match check {
                crate::flags::IndexCheck::Sealed => "sealed",
                crate::flags::IndexCheck::Full => "full",
            };
            return Err(UsageError(format!(
                "--index-check {given}: the flag is for questions asked through an index; a build compares every day it lists with the index, and `index --verify` checks the index against the archive"
            ))
            .into());
        }
        let Some(index) = args.source.index.clone() else {
            return Err(UsageError(
                "the following required arguments were not provided:\n  --index <DIR|s3://BUCKET/PREFIX>".into(),
            )
            .into());
        };
        if args.verify && !(0.0..=1.0).contains(&args.sample) {
            return Err(UsageError(format!(
                "--sample {}: give a share from 0 to 1",
                args.sample
            ))
            .into());
        }
        if args.verify && args.source.shard.is_some() {
            return Err(UsageError(
                "--verify takes no --shard: it checks the published index".into(),
            )
            .into());
        }
        // --gc and --publish read no archive: they need no --source.
        let mut source = args.source.clone();
        if (args.gc || args.publish) && source.source.is_none() {
            source.source = Some(String::new());
        }
        let source = SourceSettings::new(&source, ObjectKind::Log, &request)?;
        let sharded = match (args.publish, source.options.selection.shard) {
            (true, _) => Some(Sharded::Publish {
                run_id: source.required_run_id()?.to_string(),
            }),
            (false, Some(_)) => Some(Sharded::Shard {
                run_id: source.required_run_id()?.to_string(),
            }),
            (false, None) => None,
        };
        Ok(IndexSettings {
            sharded,
            source,
            index,
            verify: args.verify.then_some(args.sample),
            seal_after_secs: args.seal_after,
            gc: args.gc,
        })
    }
}
