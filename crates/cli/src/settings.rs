//! Flags converted once into what the commands use.

use anyhow::{bail, Context, Result};
use trailscan_archive::key::ObjectKind;
use trailscan_archive::Selection;
use trailscan_query::{decode_token, parse_attribute_arg, parse_time_arg, LookupRequest, Position};

use crate::flags::{LookupEventsArgs, SourceArgs};

/// How to read the source.
pub struct SourceSettings {
    /// The source folder.
    pub path: std::path::PathBuf,
    /// Which objects to read.
    pub selection: Selection,
    /// Worker threads (0: one per core).
    pub threads: usize,
    /// Cap on one object's inflated size.
    pub max_inflated_bytes: u64,
    /// No summary.
    pub quiet: bool,
}

impl SourceSettings {
    fn new(args: &SourceArgs, kind: ObjectKind, request: &LookupRequest) -> SourceSettings {
        // Delivery-time pruning works in whole seconds; widen to cover fractions.
        let selection = Selection {
            kind,
            accounts: args.account_ids.clone(),
            regions: args.regions.clone(),
            start: request.start.map(|t| t.secs),
            end: request.end.map(|t| t.secs.saturating_add(1)),
            delivery_margin_secs: args.delivery_margin,
        };
        SourceSettings {
            path: args.source.clone(),
            selection,
            threads: args.threads,
            max_inflated_bytes: args.max_inflated_size,
            quiet: args.quiet,
        }
    }
}

/// Everything `lookup-events` needs, typed.
pub struct LookupSettings {
    /// The source.
    pub source: SourceSettings,
    /// The lookup.
    pub request: LookupRequest,
    /// Events per page (`--max-results`).
    pub page_size: Option<usize>,
    /// Where the page starts (`--next-token`).
    pub after: Option<Position>,
    /// What a page token is bound to.
    pub canonical: String,
}

impl LookupSettings {
    /// Converts and checks the flags.
    pub fn new(args: &LookupEventsArgs) -> Result<LookupSettings> {
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
        let page_size = match args.max_results {
            None => None,
            // botocore's client-side check, worded as the AWS CLI words it.
            Some(n) if n < 1 => bail!(
                "Parameter validation failed:\nInvalid value for parameter MaxResults, value: {n}, valid min value: 1"
            ),
            Some(n) => Some(usize::try_from(n).context("--max-results is too large")?),
        };
        let kind = if request.insight {
            ObjectKind::Insight
        } else {
            ObjectKind::Log
        };
        let source = SourceSettings::new(&args.source, kind, &request);
        let mut accounts = source.selection.accounts.clone();
        accounts.sort();
        let mut regions = source.selection.regions.clone();
        regions.sort();
        let canonical = format!(
            "{};accounts={accounts:?};regions={regions:?}",
            request.canonical()
        );
        let after = args
            .next_token
            .as_deref()
            .map(|t| decode_token(&canonical, t))
            .transpose()?;
        Ok(LookupSettings {
            source,
            request,
            page_size,
            after,
            canonical,
        })
    }
}
