//! `trace`'s settings.

use anyhow::Result;
use trailscan_attribution::MAX_TEMPORARY_KEY_LIFE_SECS;
use trailscan_layout::key::ObjectKind;
use trailscan_output::{ColorChoice, OutputFormat, OutputSettings};
use trailscan_query::{parse_time_arg, LookupRequest};
use trailscan_records::EventTime;

use super::SourceSettings;
use crate::exit_codes::UsageError;
use crate::flags::TraceArgs;

/// What is traced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Traced {
    /// One key.
    Key(String),
    /// Every key a principal used.
    Principal(String),
}

/// Everything `trace` needs, typed.
pub struct TraceSettings {
    /// The source, listed from 36 hours before the window (issuing events come first).
    pub source: SourceSettings,
    /// What is traced.
    pub traced: Traced,
    /// The scan: every record (data events too: keys are used there, and Cognito issues
    /// keys there) from 36 hours before the window to its end.
    pub scan: LookupRequest,
    /// The uses counted: the window as given.
    pub uses: LookupRequest,
    /// How to print.
    pub output: OutputSettings,
}

impl TraceSettings {
    /// Converts and checks the flags.
    pub fn new(args: &TraceArgs) -> Result<TraceSettings> {
        let (scan, uses) = windows(&args.window.start_time, &args.window.end_time)?;
        refuse_shard("trace", &args.source)?;
        let traced = match (&args.access_key, &args.principal) {
            (Some(key), _) => Traced::Key(key.clone()),
            (None, Some(arn)) => Traced::Principal(arn.clone()),
            // clap requires one of the two.
            (None, None) => {
                return Err(UsageError("give --access-key or --principal".into()).into())
            }
        };
        Ok(TraceSettings {
            source: SourceSettings::new(&args.source, ObjectKind::Log, &scan)?,
            traced,
            scan,
            uses,
            output: output(&args.output, args.window.color),
        })
    }
}

/// The scan and the window of a trace or summary: the window as given (data events too:
/// keys are used there, and Cognito issues keys there), and a scan from 36 hours before it,
/// the longest a temporary key lives, where the events that issued its keys can be.
pub(super) fn windows(
    start: &Option<String>,
    end: &Option<String>,
) -> Result<(LookupRequest, LookupRequest)> {
    let time = |v: &Option<String>| v.as_deref().map(parse_time_arg).transpose();
    let window = LookupRequest {
        start: time(start)?,
        end: time(end)?,
        include_data_events: true,
        ..LookupRequest::default()
    };
    window.validate()?;
    let scan = LookupRequest {
        start: window.start.map(|t| EventTime {
            secs: t.secs - MAX_TEMPORARY_KEY_LIFE_SECS,
            nanos: t.nanos,
        }),
        ..window.clone()
    };
    Ok((scan, window))
}

/// Sharding splits a scan by account, region and day; a chain crosses all three.
pub(super) fn refuse_shard(command: &str, source: &crate::flags::SourceArgs) -> Result<()> {
    match source.shard {
        Some(_) => Err(UsageError(format!(
            "{command} takes no --shard: a chain of keys crosses accounts, regions and days"
        ))
        .into()),
        None => Ok(()),
    }
}

/// `--output` and `--color`, as checked by clap.
pub(super) fn output(format: &str, color: ColorChoice) -> OutputSettings {
    OutputSettings {
        format: OutputFormat::from_name(format).unwrap_or(OutputFormat::Json),
        query: None,
        color,
    }
}
