//! lookup-events straight from S3: a real S3 server (SeaweedFS on loopback, started by
//! `make test`), the sample archive uploaded under a key prefix, and the same answers as from
//! the copy on disk. Skips with a notice when no server is running (`cargo test` alone).

mod common;

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::sample_archive;

/// The server's environment (`AWS_ENDPOINT_URL`, keys), from `$TRAILSCAN_TEST_S3_ENV`.
fn server() -> Option<HashMap<String, String>> {
    let Some(path) = std::env::var_os("TRAILSCAN_TEST_S3_ENV") else {
        eprintln!("NOTICE: no S3 test server (run `make test`); skipping the S3 tests");
        return None;
    };
    let text =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", Path::new(&path).display()));
    Some(
        text.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

fn aws_cli() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/aws")
}

/// Makes `bucket` and copies the sample archive into it under `prefix`.
fn upload(env: &HashMap<String, String>, bucket: &str, prefix: &str) {
    let endpoint = &env["AWS_ENDPOINT_URL"];
    let run = |args: &[&str]| {
        let out = Command::new(aws_cli())
            .args(["--endpoint-url", endpoint])
            .args(args)
            .envs(env)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "aws {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["s3api", "create-bucket", "--bucket", bucket]);
    let target = format!("s3://{bucket}/{prefix}");
    run(&[
        "s3",
        "cp",
        "--recursive",
        "--only-show-errors",
        sample_archive().to_str().unwrap(),
        &target,
    ]);
}

fn trailscan(env: &HashMap<String, String>, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trailscan"))
        .args(args)
        .envs(env)
        .env_remove("TRAILSCAN_SOURCE")
        .output()
        .unwrap()
}

#[test]
fn s3_answers_equal_local_answers() {
    let Some(env) = server() else { return };
    upload(&env, "trailscan-equal", "evidence/2024");
    let endpoint = env["AWS_ENDPOINT_URL"].clone();
    let local = sample_archive();
    let cases: [&[&str]; 6] = [
        &["--include-data-events"],
        &[
            "--lookup-attributes",
            "AttributeKey=EventName,AttributeValue=ConsoleLogin",
        ],
        &[
            "--lookup-attributes",
            "AttributeKey=Username,AttributeValue=alice",
            "--start-time",
            "2024-01-01T06:00:00Z",
            "--end-time",
            "2024-01-01T18:00:00Z",
        ],
        &[
            "--account-id",
            "210987654321",
            "--region",
            "eu-west-1",
            "--output",
            "text",
        ],
        &["--event-category", "insight"],
        &[
            "--max-results",
            "5",
            "--query",
            "Events[*].[EventTime,EventName,Username]",
            "--output",
            "table",
        ],
    ];
    for case in cases {
        let mut from_s3 = vec![
            "lookup-events",
            "-q",
            "--source",
            "s3://trailscan-equal/evidence/2024",
            "--endpoint-url",
            &endpoint,
        ];
        from_s3.extend_from_slice(case);
        let s3 = trailscan(&env, &from_s3);
        assert!(
            s3.status.success(),
            "{case:?}: {}",
            String::from_utf8_lossy(&s3.stderr)
        );
        let mut from_disk = vec!["lookup-events", "-q", "--source", local.to_str().unwrap()];
        from_disk.extend_from_slice(case);
        let disk = trailscan(&env, &from_disk);
        assert!(disk.status.success());
        // Keys are the same (relative to the folder that holds AWSLogs), so even tokens agree.
        assert_eq!(
            String::from_utf8_lossy(&s3.stdout),
            String::from_utf8_lossy(&disk.stdout),
            "{case:?}"
        );
        assert!(s3.stdout.len() > 100, "{case:?}: not vacuous");
    }
    // The summary counts what S3 listed and what it skipped, as on disk.
    let s3 = trailscan(
        &env,
        &[
            "lookup-events",
            "--source",
            "s3://trailscan-equal/evidence/2024",
            "--endpoint-url",
            &endpoint,
        ],
    );
    let summary = String::from_utf8_lossy(&s3.stderr);
    assert!(
        summary.contains("73 log files listed: 73 read, 0 failed"),
        "{summary}"
    );
    assert!(
        summary.contains("folders not listed: 3 digest, 3 Insights"),
        "{summary}"
    );
}

#[test]
fn a_window_lists_only_its_days() {
    let Some(env) = server() else { return };
    upload(&env, "trailscan-window", "");
    let endpoint = env["AWS_ENDPOINT_URL"].clone();
    let s3 = trailscan(
        &env,
        &[
            "lookup-events",
            "--source",
            "s3://trailscan-window",
            "--endpoint-url",
            &endpoint,
            "--start-time",
            "2024-01-02T12:00:00Z",
            "--end-time",
            "2024-01-02T13:00:00Z",
        ],
    );
    assert!(
        s3.status.success(),
        "{}",
        String::from_utf8_lossy(&s3.stderr)
    );
    let summary = String::from_utf8_lossy(&s3.stderr);
    // Only the files of 2024-01-02 around the window were read; other days were not listed.
    assert!(summary.contains("outside the time window"), "{summary}");
    assert!(!summary.contains("73 log files listed"), "{summary}");
}

fn fails(env: &HashMap<String, String>, args: &[&str], message: &str) {
    let out = trailscan(env, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(255), "{args:?}: {stderr}");
    assert!(
        stderr.contains(message),
        "{args:?}: expected '{message}' in {stderr}"
    );
    assert!(
        !stderr.contains(&env["AWS_SECRET_ACCESS_KEY"]),
        "a secret was printed: {stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn clear_errors_without_secrets() {
    let Some(env) = server() else { return };
    upload(&env, "trailscan-errors", "");
    let endpoint = env["AWS_ENDPOINT_URL"].clone();
    fails(
        &env,
        &[
            "lookup-events",
            "--source",
            "s3://no-such-bucket-here",
            "--endpoint-url",
            &endpoint,
        ],
        "cannot list s3://no-such-bucket-here: NoSuchBucket",
    );
    let mut wrong = env.clone();
    wrong.insert(
        "AWS_SECRET_ACCESS_KEY".into(),
        "wrong-secret-key-0123456789abcdef".into(),
    );
    fails(
        &wrong,
        &[
            "lookup-events",
            "--source",
            "s3://trailscan-errors",
            "--endpoint-url",
            &endpoint,
        ],
        "cannot list s3://trailscan-errors:",
    );
    // No server at all: a clear error, not a hang.
    fails(
        &env,
        &[
            "lookup-events",
            "--source",
            "s3://trailscan-errors",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ],
        "cannot list s3://trailscan-errors:",
    );
}
