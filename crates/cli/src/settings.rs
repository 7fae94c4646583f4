//! Flags converted once into what the commands use.

use anyhow::{bail, Context, Result};
use trailscan_archive::key::ObjectKind;
use trailscan_archive::s3::S3Options;
use trailscan_archive::{Selection, Shard};
use trailscan_output::Query;
use trailscan_query::{decode_token, parse_attribute_arg, parse_time_arg, LookupRequest, Resume};

use crate::exit_codes::UsageError;

use crate::flags::{LookupEventsArgs, SelectionArgs, SourceArgs};

/// How to read the source.
pub struct SourceSettings {
    /// The source: a folder or `s3://bucket/prefix`.
    pub spec: String,
    /// How to reach S3.
    pub s3: S3Options,
    /// Which objects to read.
    pub selection: Selection,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Cap on one object's inflated size.
    pub max_inflated_bytes: u64,
    /// Cap on one record's size.
    pub max_record_bytes: u64,
    /// No summary.
    pub quiet: bool,
    /// No progress display.
    pub no_progress: bool,
    /// `--run-id`, else AWS Batch's job id.
    pub run_id: Option<String>,
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
            spec,
            s3: args.s3.options(&args.regions),
            selection,
            threads: args.threads,
            max_inflated_bytes: args.max_inflated_size,
            max_record_bytes: args.max_record_size,
            quiet: args.quiet,
            no_progress: args.no_progress,
            run_id,
        })
    }

    /// The run id a sharded run needs.
    pub fn required_run_id(&self) -> Result<&str> {
        required_run_id(self.run_id.as_deref())
    }
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

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// The AWS CLI's JSON.
    Json,
    /// The AWS CLI's tab-separated text.
    Text,
    /// The AWS CLI's box-drawn table.
    Table,
    /// One CloudTrail record per line.
    Jsonl,
    /// Comma-separated values.
    Csv,
}

impl OutputFormat {
    fn parse(s: &str) -> Result<OutputFormat, UsageError> {
        match s {
            "json" => Ok(OutputFormat::Json),
            "text" => Ok(OutputFormat::Text),
            "table" => Ok(OutputFormat::Table),
            "jsonl" => Ok(OutputFormat::Jsonl),
            "csv" => Ok(OutputFormat::Csv),
            _ => Err(UsageError(
                "argument --output: Invalid choice, valid choices are:\n\njson | text | table | jsonl | csv".to_string(),
            )),
        }
    }
}

/// How events are requested and shown in pages, as the AWS CLI's pagination flags say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// Auto-pagination (the AWS CLI's default): every event, or `max_items`, shown as fetched
    /// in pages of `page_size` (which only text output shows).
    Auto {
        /// `--page-size`, default 50 (the service's page).
        page_size: usize,
        /// `--max-items`.
        max_items: Option<usize>,
    },
    /// One call (`--max-results` or `--no-paginate`): one page of `size` events.
    Single {
        /// Events in the page.
        size: usize,
    },
}

/// The service's page size, used by the AWS CLI when no page size is given.
pub const SERVICE_PAGE_SIZE: usize = 50;

/// How to print.
pub struct OutputSettings {
    /// `--output`.
    pub format: OutputFormat,
    /// `--query`, compiled.
    pub query: Option<Query>,
    /// `--color`: `Some(on)` forced, `None` for auto.
    pub color: Option<bool>,
}

fn positive(flag: &str, value: Option<i64>) -> Result<Option<usize>> {
    match value {
        None => Ok(None),
        // botocore's client-side check, worded as the AWS CLI words it.
        Some(n) if n < 1 => bail!("Parameter validation failed:\nInvalid value for parameter {flag}, value: {n}, valid min value: 1"),
        Some(n) => Ok(Some(usize::try_from(n).with_context(|| format!("{flag} is too large"))?)),
    }
}

/// Everything `lookup-events` needs, typed.
pub struct LookupSettings {
    /// The source.
    pub source: SourceSettings,
    /// The lookup.
    pub request: LookupRequest,
    /// Pages.
    pub paging: Paging,
    /// Where the answer starts (`--next-token`, `--starting-token`).
    pub resume: Option<Resume>,
    /// What a page token is bound to.
    pub canonical: String,
    /// How to print.
    pub output: OutputSettings,
}

impl LookupSettings {
    /// Events the collector keeps: a page, `--max-items`, or all.
    pub fn limit(&self) -> Option<usize> {
        match self.paging {
            Paging::Auto { max_items, .. } => max_items,
            Paging::Single { size } => Some(size),
        }
    }

    /// Converts and checks the flags.
    pub fn new(args: &LookupEventsArgs) -> Result<LookupSettings> {
        let request = lookup_request(&args.selection)?;
        let output = OutputSettings {
            format: OutputFormat::parse(&args.output)?,
            query: args
                .query
                .as_deref()
                .map(Query::compile)
                .transpose()
                .map_err(|e| anyhow::anyhow!(e.0))?,
            color: match args.color.as_str() {
                "on" => Some(true),
                "off" => Some(false),
                _ => None,
            },
        };
        if output.query.is_some() && output.format == OutputFormat::Jsonl {
            bail!("--query does not apply to --output jsonl, which prints whole records (pipe them to jq instead)");
        }
        let max_results = positive("MaxResults", args.max_results)?;
        let page_size = positive("MaxResults", args.page_size)?;
        let max_items = positive("MaxItems", args.max_items)?;
        // As in the AWS CLI, --max-results (like --no-paginate) turns auto-pagination off.
        let paging = match (max_results, args.no_paginate) {
            (Some(size), _) => Paging::Single { size },
            (None, true) => Paging::Single {
                size: SERVICE_PAGE_SIZE,
            },
            (None, false) => Paging::Auto {
                page_size: page_size.unwrap_or(SERVICE_PAGE_SIZE),
                max_items,
            },
        };
        let source = SourceSettings::new(&args.source, object_kind(&request), &request)?;
        let mut accounts = source.selection.accounts.clone();
        accounts.sort();
        let mut regions = source.selection.regions.clone();
        regions.sort();
        let canonical = format!(
            "{};accounts={accounts:?};regions={regions:?}",
            request.canonical()
        );
        let token = args
            .next_token
            .as_deref()
            .or(args.starting_token.as_deref());
        let resume = token.map(|t| decode_token(&canonical, t)).transpose()?;
        Ok(LookupSettings {
            source,
            request,
            paging,
            resume,
            canonical,
            output,
        })
    }
}
