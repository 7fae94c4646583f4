//! Broken objects never abort or silently shorten a scan; bad arguments fail clearly.

mod common;

use std::fs;
use std::io::Write;
use std::path::Path;

use common::{event_ids, lookup, trailscan};
use flate2::write::GzEncoder;
use flate2::Compression;

const DAY: &str = "AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/15";

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn put(root: &Path, minute: u32, tag: &str, bytes: &[u8]) -> String {
    let name = format!("123456789012_CloudTrail_us-east-1_20240115T01{minute:02}Z_{tag}.json.gz");
    let dir = root.join(DAY);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(&name), bytes).unwrap();
    name
}

fn good_record(id: &str, minute: u32) -> String {
    format!(
        r#"{{"eventVersion":"1.09","userIdentity":{{"type":"IAMUser","userName":"alice","accessKeyId":"AKIAEXAMPLE"}},"eventTime":"2024-01-15T01:{minute:02}:00Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","awsRegion":"us-east-1","eventID":"{id}","readOnly":false,"eventCategory":"Management"}}"#
    )
}

#[test]
fn every_bad_file_is_named_once_and_the_rest_is_scanned() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    put(
        root,
        0,
        "good",
        &gz(format!(r#"{{"Records":[{}]}}"#, good_record("good-1", 0)).as_bytes()),
    );
    let many: Vec<String> = (0..50)
        .map(|i| good_record(&format!("lost-{i}"), 1))
        .collect();
    let mut truncated = gz(format!(r#"{{"Records":[{}]}}"#, many.join(",")).as_bytes());
    truncated.truncate(truncated.len() / 2);
    let mut appended = gz(format!(r#"{{"Records":[{}]}}"#, good_record("good-2", 2)).as_bytes());
    appended.extend(gz(format!(
        r#"{{"Records":[{}]}}"#,
        good_record("injected", 2)
    )
    .as_bytes()));
    let mut bad_utf8 = format!(
        r#"{{"Records":[{},{}]}}"#,
        good_record("good-3", 3),
        good_record("bad", 3)
    )
    .into_bytes();
    let at = bad_utf8.windows(5).rposition(|w| w == b"alice").unwrap();
    bad_utf8[at] = 0xff;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated", truncated, "corrupt or truncated gzip"),
        ("notgzip", br#"{"Records":[]}"#.to_vec(), "not a gzip file"),
        ("garbage", vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5], "corrupt or truncated gzip"),
        ("notjson", gz(b"hello, world"), "not a CloudTrail log file: not JSON"),
        ("norecords", gz(br#"{"records":[]}"#), "JSON without a \"Records\" list"),
        ("cut", gz(br#"{"Records":[{"eventID":"x","#), "JSON ends early"),
        ("empty", Vec::new(), "empty file"),
        ("notime", gz(br#"{"Records":[{"eventID":"t1"},{"eventID":"t2","@timestamp":"2024-01-15T01:00:00Z"}]}"#), "2 record(s) have no valid eventTime"),
        ("badutf8", gz(&bad_utf8), "1 record(s) are not valid JSON"),
        ("appended", appended, "unexpected data after end of compressed stream"),
    ];
    let mut names = Vec::new();
    for (i, (tag, bytes, _)) in cases.iter().enumerate() {
        names.push(put(root, 10 + i as u32, tag, bytes));
    }
    let (code, json, stderr) = lookup(root, &[]);
    assert_eq!(code, 1, "problems give exit 1; stderr:\n{stderr}");
    assert_eq!(
        event_ids(&json),
        ["good-3", "good-2", "good-1"],
        "the readable events, and not the appended one"
    );
    for ((_, _, reason), name) in cases.iter().zip(&names) {
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains(name.as_str()))
            .collect();
        assert_eq!(lines.len(), 1, "one line for {name}:\n{stderr}");
        assert!(
            lines[0].contains(reason),
            "{name}: expected '{reason}' in '{}'",
            lines[0]
        );
    }
    assert!(
        stderr.contains("11 log files listed: 4 read, 7 failed, 3 with problems"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));
    // A lookup whose value is in no file still names every file that is not a log file;
    // record-level problems are reported only where a record could have matched.
    let (code, json, stderr) = lookup(
        root,
        &[
            "--lookup-attributes",
            "AttributeKey=EventId,AttributeValue=nowhere",
        ],
    );
    assert_eq!((code, event_ids(&json).len()), (1, 0), "{stderr}");
    for ((tag, _, reason), name) in cases.iter().zip(&names) {
        let reported = stderr
            .lines()
            .any(|l| l.contains(name.as_str()) && l.contains(reason));
        let record_level = matches!(*tag, "notime" | "badutf8");
        assert_eq!(reported, !record_level, "{tag}:\n{stderr}");
    }
}

#[test]
fn a_clean_archive_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    put(
        dir.path(),
        0,
        "good",
        &gz(format!(r#"{{"Records":[{}]}}"#, good_record("g", 0)).as_bytes()),
    );
    let (code, json, _) = lookup(dir.path(), &[]);
    assert_eq!((code, event_ids(&json)), (0, vec!["g".to_string()]));
}

#[test]
fn gzip_bomb_is_capped_per_object() {
    let dir = tempfile::tempdir().unwrap();
    let big = format!(
        r#"{{"Records":[{}],"pad":"{}"}}"#,
        good_record("big", 0),
        " ".repeat(3 << 20)
    );
    let name = put(dir.path(), 0, "bomb", &gz(big.as_bytes()));
    put(
        dir.path(),
        1,
        "small",
        &gz(format!(r#"{{"Records":[{}]}}"#, good_record("small", 1)).as_bytes()),
    );
    let (code, json, stderr) = lookup(dir.path(), &["--max-inflated-size", "1M"]);
    assert_eq!(code, 1);
    assert_eq!(event_ids(&json), ["small"]);
    assert!(
        stderr
            .lines()
            .any(|l| l.contains(&name) && l.contains("inflates to more than 1048576 bytes")),
        "{stderr}"
    );
}

/// A record nested deeper than the parser goes is one unreadable record, named; the records
/// beside it are read. (No stack is exhausted: simd-json parses onto a tape with a depth
/// limit.)
#[test]
fn deeply_nested_record_is_skipped_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let depth = 100_000;
    let deep = good_record("deep", 0).replacen(
        r#""eventVersion""#,
        &format!(
            r#""requestParameters":{}{},"eventVersion""#,
            "[".repeat(depth),
            "]".repeat(depth)
        ),
        1,
    );
    let file = format!(r#"{{"Records":[{deep},{}]}}"#, good_record("beside", 0));
    let name = put(dir.path(), 0, "deep", &gz(file.as_bytes()));
    let (code, json, stderr) = lookup(dir.path(), &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(event_ids(&json), ["beside"]);
    assert!(
        stderr.lines().any(|l| l.contains(&name)
            && l.contains("1 record(s) are not valid JSON and were skipped (first: record 0: invalid JSON: DepthLimitExceeded")),
        "{stderr}"
    );
}

/// A record with a huge string is skipped unparsed over --max-record-size (4 MiB by default),
/// named with its size; raising the cap reads it whole.
#[test]
fn huge_record_is_capped_and_the_cap_can_be_raised() {
    let dir = tempfile::tempdir().unwrap();
    let huge = good_record("huge", 0).replacen(
        r#""eventVersion""#,
        &format!(r#""userAgent":"{}","eventVersion""#, "A".repeat(6 << 20)),
        1,
    );
    let file = format!(r#"{{"Records":[{},{huge}]}}"#, good_record("beside", 0));
    let name = put(dir.path(), 0, "huge", &gz(file.as_bytes()));
    let (code, json, stderr) = lookup(dir.path(), &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(event_ids(&json), ["beside"]);
    let expected = format!(
        "1 record(s) are larger than 4194304 bytes and were skipped unparsed (first: record 1, {} bytes; raise --max-record-size to read them)",
        huge.len()
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.contains(&name) && l.ends_with(&expected)),
        "{stderr}"
    );
    let (code, json, stderr) = lookup(dir.path(), &["--max-record-size", "8M"]);
    assert_eq!(code, 0, "{stderr}");
    let mut ids = event_ids(&json);
    ids.sort();
    assert_eq!(ids, ["beside", "huge"]);
    let huge_event = json["Events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["EventId"] == "huge")
        .unwrap();
    assert_eq!(
        huge_event["CloudTrailEvent"].as_str().unwrap().len(),
        huge.len()
    );
}

fn fails(args: &[&str], code: i32, message: &str) {
    let out = trailscan(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {stderr}");
    assert!(
        stderr.contains(message),
        "{args:?}: expected '{message}' in:\n{stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing on stdout for {args:?}");
}

#[test]
fn unusable_sources() {
    let empty = tempfile::tempdir().unwrap();
    fs::write(empty.path().join("notes.txt"), "x").unwrap();
    let p = empty.path().to_str().unwrap();
    fails(
        &["lookup-events", "--source", p],
        255,
        "no AWSLogs/ folder under",
    );
    fails(
        &["lookup-events", "--source", "/nonexistent/evidence"],
        255,
        "cannot read source folder /nonexistent/evidence",
    );
    let file = empty.path().join("notes.txt");
    fails(
        &["lookup-events", "--source", file.to_str().unwrap()],
        255,
        "is not a folder",
    );
    fails(&["lookup-events"], 2, "--source <DIR");
}

#[test]
fn unusable_arguments() {
    let src = common::sample_archive();
    let s = src.to_str().unwrap();
    let base = ["lookup-events", "--source", s];
    let with = |extra: &[&'static str]| -> Vec<&str> {
        base.iter().copied().chain(extra.iter().copied()).collect()
    };
    fails(
        &with(&["--lookup-attributes", "AttributeKey=User,AttributeValue=x"]),
        255,
        "unknown AttributeKey 'User'",
    );
    fails(
        &with(&["--start-time", "last tuesday"]),
        255,
        "Unable to parse timestamp 'last tuesday'",
    );
    fails(
        &with(&["--start-time", "2024-02-01", "--end-time", "2024-01-01"]),
        255,
        "InvalidTimeRange",
    );
    fails(
        &with(&["--max-results", "0"]),
        255,
        "Invalid value for parameter MaxResults, value: 0, valid min value: 1",
    );
    fails(&with(&["--next-token", "bogus"]), 255, "InvalidNextToken");
    fails(
        &with(&[
            "--event-category",
            "insight",
            "--lookup-attributes",
            "AttributeKey=Username,AttributeValue=x",
        ]),
        255,
        "InvalidLookupAttributes",
    );
    fails(
        &with(&["--event-category", "management"]),
        2,
        "invalid value 'management'",
    );
    // A token is bound to its request.
    let out = trailscan(&with(&["--max-results", "1", "-q"]));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let token = json["NextToken"].as_str().unwrap().to_string();
    let token: &'static str = Box::leak(token.into_boxed_str());
    fails(
        &with(&[
            "--max-results",
            "1",
            "--next-token",
            token,
            "--region",
            "us-east-1",
        ]),
        255,
        "belongs to a lookup with other",
    );
}

/// A typo never gives a quiet empty answer: what can be checked by its shape is refused with
/// the expected form (exit 2 for a flag's shape, 255 for a value the AWS CLI would refuse),
/// and an account or region the archive has no folder of is named, with those it has, even
/// under -q (exit 1).
#[test]
fn typos_are_named_not_answered_with_nothing() {
    let src = common::sample_archive();
    let s = src.to_str().unwrap();
    let lookup = |extra: &[&'static str]| -> Vec<&str> {
        ["lookup-events", "--source", s]
            .iter()
            .copied()
            .chain(extra.iter().copied())
            .collect()
    };
    fails(
        &lookup(&["--account-id", "12345678901"]),
        2,
        "--account-id 12345678901: an AWS account id is 12 digits",
    );
    // clap's errors in trailscan's style too.
    fails(
        &lookup(&["--delivery-margin", "5"]),
        2,
        "trailscan: error: invalid value '5' for '--delivery-margin <DURATION>': '5' needs a unit: 5s, 5m, 5h or 5d",
    );
    fails(
        &lookup(&["--max-items", "-1"]),
        255,
        "Invalid value for parameter MaxItems, value: -1, valid min value: 1",
    );
    fails(
        &lookup(&["--lookup-attributes", "EventName=ConsoleLogin"]),
        255,
        "unknown member 'EventName'; the shorthand is AttributeKey=EventName,AttributeValue=ConsoleLogin",
    );
    fails(
        &lookup(&[
            "--lookup-attributes",
            "AttributeKey=UserName,AttributeValue=x",
        ]),
        255,
        "unknown AttributeKey 'UserName' (did you mean 'Username'? keys are case-sensitive)",
    );
    fails(
        &lookup(&["--out", "json"]),
        2,
        "--out json is where a shard writes its results: it goes with --shard K/N; did you mean --output json?",
    );
    fails(
        &["trace", "--source", s, "--access-key", "not-a-key"],
        2,
        "--access-key not-a-key: an access key id is AKIA... (long-term) or ASIA... (temporary)",
    );
    fails(
        &["summary", "--source", s, "--access-key", "nope"],
        2,
        "--access-key nope: an access key id is",
    );
    fails(
        &["summary", "--source", s, "--principal", "benjamin"],
        2,
        "did you mean --username benjamin?",
    );
    // An ARN whose account is not one (before: `{"Summaries": []}`, exit 0).
    fails(
        &[
            "summary",
            "--source",
            s,
            "--principal",
            "arn:aws:iam::123:user/x",
        ],
        2,
        "--principal arn:aws:iam::123:user/x: the ARN's account (123) is not 12 digits",
    );
    // Well formed, but not in the archive: the answer is printed, the miss named, exit 1.
    for (flag, value, holds) in [
        (
            "--account-id",
            "999999999999",
            "it holds 123456789012, 210987654321, 345678901234",
        ),
        ("--region", "eu-north-1", "it holds eu-west-1, us-east-1"),
    ] {
        // Exit 1, the miss named with what the archive holds.
        let names_the_miss = |out: &std::process::Output, run: &dyn std::fmt::Debug| {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{run:?}: {stderr}");
            assert!(
                stderr.contains(&format!(
                    "{flag} {value}: the archive has no folder of this"
                )) && stderr.contains(holds),
                "{run:?}: {stderr}"
            );
        };
        names_the_miss(&trailscan(&lookup(&["-q", flag, value])), &"lookup-events");
        // The commands that copy, index and validate say it too (before: 0 objects, exit 0).
        let work = tempfile::tempdir().unwrap();
        let dir = |name: &str| work.path().join(name).to_str().unwrap().to_string();
        let (copy, index) = (dir("copy"), dir("index"));
        let keys = common::sample_public_keys();
        let keys = keys.to_str().unwrap();
        for command in [
            vec!["acquire", "--no-progress", s, &copy],
            vec!["index", "-q", "--source", s, "--index", &index],
            vec!["validate-logs", "-q", "--source", s, "--public-keys", keys],
        ] {
            let mut args = command.clone();
            // The account asked for, and one the archive holds: the chains found are
            // validated, the miss named.
            args.extend([
                flag,
                value,
                flag,
                ["123456789012", "eu-west-1"][usize::from(flag == "--region")],
            ]);
            names_the_miss(&trailscan(&args), &args);
        }
    }
    // validate-logs of the sample, signed with its keys, with `extra` flags.
    let keys = common::sample_public_keys();
    let validate = |extra: &[&str]| {
        let mut args = vec![
            "validate-logs",
            "--source",
            s,
            "--public-keys",
            keys.to_str().unwrap(),
        ];
        args.extend(extra);
        trailscan(&args)
    };
    // Every account asked for missing: validate-logs says so as the others do, exit 1.
    let none = validate(&["--account-id", "999999999999"]);
    let stderr = String::from_utf8_lossy(&none.stderr);
    assert_eq!(none.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("--account-id 999999999999: the archive has no folder of this account")
            && stderr.contains("no digest chain to validate under"),
        "{stderr}"
    );
    // A region's shape is checked where an account id's is (before: `eu-west1` read nothing).
    let rules = src.with_file_name("sigma-rules");
    for command in [
        vec!["lookup-events"],
        vec!["hunt", "--rules", rules.to_str().unwrap()],
        vec!["export", "--out", "unused"],
        vec!["validate-logs"],
    ] {
        let mut args = command.clone();
        args.extend(["--source", s, "--region", "eu-west1"]);
        let out = trailscan(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.contains("--region eu-west1: a region name is like us-east-1 or eu-west-1"),
            "{args:?}: {stderr}"
        );
    }
    // validate-logs takes --account-id more than once without --trail-arn (before: the last).
    let both = validate(&[
        "-q",
        "--account-id",
        "123456789012",
        "--account-id",
        "210987654321",
    ]);
    let one = validate(&["-q", "--account-id", "210987654321"]);
    let chains = |out: &std::process::Output| {
        String::from_utf8_lossy(&out.stdout)
            .matches("Validating log files for trail")
            .count()
    };
    assert!(
        chains(&both) > chains(&one) && chains(&one) > 0,
        "{} {}",
        chains(&both),
        chains(&one)
    );
    // Flags every command takes, or refuses in words.
    fails(
        &["index", "--source", s, "--index", "x", "--no-index"],
        2,
        "--no-index: index builds the index named by --index",
    );
    // Nor one of --index-check, which builds check nothing by (before: silently accepted).
    fails(
        &[
            "index",
            "--source",
            s,
            "--index",
            "x",
            "--index-check",
            "full",
        ],
        2,
        "--index-check full: the flag is for questions asked through an index",
    );
    // index --help lists no flag of the questions asked through an index.
    let help = String::from_utf8_lossy(&trailscan(&["index", "--help"]).stdout).into_owned();
    assert!(
        help.contains("--index <")
            && !help.contains("--no-index")
            && !help.contains("--index-check"),
        "{help}"
    );
    let merge = trailscan(&["merge", "--no-progress", "/nonexistent/run"]);
    assert!(
        !String::from_utf8_lossy(&merge.stderr).contains("unexpected argument"),
        "{}",
        String::from_utf8_lossy(&merge.stderr)
    );
}

#[test]
fn broken_pipe_is_quiet() {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_trailscan"))
        .args([
            "lookup-events",
            "--source",
            common::sample_archive().to_str().unwrap(),
            "--include-data-events",
            "-q",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn objects_that_are_not_log_files_are_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    put(
        root,
        0,
        "good",
        &gz(format!(r#"{{"Records":[{}]}}"#, good_record("g", 0)).as_bytes()),
    );
    let write = |key: &str, bytes: &[u8]| {
        let path = root.join(key);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    };
    // Garbage in every one of them: reading any as a log file would report a problem.
    let junk = b"not a log file";
    write("AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/01/15/123456789012_CloudTrail-Digest_us-east-1_t_us-east-1_20240115T010000Z.json.gz", junk);
    write("AWSLogs/123456789012/CloudTrail-Insight/us-east-1/2024/01/15/123456789012_CloudTrail-Insight_us-east-1_20240115T0100Z_x.json.gz", junk);
    write(
        "AWSLogs/123456789012/Config/us-east-1/2024/1/15/ConfigSnapshot/x.json.gz",
        junk,
    );
    write(
        &format!("{DAY}/123456789012_CloudTrail_us-east-1_20240115T0100Z_x.json"),
        junk,
    );
    write(
        &format!("{DAY}/999999999999_CloudTrail_us-east-1_20240115T0100Z_x.json.gz"),
        junk,
    );
    write("README.txt", junk);
    let (code, json, stderr) = lookup(root, &[]);
    assert_eq!(
        (code, event_ids(&json)),
        (0, vec!["g".to_string()]),
        "{stderr}"
    );
    let skipped = stderr
        .lines()
        .find(|l| l.trim_start().starts_with("skipped:"))
        .unwrap();
    assert_eq!(
        skipped.trim(),
        "skipped: 1 outside AWSLogs/, 2 unexpected file name; folders not listed: 1 digest, 1 Insights (use --event-category insight), 1 other AWS service"
    );
    assert!(
        stderr.contains("1 log files listed: 1 read, 0 failed"),
        "{stderr}"
    );
}
