//! Flags converted once into what each command uses: one `Settings` type per command, built
//! before it runs (ripgrep's LowArgs -> HiArgs), so that no command parses a flag.

mod acquire;
mod attribution;
mod export;
mod hunt;
mod index;
mod lookup;
mod summary;
mod trace;
mod validate;

pub use acquire::AcquireSettings;
pub use export::ExportSettings;
pub use hunt::{HuntOutput, HuntSettings};
pub use index::{IndexSettings, Sharded};
pub use lookup::LookupSettings;
pub use summary::SummarySettings;
pub use trace::TraceSettings;
pub use validate::{MergeSettings, ValidateSettings};

use anyhow::Result;
use trailscan_engine::{IndexCheck, SourceOptions};
use trailscan_layout::key::{is_account_id, ObjectKind};
use trailscan_layout::{Selection, Shard};
use trailscan_query::{parse_attribute_arg, parse_time_arg, LookupRequest};

use crate::exit_codes::UsageError;
use crate::flags::{SelectionArgs, SourceArgs};

/// How to read the source: the engine's options, and what the binary does around them.
pub struct SourceSettings {
    /// The source, the selection, the index and the limits, for the engine.
    pub options: SourceOptions,
    /// No summary.
    pub quiet: bool,
    /// No progress display.
    pub no_progress: bool,
    /// `--run-id`, else AWS Batch's job id.
    pub run_id: Option<String>,
    /// The command line less the sharding flags, which a shard records for the merge.
    pub arguments: Vec<String>,
}

impl SourceSettings {
    /// Converts and checks the flags.
    pub fn new(
        args: &SourceArgs,
        kind: ObjectKind,
        request: &LookupRequest,
    ) -> Result<SourceSettings> {
        let Some(spec) = args.source.clone() else {
            return Err(UsageError(
                "the following required arguments were not provided:\n  --source <DIR|s3://BUCKET[/PREFIX]>".into(),
            )
            .into());
        };
        let shard = args.shard.as_deref().map(parse_shard).transpose()?;
        check_account_ids(&args.account_ids)?;
        check_regions(&args.regions)?;
        // Delivery-time pruning works in whole seconds; widen to cover fractions.
        let selection = Selection {
            kind,
            accounts: args.account_ids.clone(),
            regions: args.regions.clone(),
            start: request.start.map(|t| t.secs),
            end: request.end.map(|t| t.secs.saturating_add(1)),
            delivery_margin_secs: args.delivery_margin,
            shard,
        };
        let run_id = resolve_run_id(args.run_id.as_deref())?;
        Ok(SourceSettings {
            options: SourceOptions {
                spec,
                s3: args.s3.options(&args.regions),
                selection,
                threads: args.threads,
                max_inflated_bytes: args.max_inflated_size,
                max_record_bytes: args.max_record_size,
                index: args.index.clone().filter(|_| !args.no_index),
                index_check: match args.index_check {
                    None | Some(crate::flags::IndexCheck::Sealed) => IndexCheck::Sealed,
                    Some(crate::flags::IndexCheck::Full) => IndexCheck::Full,
                },
            },
            quiet: args.quiet,
            no_progress: args.no_progress,
            run_id,
            arguments: recorded_arguments(),
        })
    }

    /// The run id a sharded run needs.
    pub fn required_run_id(&self) -> Result<&str> {
        required_run_id(self.run_id.as_deref())
    }
}

/// Checks that `--out` (where a shard writes its results) and `--shard` go together.
/// `--out json` is most likely a slip for `--output`: it says so rather than only that
/// `--out` goes with `--shard`.
pub fn shard_out(out: Option<&str>, sharded: bool) -> Result<(), UsageError> {
    match (out, sharded) {
        (Some(out), false) => {
            let hint = match trailscan_output::OutputFormat::from_name(out).is_some() {
                true => format!("; did you mean --output {out}?"),
                false => String::new(),
            };
            Err(UsageError(format!(
                "--out {out} is where a shard writes its results: it goes with --shard K/N{hint}"
            )))
        }
        (None, true) => Err(UsageError(
            "--shard needs --out DIR: a shard writes its results there for `trailscan merge`"
                .into(),
        )),
        _ => Ok(()),
    }
}

/// This process's flags less the sharding ones: what every shard of a run records alike.
pub fn recorded_arguments() -> Vec<String> {
    trailscan_shards::arguments_without_sharding(std::env::args().skip(2))
}

/// `--run-id`, else AWS Batch's job id, checked.
pub fn resolve_run_id(given: Option<&str>) -> Result<Option<String>, UsageError> {
    let run_id = given
        .map(str::to_string)
        .or_else(|| run_id_from_batch(std::env::var("AWS_BATCH_JOB_ID").ok()));
    if let Some(id) = &run_id {
        check_run_id(id)?;
    }
    Ok(run_id)
}

/// The run id, which a sharded run cannot do without.
pub fn required_run_id(run_id: Option<&str>) -> Result<&str> {
    run_id.ok_or_else(|| {
        UsageError(
            "a sharded run needs --run-id (the same for every shard), or AWS_BATCH_JOB_ID".into(),
        )
        .into()
    })
}

/// Every `--account-id` is 12 digits, as AWS account ids are: a shorter or longer one is a
/// typo, which would otherwise read nothing and say little.
pub fn check_account_ids(ids: &[String]) -> Result<(), UsageError> {
    match ids.iter().find(|id| !is_account_id(id)) {
        Some(id) => Err(UsageError(format!(
            "--account-id {id}: an AWS account id is 12 digits (e.g. 123456789012)"
        ))),
        None => Ok(()),
    }
}

/// Every `--region` is shaped as AWS names regions (`us-east-1`, `us-gov-west-1`,
/// `eusc-de-east-1`): letters, then parts joined by `-`, a number last. A misspelt one
/// (`eu-west1`) would otherwise read nothing.
pub fn check_regions<'r>(regions: impl IntoIterator<Item = &'r String>) -> Result<(), UsageError> {
    let is_region = |name: &str| {
        let parts: Vec<&str> = name.split('-').collect();
        let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
            return false;
        };
        parts.len() >= 3
            && (2..=4).contains(&first.len())
            && parts[..parts.len() - 1]
                .iter()
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
            && (1..=2).contains(&last.len())
            && last.bytes().all(|b| b.is_ascii_digit())
    };
    match regions.into_iter().find(|r| !is_region(r)) {
        Some(region) => Err(UsageError(format!(
            "--region {region}: a region name is like us-east-1 or eu-west-1 (lowercase parts joined by '-', a number last)"
        ))),
        None => Ok(()),
    }
}

/// `K/N`, or `auto` from the batch engine's variables.
pub fn parse_shard(value: &str) -> Result<Shard, UsageError> {
    let parsed = if value == "auto" {
        Shard::from_env(|name| std::env::var(name).ok())
    } else {
        value.parse()
    };
    parsed.map_err(|e| UsageError(format!("--shard: {e}")))
}

/// AWS Batch gives an array child `JOBID:INDEX`; the run is the parent, `JOBID`.
fn run_id_from_batch(job_id: Option<String>) -> Option<String> {
    let id = job_id?;
    let parent = id.split_once(':').map_or(id.as_str(), |(parent, _)| parent);
    (!parent.is_empty()).then(|| parent.to_string())
}

/// A run id becomes a folder name and a part of file names: keep it to safe characters.
fn check_run_id(id: &str) -> Result<(), UsageError> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !id.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(UsageError(format!(
            "--run-id {id:?}: use letters, digits, '-', '_' and '.' (up to 128, not starting with '.')"
        )))
    }
}

/// The lookup the selection flags ask for, checked.
pub fn lookup_request(args: &SelectionArgs) -> Result<LookupRequest> {
    let mut attributes = Vec::new();
    for value in &args.lookup_attributes {
        attributes.extend(parse_attribute_arg(value)?);
    }
    let time = |v: &Option<String>| v.as_deref().map(parse_time_arg).transpose();
    let request = LookupRequest {
        attributes,
        start: time(&args.start_time)?,
        end: time(&args.end_time)?,
        insight: args.event_category.is_some(),
        include_data_events: args.include_data_events,
        every_category: false,
    };
    request.validate()?;
    Ok(request)
}

/// Log files, or Insights files for Insights events.
pub fn object_kind(request: &LookupRequest) -> ObjectKind {
    if request.insight {
        ObjectKind::Insight
    } else {
        ObjectKind::Log
    }
}
