//! `summary`'s settings.

use anyhow::Result;
use trailscan_attribution::Subject;
use trailscan_layout::key::ObjectKind;
use trailscan_output::OutputSettings;
use trailscan_query::LookupRequest;

use super::attribution::{check_access_key, check_principal, output, refuse_shard, windows};
use super::SourceSettings;
use crate::exit_codes::UsageError;
use crate::flags::SummaryArgs;

/// Everything `summary` needs, typed.
pub struct SummarySettings {
    /// The source, listed from 36 hours before the window (for the keys' origins).
    pub source: SourceSettings,
    /// Whose events.
    pub subject: Subject,
    /// The scan, from 36 hours before the window.
    pub scan: LookupRequest,
    /// The events summarized: the window as given.
    pub window: LookupRequest,
    /// How to print.
    pub output: OutputSettings,
}

impl SummarySettings {
    /// Converts and checks the flags.
    pub fn new(args: &SummaryArgs) -> Result<SummarySettings> {
        let (scan, window) = windows(&args.window.start_time, &args.window.end_time)?;
        refuse_shard("summary", &args.source)?;
        if let Some(key) = &args.access_key {
            check_access_key(key)?;
        }
        if let Some(arn) = &args.principal {
            check_principal(arn, |name| format!("did you mean --username {name}?"))?;
        }
        let subject = match (
            &args.access_key,
            &args.principal,
            &args.source_ip,
            &args.username,
        ) {
            (Some(key), ..) => Subject::AccessKey(key.clone()),
            (_, Some(arn), ..) => Subject::Principal(arn.clone()),
            (_, _, Some(ip), _) => Subject::SourceIp(ip.clone()),
            (_, _, _, Some(name)) => Subject::Username(name.clone()),
            // clap requires one of them.
            _ => {
                return Err(UsageError(
                    "give --access-key, --principal, --source-ip or --username".into(),
                )
                .into())
            }
        };
        Ok(SummarySettings {
            source: SourceSettings::new(&args.source, ObjectKind::Log, &scan)?,
            subject,
            scan,
            window,
            output: output(&args.output, args.window.color),
        })
    }
}
