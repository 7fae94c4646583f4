//! Archives an attacker may have written to, and runs that die mid-write.
//!
//! - Keys that would name a path outside the destination (`..`, a leading `/`, empty
//!   segments, backslashes) come from a real listing: the S3 test server behind a proxy that
//!   answers for them as real S3 does (SeaweedFS refuses to store them). `acquire` copies
//!   everything else, refuses and names each of them, and writes nothing outside its folder.
//! - A symbolic link inside the destination is never written through.
//! - `acquire`, `export`, a sharded run and `index` are killed (SIGKILL) at several points and
//!   run again: the result is byte for byte an uninterrupted run's, and the index in between
//!   is whole or absent, never torn.
//! - A full disk and a read-only destination are errors naming the path, and the work done
//!   before them is kept: the next run finishes it.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::hostile_s3::{self, HostileObject};
use common::s3::{server, upload, upload_tree};
use common::{sample_archive, tree};

/// `trailscan ARGS` with the S3 server's environment (and nothing of the test's own that
/// would change a run).
fn trailscan_cmd(env: &HashMap<String, String>, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_trailscan"));
    cmd.args(args)
        .envs(env)
        .env_remove("TRAILSCAN_SOURCE")
        .env_remove("TRAILSCAN_INDEX")
        .env_remove("AWS_BATCH_JOB_ARRAY_INDEX")
        .env_remove("JOB_COMPLETION_INDEX");
    cmd
}

fn run(env: &HashMap<String, String>, args: &[&str]) -> Output {
    trailscan_cmd(env, args).output().unwrap()
}

fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The names in a tree, for a readable failure.
fn names(tree: &BTreeMap<String, Vec<u8>>) -> Vec<&str> {
    tree.keys().map(String::as_str).collect()
}

/// A log file of the sample archive whose key starts at `AWSLogs/`: its key below
/// `AWSLogs/` and its bytes.
fn sample_log() -> (String, Vec<u8>) {
    let root = sample_archive();
    let path = trailscan_fixtures::files_under(&root.join("AWSLogs/123456789012/CloudTrail"))
        .unwrap()
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with(".json.gz"))
        .expect("a log file in the sample archive");
    let rel = path
        .strip_prefix(root.join("AWSLogs"))
        .unwrap()
        .to_string_lossy()
        .into_owned();
    (rel, fs::read(&path).unwrap())
}

#[test]
fn keys_that_would_leave_the_copy_are_refused_and_named() {
    let Some(env) = server() else { return };
    let bucket = "trailscan-hostile";
    upload(&env, bucket, "");
    let base = tempfile::tempdir().unwrap();
    let (below_awslogs, body) = sample_log();
    let absolute = base.path().join("absolute");
    let hostile = [
        format!("../escaped/AWSLogs/{below_awslogs}"),
        format!("{}/AWSLogs/{below_awslogs}", absolute.display()),
        format!("AWSLogs/../../climbed/AWSLogs/{below_awslogs}"),
        format!("pfx//AWSLogs/{below_awslogs}"),
        format!("./AWSLogs/{below_awslogs}"),
        format!("bs\\..\\..\\backslash/AWSLogs/{below_awslogs}"),
    ];
    assert!(hostile[1].starts_with('/'));
    let proxy = hostile_s3::start(
        &env["AWS_ENDPOINT_URL"],
        bucket,
        hostile
            .iter()
            .map(|key| HostileObject {
                key: key.clone(),
                body: body.clone(),
                denied: false,
            })
            .collect(),
    );
    let mut through_proxy = env.clone();
    through_proxy.insert("AWS_ENDPOINT_URL".into(), proxy);

    // The proxy lists them as S3 would: a lookup from the bucket reads them (reading an
    // object by its key is safe; their events are the sample log's again, and dropped as
    // duplicate deliveries).
    let files_read = |env: &HashMap<String, String>| {
        let out = run(
            env,
            &[
                "lookup-events",
                "--source",
                &format!("s3://{bucket}"),
                "--start-time",
                "2000-01-01",
            ],
        );
        let stderr = stderr_of(&out);
        assert!(out.status.success(), "{stderr}");
        let summary = stderr
            .lines()
            .find_map(|l| {
                l.strip_prefix("trailscan: ")?
                    .split_once(" log files listed: ")
            })
            .unwrap_or_else(|| panic!("no summary in {stderr}"));
        let read: usize = summary.1.split(' ').next().unwrap().parse().unwrap();
        (summary.0.parse::<usize>().unwrap(), read)
    };
    let (listed, read) = files_read(&env);
    assert_eq!(
        files_read(&through_proxy),
        (listed + hostile.len(), read + hostile.len()),
        "the proxy's listing does not hold every hostile key"
    );

    let copy = base.path().join("copy");
    let out = run(
        &through_proxy,
        &["acquire", &format!("s3://{bucket}"), copy.to_str().unwrap()],
    );
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for key in &hostile {
        let line = format!("trailscan: s3://{bucket}/{key}: unsafe key, not copied");
        assert!(stderr.contains(&line), "{line:?} missing from {stderr}");
    }
    assert!(
        stderr.contains(&format!("{} refused (unsafe keys)", hostile.len())),
        "{stderr}"
    );
    // Nothing beside the copy, nothing at the absolute path.
    let beside: Vec<_> = fs::read_dir(base.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(beside, ["copy"], "acquire wrote outside its folder");
    assert!(!absolute.exists());
    // Everything else is copied as without the hostile keys, and the manifest has only it.
    let plain = base.path().join("plain");
    let out = run(
        &env,
        &[
            "acquire",
            &format!("s3://{bucket}"),
            plain.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr_of(&out));
    let (hostile_copy, plain_copy) = (tree(&copy), tree(&plain));
    assert_eq!(names(&hostile_copy), names(&plain_copy));
    assert!(hostile_copy == plain_copy, "the copies differ");
    fs::remove_dir_all(&plain).unwrap();
}

#[test]
fn a_link_inside_the_destination_is_never_written_through() {
    let env = HashMap::new();
    let base = tempfile::tempdir().unwrap();
    let (outside, copy) = (base.path().join("outside"), base.path().join("copy"));
    fs::create_dir_all(&outside).unwrap();
    fs::create_dir_all(&copy).unwrap();
    std::os::unix::fs::symlink(&outside, copy.join("AWSLogs")).unwrap();
    let out = run(
        &env,
        &[
            "acquire",
            sample_archive().to_str().unwrap(),
            copy.to_str().unwrap(),
        ],
    );
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let link = format!(
        "{}: a symbolic link inside the folder",
        copy.join("AWSLogs").display()
    );
    assert!(stderr.contains(&link), "{stderr}");
    assert_eq!(
        fs::read_dir(&outside).unwrap().count(),
        0,
        "written through the link"
    );
    // The objects under the organization trail's prefix are not below the link: copied.
    let copied = tree(&copy);
    assert!(
        copied.keys().any(|k| k.starts_with("org-trail/AWSLogs/")),
        "{:?}",
        names(&copied)
    );
    let refused = stderr
        .lines()
        .filter(|l| l.contains("; not copied"))
        .count();
    assert!(
        refused > 0 && stderr.contains(&format!("{refused} refused (unsafe keys)")),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------------------
// Killed runs.

/// A generated archive (about 30,000 events) shared by the tests of this binary: big enough
/// for a run to last long enough to be killed at several points.
fn killable_archive() -> &'static Path {
    static ARCHIVE: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    &ARCHIVE
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let root = dir.path().join("archive");
            let spec = trailscan_fixtures::ArchiveSpec {
                seed: 1717,
                days: 3,
                files_per_day: 8,
                events_per_file: 200,
                ..trailscan_fixtures::ArchiveSpec::sample()
            };
            trailscan_fixtures::generate(&spec, &root).unwrap();
            (dir, root)
        })
        .1
}

/// Runs `args` and kills it (SIGKILL) after `after`; whether it was still running.
fn kill_after(env: &HashMap<String, String>, args: &[&str], after: Duration) -> bool {
    let mut child = trailscan_cmd(env, args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + after;
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    true
}

/// `args` with `{dir}` replaced by `dir`.
fn with_dir(args: &[&str], dir: &Path) -> Vec<String> {
    args.iter()
        .map(|a| a.replace("{dir}", dir.to_str().unwrap()))
        .collect()
}

fn as_strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

/// No file under `dir` a Parquet reader would take is half-written.
fn no_partial_parquet(dir: &Path) {
    for (name, bytes) in tree(dir) {
        if name.ends_with(".parquet") {
            let whole = bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1");
            assert!(whole, "{name} is visible half-written");
        }
    }
}

/// The index at `dir` is whole or absent: a lookup with it over `source` answers, or says
/// there is no index; never a damaged one.
fn index_whole_or_absent(source: &str, dir: &Path) {
    let out = run(
        &HashMap::new(),
        &[
            "lookup-events",
            "--source",
            source,
            "--index",
            dir.to_str().unwrap(),
            "--lookup-attributes",
            "AttributeKey=EventName,AttributeValue=AssumeRole",
            "--start-time",
            "2000-01-01",
        ],
    );
    let stderr = stderr_of(&out);
    assert!(
        out.status.success() || stderr.contains("no index"),
        "{} is neither a whole index nor none: {stderr}",
        dir.display()
    );
}

/// An export of every event of `source` into `{dir}`.
fn export_args(source: &str) -> [&str; 6] {
    [
        "export",
        "--source",
        source,
        "--include-data-events",
        "--out",
        "{dir}",
    ]
}

/// The points at which runs are killed, as fractions of an uninterrupted run's time.
const KILL_POINTS: [f64; 5] = [0.1, 0.3, 0.5, 0.7, 0.9];

/// What `args` writes under `{dir}` when nothing stops it (in a fresh folder under `base`),
/// and how long it took.
fn uninterrupted(
    env: &HashMap<String, String>,
    args: &[&str],
    base: &Path,
) -> (BTreeMap<String, Vec<u8>>, Duration) {
    let reference = base.join("reference");
    let started = Instant::now();
    let out = run(env, &as_strs(&with_dir(args, &reference)));
    let took = started.elapsed();
    assert!(out.status.success(), "{args:?}: {}", stderr_of(&out));
    (tree(&reference), took)
}

/// Runs `args` (in `dir`) to completion; the folder must then hold `expected`, byte for byte.
fn finishes_as(
    env: &HashMap<String, String>,
    args: &[String],
    dir: &Path,
    expected: &BTreeMap<String, Vec<u8>>,
    after: &str,
) {
    let out = run(env, &as_strs(args));
    assert!(
        out.status.success(),
        "{args:?} {after}: {}",
        stderr_of(&out)
    );
    let finished = tree(dir);
    assert_eq!(names(&finished), names(expected), "{args:?} {after}");
    assert!(finished == *expected, "{args:?} {after}: other bytes");
}

/// For each kill point: `args` (writing under `{dir}`, replaced by a fresh folder) killed
/// there, `between` checked on what it left, then `args` run to completion; the folder
/// must then equal an uninterrupted run's, byte for byte.
fn killed_then_resumed(env: &HashMap<String, String>, args: &[&str], between: &dyn Fn(&Path)) {
    let base = tempfile::tempdir().unwrap();
    let (expected, took) = uninterrupted(env, args, base.path());
    let mut killed = 0;
    for (i, point) in KILL_POINTS.iter().enumerate() {
        let dir = base.path().join(format!("killed-{i}"));
        let args_here = with_dir(args, &dir);
        killed += usize::from(kill_after(env, &as_strs(&args_here), took.mul_f64(*point)));
        if dir.exists() {
            between(&dir);
        }
        finishes_as(
            env,
            &args_here,
            &dir,
            &expected,
            &format!("after a kill at {point}"),
        );
    }
    eprintln!(
        "{args:?}: {took:?} uninterrupted; {killed} of {} runs killed before they ended",
        KILL_POINTS.len()
    );
    assert!(
        killed >= 3,
        "{args:?}: only {killed} runs were killed before they ended"
    );
}

#[test]
fn killed_acquire_export_and_index_runs_resume_to_the_uninterrupted_result() {
    let Some(env) = server() else { return };
    let archive = killable_archive();
    upload_tree(&env, archive, "trailscan-killed", "");
    let source = archive.to_str().unwrap();
    let acquire = ["acquire", "s3://trailscan-killed", "{dir}"];
    killed_then_resumed(&env, &acquire, &|_| {});
    let export = export_args(source);
    killed_then_resumed(&env, &export, &no_partial_parquet);
    let sharded = [
        "export", "--source", source, "--format", "jsonl", "--shard", "1/2", "--run-id", "killed",
        "--out", "{dir}",
    ];
    killed_then_resumed(&env, &sharded, &|_| {});
    let index = ["index", "--source", source, "--index", "{dir}"];
    killed_then_resumed(&env, &index, &|dir| index_whole_or_absent(source, dir));
}

// ---------------------------------------------------------------------------------------
// A full disk, a read-only destination.

/// A small tmpfs mounted for a test (as root with the right to mount, as on the machines
/// here; elsewhere the test skips with a notice), unmounted when dropped.
struct SmallDisk {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl SmallDisk {
    fn mount(bytes: u64) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("disk");
        fs::create_dir(&path).unwrap();
        let size = format!("size={}k", bytes.div_ceil(1024).max(64));
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &size, "tmpfs", path.to_str().unwrap()])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !mounted {
            eprintln!("NOTICE: cannot mount a small tmpfs here (not root, or no right to mount); skipping the full-disk and read-only tests");
            return None;
        }
        Some(SmallDisk { _dir: dir, path })
    }

    fn remount(&self, options: &str) {
        let status = Command::new("mount")
            .args([
                "-o",
                &format!("remount,{options}"),
                self.path.to_str().unwrap(),
            ])
            .status()
            .unwrap();
        assert!(status.success(), "remount {options}");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
    }
}

fn size_of(tree: &BTreeMap<String, Vec<u8>>) -> u64 {
    tree.values().map(|b| b.len() as u64).sum()
}

/// `args` (writing under `{dir}`) into a disk half the size of what it writes: it stops with
/// an error naming a path on the disk; `between` checks what it left; with room, a second run
/// finishes to the bytes of a run that had room all along.
fn full_disk_then_room(env: &HashMap<String, String>, args: &[&str], between: &dyn Fn(&Path)) {
    let base = tempfile::tempdir().unwrap();
    let (expected, _) = uninterrupted(env, args, base.path());
    let Some(disk) = SmallDisk::mount(size_of(&expected) / 2) else {
        return;
    };
    let dir = disk.path.join("out");
    let args_here = with_dir(args, &dir);
    let out = run(env, &as_strs(&args_here));
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(255), "{args:?}: {stderr}");
    let named = stderr
        .lines()
        .any(|l| l.contains(dir.to_str().unwrap()) && l.contains("No space left on device"));
    assert!(named, "{args:?}: no error naming the path: {stderr}");
    between(&dir);
    disk.remount(&format!("size={}k", size_of(&expected) * 4 / 1024 + 1024));
    finishes_as(env, &args_here, &dir, &expected, "after a full disk");
}

#[test]
fn a_full_or_read_only_destination_stops_with_the_path_and_keeps_the_work() {
    let env = HashMap::new();
    let source = killable_archive().to_str().unwrap();
    full_disk_then_room(&env, &["acquire", source, "{dir}"], &|dir| {
        let kept = tree(dir);
        assert!(
            kept.keys().any(|k| k.ends_with(".json.gz")),
            "nothing copied before the disk was full"
        );
    });
    let export = export_args(source);
    full_disk_then_room(&env, &export, &no_partial_parquet);
    let index = ["index", "--source", source, "--index", "{dir}"];
    full_disk_then_room(&env, &index, &|dir| index_whole_or_absent(source, dir));

    // Read-only: the copy it holds is kept, and the objects missing from it are named with
    // the filesystem's refusal.
    let base = tempfile::tempdir().unwrap();
    let reference = base.path().join("reference");
    let out = run(&env, &["acquire", source, reference.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    let Some(disk) = SmallDisk::mount(size_of(&tree(&reference)) * 2) else {
        return;
    };
    let copy = disk.path.join("copy");
    assert!(run(&env, &["acquire", source, copy.to_str().unwrap()])
        .status
        .success());
    let gone = trailscan_fixtures::files_under(&copy)
        .unwrap()
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with(".json.gz"))
        .unwrap();
    fs::remove_file(&gone).unwrap();
    disk.remount("ro");
    let out = run(&env, &["acquire", source, copy.to_str().unwrap()]);
    let stderr = stderr_of(&out);
    assert_eq!(out.status.code(), Some(255), "{stderr}");
    assert!(
        stderr.contains(gone.to_str().unwrap()) && stderr.contains("Read-only file system"),
        "{stderr}"
    );
    disk.remount("rw");
    let out = run(&env, &["acquire", source, copy.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr_of(&out));
    assert!(tree(&copy) == tree(&reference));
}

/// Keys with control characters (anyone who can write into the trail bucket chooses keys) reach
/// no output raw: validate-logs names them escaped (`\x1b`) on its lines, lookups and exports
/// count them as skipped. (Before: validate-logs printed the escape sequences as they were.)
#[test]
fn keys_with_control_characters_are_printed_escaped() {
    let tmp = tempfile::tempdir().unwrap();
    let copy = tmp.path().join("copy");
    common::copy_tree(&sample_archive(), &copy);
    let day = copy.join("AWSLogs/123456789012/CloudTrail/eu-west-1/2024/01/02");
    let first = fs::read_dir(&day).unwrap().next().unwrap().unwrap().path();
    let evil = "123456789012_CloudTrail_eu-west-1_20240102T0010Z_ab\u{1b}]0;pwned\u{7}cd.json.gz";
    fs::copy(&first, day.join(evil)).unwrap();
    let copy = copy.to_str().unwrap();
    let keys = sample_archive()
        .parent()
        .unwrap()
        .join("sample-archive-public-keys.json");
    let runs = [
        vec![
            "validate-logs",
            "--source",
            copy,
            "--public-keys",
            keys.to_str().unwrap(),
        ],
        vec!["lookup-events", "--source", copy, "--max-results", "1"],
        vec![
            "trace",
            "--source",
            copy,
            "--access-key",
            "AKIAIOSFODNN7EXAMPLE",
        ],
    ];
    for args in runs {
        let out = common::trailscan(&args);
        for (stream, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            assert!(
                !bytes.iter().any(|b| *b == 0x1b || *b == 0x07),
                "{args:?}: a raw control character on {stream}: {}",
                String::from_utf8_lossy(bytes)
            );
        }
        if args[0] == "validate-logs" {
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr
                    .contains("_ab\\x1b]0;pwned\\x07cd.json.gz\tINVALID: not listed in any digest"),
                "{stderr}"
            );
        }
    }
}

/// An export that cannot read a log file (the store refuses it: a transient error, a policy)
/// does not write that file's delivery day at all: what an earlier export wrote for the day
/// stays as it was, and the summary says so. (Before: the day was rewritten without the
/// file's rows, and an export that had been complete lost them.)
#[test]
fn an_export_that_cannot_read_a_day_keeps_the_days_earlier_export() {
    let Some(env) = server() else { return };
    let bucket = "trailscan-denied";
    upload(&env, bucket, "");
    let denied = "AWSLogs/123456789012/CloudTrail/eu-west-1/2024/01/02";
    let key = fs::read_dir(sample_archive().join(denied))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .min()
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    let export = |env: &HashMap<String, String>| {
        run(
            env,
            &[
                "export",
                "--source",
                &format!("s3://{bucket}"),
                "--out",
                out.path().to_str().unwrap(),
            ],
        )
    };
    let first = export(&env);
    assert!(first.status.success(), "{}", stderr_of(&first));
    let complete = tree(out.path());
    let proxy = hostile_s3::start(
        &env["AWS_ENDPOINT_URL"],
        bucket,
        vec![HostileObject {
            key: format!("{denied}/{key}"),
            body: Vec::new(),
            denied: true,
        }],
    );
    let mut refusing = env.clone();
    refusing.insert("AWS_ENDPOINT_URL".into(), proxy);
    let second = export(&refusing);
    let stderr = stderr_of(&second);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&key), "the object is named: {stderr}");
    assert!(
        stderr.contains("1 of them not written, a log file of theirs could not be read"),
        "{stderr}"
    );
    assert!(
        tree(out.path()) == complete,
        "the export changed: {:?}",
        names(&tree(out.path()))
    );
}
