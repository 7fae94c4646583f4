//! `trailscan validate-logs`.
//!
//! With `--trail-arn` (parity mode) the output is the AWS CLI's, byte for byte, for the same
//! archive and window. The walk is sequential (links decide what comes next) and cheap; the
//! log files, where the time goes, are hashed on all cores before printing, and printed in
//! the AWS CLI's order.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Context, Result};
use rayon::prelude::*;
use trailscan_archive::default_threads;
use trailscan_archive::key::ObjectKind;
use trailscan_archive::s3::S3Archive;
use trailscan_archive::time::format_utc;
use trailscan_archive::{Listing, LocalArchive, Selection};
use trailscan_cloudtrail_api::list_public_keys;
use trailscan_integrity::coverage::{unlisted_logs, Unlisted};
use trailscan_integrity::keys::PublicKeys;
use trailscan_integrity::logs::{hash_log, verdict, LogRead};
use trailscan_integrity::report::{Counts, Printer};
use trailscan_integrity::store::{LocalStore, Store, SIDECAR_SUFFIX};
use trailscan_integrity::walk::{
    unaccounted_hours, unique_logs, LogKey, Step, Trail, ValidDigest, Walker,
};
use trailscan_query::parse_time_arg;

use crate::exit_codes::AwsCliError;
use crate::flags::ValidateLogsArgs;
use crate::progress::{Meter, Progress};
use crate::settings::{parse_shard, required_run_id, resolve_run_id};
use crate::shard_results::{
    prepare_shard_dir, recorded_command, write_summary, Counts as ShardCounts, Output, Plan, Run,
    ShardSummary,
};

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

/// The prefixes of a bucket that hold an `AWSLogs/` folder (`None` for the bucket's top),
/// searched breadth first, four levels deep: a trail's key prefix is short.
fn awslogs_prefixes(archive: &S3Archive) -> Vec<Option<String>> {
    let mut found = Vec::new();
    let mut level = vec![String::new()];
    for _ in 0..4 {
        let mut next = Vec::new();
        for dir in &level {
            for folder in archive.list_folders(dir).unwrap_or_default() {
                if folder == "AWSLogs/" || folder.ends_with("/AWSLogs/") {
                    let prefix = folder.trim_end_matches("AWSLogs/").trim_end_matches('/');
                    found.push(Some(prefix.to_string()).filter(|p| !p.is_empty()));
                } else {
                    next.push(folder);
                }
            }
        }
        if !found.is_empty() {
            break;
        }
        level = next;
    }
    found.sort();
    found
}

/// The bucket a copy came from: a sidecar says it; else the newest digest names itself.
fn infer_bucket(digest_folder: &Path) -> Option<String> {
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
                doc.get("digestS3Bucket")?.as_str().map(str::to_string)
            })
    })
}

/// Where the public keys come from: a `--public-keys` file for every region, or CloudTrail's
/// ListPublicKeys asked per region (an S3 source without a file).
enum Keys {
    File(PublicKeys),
    PerRegion(HashMap<String, PublicKeys>),
}

impl Keys {
    /// The keys to verify `region`'s digests with.
    fn of(&self, region: &str) -> &PublicKeys {
        static NONE: std::sync::OnceLock<PublicKeys> = std::sync::OnceLock::new();
        match self {
            Keys::File(keys) => keys,
            Keys::PerRegion(by_region) => by_region
                .get(region)
                .unwrap_or_else(|| NONE.get_or_init(PublicKeys::default)),
        }
    }
}

/// The keys for `windows` (region -> the time range its digests are validated over): the
/// `--public-keys` file, else, from S3, ListPublicKeys for `[start, end + 2 h]` in each region
/// (the range the AWS CLI asks for), the regions asked at once.
fn load_keys(
    args: &ValidateLogsArgs,
    origin: &Origin,
    windows: &BTreeMap<String, (i64, i64)>,
) -> Result<Keys> {
    if let Some(path) = &args.public_keys {
        let text = fs::read_to_string(path)
            .with_context(|| format!("cannot read public keys from {}", path.display()))?;
        let keys = PublicKeys::parse(&text).with_context(|| format!("{}", path.display()))?;
        return Ok(Keys::File(keys));
    }
    let Origin::Bucket(archive) = origin else {
        return Err(anyhow!("give --public-keys FILE, the saved output of `aws cloudtrail list-public-keys` for the window (a copy on disk has no CloudTrail API to ask)"));
    };
    let asked = windows
        .iter()
        .map(|(region, &(start, end))| (region.clone(), (start, end.saturating_add(2 * 3600))))
        .collect();
    let by_region = list_public_keys(archive, &asked)
        .map_err(|e| aws(format!("{e} (or give --public-keys FILE)")))?;
    Ok(Keys::PerRegion(by_region))
}

/// One chain's printed output and result, held until the chains before it are printed.
struct ChainOutput {
    out: Vec<u8>,
    err: Vec<u8>,
    result: ChainResult,
}

/// What one chain's validation decided.
struct ChainResult {
    counts: Counts,
    record: serde_json::Value,
}

/// What checking one trail's chain found, before anything is printed.
struct Checked {
    steps: Vec<(bool, Step)>,
    reads: HashMap<LogKey, LogRead>,
    unlisted: Vec<Unlisted>,
}

/// Walks one trail's chain for the window and hashes the log files its digests list; the
/// progress display counts the digests and log files checked.
fn check_chain(
    store: &dyn Store,
    trail: &Trail,
    keys: &PublicKeys,
    (start, end): (i64, i64),
    pool: &rayon::ThreadPool,
    progress: &Progress,
) -> Result<Checked> {
    // In the pool: the walk fetches and verifies the listed digests in parallel first, and
    // from S3 that wants the pool's many workers, not rayon's one per core.
    let steps = pool
        .install(|| Walker::new(store, trail, keys, start, end).walk())
        .map_err(|e| aws(e.to_string()))?;
    progress.checked(steps.len() as u64);
    let reads = hash_all(pool, store, &unique_logs(&steps), progress);
    let excused = unaccounted_hours(&steps);
    let walked: Vec<&ValidDigest> = steps
        .iter()
        .filter_map(|(_, step)| match step {
            Step::Valid(d) => Some(d),
            _ => None,
        })
        .collect();
    let unlisted = unlisted_logs(store, trail, (start, end), now(), &excused, &walked)
        .map_err(|e| anyhow!(e))?;
    Ok(Checked {
        steps,
        reads,
        unlisted,
    })
}

/// Prints what [`check_chain`] found as the AWS CLI does, after the header `printer` has
/// printed (the AWS CLI prints it before the walk, so it stands even when the walk fails),
/// and says what it decided.
fn report_chain(
    mut printer: Printer<'_>,
    checked: &Checked,
    trail: &Trail,
    title: &str,
    (start, end): (i64, i64),
) -> Result<ChainResult> {
    for (backfill, step) in &checked.steps {
        printer.step(*backfill, step, &mut |d, i| {
            let log = d.logs[i].as_ref()?;
            let read = checked.reads.get(&(log.bucket.clone(), log.key.clone()))?;
            Some(verdict(read, &log.hash))
        })?;
    }
    for unlisted in &checked.unlisted {
        printer.unlisted(&unlisted.line())?;
    }
    printer.summary()?;
    let record = serde_json::json!({
        "trail": title,
        "bucket": trail.bucket,
        "prefix": trail.prefix,
        "account": trail.account,
        "region": trail.source_region,
        "window": {"from": format_utc(start), "to": format_utc(end)},
        "result": printer.record.to_json(&printer.counts),
    });
    Ok(ChainResult {
        counts: printer.counts.clone(),
        record,
    })
}

fn write_report(path: &Path, chains: Vec<serde_json::Value>) -> Result<()> {
    let doc = serde_json::json!({"tool": "trailscan validate-logs", "chains": chains});
    let text = serde_json::to_string_pretty(&doc)?;
    fs::write(path, text + "\n")
        .with_context(|| format!("cannot write the report to {}", path.display()))
}

/// Where the digests and log files are: a copy on disk, or the bucket itself.
enum Origin {
    /// A copy: the folder of the trail's bucket, and copies of other buckets it moved between.
    Copy {
        root: PathBuf,
        others: Vec<(String, PathBuf)>,
    },
    /// `s3://bucket[/prefix]`: digests carry their own metadata.
    Bucket(S3Archive),
}

impl Origin {
    fn open(args: &ValidateLogsArgs) -> Result<Origin> {
        if args.source.starts_with("s3://") {
            let options = args.s3.options(args.region.as_slice());
            return Ok(Origin::Bucket(S3Archive::open(&args.source, &options)?));
        }
        let root = fs::canonicalize(&args.source)
            .with_context(|| format!("cannot read source folder {}", args.source))?;
        let mut others = Vec::new();
        for copy in &args.bucket_copy {
            let (name, dir) = copy
                .split_once('=')
                .ok_or_else(|| anyhow!("--bucket-copy takes NAME=DIR, not {copy}"))?;
            let dir = fs::canonicalize(dir)
                .with_context(|| format!("cannot read --bucket-copy folder {dir}"))?;
            others.push((name.to_string(), dir));
        }
        Ok(Origin::Copy { root, others })
    }

    fn name(&self) -> String {
        match self {
            Origin::Copy { root, .. } => root.display().to_string(),
            Origin::Bucket(a) => a.url(),
        }
    }

    /// The trail's prefix and organization id for `account`: given, or found where the
    /// account's `CloudTrail-Digest` folder is.
    fn locate(
        &self,
        account: &str,
        given_prefix: Option<&str>,
    ) -> (Option<String>, Option<String>) {
        let given = given_prefix
            .map(|p| p.trim_end_matches('/').to_string())
            .filter(|p| !p.is_empty());
        match self {
            Origin::Copy { root, .. } => match (given, locate_digests(root, account)) {
                (Some(p), found) => (Some(p), found.and_then(|(_, org)| org)),
                (None, Some(found)) => found,
                (None, None) => (None, None),
            },
            Origin::Bucket(archive) => {
                let url_prefix = Some(archive.prefix().to_string()).filter(|p| !p.is_empty());
                let candidates = match given.or(url_prefix) {
                    Some(p) => vec![Some(p)],
                    None => awslogs_prefixes(archive),
                };
                // The first prefix whose AWSLogs/ holds the account, directly or in an organization.
                for prefix in candidates {
                    let awslogs = match &prefix {
                        Some(p) => format!("{p}/AWSLogs/"),
                        None => "AWSLogs/".to_string(),
                    };
                    let folders = archive.list_folders(&awslogs).unwrap_or_default();
                    let names: Vec<&str> = folders
                        .iter()
                        .filter_map(|f| f.strip_prefix(&awslogs)?.strip_suffix('/'))
                        .collect();
                    if names.contains(&account) {
                        return (prefix, None);
                    }
                    let org = names.iter().find(|name| {
                        trailscan_archive::key::is_org_id(name)
                            && archive
                                .list_folders(&format!("{awslogs}{name}/"))
                                .unwrap_or_default()
                                .iter()
                                .any(|f| f.ends_with(&format!("/{account}/")))
                    });
                    if let Some(org) = org {
                        return (prefix, Some(org.to_string()));
                    }
                }
                (None, None)
            }
        }
    }

    /// The bucket the digests were delivered to.
    fn bucket(&self, trail: &Trail, given: Option<&str>) -> Result<String> {
        match (self, given) {
            (Origin::Bucket(archive), _) => Ok(archive.bucket().to_string()),
            (Origin::Copy { .. }, Some(b)) => Ok(b.to_string()),
            (Origin::Copy { root, .. }, None) => infer_bucket(&root.join(digest_folder(trail)))
                .ok_or_else(|| {
                    anyhow!(
                        "cannot tell which bucket {} is a copy of: give --s3-bucket",
                        root.display()
                    )
                }),
        }
    }

    /// Runs `f` with the store for a trail delivering to `bucket`.
    fn with_store<R>(&self, bucket: &str, f: impl FnOnce(&dyn Store) -> R) -> R {
        match self {
            Origin::Bucket(archive) => f(archive),
            Origin::Copy { root, others } => {
                let mut store = LocalStore::new(root, bucket);
                for (name, dir) in others {
                    store.add_bucket(name, dir);
                }
                f(&store)
            }
        }
    }

    /// Every digest object under the origin.
    fn list_digests(&self, selection: &Selection) -> Result<Listing> {
        Ok(match self {
            Origin::Copy { root, .. } => LocalArchive::open(root)?.list(selection)?,
            Origin::Bucket(archive) => archive.list(selection)?,
        })
    }
}

/// Runs a validation.
pub fn run(args: &ValidateLogsArgs) -> Result<ExitCode> {
    let start = args.start_time.as_deref().map(parse_cli_date).transpose()?;
    let end = match &args.end_time {
        Some(t) => parse_cli_date(t)?,
        None => now(),
    };
    if start.is_some_and(|s| s > end) {
        return Err(aws(
            "Invalid time range specified: start-time must occur before end-time",
        ));
    }
    let origin = Origin::open(args)?;
    let threads = match args.threads {
        0 => default_threads(matches!(origin, Origin::Bucket(_))),
        n => n,
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start worker threads")?;
    match &args.trail_arn {
        // --start-time is required with --trail-arn (clap enforces it).
        Some(arn) => parity(args, arn, &origin, (start.unwrap_or_default(), end), &pool),
        None => every_chain(args, &origin, (start, end), &pool),
    }
}

/// `--trail-arn`: the AWS CLI's validation of one trail and region, byte for byte.
fn parity(
    args: &ValidateLogsArgs,
    arn: &str,
    origin: &Origin,
    (start, end): (i64, i64),
    pool: &rayon::ThreadPool,
) -> Result<ExitCode> {
    if !is_trail_arn(arn) {
        return Err(aws(format!("Invalid trail ARN provided: {arn}")));
    }
    let fields: Vec<&str> = arn.split(':').collect();
    let home_region = fields[3].to_string();
    let account = args
        .account_id
        .clone()
        .unwrap_or_else(|| fields[4].to_string());
    let name = arn.rsplit('/').next().unwrap_or_default().to_string();
    let source_region = args.region.clone().unwrap_or_else(|| home_region.clone());
    let (prefix, org_id) = origin.locate(&account, args.s3_prefix.as_deref());
    let mut trail = Trail {
        bucket: String::new(),
        prefix,
        account,
        org_id,
        name,
        home_region,
        source_region,
    };
    trail.bucket = origin.bucket(&trail, args.s3_bucket.as_deref())?;
    let windows = BTreeMap::from([(trail.source_region.clone(), (start, end))]);
    let keys = load_keys(args, origin, &windows)?;
    let keys = keys.of(&trail.source_region);
    // stderr is not locked while the bar draws on it from its own thread.
    let (mut out, mut err) = (io::stdout().lock(), io::stderr());
    let mut printer = Printer::new(&mut out, &mut err, args.verbose, start, end);
    printer.header(arn)?;
    let progress = Progress::on_stderr(args.no_progress, false);
    progress.start(Meter::Chains, 0, 1);
    let checked = origin.with_store(&trail.bucket, |store| {
        check_chain(store, &trail, keys, (start, end), pool, &progress)
    })?;
    progress.step_done();
    progress.finish();
    let result = report_chain(printer, &checked, &trail, arn, (start, end))?;
    out.flush()?;
    if let Some(path) = &args.report {
        write_report(path, vec![result.record])?;
    }
    Ok(ExitCode::from(result.counts.exit_code()))
}

/// `[prefix/]AWSLogs/[org/]ACCOUNT/CloudTrail-Digest/REGION`.
fn digest_folder(trail: &Trail) -> String {
    let mut parts: Vec<&str> = Vec::new();
    if let Some(p) = trail.prefix.as_deref().filter(|p| !p.is_empty()) {
        parts.push(p);
    }
    parts.push("AWSLogs");
    if let Some(o) = &trail.org_id {
        parts.push(o);
    }
    parts.extend([
        trail.account.as_str(),
        "CloudTrail-Digest",
        trail.source_region.as_str(),
    ]);
    parts.join("/")
}

/// The partition of a region, for the ARNs of discovered trails.
fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// Without `--trail-arn`: every chain (account x region x trail) under the source, in
/// parallel, each printed as the AWS CLI prints one, then the totals.
fn every_chain(
    args: &ValidateLogsArgs,
    origin: &Origin,
    (start, end): (Option<i64>, i64),
    pool: &rayon::ThreadPool,
) -> Result<ExitCode> {
    let selection = Selection {
        kind: ObjectKind::Digest,
        accounts: args.account_id.iter().cloned().collect(),
        regions: args.region.iter().cloned().collect(),
        ..Selection::default()
    };
    let progress = Progress::on_stderr(args.no_progress, false);
    progress.listing(&origin.name());
    let listing = origin.list_digests(&selection)?;
    // Chains (bucket not known yet), each with its oldest digest's date.
    let mut chains: BTreeMap<Trail, i64> = BTreeMap::new();
    for object in &listing.objects {
        let k = &object.layout;
        let Some(digest) = &k.digest else { continue };
        let trail = Trail {
            bucket: String::new(),
            prefix: Some(k.prefix.clone()).filter(|p| !p.is_empty()),
            account: k.account.clone(),
            org_id: k.org_id.clone(),
            name: digest.trail.clone(),
            home_region: digest.home_region.clone(),
            source_region: k.region.clone(),
        };
        let oldest = chains.entry(trail).or_insert(k.delivered_at);
        *oldest = (*oldest).min(k.delivered_at);
    }
    if chains.is_empty() {
        return Err(anyhow!("no CloudTrail-Digest files under {}: give the bucket the trail delivers to, or a copy of it", origin.name()));
    }
    // The whole chain unless a window is given: from before its oldest digest.
    let window_of = |oldest: i64| (start.unwrap_or(oldest - 2 * 3600), end);
    let all: Vec<(Trail, i64)> = chains.into_iter().collect();
    let shard = args.shard.as_deref().map(parse_shard).transpose()?;
    let names: Vec<String> = all.iter().map(|(t, _)| chain_name(t)).collect();
    let (plan, own) = match shard {
        Some(shard) => {
            let (plan, own) = Plan::deal(shard, &names);
            (Some(plan), own)
        }
        None => (None, (0..all.len()).collect()),
    };
    let mut windows: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for &i in &own {
        let (trail, oldest) = &all[i];
        let (from, to) = window_of(*oldest);
        let w = windows
            .entry(trail.source_region.clone())
            .or_insert((from, to));
        w.0 = w.0.min(from);
    }
    let keys = if own.is_empty() {
        Keys::PerRegion(HashMap::new())
    } else {
        load_keys(args, origin, &windows)?
    };
    progress.start(Meter::Chains, 0, own.len() as u64);
    let runs: Vec<Result<(usize, ChainOutput)>> = pool.install(|| {
        own.par_iter()
            .map(|&i| {
                let (trail, oldest) = &all[i];
                let mut trail = trail.clone();
                trail.bucket = origin.bucket(&trail, args.s3_bucket.as_deref())?;
                let window = window_of(*oldest);
                let (home, account, region, name) = (&trail.home_region, &trail.account, &trail.source_region, &trail.name);
                let title = format!("arn:{}:cloudtrail:{home}:{account}:trail/{name} (account {account}, region {region})", partition(home));
                let (mut out, mut err) = (Vec::new(), Vec::new());
                let mut printer = Printer::new(&mut out, &mut err, args.verbose, window.0, window.1);
                printer.header(&title)?;
                let checked = origin.with_store(&trail.bucket, |store| {
                    check_chain(store, &trail, keys.of(&trail.source_region), window, pool, &progress)
                })?;
                progress.step_done();
                let result = report_chain(printer, &checked, &trail, &title, window)?;
                Ok((i, ChainOutput { out, err, result }))
            })
            .collect()
    });
    progress.finish();
    let runs = runs.into_iter().collect::<Result<Vec<_>>>()?;
    match plan {
        Some(plan) => write_shard(args, origin, plan, runs),
        None => print_chains(
            runs.into_iter().map(|(_, run)| run),
            &origin.name(),
            args.report.as_deref(),
        ),
    }
}

/// A chain's name in a shard plan: everything that tells chains apart.
fn chain_name(t: &Trail) -> String {
    format!(
        "{} {} {} {} {} {}",
        t.prefix.as_deref().unwrap_or("-"),
        t.org_id.as_deref().unwrap_or("-"),
        t.account,
        t.source_region,
        t.home_region,
        t.name
    )
}

/// What a validate-logs shard keeps of one chain: its place among all chains and what the
/// unsharded run would print for it.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct ChainLine {
    /// Position among all chains of the run.
    pub index: usize,
    /// What it printed on stdout.
    pub stdout: String,
    /// What it printed on stderr.
    pub stderr: String,
    /// Its counts.
    pub counts: Counts,
    /// Its `--report` record.
    pub record: serde_json::Value,
}

/// The chains of a shard, one JSON object per line.
pub const CHAINS_FILE: &str = "chains.jsonl";

fn write_shard(
    args: &ValidateLogsArgs,
    origin: &Origin,
    plan: Plan,
    runs: Vec<(usize, ChainOutput)>,
) -> Result<ExitCode> {
    let run_id = resolve_run_id(args.run_id.as_deref())?;
    let run_id = required_run_id(run_id.as_deref())?;
    let Some(out) = &args.out else {
        unreachable!("clap requires --out with --shard");
    };
    let shard = plan.shard;
    let dir = prepare_shard_dir(out, run_id, shard)?;
    let path = dir.join(CHAINS_FILE);
    let mut text = Vec::new();
    for (index, run) in &runs {
        serde_json::to_writer(
            &mut text,
            &ChainLine {
                index: *index,
                stdout: String::from_utf8_lossy(&run.out).into_owned(),
                stderr: String::from_utf8_lossy(&run.err).into_owned(),
                counts: run.result.counts.clone(),
                record: run.result.record.clone(),
            },
        )?;
        text.push(b'\n');
    }
    fs::write(&path, &text).with_context(|| format!("cannot write {}", path.display()))?;
    let (bytes, sha256) = trailscan_export::file_sha256(&path)?;
    let counts = ShardCounts {
        results: runs.len() as u64,
        ..ShardCounts::default()
    };
    let mut summary = ShardSummary::new("validate-logs", &origin.name(), run_id, plan, counts);
    summary.outputs.push(Output {
        path: CHAINS_FILE.to_string(),
        rows: runs.len() as u64,
        bytes,
        sha256,
    });
    write_summary(&dir, &summary)?;
    eprintln!(
        "trailscan: shard {shard}: {} of {} digest chains validated ({} with INVALID files), written to {}",
        runs.len(),
        summary.units_total,
        runs.iter().filter(|(_, r)| r.result.counts.exit_code() != 0).count(),
        dir.display()
    );
    // The findings are the merge's to report: a batch engine takes a non-zero exit for a
    // failed job and would run it again.
    Ok(ExitCode::SUCCESS)
}

/// Merges the chains of a sharded run (`trailscan merge`) and prints them as one run would.
pub fn merge_shards(run: &Run) -> Result<ExitCode> {
    let first = &run.shards[0].1;
    let crate::flags::Command::ValidateLogs(args) = recorded_command(first)? else {
        return Err(anyhow!("the shards' recorded command is not validate-logs"));
    };
    let mut chains: BTreeMap<usize, ChainOutput> = BTreeMap::new();
    for (dir, _) in &run.shards {
        let path = dir.join(CHAINS_FILE);
        let text =
            fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        for line in text.lines() {
            let chain: ChainLine = serde_json::from_str(line)
                .with_context(|| format!("{}: not a trailscan chain line", path.display()))?;
            let index = chain.index;
            let output = ChainOutput {
                out: chain.stdout.into_bytes(),
                err: chain.stderr.into_bytes(),
                result: ChainResult {
                    counts: chain.counts,
                    record: chain.record,
                },
            };
            if chains.insert(index, output).is_some() {
                return Err(anyhow!(
                    "{}: chain {index} was validated by two shards",
                    path.display()
                ));
            }
        }
    }
    if let Some(missing) = (0..first.units_total).find(|i| !chains.contains_key(i)) {
        return Err(anyhow!(
            "chain {missing} of {} is in no shard's results: the run is incomplete",
            first.units_total
        ));
    }
    print_chains(chains.into_values(), &first.source, args.report.as_deref())
}

/// Prints each chain as the AWS CLI prints one, in order, then the totals; writes the report.
fn print_chains(
    runs: impl Iterator<Item = ChainOutput>,
    origin_name: &str,
    report: Option<&Path>,
) -> Result<ExitCode> {
    let stdout = io::stdout();
    let stderr = io::stderr();
    let (mut out, mut err) = (stdout.lock(), stderr.lock());
    let mut total = Counts::default();
    let mut records = Vec::new();
    let mut failed_chains = 0;
    for run in runs {
        let ChainOutput {
            out: o,
            err: e,
            result,
        } = run;
        out.write_all(&o)?;
        out.flush()?;
        err.write_all(&e)?;
        let c = &result.counts;
        failed_chains += u64::from(c.exit_code() != 0);
        total.add(c);
        records.push(result.record);
        writeln!(out)?;
    }
    let n = records.len();
    writeln!(
        out,
        "All {n} digest chains under {origin_name}: {failed_chains} with INVALID files"
    )?;
    let ratio = |valid: u64, invalid: u64, name: &str| -> String {
        let t = valid + invalid;
        if invalid > 0 {
            format!("{valid}/{t} {name} files valid, {invalid}/{t} {name} files INVALID")
        } else {
            format!("{valid}/{t} {name} files valid")
        }
    };
    writeln!(
        out,
        "{}",
        ratio(total.valid_digests, total.invalid_digests, "digest")
    )?;
    if total.valid_backfill + total.invalid_backfill > 0 {
        writeln!(
            out,
            "{}",
            ratio(
                total.valid_backfill,
                total.invalid_backfill,
                "backfill digest"
            )
        )?;
    }
    writeln!(
        out,
        "{}",
        ratio(total.valid_logs, total.invalid_logs, "log")
    )?;
    for (n, what) in [
        (total.broken_links, "links between digests INVALID"),
        (total.unlisted_logs, "log files not listed in any digest"),
        (
            total.unverified_digests,
            "digest files not verified (signature not available)",
        ),
    ] {
        if n > 0 {
            writeln!(out, "{n} {what}")?;
        }
    }
    out.flush()?;
    if let Some(path) = report {
        write_report(path, records)?;
    }
    Ok(ExitCode::from(total.exit_code()))
}

/// Every log file inflated and hashed once, on all cores.
fn hash_all<S: Store + ?Sized>(
    pool: &rayon::ThreadPool,
    store: &S,
    logs: &[LogKey],
    progress: &Progress,
) -> HashMap<LogKey, LogRead> {
    pool.install(|| {
        logs.par_iter()
            .with_max_len(1)
            .map(|k| {
                let read = hash_log(store, &k.0, &k.1);
                progress.checked(1);
                (k.clone(), read)
            })
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
