//! Helpers for the binary's integration tests: running `trailscan`, locating data, and an
//! independent oracle that answers lookups with flate2 and serde_json, written from the
//! reference (cloudtrail-spec.md section 4) rather than from the library's code.
#![allow(dead_code)]

pub mod differential;
pub mod fake_http;
pub mod hostile_s3;
pub mod s3;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use flate2::read::GzDecoder;
use serde_json::Value;

/// The committed sample archive.
pub fn sample_archive() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/sample-archive")
}

/// The public keys the sample archive's digests are signed with.
pub fn sample_public_keys() -> PathBuf {
    sample_archive().with_file_name("sample-archive-public-keys.json")
}

/// Every file under `dir` with its bytes, by relative path (hidden and staged files too).
pub fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    trailscan_fixtures::files_under(dir)
        .unwrap()
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            let mut bytes = fs::read(&p).unwrap();
            // An acquire manifest records each run into the copy (its times; a resumed copy
            // has one more): left out, the rest (every object's entry) must match.
            if rel.ends_with("trailscan-manifest.json") {
                let mut manifest: Value = serde_json::from_slice(&bytes).unwrap();
                if let Some(m) = manifest.as_object_mut() {
                    m.remove("runs");
                }
                bytes = serde_json::to_vec_pretty(&manifest).unwrap();
            }
            (rel, bytes)
        })
        .collect()
}

/// `../shared/samples/real` beside the repository, if present.
pub fn real_samples() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples/real");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!(
            "NOTICE: {} is absent; skipping the tests over real CloudTrail samples",
            p.display()
        );
        None
    }
}

/// Copies every file under `from` to the same place under `to`.
pub fn copy_tree(from: &Path, to: &Path) {
    for file in trailscan_fixtures::files_under(from).unwrap() {
        let target = to.join(file.strip_prefix(from).unwrap());
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::copy(&file, &target).unwrap();
    }
}

/// Runs `trailscan ARGS`.
pub fn trailscan(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trailscan"))
        .args(args)
        .env_remove("TRAILSCAN_SOURCE")
        .output()
        .expect("trailscan runs")
}

/// What `trailscan` printed and how it exited.
pub struct Run {
    /// The exit code (-1 for a signal).
    pub code: i32,
    /// stdout, as text.
    pub stdout: String,
    /// stderr, as text.
    pub stderr: String,
}

impl Run {
    /// Both streams: validate-logs prints INVALID lines on stderr, as the AWS CLI does, and
    /// its summary on stdout.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// `trailscan validate-logs --source SOURCE --public-keys KEYS EXTRA`.
pub fn validate_logs(source: &Path, keys: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["validate-logs", "--source", source.to_str().unwrap()];
    args.extend(["--public-keys", keys.to_str().unwrap()]);
    args.extend(extra);
    let out = trailscan(&args);
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// `trailscan ARGS > STDOUT` run by `script` on a pseudo-terminal 80 columns wide: returns
/// what the terminal received (stderr, since stdout goes to a file), the file's bytes, and
/// the exit code. `env` is added to the environment. `None` (with a notice) where `script` is not installed.
pub fn on_a_terminal(args: &[&str], env: &[(&str, &str)]) -> Option<(String, Vec<u8>, i32)> {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("NOTICE: util-linux `script` is not installed; skipping the terminal tests");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let stdout = dir.path().join("stdout");
    let typescript = dir.path().join("typescript");
    let quote = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
    let command = format!(
        "stty cols 80 rows 24; {} {} > {}",
        quote(env!("CARGO_BIN_EXE_trailscan")),
        args.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" "),
        quote(stdout.to_str().unwrap()),
    );
    let status = Command::new("script")
        .args(["--quiet", "--return", "--command", &command])
        .arg(&typescript)
        .env_remove("TRAILSCAN_SOURCE")
        .envs(env.iter().copied())
        .output()
        .expect("script runs");
    let terminal = String::from_utf8_lossy(&std::fs::read(&typescript).unwrap()).into_owned();
    Some((
        terminal,
        std::fs::read(&stdout).unwrap(),
        status.status.code().unwrap(),
    ))
}

/// Runs a lookup over `source` and returns (exit code, parsed stdout, stderr).
pub fn lookup(source: &Path, args: &[&str]) -> (i32, Value, String) {
    let mut full = vec!["lookup-events", "--source", source.to_str().unwrap()];
    full.extend_from_slice(args);
    let out = trailscan(&full);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}); stderr:\n{stderr}"));
    (out.status.code().unwrap_or(-1), json, stderr)
}

/// Event ids of a lookup answer, in order.
pub fn event_ids(answer: &Value) -> Vec<String> {
    answer["Events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["EventId"].as_str().unwrap_or("").to_string())
        .collect()
}

/// Every `.json.gz` under an `AWSLogs` and a `folder` (`CloudTrail` or `CloudTrail-Insight`).
fn log_files(root: &Path, folder: &str) -> Vec<PathBuf> {
    let in_folder = |p: &Path, name: &str| p.components().any(|c| c.as_os_str() == name);
    trailscan_fixtures::files_under(root)
        .unwrap()
        .into_iter()
        .filter(|p| {
            p.to_string_lossy().ends_with(".json.gz")
                && in_folder(p, folder)
                && in_folder(p, "AWSLogs")
        })
        .collect()
}

/// Each log file of `folder` that inflates and parses as JSON, with its document.
fn log_documents(root: &Path, folder: &str) -> impl Iterator<Item = (PathBuf, Value)> {
    log_files(root, folder).into_iter().filter_map(|file| {
        let mut text = Vec::new();
        GzDecoder::new(fs::File::open(&file).unwrap())
            .read_to_end(&mut text)
            .ok()?;
        let doc = serde_json::from_slice::<Value>(&text).ok()?;
        Some((file, doc))
    })
}

/// What the oracle is asked.
#[derive(Default, Clone)]
pub struct Query {
    pub attrs: Vec<(&'static str, String)>,
    pub start: Option<&'static str>,
    pub end: Option<&'static str>,
    pub insight: bool,
    pub data: bool,
}

fn s<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut cur = v;
    for p in path {
        cur = cur.get(*p)?;
    }
    cur.as_str()
}

fn username(r: &Value) -> Option<String> {
    let id = r.get("userIdentity")?;
    let t = s(id, &["type"]);
    let user_name = s(id, &["userName"])
        .filter(|x| !x.is_empty())
        .map(str::to_string);
    match t {
        Some("Root") => Some("root".into()),
        Some("AWSService") => None,
        Some("AssumedRole") | Some("FederatedUser") => s(id, &["arn"])
            .and_then(|a| a.rsplit_once('/').map(|(_, n)| n.to_string()))
            .or_else(|| {
                s(id, &["principalId"]).and_then(|p| p.split_once(':').map(|(_, n)| n.to_string()))
            })
            .filter(|x| !x.is_empty())
            .or(user_name),
        Some("IdentityCenterUser") => {
            user_name.or_else(|| s(id, &["onBehalfOf", "userId"]).map(str::to_string))
        }
        _ => user_name,
    }
}

fn category(r: &Value) -> &'static str {
    match s(r, &["eventCategory"]) {
        Some("Management") => return "Management",
        Some("Data") => return "Data",
        Some("Insight") => return "Insight",
        Some(_) => return "Other",
        None => {}
    }
    if let Some(m) = r.get("managementEvent").and_then(Value::as_bool) {
        return if m { "Management" } else { "Data" };
    }
    if s(r, &["eventType"]) == Some("AwsCloudTrailInsight") {
        return "Insight";
    }
    let (src, name) = (
        s(r, &["eventSource"]).unwrap_or(""),
        s(r, &["eventName"]).unwrap_or(""),
    );
    let s3_object = [
        "GetObject",
        "PutObject",
        "DeleteObject",
        "DeleteObjects",
        "HeadObject",
        "CopyObject",
    ];
    if src == "s3.amazonaws.com" && s3_object.contains(&name)
        || src == "lambda.amazonaws.com" && name.starts_with("Invoke")
    {
        "Data"
    } else {
        "Management"
    }
}

fn attr_matches(r: &Value, key: &str, value: &str) -> bool {
    let insight = |field: &str| s(r, &[field]).or_else(|| s(r, &["insightDetails", field]));
    match key {
        "EventId" => s(r, &["eventID"]) == Some(value),
        "EventName" => insight("eventName") == Some(value),
        "EventSource" => insight("eventSource") == Some(value),
        "ReadOnly" => match r.get("readOnly") {
            Some(Value::Bool(b)) => b.to_string() == value,
            Some(Value::String(x)) => (x == "true" || x == "false") && x == value,
            _ => false,
        },
        "Username" => username(r).as_deref() == Some(value),
        "AccessKeyId" => {
            s(r, &["userIdentity", "accessKeyId"]).filter(|k| !k.is_empty()) == Some(value)
        }
        "ResourceType" | "ResourceName" => {
            let field = if key == "ResourceType" { "type" } else { "ARN" };
            r.get("resources")
                .and_then(Value::as_array)
                .is_some_and(|rs| rs.iter().any(|x| s(x, &[field]) == Some(value)))
        }
        other => panic!("oracle: unknown key {other}"),
    }
}

/// The `lookup-events` flags that ask what `query` asks.
pub fn query_args(query: &Query) -> Vec<String> {
    let mut args = Vec::new();
    for (k, v) in &query.attrs {
        args.push("--lookup-attributes".to_string());
        args.push(format!("AttributeKey={k},AttributeValue={v}"));
    }
    if let Some(s) = query.start {
        args.extend(["--start-time".to_string(), s.to_string()]);
    }
    if let Some(e) = query.end {
        args.extend(["--end-time".to_string(), e.to_string()]);
    }
    if query.insight {
        args.extend(["--event-category".to_string(), "insight".to_string()]);
    }
    if query.data {
        args.push("--include-data-events".to_string());
    }
    args
}

/// A query of attributes only.
pub fn attrs(pairs: &[(&'static str, &str)]) -> Query {
    Query {
        attrs: pairs.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        ..Query::default()
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` (or with a space for the `T`, which RFC 3339 allows) to a sortable
/// string; other forms are not expected in these archives.
fn normalized_time(t: &str) -> Option<String> {
    let b = t.as_bytes();
    let ok = b.len() == 20 && t.ends_with('Z') && (b[10] == b'T' || b[10] == b' ');
    ok.then(|| t.replacen(' ', "T", 1))
}

/// Event ids the oracle expects: newest first; ties by event id; records without an id by
/// object key and position; one event per (time, id) when the id is present.
pub fn oracle(root: &Path, q: &Query) -> Vec<String> {
    let folder = if q.insight {
        "CloudTrail-Insight"
    } else {
        "CloudTrail"
    };
    let mut found: Vec<(String, String, PathBuf, usize)> = Vec::new();
    for (file, doc) in log_documents(root, folder) {
        let Some(records) = doc.get("Records").and_then(Value::as_array) else {
            continue;
        };
        for (index, r) in records.iter().enumerate() {
            let Some(time) = s(r, &["eventTime"]).and_then(normalized_time) else {
                continue;
            };
            let cat = category(r);
            let wanted = if q.insight {
                cat == "Insight"
            } else {
                cat == "Management" || q.data && cat != "Insight"
            };
            if !wanted
                || q.start.is_some_and(|st| time.as_str() < st)
                || q.end.is_some_and(|e| time.as_str() > e)
                || !q.attrs.iter().all(|(k, v)| attr_matches(r, k, v))
            {
                continue;
            }
            let id = s(r, &["eventID"]).unwrap_or("").to_string();
            found.push((time, id, file.clone(), index));
        }
    }
    found.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| a.1.cmp(&b.1))
            .then_with(|| (&a.2, a.3).cmp(&(&b.2, b.3)))
    });
    found.dedup_by(|later, earlier| {
        !later.1.is_empty() && (&later.0, &later.1) == (&earlier.0, &earlier.1)
    });
    found.into_iter().map(|(_, id, _, _)| id).collect()
}

/// Values of each lookup attribute in an archive's log files (`insight`: its Insights files),
/// derived as the oracle derives them: what differential tests look up.
pub fn attribute_values(
    root: &Path,
    insight: bool,
) -> std::collections::BTreeMap<&'static str, std::collections::BTreeSet<String>> {
    let folder = if insight {
        "CloudTrail-Insight"
    } else {
        "CloudTrail"
    };
    let mut values: std::collections::BTreeMap<_, std::collections::BTreeSet<String>> =
        Default::default();
    let mut add = |key: &'static str, v: Option<&str>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            values.entry(key).or_default().insert(v.to_string());
        }
    };
    for (_, doc) in log_documents(root, folder) {
        for r in doc
            .get("Records")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let insight = |field: &str| s(r, &[field]).or_else(|| s(r, &["insightDetails", field]));
            add("EventId", s(r, &["eventID"]));
            add("EventName", insight("eventName"));
            add("EventSource", insight("eventSource"));
            add("Username", username(r).as_deref());
            add("AccessKeyId", s(r, &["userIdentity", "accessKeyId"]));
            match r.get("readOnly") {
                Some(Value::Bool(b)) => add("ReadOnly", Some(&b.to_string())),
                Some(Value::String(x)) => add("ReadOnly", Some(x)),
                _ => {}
            }
            for res in r
                .get("resources")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                add("ResourceType", s(res, &["type"]));
                add("ResourceName", s(res, &["ARN"]));
            }
        }
    }
    values
}

/// Writes `records` as one gzip log file of `account` and `region` delivered at
/// `YYYYMMDDTHHMMZ` (`stamp`), where CloudTrail puts it under `root`; `tag` tells files of one
/// stamp apart. Returns the file.
pub fn write_log_file(
    root: &Path,
    account: &str,
    region: &str,
    stamp: &str,
    tag: &str,
    records: &[Value],
) -> PathBuf {
    use std::io::Write;
    let (y, m, d) = (&stamp[0..4], &stamp[4..6], &stamp[6..8]);
    let folder = root.join(format!("AWSLogs/{account}/CloudTrail/{region}/{y}/{m}/{d}"));
    fs::create_dir_all(&folder).unwrap();
    let file = folder.join(format!(
        "{account}_CloudTrail_{region}_{stamp}_{tag}.json.gz"
    ));
    let body = serde_json::to_vec(&serde_json::json!({ "Records": records })).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&body).unwrap();
    fs::write(&file, gz.finish().unwrap()).unwrap();
    file
}
