//! Lookups with an index against the scan, differentially: every lookup with `--index`
//! must print exactly what the scan prints (stdout and exit code, paging tokens included).
//! Shared by the index's tests and the sharded build's.

use std::path::{Path, PathBuf};

use super::{attribute_values, trailscan};

/// `trailscan ARGS` as (exit code, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, Vec<u8>, String) {
    let out = trailscan(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), out.stdout, stderr)
}

pub fn build_index(source: &Path, index: &Path) -> String {
    let (code, _, stderr) = run(&["index", "--source", s(source), "--index", s(index)]);
    assert_eq!(code, 0, "index failed:\n{stderr}");
    stderr
}

/// `trailscan ARGS --endpoint-url` the S3 test server's, with its environment: (exit code,
/// stdout, stderr).
pub fn run_against(
    env: &std::collections::HashMap<String, String>,
    args: &[&str],
) -> (i32, Vec<u8>, String) {
    let mut full: Vec<&str> = args.to_vec();
    full.extend(["--endpoint-url", &env["AWS_ENDPOINT_URL"]]);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_trailscan"))
        .args(&full)
        .envs(env)
        .env_remove("TRAILSCAN_SOURCE")
        .env_remove("TRAILSCAN_INDEX")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), out.stdout, stderr)
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A way to run `trailscan ARGS`: (exit code, stdout, stderr).
pub type Runner<'r> = &'r dyn Fn(&[&str]) -> (i32, Vec<u8>, String);

/// Both `--index-check` modes: sealed days answered from the index, and everything listed.
pub const BOTH_MODES: &[&str] = &["full", "sealed"];

/// Runs the lookup without the index and with it in both `--index-check` modes; asserts the
/// same stdout and exit code, and returns the indexed run's stdout and stderr (sealed mode's).
pub fn same_answer(source: &Path, index: &Path, args: &[String]) -> (Vec<u8>, String) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    same_answer_by(&run, s(source), s(index), &args, BOTH_MODES)
}

/// [`same_answer`] with `--index-check full` only: the answer after the archive changed in
/// sealed days, which only the full check sees; its stderr.
pub fn full_check_answer(source: &Path, index: &Path, args: &[String]) -> (Vec<u8>, String) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    same_answer_by(&run, s(source), s(index), &args, &["full"])
}

/// [`same_answer`] with the source and index as given, `run` running trailscan (with the S3
/// server's environment, say), in each of `modes`; the last mode's stdout and stderr.
pub fn same_answer_by(
    run: Runner<'_>,
    source: &str,
    index: &str,
    args: &[&str],
    modes: &[&str],
) -> (Vec<u8>, String) {
    let mut scan = vec!["lookup-events", "--source", source];
    scan.extend_from_slice(args);
    let (scan_code, scan_out, scan_err) = run(&scan);
    let mut last = (Vec::new(), String::new());
    for mode in modes {
        let mut indexed = scan.clone();
        indexed.extend(["--index", index, "--index-check", mode]);
        let (code, out, err) = run(&indexed);
        assert_eq!(
            (code, String::from_utf8_lossy(&out)),
            (scan_code, String::from_utf8_lossy(&scan_out)),
            "lookup {args:?} differs with the index (--index-check {mode})\nscan stderr:\n{scan_err}\nindexed stderr:\n{err}"
        );
        assert!(err.contains("via the index"), "{err}");
        last = (out, err);
    }
    last
}

pub fn attr(key: &str, value: &str) -> Vec<String> {
    vec![
        "--lookup-attributes".into(),
        format!("AttributeKey={key},AttributeValue={value}"),
    ]
}

/// Picks a few values of each attribute (first, middle, last in byte order), so that both
/// frequent and rare values are looked up.
pub fn some_values(root: &Path, insight: bool) -> Vec<(&'static str, String)> {
    let mut picked = Vec::new();
    for (key, values) in attribute_values(root, insight) {
        let values: Vec<&String> = values.iter().collect();
        let mut at = vec![0, values.len() / 2, values.len() - 1];
        at.dedup();
        picked.extend(at.into_iter().map(|i| (key, values[i].clone())));
    }
    picked
}

/// Every attribute alone, AND-combined with another, inside windows that cut through files,
/// with data events, one page at a time (following the NextToken); Insights likewise.
pub fn differential(source: &Path, index: &Path, window: (&str, &str)) -> usize {
    let mut lookups: Vec<Vec<String>> = Vec::new();
    let values = some_values(source, false);
    assert!(
        values.len() >= 8,
        "too few values in {}: {values:?}",
        source.display()
    );
    for (i, (key, value)) in values.iter().enumerate() {
        lookups.push(attr(key, value));
        let (other_key, other_value) = &values[(i * 7 + 3) % values.len()];
        let mut both = attr(key, value);
        both.extend(attr(other_key, other_value));
        lookups.push(both);
        let mut windowed = attr(key, value);
        windowed.extend([
            "--start-time".into(),
            window.0.into(),
            "--end-time".into(),
            window.1.into(),
        ]);
        lookups.push(windowed.clone());
        windowed.push("--include-data-events".into());
        lookups.push(windowed);
    }
    for key in ["EventName", "Username", "AccessKeyId", "ResourceName"] {
        lookups.push(attr(key, "no-such-value-anywhere"));
    }
    lookups.push(attr("Username", "root"));
    lookups.push(vec![
        "--start-time".into(),
        window.0.into(),
        "--end-time".into(),
        window.1.into(),
    ]);
    lookups.push(vec!["--end-time".into(), window.0.into()]);
    lookups.push(vec![
        "--start-time".into(),
        window.1.into(),
        "--include-data-events".into(),
    ]);
    for (key, value) in some_values(source, true) {
        if ["EventId", "EventName", "EventSource"].contains(&key) {
            let mut insight = attr(key, &value);
            insight.extend(["--event-category".into(), "insight".into()]);
            lookups.push(insight);
        }
    }
    for lookup in &lookups {
        same_answer(source, index, lookup);
    }
    // Pages: --max-items with its NextToken, then the next page from it.
    let (key, value) = &values[values.len() / 2];
    let mut paged = attr(key, value);
    paged.extend(["--max-items".into(), "2".into()]);
    let (first, _) = same_answer(source, index, &paged);
    let first: serde_json::Value = serde_json::from_slice(&first).unwrap();
    if let Some(token) = first.get("NextToken").and_then(|t| t.as_str()) {
        paged.extend(["--starting-token".into(), token.into()]);
        same_answer(source, index, &paged);
    }
    let mut single = vec![
        "--max-results".to_string(),
        "3".into(),
        "--output".into(),
        "text".into(),
    ];
    single.extend(["--start-time".into(), window.0.into()]);
    same_answer(source, index, &single);
    lookups.len() + 3
}

pub fn generated_archive(dir: &Path, days: u32) -> PathBuf {
    let root = dir.join("archive");
    let spec = trailscan_fixtures::ArchiveSpec {
        seed: 77,
        days,
        files_per_day: 8,
        events_per_file: 30,
        ..trailscan_fixtures::ArchiveSpec::sample()
    };
    trailscan_fixtures::generate(&spec, &root).unwrap();
    root
}
