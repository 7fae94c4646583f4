//! `trailscan hunt`: Sigma rules written here, one per modifier, condition form and semantic
//! choice, over records written to hit and miss each; correlations over the same events read
//! in different file orders; duplicates; the index; hostile rule files; the S3 server.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use common::{trailscan, write_log_file};

/// One rule and the records it must and must not match.
struct Case {
    name: &'static str,
    /// The rule's named detections (YAML, indented by four), beside `case_only`.
    detections: &'static str,
    /// Its condition, and-ed with `case_only` (the case's own records).
    condition: &'static str,
    hits: Vec<Value>,
    misses: Vec<Value>,
}

fn case(
    name: &'static str,
    detections: &'static str,
    condition: &'static str,
    hits: Vec<Value>,
    misses: Vec<Value>,
) -> Case {
    Case {
        name,
        detections,
        condition,
        hits,
        misses,
    }
}

/// Every modifier of Sigma 2.1 that CloudTrail can use, every condition form, and each choice
/// the README lists (null, booleans, numbers, objects, arrays, case).
fn cases() -> Vec<Case> {
    vec![
        case("equal_ignores_case", "    t:\n        userAgent: 'AWS-CLI/2.0'\n", "t",
            vec![json!({"userAgent": "aws-cli/2.0"})], vec![json!({"userAgent": "aws-cli/2.01"})]),
        case("contains", "    t:\n        userAgent|contains: boto\n", "t",
            vec![json!({"userAgent": "Boto3/1.2"})], vec![json!({"userAgent": "aws-cli"})]),
        case("startswith", "    t:\n        userAgent|startswith: 'console.'\n", "t",
            vec![json!({"userAgent": "Console.amazonaws.com"})], vec![json!({"userAgent": "aws.console"})]),
        case("endswith", "    t:\n        userAgent|endswith: '.com'\n", "t",
            vec![json!({"userAgent": "x.COM"})], vec![json!({"userAgent": "x.comm"})]),
        case("contains_all", "    t:\n        userAgent|contains|all:\n            - aws-cli\n            - exec-env\n", "t",
            vec![json!({"userAgent": "aws-cli/2 exec-env/x"})], vec![json!({"userAgent": "aws-cli/2"})]),
        case("cased", "    t:\n        userAgent|cased: Boto3\n", "t",
            vec![json!({"userAgent": "Boto3"})], vec![json!({"userAgent": "boto3"})]),
        case("re", "    t:\n        userAgent|re: '^Boto3/1\\.[0-9]+$'\n", "t",
            vec![json!({"userAgent": "Boto3/1.34"})], vec![json!({"userAgent": "boto3/1.34"})]),
        case("re_i", "    t:\n        userAgent|re|i: '^boto3/1\\.[0-9]+$'\n", "t",
            vec![json!({"userAgent": "BOTO3/1.2"})], vec![json!({"userAgent": "Boto3/x"})]),
        case("cidr", "    t:\n        sourceIPAddress|cidr: '10.0.0.0/8'\n", "t",
            vec![json!({"sourceIPAddress": "10.20.30.40"})], vec![json!({"sourceIPAddress": "11.0.0.1"})]),
        case("base64", "    t:\n        requestParameters.data|base64: secret\n", "t",
            vec![json!({"requestParameters": {"data": "c2VjcmV0"}})], vec![json!({"requestParameters": {"data": "c2VjcmV1"}})]),
        case("base64offset", "    t:\n        requestParameters.data|base64offset|contains: secret\n", "t",
            vec![json!({"requestParameters": {"data": "eHNlY3JldHl5"}})], vec![json!({"requestParameters": {"data": "eHNlY3JfdHl5"}})]),
        case("windash", "    t:\n        requestParameters.command|windash|contains: ' -encodedcommand '\n", "t",
            vec![json!({"requestParameters": {"command": "powershell /encodedcommand AAA"}})],
            vec![json!({"requestParameters": {"command": "powershell -enc AAA"}})]),
        case("exists_true", "    t:\n        errorCode|exists: true\n", "t",
            vec![json!({"errorCode": "AccessDenied"})], vec![json!({})]),
        case("exists_false", "    t:\n        errorCode|exists: false\n", "t",
            vec![json!({})], vec![json!({"errorCode": "AccessDenied"})]),
        case("fieldref", "    t:\n        requestParameters.userName|fieldref: userIdentity.userName\n", "t",
            vec![json!({"userIdentity": {"type": "IAMUser", "userName": "bob"}, "requestParameters": {"userName": "bob"}})],
            vec![json!({"userIdentity": {"type": "IAMUser", "userName": "bob"}, "requestParameters": {"userName": "alice"}})]),
        case("gt", "    t:\n        requestParameters.maxResults|gt: 100\n", "t",
            vec![json!({"requestParameters": {"maxResults": 500}})], vec![json!({"requestParameters": {"maxResults": 50}})]),
        case("lte", "    t:\n        requestParameters.maxResults|lte: 10\n", "t",
            vec![json!({"requestParameters": {"maxResults": 10}})], vec![json!({"requestParameters": {"maxResults": 11}})]),
        case("null_is_null_or_absent", "    t:\n        errorCode: null\n", "t",
            vec![json!({}), json!({"errorCode": null})], vec![json!({"errorCode": "Throttling"})]),
        case("true_matches_a_boolean", "    t:\n        readOnly: 'true'\n", "t",
            vec![json!({"readOnly": true})], vec![json!({"readOnly": false})]),
        case("number_matches_its_text", "    t:\n        requestParameters.port: '443'\n", "t",
            vec![json!({"requestParameters": {"port": 443}})], vec![json!({"requestParameters": {"port": 4430}})]),
        case("contains_on_an_object", "    t:\n        requestParameters|contains: Suspended\n", "t",
            vec![json!({"requestParameters": {"status": "Suspended"}})], vec![json!({"requestParameters": {"status": "Enabled"}})]),
        case("quotes_inside_a_json_string", "    t:\n        requestParameters.policyDocument|contains: '\"s3:GetObject\"'\n", "t",
            vec![json!({"requestParameters": {"policyDocument": "{\"Action\":\"s3:GetObject\"}"}})],
            vec![json!({"requestParameters": {"policyDocument": "{\"Action\":\"s3:GetObjectAcl\"}"}})]),
        case("any_array_element", "    t:\n        requestParameters.layers|contains: evil\n", "t",
            vec![json!({"requestParameters": {"layers": ["ok", "evil-layer"]}})], vec![json!({"requestParameters": {"layers": ["ok"]}})]),
        case("path_through_an_array", "    t:\n        resources.ARN|endswith: ':key/1'\n", "t",
            vec![json!({"resources": [{"ARN": "arn:x"}, {"ARN": "arn:aws:kms:us-east-1:1:key/1"}]})],
            vec![json!({"resources": [{"ARN": "arn:aws:kms:us-east-1:1:key/2"}]})]),
        case("nested_fields", "    t:\n        userIdentity.sessionContext.sessionIssuer.type: Role\n", "t",
            vec![json!({"userIdentity": {"type": "AssumedRole", "sessionContext": {"sessionIssuer": {"type": "Role"}}}})],
            vec![json!({"userIdentity": {"type": "AssumedRole", "sessionContext": {"sessionIssuer": {"type": "User"}}}})]),
        case("value_list", "    t:\n        userAgent:\n            - alpha\n            - beta\n", "t",
            vec![json!({"userAgent": "beta"})], vec![json!({"userAgent": "gamma"})]),
        case("list_of_maps", "    t:\n        - userAgent: alpha\n        - sourceIPAddress: 1.2.3.4\n", "t",
            vec![json!({"userAgent": "alpha"}), json!({"sourceIPAddress": "1.2.3.4"})], vec![json!({"userAgent": "gamma"})]),
        case("wildcard", "    t:\n        userAgent: 'aws-cli/*'\n", "t",
            vec![json!({"userAgent": "aws-cli/2.1"})], vec![json!({"userAgent": "aws-sdk"})]),
        case("keywords", "    keywords:\n        - '*EvilString*'\n", "keywords",
            vec![json!({"requestParameters": {"note": "has EvilString in it"}})], vec![json!({"requestParameters": {"note": "clean"}})]),
        case("one_of_pattern", "    sel_a:\n        userAgent: a1\n    sel_b:\n        userAgent: b1\n", "1 of sel_*",
            vec![json!({"userAgent": "a1"}), json!({"userAgent": "b1"})], vec![json!({"userAgent": "c1"})]),
        case("all_of_pattern", "    sel_a:\n        userAgent|contains: x\n    sel_b:\n        userAgent|contains: y\n", "all of sel_*",
            vec![json!({"userAgent": "xy"})], vec![json!({"userAgent": "x"})]),
        case("all_of_them", "    a:\n        userAgent|contains: x\n", "all of them",
            vec![json!({"userAgent": "x"})], vec![json!({"userAgent": "z"})]),
        case("not_and_parentheses", "    a:\n        userAgent: p\n    b:\n        sourceIPAddress: 1.1.1.1\n    c:\n        userAgent: q\n", "(a or c) and not b",
            vec![json!({"userAgent": "p", "sourceIPAddress": "2.2.2.2"}), json!({"userAgent": "q"})],
            vec![json!({"userAgent": "p", "sourceIPAddress": "1.1.1.1"}), json!({"userAgent": "r"})]),
    ]
}

/// The `n`th case's rule id (a UUID, as pySigma requires).
fn case_id(n: usize) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

fn rule_yaml(n: usize, case: &Case) -> String {
    format!(
        "title: case {name}\nid: {id}\nauthor: trailscan tests\nlevel: medium\nlogsource:\n    product: aws\n    service: cloudtrail\ndetection:\n    case_only:\n        eventName: Case_{name}\n{detections}    condition: case_only and ({condition})\n",
        name = case.name,
        id = case_id(n),
        detections = case.detections,
        condition = case.condition
    )
}

/// A CloudTrail record of `name`, `id`, at second `at` of 2024-03-01, with `fields` on top.
fn record(name: &str, id: &str, at: u32, fields: &Value) -> Value {
    let mut r = json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/tester", "accountId": "111122223333"},
        "eventTime": format!("2024-03-01T10:{:02}:{:02}Z", at / 60 % 60, at % 60),
        "eventSource": "test.amazonaws.com",
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "192.0.2.1",
        "eventID": id,
        "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333",
    });
    for (k, v) in fields.as_object().unwrap() {
        r[k] = v.clone();
    }
    r
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs `trailscan hunt ARGS --output jsonl` and returns (exit code, lines, stderr).
fn hunt(args: &[&str]) -> (i32, Vec<Value>, String) {
    let mut all = vec!["hunt", "--output", "jsonl"];
    all.extend(args);
    let out = trailscan(&all);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let lines = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    (
        out.status.code().unwrap_or(-1),
        lines,
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The (RuleId, EventId) pairs of the detection lines.
fn pairs(lines: &[Value]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = lines
        .iter()
        .filter(|l| l["Type"] == "detection")
        .map(|l| {
            (
                l["RuleId"].as_str().unwrap_or_default().to_string(),
                l["EventId"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    pairs.sort();
    pairs
}

/// The cases' rules in `rules/` and their records in one log file per case under `archive/`.
fn write_cases(dir: &Path) -> (PathBuf, PathBuf, Vec<(String, String)>) {
    let rules = dir.join("rules");
    let archive = dir.join("archive");
    fs::create_dir_all(&rules).unwrap();
    let mut expected = Vec::new();
    for (n, case) in cases().iter().enumerate() {
        fs::write(rules.join(format!("{}.yml", case.name)), rule_yaml(n, case)).unwrap();
        let name = format!("Case_{}", case.name);
        let mut records = Vec::new();
        for (i, fields) in case.hits.iter().enumerate() {
            let id = format!("{}-hit-{i}", case.name);
            records.push(record(&name, &id, n as u32 * 10 + i as u32, fields));
            expected.push((case_id(n), id));
        }
        for (i, fields) in case.misses.iter().enumerate() {
            let id = format!("{}-miss-{i}", case.name);
            records.push(record(&name, &id, n as u32 * 10 + 5 + i as u32, fields));
        }
        let stamp = format!("20240301T10{:02}Z", n % 60);
        write_log_file(
            &archive,
            "111122223333",
            "us-east-1",
            &stamp,
            &format!("case{n:02}"),
            &records,
        );
    }
    expected.sort();
    (rules, archive, expected)
}

#[test]
fn every_modifier_and_condition_form_hits_and_misses() {
    let dir = tempfile::tempdir().unwrap();
    let (rules, archive, expected) = write_cases(dir.path());
    let (code, lines, stderr) = hunt(&["--rules", s(&rules), "--source", s(&archive)]);
    assert_eq!(code, 0, "{stderr}");
    let found = pairs(&lines);
    for (n, case) in cases().iter().enumerate() {
        let id = case_id(n);
        let want: Vec<_> = expected.iter().filter(|(r, _)| *r == id).collect();
        let got: Vec<_> = found.iter().filter(|(r, _)| *r == id).collect();
        assert_eq!(got, want, "rule {} ({id})\n{stderr}", case.name);
    }
    assert_eq!(found, expected);
    assert!(
        stderr.contains(&format!(
            "{} rule(s) and 0 correlation(s) loaded",
            cases().len()
        )),
        "{stderr}"
    );
    // Each line keeps the rule's author (the Detection Rule License) and where the record is.
    let first = &lines[0];
    assert_eq!(first["RuleAuthor"], "trailscan tests");
    assert!(first["ObjectKey"].as_str().unwrap().ends_with(".json.gz"));
    assert!(first["RecordIndex"].is_u64());
    // Time order.
    let times: Vec<&str> = lines
        .iter()
        .map(|l| l["EventTime"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
}

const CORRELATIONS: &str = "title: Failed Console Login
id: failed-login
name: failed_login
author: trailscan tests
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventName: ConsoleLogin
        errorMessage: Failed authentication
    condition: selection
level: low
---
title: Successful Console Login
id: good-login
name: good_login
author: trailscan tests
logsource:
    product: aws
    service: cloudtrail
detection:
    selection:
        eventName: ConsoleLogin
        responseElements.ConsoleLogin: Success
    condition: selection
level: low
---
title: Brute Force
id: brute-force
author: trailscan tests
correlation:
    type: event_count
    rules:
        - failed_login
    group-by:
        - sourceIPAddress
    timespan: 10m
    condition:
        gte: 3
level: high
---
title: Many Users From One Address
id: spray
author: trailscan tests
correlation:
    type: value_count
    rules:
        - failed_login
    group-by:
        - sourceIPAddress
    timespan: 10m
    condition:
        field: userIdentity.userName
        gte: 2
level: high
---
title: Failures Then Success
id: then-success
author: trailscan tests
correlation:
    type: temporal_ordered
    rules:
        - failed_login
        - good_login
    group-by:
        - userIdentity.userName
    timespan: 10m
level: critical
---
title: Failure And Success Together
id: together
author: trailscan tests
correlation:
    type: temporal
    rules:
        - good_login
        - failed_login
    group-by:
        - sourceIPAddress
    timespan: 5m
level: medium
";

/// Console logins: a burst of failures from one address against two users, then a success.
fn logins() -> Vec<Value> {
    let login = |id: &str, at: u32, user: &str, ip: &str, ok: bool| {
        let mut fields = json!({
            "userIdentity": {"type": "IAMUser", "userName": user, "arn": format!("arn:aws:iam::111122223333:user/{user}")},
            "sourceIPAddress": ip,
            "eventSource": "signin.amazonaws.com",
            "responseElements": {"ConsoleLogin": if ok { "Success" } else { "Failure" }},
        });
        if !ok {
            fields["errorMessage"] = json!("Failed authentication");
        }
        record("ConsoleLogin", id, at, &fields)
    };
    vec![
        login("l1", 0, "bob", "203.0.113.9", false),
        login("l2", 60, "bob", "203.0.113.9", false),
        login("l3", 120, "alice", "203.0.113.9", false),
        login("l4", 180, "bob", "203.0.113.9", true),
        login("l5", 240, "carol", "198.51.100.7", false),
        login("l6", 1500, "carol", "198.51.100.7", true),
    ]
}

/// The correlation lines of a hunt with `rules` over `archive`.
fn correlation_lines(rules: &Path, archive: &Path, threads: &str) -> Vec<Value> {
    let (code, lines, stderr) = hunt(&[
        "--rules",
        s(rules),
        "--source",
        s(archive),
        "--threads",
        threads,
    ]);
    assert_eq!(code, 0, "{stderr}");
    lines
        .into_iter()
        .filter(|l| l["Type"] == "correlation")
        .collect()
}

#[test]
fn correlations_are_the_same_however_the_files_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("correlations.yml");
    fs::write(&rules, CORRELATIONS).unwrap();
    let records = logins();
    // One archive with a file per event in time order; one with the events dealt into files
    // in another order (the newest first), so that no reading order follows time.
    let in_order = dir.path().join("in-order");
    for (i, r) in records.iter().enumerate() {
        write_log_file(
            &in_order,
            "111122223333",
            "us-east-1",
            &format!("20240301T10{:02}Z", i),
            "a",
            std::slice::from_ref(r),
        );
    }
    let shuffled = dir.path().join("shuffled");
    let dealt = [[5usize, 0], [3, 1], [4, 2]];
    for (i, pick) in dealt.iter().enumerate() {
        let files: Vec<Value> = pick.iter().map(|&k| records[k].clone()).collect();
        let region = ["eu-west-1", "us-east-1", "ap-south-1"][i];
        write_log_file(
            &shuffled,
            "111122223333",
            region,
            "20240301T1000Z",
            "b",
            &files,
        );
    }
    let want = correlation_lines(&rules, &in_order, "1");
    for (archive, threads) in [(&in_order, "2"), (&shuffled, "1"), (&shuffled, "2")] {
        assert_eq!(
            correlation_lines(&rules, archive, threads),
            want,
            "{}",
            archive.display()
        );
    }
    let fired: Vec<(&str, Vec<&str>)> = want
        .iter()
        .map(|l| {
            let ids = l["EventIds"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            (l["RuleId"].as_str().unwrap(), ids)
        })
        .collect();
    // Three failures from one address within 10 minutes (the third), two users from it, bob's
    // failures then his success, and a success and a failure from one address within 5
    // minutes; carol's success comes 21 minutes after her failure: nothing.
    assert!(
        fired.contains(&("brute-force", vec!["l1", "l2", "l3"])),
        "{fired:?}"
    );
    assert!(fired.iter().any(|(id, _)| *id == "spray"), "{fired:?}");
    assert!(
        fired.iter().any(|(id, _)| *id == "then-success"),
        "{fired:?}"
    );
    assert!(fired.iter().any(|(id, _)| *id == "together"), "{fired:?}");
    let brute = want.iter().find(|l| l["RuleId"] == "brute-force").unwrap();
    assert_eq!(brute["GroupBy"], json!({"sourceIPAddress": "203.0.113.9"}));
    assert_eq!(brute["Count"], 3);
    assert_eq!(brute["EventTime"], "2024-03-01T10:02:00Z");
    assert_eq!(brute["WindowStart"], "2024-03-01T10:00:00Z");
    assert!(
        want.iter().all(|l| l["EventIds"]
            .as_array()
            .unwrap()
            .iter()
            .all(|id| id != "l6")),
        "{want:#?}"
    );
    // Base rules of correlations are not printed on their own (Sigma's `generate: false`).
    let (_, lines, stderr) = hunt(&["--rules", s(&rules), "--source", s(&in_order)]);
    assert!(
        lines.iter().all(|l| l["Type"] == "correlation"),
        "{lines:?}"
    );
    assert!(
        stderr.contains("Failed Console Login (base of a correlation: not printed)"),
        "{stderr}"
    );
}

#[test]
fn a_duplicate_delivery_is_one_detection() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let event = record(
        "StopLogging",
        "dup-1",
        0,
        &json!({"eventSource": "cloudtrail.amazonaws.com"}),
    );
    write_log_file(
        &archive,
        "111122223333",
        "us-east-1",
        "20240301T1005Z",
        "first",
        std::slice::from_ref(&event),
    );
    write_log_file(
        &archive,
        "111122223333",
        "us-east-1",
        "20240301T1010Z",
        "again",
        std::slice::from_ref(&event),
    );
    let rules = dir.path().join("stop.yml");
    fs::write(&rules, "title: Stop\nid: stop\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  s:\n    eventName: StopLogging\n  condition: s\nlevel: high\n").unwrap();
    let (code, lines, stderr) = hunt(&["--rules", s(&rules), "--source", s(&archive)]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(lines.len(), 1, "{lines:?}");
    // The copy from the first log file (by key).
    assert!(lines[0]["ObjectKey"]
        .as_str()
        .unwrap()
        .contains("_20240301T1005Z_first"));
    assert!(
        stderr.contains("1 detection(s) of duplicate deliveries left out"),
        "{stderr}"
    );
}

/// The committed rules of the README's examples.
fn fixture_rules() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/sigma-rules")
}

/// Fixture rules that name rarer event names (AttachUserPolicy, CreateAccessKey).
const NAMED_RULES: [&str; 2] = [
    "6a1c2f04-7d0e-4c55-9b0e-3f2d9e1a0c02",
    "6a1c2f04-7d0e-4c55-9b0e-3f2d9e1a0c05",
];

#[test]
fn the_index_gives_the_same_hunt_reading_fewer_files() {
    let dir = tempfile::tempdir().unwrap();
    let archive = common::differential::generated_archive(dir.path(), 6);
    common::copy_tree(&common::sample_archive(), &archive);
    let index = dir.path().join("index");
    common::differential::build_index(&archive, &index);
    let rules = fixture_rules();
    let mut named = vec!["--rules", s(&rules), "--source", s(&archive)];
    for id in NAMED_RULES {
        named.extend(["--rule-id", id]);
    }
    let (code, scanned, _) = hunt(&named);
    assert_eq!(code, 0);
    assert!(scanned.len() > 20, "{scanned:?}");
    for check in ["sealed", "full"] {
        let with_index = [&named[..], &["--index", s(&index), "--index-check", check]].concat();
        let (code, indexed, stderr) = hunt(&with_index);
        assert_eq!(code, 0, "{stderr}");
        assert_eq!(indexed, scanned, "--index-check {check}");
        let read: usize = stderr
            .split(" read as candidates)")
            .next()
            .and_then(|p| p.rsplit(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{stderr}"));
        let files = common::tree(&archive).len();
        assert!(read * 2 < files, "{read} of {files} files read\n{stderr}");
    }
    // A rule without an event name or source: every file is read, and the summary says why.
    let all = [
        "--rules",
        s(&rules),
        "--source",
        s(&archive),
        "--index",
        s(&index),
    ];
    let (code, lines, stderr) = hunt(&all);
    assert_eq!(code, 0, "{stderr}");
    let (_, unindexed, _) = hunt(&all[..4]);
    assert_eq!(lines, unindexed);
    assert!(
        stderr.contains("the index could not narrow the files: 1 rule(s) need no event name or source it holds (CloudTrail Insights Found Unusual Activity)"),
        "{stderr}"
    );
}

/// A generated archive and the sample's, with duplicate deliveries: a log file delivered
/// again under another name the same day, and the first day's log files of the sample
/// delivered again the next day (in another shard's day folder).
fn archive_with_duplicates(dir: &Path) -> PathBuf {
    let archive = common::differential::generated_archive(dir, 6);
    common::copy_tree(&common::sample_archive(), &archive);
    let tree = common::tree(&archive);
    let logs = || {
        tree.keys()
            .filter(|k| k.contains("/CloudTrail/") && k.ends_with(".json.gz"))
    };
    let again = logs().next().unwrap();
    let copy = |from: &str, to: String| {
        fs::create_dir_all(archive.join(&to).parent().unwrap()).unwrap();
        fs::copy(archive.join(from), archive.join(to)).unwrap();
    };
    copy(again, again.replace(".json.gz", "_again.json.gz"));
    for key in logs().filter(|k| k.contains("/2024/01/01/")) {
        copy(
            key,
            key.replace("/2024/01/01/", "/2024/01/02/")
                .replace("_20240101T", "_20240102T"),
        );
    }
    archive
}

#[test]
fn a_hunt_past_its_memory_budget_prints_the_same_answer() {
    let dir = tempfile::tempdir().unwrap();
    let archive = archive_with_duplicates(dir.path());
    let rules = fixture_rules();
    let run = |output: &str, budget: &str, events: &Path| {
        let out = trailscan(&[
            "hunt",
            "--rules",
            s(&rules),
            "--source",
            s(&archive),
            "--output",
            output,
            "--output-events",
            s(events),
            "--memory-budget",
            budget,
        ]);
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        (out.stdout, stderr, fs::read(events).unwrap())
    };
    for output in ["jsonl", "csv", "json"] {
        let held = run(
            output,
            "64M",
            &dir.path().join(format!("{output}-held.jsonl")),
        );
        // One byte: every detection goes to a run of its own, merged a level up by 16s.
        let spilled = run(
            output,
            "1",
            &dir.path().join(format!("{output}-spilled.jsonl")),
        );
        assert_eq!(
            String::from_utf8_lossy(&spilled.0),
            String::from_utf8_lossy(&held.0),
            "--output {output}"
        );
        assert_eq!(spilled.2, held.2, "--output-events, --output {output}");
        let counts = |stderr: &str| {
            stderr
                .lines()
                .filter(|l| l.contains("detection(s) printed") || l.starts_with("  "))
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        assert_eq!(counts(&spilled.1), counts(&held.1));
        assert!(!held.1.contains("temporary files"), "{}", held.1);
        assert!(
            spilled
                .1
                .contains("detection(s) kept in temporary files past --memory-budget (1 bytes)"),
            "{}",
            spilled.1
        );
    }
    let (_, lines, stderr) = hunt(&[
        "--rules",
        s(&rules),
        "--source",
        s(&archive),
        "--memory-budget",
        "1",
    ]);
    assert!(lines.iter().any(|l| l["Type"] == "correlation"), "{stderr}");
    assert!(pairs(&lines).len() > 50, "{stderr}");
    let duplicates: u64 = stderr
        .split(" detection(s) of duplicate deliveries left out")
        .next()
        .and_then(|p| p.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(duplicates > 0, "{stderr}");
}

#[test]
fn a_sharded_hunt_merged_is_the_hunt() {
    let dir = tempfile::tempdir().unwrap();
    let archive = archive_with_duplicates(dir.path());
    let rules = dir.path().join("rules");
    common::copy_tree(&fixture_rules(), &rules);
    let hunt_args = |events: &Path| {
        vec![
            "hunt".to_string(),
            "--rules".into(),
            s(&rules).into(),
            "--source".into(),
            s(&archive).into(),
            "--output".into(),
            "jsonl".into(),
            "--output-events".into(),
            s(events).into(),
        ]
    };
    let run = |args: &[String]| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = trailscan(&args);
        let stderr = String::from_utf8(out.stderr).unwrap();
        (
            out.status.code(),
            String::from_utf8(out.stdout).unwrap(),
            stderr,
        )
    };
    let whole_events = dir.path().join("whole-events.jsonl");
    let (code, whole, whole_err) = run(&hunt_args(&whole_events));
    assert_eq!(code, Some(0), "{whole_err}");
    let out = dir.path().join("shards");
    // Every shard is given the same command line: its --output-events is the merge's to write.
    let merged_events = dir.path().join("merged-events.jsonl");
    for k in 0..3 {
        let mut args = hunt_args(&merged_events);
        let shard = format!("{k}/3");
        args.extend(["--shard", &shard, "--out", s(&out), "--run-id", "hunt-1"].map(String::from));
        let (code, stdout, stderr) = run(&args);
        assert_eq!(code, Some(0), "{stderr}");
        assert!(stdout.is_empty(), "a shard prints nothing: {stdout}");
        assert!(
            stderr.contains(&format!("trailscan: shard {k}/3 (")),
            "{stderr}"
        );
        assert!(
            !merged_events.exists(),
            "--output-events is the merge's to write"
        );
    }
    let merge = || {
        let (code, stdout, stderr) = run(&["merge".to_string(), format!("{}/hunt-1", s(&out))]);
        (code, stdout, stderr, fs::read(&merged_events).ok())
    };
    let (code, merged, merged_err, events) = merge();
    assert_eq!(code, Some(0), "{merged_err}");
    // The same lines, correlations and duplicates across shards included, and the same
    // accounting of the findings.
    assert_eq!(merged, whole);
    assert!(merged.contains("\"Type\":\"correlation\""), "{merged}");
    assert_eq!(events, fs::read(&whole_events).ok());
    let findings = |stderr: &str| -> Vec<String> {
        stderr
            .lines()
            .filter(|l| l.contains("detection(s) printed") || l.starts_with("  "))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(findings(&merged_err), findings(&whole_err));
    assert!(
        !merged_err.contains(" 0 detection(s) of duplicate deliveries"),
        "{merged_err}"
    );
    assert!(
        merged_err.contains("trailscan: merged 3 shards ("),
        "{merged_err}"
    );
    // Rules changed since the shards ran: the merge says so rather than mislabel detections.
    let some_rule = common::tree(&rules)
        .into_keys()
        .find(|k| k.ends_with("aws_root_console_login.yml"))
        .unwrap();
    let text = fs::read_to_string(rules.join(&some_rule)).unwrap();
    fs::write(
        rules.join(&some_rule),
        text.replace("title: Root User Console Login", "title: Root Signed In"),
    )
    .unwrap();
    fs::remove_file(&merged_events).unwrap();
    let (code, stdout, stderr, _) = merge();
    assert_eq!(code, Some(255), "{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("is not the rule the shard ran"), "{stderr}");
}

#[test]
fn a_hunt_over_s3_is_the_hunt_over_disk() {
    let Some(env) = common::s3::server() else {
        return;
    };
    common::s3::upload(&env, "trailscan-hunt-source", "trail");
    let rules = fixture_rules();
    let (code, disk, _) = hunt(&[
        "--rules",
        s(&rules),
        "--source",
        s(&common::sample_archive()),
    ]);
    assert_eq!(code, 0);
    let args = [
        "hunt",
        "--output",
        "jsonl",
        "--rules",
        s(&rules),
        "--source",
        "s3://trailscan-hunt-source/trail",
    ];
    let (code, stdout, stderr) = common::differential::run_against(&env, &args);
    assert_eq!(code, 0, "{stderr}");
    let s3: Vec<Value> = String::from_utf8(stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let without_keys = |lines: &[Value]| -> Vec<Value> {
        lines
            .iter()
            .map(|l| {
                let mut l = l.clone();
                l.as_object_mut().unwrap().remove("ObjectKey");
                l
            })
            .collect()
    };
    assert_eq!(without_keys(&s3), without_keys(&disk));
    assert!(s3.len() > 50);
    assert!(s3.iter().filter(|l| l["Type"] == "detection").all(|l| {
        let key = l["ObjectKey"].as_str().unwrap();
        key.starts_with("s3://trailscan-hunt-source/trail/") && key.contains("/AWSLogs/")
    }));
    assert!(stderr.contains("S3: source"), "{stderr}");
}

/// Rule files as hostile input: each is refused with its file, line and reason, in bounded
/// time and memory, and the good rule beside them still runs.
#[test]
fn hostile_rule_files_are_refused_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    fs::create_dir_all(&rules).unwrap();
    let good = "title: Root Login\nid: good\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  s:\n    eventName: ConsoleLogin\n    userIdentity.type: Root\n  condition: s\nlevel: high\n";
    fs::write(rules.join("good.yml"), good).unwrap();
    // Billion laughs: aliases that expand exponentially.
    let mut bomb = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for (i, name) in ["b", "c", "d", "e", "f", "g", "h", "i"].iter().enumerate() {
        let prev = ["a", "b", "c", "d", "e", "f", "g", "h"][i];
        bomb.push_str(&format!("{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"));
    }
    bomb.push_str("title: bomb\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  s:\n    eventName: *i\n  condition: s\n");
    fs::write(rules.join("bomb.yml"), bomb).unwrap();
    // A regex far beyond the regex crate's size limit.
    let huge = "title: huge\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  s:\n    userAgent|re: '(a{10000}){1000}'\n  condition: s\n";
    fs::write(rules.join("huge.yml"), huge).unwrap();
    // Deep nesting.
    let deep = format!(
        "title: deep\nlogsource: {{product: aws, service: cloudtrail}}\ndetection:\n  s:\n    eventName: {}x{}\n  condition: s\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    fs::write(rules.join("deep.yml"), deep).unwrap();
    // Invalid UTF-8 on line 3.
    fs::write(
        rules.join("binary.yml"),
        b"title: x\nlogsource: {}\n\xff\xfe\n",
    )
    .unwrap();
    // Too large to be a rule.
    fs::write(rules.join("large.yml"), "#".repeat(2 << 20)).unwrap();
    // A condition that does not parse, in the second document of a file.
    fs::write(rules.join("two.yml"), format!("{good}---\ntitle: bad\nlogsource: {{product: aws, service: cloudtrail}}\ndetection:\n  s:\n    eventName: X\n  condition: s and and\n")).unwrap();
    // Sigma 1 aggregation.
    fs::write(rules.join("old.yml"), "title: old\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  s:\n    eventName: X\n  condition: s | count() > 5\n").unwrap();
    // A windash value of 8 dashes: 390,625 strings (found by the sigma_rule fuzz target).
    fs::write(rules.join("windash.yml"), "title: windash\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  s:\n    userAgent|windash|contains: 'a-b-c-d-e-f-g-h-i and more text'\n  condition: s\n").unwrap();
    // rsigma's array blocks, which the event view does not give objects to.
    fs::write(rules.join("blocks.yml"), "title: blocks\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  s:\n    resources[any]:\n      type: AWS::S3::Object\n  condition: s\n").unwrap();
    let started = std::time::Instant::now();
    let (code, lines, stderr) = hunt(&[
        "--rules",
        s(&rules),
        "--source",
        s(&common::sample_archive()),
    ]);
    assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
    assert_eq!(code, 1, "{stderr}");
    for (file, line) in [
        ("bomb.yml", 1),
        ("huge.yml", 1),
        ("deep.yml", 1),
        ("binary.yml", 3),
        ("large.yml", 1),
        ("two.yml", 11),
        ("old.yml", 1),
        ("windash.yml", 1),
    ] {
        let at = format!("{}:{line}: rule refused: ", rules.join(file).display());
        assert!(stderr.contains(&at), "{at}\n{stderr}");
    }
    assert!(stderr.contains("not UTF-8"), "{stderr}");
    assert!(
        stderr.contains("larger than a rule file can be"),
        "{stderr}"
    );
    assert!(stderr.contains("Sigma 1 aggregation syntax"), "{stderr}");
    let at = format!(
        "{}:1: rule refused: array blocks",
        rules.join("blocks.yml").display()
    );
    assert!(stderr.contains(&at), "{stderr}");
    // The good rule ran once: the first document of two.yml has its id.
    let at = format!(
        "{}:1: rule refused: rule id good was loaded already, from {}:1",
        rules.join("two.yml").display(),
        rules.join("good.yml").display()
    );
    assert!(stderr.contains(&at), "{stderr}");
    assert_eq!(lines.len(), 14);
    assert!(lines.iter().all(|l| l["RuleId"] == "good"));
    // --strict stops before scanning.
    let (code, lines, stderr) = hunt(&[
        "--rules",
        s(&rules),
        "--source",
        s(&common::sample_archive()),
        "--strict",
    ]);
    assert_eq!(code, 255, "{stderr}");
    assert!(lines.is_empty());
    assert!(
        stderr.contains("cannot be run (--strict): nothing was scanned"),
        "{stderr}"
    );
}

#[test]
fn no_rule_to_run_is_an_error_not_an_empty_answer() {
    let rules = fixture_rules().join("other");
    let (code, lines, stderr) = hunt(&[
        "--rules",
        s(&rules),
        "--source",
        s(&common::sample_archive()),
    ]);
    assert_eq!(code, 255, "{stderr}");
    assert!(lines.is_empty());
    assert!(
        stderr.contains("no CloudTrail rule to run: 1 rule file(s) read, 1 rule(s) for other log sources passed over"),
        "{stderr}"
    );
    let (code, _, stderr) = hunt(&[
        "--rules",
        "no/such/rules",
        "--source",
        s(&common::sample_archive()),
    ]);
    assert_eq!(code, 255, "{stderr}");
    assert!(
        stderr.contains("--rules no/such/rules: No such file or directory"),
        "{stderr}"
    );
    let (code, _, stderr) = hunt(&[
        "--rules",
        s(&fixture_rules()),
        "--source",
        s(&common::sample_archive()),
        "--min-level",
        "critical",
    ]);
    // Only the critical correlation (and its base rule) remain.
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("1 rule(s) and 1 correlation(s) loaded"),
        "{stderr}"
    );
}

/// pySigma's SQLite backend (in the test virtualenv), else `None` with a notice.
fn pysigma() -> Option<PathBuf> {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python");
    let has = std::process::Command::new(&python)
        .args(["-c", "import sigma.backends.sqlite"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has {
        eprintln!(
            "NOTICE: pySigma is not in .venv (`make pydeps`); skipping the differential hunt test"
        );
    }
    has.then_some(python)
}

/// pySigma's matches of `rules` over `archive`: (rule id, eventID) pairs, and the rules it
/// could not convert.
fn pysigma_pairs(
    python: &Path,
    archive: &Path,
    rules: &[PathBuf],
) -> (Vec<(String, String)>, Vec<Value>) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/hunt_differential.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .arg(archive)
        .args(rules)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut pairs: Vec<(String, String)> = answer["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_str().unwrap().to_string(),
                p[1].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    pairs.sort();
    (pairs, answer["skipped"].as_array().unwrap().clone())
}

/// The detection rule files under `dir` (correlations are not pySigma SQL here).
fn detection_rule_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yml"))
        .filter(|p| !fs::read_to_string(p).unwrap().contains("\ncorrelation:"))
        .collect();
    files.sort();
    files
}

#[test]
fn pysigma_finds_the_same_rule_and_event_pairs() {
    let Some(python) = pysigma() else {
        return;
    };
    // The README's rules over the sample archive, and the cases' rules over their records,
    // less those pySigma's SQLite backend does not convert or that differ by design.
    let dir = tempfile::tempdir().unwrap();
    let (case_rules, case_archive, _) = write_cases(dir.path());
    let by_design = ["path_through_an_array", "any_array_element"];
    for name in by_design {
        fs::remove_file(case_rules.join(format!("{name}.yml"))).unwrap();
    }
    let mut compared = 0;
    let mut sets = vec![
        (fixture_rules(), common::sample_archive()),
        (case_rules, case_archive),
    ];
    if let Some(real) = common::real_samples() {
        sets.push((fixture_rules(), real));
    }
    for (rules, archive) in sets {
        let files = detection_rule_files(&rules);
        let (want, skipped) = pysigma_pairs(&python, &archive, &files);
        let skipped_ids: Vec<&str> = skipped.iter().map(|s| s[0].as_str().unwrap()).collect();
        let mut args = vec!["--rules".to_string(), s(&rules).to_string()];
        for file in &files {
            let id = fs::read_to_string(file)
                .unwrap()
                .lines()
                .find_map(|l| l.strip_prefix("id: ").map(str::to_string))
                .unwrap();
            if !skipped_ids.contains(&id.as_str()) {
                args.extend(["--rule-id".to_string(), id]);
            }
        }
        args.extend(["--source".to_string(), s(&archive).to_string()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, lines, stderr) = hunt(&args);
        assert!(code == 0 || code == 1, "{stderr}");
        let got = pairs(&lines);
        assert_eq!(
            got,
            want,
            "{} over {}; pySigma skipped {skipped:?}",
            rules.display(),
            archive.display()
        );
        compared += got.len();
    }
    assert!(compared > 60, "only {compared} matches compared");
}

#[test]
fn expand_takes_its_values_from_the_placeholders_file() {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let login = |id: &str, ip: &str| {
        record(
            "ConsoleLogin",
            id,
            0,
            &json!({"sourceIPAddress": ip, "responseElements": {"ConsoleLogin": "Success"}}),
        )
    };
    let records = [
        login("trusted", "192.0.2.10"),
        login("office", "198.51.100.7"),
        login("elsewhere", "203.0.113.99"),
    ];
    write_log_file(
        &archive,
        "111122223333",
        "us-east-1",
        "20240301T1005Z",
        "a",
        &records,
    );
    let rule = dir.path().join("untrusted.yml");
    fs::write(&rule, "title: Console Login From an Unknown Address\nid: 00000000-0000-4000-8000-00000000e001\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  selection:\n    eventName: ConsoleLogin\n  filter_known:\n    sourceIPAddress|expand: '%Known_Addresses%'\n  condition: selection and not filter_known\nlevel: medium\n").unwrap();
    let placeholders = dir.path().join("placeholders.yml");
    fs::write(
        &placeholders,
        "Known_Addresses:\n  - 192.0.2.10\n  - 198.51.100.7\n",
    )
    .unwrap();
    let (code, lines, stderr) = hunt(&[
        "--rules",
        s(&rule),
        "--source",
        s(&archive),
        "--placeholders",
        s(&placeholders),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let ids: Vec<&str> = lines
        .iter()
        .map(|l| l["EventId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["elsewhere"]);
    // Without values the rule cannot mean anything: refused, with why.
    let (code, lines, stderr) = hunt(&["--rules", s(&rule), "--source", s(&archive)]);
    assert_eq!(code, 255, "{stderr}");
    assert!(lines.is_empty());
    assert!(stderr.contains("rule refused: placeholder %Known_Addresses% has no values: give them in a --placeholders file"), "{stderr}");
}
