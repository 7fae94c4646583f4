//! Every flag, in one place, parsed once into typed settings ([`crate::settings`]).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

mod units;

pub use units::{parse_duration, parse_size};

/// Lookups over AWS CloudTrail archives: the gzip JSON log files CloudTrail delivers to S3,
/// in a copy on disk.
#[derive(Debug, Parser)]
#[command(name = "trailscan", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Look up events by attribute and time, as `aws cloudtrail lookup-events`, over archives.
    LookupEvents(LookupEventsArgs),
}

/// Where the archive is and how to read it.
#[derive(Debug, Args)]
pub struct SourceArgs {
    /// Folder holding one or more AWSLogs/ trees: a copy of the bucket (`aws s3 sync`), a
    /// key-prefix folder, or a folder inside AWSLogs/.
    #[arg(
        long,
        env = "TRAILSCAN_SOURCE",
        value_name = "DIR",
        help_heading = "Source"
    )]
    pub source: PathBuf,

    /// Only this account (repeatable).
    #[arg(long = "account-id", value_name = "ID", help_heading = "Source")]
    pub account_ids: Vec<String>,

    /// Only this region's folder (repeatable).
    #[arg(long = "region", value_name = "REGION", help_heading = "Source")]
    pub regions: Vec<String>,

    /// Also read files delivered this long after --end-time (records are older than their
    /// file): e.g. 30m, 6h, 2d.
    #[arg(long, value_name = "DURATION", default_value = "1h", value_parser = parse_duration, help_heading = "Source")]
    pub delivery_margin: i64,

    /// Largest inflated size of one object; a larger one is reported and skipped (gzip bomb
    /// guard): e.g. 512M, 2G.
    #[arg(long, value_name = "SIZE", default_value = "1G", value_parser = parse_size, help_heading = "Source")]
    pub max_inflated_size: u64,

    /// Worker threads (default: one per core).
    #[arg(long, value_name = "N", default_value_t = 0, help_heading = "Source")]
    pub threads: usize,

    /// No summary on stderr (problems with objects are still reported).
    #[arg(long, short, help_heading = "Source")]
    pub quiet: bool,
}

/// `lookup-events`.
#[derive(Debug, Args)]
pub struct LookupEventsArgs {
    /// AttributeKey=K,AttributeValue=V (or the JSON list form). Keys: EventId, EventName,
    /// ReadOnly, Username, ResourceType, ResourceName, EventSource, AccessKeyId. Several
    /// attributes (repeated flag or several values) must all match.
    #[arg(long = "lookup-attributes", value_name = "ATTRIBUTE", num_args = 1.., action = clap::ArgAction::Append)]
    pub lookup_attributes: Vec<String>,

    /// Events at or after this time: ISO 8601 (offset converted, none means UTC), a date,
    /// or epoch seconds.
    #[arg(long, value_name = "TIME")]
    pub start_time: Option<String>,

    /// Events at or before this time (same forms as --start-time).
    #[arg(long, value_name = "TIME")]
    pub end_time: Option<String>,

    /// `insight`: Insights events, from CloudTrail-Insight/ files.
    #[arg(long, value_name = "CATEGORY", value_parser = ["insight"])]
    pub event_category: Option<String>,

    /// Data and network-activity events too (the service returns management events only).
    #[arg(long, conflicts_with = "event_category")]
    pub include_data_events: bool,

    /// One page of N events (turns auto-pagination off); the answer then carries a NextToken
    /// when more follow.
    #[arg(long, value_name = "N", help_heading = "Pages")]
    pub max_results: Option<i64>,

    /// Continue after the page that returned this NextToken (same options as that call).
    #[arg(long, value_name = "TOKEN", help_heading = "Pages")]
    pub next_token: Option<String>,

    /// JMESPath applied to the answer, as the AWS CLI applies it (per page for text).
    #[arg(long, value_name = "EXPR", help_heading = "Output")]
    pub query: Option<String>,

    /// json, text or table (the AWS CLI's), or jsonl (one CloudTrail record per line) or csv.
    #[arg(
        long,
        value_name = "FORMAT",
        default_value = "json",
        help_heading = "Output"
    )]
    pub output: String,

    /// Colors in table output: on, off, or auto (on when stdout is a terminal).
    #[arg(long, value_name = "WHEN", default_value = "auto", value_parser = ["on", "off", "auto"], help_heading = "Output")]
    pub color: String,

    /// At most this many events in all; a NextToken then resumes with --starting-token.
    #[arg(long, value_name = "N", help_heading = "Pages")]
    pub max_items: Option<i64>,

    /// Continue after the answer that returned this NextToken.
    #[arg(long, value_name = "TOKEN", help_heading = "Pages")]
    pub starting_token: Option<String>,

    /// Events per page of text output (the AWS CLI's service calls; default 50).
    #[arg(long, value_name = "N", help_heading = "Pages")]
    pub page_size: Option<i64>,

    /// One page only (50 events, or --max-results), with the service's NextToken.
    #[arg(long, help_heading = "Pages")]
    pub no_paginate: bool,

    #[command(flatten)]
    pub source: SourceArgs,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    fn lookup(args: &[&str]) -> LookupEventsArgs {
        let mut full = vec!["trailscan", "lookup-events", "--source", "x"];
        full.extend_from_slice(args);
        match Cli::try_parse_from(full)
            .unwrap_or_else(|e| panic!("{e}"))
            .command
        {
            Command::LookupEvents(a) => a,
        }
    }

    #[test]
    fn lookup_attributes_take_several_values_and_repeat() {
        let a = lookup(&[
            "--lookup-attributes",
            "AttributeKey=EventName,AttributeValue=A",
            "AttributeKey=Username,AttributeValue=b",
            "--lookup-attributes",
            "AttributeKey=ReadOnly,AttributeValue=false",
        ]);
        assert_eq!(a.lookup_attributes.len(), 3);
    }

    #[test]
    fn defaults_and_units() {
        let a = lookup(&[]);
        assert_eq!(a.source.delivery_margin, 3600);
        assert_eq!(a.source.max_inflated_size, 1 << 30);
        let a = lookup(&["--delivery-margin", "2d", "--max-inflated-size", "512M"]);
        assert_eq!(a.source.delivery_margin, 2 * 86_400);
        assert_eq!(a.source.max_inflated_size, 512 << 20);
        assert_eq!(
            lookup(&["--account-id", "1", "--account-id", "2"])
                .source
                .account_ids
                .len(),
            2
        );
    }

    #[test]
    fn event_category_is_insight_only() {
        let parses = |extra: &[&str]| {
            let base = ["trailscan", "lookup-events", "--source", "x"];
            Cli::try_parse_from(base.iter().chain(extra)).is_ok()
        };
        assert!(parses(&["--event-category", "insight"]));
        assert!(!parses(&["--event-category", "data"]));
        assert!(!parses(&[
            "--event-category",
            "insight",
            "--include-data-events"
        ]));
    }
}
