//! `trace`'s settings.

use anyhow::Result;
use trailscan_attribution::Traced;
use trailscan_layout::key::ObjectKind;
use trailscan_output::OutputSettings;
use trailscan_query::LookupRequest;

use super::attribution::{check_access_key, check_principal, output, refuse_shard, windows};
use super::SourceSettings;
use crate::exit_codes::UsageError;
use crate::flags::TraceArgs;

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
        if let Some(key) = &args.access_key {
            check_access_key(key)?;
        }
        if let Some(arn) = &args.principal {
            check_principal(arn, |name| {
                format!("`trailscan summary --username {name}` finds a user's events by name")
            })?;
        }
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
