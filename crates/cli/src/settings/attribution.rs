//! What `trace` and `summary` share: the scan from 36 hours before the window (where the
//! events that issued its keys can be), no sharding, and their output flags.

use anyhow::Result;
use trailscan_attribution::MAX_TEMPORARY_KEY_LIFE_SECS;
use trailscan_layout::key::is_account_id;
use trailscan_output::{ColorChoice, OutputFormat, OutputSettings};
use trailscan_query::{parse_time_arg, LookupRequest};
use trailscan_records::EventTime;

use crate::exit_codes::UsageError;

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

/// An access key id: `AKIA` (long-term) or `ASIA` (temporary), then capitals and digits.
pub(super) fn check_access_key(key: &str) -> Result<(), UsageError> {
    let shaped = (key.starts_with("AKIA") || key.starts_with("ASIA"))
        && key.len() > 4
        && key
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    match shaped {
        true => Ok(()),
        false => Err(UsageError(format!(
            "--access-key {key}: an access key id is AKIA... (long-term) or ASIA... (temporary), capitals and digits (e.g. ASIAIOSFODNN7EXAMPLE)"
        ))),
    }
}

/// A principal is given by its ARN; a bare name gets `by_name(name)`, the flag that takes one.
pub(super) fn check_principal(arn: &str, by_name: fn(&str) -> String) -> Result<(), UsageError> {
    if !arn.starts_with("arn:") {
        return Err(UsageError(format!(
            "--principal {arn}: give the principal's ARN (arn:aws:iam::ACCOUNT:user/NAME, a role's or a session's); {}",
            by_name(arn)
        )));
    }
    // arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE; an IAM principal's account is 12 digits.
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        [_, _, _, _, account, resource] if is_account_id(account) && !resource.is_empty() => {
            Ok(())
        }
        [_, _, _, _, account, _] if !is_account_id(account) => Err(UsageError(format!(
            "--principal {arn}: the ARN's account ({account}) is not 12 digits, as AWS account ids are"
        ))),
        _ => Err(UsageError(format!(
            "--principal {arn}: not an ARN (arn:aws:iam::ACCOUNT:user/NAME, a role's or a session's)"
        ))),
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
