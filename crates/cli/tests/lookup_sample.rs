//! lookup-events over the committed sample archive, checked against the independent oracle.

mod common;

use common::{attrs, event_ids, lookup, oracle, query_args, sample_archive, trailscan, Query};
use serde_json::Value;

fn run(query: &Query) -> (Vec<String>, Value, String) {
    let args = query_args(query);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, json, stderr) = lookup(&sample_archive(), &refs);
    assert_eq!(code, 0, "stderr:\n{stderr}");
    (event_ids(&json), json, stderr)
}

#[test]
fn a_dozen_lookups_agree_with_the_oracle() {
    let (all, _, _) = run(&Query::default());
    let some_id: &'static str = Box::leak(all[all.len() / 2].clone().into_boxed_str());
    let cases = vec![
        Query::default(),
        attrs(&[("EventName", "ConsoleLogin")]),
        attrs(&[("Username", "alice")]),
        attrs(&[("Username", "root")]),
        attrs(&[("Username", "jdoe")]),
        attrs(&[("Username", "order-processor")]),
        attrs(&[("AccessKeyId", "AKIAIOSFODNN7EXAMPLE")]),
        Query {
            data: true,
            ..attrs(&[("EventSource", "s3.amazonaws.com")])
        },
        attrs(&[("EventSource", "s3.amazonaws.com")]),
        attrs(&[("ReadOnly", "false")]),
        attrs(&[("ResourceType", "AWS::KMS::Key")]),
        attrs(&[("ResourceName", "arn:aws:s3:::web-assets-prod")]),
        attrs(&[("EventId", some_id)]),
        attrs(&[("EventName", "RunInstances"), ("Username", "alice")]),
        Query {
            start: Some("2024-01-01T06:00:00Z"),
            end: Some("2024-01-01T12:00:00Z"),
            ..Query::default()
        },
        Query {
            start: Some("2024-01-02T00:00:00Z"),
            ..attrs(&[("EventName", "AssumeRole")])
        },
        Query {
            insight: true,
            ..attrs(&[("EventName", "RunInstances")])
        },
        Query {
            start: Some("2017-01-01T00:00:00Z"),
            end: Some("2017-12-31T00:00:00Z"),
            ..Query::default()
        },
        Query {
            start: Some("2017-01-01T00:00:00Z"),
            end: Some("2017-12-31T00:00:00Z"),
            data: true,
            ..Query::default()
        },
    ];
    for case in &cases {
        let expected = oracle(&sample_archive(), case);
        let (got, _, _) = run(case);
        assert_eq!(got, expected, "lookup {:?}", query_args(case));
    }
    // The cases are not vacuous.
    let nonempty = cases
        .iter()
        .filter(|c| !oracle(&sample_archive(), c).is_empty())
        .count();
    assert!(nonempty >= 15, "only {nonempty} cases matched anything");
}

#[test]
fn events_have_the_service_shape() {
    let (_, json, _) = run(&Query {
        data: true,
        ..Query::default()
    });
    let events = json["Events"].as_array().unwrap();
    let order = [
        "EventId",
        "EventName",
        "ReadOnly",
        "AccessKeyId",
        "EventTime",
        "EventSource",
        "Username",
        "Resources",
        "CloudTrailEvent",
    ];
    let mut previous_time = String::from("9999");
    for e in events {
        let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        let positions: Vec<usize> = keys
            .iter()
            .map(|k| order.iter().position(|o| o == k).expect("known key"))
            .collect();
        assert!(
            positions.windows(2).all(|w| w[0] < w[1]),
            "key order {keys:?}"
        );
        assert!(e["Resources"].is_array());
        let time = e["EventTime"].as_str().unwrap();
        assert!(time.ends_with("+00:00") && time.len() == 25, "{time}");
        assert!(time <= previous_time.as_str(), "not newest first");
        previous_time = time.to_string();
        assert!(matches!(e["ReadOnly"].as_str(), Some("true" | "false")));
        let record: Value = serde_json::from_str(e["CloudTrailEvent"].as_str().unwrap()).unwrap();
        assert_eq!(record["eventID"], e["EventId"]);
        assert!(
            !e["CloudTrailEvent"].as_str().unwrap().contains(": "),
            "compact JSON"
        );
        if record["userIdentity"]["type"] == "AWSService" {
            assert!(e.get("Username").is_none() && e.get("AccessKeyId").is_none());
        }
    }
}

#[test]
fn duplicate_delivery_appears_once() {
    let (ids, _, stderr) = run(&Query::default());
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), ids.len());
    assert!(
        stderr.contains("(1 duplicate deliveries dropped)"),
        "{stderr}"
    );
}

#[test]
fn pages_walk_the_whole_answer() {
    let (all, _, _) = run(&attrs(&[("ReadOnly", "true")]));
    let mut walked = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0;
    loop {
        let mut args = vec![
            "--lookup-attributes",
            "AttributeKey=ReadOnly,AttributeValue=true",
            "--max-results",
            "37",
        ];
        if let Some(t) = &token {
            args.extend(["--next-token", t.as_str()]);
        }
        let (code, json, stderr) = lookup(&sample_archive(), &args);
        assert_eq!(code, 0, "{stderr}");
        let ids = event_ids(&json);
        assert!(ids.len() <= 37);
        walked.extend(ids);
        pages += 1;
        match json.get("NextToken").and_then(Value::as_str) {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    assert_eq!(walked, all);
    assert_eq!(pages, all.len().div_ceil(37));
}

#[test]
fn thread_count_does_not_change_output() {
    let run_with = |threads: &str| {
        let out = trailscan(&[
            "lookup-events",
            "--source",
            sample_archive().to_str().unwrap(),
            "--include-data-events",
            "--threads",
            threads,
            "-q",
        ]);
        assert!(out.status.success());
        out.stdout
    };
    let one = run_with("1");
    assert_eq!(one, run_with("2"));
    assert_eq!(one, run_with("8"));
}

#[test]
fn accounts_regions_and_inner_folders_narrow_the_scan() {
    let account = "210987654321";
    let (code, json, _) = lookup(
        &sample_archive(),
        &["--account-id", account, "--region", "eu-west-1"],
    );
    assert_eq!(code, 0);
    let events = json["Events"].as_array().unwrap();
    assert!(!events.is_empty());
    for e in events {
        let record: Value = serde_json::from_str(e["CloudTrailEvent"].as_str().unwrap()).unwrap();
        assert_eq!(record["recipientAccountId"], account);
    }
    // Pointing at the account's folder inside AWSLogs gives the same events for all regions.
    let inner = sample_archive()
        .join("org-trail/AWSLogs/o-a1b2c3d4e5")
        .join(account);
    let (_, narrowed, _) = lookup(&sample_archive(), &["--account-id", account]);
    let (_, direct, _) = lookup(&inner, &[]);
    assert_eq!(event_ids(&narrowed), event_ids(&direct));
    assert_eq!(event_ids(&direct), oracle(&inner, &Query::default()));
}

#[test]
fn summary_counts_what_was_skipped() {
    let (_, _, stderr) = run(&Query::default());
    assert!(stderr.contains("folders not listed"), "{stderr}");
    assert!(
        stderr.contains("other AWS service"),
        "the Config folder: {stderr}"
    );
    assert!(
        stderr.contains("Insights"),
        "the Insights folders: {stderr}"
    );
    assert!(stderr.contains("0 failed"), "{stderr}");
    let (_, _, stderr) = run(&Query {
        insight: true,
        ..Query::default()
    });
    assert!(stderr.contains("log (not Insights)"), "{stderr}");
}

#[test]
fn source_from_the_environment() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trailscan"))
        .args([
            "lookup-events",
            "--lookup-attributes",
            "AttributeKey=Username,AttributeValue=root",
            "-q",
        ])
        .env("TRAILSCAN_SOURCE", sample_archive())
        .output()
        .unwrap();
    assert!(out.status.success());
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        event_ids(&json),
        oracle(&sample_archive(), &attrs(&[("Username", "root")]))
    );
}
