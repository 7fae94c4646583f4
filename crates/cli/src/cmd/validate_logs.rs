//! `trailscan validate-logs`.
//!
//! With `--trail-arn` (parity mode) the output is the AWS CLI's, byte for byte, for the same
//! archive and window. The walk is sequential (links decide what comes next) and cheap; the
//! log files, where the time goes, are hashed on all cores before printing, and printed in
//! the AWS CLI's order.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context, Result};
use rayon::prelude::*;
use trailscan_integrity::keys::PublicKeys;
use trailscan_integrity::logs::{hash_log, verdict, LogRead};
use trailscan_integrity::report::Printer;
use trailscan_integrity::store::{LocalStore, Store, SIDECAR_SUFFIX};
use trailscan_integrity::walk::{unique_logs, LogKey, Trail, Walker};
use trailscan_query::parse_time_arg;

use crate::exit_codes::AwsCliError;
use crate::flags::ValidateLogsArgs;

fn aws(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(AwsCliError(message.into()))
}

/// A time as the AWS CLI's validate-logs reads it: dateutil, then `replace(tzinfo=UTC)`,
/// which relabels an offset as UTC instead of converting (a quirk of awscli 1.45.11).
fn parse_cli_date(text: &str) -> Result<i64> {
    let trimmed = text.trim();
    let naive = strip_offset(trimmed);
    parse_time_arg(naive)
        .map(|t| t.secs)
        .map_err(|_| aws(format!("Unable to parse date value: {text}")))
}

fn strip_offset(s: &str) -> &str {
    if let Some(rest) = s.strip_suffix(['Z', 'z']) {
        return rest;
    }
    let b = s.as_bytes();
    let has_time = s.contains(['T', 't', ' ']) && s.contains(':');
    for len in [6, 5, 3] {
        if has_time && b.len() > len && matches!(b[b.len() - len], b'+' | b'-') {
            let tail = &s[s.len() - len + 1..];
            if tail.bytes().all(|c| c.is_ascii_digit() || c == b':') {
                return &s[..s.len() - len];
            }
        }
    }
    s
}

/// `arn:.+:cloudtrail:.+:\d{12}:trail/.+` as Python's `re.match` applies it: anchored at
/// the start only, `.+` at least one character other than a newline.
fn is_trail_arn(arn: &str) -> bool {
    let Some(rest) = arn.strip_prefix("arn:") else {
        return false;
    };
    let line = rest.split('\n').next().unwrap_or_default();
    let account_then_trail = |tail: &str| {
        tail.match_indices(':').any(|(i, _)| {
            i >= 1
                && tail.len() > i + 13
                && tail[i + 1..i + 13].bytes().all(|b| b.is_ascii_digit())
                && tail[i + 13..]
                    .strip_prefix(":trail/")
                    .is_some_and(|name| !name.is_empty())
        })
    };
    line.match_indices(":cloudtrail:")
        .any(|(i, m)| i >= 1 && account_then_trail(&line[i + m.len()..]))
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Where the trail's `AWSLogs/[o-ORG/]ACCOUNT/CloudTrail-Digest` is under the source: the
/// trail's prefix (the folders above AWSLogs) and organization id.
fn locate_digests(root: &Path, account: &str) -> Option<(Option<String>, Option<String>)> {
    let mut stack = vec![(root.to_path_buf(), 0usize)];
    let mut found = Vec::new();
    while let Some((dir, depth)) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if !entry.file_type().is_ok_and(|t| t.is_dir()) {
                continue;
            }
            if entry.file_name() == "AWSLogs" {
                let prefix = dir
                    .strip_prefix(root)
                    .ok()
                    .and_then(|p| p.to_str())
                    .map(|p| p.replace('\\', "/"));
                let prefix = prefix.filter(|p| !p.is_empty());
                if path.join(account).join("CloudTrail-Digest").is_dir() {
                    found.push((prefix.clone(), None));
                }
                for org in fs::read_dir(&path).into_iter().flatten().flatten() {
                    let name = org.file_name().to_string_lossy().into_owned();
                    if trailscan_archive::key::is_org_id(&name)
                        && org.path().join(account).join("CloudTrail-Digest").is_dir()
                    {
                        found.push((prefix.clone(), Some(name)));
                    }
                }
            } else if depth < 6 {
                stack.push((path, depth + 1));
            }
        }
    }
    found.sort();
    found.into_iter().next()
}

/// The bucket a copy came from: a sidecar says it; else the newest digest names itself.
fn infer_bucket(root: &Path, digest_folder: &Path) -> Option<String> {
    let mut files = Vec::new();
    let mut stack = vec![digest_folder.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let from_sidecar = files
        .iter()
        .rev()
        .filter(|p| p.to_string_lossy().ends_with(SIDECAR_SUFFIX))
        .find_map(|p| {
            let doc: serde_json::Value = serde_json::from_str(&fs::read_to_string(p).ok()?).ok()?;
            doc.get("bucket")?.as_str().map(str::to_string)
        });
    from_sidecar.or_else(|| {
        files
            .iter()
            .rev()
            .filter(|p| p.to_string_lossy().ends_with(".json.gz"))
            .find_map(|p| {
                let mut text = Vec::new();
                trailscan_archive::inflate::inflate_gzip(&fs::read(p).ok()?, &mut text, 1 << 30)
                    .ok()?;
                let doc: serde_json::Value = serde_json::from_slice(&text).ok()?;
                let _ = root;
                doc.get("digestS3Bucket")?.as_str().map(str::to_string)
            })
    })
}

fn load_keys(path: Option<&PathBuf>) -> Result<PublicKeys> {
    let path = path.ok_or_else(|| {
        anyhow!("give --public-keys FILE, the saved output of `aws cloudtrail list-public-keys` for the window (a copy on disk has no CloudTrail API to ask)")
    })?;
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read public keys from {}", path.display()))?;
    PublicKeys::parse(&text).with_context(|| format!("{}", path.display()))
}

/// Runs a validation.
pub fn run(args: &ValidateLogsArgs) -> Result<ExitCode> {
    let Some(arn) = &args.trail_arn else {
        return Err(anyhow!(
            "give --trail-arn (validating every chain under a source without it comes next)"
        ));
    };
    if !is_trail_arn(arn) {
        return Err(aws(format!("Invalid trail ARN provided: {arn}")));
    }
    let start = parse_cli_date(args.start_time.as_deref().unwrap_or_default())?;
    let end = match &args.end_time {
        Some(t) => parse_cli_date(t)?,
        None => now(),
    };
    if start > end {
        return Err(aws(
            "Invalid time range specified: start-time must occur before end-time",
        ));
    }
    let keys = load_keys(args.public_keys.as_ref())?;
    let fields: Vec<&str> = arn.split(':').collect();
    let home_region = fields[3].to_string();
    let account = args
        .account_id
        .clone()
        .unwrap_or_else(|| fields[4].to_string());
    let name = arn.rsplit('/').next().unwrap_or_default().to_string();
    let source_region = args.region.clone().unwrap_or_else(|| home_region.clone());
    let root = fs::canonicalize(&args.source)
        .with_context(|| format!("cannot read source folder {}", args.source.display()))?;
    let located = locate_digests(&root, &account);
    let (prefix, org_id) = match (&args.s3_prefix, located) {
        (Some(p), found) => (
            Some(p.trim_end_matches('/').to_string()),
            found.and_then(|(_, org)| org),
        ),
        (None, Some(found)) => found,
        (None, None) => (None, None),
    };
    let bucket = match &args.s3_bucket {
        Some(b) => b.clone(),
        None => {
            let mut folder = root.clone();
            if let Some(p) = &prefix {
                folder.push(p);
            }
            folder.push("AWSLogs");
            if let Some(org) = &org_id {
                folder.push(org);
            }
            folder.push(&account);
            folder.push("CloudTrail-Digest");
            folder.push(&source_region);
            infer_bucket(&root, &folder).ok_or_else(|| {
                anyhow!(
                    "cannot tell which bucket {} is a copy of: give --s3-bucket",
                    root.display()
                )
            })?
        }
    };
    let trail = Trail {
        bucket: bucket.clone(),
        prefix,
        account,
        org_id,
        name,
        home_region,
        source_region,
    };
    let mut store = LocalStore::new(&root, &bucket);
    for copy in &args.bucket_copy {
        let (name, dir) = copy
            .split_once('=')
            .ok_or_else(|| anyhow!("--bucket-copy takes NAME=DIR, not {copy}"))?;
        let dir = fs::canonicalize(dir)
            .with_context(|| format!("cannot read --bucket-copy folder {dir}"))?;
        store.add_bucket(name, &dir);
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build()
        .context("cannot start worker threads")?;

    let stdout = io::stdout();
    let stderr = io::stderr();
    let (mut out, mut err) = (stdout.lock(), stderr.lock());
    let mut printer = Printer::new(&mut out, &mut err, args.verbose, start, end);
    printer.header(arn)?;
    let steps = Walker::new(&store, &trail, &keys, start, end)
        .walk()
        .map_err(|e| aws(e.to_string()))?;
    let reads = hash_all(&pool, &store, &unique_logs(&steps));
    for (backfill, step) in &steps {
        printer.step(*backfill, step, &mut |d, i| {
            let log = d.logs[i].as_ref()?;
            let read = reads.get(&(log.bucket.clone(), log.key.clone()))?;
            Some(verdict(read, &log.hash))
        })?;
    }
    printer.summary()?;
    let code = printer.counts.exit_code();

    out.flush()?;
    Ok(ExitCode::from(code))
}

/// Every log file inflated and hashed once, on all cores.
fn hash_all<S: Store>(
    pool: &rayon::ThreadPool,
    store: &S,
    logs: &[LogKey],
) -> HashMap<LogKey, LogRead> {
    pool.install(|| {
        logs.par_iter()
            .with_max_len(1)
            .map(|k| (k.clone(), hash_log(store, &k.0, &k.1)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_as_the_aws_cli_accepts_them() {
        assert!(is_trail_arn(
            "arn:aws:cloudtrail:us-east-1:123456789012:trail/foo"
        ));
        assert!(!is_trail_arn("foo:bar:baz"));
        assert!(!is_trail_arn(
            "arn:aws:cloudtrail:us-east-1:123456789012:foo"
        ));
        assert!(!is_trail_arn(
            "arn::cloudtrail:us-east-1:123456789012:trail/foo"
        ));
        assert!(!is_trail_arn(
            "arn:aws:cloudtrail:us-east-1:12345678901:trail/foo"
        ));
        assert!(is_trail_arn(
            "arn:aws-us-gov:cloudtrail:us-gov-west-1:123456789012:trail/a/b"
        ));
    }

    #[test]
    fn offsets_are_relabelled_not_converted() {
        assert_eq!(
            parse_cli_date("2024-01-15T03:00:00+02:00").unwrap(),
            parse_cli_date("2024-01-15T03:00:00Z").unwrap()
        );
        assert_eq!(parse_cli_date("20140810T000000Z").unwrap(), 1_407_628_800);
        assert_eq!(parse_cli_date("2015-01-01").unwrap(), 1_420_070_400);
        assert!(parse_cli_date("foo")
            .unwrap_err()
            .to_string()
            .contains("Unable to parse date value: foo"));
    }
}
