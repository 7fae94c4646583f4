//! lookup-events over real public CloudTrail logs (`../shared/samples/real`), checked
//! against the independent oracle. Skips with a notice where the samples are absent.

mod common;

use common::{attrs, event_ids, lookup, oracle, query_args, real_samples, Query};

#[test]
fn lookups_agree_with_the_oracle_on_real_logs() {
    let Some(root) = real_samples() else { return };
    let data = |q: Query| Query { data: true, ..q };
    let mut cases: Vec<(Query, Vec<String>)> = [
        Query::default(),
        data(Query::default()),
        attrs(&[("EventName", "ConsoleLogin")]),
        attrs(&[("EventName", "AssumeRole")]),
        attrs(&[("EventSource", "ec2.amazonaws.com")]),
        data(attrs(&[("EventSource", "s3.amazonaws.com")])),
        attrs(&[("Username", "root")]),
        attrs(&[("ReadOnly", "false")]),
        attrs(&[("ReadOnly", "true")]),
        attrs(&[("ResourceType", "AWS::IAM::Role")]),
        attrs(&[("AccessKeyId", "ASIASQUHDRT3MUDSUOE3")]),
    ]
    .into_iter()
    .map(|q| {
        let args = query_args(&q);
        (q, args)
    })
    .collect();
    // Time windows, written in other forms than the oracle's.
    let window = |start, end, args: &[&str]| {
        let q = Query {
            start: Some(start),
            end: Some(end),
            ..Query::default()
        };
        (q, args.iter().map(|a| a.to_string()).collect())
    };
    cases.push(window(
        "2024-08-01T00:00:00Z",
        "2024-08-01T23:59:59Z",
        &[
            "--start-time",
            "2024-08-01",
            "--end-time",
            "2024-08-01T23:59:59Z",
        ],
    ));
    cases.push(window(
        "2020-07-08T09:00:00Z",
        "2020-07-08T09:10:00Z",
        &[
            "--start-time",
            "1594198800",
            "--end-time",
            "2020-07-08T11:10:00+02:00",
        ],
    ));
    let mut matched = 0;
    for (query, args) in &cases {
        let expected = oracle(&root, query);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, json, stderr) = lookup(&root, &args);
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

/// panther-labs' hand-edited detection test events (nulls, placeholders, reused event ids),
/// one per line, written into log files as they are and looked up like an archive.
#[test]
fn hand_edited_events_agree_with_the_oracle() {
    let Some(root) = real_samples() else { return };
    let ndjson = std::fs::read_to_string(
        root.join("panther-labs__panther-analysis/cloudtrail_test_events.ndjson"),
    )
    .unwrap();
    let lines: Vec<&str> = ndjson.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() > 400);
    let dir = tempfile::tempdir().unwrap();
    let day = dir
        .path()
        .join("AWSLogs/123456789012/CloudTrail/us-west-2/2019/01/01");
    std::fs::create_dir_all(&day).unwrap();
    for (i, chunk) in lines.chunks(50).enumerate() {
        let json = format!("{{\"Records\":[{}]}}", chunk.join(","));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut gz, json.as_bytes()).unwrap();
        let name = format!(
            "123456789012_CloudTrail_us-west-2_20190101T{:02}00Z_panther{i:08}.json.gz",
            i
        );
        std::fs::write(day.join(name), gz.finish().unwrap()).unwrap();
    }
    let data = |q: Query| Query { data: true, ..q };
    let cases = [
        Query::default(),
        data(Query::default()),
        attrs(&[("EventName", "ConsoleLogin")]),
        attrs(&[("EventName", "PutBucketVersioning")]),
        attrs(&[("Username", "root")]),
        attrs(&[("ReadOnly", "false")]),
        attrs(&[("EventId", "1")]),
        attrs(&[("AccessKeyId", "AKIAIOSFODNN7EXAMPLE")]),
        data(attrs(&[("ResourceType", "AWS::S3::Object")])),
        data(attrs(&[("EventSource", "s3.amazonaws.com")])),
        attrs(&[("EventSource", "rds.amazonaws.com"), ("ReadOnly", "false")]),
        attrs(&[("ResourceType", "AWS::KMS::Key")]),
    ];
    let mut matched = 0;
    for q in &cases {
        let args = query_args(q);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        // The archive spans 2019-01-01 and later days: no delivery-time pruning applies without
        // a window, and events are only ordered, never dropped, by their times.
        let (code, json, stderr) = lookup(dir.path(), &args);
        assert!(code == 0 || code == 1, "{args:?}:\n{stderr}");
        assert!(!stderr.contains("panicked"));
        let expected = oracle(dir.path(), q);
        assert_eq!(event_ids(&json), expected, "{args:?}");
        matched += usize::from(!expected.is_empty());
    }
    assert!(matched >= 10, "only {matched} lookups found events");
}
