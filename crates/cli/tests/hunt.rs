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

fn rule_yaml(case: &Case) -> String {
    format!(
        "title: case {name}\nid: case-{name}\nauthor: trailscan tests\nlevel: medium\nlogsource:\n    product: aws\n    service: cloudtrail\ndetection:\n    case_only:\n        eventName: Case_{name}\n{detections}    condition: case_only and ({condition})\n",
        name = case.name,
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
        fs::write(rules.join(format!("{}.yml", case.name)), rule_yaml(case)).unwrap();
        let name = format!("Case_{}", case.name);
        let mut records = Vec::new();
        for (i, fields) in case.hits.iter().enumerate() {
            let id = format!("{}-hit-{i}", case.name);
            records.push(record(&name, &id, n as u32 * 10 + i as u32, fields));
            expected.push((format!("case-{}", case.name), id));
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
    for case in cases() {
        let id = format!("case-{}", case.name);
        let want: Vec<_> = expected.iter().filter(|(r, _)| *r == id).collect();
        let got: Vec<_> = found.iter().filter(|(r, _)| *r == id).collect();
        assert_eq!(got, want, "rule {id}\n{stderr}");
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
