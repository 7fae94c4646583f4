//! lookup-events over real public CloudTrail logs (`../shared/samples/real`), checked
//! against the independent oracle. Skips with a notice where the samples are absent.

mod common;

use common::{event_ids, lookup, oracle, real_samples, Query};

fn q(attrs: &[(&'static str, &str)]) -> Query {
    Query {
        attrs: attrs.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        ..Query::default()
    }
}

#[test]
fn lookups_agree_with_the_oracle_on_real_logs() {
    let Some(root) = real_samples() else { return };
    let cases: Vec<(Query, Vec<&str>)> = vec![
        (Query::default(), vec![]),
        (
            Query {
                data: true,
                ..Query::default()
            },
            vec!["--include-data-events"],
        ),
        (
            q(&[("EventName", "ConsoleLogin")]),
            vec![
                "--lookup-attributes",
                "AttributeKey=EventName,AttributeValue=ConsoleLogin",
            ],
        ),
        (
            q(&[("EventName", "AssumeRole")]),
            vec![
                "--lookup-attributes",
                "AttributeKey=EventName,AttributeValue=AssumeRole",
            ],
        ),
        (
            q(&[("EventSource", "ec2.amazonaws.com")]),
            vec![
                "--lookup-attributes",
                "AttributeKey=EventSource,AttributeValue=ec2.amazonaws.com",
            ],
        ),
        (
            Query {
                data: true,
                ..q(&[("EventSource", "s3.amazonaws.com")])
            },
            vec![
                "--include-data-events",
                "--lookup-attributes",
                "AttributeKey=EventSource,AttributeValue=s3.amazonaws.com",
            ],
        ),
        (
            q(&[("Username", "root")]),
            vec![
                "--lookup-attributes",
                "AttributeKey=Username,AttributeValue=root",
            ],
        ),
        (
            q(&[("ReadOnly", "false")]),
            vec![
                "--lookup-attributes",
                "AttributeKey=ReadOnly,AttributeValue=false",
            ],
        ),
        (
            q(&[("ReadOnly", "true")]),
            vec![
                "--lookup-attributes",
                "AttributeKey=ReadOnly,AttributeValue=true",
            ],
        ),
        (
            q(&[("ResourceType", "AWS::IAM::Role")]),
            vec![
                "--lookup-attributes",
                "AttributeKey=ResourceType,AttributeValue=AWS::IAM::Role",
            ],
        ),
        (
            q(&[("AccessKeyId", "ASIASQUHDRT3MUDSUOE3")]),
            vec![
                "--lookup-attributes",
                "AttributeKey=AccessKeyId,AttributeValue=ASIASQUHDRT3MUDSUOE3",
            ],
        ),
        (
            Query {
                start: Some("2024-08-01T00:00:00Z"),
                end: Some("2024-08-01T23:59:59Z"),
                ..Query::default()
            },
            vec![
                "--start-time",
                "2024-08-01",
                "--end-time",
                "2024-08-01T23:59:59Z",
            ],
        ),
        (
            Query {
                start: Some("2020-07-08T09:00:00Z"),
                end: Some("2020-07-08T09:10:00Z"),
                ..Query::default()
            },
            vec![
                "--start-time",
                "1594198800",
                "--end-time",
                "2020-07-08T11:10:00+02:00",
            ],
        ),
    ];
    let mut matched = 0;
    for (query, args) in &cases {
        let expected = oracle(&root, query);
        let (code, json, stderr) = lookup(&root, args);
        // The OTRF files carry records without eventTime: where the prefilter lets them through,
        // they are reported and the exit code is 1; where it rules them out, they cannot matter.
        let reported = stderr.contains("have no valid eventTime");
        assert_eq!(code, if reported { 1 } else { 0 }, "{args:?}:\n{stderr}");
        assert_eq!(event_ids(&json), expected, "{args:?}");
        matched += usize::from(!expected.is_empty());
    }
    assert!(matched >= 12, "only {matched} lookups found events");
}

#[test]
fn records_without_event_time_are_reported_per_file() {
    let Some(root) = real_samples() else { return };
    let (_, _, stderr) = lookup(&root, &[]);
    let otrf: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("OTRF__Security-Datasets"))
        .collect();
    assert_eq!(otrf.len(), 6, "{stderr}");
    assert!(otrf.iter().all(|l| l.contains("have no valid eventTime")));
    assert!(stderr.contains("103 unreadable"), "{stderr}");
}
