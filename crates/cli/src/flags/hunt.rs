//! `hunt`'s flags.

use std::path::PathBuf;

use clap::Args;

use super::SourceArgs;

/// `hunt`.
#[derive(Debug, Args)]
pub struct HuntArgs {
    /// A Sigma rule file, or a folder searched recursively for *.yml and *.yaml (a SigmaHQ
    /// checkout's rules/cloud/aws/cloudtrail/ as it is); repeatable. Rules for other log
    /// sources are passed over and counted.
    #[arg(long, value_name = "PATH", required = true, help_heading = "Rules")]
    pub rules: Vec<PathBuf>,

    /// Run only rules of this level or higher: informational, low, medium, high, critical.
    #[arg(long, value_name = "LEVEL", value_parser = ["informational", "low", "medium", "high", "critical"], help_heading = "Rules")]
    pub min_level: Option<String>,

    /// Run only rules of this status (repeatable): stable, test, experimental, deprecated,
    /// unsupported.
    #[arg(long, value_name = "STATUS", value_parser = ["stable", "test", "experimental", "deprecated", "unsupported"], help_heading = "Rules")]
    pub status: Vec<String>,

    /// Run only the rule with this id (repeatable); a correlation brings its base rules.
    #[arg(long, value_name = "ID", help_heading = "Rules")]
    pub rule_id: Vec<String>,

    /// Values for the placeholders of `expand` (`%NAME%`): a YAML file mapping each NAME to
    /// a value or a list of values. A rule with a placeholder it lacks is refused.
    #[arg(long, value_name = "FILE", help_heading = "Rules")]
    pub placeholders: Option<PathBuf>,

    /// Stop before scanning if any rule file cannot be run (by default the others run and
    /// the exit code is 1).
    #[arg(long, help_heading = "Rules")]
    pub strict: bool,

    /// Events at or after this time (same forms as lookup-events' --start-time).
    #[arg(long, value_name = "TIME")]
    pub start_time: Option<String>,

    /// Events at or before this time.
    #[arg(long, value_name = "TIME")]
    pub end_time: Option<String>,

    /// jsonl (one detection per line; the default when stdout is not a terminal), json,
    /// csv, or table (the default on a terminal).
    #[arg(long, value_name = "FORMAT", value_parser = ["jsonl", "json", "csv", "table"], help_heading = "Output")]
    pub output: Option<String>,

    /// Also write every matched event's CloudTrail record, once each, in time order, as JSON
    /// lines to FILE (a new file).
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    pub output_events: Option<PathBuf>,

    /// About the most memory the detections held for ordering take, over all threads (K, M,
    /// G: powers of 1024). Past it, they go to sorted runs in temporary files (under
    /// TMPDIR) and are merged back as they are printed: a hunt that matches millions of
    /// events runs in the same memory. The answer is the same whatever the budget.
    #[arg(long, value_name = "SIZE", default_value = "64M", value_parser = super::parse_size, help_heading = "Output")]
    pub memory_budget: u64,

    /// With --shard: write this shard's detections and summary.json under
    /// OUT/RUN-ID/shard-K-of-N/ (a folder, or s3://BUCKET[/PREFIX] that every worker shares)
    /// instead of printing them; `trailscan merge OUT/RUN-ID` then orders, de-duplicates and
    /// correlates every shard's detections, and prints what one unsharded hunt would have.
    #[arg(
        long,
        value_name = "DIR|s3://BUCKET[/PREFIX]",
        help_heading = "Sharding"
    )]
    pub out: Option<String>,

    #[command(flatten)]
    pub source: SourceArgs,
}
