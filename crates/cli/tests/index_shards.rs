//! The index built across batch workers (`index --shard K/N --run-id ID`, then the run
//! published): every lookup of the index tests must print with it what the scan (and so the
//! unsharded index) prints, on disk and in S3; a shard killed mid-run is re-run; a run that is
//! not whole, or not one run, is never published.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::differential::*;
use common::{copy_tree, sample_archive};

/// Shard `k` of `n` of run `run_id`: (exit code, stderr).
fn shard(root: &Path, index: &Path, k: u32, n: u32, run_id: &str) -> (i32, String) {
    let shard = format!("{k}/{n}");
    let (code, _, err) = run(&[
        "index",
        "--source",
        s(root),
        "--index",
        s(index),
        "--shard",
        &shard,
        "--run-id",
        run_id,
    ]);
    (code, err)
}

/// `index --publish` of run `run_id`: (exit code, stderr).
fn publish(index: &Path, run_id: &str) -> (i32, String) {
    let (code, _, err) = run(&[
        "index",
        "--index",
        s(index),
        "--publish",
        "--run-id",
        run_id,
    ]);
    (code, err)
}

/// The snapshot of `generation`, as JSON.
fn snapshot(index: &Path, generation: u64) -> serde_json::Value {
    let file = index.join(format!("snapshots/{generation:010}.json"));
    serde_json::from_slice(&fs::read(&file).unwrap()).unwrap()
}

/// Object rows and events over a snapshot's segments.
fn rows_and_events(snapshot: &serde_json::Value) -> (u64, u64) {
    snapshot["segments"]
        .as_array()
        .unwrap()
        .iter()
        .fold((0, 0), |(o, e), s| {
            (
                o + s["objects"].as_u64().unwrap(),
                e + s["events"].as_u64().unwrap(),
            )
        })
}

#[test]
fn an_index_built_in_three_shards_answers_as_the_unsharded_one() {
    let dir = tempfile::tempdir().unwrap();
    let root = generated_archive(dir.path(), 3);
    let (whole, sharded) = (dir.path().join("whole"), dir.path().join("sharded"));
    build_index(&root, &whole);
    // Out of order: the last to finish publishes, whichever it is.
    for (k, waiting_for) in [(2, "shard-0-of-3, shard-1-of-3"), (0, "shard-1-of-3")] {
        let (code, err) = shard(&root, &sharded, k, 3, "r1");
        assert_eq!(code, 0, "{err}");
        assert!(
            err.contains(&format!("not finished yet: {waiting_for}")),
            "{err}"
        );
        assert!(
            !sharded.join("snapshots").exists(),
            "published early: {err}"
        );
    }
    // Asked to publish before the run is whole: refused, naming the missing shard.
    let (code, err) = publish(&sharded, "r1");
    assert_eq!(code, 255, "{err}");
    assert!(
        err.contains("missing shard-1-of-3: run it (again) first"),
        "{err}"
    );
    let (code, err) = shard(&root, &sharded, 1, 3, "r1");
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("run r1 (3 shards): generation 1 published"),
        "{err}"
    );
    // The same rows and seals as the unsharded build; several segments a group, one a shard.
    let (one, three) = (snapshot(&whole, 1), snapshot(&sharded, 1));
    assert_eq!(rows_and_events(&one), rows_and_events(&three));
    assert_eq!(one["sealed"], three["sealed"]);
    assert_eq!(one["seals"], three["seals"]);
    assert!(
        three["segments"].as_array().unwrap().len() > one["segments"].as_array().unwrap().len()
    );
    let n = differential(
        &root,
        &sharded,
        ("2024-01-01T17:23:00Z", "2024-01-02T09:41:30Z"),
    );
    assert!(n > 50, "{n} lookups");
    // Published once: again is a no-op that says so, and an unsharded update finds nothing new.
    let (code, err) = publish(&sharded, "r1");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("already published as generation 1"), "{err}");
    let (code, _, err) = run(&["index", "--source", s(&root), "--index", s(&sharded)]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("already up to date"), "{err}");
}

#[test]
fn a_sharded_run_adds_to_an_index_and_updates_add_to_it_after() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("archive");
    copy_tree(&sample_archive(), &root);
    let index = dir.path().join("index");
    // The first day only, unsharded; then everything in two shards; then a day more, unsharded.
    let (code, _, err) = run(&[
        "index",
        "--source",
        s(&root),
        "--index",
        s(&index),
        "--end-time",
        "2024-01-01T12:00:00Z",
    ]);
    assert_eq!(code, 0, "{err}");
    for k in 0..2 {
        let (code, err) = shard(&root, &index, k, 2, "more");
        assert_eq!(code, 0, "{err}");
    }
    let second = snapshot(&index, 2);
    assert_eq!(
        rows_and_events(&second).0,
        85,
        "every log and Insights file of the sample"
    );
    // A file more in a sealed day: the unsharded update indexes it, and says the day changed.
    let log = trailscan_fixtures::files_under(&root)
        .unwrap()
        .into_iter()
        .find(|p| s(p).contains("/CloudTrail/") && s(p).ends_with(".json.gz"))
        .unwrap();
    let name = s(&log).replace(".json.gz", "");
    let added = format!(
        "{}_0fffffffffffffff.json.gz",
        &name[..name.rfind('_').unwrap()]
    );
    fs::copy(&log, added).unwrap();
    let (code, _, err) = run(&["index", "--source", s(&root), "--index", s(&index)]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("a sealed day whose files changed"), "{err}");
    assert!(
        err.contains("1 objects indexed") && err.contains("generation 3 published"),
        "{err}"
    );
    // A file deleted from a sealed day, then a sharded run: each shard exits 0 (a batch
    // engine would retry it to no avail), the publish names the problem and exits 1.
    fs::remove_file(&log).unwrap();
    for k in 0..2 {
        let (code, err) = shard(&root, &index, k, 2, "after-deletion");
        assert_eq!(code, 0, "{err}");
    }
    let (code, err) = publish(&index, "after-deletion");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("already published as generation 4"), "{err}");
    assert!(err.contains("a sealed day whose files changed"), "{err}");
    assert!(
        err.contains("0 files changed and 1 deleted since indexed"),
        "{err}"
    );
    assert_eq!(rows_and_events(&snapshot(&index, 4)).0, 85);
    for attribute in ["EventName=ConsoleLogin", "Username=root"] {
        let (key, value) = attribute.split_once('=').unwrap();
        same_answer(&root, &index, &attr(key, value));
    }
}

#[test]
fn a_run_that_is_not_one_whole_run_is_not_published() {
    let dir = tempfile::tempdir().unwrap();
    let sample = sample_archive();
    let index = dir.path().join("index");
    let (code, err) = shard(&sample, &index, 0, 2, "mixed");
    assert_eq!(code, 0, "{err}");
    // Shard 1 of another count in the same run: not one run.
    let (code, err) = shard(&sample, &index, 1, 3, "mixed");
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("the run cannot be published") && err.contains("shards of different runs"),
        "{err}"
    );
    assert!(!index.join("snapshots").exists());
    // Other flags in one shard: not one run either.
    let (code, err) = shard(&sample, &index, 0, 2, "flags");
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&[
        "index",
        "--source",
        s(&sample),
        "--index",
        s(&index),
        "--shard",
        "1/2",
        "--run-id",
        "flags",
        "--region",
        "us-east-1",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("the command line differs from shard 0's"),
        "{err}"
    );
    // A run whose index moved on meanwhile: refused, not published over the newer generation.
    let (code, err) = shard(&sample, &index, 0, 2, "stale");
    assert_eq!(code, 0, "{err}");
    build_index(&sample, &index);
    let (code, err) = shard(&sample, &index, 1, 2, "stale");
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("shard 1 compared the archive with index generation 1, shard 0 with 0"),
        "{err}"
    );
    let (code, _, err) = run(&["index", "--index", s(&index), "--publish"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("needs --run-id"), "{err}");
}

/// A shard killed after it wrote some of its segments leaves no record: the run is not
/// published, and the shard run again completes it.
#[test]
fn a_shard_killed_mid_run_is_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("archive");
    let spec = trailscan_fixtures::ArchiveSpec {
        seed: 5,
        days: 60,
        files_per_day: 40,
        events_per_file: 2,
        insights: false,
        extras: false,
        // Unsigned: signing 8,640 hourly digests would take a minute of a debug build.
        signed_bucket: None,
        ..trailscan_fixtures::ArchiveSpec::sample()
    };
    trailscan_fixtures::generate(&spec, &root).unwrap();
    let index = dir.path().join("index");
    let mut killed = Command::new(env!("CARGO_BIN_EXE_trailscan"))
        .args(["index", "--source", s(&root), "--index", s(&index)])
        .args(["--shard", "1/3", "--run-id", "k", "--threads", "1"])
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Killed once its first batch's segments are written: it has more to do.
    let started = Instant::now();
    let segments = index.join("segments");
    while fs::read_dir(&segments).map_or(0, |d| d.count()) == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no segment written"
        );
        assert!(
            killed.try_wait().unwrap().is_none(),
            "the shard ended before it was killed"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    killed.kill().unwrap();
    killed.wait().unwrap();
    let record = index.join("runs/k/shard-1-of-3/summary.json");
    assert!(!record.exists(), "killed before it finished");
    for k in [0, 2] {
        let (code, err) = shard(&root, &index, k, 3, "k");
        assert_eq!(code, 0, "{err}");
    }
    let (code, err) = publish(&index, "k");
    assert_eq!(code, 255, "{err}");
    assert!(err.contains("missing shard-1-of-3"), "{err}");
    let (code, err) = shard(&root, &index, 1, 3, "k");
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("generation 1 published"), "{err}");
    let logs = trailscan_fixtures::files_under(&root)
        .unwrap()
        .into_iter()
        .filter(|p| s(p).contains("/CloudTrail/"))
        .count();
    assert_eq!(rows_and_events(&snapshot(&index, 1)).0, logs as u64);
    let needle = common::attribute_values(&root, false)["EventId"]
        .iter()
        .nth(777)
        .unwrap()
        .clone();
    same_answer(&root, &index, &attr("EventId", &needle));
}

#[test]
fn an_index_in_s3_built_in_three_shards() {
    let Some(env) = common::s3::server() else {
        return;
    };
    common::s3::upload(&env, "trailscan-shards-source", "trail");
    common::s3::aws_s3(
        &env,
        &[
            "s3api",
            "create-bucket",
            "--bucket",
            "trailscan-shards-index",
        ],
    );
    let run_s3 = |args: &[&str]| run_against(&env, args);
    let (source, index) = (
        "s3://trailscan-shards-source/trail",
        "s3://trailscan-shards-index/idx",
    );
    for k in 0..3 {
        let shard = format!("{k}/3");
        let args = [
            "index", "--source", source, "--index", index, "--shard", &shard,
        ];
        let (code, _, err) = run_s3(&[&args[..], &["--run-id", "s3run"]].concat());
        assert_eq!(code, 0, "{err}");
        assert_eq!(err.contains("generation 1 published"), k == 2, "{err}");
    }
    let (code, _, err) = run_s3(&["index", "--source", source, "--index", index]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("already up to date"), "{err}");
    for value in ["ConsoleLogin", "GetObject", "AssumeRole"] {
        let attribute = format!("AttributeKey=EventName,AttributeValue={value}");
        let args = ["--include-data-events", "--lookup-attributes", &attribute];
        let (_, err) = same_answer_by(&run_s3, source, index, &args, BOTH_MODES);
        assert!(
            err.contains("0 not indexed (scanned), 0 changed since indexed"),
            "{err}"
        );
    }
}

/// A day folder deleted whole, in days not sealed: no shard lists it, so none finds its files
/// deleted; the publish drops its rows (as an unsharded update would), from the days with
/// rows the shards did not list.
#[test]
fn a_day_folder_deleted_whole_loses_its_rows_in_a_sharded_run() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("archive");
    copy_tree(&sample_archive(), &root);
    let index = dir.path().join("index");
    let unsealed = ["--seal-after", "100000d"];
    let (code, _, err) = run(&[
        &["index", "--source", s(&root), "--index", s(&index)][..],
        &unsealed,
    ]
    .concat());
    assert_eq!(code, 0, "{err}");
    let day = root.join("AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/02");
    let files = fs::read_dir(&day).unwrap().count() as u64;
    assert!(files > 0);
    fs::remove_dir_all(&day).unwrap();
    for k in 0..3 {
        let shard = format!("{k}/3");
        let args = [
            "index",
            "--source",
            s(&root),
            "--index",
            s(&index),
            "--shard",
            &shard,
            "--run-id",
            "d",
        ];
        let (code, _, err) = run(&[&args[..], &unsealed].concat());
        assert_eq!(code, 0, "{err}");
    }
    let (code, err) = publish(&index, "d");
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "0 files changed and {files} deleted since indexed"
        )),
        "{err}"
    );
    assert_eq!(rows_and_events(&snapshot(&index, 2)).0, 85 - files);
    same_answer(&root, &index, &attr("EventName", "ConsoleLogin"));
}

/// `index --gc` keeps the segments a sharded run recorded, published or not, even when a
/// newer generation (which does not name them) was published meanwhile.
#[test]
fn gc_keeps_what_a_pending_run_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let sample = sample_archive();
    let index = dir.path().join("index");
    let (code, err) = shard(&sample, &index, 0, 2, "pending");
    assert_eq!(code, 0, "{err}");
    let record = index.join("runs/pending/shard-0-of-2/index-shard.jsonl");
    let work: serde_json::Value = serde_json::from_slice(&fs::read(&record).unwrap()).unwrap();
    let files: Vec<String> = work["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["file"].as_str().unwrap().to_string())
        .collect();
    assert!(!files.is_empty());
    std::thread::sleep(Duration::from_millis(20));
    build_index(&sample, &index);
    let (code, _, err) = run(&["index", "--index", s(&index), "--gc"]);
    assert_eq!(code, 0, "{err}");
    for file in &files {
        assert!(index.join(file).exists(), "{file} removed by gc: {err}");
    }
    // Without the run's record, those the generation does not name are garbage.
    let named = snapshot(&index, 1).to_string();
    let unnamed: Vec<&String> = files
        .iter()
        .filter(|f| !named.contains(f.as_str()))
        .collect();
    assert!(
        !unnamed.is_empty(),
        "a shard's segments are not the whole groups' ones"
    );
    fs::remove_dir_all(index.join("runs")).unwrap();
    let (code, _, err) = run(&["index", "--index", s(&index), "--gc"]);
    assert_eq!(code, 0, "{err}");
    assert!(unnamed.iter().all(|f| !index.join(f).exists()), "{err}");
}

/// An `--account-id` that names no folder makes a sharded run exit 1 where it is merged or
/// published, as it makes an unsharded run exit 1: each shard names it, and the merge says so
/// once (before: the merge and the publish exited 0, as if the answer were whole).
#[test]
fn an_account_of_no_folder_fails_the_merged_run_as_it_fails_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let sample = sample_archive();
    let keys = common::sample_public_keys();
    let out = dir.path().join("shards");
    let index = dir.path().join("index");
    let accounts = [
        "--account-id",
        "999999999999",
        "--account-id",
        "123456789012",
    ];
    let merge = |run_id: &str| run(&["merge", s(&out.join(run_id))]);
    let said_once = |err: &str| {
        err.matches("--account-id and --region values name no folder")
            .count()
            == 1
    };
    for (command, run_id) in [
        ("lookup-events", "lookup"),
        ("export", "export"),
        ("validate-logs", "validate"),
        ("index", "index"),
    ] {
        let mut last = (0, String::new());
        for k in 0..2 {
            let shard = format!("{k}/2");
            let mut args = vec![command, "--source", s(&sample)];
            args.extend(accounts);
            args.extend(["--shard", &shard, "--run-id", run_id]);
            match command {
                "validate-logs" => args.extend(["--public-keys", s(&keys), "--out", s(&out)]),
                "index" => args.extend(["--index", s(&index)]),
                "export" => args.extend(["--out", s(&out), "--format", "jsonl"]),
                _ => args.extend(["--out", s(&out)]),
            }
            let (code, _, err) = run(&args);
            assert!(err.contains("999999999999"), "{command} shard {k}: {err}");
            last = (code, err);
        }
        // The index is published as its last shard finishes, which exits 0 (a batch engine
        // would run it again); `--publish` gives the run's exit, as its shards' did.
        let (code, err) = match command {
            "index" => {
                assert_eq!(last.0, 0, "{}", last.1);
                publish(&index, run_id)
            }
            _ => {
                let (code, _, err) = merge(run_id);
                (code, err)
            }
        };
        assert_eq!(code, 1, "{command}: {err}");
        assert!(said_once(&err), "{command}: {err}");
    }
    // Every account asked for missing: a validate-logs shard has no chain to validate, and
    // still records its share, so that the merge names the misses (before: the shard exited 1
    // without a record, and the merge called the run incomplete).
    for k in 0..2 {
        let shard = format!("{k}/2");
        let (code, _, err) = run(&[
            "validate-logs",
            "--source",
            s(&sample),
            "--account-id",
            "999999999999",
            "--public-keys",
            s(&keys),
            "--shard",
            &shard,
            "--run-id",
            "none",
            "--out",
            s(&out),
        ]);
        assert_eq!(code, 0, "shard {k}: {err}");
    }
    let (code, _, err) = merge("none");
    assert_eq!(code, 1, "{err}");
    assert!(said_once(&err), "{err}");
}
