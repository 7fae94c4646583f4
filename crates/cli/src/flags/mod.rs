//! Every flag, in one place, parsed once into typed settings ([`crate::settings`]).

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand};
use trailscan_export::Format;
use trailscan_output::ColorChoice;

mod hunt;
mod units;

pub use hunt::HuntArgs;

pub use units::{binary_size, parse_duration, parse_size};

/// Lookups over AWS CloudTrail archives: the gzip JSON log files CloudTrail delivers to S3,
/// in a copy on disk.
#[derive(Debug, Parser)]
#[command(name = "trailscan", version = env!("TRAILSCAN_VERSION"), about, long_about = None, arg_required_else_help = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Print shell completions or the man page on stdout, then exit (as ripgrep's
    /// --generate): `make install` puts them where shells and man look.
    #[arg(long, value_name = "WHAT", value_parser = GENERATED)]
    pub generate: Option<String>,

    /// Errors in full: every cause as the AWS SDK gives it (also with RUST_LOG set), instead
    /// of one line with the cause in words.
    #[arg(long, global = true)]
    pub debug: bool,
}

/// What `--generate` prints.
pub const GENERATED: [&str; 5] = [
    "complete-bash",
    "complete-zsh",
    "complete-fish",
    "complete-powershell",
    "man",
];

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Look up events by attribute and time, as `aws cloudtrail lookup-events`, over archives.
    LookupEvents(LookupEventsArgs),
    /// Validate log file integrity as `aws cloudtrail validate-logs`: digest chain,
    /// SHA256withRSA signatures, SHA-256 of every log file.
    ValidateLogs(ValidateLogsArgs),
    /// Copy a trail's bucket for offline work: every CloudTrail object of the window, keys as
    /// paths, digest signatures in sidecars, a manifest of sizes and SHA-256; resumable.
    Acquire(AcquireArgs),
    /// Export events to Hive-partitioned Parquet (or JSON lines) for Athena, Trino, Spark
    /// and DuckDB, with the columns of AWS's CloudTrail table.
    Export(ExportArgs),
    /// Combine the shards of a sharded run: check that all are there once, then print what
    /// one unsharded run would have printed, with the counts summed.
    Merge(MergeArgs),
    /// Build or update the lookup index (a catalog row and a filter of lookup values per log
    /// file), so that lookup-events, export and sharded runs with --index read only the files
    /// that can match; --verify checks an index against the archive.
    Index(IndexArgs),
    /// Who was behind an access key: the event that issued it, that event's caller, and so
    /// on back to an IAM user, root, an AWS service or an external identity, each hop linked
    /// exactly (by the key) or by a named heuristic.
    Trace(TraceArgs),
    /// What a principal did: events by name (failures and their error codes), first and last
    /// seen, regions, source IPs, user agents, the keys used and where each was issued,
    /// resources touched, and the sensitive calls among them.
    Summary(SummaryArgs),
    /// Sweep the archive with Sigma detection and correlation rules (SigmaHQ's CloudTrail
    /// rules, or your own): every record of the window, each rule's matches with the rule's
    /// title, level and author, prefiltered by the values the rules need, and through the
    /// index where it can narrow the files.
    Hunt(HuntArgs),
}

/// `summary`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("subject").required(true).args(["access_key", "principal", "source_ip", "username"])))]
// A chain of keys crosses accounts, regions and days: sharding is refused, so not listed.
#[command(mut_arg("shard", |a| a.hide(true)), mut_arg("run_id", |a| a.hide(true)))]
pub struct SummaryArgs {
    /// The events made with this access key.
    #[arg(long, value_name = "KEY", help_heading = "Summary")]
    pub access_key: Option<String>,

    /// The events of this principal: an IAM user's or a session's ARN (`userIdentity.arn`),
    /// or a role's (every session of it).
    #[arg(long, value_name = "ARN", help_heading = "Summary")]
    pub principal: Option<String>,

    /// The events from this source IP address, by principal.
    #[arg(long, value_name = "IP", help_heading = "Summary")]
    pub source_ip: Option<String>,

    /// The events whose Username (as lookup-events derives it) is this, by principal.
    #[arg(long, value_name = "NAME", help_heading = "Summary")]
    pub username: Option<String>,

    /// json or table (the AWS CLI's), or csv (one row per principal and event name).
    #[arg(long, value_name = "FORMAT", default_value = "json", value_parser = ["json", "table", "csv"], help_heading = "Output")]
    pub output: String,

    #[command(flatten)]
    pub window: ActivityArgs,

    #[command(flatten)]
    pub source: SourceArgs,
}

/// `trace`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("traced").required(true).args(["access_key", "principal"])))]
// A chain of keys crosses accounts, regions and days: sharding is refused, so not listed.
#[command(mut_arg("shard", |a| a.hide(true)), mut_arg("run_id", |a| a.hide(true)))]
pub struct TraceArgs {
    /// The access key to trace (AKIA... or ASIA...).
    #[arg(long, value_name = "KEY", help_heading = "Trace")]
    pub access_key: Option<String>,

    /// Trace every key this principal used in the window: an IAM user's or a session's
    /// ARN (`userIdentity.arn`), or a role's (every session of it).
    #[arg(long, value_name = "ARN", help_heading = "Trace")]
    pub principal: Option<String>,

    /// json, text or table, as the AWS CLI prints them.
    #[arg(long, value_name = "FORMAT", default_value = "json", value_parser = ["json", "text", "table"], help_heading = "Output")]
    pub output: String,

    #[command(flatten)]
    pub window: ActivityArgs,

    #[command(flatten)]
    pub source: SourceArgs,
}

/// The window and table colors of trace and summary.
#[derive(Debug, Args)]
pub struct ActivityArgs {
    /// Events (a key's uses, a principal's calls) from this time on (same forms as
    /// lookup-events' --start-time); the events that issued keys are searched from 36 hours
    /// before it, the longest a temporary key lives.
    #[arg(long, value_name = "TIME")]
    pub start_time: Option<String>,

    /// Events up to this time.
    #[arg(long, value_name = "TIME")]
    pub end_time: Option<String>,

    /// Colors in table output: on, off, or auto (on when stdout is a terminal).
    #[arg(long, value_name = "WHEN", default_value = "auto", value_parser = color_choice(), help_heading = "Output")]
    pub color: ColorChoice,
}

/// `index`.
#[derive(Debug, Args)]
// A shard of a sharded build records its work in the index itself; --index is where.
#[command(
    mut_arg("shard", |a| a.help("Index only shard K of N (K from 0 to N-1): the day folders (delivery day x account x region) are sorted and dealt out round-robin, as every sharded command deals them. The shard writes its segments into the index and records its work under INDEX/runs/RUN-ID/shard-K-of-N/; the last shard to finish publishes the run (or `index --publish`). `auto`: from AWS_BATCH_JOB_ARRAY_INDEX/AWS_BATCH_JOB_ARRAY_SIZE (AWS Batch array job), else JOB_COMPLETION_INDEX with TRAILSCAN_SHARDS (Kubernetes Indexed Job)")),
    mut_arg("run_id", |a| a.help("The sharded build a shard belongs to (the same for every shard; default: AWS_BATCH_JOB_ID without the child's `:index`)")),
    mut_arg("index", |a| a.help("Where the index is written (a folder, or s3://BUCKET/PREFIX): an existing index is updated there; a new one needs an empty folder or prefix")),
    // Flags of the questions asked through an index, which building it does not ask.
    mut_arg("no_index", |a| a.hide(true)),
    mut_arg("index_check", |a| a.hide(true))
)]
pub struct IndexArgs {
    /// Index only files that may hold events at or after this time (same forms as
    /// lookup-events' --start-time).
    #[arg(long, value_name = "TIME")]
    pub start_time: Option<String>,

    /// Index only files that may hold events at or before this time.
    #[arg(long, value_name = "TIME")]
    pub end_time: Option<String>,

    /// Check the index instead of updating it: rebuild the catalog rows and filters of a
    /// sample of indexed files from the archive and compare, and compare the catalog's
    /// SHA-256 of each file with the hashValue its digest file lists.
    #[arg(long, help_heading = "Index")]
    pub verify: bool,

    /// With --verify: the share of indexed files to rebuild, from 0 to 1 (1: all).
    #[arg(
        long,
        value_name = "P",
        default_value_t = 0.01,
        requires = "verify",
        help_heading = "Index"
    )]
    pub sample: f64,

    /// Remove the files no longer needed: every generation but the current one and the one
    /// before it (which a lookup started just before the last update may still be reading),
    /// and the segments, summaries and seals only those older ones named.
    #[arg(long, help_heading = "Index", conflicts_with_all = ["verify", "shard"])]
    pub gc: bool,

    /// Publish the sharded build --run-id: check that every shard of it finished, over the
    /// same index generation, then publish one generation holding all their work (the last
    /// shard to finish does this itself; this is for when it could not). Reads no archive.
    #[arg(long, help_heading = "Index", conflicts_with_all = ["verify", "gc", "shard"])]
    pub publish: bool,

    /// Seal each delivery day this long after its end: a lookup then answers it from the index
    /// without listing it, and every update re-checks it (e.g. 48h, 2d, 0s). CloudTrail
    /// delivers into the current day's folder, late files at most into the previous day's.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "2d",
        value_parser = parse_duration,
        help_heading = "Index"
    )]
    pub seal_after: i64,

    #[command(flatten)]
    pub source: SourceArgs,
}

/// `acquire`.
#[derive(Debug, Args)]
pub struct AcquireArgs {
    /// The bucket (s3://BUCKET[/PREFIX]), or a copy of it on disk (a folder); or --source, as
    /// every other command takes it, and then only DIR here.
    #[arg(
        value_name = "s3://BUCKET[/PREFIX]|DIR",
        required_unless_present = "source_flag"
    )]
    pub source: Option<String>,

    /// The folder to copy into (created if needed).
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// The bucket or copy to acquire, as the other commands name it.
    #[arg(long = "source", value_name = "s3://BUCKET[/PREFIX]|DIR")]
    pub source_flag: Option<String>,

    /// No summary on stderr (problems with objects are still reported), no progress.
    #[arg(short, long)]
    pub quiet: bool,

    /// Objects delivered from this time on.
    #[arg(long, value_name = "TIME")]
    pub start_time: Option<String>,

    /// Objects delivered up to this time (and an hour after, for late deliveries).
    #[arg(long, value_name = "TIME")]
    pub end_time: Option<String>,

    /// Only this account (repeatable).
    #[arg(long = "account-id", value_name = "ID")]
    pub account_ids: Vec<String>,

    /// Only this region (repeatable).
    #[arg(long = "region", value_name = "REGION")]
    pub regions: Vec<String>,

    #[command(flatten)]
    pub s3: S3Args,

    /// Worker threads that hash and write the copies (default: 16, or one per core if more).
    /// From S3, objects are fetched for them, --max-concurrent-requests at once.
    #[arg(long, value_name = "N", default_value_t = 0, hide_default_value = true)]
    pub threads: usize,

    /// No progress display on stderr (it is shown only when stderr is a terminal).
    #[arg(long)]
    pub no_progress: bool,
}

/// `validate-logs`. As with the AWS CLI's argparse, a repeated option takes its last value.
#[derive(Debug, Args)]
#[command(args_override_self = true)]
pub struct ValidateLogsArgs {
    /// The trail to validate, as the AWS CLI takes it; without it, every digest chain
    /// (account x region x trail) under the source is validated.
    #[arg(long, value_name = "ARN", requires = "start_time")]
    pub trail_arn: Option<String>,

    /// Digests from this time on (required with --trail-arn, as in the AWS CLI). An offset
    /// (+05:00) is converted to UTC; with --trail-arn it is dropped, as the AWS CLI drops it
    /// (12:00+05:00 is read as 12:00Z).
    #[arg(long, value_name = "TIME")]
    pub start_time: Option<String>,

    /// Digests up to this time (default: now); an offset as for --start-time.
    #[arg(long, value_name = "TIME")]
    pub end_time: Option<String>,

    /// The bucket the trail delivers to (default: from the digests' metadata sidecars, else
    /// from the newest digest).
    #[arg(long, value_name = "BUCKET")]
    pub s3_bucket: Option<String>,

    /// The trail's key prefix (with --s3-bucket; default: where AWSLogs/ is under the source).
    #[arg(long, value_name = "PREFIX")]
    pub s3_prefix: Option<String>,

    /// The account whose logs are validated (default: the trail ARN's account). Without
    /// --trail-arn: only these accounts' chains (repeatable); with it, the last one given, as
    /// the AWS CLI takes a repeated option.
    #[arg(long = "account-id", value_name = "ID", action = clap::ArgAction::Append)]
    pub account_ids: Vec<String>,

    /// The region whose digests are validated (default: the trail's home region). Without
    /// --trail-arn: only these regions' chains (repeatable); with it, the last one given.
    #[arg(long = "region", value_name = "REGION", action = clap::ArgAction::Append)]
    pub regions: Vec<String>,

    /// Print valid digests and log files too.
    #[arg(long)]
    pub verbose: bool,

    /// The saved output of `aws cloudtrail list-public-keys` (v1 or v2) covering the window.
    /// Without it, an s3:// source asks CloudTrail's ListPublicKeys in each digest region
    /// (endpoint: AWS_ENDPOINT_URL_CLOUDTRAIL, else AWS's); a copy on disk needs the file.
    #[arg(long, value_name = "FILE")]
    pub public_keys: Option<PathBuf>,

    /// The bucket, s3://BUCKET[/PREFIX], or a copy of it: the folder holding the trail's
    /// prefix or AWSLogs/.
    #[arg(
        long,
        env = "TRAILSCAN_SOURCE",
        value_name = "DIR|s3://BUCKET[/PREFIX]"
    )]
    pub source: String,

    #[command(flatten)]
    pub s3: S3Args,

    /// Also write every digest and log file with its verdict, the gaps, and the time covered,
    /// to this JSON file (for an auditor's file), with the trailscan version and commit, the
    /// run's start and end, the source, where the public keys came from and the command line.
    /// An existing file is refused (exit 2) unless --force.
    #[arg(long, value_name = "FILE.json")]
    pub report: Option<PathBuf>,

    /// Also write the report as one self-contained HTML page to hand over: the verdict, what
    /// produced it, each chain's counts, a coverage map by chain and day (valid, INVALID, gaps,
    /// nothing delivered), and every finding. No script or network needed to read it. An
    /// existing file is refused unless --force.
    #[arg(long, value_name = "FILE.html")]
    pub report_html: Option<PathBuf>,

    /// Replace an existing --report or --report-html file.
    #[arg(long)]
    pub force: bool,

    /// Continue from the last audit: this file (or s3://BUCKET/KEY) records, per digest chain,
    /// the newest digest verified and how far the log files were checked. Each chain it names
    /// is validated only from there, and must reach that digest unchanged (else exit 1); the
    /// others in full. Rewritten after the run (each chain advanced only if it validated
    /// clean), its SHA-256 printed. Not with --trail-arn, --start-time or --shard.
    #[arg(
        long,
        value_name = "FILE|s3://BUCKET/KEY",
        conflicts_with_all = ["trail_arn", "start_time", "shard"],
        help_heading = "Continuous validation"
    )]
    pub state: Option<String>,

    /// With --state: ignore what it records, validate every chain whole, and record afresh.
    #[arg(long, requires = "state", help_heading = "Continuous validation")]
    pub full: bool,

    /// The copy of another bucket the trail delivered to (a chain that moved between
    /// buckets), as NAME=DIR (repeatable).
    #[arg(long, value_name = "NAME=DIR")]
    pub bucket_copy: Vec<String>,

    /// Worker threads that verify digests and hash log files (default: one per core). From
    /// S3, objects are fetched for them, --max-concurrent-requests at once.
    #[arg(long, value_name = "N", default_value_t = 0, hide_default_value = true)]
    pub threads: usize,

    /// No progress display on stderr (it is shown only when stderr is a terminal).
    #[arg(long)]
    pub no_progress: bool,

    /// Only the validation's own lines (the AWS CLI's, on stdout and stderr) and problems: no
    /// progress, no --state or shard summary lines.
    #[arg(short, long)]
    pub quiet: bool,

    /// Validate only shard K of N of the digest chains (account x region x trail, sorted and
    /// dealt round-robin; a chain is never split): K/N, or `auto` from the AWS Batch or
    /// Kubernetes variables, as lookup-events takes it. Not with --trail-arn.
    #[arg(
        long,
        value_name = "K/N|auto",
        conflicts_with = "trail_arn",
        requires = "out",
        help_heading = "Sharding"
    )]
    pub shard: Option<String>,

    /// The run a shard belongs to (default: AWS_BATCH_JOB_ID without the child's `:index`).
    #[arg(long, value_name = "ID", help_heading = "Sharding")]
    pub run_id: Option<String>,

    /// With --shard: write this shard's chains and summary.json under
    /// OUT/RUN-ID/shard-K-of-N/ (a folder, or s3://BUCKET[/PREFIX] that every worker shares)
    /// for `trailscan merge`, which prints what one unsharded run would have printed.
    #[arg(
        long,
        value_name = "DIR|s3://BUCKET[/PREFIX]",
        requires = "shard",
        help_heading = "Sharding"
    )]
    pub out: Option<String>,
}

/// Where the archive is and how to read it.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// The archive: s3://BUCKET[/PREFIX], or a folder holding one or more AWSLogs/ trees (a
    /// copy of the bucket, a key-prefix folder, or a folder inside AWSLogs/).
    #[arg(
        long,
        env = "TRAILSCAN_SOURCE",
        value_name = "DIR|s3://BUCKET[/PREFIX]",
        help_heading = "Source"
    )]
    pub source: Option<String>,

    #[command(flatten, next_help_heading = "Source")]
    pub s3: S3Args,

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

    /// Largest record (one event's JSON); a larger one is reported and skipped unparsed
    /// (CloudTrail's records are kilobytes): e.g. 4M, 64M.
    #[arg(long, value_name = "SIZE", default_value = "4M", value_parser = parse_size, help_heading = "Source")]
    pub max_record_size: u64,

    /// Worker threads that inflate and search (default: one per core). From S3, objects are
    /// fetched ahead of them, --max-concurrent-requests at once.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        hide_default_value = true,
        help_heading = "Source"
    )]
    pub threads: usize,

    /// No summary and no progress on stderr (problems with objects are still reported).
    #[arg(long, short, help_heading = "Source")]
    pub quiet: bool,

    /// No progress display on stderr (it is shown only when stderr is a terminal).
    #[arg(long, help_heading = "Source")]
    pub no_progress: bool,

    /// Scan only shard K of N (K from 0 to N-1): the units (delivery day x account x region)
    /// are sorted and dealt out round-robin, the same in every worker, with no coordinator.
    /// `auto`: from AWS_BATCH_JOB_ARRAY_INDEX/AWS_BATCH_JOB_ARRAY_SIZE (AWS Batch array
    /// job), else JOB_COMPLETION_INDEX with TRAILSCAN_SHARDS (Kubernetes Indexed Job).
    #[arg(long, value_name = "K/N|auto", help_heading = "Sharding")]
    pub shard: Option<String>,

    /// The run a shard belongs to: its results go to OUT/RUN-ID/shard-K-of-N/. Default:
    /// AWS_BATCH_JOB_ID (without the child's `:index`).
    #[arg(long, value_name = "ID", help_heading = "Sharding")]
    pub run_id: Option<String>,

    /// The lookup index (`trailscan index` builds it): read only the files it says can
    /// match, and every file it does not hold or that changed since it was indexed.
    #[arg(
        long,
        env = "TRAILSCAN_INDEX",
        value_name = "DIR|s3://BUCKET/PREFIX",
        help_heading = "Index"
    )]
    pub index: Option<String>,

    /// Scan without the index, even if --index or TRAILSCAN_INDEX names one.
    #[arg(long, help_heading = "Index")]
    pub no_index: bool,

    /// What a question through the index checks of the archive. `sealed` (the default):
    /// days the index has sealed are answered from it without listing them, only the days
    /// after are listed, and every file read is checked against the index as it is read.
    /// `full`: every day of the window is listed and every file compared with the index,
    /// reporting each file added, changed or deleted since it was indexed.
    #[arg(long, value_enum, value_name = "MODE", help_heading = "Index")]
    pub index_check: Option<IndexCheck>,
}

/// `--index-check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum IndexCheck {
    /// Trust sealed days; list only the others; verify what is read.
    Sealed,
    /// List and compare everything.
    Full,
}

/// How to reach S3, for an `s3://` source.
#[derive(Debug, Clone, Args)]
pub struct S3Args {
    /// An S3-compatible endpoint (path-style addressing), for an s3:// source.
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// A named AWS profile, for an s3:// source (else the standard credential chain).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// Anonymous requests, for a public s3:// bucket.
    #[arg(long)]
    pub no_sign_request: bool,

    /// Requests to S3 in flight at once, listings and GETs, over the whole run (default: each
    /// operation sized for the round trip trailscan measures, 32 to 256, and 256 in all): more
    /// for a distant bucket, fewer to spare a narrow link.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub max_concurrent_requests: Option<u32>,
}

impl S3Args {
    /// The options the AWS clients take. `regions` are the command's `--region` values: when
    /// exactly one is given it is the clients' region too (as `--region` is for the AWS CLI),
    /// unless the standard chain names one.
    pub fn options(&self, regions: &[String]) -> trailscan_archive::S3Options {
        trailscan_archive::S3Options {
            endpoint_url: self.endpoint_url.clone(),
            profile: self.profile.clone(),
            no_sign_request: self.no_sign_request,
            max_concurrent_requests: self.max_concurrent_requests.map(|n| n as usize),
            region: match regions {
                [one] => Some(one.clone()),
                _ => None,
            },
        }
    }
}

/// Which events: attributes, time window, categories (as `lookup-events` takes them).
#[derive(Debug, Args)]
pub struct SelectionArgs {
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
}

/// `lookup-events`.
#[derive(Debug, Args)]
pub struct LookupEventsArgs {
    #[command(flatten)]
    pub selection: SelectionArgs,

    /// One page of N events (turns auto-pagination off); the answer then carries a NextToken
    /// when more follow.
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        help_heading = "Pages"
    )]
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
    #[arg(long, value_name = "WHEN", default_value = "auto", value_parser = color_choice(), help_heading = "Output")]
    pub color: ColorChoice,

    /// At most this many events in all; a NextToken then resumes with --starting-token.
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        help_heading = "Pages"
    )]
    pub max_items: Option<i64>,

    /// Continue after the answer that returned this NextToken.
    #[arg(long, value_name = "TOKEN", help_heading = "Pages")]
    pub starting_token: Option<String>,

    /// Events per page of text output (the AWS CLI's service calls; default 50).
    #[arg(
        long,
        value_name = "N",
        allow_negative_numbers = true,
        help_heading = "Pages"
    )]
    pub page_size: Option<i64>,

    /// One page only (50 events, or --max-results), with the service's NextToken.
    #[arg(long, help_heading = "Pages")]
    pub no_paginate: bool,

    /// With --shard: write this shard's results and summary.json under
    /// OUT/RUN-ID/shard-K-of-N/ (a folder, or s3://BUCKET[/PREFIX] that every worker shares)
    /// instead of printing them; `trailscan merge OUT/RUN-ID` then prints what one unsharded
    /// run would have printed.
    #[arg(
        long,
        value_name = "DIR|s3://BUCKET[/PREFIX]",
        help_heading = "Sharding"
    )]
    pub out: Option<String>,

    #[command(flatten)]
    pub source: SourceArgs,
}

/// `export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub selection: SelectionArgs,

    /// parquet (zstd, page statistics, bloom filters on the lookup columns) or jsonl (the
    /// same rows as JSON lines).
    #[arg(long, value_name = "FORMAT", default_value = "parquet", value_parser = export_format(), help_heading = "Export")]
    pub format: Format,

    /// Where to write: a folder, or s3://BUCKET[/PREFIX]. Files go to
    /// v1/account=ID/region=REGION/day=YYYY-MM-DD/ below it.
    #[arg(
        long,
        value_name = "DIR|s3://BUCKET[/PREFIX]",
        required_unless_present = "print_ddl",
        help_heading = "Export"
    )]
    pub out: Option<String>,

    /// Print the CREATE TABLE for an export (partition projection on its layout; the
    /// regions it holds when --out names one) instead of exporting. `athena` only.
    #[arg(long, value_name = "ENGINE", value_parser = ["athena"], help_heading = "Export")]
    pub print_ddl: Option<String>,

    /// The table name in the DDL.
    #[arg(
        long,
        value_name = "NAME",
        default_value = "trailscan_events",
        help_heading = "Export"
    )]
    pub table_name: String,

    /// About the most memory the rows gathered into row groups take, over all partitions
    /// (K, M, G: powers of 1024; the batches of log files in flight stay within an eighth of
    /// it, the scan's buffers come on top). Past it, the partition with
    /// the most rows waiting is written out as a row group before it is full (128 Ki rows):
    /// memory stays flat with busy partitions, at the price of smaller row groups. The same
    /// budget writes the same files.
    #[arg(long, value_name = "SIZE", default_value = "512M", value_parser = parse_size, help_heading = "Export")]
    pub memory_budget: u64,

    #[command(flatten)]
    pub source: SourceArgs,
}

/// `merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// OUT/RUN-ID: the folder (or s3://BUCKET/PREFIX/RUN-ID) holding the shard-K-of-N/
    /// folders of one run; or --source, as every other command names what it reads.
    #[arg(
        value_name = "OUT/RUN-ID",
        required_unless_present = "source",
        conflicts_with = "source"
    )]
    pub run_dir: Option<String>,

    /// The run's folder, as the other commands name what they read.
    #[arg(long, value_name = "OUT/RUN-ID")]
    pub source: Option<String>,

    /// The merged answer and problems only: no summary on stderr (as if the shards had been
    /// given -q).
    #[arg(short, long)]
    pub quiet: bool,

    /// Taken as every command takes it: a merge reads the shards' results, not the archive,
    /// and shows no progress anyway.
    #[arg(long)]
    pub no_progress: bool,

    #[command(flatten)]
    pub s3: S3Args,
}

/// `--color`'s values, as the AWS CLI spells them.
fn color_choice() -> impl TypedValueParser<Value = ColorChoice> {
    PossibleValuesParser::new(["on", "off", "auto"]).map(|s| match s.as_str() {
        "on" => ColorChoice::On,
        "off" => ColorChoice::Off,
        _ => ColorChoice::Auto,
    })
}

/// `--format`'s values.
fn export_format() -> impl TypedValueParser<Value = Format> {
    PossibleValuesParser::new(["parquet", "jsonl"]).map(|s| match s.as_str() {
        "jsonl" => Format::Jsonl,
        _ => Format::Parquet,
    })
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
            .expect("a subcommand")
        {
            Command::LookupEvents(a) => a,
            _ => {
                unreachable!("lookup-events was parsed")
            }
        }
    }

    #[test]
    fn validate_logs_takes_the_last_of_a_repeated_option() {
        let cli = Cli::try_parse_from([
            "trailscan",
            "validate-logs",
            "--source",
            "x",
            "--trail-arn",
            "a",
            "--start-time",
            "1",
            "--start-time",
            "2",
        ])
        .unwrap();
        let Some(Command::ValidateLogs(v)) = cli.command else {
            unreachable!("validate-logs was parsed")
        };
        assert_eq!(v.start_time.as_deref(), Some("2"));
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
        assert_eq!(a.selection.lookup_attributes.len(), 3);
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
