//! `trace`'s settings.

use anyhow::Result;
use trailscan_attribution::MAX_TEMPORARY_KEY_LIFE_SECS;
use trailscan_layout::key::ObjectKind;
use trailscan_output::{OutputFormat, OutputSettings};
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
        let time = |v: &Option<String>| v.as_deref().map(parse_time_arg).transpose();
        let uses = LookupRequest {
            start: time(&args.start_time)?,
            end: time(&args.end_time)?,
            include_data_events: true,
            ..LookupRequest::default()
        };
        uses.validate()?;
        if args.source.shard.is_some() {
            return Err(UsageError(
                "trace takes no --shard: a chain crosses accounts, regions and days".into(),
            )
            .into());
        }
        let scan = LookupRequest {
            start: uses.start.map(|t| EventTime {
                secs: t.secs - MAX_TEMPORARY_KEY_LIFE_SECS,
                nanos: t.nanos,
            }),
            ..uses.clone()
        };
        let traced = match (&args.access_key, &args.principal) {
            (Some(key), _) => Traced::Key(key.clone()),
            (None, Some(arn)) => Traced::Principal(arn.clone()),
            // clap requires one of the two.
            (None, None) => {
                return Err(UsageError("give --access-key or --principal".into()).into())
            }
        };
        let format = OutputFormat::from_name(&args.output).unwrap_or(OutputFormat::Json);
        Ok(TraceSettings {
            source: SourceSettings::new(&args.source, ObjectKind::Log, &scan)?,
            traced,
            scan,
            uses,
            output: OutputSettings {
                format,
                query: None,
                color: args.color,
            },
        })
    }
}
