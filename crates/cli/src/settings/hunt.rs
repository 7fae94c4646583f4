//! `hunt`'s settings.

use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::{anyhow, Result};
use trailscan_hunt::{read_placeholders, Level, RuleChoice, Status};
use trailscan_layout::key::ObjectKind;
use trailscan_query::{parse_time_arg, LookupRequest};
use trailscan_records::EventTime;

use super::SourceSettings;
use crate::exit_codes::UsageError;
use crate::flags::HuntArgs;

/// How detections are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HuntOutput {
    /// One JSON object per detection or correlation, per line.
    Jsonl,
    /// One document: `{"Detections": [...], "Correlations": [...]}`.
    Json,
    /// One row per detection or correlation.
    Csv,
    /// The AWS CLI's box-drawn tables.
    Table,
}

/// Everything `hunt` needs, typed.
pub struct HuntSettings {
    /// The log files.
    pub logs: SourceSettings,
    /// The Insights files (Insights events are records too).
    pub insights: SourceSettings,
    /// `--rules`.
    pub rule_paths: Vec<PathBuf>,
    /// Which rules run.
    pub choice: RuleChoice,
    /// `--strict`.
    pub strict: bool,
    /// `--start-time`.
    pub start: Option<EventTime>,
    /// `--end-time`.
    pub end: Option<EventTime>,
    /// `--output`.
    pub output: HuntOutput,
    /// `--output-events`.
    pub output_events: Option<PathBuf>,
    /// `--memory-budget`: bytes of detections held before they go to temporary files.
    pub memory_budget: usize,
    /// With `--shard`: where the shard's detections go (`--out`).
    pub shard_out: Option<String>,
}

impl HuntSettings {
    /// Converts and checks the flags.
    pub fn new(args: &HuntArgs) -> Result<HuntSettings> {
        let time = |v: &Option<String>| v.as_deref().map(parse_time_arg).transpose();
        let window = LookupRequest {
            start: time(&args.start_time)?,
            end: time(&args.end_time)?,
            ..LookupRequest::default()
        };
        window.validate()?;
        let placeholders = match &args.placeholders {
            None => Default::default(),
            Some(file) => {
                let named = |why: String| anyhow!("--placeholders {}: {why}", file.display());
                let text = std::fs::read_to_string(file).map_err(|e| named(e.to_string()))?;
                read_placeholders(&text).map_err(named)?
            }
        };
        let choice = RuleChoice {
            min_level: args.min_level.as_deref().map(level),
            statuses: args.status.iter().map(|s| status(s)).collect(),
            rule_ids: args.rule_id.clone(),
            placeholders,
        };
        let output = match args.output.as_deref() {
            Some("json") => HuntOutput::Json,
            Some("csv") => HuntOutput::Csv,
            Some("table") => HuntOutput::Table,
            Some(_) => HuntOutput::Jsonl,
            None if std::io::stdout().is_terminal() => HuntOutput::Table,
            None => HuntOutput::Jsonl,
        };
        if let Some(file) = &args.output_events {
            if file.exists() {
                return Err(UsageError(format!(
                    "--output-events {}: the file exists; give a new file",
                    file.display()
                ))
                .into());
            }
        }
        let logs = SourceSettings::new(&args.source, ObjectKind::Log, &window)?;
        super::shard_out(args.out.as_deref(), logs.options.selection.shard.is_some())?;
        Ok(HuntSettings {
            logs,
            insights: SourceSettings::new(&args.source, ObjectKind::Insight, &window)?,
            rule_paths: args.rules.clone(),
            choice,
            strict: args.strict,
            start: window.start,
            end: window.end,
            output,
            output_events: args.output_events.clone(),
            memory_budget: usize::try_from(args.memory_budget).unwrap_or(usize::MAX),
            shard_out: args.out.clone(),
        })
    }
}

/// A level clap has checked.
fn level(name: &str) -> Level {
    match name {
        "informational" => Level::Informational,
        "low" => Level::Low,
        "medium" => Level::Medium,
        "high" => Level::High,
        _ => Level::Critical,
    }
}

/// A status clap has checked.
fn status(name: &str) -> Status {
    match name {
        "stable" => Status::Stable,
        "test" => Status::Test,
        "experimental" => Status::Experimental,
        "deprecated" => Status::Deprecated,
        _ => Status::Unsupported,
    }
}
