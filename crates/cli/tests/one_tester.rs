//! One tester for every way of reading an archive (ripgrep's `SearcherTester`): each lookup
//! case runs over a folder on disk and over the same objects in the S3 test server, with one
//! worker and with many, with the requests in flight sized for the round trip and with one at
//! a time, and every run must print the same bytes on stdout, exit with the same
//! code, name the same problems (the object's location aside) and count the same in its
//! summary. Without the S3 server (`cargo test` alone), the disk runs are still compared.

mod common;

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::s3::{server, upload_tree};
use common::{copy_tree, sample_archive};

/// What a run printed, made comparable: stdout whole; stderr with the objects' locations
/// reduced to their keys, the problems in key order and the timing line left out.
#[derive(Debug, PartialEq, Eq)]
struct Answer {
    code: Option<i32>,
    stdout: String,
    stderr: Vec<String>,
}

/// How one run reads the archive.
struct Way {
    name: String,
    source: String,
    /// What comes before a key in messages, cut from them: the folder on disk, or the
    /// bucket.
    location: String,
    env: HashMap<String, String>,
    threads: &'static str,
    /// More flags of this way.
    extra: &'static [&'static str],
}

struct LookupTester {
    ways: Vec<Way>,
}

impl LookupTester {
    /// The ways of reading `archive`: from disk, and, with the S3 test server, from `bucket`;
    /// each with 1 worker and with many.
    fn new(archive: &Path, bucket: &str) -> LookupTester {
        let local = fs::canonicalize(archive).unwrap();
        let mut ways = Vec::new();
        for threads in ["1", "4"] {
            ways.push(Way {
                name: format!("disk, {threads} threads"),
                source: archive.to_str().unwrap().to_string(),
                location: format!("{}/", local.display()),
                env: HashMap::new(),
                threads,
                extra: &[],
            });
        }
        if let Some(env) = server() {
            // At the bucket's top, so that keys (and the page tokens that carry them) are the same.
            upload_tree(&env, archive, bucket, "");
            // The requests in flight as sized for the round trip, and one at a time.
            for (threads, extra) in [
                ("1", &[][..]),
                ("2", &["--max-concurrent-requests", "1"][..]),
            ] {
                ways.push(Way {
                    name: format!("S3, {threads} threads, {extra:?}"),
                    source: format!("s3://{bucket}"),
                    location: format!("s3://{bucket}/"),
                    env: env.clone(),
                    threads,
                    extra,
                });
            }
        }
        LookupTester { ways }
    }

    fn run(&self, way: &Way, case: &[&str]) -> Answer {
        let mut args = vec!["lookup-events", "--source", &way.source];
        args.extend(["--threads", way.threads, "--no-progress"]);
        if let Some(endpoint) = way.env.get("AWS_ENDPOINT_URL") {
            args.extend(["--endpoint-url", endpoint]);
        }
        args.extend_from_slice(way.extra);
        args.extend_from_slice(case);
        let out = Command::new(env!("CARGO_BIN_EXE_trailscan"))
            .args(&args)
            .envs(&way.env)
            .env_remove("TRAILSCAN_SOURCE")
            .output()
            .unwrap();
        let mut stderr: Vec<String> = String::from_utf8_lossy(&out.stderr)
            .lines()
            // Bytes and time, and S3's request counts, differ by the way of reading.
            .filter(|l| !l.starts_with("  read ") && !l.starts_with("  S3: "))
            .map(|l| l.replace(&way.location, ""))
            .collect();
        // Problems are reported as workers find them, in any order; the summary follows.
        let summary = stderr
            .iter()
            .position(|l| l.contains(" log files listed: "))
            .unwrap_or(stderr.len());
        stderr[..summary].sort();
        Answer {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr,
        }
    }

    /// Runs `case` every way; all must agree. Returns the answer.
    fn check(&self, case: &[&str]) -> Answer {
        let first = &self.ways[0];
        let expected = self.run(first, case);
        for way in &self.ways[1..] {
            let got = self.run(way, case);
            let (a, b) = (&way.name, &first.name);
            assert_eq!(got.code, expected.code, "{case:?}: exit code, {a} vs {b}");
            assert_eq!(got.stderr, expected.stderr, "{case:?}: stderr, {a} vs {b}");
            let differs = got
                .stdout
                .lines()
                .zip(expected.stdout.lines())
                .position(|(x, y)| x != y);
            if let Some(line) = differs {
                let (x, y) = (
                    got.stdout.lines().nth(line),
                    expected.stdout.lines().nth(line),
                );
                panic!("{case:?}: stdout line {}, {a}: {x:?}\n{b}: {y:?}", line + 1);
            }
            assert_eq!(
                got.stdout.len(),
                expected.stdout.len(),
                "{case:?}: stdout, {a} vs {b}"
            );
        }
        expected
    }
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// The sample archive with a corrupt and a truncated log file among the real ones.
fn archive_with_broken_objects() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("archive");
    copy_tree(&sample_archive(), &root);
    let folder = root.join("AWSLogs/123456789012/CloudTrail/eu-west-1/2024/01/01");
    let name =
        |tag: &str| format!("123456789012_CloudTrail_eu-west-1_20240101T0301Z_{tag}.json.gz");
    let record = r#"{"eventVersion":"1.09","eventTime":"2024-01-01T03:00:00Z","eventName":"GetCallerIdentity","eventSource":"sts.amazonaws.com","eventID":"0b1d6f9e-broken-neighbour","readOnly":true,"userIdentity":{"type":"IAMUser","userName":"alice","accessKeyId":"AKIAIOSFODNN7EXAMPLE"},"eventCategory":"Management"}"#;
    let whole = gz(format!(r#"{{"Records":[{record}]}}"#).as_bytes());
    fs::write(folder.join(name("truncated")), &whole[..whole.len() / 2]).unwrap();
    fs::write(folder.join(name("notgzip")), b"{\"Records\":[]}").unwrap();
    (dir, root)
}

#[test]
fn every_way_of_reading_gives_the_same_answer() {
    let (_dir, archive) = archive_with_broken_objects();
    let tester = LookupTester::new(&archive, "trailscan-one-tester");
    let all = tester.check(&["--include-data-events"]);
    assert_eq!(all.code, Some(1), "two broken objects: {:?}", all.stderr);
    let named: Vec<&String> = all
        .stderr
        .iter()
        .filter(|l| l.contains("_20240101T0301Z_"))
        .collect();
    assert_eq!(
        named.len(),
        2,
        "each broken object named once: {:?}",
        all.stderr
    );
    assert!(named
        .iter()
        .any(|l| l.contains("truncated") && l.contains("corrupt or truncated gzip")));
    assert!(named
        .iter()
        .any(|l| l.contains("notgzip") && l.contains("not a gzip file")));
    let cases: [&[&str]; 4] = [
        &[
            "--lookup-attributes",
            "AttributeKey=Username,AttributeValue=alice",
            "--start-time",
            "2024-01-01T06:00:00Z",
            "--end-time",
            "2024-01-01T18:00:00Z",
        ],
        &["--max-items", "7", "--page-size", "3", "--output", "text"],
        &["--event-category", "insight", "--output", "table"],
        &[
            "--lookup-attributes",
            "AttributeKey=ReadOnly,AttributeValue=false",
            "--max-results",
            "5",
            "--query",
            "Events[*].[EventTime,EventName]",
        ],
    ];
    for case in cases {
        let answer = tester.check(case);
        assert!(
            answer.stdout.len() > 100,
            "{case:?} found something: {}",
            answer.stdout
        );
    }
}
