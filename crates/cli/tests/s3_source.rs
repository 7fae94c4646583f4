//! lookup-events straight from S3: a real S3 server (SeaweedFS on loopback, started by
//! `make test`), the sample archive uploaded under a key prefix, and the same answers as from
//! the copy on disk. Skips with a notice when no server is running (`cargo test` alone).

mod common;

use std::collections::HashMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use common::s3::{aws_cli, aws_s3, server, upload};
use common::{sample_archive, tree};

fn trailscan(env: &HashMap<String, String>, args: &[&str]) -> Output {
    trailscan_with(env, &[], args)
}

/// Runs `trailscan ARGS` with extra environment variables (a batch engine's); none of those
/// is inherited from the test's own environment.
fn trailscan_with(
    env: &HashMap<String, String>,
    extra: &[(&str, String)],
    args: &[&str],
) -> Output {
    Command::new(env!("CARGO_BIN_EXE_trailscan"))
        .args(args)
        .envs(env)
        .env_remove("TRAILSCAN_SOURCE")
        .env_remove("AWS_BATCH_JOB_ARRAY_INDEX")
        .env_remove("JOB_COMPLETION_INDEX")
        .envs(extra.iter().map(|(k, v)| (*k, v.as_str())))
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
    // No server at all: a clear error in one line, not a hang or the SDK's debug dump
    // (before: `dispatch failure: io error: ... DispatchFailure(DispatchFailure { source:
    // ConnectorError { ...`); the whole chain with --debug.
    let refused = [
        "lookup-events",
        "--source",
        "s3://trailscan-errors",
        "--endpoint-url",
        "http://127.0.0.1:9",
    ];
    fails(
        &env,
        &refused,
        "cannot list s3://trailscan-errors: cannot connect to http://127.0.0.1:9 (Connection refused (os error 111)): check --endpoint-url (or AWS_ENDPOINT_URL), the network, or that the server runs (--debug shows the whole error)",
    );
    let out = trailscan(&env, &refused);
    assert!(!String::from_utf8_lossy(&out.stderr).contains("DispatchFailure"));
    // An endpoint from the environment is named as --endpoint-url's is (before: not at all).
    let mut from_env = env.clone();
    from_env.insert("AWS_ENDPOINT_URL".into(), "http://127.0.0.1:9".into());
    fails(
        &from_env,
        &["lookup-events", "--source", "s3://trailscan-errors"],
        "cannot list s3://trailscan-errors: cannot connect to http://127.0.0.1:9 (",
    );
    let mut debug = refused.to_vec();
    debug.push("--debug");
    fails(&env, &debug, "DispatchFailure");
    // No credentials anywhere the default chain looks: said so, with what to set.
    let mut bare: HashMap<String, String> = env
        .iter()
        .filter(|(k, _)| !k.starts_with("AWS_ACCESS_KEY") && !k.starts_with("AWS_SECRET"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let home = tempfile::tempdir().unwrap();
    bare.insert("HOME".into(), home.path().to_str().unwrap().into());
    bare.insert("AWS_EC2_METADATA_DISABLED".into(), "true".into());
    let stderr = String::from_utf8_lossy(
        &Command::new(env!("CARGO_BIN_EXE_trailscan"))
            .args([
                "lookup-events",
                "--source",
                "s3://trailscan-errors",
                "--endpoint-url",
                &endpoint,
            ])
            .env_clear()
            .envs(&bare)
            .output()
            .unwrap()
            .stderr,
    )
    .into_owned();
    assert!(
        stderr.contains("no AWS credentials found by the default chain")
            && stderr.lines().count() == 1,
        "{stderr}"
    );
}

/// Uploads a bucket copy made by the fixtures, each digest with its sidecar's metadata as S3
/// user metadata (the signature CloudTrail puts there).
fn upload_signed(env: &HashMap<String, String>, bucket: &str, root: &Path) {
    let run = |args: &[&str]| aws_s3(env, args);
    run(&["s3api", "create-bucket", "--bucket", bucket]);
    let target = format!("s3://{bucket}/");
    run(&[
        "s3",
        "cp",
        "--recursive",
        "--only-show-errors",
        "--exclude",
        "*.s3meta.json",
        root.to_str().unwrap(),
        &target,
    ]);
    for file in trailscan_fixtures::files_under(root).unwrap() {
        let name = file.to_string_lossy().into_owned();
        let Some(object) = name.strip_suffix(".s3meta.json") else {
            continue;
        };
        if !Path::new(object).exists() {
            continue; // a scenario deleted the digest and left its sidecar
        }
        let sidecar: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&file).unwrap()).unwrap();
        let metadata: Vec<String> = sidecar["metadata"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
            .collect();
        let key = Path::new(object)
            .strip_prefix(root)
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        run(&[
            "s3api",
            "put-object",
            "--bucket",
            bucket,
            "--key",
            &key,
            "--body",
            object,
            "--metadata",
            &metadata.join(","),
        ]);
    }
}

#[test]
fn validate_from_s3_and_from_an_acquired_copy_agree() {
    use trailscan_fixtures::chain::{write_chain, ChainSpec, Hour, Signer};
    let Some(env) = server() else { return };
    let endpoint = env["AWS_ENDPOINT_URL"].clone();
    let work = tempfile::tempdir().unwrap();
    let bucket = "validate-bucket";
    let signer = Signer::test_key();
    let spec = ChainSpec {
        prefix: Some("trails".into()),
        account: "123456789012".into(),
        org_id: None,
        region: "us-east-1".into(),
        trail: "foo".into(),
        home_region: "us-east-1".into(),
        first_end: 1_705_280_430,
    };
    let hours = vec![
        Hour::start(bucket),
        Hour::linked(bucket),
        Hour::linked(bucket),
    ];
    let written = write_chain(&|b| work.path().join(b), &spec, &signer, &hours, false).unwrap();
    // One log file tampered with, so that there is something to find.
    fs::write(
        &written[1].logs[0].1,
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00",
    )
    .unwrap();
    // And a log file no digest lists: from S3 the coverage check lists the region's folder in
    // one request, on disk day by day; both must find it.
    let inserted = written[1].logs[0]
        .0
        .replace("Rn01abcdefghijk", "Xx99zzzzzzzzzzz");
    assert_ne!(inserted, written[1].logs[0].0);
    fs::write(
        work.path().join(bucket).join(&inserted),
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00",
    )
    .unwrap();
    let keys = work.path().join("keys.json");
    fs::write(&keys, signer.public_keys_json(1_705_000_000, 1_706_000_000)).unwrap();
    upload_signed(&env, bucket, &work.path().join(bucket));
    let validate = |source: &str, extra: &[&str]| {
        let mut args = vec![
            "validate-logs",
            "--source",
            source,
            "--public-keys",
            keys.to_str().unwrap(),
            "--trail-arn",
            "arn:aws:cloudtrail:us-east-1:123456789012:trail/foo",
            "--start-time",
            "2024-01-15T00:00:00Z",
            "--end-time",
            "2024-01-15T04:00:00Z",
            "--verbose",
        ];
        args.extend_from_slice(extra);
        trailscan(&env, &args)
    };
    let s3 = validate("s3://validate-bucket", &["--endpoint-url", &endpoint]);
    assert_eq!(
        s3.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&s3.stderr)
    );
    let s3_out = String::from_utf8_lossy(&s3.stdout).into_owned();
    assert!(
        s3_out.contains("3/3 digest files valid\n2/3 log files valid, 1/3 log files INVALID"),
        "{s3_out}"
    );
    assert!(String::from_utf8_lossy(&s3.stderr).contains("INVALID: hash value doesn't match"));
    assert!(
        String::from_utf8_lossy(&s3.stderr).contains(&format!(
            "Log file\ts3://{bucket}/{inserted}\tINVALID: not listed in any digest"
        )),
        "{}",
        String::from_utf8_lossy(&s3.stderr)
    );
    // The fixtures' own copy, with sidecars, gives the same bytes.
    let local = validate(work.path().join(bucket).to_str().unwrap(), &[]);
    assert_eq!(
        (local.stdout.clone(), local.stderr.clone()),
        (s3.stdout.clone(), s3.stderr.clone())
    );

    // acquire, then validate the copy: the same answer.
    let copy = work.path().join("copy");
    let acquire_copy = || {
        trailscan(
            &env,
            &[
                "acquire",
                "s3://validate-bucket",
                copy.to_str().unwrap(),
                "--endpoint-url",
                &endpoint,
            ],
        )
    };
    let acquire = acquire_copy();
    assert!(
        acquire.status.success(),
        "{}",
        String::from_utf8_lossy(&acquire.stderr)
    );
    assert!(
        String::from_utf8_lossy(&acquire.stderr)
            .contains("7 objects listed in s3://validate-bucket: 7 copied"),
        "{}",
        String::from_utf8_lossy(&acquire.stderr)
    );
    let from_copy = validate(copy.to_str().unwrap(), &[]);
    assert_eq!(
        (from_copy.stdout.clone(), from_copy.stderr.clone()),
        (s3.stdout.clone(), s3.stderr.clone())
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(copy.join("trailscan-manifest.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["objects"].as_object().unwrap().len(), 7);
    // What an examiner files the copy with: each object's ETag and LastModified from the
    // bucket, and the run (version and commit, times, source, arguments, counts).
    for (key, entry) in manifest["objects"].as_object().unwrap() {
        let etag = entry["etag"]
            .as_str()
            .unwrap_or_else(|| panic!("{key}: {entry}"));
        assert!(etag.starts_with('"') && etag.len() > 2, "{key}: {etag}");
        assert!(
            entry["last_modified"].as_str().unwrap().ends_with('Z'),
            "{key}: {entry}"
        );
    }
    let run = &manifest["runs"][0];
    assert!(run["tool"].as_str().unwrap().contains("(commit "), "{run}");
    assert!(
        run["started"].as_str().unwrap() <= run["finished"].as_str().unwrap(),
        "{run}"
    );
    assert_eq!(run["source"], "s3://validate-bucket");
    assert_eq!(run["counts"]["listed"], 7);
    assert_eq!(run["counts"]["copied"], 7);

    // Again: resumes; a local file that differs is reported, never overwritten.
    let again = acquire_copy();
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("0 copied (0.0 MB), 7 already present"),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let resumed: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(copy.join("trailscan-manifest.json")).unwrap())
            .unwrap();
    let runs = resumed["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "each run recorded");
    assert_eq!(runs[1]["counts"]["present"], 7);
    let victim = copy.join(&written[0].logs[0].0);
    fs::write(&victim, b"changed").unwrap();
    let changed = acquire_copy();
    assert_eq!(changed.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&changed.stderr).contains("differs from the object"),
        "{}",
        String::from_utf8_lossy(&changed.stderr)
    );
    assert_eq!(fs::read(&victim).unwrap(), b"changed");

    // On a terminal: the bar counts the objects listed, on stderr only.
    let fresh = work.path().join("fresh");
    let env_pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (terminal, stdout, code) = common::on_a_terminal(
        &[
            "acquire",
            "s3://validate-bucket",
            fresh.to_str().unwrap(),
            "--endpoint-url",
            &endpoint,
        ],
        &env_pairs,
    )
    .unwrap();
    assert_eq!(code, 0, "{terminal}");
    assert!(stdout.is_empty());
    assert!(
        terminal.contains("listing s3://validate-bucket"),
        "{terminal}"
    );
    assert!(terminal.contains(" in 7/7 objects ("), "{terminal}");

    // A manifest that does not read is refused, named, and left as it is: writing a new one
    // would drop the hashes of what was copied before.
    let manifest_path = copy.join("trailscan-manifest.json");
    fs::write(
        &manifest_path,
        b"{\"source\": \"s3://validate-bucket\", \"objects\": {",
    )
    .unwrap();
    let refused = acquire_copy();
    assert_eq!(refused.status.code(), Some(255));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&format!(
            "{}: cannot resume this copy (move the file away to start a new manifest): not a trailscan manifest: EOF while parsing",
            manifest_path.display()
        )),
        "{stderr}"
    );
    assert!(fs::read(&manifest_path).unwrap().ends_with(b"{"));
    // Moved away: the new manifest lists every object again, those already present too.
    fs::remove_file(&manifest_path).unwrap();
    let _ = acquire_copy();
    let manifest: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&manifest_path).unwrap()).unwrap();
    assert_eq!(
        manifest["objects"].as_object().unwrap().len(),
        6,
        "all but the changed file"
    );
}

/// The real AWS CLI's validate-logs (awscli 1.45.11 from .venv, its validation code untouched;
/// ListPublicKeys answered from a key file by the plugin `tests/awscli/trailscan_public_keys.py`)
/// and trailscan's, on the same buckets of the S3 server: a clean chain and one per tamper
/// class, byte for byte on both streams, and the same exit code.
#[test]
fn validate_logs_matches_the_real_aws_cli_on_s3() {
    use trailscan_fixtures::chain::{write_chain, ChainSpec, Hour, Signer};
    let Some(env) = server() else { return };
    let endpoint = env["AWS_ENDPOINT_URL"].clone();
    let signer = Signer::test_key();
    let work = tempfile::tempdir().unwrap();
    let keys = work.path().join("keys.json");
    fs::write(&keys, signer.public_keys_json(1_705_000_000, 1_706_000_000)).unwrap();
    let other_keys = work.path().join("other-keys.json");
    fs::write(
        &other_keys,
        signer
            .public_keys_json(1_705_000_000, 1_706_000_000)
            .replace(&signer.fingerprint, "00000000000000000000000000000000"),
    )
    .unwrap();
    let config = work.path().join("aws-config");
    fs::write(
        &config,
        "[default]\nregion = us-east-1\n[plugins]\ntrailscan_public_keys = trailscan_public_keys\n",
    )
    .unwrap();
    let plugin_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/awscli");
    let spec = ChainSpec {
        prefix: Some("trail-prefix".into()),
        account: "123456789012".into(),
        org_id: None,
        region: "us-east-1".into(),
        trail: "foo".into(),
        home_region: "us-east-1".into(),
        first_end: 1_705_280_430,
    };
    type Tamper = fn(&Path, &[trailscan_fixtures::chain::Written], &Signer);
    let scenarios: Vec<(&str, Vec<bool>, Tamper, bool)> = vec![
        ("clean", vec![false, true, true], |_, _, _| {}, false),
        ("gap", vec![false, true, false, true], |_, _, _| {}, false),
        (
            "missing-digest",
            vec![false, true, true],
            |_, d, _| fs::remove_file(&d[1].path).unwrap(),
            false,
        ),
        (
            "missing-log",
            vec![false, true, true],
            |_, d, _| fs::remove_file(&d[0].logs[0].1).unwrap(),
            false,
        ),
        (
            "tampered-log",
            vec![false, true, true],
            |_, d, _| {
                fs::write(&d[2].logs[0].1, b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00").unwrap()
            },
            false,
        ),
        (
            "invalid-signature",
            vec![false, true, true],
            |_, d, _| {
                let sidecar = format!("{}.s3meta.json", d[1].path.display());
                let text = fs::read_to_string(&sidecar)
                    .unwrap()
                    .replace(&d[1].signature, &d[0].signature);
                fs::write(&sidecar, text).unwrap();
            },
            false,
        ),
        (
            "no-metadata",
            vec![false, true, true],
            |_, d, _| fs::remove_file(format!("{}.s3meta.json", d[2].path.display())).unwrap(),
            false,
        ),
        (
            "invalid-format",
            vec![false, true, true],
            |_, d, _| fs::write(&d[1].path, b"not gzip").unwrap(),
            false,
        ),
        (
            "moved",
            vec![false, true],
            |root, d, _| {
                let moved = root.join(d[1].key.replace("20240115T020030Z", "20240115T030030Z"));
                fs::copy(&d[1].path, &moved).unwrap();
                fs::copy(
                    format!("{}.s3meta.json", d[1].path.display()),
                    format!("{}.s3meta.json", moved.display()),
                )
                .unwrap();
            },
            false,
        ),
        ("key-not-found", vec![false, true, true], |_, _, _| {}, true),
    ];
    for (name, links, tamper, wrong_keys) in scenarios {
        let bucket = format!("aws-cli-{name}");
        let hours: Vec<Hour> = links
            .iter()
            .map(|&l| {
                if l {
                    Hour::linked(&bucket)
                } else {
                    Hour::start(&bucket)
                }
            })
            .collect();
        let root = work.path().join(&bucket);
        let written = write_chain(&|b| work.path().join(b), &spec, &signer, &hours, false).unwrap();
        tamper(&root, &written, &signer);
        upload_signed(&env, &bucket, &root);
        let key_file = if wrong_keys { &other_keys } else { &keys };
        let args = [
            "--trail-arn",
            "arn:aws:cloudtrail:us-east-1:123456789012:trail/foo",
            "--start-time",
            "2024-01-15T00:00:00Z",
            "--end-time",
            "2024-01-15T05:00:00Z",
            "--s3-bucket",
            &bucket,
            "--s3-prefix",
            "trail-prefix",
            "--verbose",
        ];
        let aws = Command::new(aws_cli())
            .args(["cloudtrail", "validate-logs"])
            .args(args)
            .envs(&env)
            .env("AWS_ENDPOINT_URL_S3", &endpoint)
            .env_remove("AWS_ENDPOINT_URL")
            .env("AWS_CONFIG_FILE", &config)
            .env("PYTHONPATH", &plugin_dir)
            .env("TRAILSCAN_PUBLIC_KEYS", key_file)
            .output()
            .unwrap();
        let source = format!("s3://{bucket}");
        let mut ours = vec![
            "validate-logs",
            "--source",
            &source,
            "--endpoint-url",
            &endpoint,
            "--public-keys",
            key_file.to_str().unwrap(),
        ];
        ours.extend_from_slice(&args);
        let ts = trailscan(&env, &ours);
        let show = |o: &Output| {
            format!(
                "rc {:?}\n--- stdout\n{}--- stderr\n{}",
                o.status.code(),
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        };
        assert_eq!(
            show(&ts),
            show(&aws),
            "{name}: trailscan (left) and the AWS CLI (right) differ"
        );
        let expect_invalid = name != "clean" && name != "gap";
        assert_eq!(
            aws.status.code(),
            Some(if expect_invalid { 1 } else { 0 }),
            "{name}: {}",
            show(&aws)
        );
    }
}

/// A server that stops in the middle of a scan: the scan ends promptly, each object it could
/// not fetch named on stderr, exit 1; no hang, no panic.
#[test]
fn server_stopped_mid_scan() {
    let Some(_) = server() else { return };
    let own = tempfile::tempdir().unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/s3-test-server.sh");
    let start = Command::new(&script)
        .arg("start")
        .arg(own.path())
        .output()
        .unwrap();
    assert!(
        start.status.success(),
        "{}",
        String::from_utf8_lossy(&start.stderr)
    );
    let text = fs::read_to_string(own.path().join("s3.env")).unwrap();
    let env: HashMap<String, String> = text
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    for copy in ["a", "b", "c", "d", "e"] {
        if copy == "a" {
            upload(&env, "stopping", copy);
        } else {
            let target = format!("s3://stopping/{copy}");
            aws_s3(
                &env,
                &[
                    "s3",
                    "cp",
                    "--recursive",
                    "--only-show-errors",
                    sample_archive().to_str().unwrap(),
                    &target,
                ],
            );
        }
    }
    let endpoint = env["AWS_ENDPOINT_URL"].clone();
    let began = std::time::Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_trailscan"))
        .args([
            "lookup-events",
            "--source",
            "s3://stopping",
            "--endpoint-url",
            &endpoint,
            "--threads",
            "1",
            "--include-data-events",
        ])
        .envs(&env)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(400));
    let stop = Command::new(&script)
        .arg("stop")
        .arg(own.path())
        .output()
        .unwrap();
    assert!(stop.status.success());
    let out = child.wait_with_output().unwrap();
    let took = began.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(took < std::time::Duration::from_secs(120), "took {took:?}");
    match out.status.code() {
        // Stopped while reading objects: those not read are named, and the answer covers the rest.
        Some(1) => {
            assert!(
                stderr.lines().any(
                    |l| l.starts_with("trailscan: s3://stopping/") && l.contains("cannot read")
                ),
                "{stderr}"
            );
            serde_json::from_slice::<serde_json::Value>(&out.stdout)
                .expect("the answer is still JSON");
        }
        // Stopped while listing: a clear error.
        Some(255) => assert!(stderr.contains("cannot list"), "{stderr}"),
        // Finished before the stop (a fast machine): nothing to check but the time.
        Some(0) => eprintln!("NOTICE: the scan finished before the server stopped ({took:?})"),
        other => panic!("exit {other:?} after {took:?}: {stderr}"),
    }
}

/// A fake CloudTrail endpoint whose ListPublicKeys answers in two pages, the signer's key on
/// the second: the keys come through the SDK (following NextToken) when no file is given.
fn fake_cloudtrail(key_entry: serde_json::Value) -> common::fake_http::FakeServer {
    use common::fake_http::{serve, Response};
    serve(move |request| {
        let json = |status: u16, body: serde_json::Value| Response {
            status,
            headers: vec![("Content-Type".into(), "application/x-amz-json-1.1".into())],
            body: body.to_string(),
        };
        let target = request
            .headers
            .get("x-amz-target")
            .cloned()
            .unwrap_or_default();
        if !target.ends_with(".ListPublicKeys") {
            return json(
                400,
                serde_json::json!({"__type": "UnknownOperationException"}),
            );
        }
        let asked: serde_json::Value = serde_json::from_str(&request.body).unwrap();
        if asked.get("NextToken").is_none() {
            let other = serde_json::json!({
                "Value": key_entry["Value"], "Fingerprint": "0123456789abcdef0123456789abcdef",
                "ValidityStartTime": 1_600_000_000, "ValidityEndTime": 1_600_000_001,
            });
            json(
                200,
                serde_json::json!({"PublicKeyList": [other], "NextToken": "page-2"}),
            )
        } else {
            json(200, serde_json::json!({"PublicKeyList": [key_entry]}))
        }
    })
}

/// An S3 source without --public-keys: the keys come from ListPublicKeys through the SDK, at
/// the endpoint set the standard way (AWS_ENDPOINT_URL_CLOUDTRAIL), asked of the digests'
/// region for [start, end + 2 h] as the AWS CLI asks; the answer equals the one with the key
/// file. A refusal from the service is a clear error (exit 255) naming the call and region.
#[test]
fn public_keys_from_list_public_keys() {
    use trailscan_fixtures::chain::{write_chain, ChainSpec, Hour, Signer};
    let Some(mut env) = server() else { return };
    let endpoint = env["AWS_ENDPOINT_URL"].clone();
    let work = tempfile::tempdir().unwrap();
    let bucket = "keys-bucket";
    let signer = Signer::test_key();
    let spec = ChainSpec {
        prefix: None,
        account: "123456789012".into(),
        org_id: None,
        region: "eu-west-1".into(),
        trail: "foo".into(),
        home_region: "us-east-1".into(),
        first_end: 1_705_280_430,
    };
    let hours = vec![
        Hour::start(bucket),
        Hour::linked(bucket),
        Hour::linked(bucket),
    ];
    write_chain(&|b| work.path().join(b), &spec, &signer, &hours, false).unwrap();
    upload_signed(&env, bucket, &work.path().join(bucket));
    let key_file = signer.public_keys_json(1_705_000_000, 1_706_000_000);
    let keys = work.path().join("keys.json");
    fs::write(&keys, &key_file).unwrap();
    let key_entry: serde_json::Value = serde_json::from_str(&key_file).unwrap();
    let cloudtrail = fake_cloudtrail(key_entry["PublicKeyList"][0].clone());
    env.insert("AWS_ENDPOINT_URL_CLOUDTRAIL".into(), cloudtrail.url.clone());

    let parity = [
        "validate-logs",
        "--source",
        "s3://keys-bucket",
        "--endpoint-url",
        &endpoint,
        "--trail-arn",
        "arn:aws:cloudtrail:us-east-1:123456789012:trail/foo",
        "--region",
        "eu-west-1",
        "--start-time",
        "2024-01-15T00:00:00Z",
        "--end-time",
        "2024-01-15T04:00:00Z",
        "--verbose",
    ];
    let asked = trailscan(&env, &parity);
    let with_file = trailscan(
        &env,
        &[&parity[..], &["--public-keys", keys.to_str().unwrap()]].concat(),
    );
    assert_eq!(
        asked.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&asked.stderr)
    );
    assert_eq!(
        (&asked.stdout, &asked.stderr, asked.status.code()),
        (
            &with_file.stdout,
            &with_file.stderr,
            with_file.status.code()
        )
    );
    assert!(String::from_utf8_lossy(&asked.stdout).contains("3/3 digest files valid"));
    let requests = cloudtrail.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(
        requests
            .iter()
            .all(|r| r.signed_region() == Some("eu-west-1")),
        "{requests:?}"
    );
    let first: serde_json::Value = serde_json::from_str(&requests[0].body).unwrap();
    // 2024-01-15T00:00:00Z and 2024-01-15T04:00:00Z + 2 h.
    assert_eq!(
        first["StartTime"].as_f64(),
        Some(1_705_276_800.0),
        "{first}"
    );
    assert_eq!(first["EndTime"].as_f64(), Some(1_705_298_400.0), "{first}");

    // Every chain under the bucket: the keys are asked of each chain's region.
    let every = trailscan(
        &env,
        &[
            "validate-logs",
            "--source",
            "s3://keys-bucket",
            "--endpoint-url",
            &endpoint,
        ],
    );
    assert_eq!(
        every.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&every.stderr)
    );
    assert!(String::from_utf8_lossy(&every.stdout).contains("3/3 digest files valid"));

    // The service refuses: a clear error, exit 255, no secret.
    let refusing = common::fake_http::serve(|_| {
        common::fake_http::Response {
        status: 400,
        headers: vec![("Content-Type".into(), "application/x-amz-json-1.1".into())],
        body: r#"{"__type":"AccessDeniedException","message":"User is not authorized to perform cloudtrail:ListPublicKeys"}"#.into(),
    }
    });
    env.insert("AWS_ENDPOINT_URL_CLOUDTRAIL".into(), refusing.url.clone());
    let refused = trailscan(&env, &parity);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(255), "{stderr}");
    assert!(
        stderr
            .contains("ListPublicKeys in eu-west-1: AccessDeniedException: User is not authorized"),
        "{stderr}"
    );
    assert!(!stderr.contains(&env["AWS_SECRET_ACCESS_KEY"]));
}

/// A bucket in another region than the client's: S3 answers 301 with `x-amz-bucket-region`
/// (the S3 test server has no regions, so a fake S3 plays this part), and trailscan sends the
/// request again in the bucket's region and stays there, instead of failing.
#[test]
fn a_bucket_in_another_region_is_followed() {
    follows_a_bucket_in_another_region(true);
}

/// The same when the refusals do not name the region: HeadBucket's answer does.
#[test]
fn a_bucket_in_another_region_is_followed_through_head_bucket() {
    follows_a_bucket_in_another_region(false);
}

/// Looks up a bucket of eu-west-1 from a client of us-east-1; `named` whether S3's refusals of
/// other requests than HeadBucket say where the bucket lives.
fn follows_a_bucket_in_another_region(named: bool) {
    use common::fake_http::{serve, Response};
    let far = serve(move |request| {
        let region_header = ("x-amz-bucket-region".to_string(), "eu-west-1".to_string());
        if request.signed_region() != Some("eu-west-1") {
            let says = named || request.method == "HEAD";
            return Response {
                status: 301,
                headers: if says { vec![region_header] } else { vec![] },
                body: "<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint.</Message></Error>".into(),
            };
        }
        // The top level holds AWSLogs/, which is empty.
        let listing = if request.target.contains("prefix=AWSLogs") {
            String::new()
        } else {
            "<CommonPrefixes><Prefix>AWSLogs/</Prefix></CommonPrefixes>".to_string()
        };
        Response {
            status: 200,
            headers: vec![
                region_header,
                ("Content-Type".into(), "application/xml".into()),
            ],
            body: format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult><Name>far-bucket</Name><IsTruncated>false</IsTruncated>{listing}</ListBucketResult>"),
        }
    });
    let env: HashMap<String, String> = [
        ("AWS_ACCESS_KEY_ID", "AKIDFAKEFAKEFAKE"),
        (
            "AWS_SECRET_ACCESS_KEY",
            "fake-secret-fake-secret-fake-secret",
        ),
        ("AWS_REGION", "us-east-1"),
        ("AWS_CONFIG_FILE", "/nonexistent"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let out = trailscan(
        &env,
        &[
            "lookup-events",
            "--source",
            "s3://far-bucket",
            "--endpoint-url",
            &far.url,
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "{\n    \"Events\": []\n}"
    );
    let requests = far.requests.lock().unwrap().clone();
    let signed_in = |region| {
        requests
            .iter()
            .filter(|r| r.signed_region() == Some(region))
            .count()
    };
    // No HeadBucket first: the first requests go to the client's region, are answered 301,
    // and are sent again in the bucket's (after a HeadBucket, where the 301 did not name it);
    // from then on the client stays there. The top's listing and the `AWSLogs/` one asked
    // beside it are the only ones that can go astray.
    let heads = requests.iter().filter(|r| r.method == "HEAD").count();
    match named {
        true => assert_eq!(heads, 0, "{requests:?}"),
        false => assert!((1..=2).contains(&heads), "{requests:?}"),
    }
    assert!(
        (1..=2).contains(&(signed_in("us-east-1") - heads)),
        "{requests:?}"
    );
    assert_eq!(
        signed_in("eu-west-1") + signed_in("us-east-1"),
        requests.len()
    );
    let first_answered = requests
        .iter()
        .position(|r| r.signed_region() == Some("eu-west-1"))
        .expect("a request in the bucket's region");
    assert!(
        requests[..first_answered]
            .iter()
            .all(|r| r.target.contains("list-type=2") || r.method == "HEAD"),
        "{requests:?}"
    );
    assert!(signed_in("eu-west-1") >= 2, "{requests:?}");
}

/// [`trailscan_with`], checking it succeeded; returns stdout.
fn trailscan_ok(env: &HashMap<String, String>, extra: &[(&str, String)], args: &[&str]) -> Vec<u8> {
    let out = trailscan_with(env, extra, args);
    assert!(
        out.status.success(),
        "trailscan {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

#[test]
fn sharded_lookups_from_s3_merge_to_the_unsharded_answer() {
    let Some(env) = server() else { return };
    upload(&env, "trailscan-shards", "logs");
    let endpoint = env["AWS_ENDPOINT_URL"].clone();
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().to_str().unwrap();
    let lookup = |extra: &[(&str, String)], more: &[&str]| {
        let mut args = vec![
            "lookup-events",
            "--source",
            "s3://trailscan-shards/logs",
            "--endpoint-url",
            &endpoint,
            "--include-data-events",
            "--output",
            "text",
        ];
        args.extend_from_slice(more);
        trailscan_ok(&env, extra, &args)
    };
    let unsharded = lookup(&[], &[]);
    assert!(
        unsharded.len() > 10_000,
        "the sample answers with many events"
    );
    let batch = |k: u32| {
        vec![
            ("AWS_BATCH_JOB_ARRAY_INDEX", k.to_string()),
            ("AWS_BATCH_JOB_ARRAY_SIZE", "4".to_string()),
            (
                "AWS_BATCH_JOB_ID",
                "b7c1e2d4-batch:".to_string() + &k.to_string(),
            ),
        ]
    };
    let kubernetes = |k: u32| {
        vec![
            ("JOB_COMPLETION_INDEX", k.to_string()),
            ("TRAILSCAN_SHARDS", "4".to_string()),
        ]
    };
    let merge = |run: &str| trailscan(&env, &["merge", &format!("{out_dir}/{run}")]);
    for k in 0..4 {
        lookup(&batch(k), &["--shard", "auto", "--out", out_dir]);
        lookup(
            &kubernetes(k),
            &["--shard", "auto", "--out", out_dir, "--run-id", "k8s-run"],
        );
    }
    // The run id came from AWS_BATCH_JOB_ID, without the child's index.
    for run in ["b7c1e2d4-batch", "k8s-run"] {
        let merged = merge(run);
        assert!(
            merged.status.success(),
            "{}",
            String::from_utf8_lossy(&merged.stderr)
        );
        assert!(
            merged.stdout == unsharded,
            "{run}: the merged answer differs from the unsharded one"
        );
        let summary: serde_json::Value = serde_json::from_slice(
            &fs::read(out.path().join(run).join("shard-1-of-4/summary.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(summary["units_total"], 13, "{summary}");
        assert!(!summary["units"].as_array().unwrap().is_empty());
    }
    // Each unit went to exactly one shard.
    let mut units: Vec<String> = (0..4)
        .flat_map(|k| {
            let path = out
                .path()
                .join(format!("k8s-run/shard-{k}-of-4/summary.json"));
            let s: serde_json::Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
            s["units"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u.as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    let listed = units.len();
    units.sort();
    units.dedup();
    assert_eq!((listed, units.len()), (13, 13));

    // A retried shard replaces its results: the same files, the same merge.
    let before = tree(&out.path().join("k8s-run"));
    lookup(
        &kubernetes(2),
        &["--shard", "auto", "--out", out_dir, "--run-id", "k8s-run"],
    );
    assert!(
        before == tree(&out.path().join("k8s-run")),
        "a re-run changed the shard's files"
    );
    assert!(merge("k8s-run").stdout == unsharded);

    // A missing shard, a shard of another run, a changed result: refused, and named.
    fs::remove_dir_all(out.path().join("k8s-run/shard-2-of-4")).unwrap();
    let refused = merge("k8s-run");
    assert_eq!(refused.status.code(), Some(255));
    assert!(refused.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("missing shard-2-of-4"), "{stderr}");
    lookup(
        &kubernetes(1),
        &["--shard", "1/3", "--out", out_dir, "--run-id", "k8s-run"],
    );
    let stderr = String::from_utf8_lossy(&merge("k8s-run").stderr).into_owned();
    assert!(stderr.contains("shards of different runs"), "{stderr}");
    fs::remove_dir_all(out.path().join("k8s-run/shard-1-of-3")).unwrap();
    let events = out.path().join("b7c1e2d4-batch/shard-3-of-4/events.jsonl");
    let mut text = fs::read(&events).unwrap();
    text.truncate(text.len() / 2);
    fs::write(&events, text).unwrap();
    let stderr = String::from_utf8_lossy(&merge("b7c1e2d4-batch").stderr).into_owned();
    assert!(
        stderr.contains("shard-3-of-4/events.jsonl") && stderr.contains("changed or truncated"),
        "{stderr}"
    );
}

#[test]
fn sharded_export_from_s3_writes_the_unsharded_rows_once() {
    let Some(env) = server() else { return };
    upload(&env, "trailscan-export-src", "");
    aws_s3(
        &env,
        &["s3api", "create-bucket", "--bucket", "trailscan-export-out"],
    );
    let endpoint = env["AWS_ENDPOINT_URL"].clone();
    let out = tempfile::tempdir().unwrap();
    let export = |dir: &Path, more: &[&str]| {
        let mut args = vec![
            "export",
            "--source",
            "s3://trailscan-export-src",
            "--endpoint-url",
            &endpoint,
            "--format",
            "jsonl",
            "--include-data-events",
            "--out",
        ];
        let dir = dir.to_str().unwrap().to_string();
        args.push(&dir);
        args.extend_from_slice(more);
        trailscan_ok(&env, &[], &args);
    };
    // Rows of every .jsonl file under v1/, sorted (files differ by name between runs).
    let rows = |dir: &Path| {
        let mut rows: Vec<String> = tree(&dir.join("v1"))
            .values()
            .flat_map(|b| {
                String::from_utf8(b.clone())
                    .unwrap()
                    .lines()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect();
        rows.sort();
        rows
    };
    let whole = out.path().join("whole");
    export(&whole, &[]);
    let sharded = out.path().join("sharded");
    for k in 0..4 {
        export(&sharded, &["--shard", &format!("{k}/4"), "--run-id", "r1"]);
    }
    let expected = rows(&whole);
    assert_eq!(
        expected.len(),
        725,
        "every event of the sample, data events included"
    );
    assert!(
        rows(&sharded) == expected,
        "the shards wrote other rows than one run"
    );
    let merged = trailscan(&env, &["merge", sharded.join("r1").to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&merged.stderr);
    assert!(
        merged.status.success() && stderr.contains("725 events exported"),
        "{stderr}"
    );
    // A retried shard overwrites its own files instead of adding more.
    let before = tree(&sharded);
    export(&sharded, &["--shard", "2/4", "--run-id", "r1"]);
    assert!(
        before == tree(&sharded),
        "a retried shard changed the export"
    );

    // To a bucket: the same files under the prefix, and a DDL located there.
    trailscan_ok(
        &env,
        &[],
        &[
            "export",
            "--source",
            "s3://trailscan-export-src",
            "--endpoint-url",
            &endpoint,
            "--include-data-events",
            "--format",
            "jsonl",
            "--out",
            "s3://trailscan-export-out/ct",
        ],
    );
    let copy = out.path().join("copy");
    aws_s3(
        &env,
        &[
            "s3",
            "cp",
            "--recursive",
            "--only-show-errors",
            "s3://trailscan-export-out/ct",
            copy.to_str().unwrap(),
        ],
    );
    assert!(
        tree(&copy) == tree(&whole),
        "the bucket holds other files than the folder export"
    );
    let ddl = trailscan_ok(
        &env,
        &[],
        &[
            "export",
            "--print-ddl",
            "athena",
            "--endpoint-url",
            &endpoint,
            "--out",
            "s3://trailscan-export-out/ct",
        ],
    );
    let ddl = String::from_utf8(ddl).unwrap();
    assert!(
        ddl.contains("LOCATION 's3://trailscan-export-out/ct/v1/'"),
        "{ddl}"
    );
    assert!(
        ddl.contains("'projection.region.values'='eu-west-1,us-east-1'"),
        "{ddl}"
    );
}

#[test]
fn sharded_validation_from_s3_merges_to_the_unsharded_report() {
    let Some(env) = server() else { return };
    // The sample's digests name this bucket; one log file altered, so there is a finding.
    let copy = tempfile::tempdir().unwrap();
    for file in trailscan_fixtures::files_under(&sample_archive()).unwrap() {
        let target = copy
            .path()
            .join(file.strip_prefix(sample_archive()).unwrap());
        fs::create_dir_all(target.parent().unwrap()).unwrap();
        fs::copy(&file, &target).unwrap();
    }
    let altered = trailscan_fixtures::files_under(copy.path())
        .unwrap()
        .into_iter()
        .find(|p| {
            p.to_string_lossy()
                .contains("/CloudTrail/eu-west-1/2024/01/02/")
        })
        .unwrap();
    let mut bytes = fs::read(&altered).unwrap();
    bytes.push(0);
    fs::write(&altered, bytes).unwrap();
    upload_signed(&env, "example-trail-bucket", copy.path());
    let endpoint = env["AWS_ENDPOINT_URL"].clone();
    let keys = sample_archive().with_file_name("sample-archive-public-keys.json");
    let out = tempfile::tempdir().unwrap();
    let out_dir = out.path().to_str().unwrap();
    let validate = |extra: &[(&str, String)], more: &[&str]| {
        let mut args = vec![
            "validate-logs",
            "--source",
            "s3://example-trail-bucket",
            "--endpoint-url",
            &endpoint,
            "--public-keys",
            keys.to_str().unwrap(),
            // Without it the window ends "now", which each run prints.
            "--end-time",
            "2024-01-03T00:00:00Z",
        ];
        args.extend_from_slice(more);
        trailscan_with(&env, extra, &args)
    };
    let whole = validate(&[], &[]);
    assert_eq!(
        whole.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&whole.stderr)
    );
    let stdout = String::from_utf8_lossy(&whole.stdout);
    assert!(
        stdout
            .contains("All 6 digest chains under s3://example-trail-bucket: 1 with INVALID files"),
        "{stdout}"
    );
    for k in 0..4u32 {
        let shard = validate(
            &[
                ("AWS_BATCH_JOB_ARRAY_INDEX", k.to_string()),
                ("AWS_BATCH_JOB_ARRAY_SIZE", "4".to_string()),
                ("AWS_BATCH_JOB_ID", format!("v1a2:{k}")),
            ],
            &["--shard", "auto", "--out", out_dir],
        );
        assert!(
            shard.status.success(),
            "{}",
            String::from_utf8_lossy(&shard.stderr)
        );
        assert!(shard.stdout.is_empty(), "a shard prints nothing on stdout");
    }
    let merge = || trailscan(&env, &["merge", &format!("{out_dir}/v1a2")]);
    let merged = merge();
    assert_eq!(merged.status.code(), Some(1));
    assert!(
        merged.stdout == whole.stdout,
        "merged:\n{}",
        String::from_utf8_lossy(&merged.stdout)
    );
    assert!(
        merged.stderr == whole.stderr,
        "merged:\n{}",
        String::from_utf8_lossy(&merged.stderr)
    );
    // A chain's results in two shards, or in none: refused.
    fs::copy(
        out.path().join("v1a2/shard-0-of-4/chains.jsonl"),
        out.path().join("v1a2/shard-1-of-4/chains.jsonl"),
    )
    .unwrap();
    let refused = merge();
    assert_eq!(refused.status.code(), Some(255));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("shard-1-of-4/chains.jsonl"));
}

/// Shards that share no folder: each writes its results to a bucket (`--out s3://...`), and
/// `merge s3://.../RUN-ID` prints the unsharded answer; an altered result in the bucket is
/// refused, named.
#[test]
fn shard_results_in_a_bucket_merge_to_the_unsharded_answer() {
    let Some(env) = server() else { return };
    upload(&env, "trailscan-shard-src", "");
    aws_s3(
        &env,
        &["s3api", "create-bucket", "--bucket", "trailscan-shard-out"],
    );
    let endpoint = env["AWS_ENDPOINT_URL"].clone();
    let lookup = |more: &[&str]| {
        let mut args = vec![
            "lookup-events",
            "--source",
            "s3://trailscan-shard-src",
            "--endpoint-url",
            &endpoint,
            "--lookup-attributes",
            "AttributeKey=ReadOnly,AttributeValue=false",
            "--output",
            "text",
        ];
        args.extend_from_slice(more);
        trailscan_ok(&env, &[], &args)
    };
    let unsharded = lookup(&[]);
    let out = "s3://trailscan-shard-out/runs";
    for k in 0..3 {
        let shard = format!("{k}/3");
        lookup(&["--shard", &shard, "--run-id", "r1", "--out", out]);
    }
    let merge = || {
        trailscan(
            &env,
            &["merge", &format!("{out}/r1"), "--endpoint-url", &endpoint],
        )
    };
    let merged = merge();
    assert!(
        merged.status.success(),
        "{}",
        String::from_utf8_lossy(&merged.stderr)
    );
    assert!(
        merged.stdout == unsharded,
        "the merged answer differs from the unsharded one"
    );
    // An altered result: refused, the object named.
    let altered = tempfile::NamedTempFile::new().unwrap();
    fs::write(altered.path(), b"{}\n").unwrap();
    let events = "s3://trailscan-shard-out/runs/r1/shard-1-of-3/events.jsonl";
    aws_s3(
        &env,
        &[
            "s3",
            "cp",
            "--only-show-errors",
            altered.path().to_str().unwrap(),
            events,
        ],
    );
    let refused = merge();
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(255), "{stderr}");
    assert!(
        stderr.contains(events) && stderr.contains("changed or truncated"),
        "{stderr}"
    );
}

/// The export model in a bucket: two overlapping windows exported into one prefix hold their
/// union once, and a file an earlier export wrote for a delivery day (its manifest names it)
/// that a re-export of the day does not write again is deleted, so that Athena cannot count
/// its rows twice. DuckDB counts the rows of the prefix copied down.
#[test]
fn exports_into_one_prefix_hold_each_event_once() {
    let Some(env) = server() else { return };
    let Some(python) = std::env::var_os("TRAILSCAN_AWSCLI_PYTHON") else {
        eprintln!("NOTICE: no TRAILSCAN_AWSCLI_PYTHON (run `make test`); skipping");
        return;
    };
    upload(&env, "trailscan-model-src", "");
    aws_s3(
        &env,
        &["s3api", "create-bucket", "--bucket", "trailscan-model-out"],
    );
    let endpoint = env["AWS_ENDPOINT_URL"].clone();
    let out = "s3://trailscan-model-out/ct";
    // An export of `window` into the prefix, exit 0; its stderr.
    let export = |window: &[&str]| {
        let mut args = vec![
            "export",
            "--source",
            "s3://trailscan-model-src",
            "--endpoint-url",
            &endpoint,
            "--out",
            out,
        ];
        args.extend(window);
        let done = trailscan(&env, &args);
        let stderr = String::from_utf8_lossy(&done.stderr).into_owned();
        assert_eq!(done.status.code(), Some(0), "{stderr}");
        stderr
    };
    let copy = tempfile::tempdir().unwrap();
    let counts = || {
        let dir = copy.path().join("ct");
        let _ = fs::remove_dir_all(&dir);
        aws_s3(
            &env,
            &[
                "s3",
                "cp",
                "--recursive",
                "--only-show-errors",
                out,
                dir.to_str().unwrap(),
            ],
        );
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/export_check.py");
        let checked = Command::new(&python)
            .arg(script)
            .args(["counts", dir.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(checked.status.success(), "{checked:?}");
        serde_json::from_slice::<serde_json::Value>(&checked.stdout).unwrap()
    };
    export(&["--end-time", "2024-01-02T21:00:00Z"]);
    export(&["--start-time", "2024-01-02T12:00:00Z"]);
    let union = counts();
    assert_eq!(
        (union["rows"].as_u64(), union["records"].as_u64()),
        (Some(654), Some(654)),
        "{union}"
    );

    // An earlier export's second part of a day, which its manifest names.
    let day = "v1/account=123456789012/region=eu-west-1/day=2024-01-02";
    let manifest = "ct/manifests/account=123456789012/region=eu-west-1/delivered=2024-01-02.json";
    let local = copy.path().join("ct");
    let first = format!("{day}/delivered-2024-01-02-00000.parquet");
    let stale = format!("{day}/delivered-2024-01-02-00001.parquet");
    fs::copy(local.join(&first), local.join(&stale)).unwrap();
    let mut listed: serde_json::Value =
        serde_json::from_slice(&fs::read(local.join(&manifest[3..])).unwrap()).unwrap();
    let mut second = listed["files"][0].clone();
    second["path"] = stale.clone().into();
    listed["files"].as_array_mut().unwrap().push(second);
    fs::write(
        local.join(&manifest[3..]),
        serde_json::to_vec(&listed).unwrap(),
    )
    .unwrap();
    for key in [stale.as_str(), &manifest[3..]] {
        aws_s3(
            &env,
            &[
                "s3",
                "cp",
                "--only-show-errors",
                local.join(key).to_str().unwrap(),
                &format!("{out}/{key}"),
            ],
        );
    }
    assert!(
        counts()["rows"].as_u64() > Some(654),
        "the stale part is read"
    );
    let stderr = export(&["--start-time", "2024-01-02T12:00:00Z"]);
    assert!(
        stderr
            .contains("1 files an earlier export wrote for them and this one did not were removed"),
        "{stderr}"
    );
    assert_eq!(counts(), union, "the stale part is gone from the bucket");
}
