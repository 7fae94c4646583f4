//! The formats beyond the AWS CLI (jsonl, csv), pagination flags, format errors, and output
//! on a terminal.

mod common;

use std::fs;
use std::io::Write;
use std::process::Command;

use common::{event_ids, sample_archive, trailscan};
use serde_json::Value;

fn run(args: &[&str]) -> (i32, String, String) {
    let source = sample_archive();
    let mut full = vec!["lookup-events", "--source", source.to_str().unwrap()];
    full.extend_from_slice(args);
    let out = trailscan(&full);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(args: &[&str]) -> Value {
    let mut full = args.to_vec();
    full.push("-q");
    let (code, out, err) = run(&full);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn jsonl_is_one_record_per_line_newest_first() {
    let events = json(&["--include-data-events"]);
    let (code, out, _) = run(&["--include-data-events", "--output", "jsonl", "-q"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    let expected: Vec<&str> = events["Events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["CloudTrailEvent"].as_str().unwrap())
        .collect();
    assert_eq!(lines, expected);
    for line in &lines {
        let record: Value = serde_json::from_str(line).unwrap();
        assert!(record["eventTime"].is_string());
    }
    let (code, _, err) = run(&["--output", "jsonl", "--query", "Events[0]"]);
    assert_eq!(code, 255);
    assert!(
        err.contains("--query does not apply to --output jsonl"),
        "{err}"
    );
}

#[test]
fn csv_of_events_and_of_queries() {
    let (code, out, err) = run(&["--max-results", "4", "--output", "csv"]);
    assert_eq!(code, 0);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("EventId,EventName,ReadOnly,AccessKeyId,EventTime,EventSource,Username,Resources,CloudTrailEvent"));
    // CloudTrailEvent holds commas and quotes, so it is quoted, its quotes doubled.
    let first = lines.next().unwrap();
    assert!(first.contains(",\"{\"\"eventVersion\"\":"), "{first}");
    assert!(
        err.contains("continue with --starting-token "),
        "the token goes to stderr: {err}"
    );
    let ids = event_ids(&json(&["--max-results", "4"]));
    assert!(out
        .lines()
        .skip(1)
        .zip(&ids)
        .all(|(line, id)| line.starts_with(id.as_str())));

    let (_, out, _) = run(&[
        "--max-results",
        "3",
        "--query",
        "Events[*].[EventTime,EventName,Username]",
        "--output",
        "csv",
        "-q",
    ]);
    assert_eq!(out.lines().next(), Some("EventTime,EventName,Username"));
    assert_eq!(out.lines().count(), 4);
    let (_, out, _) = run(&[
        "--max-results",
        "2",
        "--query",
        "Events[].{When:EventTime,What:EventName}",
        "--output",
        "csv",
        "-q",
    ]);
    assert_eq!(out.lines().next(), Some("When,What"));
    let (code, _, err) = run(&["--query", "length(Events)", "--output", "csv", "-q"]);
    assert_eq!(code, 255);
    assert!(
        err.contains("--output csv needs the --query result to be a list"),
        "{err}"
    );
}

#[test]
fn max_items_and_starting_token_walk_everything() {
    let all = event_ids(&json(&[
        "--lookup-attributes",
        "AttributeKey=ReadOnly,AttributeValue=false",
    ]));
    let mut walked = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut args = vec![
            "--lookup-attributes",
            "AttributeKey=ReadOnly,AttributeValue=false",
            "--max-items",
            "45",
            "--page-size",
            "20",
        ];
        if let Some(t) = &token {
            args.extend(["--starting-token", t.as_str()]);
        }
        let answer = json(&args);
        walked.extend(event_ids(&answer));
        match answer.get("NextToken").and_then(Value::as_str) {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    assert_eq!(walked, all);
    assert!(all.len() > 90, "several calls were needed");
}

#[test]
fn text_pages_resume_where_the_page_was_cut() {
    // --max-items 7 with pages of 5 stops 2 into the second page; resuming, the first page
    // holds the other 3, as botocore's resume token (boto_truncate_amount) makes it.
    let first = json(&["--max-items", "7", "--page-size", "5"]);
    let token = first["NextToken"].as_str().unwrap().to_string();
    let (_, text, _) = run(&[
        "--max-items",
        "9",
        "--page-size",
        "5",
        "--starting-token",
        &token,
        "--query",
        "length(Events)",
        "--output",
        "text",
        "-q",
    ]);
    let counts: Vec<&str> = text.lines().collect();
    assert_eq!(&counts[..3], ["3", "5", "1"], "{text}");
}

#[test]
fn output_and_query_errors_read_as_the_aws_cli_s() {
    let (code, out, err) = run(&["--output", "yaml"]);
    assert_eq!((code, out.as_str()), (2, ""));
    assert!(err.contains("argument --output: Invalid choice, valid choices are:\n\njson | text | table | jsonl | csv"), "{err}");
    let (code, out, err) = run(&["--query", "Events["]);
    assert_eq!((code, out.as_str()), (255, ""));
    assert!(
        err.contains("Bad value for --query Events[: Invalid jmespath expression: "),
        "{err}"
    );
    let (code, _, err) = run(&["--query", "length(`1`)"]);
    assert_eq!(code, 255);
    assert!(err.contains("length"), "{err}");
    let (code, _, err) = run(&["--page-size", "0"]);
    assert_eq!(code, 255);
    assert!(
        err.contains("Invalid value for parameter MaxResults, value: 0, valid min value: 1"),
        "{err}"
    );
}

/// Under a pseudo-terminal (`script`), tables are colored as the AWS CLI colors them, and
/// control characters from records are shown escaped instead of reaching the terminal.
#[test]
fn terminal_output_is_colored_and_escaped() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("NOTICE: no `script` (util-linux); skipping the pseudo-terminal test");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let day = dir
        .path()
        .join("AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/15");
    fs::create_dir_all(&day).unwrap();
    let record = r#"{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","userName":"mallory\u001b]2;owned\u0007"},"eventTime":"2024-01-15T01:00:00Z","eventSource":"iam.amazonaws.com","eventName":"GetUser","eventID":"e1","readOnly":true,"eventCategory":"Management"}"#;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(format!(r#"{{"Records":[{record}]}}"#).as_bytes())
        .unwrap();
    fs::write(
        day.join("123456789012_CloudTrail_us-east-1_20240115T0105Z_x.json.gz"),
        gz.finish().unwrap(),
    )
    .unwrap();
    let command = format!(
        "{} lookup-events -q --source {} --query 'Events[*].[EventName,Username]' --output table",
        env!("CARGO_BIN_EXE_trailscan"),
        dir.path().display()
    );
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(
        screen.contains("\x1b[1m\x1b[34mGetUser\x1b[0m"),
        "colored cells: {screen:?}"
    );
    assert!(
        screen.contains(r"mallory\x1b]2;owned\x07"),
        "escaped: {screen:?}"
    );
    assert!(
        !screen.contains("\x1b]2;"),
        "no raw escape sequence: {screen:?}"
    );
    // Piped, the same command prints the record's bytes, as the AWS CLI does.
    let piped = Command::new("sh").args(["-c", &command]).output().unwrap();
    assert!(String::from_utf8_lossy(&piped.stdout).contains("mallory\x1b]2;owned\x07"));
}
