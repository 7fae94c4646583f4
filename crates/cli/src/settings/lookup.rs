//! `lookup-events`' settings.

use anyhow::{bail, Context, Result};
use trailscan_output::{OutputFormat, OutputSettings, Paging, Query, SERVICE_PAGE_SIZE};
use trailscan_query::{decode_token, LookupRequest, Resume};

use super::{lookup_request, object_kind, SourceSettings};
use crate::exit_codes::UsageError;
use crate::flags::LookupEventsArgs;

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
    /// With `--shard`: where the shard's results go (`--out`).
    pub shard_out: Option<String>,
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
            format: OutputFormat::from_name(&args.output).ok_or_else(|| UsageError(
                "argument --output: Invalid choice, valid choices are:\n\njson | text | table | jsonl | csv".to_string(),
            ))?,
            query: args
                .query
                .as_deref()
                .map(Query::compile)
                .transpose()
                .map_err(|e| anyhow::anyhow!(e.0))?,
            color: args.color,
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
        super::shard_out(
            args.out.as_deref(),
            source.options.selection.shard.is_some(),
        )?;
        let mut accounts = source.options.selection.accounts.clone();
        accounts.sort();
        let mut regions = source.options.selection.regions.clone();
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
            shard_out: args.out.clone(),
        })
    }
}
