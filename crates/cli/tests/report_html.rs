//! `validate-logs --report-html`: the page an auditor hands over says what the JSON report
//! says (verdict, run, chains, a coverage map by day, every finding), and a real browser
//! renders it: headless Chromium, from the distribution's packages (`make test` installs it
//! and names it in `TRAILSCAN_TEST_CHROMIUM`), parses it and takes a screenshot, left in the
//! test's output folder.

mod common;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{copy_tree, sample_archive};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A copy of the sample with one log file of 2024-01-02 altered, validated with both reports:
/// (exit code, the page, the JSON report, the altered file's name).
fn validated_with_a_tampered_file(dir: &Path) -> (i32, String, serde_json::Value, String) {
    let root = dir.join("archive");
    copy_tree(&sample_archive(), &root);
    let day = root.join("AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/02");
    let mut logs: Vec<PathBuf> = fs::read_dir(day)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    logs.sort();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(br#"{"Records":[]}"#).unwrap();
    fs::write(&logs[0], gz.finish().unwrap()).unwrap();
    let (html, json) = (dir.join("report.html"), dir.join("report.json"));
    let keys = sample_archive().with_file_name("sample-archive-public-keys.json");
    let end = ["--end-time", "2024-01-03T00:00:00Z", "--no-progress"];
    let reports = ["--report-html", s(&html), "--report", s(&json)];
    let run = common::validate_logs(&root, &keys, &[&end[..], &reports].concat());
    let name = logs[0].file_name().unwrap().to_str().unwrap().to_string();
    (
        run.code,
        fs::read_to_string(&html).unwrap(),
        serde_json::from_slice(&fs::read(&json).unwrap()).unwrap(),
        name,
    )
}

#[test]
fn the_page_says_what_the_report_says() {
    let dir = tempfile::tempdir().unwrap();
    let (code, page, json, tampered) = validated_with_a_tampered_file(dir.path());
    assert_eq!(code, 1);
    assert!(
        page.contains("FAIL: 1 of 6 digest chains with INVALID files"),
        "{page}"
    );
    assert!(page.contains(&format!("{}</code>", json["version"].as_str().unwrap())));
    assert!(page.contains(json["started"].as_str().unwrap()));
    // The altered file's day is INVALID in its chain's map, and the file a finding.
    let chain = "account 123456789012, region us-east-1)</h3>\n<div class=\"map\">";
    let map = &page[page.find(chain).unwrap()..];
    let map = &map[..map.find("</div>").unwrap()];
    assert!(map.contains("title=\"2024-01-02: INVALID\""), "{map}");
    assert!(map.contains("title=\"2024-01-01: valid\""), "{map}");
    assert!(
        page.contains(&format!(
            "{tampered}: INVALID (hash value doesn&#39;t match)"
        )),
        "{page}"
    );
    // Self-contained: nothing fetched, nothing run.
    for outside in ["<script", "src=", "href=", "@import", "url("] {
        assert!(!page.contains(outside), "{outside}");
    }
    // Not replaced without --force.
    let again = Command::new(env!("CARGO_BIN_EXE_trailscan"))
        .args(["validate-logs", "--source", s(&sample_archive())])
        .args(["--report-html", s(&dir.path().join("report.html"))])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--report-html"));
}

#[test]
fn a_browser_renders_the_page() {
    let chromium = std::env::var_os("TRAILSCAN_TEST_CHROMIUM").filter(|c| !c.is_empty());
    let Some(chromium) = chromium else {
        eprintln!("NOTICE: TRAILSCAN_TEST_CHROMIUM is not set (make test sets it); skipping the browser test");
        return;
    };
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-html");
    let _ = fs::remove_dir_all(&out);
    fs::create_dir_all(&out).unwrap();
    let (_, page, _, _) = validated_with_a_tampered_file(&out);
    let html = out.join("report.html");
    let browser = |args: &[&str]| {
        let profile = out.join("profile");
        Command::new(&chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .args(args)
            .arg(format!("file://{}", html.display()))
            .output()
            .unwrap()
    };
    // The DOM the browser built from the page: it parsed it whole.
    let dom = browser(&["--dump-dom"]);
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom.contains("FAIL: 1 of 6 digest chains with INVALID files"),
        "{dom}"
    );
    assert_eq!(
        dom.matches("class=\"d ").count(),
        page.matches("class=\"d ").count(),
        "every square of the map"
    );
    let screenshot = out.join("report.png");
    let shot = browser(&[
        &format!("--screenshot={}", screenshot.display()),
        "--window-size=1280,1600",
    ]);
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let png = fs::read(&screenshot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
    eprintln!("the page and its screenshot: {}", out.display());
}
