//! `validate-logs --state`: an audit that continues where the last one stopped verifies only
//! what is newer, finds a tampered new log file, fails loudly when the archive does not
//! continue the recorded chain, and leaves a chain with findings where it was.

mod common;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{copy_tree, sample_archive, Run};
use serde_json::Value;

/// The sample's chains as delivered until 22:00 on the first day, then the rest.
const FIRST_AUDIT_END: &str = "2024-01-01T22:00:00Z";
const CHAIN: &str = "AWSLogs/123456789012/CloudTrail/us-east-1";

fn validate(root: &Path, state: &str, extra: &[&str]) -> Run {
    let keys = sample_archive().with_file_name("sample-archive-public-keys.json");
    let args = [&["--state", state, "--no-progress"][..], extra].concat();
    common::validate_logs(root, &keys, &args)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A copy of the sample, and its first audit (through 22:00 on the first day), clean.
fn audited(dir: &Path) -> (PathBuf, PathBuf) {
    let root = dir.join("archive");
    copy_tree(&sample_archive(), &root);
    let state = dir.join("audit/state.json");
    let first = validate(&root, s(&state), &["--end-time", FIRST_AUDIT_END]);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    assert!(
        first
            .stderr
            .contains("6 chains advanced, 0 with findings kept"),
        "{}",
        first.stderr
    );
    (root, state)
}

fn state_json(state: &Path) -> Value {
    serde_json::from_slice(&fs::read(state).unwrap()).unwrap()
}

/// The recorded head digest of the us-east-1 chain of account 123456789012.
fn head_of(state: &Path) -> (String, String) {
    let chain =
        &state_json(state)["chains"]["- - 123456789012 us-east-1 us-east-1 management-events"];
    (
        chain["head"]["key"].as_str().unwrap().to_string(),
        chain["head"]["sha256"].as_str().unwrap().to_string(),
    )
}

/// Replaces a log file's content with other valid JSON: its SHA-256 no longer matches.
fn tamper(log: &Path) {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(br#"{"Records":[]}"#).unwrap();
    fs::write(log, gz.finish().unwrap()).unwrap();
}

fn log_of(root: &Path, day: &str, n: usize) -> PathBuf {
    let folder = root.join(CHAIN).join(day);
    let mut logs: Vec<PathBuf> = fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    logs.sort();
    logs.swap_remove(n)
}

#[test]
fn a_continued_audit_verifies_only_what_is_new_and_finds_a_tampered_new_log() {
    let dir = tempfile::tempdir().unwrap();
    let (root, state) = audited(dir.path());
    let head_before = head_of(&state);
    // One file before the state's point and one after, altered.
    let (old, new) = (
        log_of(&root, "2024/01/01", 0),
        log_of(&root, "2024/01/02", 1),
    );
    tamper(&old);
    tamper(&new);
    let second = validate(&root, s(&state), &[]);
    assert_eq!(second.code, 1, "{}{}", second.stdout, second.stderr);
    let name = |p: &Path| p.file_name().unwrap().to_str().unwrap().to_string();
    assert!(
        second.all().contains(&format!(
            "{}\tINVALID: hash value doesn't match",
            name(&new)
        )),
        "{}",
        second.all()
    );
    assert!(
        !second.all().contains(&name(&old)),
        "the old file is not re-checked"
    );
    assert!(
        second.stderr.contains("6 chains continued")
            && second.stderr.contains("0 chains do not continue it"),
        "{}",
        second.stderr
    );
    assert!(
        second
            .stderr
            .contains("5 chains advanced, 1 with findings kept where they were"),
        "{}",
        second.stderr
    );
    // The chain with the finding stays where it was: the next run finds it again.
    assert_eq!(head_of(&state), head_before);
    let third = validate(&root, s(&state), &[]);
    assert_eq!(third.code, 1, "{}", third.stdout);
    assert!(third.all().contains(&name(&new)));
    // --full re-checks everything, the old file too.
    let full = validate(&root, s(&state), &["--full"]);
    assert_eq!(full.code, 1);
    assert!(full.all().contains(&name(&old)) && full.all().contains(&name(&new)));
    assert!(!full.stderr.contains("continued from"), "{}", full.stderr);
}

#[test]
fn a_clean_continued_audit_advances_and_records_what_it_read() {
    let dir = tempfile::tempdir().unwrap();
    let (root, state) = audited(dir.path());
    let first_sha = format!(
        "{:x}",
        <sha2::Sha256 as sha2::Digest>::digest(fs::read(&state).unwrap())
    );
    let report = dir.path().join("report.json");
    let second = validate(&root, s(&state), &["--report", s(&report)]);
    assert_eq!(second.code, 0, "{}{}", second.stdout, second.stderr);
    assert!(
        second.stderr.contains(&format!("SHA-256 {first_sha}")),
        "{}",
        second.stderr
    );
    let written = fs::read(&state).unwrap();
    let written_sha = format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(&written));
    assert!(second.stderr.contains(&format!(
        "state written to {} (SHA-256 {written_sha})",
        s(&state)
    )));
    let report: Value = serde_json::from_slice(&fs::read(&report).unwrap()).unwrap();
    assert_eq!(report["state"]["read"]["sha256"], first_sha.as_str());
    assert_eq!(report["state"]["written"]["sha256"], written_sha.as_str());
    // Every chain now checked through its newest digest: a third run has nothing new.
    let third = validate(&root, s(&state), &[]);
    assert_eq!(third.code, 0);
    // -q: the validation's own lines only (the state is still written).
    let end = ["--end-time", "2024-01-05T00:00:00Z"];
    let quiet = validate(&root, s(&state), &[&["-q"][..], &end].concat());
    assert_eq!((quiet.code, quiet.stderr.as_str()), (0, ""));
    let loud = validate(&root, s(&state), &end);
    assert_eq!(quiet.stdout, loud.stdout);
    assert!(loud.stderr.contains("state written to"), "{}", loud.stderr);
    assert!(
        third.stderr.contains("6 chains continued, 0 new digests"),
        "{}",
        third.stderr
    );
}

#[test]
fn a_state_whose_head_is_gone_or_altered_fails_loudly() {
    let dir = tempfile::tempdir().unwrap();
    let (root, state) = audited(dir.path());
    let (head, _) = head_of(&state);
    let file = root.join(&head);
    let kept = dir.path().join("kept.json.gz");
    fs::rename(&file, &kept).unwrap();
    // An --end-time before where the state stopped is refused, not taken for tampering.
    let early = validate(&root, s(&state), &["--end-time", "2024-01-01T12:00:00Z"]);
    assert_eq!(early.code, 2, "{}", early.stderr);
    assert!(
        early.stderr.contains("a continued run ends later"),
        "{}",
        early.stderr
    );
    let (json, html) = (dir.path().join("gone.json"), dir.path().join("gone.html"));
    let reports = ["--report", s(&json), "--report-html", s(&html)];
    let gone = validate(&root, s(&state), &reports);
    assert_eq!(gone.code, 1, "{}{}", gone.stdout, gone.stderr);
    // The records an auditor files say so too.
    let report = state_json(&json);
    let failed: Vec<&Value> = (report["chains"].as_array().unwrap().iter())
        .filter(|c| c["result"]["counts"]["state_mismatches"] == 1)
        .collect();
    assert_eq!(failed.len(), 1, "{report}");
    assert!(failed[0]["result"]["state"]["mismatch"].is_string());
    let page = fs::read_to_string(&html).unwrap();
    assert!(page.contains("FAIL: 1 of 6") && page.contains("Does not continue the --state"));
    assert!(
        gone.stderr
            .contains("this archive does not continue the audited chain"),
        "{}",
        gone.stderr
    );
    assert!(
        gone.stdout
            .contains("1 digest chains that do not continue the --state"),
        "{}",
        gone.stdout
    );
    // Put back with one byte of its body changed: no longer the digest that was verified.
    let mut body = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(&fs::read(&kept).unwrap()[..]),
        &mut body,
    )
    .unwrap();
    tamper_digest(&file, &body.replacen("\"logFiles\"", "\"logFiles\" ", 1));
    let altered = validate(&root, s(&state), &[]);
    assert_eq!(altered.code, 1, "{}{}", altered.stdout, altered.stderr);
    assert!(
        altered
            .stderr
            .contains("does not continue the audited chain"),
        "{}",
        altered.stderr
    );
}

fn tamper_digest(file: &Path, body: &str) {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(body.as_bytes()).unwrap();
    fs::write(file, gz.finish().unwrap()).unwrap();
}

#[test]
fn a_state_in_s3() {
    let Some(env) = common::s3::server() else {
        return;
    };
    common::s3::aws_s3(
        &env,
        &["s3api", "create-bucket", "--bucket", "trailscan-audit"],
    );
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("archive");
    copy_tree(&sample_archive(), &root);
    let keys = sample_archive().with_file_name("sample-archive-public-keys.json");
    let run = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_trailscan"))
            .args([
                "validate-logs",
                "--source",
                s(&root),
                "--public-keys",
                s(&keys),
            ])
            .args([
                "--state",
                "s3://trailscan-audit/audits/state.json",
                "--no-progress",
            ])
            .args(["--endpoint-url", &env["AWS_ENDPOINT_URL"]])
            .args(extra)
            .envs(&env)
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = run(&["--end-time", FIRST_AUDIT_END]);
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = run(&[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("6 chains continued")
            && err.contains("s3://trailscan-audit/audits/state.json"),
        "{err}"
    );
}

#[test]
fn state_takes_no_start_time_trail_or_shard() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    let run = validate(
        &sample_archive(),
        s(&state),
        &["--start-time", "2024-01-01T00:00:00Z"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("cannot be used with"), "{}", run.stderr);
    assert!(!state.exists());
}
