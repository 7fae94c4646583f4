//! The lookup index, differentially: every lookup with `--index` must print exactly what the
//! scan prints (stdout and exit code, paging tokens included), over a generated archive, the
//! committed sample and the real samples; and a stale, damaged, foreign or raced index must
//! never give a shorter answer.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::differential::*;
use common::{attribute_values, copy_tree, real_samples, sample_archive};

/// A copy of the sample under `dir`, indexed into `dir/NAME`; with its log files.
fn indexed_copy(dir: &Path, name: &str) -> (PathBuf, PathBuf, Vec<PathBuf>) {
    let root = dir.join("archive");
    copy_tree(&sample_archive(), &root);
    let index = dir.join(name);
    build_index(&root, &index);
    let logs = trailscan_fixtures::files_under(&root)
        .unwrap()
        .into_iter()
        .filter(|p| s(p).contains("/CloudTrail/") && s(p).ends_with(".json.gz"))
        .collect();
    (root, index, logs)
}

#[test]
fn lookups_with_the_index_print_what_the_scan_prints_over_a_generated_archive() {
    let dir = tempfile::tempdir().unwrap();
    let root = generated_archive(dir.path(), 3);
    let index = dir.path().join("index");
    build_index(&root, &index);
    let n = differential(
        &root,
        &index,
        ("2024-01-01T17:23:00Z", "2024-01-02T09:41:30Z"),
    );
    assert!(n > 50, "{n} lookups");
}

#[test]
fn lookups_with_the_index_print_what_the_scan_prints_over_the_sample_and_the_real_samples() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("sample-index");
    build_index(&sample_archive(), &index);
    differential(
        &sample_archive(),
        &index,
        ("2024-01-01T05:17:00Z", "2024-01-02T02:00:00Z"),
    );
    let Some(real) = real_samples() else { return };
    let index = dir.path().join("real-index");
    let stderr = build_index(&real, &index);
    assert!(stderr.contains("objects indexed"), "{stderr}");
    differential(
        &real,
        &index,
        ("2019-01-01T00:00:00Z", "2021-06-30T12:34:56Z"),
    );
}

#[test]
fn building_twice_gives_the_same_bytes_and_an_unchanged_archive_publishes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    build_index(&sample_archive(), &a);
    build_index(&sample_archive(), &b);
    let files = |d: &Path| -> Vec<(PathBuf, Vec<u8>)> {
        let mut f: Vec<_> = trailscan_fixtures::files_under(d)
            .unwrap()
            .into_iter()
            .map(|p| {
                (
                    p.strip_prefix(d).unwrap().to_path_buf(),
                    fs::read(&p).unwrap(),
                )
            })
            .collect();
        f.sort();
        f
    };
    assert_eq!(files(&a), files(&b));
    let again = build_index(&sample_archive(), &a);
    assert!(again.contains("already up to date"), "{again}");
    assert_eq!(files(&a), files(&b));
}

/// Objects added, changed and deleted after indexing: with `--index-check full` the answer
/// stays the scan's, and the lookup says what it read again and what is gone; an update
/// reports each (exit 1) and then indexes only those.
#[test]
fn a_stale_index_is_never_trusted_by_the_full_check() {
    let dir = tempfile::tempdir().unwrap();
    let (root, index, logs) = indexed_copy(dir.path(), "index");
    // Changed: another log file's bytes under this one's name (a different size).
    let (changed, donor, deleted) = (&logs[0], &logs[logs.len() - 1], &logs[1]);
    fs::copy(donor, changed).unwrap();
    fs::remove_file(deleted).unwrap();
    // Added: a copy under a new name, delivered a minute later.
    let name = s(&logs[2]).replace(".json.gz", "").to_string();
    let added = format!(
        "{}_{}.json.gz",
        &name[..name.rfind('_').unwrap()],
        "ffffffffffffffff"
    );
    fs::copy(&logs[2], &added).unwrap();
    let donor_values = attribute_values(&root, false);
    let mut checked = 0;
    for (key, values) in donor_values
        .iter()
        .filter(|(k, _)| ["EventId", "EventName"].contains(k))
    {
        for value in values.iter().step_by(7) {
            let (_, stderr) = full_check_answer(&root, &index, &attr(key, value));
            assert!(stderr.contains("1 not indexed (scanned)"), "{stderr}");
            assert!(
                stderr.contains("1 changed since indexed (re-read)"),
                "{stderr}"
            );
            assert!(stderr.contains("1 deleted since indexed"), "{stderr}");
            assert!(
                stderr.contains("changed since indexed (size, ETag or modification time)"),
                "{stderr}"
            );
            assert!(stderr.contains("no longer in the archive"), "{stderr}");
            checked += 1;
        }
    }
    assert!(checked > 5);
    let (code, _, update) = run(&["index", "--source", s(&root), "--index", s(&index)]);
    assert_eq!(code, 1, "a changed, a deleted and an added file: {update}");
    assert!(update.contains("2 objects indexed"), "{update}");
    assert!(
        update.contains("1 new, 1 changed since indexed"),
        "{update}"
    );
    assert!(update.contains("generation 2 published"), "{update}");
    let (_, stderr) = same_answer(&root, &index, &attr("EventName", "ConsoleLogin"));
    assert!(
        stderr.contains("0 not indexed (scanned), 0 changed since indexed"),
        "{stderr}"
    );
}

/// A group (account x region x delivery month) deleted whole is named as deleted, as one
/// file of it would be, by lookups, trace and summary. (Before: its rows were let go with the
/// groups nothing was listed in, and the lookup said "0 deleted since indexed"; trace and
/// summary always said 0, unchecked.)
#[test]
fn a_month_deleted_whole_is_named_as_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let (root, index, _) = indexed_copy(dir.path(), "index");
    let month =
        root.join("org-trail/AWSLogs/o-a1b2c3d4e5/345678901234/CloudTrail/us-east-1/2024/01");
    let gone = trailscan_fixtures::files_under(&month).unwrap().len();
    assert!(gone > 1);
    fs::remove_dir_all(&month).unwrap();
    let (_, stderr) = full_check_answer(&root, &index, &attr("EventName", "ConsoleLogin"));
    assert!(
        stderr.contains(&format!("{gone} deleted since indexed")),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("no longer in the archive").count(),
        gone,
        "each named: {stderr}"
    );
    // trace and summary check too, rather than print "0 deleted since indexed" unchecked.
    for command in ["trace", "summary"] {
        let (code, _, stderr) = run(&[
            command,
            "--source",
            s(&root),
            "--index",
            s(&index),
            "--index-check",
            "full",
            "--principal",
            "arn:aws:iam::210987654321:user/alice",
        ]);
        assert_eq!(code, 0, "{stderr}");
        assert!(
            stderr.contains(&format!("{gone} deleted since indexed")),
            "{command}: {stderr}"
        );
    }
}

/// Damaged, missing, foreign and newer-format indexes are errors naming the file (exit 255),
/// never a shorter answer; --no-index is the way around. The full check reads every segment
/// of the window; the sealed one reads what the question needs, so that a damaged file it
/// did not need leaves the answer the scan's, and one it needed is the same error.
#[test]
fn a_damaged_or_foreign_index_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good");
    build_index(&sample_archive(), &good);
    let sample = sample_archive();
    let lookup = |index: &Path, extra: &[&str]| {
        let mut args = vec![
            "lookup-events",
            "--source",
            s(&sample),
            "--lookup-attributes",
            "AttributeKey=EventName,AttributeValue=ConsoleLogin",
            "--index",
            s(index),
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let (_, scan, _) = lookup(&good, &["--no-index"]);
    let damage = |name: &str, how: &dyn Fn(&Path)| -> (i32, String) {
        let broken = dir.path().join(name);
        copy_tree(&good, &broken);
        how(&broken);
        let (sealed_code, sealed_out, sealed_err) = lookup(&broken, &[]);
        assert!(
            (sealed_code == 255 && sealed_out.is_empty())
                || (sealed_code, &sealed_out) == (0, &scan),
            "{name}: the sealed check answered otherwise: {sealed_err}"
        );
        let (code, out, err) = lookup(&broken, &["--index-check", "full"]);
        assert!(out.is_empty(), "{name}: printed an answer");
        let (no_index_code, no_index_out, _) = lookup(&broken, &["--no-index"]);
        assert_eq!(
            (no_index_code, &no_index_out),
            (0, &scan),
            "{name}: --no-index"
        );
        (code, err)
    };
    let segment = |d: &Path| {
        let mut segs = trailscan_fixtures::files_under(&d.join("segments")).unwrap();
        segs.sort();
        segs.remove(0)
    };
    let snapshot = |d: &Path| d.join("snapshots/0000000001.json");
    let (code, err) = damage("truncated", &|d| {
        let seg = segment(d);
        let bytes = fs::read(&seg).unwrap();
        fs::write(&seg, &bytes[..bytes.len() / 2]).unwrap();
    });
    assert_eq!(code, 255);
    assert!(
        err.contains("damaged index file") && err.contains("segments/"),
        "{err}"
    );
    let (code, err) = damage("flipped", &|d| {
        let seg = segment(d);
        let mut bytes = fs::read(&seg).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 1;
        fs::write(&seg, bytes).unwrap();
    });
    assert_eq!(code, 255);
    assert!(err.contains("XXH3 checksum is not the snapshot"), "{err}");
    let (code, err) = damage("missing", &|d| fs::remove_file(segment(d)).unwrap());
    assert_eq!(code, 255);
    assert!(err.contains("missing or unreadable"), "{err}");
    let (code, err) = damage("newer", &|d| {
        let mut doc: serde_json::Value =
            serde_json::from_slice(&fs::read(snapshot(d)).unwrap()).unwrap();
        doc["version"] = serde_json::json!(99);
        fs::write(snapshot(d), serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    });
    assert_eq!(code, 255);
    assert!(
        err.contains("index format 99") && err.contains("0000000001.json"),
        "{err}"
    );
    // A snapshot that names any other key as a segment (another index's, a log file, a
    // path out of the index) is refused before anything is read.
    let (code, err) = damage("elsewhere", &|d| {
        let mut doc: serde_json::Value =
            serde_json::from_slice(&fs::read(snapshot(d)).unwrap()).unwrap();
        doc["segments"][0]["file"] = serde_json::json!("../good/snapshots/0000000001.json");
        fs::write(snapshot(d), serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    });
    assert_eq!(code, 255);
    assert!(
        err.contains("names a segment \"../good/snapshots/0000000001.json\""),
        "{err}"
    );
    let (code, err) = damage("foreign", &|d| {
        fs::write(snapshot(d), b"{\"format\":\"something-else\"}").unwrap();
    });
    assert_eq!(code, 255);
    assert!(err.contains("not a trailscan index"), "{err}");
    let (code, err) = damage("garbage", &|d| fs::write(snapshot(d), b"\x00\x01").unwrap());
    assert_eq!(code, 255);
    assert!(
        err.contains("damaged index file") && err.contains("not JSON"),
        "{err}"
    );
    let (code, _, err) = lookup(&dir.path().join("nowhere"), &[]);
    assert_eq!(code, 255);
    assert!(err.contains("nowhere"), "{err}");
    // Summaries, which the sealed check reads first: each bucket is checked as it is probed.
    let summaries = |d: &Path| -> Vec<PathBuf> {
        trailscan_fixtures::files_under(&d.join("segments"))
            .unwrap()
            .into_iter()
            .filter(|p| s(p).ends_with(".summary"))
            .collect()
    };
    let summary_damage = |name: &str, how: &dyn Fn(&Path)| -> String {
        let broken = dir.path().join(name);
        copy_tree(&good, &broken);
        summaries(&broken).iter().for_each(|p| how(p));
        let (code, out, err) = lookup(&broken, &[]);
        assert_eq!(code, 255, "{name}: {err}");
        assert!(out.is_empty(), "{name}: printed an answer");
        assert!(err.contains(".summary"), "{name}: {err}");
        err
    };
    let err = summary_damage("summary-flipped", &|p| {
        let mut bytes = fs::read(p).unwrap();
        // Past the part's header: every bucket's filter.
        bytes[1032..].iter_mut().for_each(|b| *b ^= 0x55);
        fs::write(p, bytes).unwrap();
    });
    assert!(err.contains("XXH3 checksum does not match"), "{err}");
    let err = summary_damage("summary-truncated", &|p| {
        let bytes = fs::read(p).unwrap();
        fs::write(p, &bytes[..bytes.len() - 2]).unwrap();
    });
    assert!(
        err.contains("not the") && err.contains("the snapshot says"),
        "{err}"
    );
    let err = summary_damage("summary-missing", &|p| fs::remove_file(p).unwrap());
    assert!(err.contains("missing or unreadable"), "{err}");
}

/// `index --gc` removes what neither the current generation nor the one before it names, and
/// nothing else; lookups answer as before.
#[test]
fn gc_keeps_the_last_two_generations() {
    let dir = tempfile::tempdir().unwrap();
    let (root, index, logs) = indexed_copy(dir.path(), "index");
    // Three updates (each reported: sealed days changed): a file added, one deleted (its
    // group's segments rewritten without it), another added.
    let update = || {
        let (code, _, err) = run(&["index", "--source", s(&root), "--index", s(&index)]);
        assert_eq!(code, 1, "{err}");
    };
    let add = |log: &Path, i: usize| {
        let name = s(log).replace(".json.gz", "");
        let added = format!(
            "{}_{i}fffffffffffffff.json.gz",
            &name[..name.rfind('_').unwrap()]
        );
        fs::copy(log, added).unwrap();
    };
    add(&logs[0], 0);
    update();
    fs::remove_file(&logs[1]).unwrap();
    update();
    add(&logs[2], 2);
    update();
    let count = |folder: &str| fs::read_dir(index.join(folder)).unwrap().count();
    let (snapshots, segments) = (count("snapshots"), count("segments"));
    assert_eq!(snapshots, 4);
    fs::write(index.join("segments/notes.txt"), b"not the index's").unwrap();
    let (code, _, err) = run(&["index", "--index", s(&index), "--gc"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("neither generation 4 nor the one before it names"),
        "{err}"
    );
    assert_eq!(count("snapshots"), 2);
    assert!(
        count("segments") < segments + 1,
        "segments only generation 2 named: {err}"
    );
    assert!(
        index.join("segments/notes.txt").exists(),
        "only the index's own names"
    );
    let (_, err) = same_answer(&root, &index, &attr("EventName", "ConsoleLogin"));
    assert!(err.contains("via the index"), "{err}");
    let (code, _, err) = run(&["index", "--index", s(&index), "--gc"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("removed 0 files"), "{err}");
}

/// Two updates from the same generation: the one that publishes second fails and says so,
/// and the index stays the first one's, whole.
#[test]
fn an_update_that_loses_the_race_publishes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (root, index, _) = indexed_copy(dir.path(), "index");
    let store = trailscan_archive::LocalFolder::open(&index).unwrap();
    let index_store = trailscan_index::IndexStore::new(&store);
    let current = index_store.current().unwrap().unwrap();
    let mut next = current.clone();
    next.generation += 1;
    // Two runs both read generation 1 and publish 2: the first wins, the second is refused.
    index_store.publish(&next).unwrap();
    let raced = index_store.publish(&next).unwrap_err();
    assert!(raced.to_string().contains("published first"), "{raced}");
    assert!(raced.to_string().contains("0000000002.json"), "{raced}");
    assert_eq!(index_store.current().unwrap().unwrap(), next);
    // The next update starts from the winner's generation.
    let log = trailscan_fixtures::files_under(&root)
        .unwrap()
        .into_iter()
        .find(|p| p.to_string_lossy().contains("/CloudTrail/"))
        .unwrap();
    let name = s(&log).replace(".json.gz", "");
    let added = format!(
        "{}_ffffffffffffffff.json.gz",
        &name[..name.rfind('_').unwrap()]
    );
    fs::copy(&log, added).unwrap();
    // Added to a sealed day (the sample's days are long past): reported, and indexed.
    let (code, _, update) = run(&["index", "--source", s(&root), "--index", s(&index)]);
    assert_eq!(code, 1, "{update}");
    assert!(
        update.contains("a sealed day whose files changed"),
        "{update}"
    );
    assert!(update.contains("generation 3 published"), "{update}");
    same_answer(&root, &index, &attr("EventName", "ConsoleLogin"));
}

#[test]
fn verify_rebuilds_every_filter_and_checks_the_digests_hash_values() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    build_index(&sample_archive(), &index);
    let (code, _, err) = run(&[
        "index",
        "--verify",
        "--sample",
        "1",
        "--source",
        s(&sample_archive()),
        "--index",
        s(&index),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("0 differ"), "{err}");
    let matched: u64 = err
        .split("digests: ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{err}"));
    assert!(matched > 0, "{err}");
    // A log file changed after indexing is a difference.
    let (root, index2, logs) = indexed_copy(dir.path(), "index2");
    fs::copy(&logs[3], &logs[0]).unwrap();
    let (code, _, err) = run(&[
        "index",
        "--verify",
        "--sample",
        "1",
        "--source",
        s(&root),
        "--index",
        s(&index2),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("the index differs from the archive: changed since indexed"),
        "{err}"
    );
}

/// The index in a bucket, over an archive in a bucket: built with create-only writes (S3
/// conditional PUTs), updated, answering as the scan of the bucket does.
#[test]
fn an_index_in_s3_over_an_archive_in_s3() {
    let Some(env) = common::s3::server() else {
        return;
    };
    common::s3::upload(&env, "trailscan-index-source", "trail");
    common::s3::aws_s3(
        &env,
        &["s3api", "create-bucket", "--bucket", "trailscan-index"],
    );
    let run_s3 = |args: &[&str]| run_against(&env, args);
    let (source, index) = (
        "s3://trailscan-index-source/trail",
        "s3://trailscan-index/idx",
    );
    let (code, _, err) = run_s3(&["index", "--source", source, "--index", index]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("generation 1 published"), "{err}");
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
    // A needle: a few dozen LISTs of the archive's folders and one GET, its one candidate;
    // of the index, its snapshot and the segments of the listed groups.
    let needle = attribute_values(&sample_archive(), false)["EventId"]
        .iter()
        .nth(100)
        .unwrap()
        .clone();
    let lookup_s3 = |attribute: &str, extra: &[&str]| {
        let mut args = vec!["lookup-events", "--source", source, "--index", index];
        args.extend(["--lookup-attributes", attribute]);
        args.extend_from_slice(extra);
        run_s3(&args)
    };
    let attribute = format!("AttributeKey=EventId,AttributeValue={needle}");
    let (code, out, err) = lookup_s3(&attribute, &[]);
    assert_eq!(code, 0, "{err}");
    assert!(String::from_utf8_lossy(&out).contains(&needle));
    let count = |what: &str, kind: &str| -> u64 {
        let line = err
            .lines()
            .find(|l| l.contains("S3: "))
            .unwrap_or_else(|| panic!("{err}"));
        let part = line.split(what).nth(1).unwrap_or_else(|| panic!("{line}"));
        let before = part.split(&format!(" {kind}")).next().unwrap();
        before
            .rsplit(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(count("source ", "GET"), 1, "{err}");
    let lists = count("source ", "LIST");
    assert!((10..=60).contains(&lists), "{lists} LISTs: {err}");
    // The index: no listing of its generations; the pointer, the snapshot it names, the
    // next generation asked for (not there), the summaries of the window's 7 segments, and
    // the one segment whose summary may hold the id.
    assert_eq!(count("index ", "LIST"), 0, "{err}");
    assert_eq!(
        count("index ", "GET"),
        3 + 7 + 1,
        "the pointer, the snapshot, the next one, 7 summaries, 1 segment: {err}"
    );
    // The same index answers for the copy on disk too (its keys are the bucket's).
    let disk = sample_archive();
    let (code, out, err) = run_s3(&[
        "lookup-events",
        "--source",
        s(&disk),
        "--index",
        index,
        "--lookup-attributes",
        "AttributeKey=EventName,AttributeValue=ConsoleLogin",
    ]);
    let (_, scan_out, _) = run(&[
        "lookup-events",
        "--source",
        s(&disk),
        "--lookup-attributes",
        "AttributeKey=EventName,AttributeValue=ConsoleLogin",
    ]);
    assert_eq!((code, out), (0, scan_out), "{err}");
    // A segment replaced in S3 by a larger object is refused from the GET's Content-Length,
    // before its body is fetched.
    let listed = std::process::Command::new(common::s3::aws_cli())
        .args(["s3", "ls", "s3://trailscan-index/idx/segments/"])
        .args(["--endpoint-url", &env["AWS_ENDPOINT_URL"]])
        .envs(&env)
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    let segment = listed
        .split_whitespace()
        .find(|w| w.ends_with(".parquet"))
        .unwrap_or_else(|| panic!("{listed}"));
    let big = tempfile::NamedTempFile::new().unwrap();
    fs::write(big.path(), vec![b'x'; 4 << 20]).unwrap();
    let target = format!("s3://trailscan-index/idx/segments/{segment}");
    common::s3::aws_s3(
        &env,
        &["s3", "cp", "--only-show-errors", s(big.path()), &target],
    );
    let console_login = "AttributeKey=EventName,AttributeValue=ConsoleLogin";
    let (code, out, err) = lookup_s3(console_login, &["--index-check", "full"]);
    assert_eq!(code, 255, "{err}");
    assert!(out.is_empty());
    assert!(
        err.contains(&format!("{} bytes, more than the", 4 << 20)) && err.contains("not fetched"),
        "{err}"
    );
}

/// The S3 requests of a needle through an index in S3 do not grow with the sealed days of the
/// archive: 30 days and 300 days of one account's trail take the same requests of the
/// source, where the full check's listing grows with the days.
#[test]
fn an_s3_needle_costs_the_same_over_30_and_300_sealed_days() {
    let Some(env) = common::s3::server() else {
        return;
    };
    let run_s3 = |args: &[&str]| run_against(&env, args);
    let dir = tempfile::tempdir().unwrap();
    common::s3::aws_s3(
        &env,
        &[
            "s3api",
            "create-bucket",
            "--bucket",
            "trailscan-years-index",
        ],
    );
    let mut counts = Vec::new();
    for days in [30u32, 300] {
        let root = dir.path().join(format!("days-{days}"));
        let spec = trailscan_fixtures::ArchiveSpec {
            seed: 5,
            trails: vec![trailscan_fixtures::TrailSpec {
                prefix: String::new(),
                org_id: None,
                accounts: vec!["123456789012".into()],
            }],
            regions: vec!["us-east-1".into()],
            days,
            // More keys than a LIST page holds at 300 days, fewer at 30.
            files_per_day: 4,
            events_per_file: 2,
            insights: false,
            extras: false,
            signed_bucket: None,
            ..trailscan_fixtures::ArchiveSpec::sample()
        };
        trailscan_fixtures::generate(&spec, &root).unwrap();
        let bucket = format!("trailscan-years-{days}");
        common::s3::upload_tree(&env, &root, &bucket, "trail");
        let source = format!("s3://{bucket}/trail");
        let index = format!("s3://trailscan-years-index/days-{days}");
        let (code, _, err) = run_s3(&["index", "--source", &source, "--index", &index]);
        assert_eq!(code, 0, "{err}");
        let needle = attribute_values(&root, false)["EventId"]
            .iter()
            .nth(7)
            .unwrap()
            .clone();
        let attribute = format!("AttributeKey=EventId,AttributeValue={needle}");
        let requests = |mode: &str| -> String {
            let (code, out, err) = run_s3(&[
                "lookup-events",
                "--source",
                &source,
                "--index",
                &index,
                "--index-check",
                mode,
                "--lookup-attributes",
                &attribute,
            ]);
            assert_eq!(code, 0, "{err}");
            assert!(String::from_utf8_lossy(&out).contains(&needle), "{err}");
            let line = err.lines().find(|l| l.contains("S3: source")).unwrap();
            line.split("; index").next().unwrap().to_string()
        };
        counts.push((requests("sealed"), requests("full")));
    }
    let (sealed_30, full_30) = &counts[0];
    let (sealed_300, full_300) = &counts[1];
    assert_eq!(sealed_30, sealed_300, "the same requests of the source");
    assert_ne!(
        full_30, full_300,
        "the full check lists every day: {full_30} / {full_300}"
    );
}

/// An index of a whole bucket read under one of its prefixes: the rows of a sibling prefix
/// that starts with the same letters (`trail` and `trailer`) are not this source's, and are
/// never reported as deleted. (Before: every `trailer/` row was "deleted since indexed".)
#[test]
fn rows_of_a_sibling_prefix_are_not_deleted_ones() {
    let Some(env) = common::s3::server() else {
        return;
    };
    let bucket = "trailscan-index-sibling-prefixes";
    common::s3::upload(&env, bucket, "trail");
    let sample = sample_archive();
    common::s3::aws_s3(
        &env,
        &[
            "s3",
            "cp",
            "--recursive",
            "--only-show-errors",
            s(&sample),
            &format!("s3://{bucket}/trailer"),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    let run_s3 = |args: &[&str]| {
        let (code, _, stderr) = run_against(&env, args);
        (Some(code), stderr)
    };
    let index_of = |source: &str| run_s3(&["index", "--source", source, "--index", s(&index)]);
    let (code, err) = index_of(&format!("s3://{bucket}"));
    assert_eq!(code, Some(0), "{err}");
    let (code, err) = run_s3(&[
        "lookup-events",
        "--source",
        &format!("s3://{bucket}/trail"),
        "--index",
        s(&index),
        "--lookup-attributes",
        "AttributeKey=EventName,AttributeValue=ConsoleLogin",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("no longer in the archive"), "{err}");
    assert!(err.contains(", 0 deleted since indexed"), "{err}");
    // An update from one prefix re-checks that prefix's sealed days only: the sibling's are
    // not broken seals (nor, next time, broken again).
    for _ in 0..2 {
        let (code, err) = index_of(&format!("s3://{bucket}/trail"));
        assert_eq!(code, Some(0), "{err}");
        assert!(err.contains("0 changed since sealed"), "{err}");
    }
    let (code, err) = index_of(&format!("s3://{bucket}"));
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("0 changed since sealed"), "{err}");
}

/// A new index is never written among other files: `--index` given the archive's own folder
/// (or any folder holding something else) is refused, and nothing is written there.
#[test]
fn an_index_is_not_written_among_other_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("archive");
    copy_tree(&sample_archive(), &root);
    let before = common::tree(&root);
    let (code, _, err) = run(&["index", "--source", s(&root), "--index", s(&root)]);
    assert_eq!(code, 255, "{err}");
    assert!(
        err.contains("holds other files and no trailscan index: give an empty folder"),
        "{err}"
    );
    assert!(
        common::tree(&root) == before,
        "something was written into the archive"
    );
    // An existing index is updated where it is, and an empty folder takes a new one.
    let empty = dir.path().join("empty");
    fs::create_dir(&empty).unwrap();
    build_index(&root, &empty);
    build_index(&root, &empty);
}

/// `--verify` never passes having compared nothing: the default 1% of the small sample still
/// rebuilds one object, and an index of other keys (the same files under another prefix)
/// compares nothing and says so, exit 1. (Before: exit 0 in both, 0 objects compared.)
#[test]
fn verify_fails_when_it_compared_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let sample = sample_archive();
    let (code, _, err) = run(&[
        "index",
        "--source",
        s(&sample),
        "--index",
        s(&dir.path().join("own")),
    ]);
    assert_eq!(code, 0, "{err}");
    let own = dir.path().join("own");
    let (code, _, err) = run(&[
        "index",
        "--source",
        s(&sample),
        "--index",
        s(&own),
        "--verify",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        !err.contains(": 0 of "),
        "at least one object rebuilt: {err}"
    );
    // The same files one folder down: the index's keys all start with `trail/`.
    let root = dir.path().join("root");
    common::copy_tree(&sample, &root.join("trail"));
    let other = dir.path().join("other");
    let (code, _, err) = run(&["index", "--source", s(&root), "--index", s(&other)]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(&[
        "index",
        "--source",
        s(&sample),
        "--index",
        s(&other),
        "--verify",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("nothing was compared"), "{err}");
}

/// `--seal-after` such that the days up to `last` (`YYYY-MM-DD`) are sealed and the days
/// after stay open, whenever the test runs.
fn seal_through(last: &str) -> String {
    let (y, m, d) = (&last[..4], &last[5..7], &last[8..10]);
    let day = trailscan_layout::time::days_from_civil(
        y.parse().unwrap(),
        m.parse().unwrap(),
        d.parse().unwrap(),
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // Day `last` ends at (day + 1) * 86400; the next one is not over the lag.
    format!("{}s", now - (day + 1) * 86_400 - 3600)
}

/// `trailscan index` of `root` into `index` with the days up to `last` sealed: (exit code,
/// stderr).
fn index_sealing_through(root: &Path, index: &Path, last: &str) -> (i32, String) {
    let seal = seal_through(last);
    let args = [
        "index",
        "--source",
        s(root),
        "--index",
        s(index),
        "--seal-after",
        &seal,
    ];
    let (code, _, err) = run(&args);
    (code, err)
}

/// The files of a generated archive's day (`DD` of January 2024).
fn files_of_day(root: &Path, day: &str) -> Vec<PathBuf> {
    trailscan_fixtures::files_under(root)
        .unwrap()
        .into_iter()
        .filter(|p| s(p).contains(&format!("/2024/01/{day}/")))
        .collect()
}

fn copy_files(from: &Path, to: &Path, files: Vec<PathBuf>) {
    for f in files {
        let dest = to.join(f.strip_prefix(from).unwrap());
        fs::create_dir_all(dest.parent().unwrap()).unwrap();
        fs::copy(&f, dest).unwrap();
    }
}

/// An update lists every day and re-checks every sealed one: new files of open days are
/// indexed quietly; a file changed in a sealed day breaks its seal, which the update names
/// (exit 1) before indexing the file again. Lookups answer as the scan does in both modes.
#[test]
fn an_update_rechecks_every_seal_and_indexes_what_is_new() {
    let dir = tempfile::tempdir().unwrap();
    let full = generated_archive(dir.path(), 6);
    let root = dir.path().join("growing");
    for d in ["01", "02", "03", "04"] {
        copy_files(&full, &root, files_of_day(&full, d));
    }
    let index = dir.path().join("index");
    let update = |expected: i32| {
        let (code, err) = index_sealing_through(&root, &index, "2024-01-03");
        assert_eq!(code, expected, "{err}");
        err
    };
    let first = update(0);
    assert!(first.contains("sealed days with files: "), "{first}");
    let last: Vec<PathBuf> = [files_of_day(&full, "05"), files_of_day(&full, "06")].concat();
    let is_log = |p: &PathBuf| {
        (s(p).contains("/CloudTrail/") || s(p).contains("/CloudTrail-Insight/"))
            && s(p).ends_with(".json.gz")
    };
    let new_logs = last.iter().filter(|p| is_log(p)).count();
    copy_files(&full, &root, last);
    let second = update(0);
    assert!(second.contains(" 0 changed since indexed"), "{second}");
    assert!(
        second.contains(&format!("{new_logs} objects indexed")),
        "{new_logs}: {second}"
    );
    assert!(second.contains("0 changed since sealed"), "{second}");
    // A file of the first (sealed) day replaced by another's bytes.
    let old_log = files_of_day(&root, "01")
        .into_iter()
        .filter(|p| s(p).contains("/CloudTrail/"))
        .min()
        .unwrap();
    let donor = files_of_day(&root, "05")
        .into_iter()
        .filter(|p| s(p).contains("/CloudTrail/"))
        .max()
        .unwrap();
    fs::copy(&donor, &old_log).unwrap();
    let third = update(1);
    assert!(
        third.contains("/2024/01/01: a sealed day whose files changed since it was sealed ("),
        "{third}"
    );
    assert!(third.contains("1 changed since indexed"), "{third}");
    assert!(third.contains("1 changed since sealed"), "{third}");
    // Indexed again as it is now: every lookup is the scan's, in both modes.
    let values = attribute_values(&root, false);
    for id in values["EventId"].iter().step_by(97) {
        same_answer(&root, &index, &attr("EventId", id));
    }
    let again = update(0);
    assert!(again.contains("already up to date"), "{again}");
}

/// The trust rules of `--index-check sealed`: a file added to an open day is found (listed,
/// not indexed, scanned); one added to a sealed day is not, where `--index-check full` finds
/// it and `trailscan index` reports it (exit 1); a candidate changed since indexed is caught
/// as it is read (reported, read as it is now, exit 1).
#[test]
fn sealed_days_are_trusted_open_days_listed_and_what_is_read_verified() {
    let dir = tempfile::tempdir().unwrap();
    let full = generated_archive(&dir.path().join("generated"), 4);
    let root = dir.path().join("archive");
    for d in ["01", "02", "03"] {
        copy_files(&full, &root, files_of_day(&full, d));
    }
    let index = dir.path().join("index");
    let (code, err) = index_sealing_through(&root, &index, "2024-01-02");
    assert_eq!(code, 0, "{err}");
    let logs_of = |day: &str| -> Vec<PathBuf> {
        files_of_day(&full, day)
            .into_iter()
            .filter(|p| s(p).contains("/CloudTrail/") && s(p).ends_with(".json.gz"))
            .collect()
    };
    let lookup = |mode: &str, id: &str| {
        let attribute = format!("AttributeKey=EventId,AttributeValue={id}");
        run(&[
            "lookup-events",
            "--source",
            s(&root),
            "--index",
            s(&index),
            "--index-check",
            mode,
            "--lookup-attributes",
            &attribute,
        ])
    };
    let first_id = |file: &Path| -> String {
        let mut json = String::new();
        use std::io::Read;
        flate2::read::GzDecoder::new(fs::File::open(file).unwrap())
            .read_to_string(&mut json)
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v["Records"][0]["eventID"].as_str().unwrap().to_string()
    };
    // Open day (the 3rd is after the seal): a file of the 4th, added, is listed and scanned.
    let open_file = logs_of("04").remove(0);
    let id = first_id(&open_file);
    copy_files(&full, &root, vec![open_file]);
    let (code, out, err) = lookup("sealed", &id);
    assert_eq!(code, 0, "{err}");
    assert!(String::from_utf8_lossy(&out).contains(&id), "{err}");
    assert!(err.contains("1 not indexed (scanned)"), "{err}");
    // Sealed day: a file of the 1st's folder under a new name is not listed by the sealed
    // check (the trust it is built on), but is by the full one, and `index` reports it.
    let sealed_donor = logs_of("04").remove(1);
    let id = first_id(&sealed_donor);
    let relative = s(sealed_donor.strip_prefix(&full).unwrap())
        .replace("/2024/01/04/", "/2024/01/01/")
        .replace("20240104T", "20240101T");
    let added = root.join(relative);
    assert!(added.parent().unwrap().is_dir(), "{}", added.display());
    fs::copy(&sealed_donor, &added).unwrap();
    let (code, out, err) = lookup("sealed", &id);
    assert_eq!(code, 0, "{err}");
    assert!(!String::from_utf8_lossy(&out).contains(&id), "{err}");
    let (code, out, err) = lookup("full", &id);
    assert_eq!(code, 0, "{err}");
    assert!(String::from_utf8_lossy(&out).contains(&id), "{err}");
    assert!(
        err.contains("2 not indexed (scanned)"),
        "the open day's and this: {err}"
    );
    // A candidate of a sealed day replaced by other bytes: caught as it is read.
    let victim = files_of_day(&root, "02")
        .into_iter()
        .filter(|p| s(p).contains("/CloudTrail/") && s(p).ends_with(".json.gz"))
        .min()
        .unwrap();
    let victim_id = first_id(&victim);
    let size = fs::metadata(&victim).unwrap().len();
    let replacement = files_of_day(&root, "03")
        .into_iter()
        .find(|p| s(p).contains("/CloudTrail/") && fs::metadata(p).unwrap().len() != size)
        .unwrap();
    fs::copy(&replacement, &victim).unwrap();
    let (code, _, err) = lookup("sealed", &victim_id);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("changed since it was listed or indexed") && err.contains(s(&victim)),
        "{err}"
    );
    // The update reports the sealed days that changed, and indexes them as they are now.
    let (code, err) = index_sealing_through(&root, &index, "2024-01-02");
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("/2024/01/01: a sealed day whose files changed since it was sealed"),
        "{err}"
    );
    assert!(
        err.contains("/2024/01/02: a sealed day whose files changed since it was sealed"),
        "{err}"
    );
    let (code, out, err) = lookup("sealed", &id);
    assert_eq!(code, 0, "{err}");
    assert!(String::from_utf8_lossy(&out).contains(&id), "{err}");
}

/// Sharded lookups and exports take --index too: each shard reads its own units' candidates,
/// and the merge prints the unsharded answer.
#[test]
fn sharded_lookups_and_exports_with_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let index = dir.path().join("index");
    let sample = sample_archive();
    build_index(&sample, &index);
    let out = dir.path().join("shards");
    let query = [
        "--lookup-attributes",
        "AttributeKey=EventSource,AttributeValue=s3.amazonaws.com",
        "--include-data-events",
    ];
    for k in 0..3 {
        let shard = format!("{k}/3");
        let mut args = vec![
            "lookup-events",
            "--source",
            s(&sample),
            "--index",
            s(&index),
            "--shard",
            &shard,
            "--run-id",
            "r1",
            "--out",
            s(&out),
        ];
        args.extend(query);
        let (code, _, err) = run(&args);
        assert_eq!(code, 0, "{err}");
        assert!(err.contains("via the index"), "{err}");
    }
    let (code, merged, err) = run(&["merge", s(&out.join("r1"))]);
    assert_eq!(code, 0, "{err}");
    // The run's folder named as every other command names what it reads.
    let (code, merged_too, err) = run(&["merge", "--source", s(&out.join("r1"))]);
    assert_eq!((code, &merged_too), (0, &merged), "{err}");
    assert!(err.contains("trailscan: merged 3 shards"), "{err}");
    // -q: the answer only.
    let (code, merged_quiet, err) = run(&["merge", "-q", s(&out.join("r1"))]);
    assert_eq!((code, &merged_quiet, err.as_str()), (0, &merged, ""));
    let mut scan = vec!["lookup-events", "--source", s(&sample)];
    scan.extend(query);
    let (_, unsharded, _) = run(&scan);
    assert_eq!(
        String::from_utf8_lossy(&merged),
        String::from_utf8_lossy(&unsharded)
    );
    // Export of a window through the index writes the scan's rows.
    let export = |to: &Path, with_index: bool| {
        let mut args = vec![
            "export",
            "--source",
            s(&sample),
            "--format",
            "jsonl",
            "--out",
            s(to),
            "--start-time",
            "2024-01-01T09:00:00Z",
            "--end-time",
            "2024-01-01T15:00:00Z",
            "--include-data-events",
        ];
        if with_index {
            args.extend(["--index", s(&index)]);
        }
        let (code, _, err) = run(&args);
        assert_eq!(code, 0, "{err}");
        err
    };
    let (a, b) = (
        dir.path().join("export-scan"),
        dir.path().join("export-index"),
    );
    export(&a, false);
    let err = export(&b, true);
    assert!(err.contains("via the index"), "{err}");
    let rows = |d: &Path| -> Vec<String> {
        let mut lines: Vec<String> = trailscan_fixtures::files_under(d)
            .unwrap()
            .into_iter()
            .flat_map(|f| {
                fs::read_to_string(f)
                    .unwrap()
                    .lines()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect();
        lines.sort();
        lines
    };
    let scanned = rows(&a);
    assert!(scanned.len() > 50, "{} rows", scanned.len());
    assert_eq!(scanned, rows(&b));
}
