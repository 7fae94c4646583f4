//! validate-logs against the AWS CLI's known answers: the vector the real AWS CLI checked,
//! and the AWS CLI's own test matrix (gap, link, missing, invalid, bucket change, backfill,
//! key not found, moved, invalid format) over chains signed with the repository's test key;
//! then trailscan's checks beyond the AWS CLI.

mod common;

use common::{validate_logs as validate, Run};

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::Value;
use trailscan_fixtures::chain::{write_chain, ChainSpec, Hour, Signer, Tamper, Written};

const ARN: &str = "arn:aws:cloudtrail:us-east-1:123456789012:trail/foo";
const BUCKET: &str = "my-bucket";

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// The vector: its digests, logs and key as the bucket held them, and the AWS CLI's answer.
#[test]
fn known_answer_vector_gives_the_aws_cli_transcript() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/reference/validate-logs-test-vector.json");
    let Ok(text) = fs::read_to_string(&path) else {
        eprintln!(
            "NOTICE: {} is absent; skipping the known-answer vector",
            path.display()
        );
        return;
    };
    let v: Value = serde_json::from_str(&text).unwrap();
    let dir = tempfile::tempdir().unwrap();
    for d in v["digests"].as_array().unwrap() {
        let key = d["key"].as_str().unwrap();
        let file = dir.path().join(key);
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        fs::write(&file, gz(d["inflated_json"].as_str().unwrap().as_bytes())).unwrap();
        let sidecar = serde_json::json!({"format": "trailscan-s3-metadata/1", "bucket": v["bucket"], "key": key, "metadata": d["metadata"]});
        fs::write(
            format!("{}.s3meta.json", file.display()),
            sidecar.to_string(),
        )
        .unwrap();
    }
    for l in v["logs"].as_array().unwrap() {
        let file = dir.path().join(l["key"].as_str().unwrap());
        fs::create_dir_all(file.parent().unwrap()).unwrap();
        fs::write(&file, gz(l["inflated"].as_str().unwrap().as_bytes())).unwrap();
    }
    let keys = dir.path().join("keys.json");
    fs::write(
        &keys,
        serde_json::json!({"PublicKeyList": [v["public_key"]]}).to_string(),
    )
    .unwrap();
    let aws = &v["awscli_validate_logs"];
    let argv: Vec<&str> = aws["argv"].as_str().unwrap().split(' ').collect();
    let run = validate(dir.path(), &keys, &argv);
    assert_eq!(run.stdout, aws["stdout"].as_str().unwrap());
    assert_eq!(run.stderr, aws["stderr"].as_str().unwrap());
    assert_eq!(i64::from(run.code), aws["rc"].as_i64().unwrap());
}

/// A generated archive: chains written with the test key into bucket folders.
struct Archive {
    dir: tempfile::TempDir,
    signer: Signer,
    spec: ChainSpec,
}

const FIRST_END: i64 = 1_705_280_430; // 2024-01-15T01:00:30Z

impl Archive {
    fn new() -> Archive {
        let spec = ChainSpec {
            prefix: None,
            account: "123456789012".into(),
            org_id: None,
            region: "us-east-1".into(),
            trail: "foo".into(),
            home_region: "us-east-1".into(),
            first_end: FIRST_END,
        };
        let archive = Archive {
            dir: tempfile::tempdir().unwrap(),
            signer: Signer::test_key(),
            spec,
        };
        fs::write(
            archive.keys(),
            archive
                .signer
                .public_keys_json(FIRST_END - 86_400, FIRST_END + 86_400),
        )
        .unwrap();
        archive
    }

    fn bucket(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn keys(&self) -> PathBuf {
        self.dir.path().join("public-keys.json")
    }

    fn chain(&self, hours: &[Hour], backfill: bool) -> Vec<Written> {
        write_chain(
            &|b| self.bucket(b),
            &self.spec,
            &self.signer,
            hours,
            backfill,
        )
        .unwrap()
    }

    /// validate-logs over 2024-01-15T00:00:00Z..04:00:00Z, parity mode.
    fn run(&self, extra: &[&str]) -> Run {
        let mut args = vec![
            "--trail-arn",
            ARN,
            "--start-time",
            "2024-01-15T00:00:00Z",
            "--end-time",
            "2024-01-15T04:00:00Z",
            "--s3-bucket",
            BUCKET,
        ];
        args.extend_from_slice(extra);
        validate(&self.bucket(BUCKET), &self.keys(), &args)
    }
}

fn linked(n: usize) -> Vec<Hour> {
    (0..n)
        .map(|i| {
            if i == 0 {
                Hour::start(BUCKET)
            } else {
                Hour::linked(BUCKET)
            }
        })
        .collect()
}

fn s3(w: &Written) -> String {
    format!("s3://{}/{}", w.bucket, w.key)
}

fn log_s3(w: &Written) -> String {
    format!("s3://{}/{}", w.bucket, w.logs[0].0)
}

const HEADER: &str = "Validating log files for trail arn:aws:cloudtrail:us-east-1:123456789012:trail/foo between 2024-01-15T00:00:00Z and 2024-01-15T04:00:00Z\n\n";

/// The spec's golden happy path (section 1.11), verbose.
#[test]
fn clean_chain_verbose() {
    let a = Archive::new();
    let d = a.chain(&linked(3), false);
    let run = a.run(&["--verbose"]);
    let mut expected = HEADER.to_string();
    for w in d.iter().rev() {
        expected += &format!(
            "Digest file\t{}\tvalid\nLog file\t{}\tvalid\n",
            s3(w),
            log_s3(w)
        );
    }
    expected += "\nResults requested for 2024-01-15T00:00:00Z to 2024-01-15T04:00:00Z\n\
                 Results found for 2024-01-15T00:00:30Z to 2024-01-15T03:00:30Z:\n\
                 \n3/3 digest files valid\n3/3 log files valid\n";
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, expected.as_str(), "")
    );
    // Without --verbose: only the header and the summary.
    let quiet = a.run(&[]);
    assert_eq!(quiet.stdout, format!("{HEADER}Results requested for 2024-01-15T00:00:00Z to 2024-01-15T04:00:00Z\nResults found for 2024-01-15T00:00:30Z to 2024-01-15T03:00:30Z:\n\n3/3 digest files valid\n3/3 log files valid\n"));
}

#[test]
fn missing_middle_digest() {
    let a = Archive::new();
    let d = a.chain(&linked(3), false);
    fs::remove_file(&d[1].path).unwrap();
    let run = a.run(&[]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        format!("Digest file\t{}\tINVALID: not found\n\n", s3(&d[1]))
    );
    assert!(
        run.stdout
            .ends_with("\n2/3 digest files valid, 1/3 digest files INVALID\n2/2 log files valid\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn tampered_and_missing_logs() {
    let a = Archive::new();
    let d = a.chain(&linked(3), false);
    fs::write(&d[1].logs[0].1, gz(b"{\"Records\":[]}")).unwrap();
    fs::remove_file(&d[0].logs[0].1).unwrap();
    let run = a.run(&["--verbose"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        format!("\nLog file\t{}\tINVALID: hash value doesn't match\n\n\nLog file\t{}\tINVALID: not found\n\n", log_s3(&d[1]), log_s3(&d[0]))
    );
    assert!(
        run.stdout
            .ends_with("\n3/3 digest files valid\n1/3 log files valid, 2/3 log files INVALID\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn gap_is_a_notice_not_a_failure() {
    let a = Archive::new();
    let hours = vec![
        Hour::start(BUCKET),
        Hour::linked(BUCKET),
        Hour::start(BUCKET),
        Hour::linked(BUCKET),
    ];
    let d = a.chain(&hours, false);
    let run = a.run(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stderr,
        "No log files were delivered by CloudTrail between 2024-01-15T02:00:30Z and 2024-01-15T02:00:30Z\n\n"
    );
    assert!(
        run.stdout.contains("4/4 digest files valid"),
        "{}",
        run.stdout
    );
    assert_eq!(d.len(), 4);
}

#[test]
fn invalid_signature_then_the_listing() {
    let a = Archive::new();
    let d = a.chain(&linked(3), false);
    let sidecar = format!("{}.s3meta.json", d[1].path.display());
    let text = fs::read_to_string(&sidecar)
        .unwrap()
        .replace(&d[1].signature, &d[0].signature);
    fs::write(&sidecar, text).unwrap();
    let run = a.run(&[]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        format!(
            "Digest file\t{}\tINVALID: signature verification failed\n\n",
            s3(&d[1])
        )
    );
    assert!(
        run.stdout
            .contains("2/3 digest files valid, 1/3 digest files INVALID\n2/2 log files valid"),
        "{}",
        run.stdout
    );
}

#[test]
fn public_key_not_found() {
    let a = Archive::new();
    let d = a.chain(&linked(3), false);
    let other = a
        .signer
        .public_keys_json(FIRST_END - 86_400, FIRST_END + 86_400)
        .replace(&a.signer.fingerprint, "0123456789abcdef0123456789abcdef");
    fs::write(a.keys(), other).unwrap();
    let run = a.run(&[]);
    assert_eq!(run.code, 1);
    let expected: String = d
        .iter()
        .rev()
        .map(|w| format!("Digest file\t{}\tINVALID: public key not found in region us-east-1 for fingerprint {}\n\n", s3(w), a.signer.fingerprint))
        .collect();
    assert_eq!(run.stderr, expected);
    assert!(
        run.stdout.ends_with(
            "No valid digests found in range\n\n0/3 digest files valid, 3/3 digest files INVALID\n"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn no_public_keys_in_the_window_is_fatal() {
    let a = Archive::new();
    a.chain(&linked(2), false);
    fs::write(a.keys(), a.signer.public_keys_json(0, 1000)).unwrap();
    let run = a.run(&[]);
    assert_eq!(run.code, 255);
    assert_eq!(run.stdout, HEADER);
    assert_eq!(
        run.stderr,
        "\nNo public keys found between 2024-01-15T00:00:00Z and 2024-01-15T06:00:00Z\n"
    );
}

#[test]
fn moved_digest() {
    let a = Archive::new();
    let d = a.chain(&linked(2), false);
    // A copy of the newest digest under the key the next hour's digest would have.
    let copy_key = a.spec.digest_key(FIRST_END + 2 * 3600, false);
    let copy = a.bucket(BUCKET).join(&copy_key);
    fs::copy(&d[1].path, &copy).unwrap();
    fs::copy(
        format!("{}.s3meta.json", d[1].path.display()),
        format!("{}.s3meta.json", copy.display()),
    )
    .unwrap();
    let run = a.run(&[]);
    assert_eq!(run.code, 1);
    assert_eq!(run.stderr, format!("Digest file\ts3://{BUCKET}/{copy_key}\tINVALID: has been moved from its original location\n\n"));
    assert!(
        run.stdout
            .contains("2/3 digest files valid, 1/3 digest files INVALID"),
        "{}",
        run.stdout
    );
}

#[test]
fn invalid_format_digests() {
    let a = Archive::new();
    let d = a.chain(&linked(4), false);
    fs::write(&d[3].path, b"not gzip").unwrap();
    fs::write(&d[2].path, gz(b"not json")).unwrap();
    fs::write(&d[1].path, gz(b"{}")).unwrap();
    let run = a.run(&[]);
    assert_eq!(run.code, 1);
    let expected: String = [&d[3], &d[2], &d[1]]
        .iter()
        .map(|w| format!("Digest file\t{}\tINVALID: invalid format\n\n", s3(w)))
        .collect();
    assert_eq!(run.stderr, expected);
    assert!(
        run.stdout
            .contains("1/4 digest files valid, 3/4 digest files INVALID"),
        "{}",
        run.stdout
    );
}

#[test]
fn bucket_change_follows_the_link() {
    let a = Archive::new();
    let hours = vec![
        Hour::start("old-bucket"),
        Hour::linked("old-bucket"),
        Hour::linked(BUCKET),
    ];
    let d = a.chain(&hours, false);
    let old = a.bucket("old-bucket");
    let copy = format!("old-bucket={}", old.display());
    let run = a.run(&["--verbose", "--bucket-copy", &copy]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let digests: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("Digest file"))
        .collect();
    assert_eq!(
        digests,
        d.iter()
            .rev()
            .map(|w| format!("Digest file\t{}\tvalid", s3(w)))
            .collect::<Vec<_>>()
    );
    assert!(digests[2].contains("s3://old-bucket/"));
}

#[test]
fn backfill_digests_after_the_standard_chain() {
    let a = Archive::new();
    let d = a.chain(&linked(3), false);
    let b = a.chain(&[Hour::start(BUCKET)], true);
    let run = a.run(&["--verbose"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains(&format!("Digest file\t{}\tvalid\nLog file\t{}\tvalid\n(backfill) Digest file\t{}\tvalid\nLog file\t{}\tvalid\n", s3(&d[0]), log_s3(&d[0]), s3(&b[0]), log_s3(&b[0]))), "{}", run.stdout);
    assert!(
        run.stdout.ends_with(
            "\n3/3 digest files valid\n1/1 backfill digest files valid\n4/4 log files valid\n"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn no_digests_in_the_window() {
    let a = Archive::new();
    a.chain(&linked(2), false);
    let run = a.run(&["--start-time", "2024-01-15T03:10:00Z"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.ends_with("Results requested for 2024-01-15T03:10:00Z to 2024-01-15T04:00:00Z\nNo digests found\n"), "{}", run.stdout);
}

#[test]
fn argument_errors_as_the_aws_cli() {
    let a = Archive::new();
    a.chain(&linked(1), false);
    let run = a.run(&["--start-time", "2024-01-16T00:00:00Z"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (
            255,
            "\nInvalid time range specified: start-time must occur before end-time\n"
        )
    );
    let run = a.run(&["--start-time", "soon"]);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (255, "\nUnable to parse date value: soon\n")
    );
    let run = validate(
        &a.bucket(BUCKET),
        &a.keys(),
        &["--trail-arn", "foo:bar:baz", "--start-time", "2024-01-15"],
    );
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (255, "\nInvalid trail ARN provided: foo:bar:baz\n")
    );
    let run = validate(&a.bucket(BUCKET), &a.keys(), &["--trail-arn", ARN]);
    assert_eq!(run.code, 2, "--start-time is required with --trail-arn");
}

/// Beyond the AWS CLI: links that lie about the previous digest, and a malformed link
/// (which crashes the AWS CLI), each signed so that the AWS CLI itself sees nothing wrong.
#[test]
fn lying_links_are_found() {
    for (tamper, words) in [
        (
            Tamper::PreviousHash,
            "previousDigestHashValue is not the SHA-256 of",
        ),
        (
            Tamper::PreviousSignature,
            "previousDigestSignature is not the signature of",
        ),
        (
            Tamper::MalformedLink,
            "malformed link to the previous digest",
        ),
    ] {
        let a = Archive::new();
        let mut hours = linked(3);
        hours[2].tamper = Some(tamper);
        let d = a.chain(&hours, false);
        let run = a.run(&[]);
        assert_eq!(run.code, 1, "{tamper:?}: {}", run.stderr);
        assert_eq!(
            run.stderr.matches("INVALID").count(),
            1,
            "{tamper:?}: {}",
            run.stderr
        );
        assert!(
            run.stderr
                .starts_with(&format!("Digest file\t{}\tINVALID: {words}", s3(&d[2]))),
            "{tamper:?}: {}",
            run.stderr
        );
        assert!(
            run.stdout.contains(
                "3/3 digest files valid\n3/3 log files valid\n1 links between digests INVALID\n"
            ),
            "{tamper:?}: {}",
            run.stdout
        );
    }
}

#[test]
fn data_after_a_log_files_gzip_stream() {
    let a = Archive::new();
    let d = a.chain(&linked(2), false);
    let mut bytes = fs::read(&d[0].logs[0].1).unwrap();
    bytes.extend(gz(b"{\"Records\":[{\"eventName\":\"Injected\"}]}"));
    fs::write(&d[0].logs[0].1, bytes).unwrap();
    let run = a.run(&[]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        format!(
            "Log file\t{}\tINVALID: unexpected data after end of compressed stream\n\n",
            log_s3(&d[0])
        )
    );
}

/// A copy without metadata: the newest digest cannot be verified; each older one is, with the
/// signature its newer digest names (AWS's documented fallback).
#[test]
fn copy_without_metadata_uses_the_newer_digest() {
    let a = Archive::new();
    let d = a.chain(&linked(3), false);
    for w in &d {
        fs::remove_file(format!("{}.s3meta.json", w.path.display())).unwrap();
    }
    let run = a.run(&["--verbose"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr
            .starts_with(&format!("Digest file\t{}\tnot verified", s3(&d[2]))),
        "{}",
        run.stderr
    );
    assert!(run
        .stdout
        .contains(&format!("Digest file\t{}\tvalid", s3(&d[1]))));
    assert!(run.stdout.ends_with("\n2/2 digest files valid\n2/2 log files valid\n1 digest files not verified (signature not available)\n"), "{}", run.stdout);
    // A forged older digest fails against the signature its newer digest names.
    fs::write(&d[0].path, gz(b"{\"digestPublicKeyFingerprint\":\"x\"}")).unwrap();
    let run = a.run(&[]);
    assert_eq!(run.code, 1);
}

/// A log file no digest lists, inside a covered hour: added after the fact.
#[test]
fn inserted_log_file_is_found() {
    let a = Archive::new();
    let d = a.chain(&linked(3), false);
    let key = d[1].logs[0].0.replace("Rn01abcdefghijk", "Xx99zzzzzzzzzzz");
    let path = a.bucket(BUCKET).join(&key);
    fs::write(&path, gz(b"{\"Records\":[]}")).unwrap();
    let run = a.run(&[]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        format!("Log file\ts3://{BUCKET}/{key}\tINVALID: not listed in any digest\n\n")
    );
    assert!(
        run.stdout
            .ends_with("3/3 log files valid\n1 log files not listed in any digest\n"),
        "{}",
        run.stdout
    );
}

/// The newest digest deleted: nothing links to it, so the AWS CLI sees a clean chain; the log
/// file it listed gives it away.
#[test]
fn deleted_newest_digest_is_found() {
    let a = Archive::new();
    let d = a.chain(&linked(3), false);
    fs::remove_file(&d[2].path).unwrap();
    let run = a.run(&[]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        format!(
            "Log file\t{}\tINVALID: not listed in any digest, and delivered after the newest digest (which ends 2024-01-15T02:00:30Z): a newer digest is missing\n\n",
            log_s3(&d[2])
        )
    );
    assert!(
        run.stdout.contains(
            "2/2 digest files valid\n2/2 log files valid\n1 log files not listed in any digest\n"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn report_file_lists_every_verdict() {
    let a = Archive::new();
    let d = a.chain(&linked(3), false);
    fs::remove_file(&d[1].path).unwrap();
    let report = a.dir.path().join("report.json");
    let run = a.run(&["--report", report.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    let doc: Value = serde_json::from_str(&fs::read_to_string(&report).unwrap()).unwrap();
    let chain = &doc["chains"][0];
    assert_eq!(chain["trail"], ARN);
    let result = &chain["result"];
    assert_eq!(result["counts"]["digests_valid"], 2);
    assert_eq!(result["counts"]["digests_invalid"], 1);
    let verdicts: Vec<(&str, &str)> = result["digests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["s3"].as_str().unwrap(), d["verdict"].as_str().unwrap()))
        .collect();
    assert_eq!(
        verdicts,
        vec![
            (s3(&d[2]).as_str(), "valid"),
            (s3(&d[1]).as_str(), "INVALID"),
            (s3(&d[0]).as_str(), "valid")
        ]
    );
    assert_eq!(result["digests"][1]["reason"], "not found");
    assert_eq!(result["logs"].as_array().unwrap().len(), 2);
    // Delivery time covered by valid digests: the missing hour is not.
    assert_eq!(
        result["covered"],
        serde_json::json!([{"from": "2024-01-15T00:00:30Z", "to": "2024-01-15T01:00:30Z"}, {"from": "2024-01-15T02:00:30Z", "to": "2024-01-15T03:00:30Z"}])
    );
    // What an auditor files it with: the code, the run's times, the source, the keys used
    // and the command line.
    let version = doc["version"].as_str().unwrap();
    assert!(
        version.starts_with(env!("CARGO_PKG_VERSION")) && version.contains("(commit "),
        "{version}"
    );
    let (started, finished) = (
        doc["started"].as_str().unwrap(),
        doc["finished"].as_str().unwrap(),
    );
    assert!(
        started.ends_with('Z') && started <= finished,
        "{started} {finished}"
    );
    assert!(
        doc["source"].as_str().unwrap().ends_with("bucket"),
        "{}",
        doc["source"]
    );
    assert!(
        doc["public_keys"]
            .as_str()
            .unwrap()
            .starts_with("--public-keys "),
        "{}",
        doc["public_keys"]
    );
    let arguments: Vec<&str> = doc["arguments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        arguments.contains(&"--report") && arguments.contains(&ARN),
        "{arguments:?}"
    );
    // An existing report is not replaced by mistake: refused before any work; --force
    // replaces it.
    let before = fs::read(&report).unwrap();
    let again = a.run(&["--report", report.to_str().unwrap()]);
    assert_eq!(again.code, 2, "a usage error: {}", again.stderr);
    assert!(
        again
            .stderr
            .contains("the file exists; give another name, or --force"),
        "{}",
        again.stderr
    );
    assert!(again.stdout.is_empty(), "{}", again.stdout);
    assert_eq!(fs::read(&report).unwrap(), before);
    let forced = a.run(&["--report", report.to_str().unwrap(), "--force"]);
    assert_eq!(forced.code, 1, "{}", forced.stderr);
    assert_ne!(fs::read(&report).unwrap(), before, "a new run's times");
}

/// Without --trail-arn: every chain under the source, each printed as the AWS CLI prints
/// one, then the totals.
#[test]
fn every_chain_under_the_source() {
    let a = Archive::new();
    a.chain(&linked(3), false);
    let other = ChainSpec {
        account: "210987654321".into(),
        org_id: Some("o-a1b2c3d4e5".into()),
        region: "eu-west-1".into(),
        prefix: Some("org".into()),
        ..a.spec.clone()
    };
    write_chain(&|b| a.bucket(b), &other, &a.signer, &linked(2), false).unwrap();
    let run = validate(
        &a.bucket(BUCKET),
        &a.keys(),
        &["--end-time", "2024-01-15T04:00:00Z"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let headers: Vec<&str> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("Validating"))
        .collect();
    assert_eq!(
        headers,
        [
            "Validating log files for trail arn:aws:cloudtrail:us-east-1:123456789012:trail/foo (account 123456789012, region us-east-1) between 2024-01-14T23:00:30Z and 2024-01-15T04:00:00Z",
            "Validating log files for trail arn:aws:cloudtrail:us-east-1:210987654321:trail/foo (account 210987654321, region eu-west-1) between 2024-01-14T23:00:30Z and 2024-01-15T04:00:00Z",
        ]
    );
    assert!(run.stdout.ends_with(&format!(
        "All 2 digest chains under {}: 0 with INVALID files\n5/5 digest files valid\n5/5 log files valid\n",
        fs::canonicalize(a.bucket(BUCKET)).unwrap().display()
    )), "{}", run.stdout);
    // One broken chain makes the run fail and says which.
    let run = validate(
        &a.bucket(BUCKET),
        &a.keys(),
        &[
            "--end-time",
            "2024-01-15T04:00:00Z",
            "--account-id",
            "210987654321",
        ],
    );
    assert_eq!(run.code, 0);
    assert_eq!(
        run.stdout
            .lines()
            .filter(|l| l.starts_with("Validating"))
            .count(),
        1,
        "--account-id narrows"
    );
}

/// acquire from a copy on disk (the seam reads a folder as it reads a bucket): every object
/// copied with its sidecar, a manifest with every object's SHA-256, and a validation of the new
/// copy that prints what one of the original prints; a second run copies nothing.
#[test]
fn acquire_from_a_copy_on_disk_validates_the_same() {
    let source = common::sample_archive();
    let keys = source.with_file_name("sample-archive-public-keys.json");
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("evidence");
    let acquire = || {
        let out = common::trailscan(&["acquire", source.to_str().unwrap(), copy.to_str().unwrap()]);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stderr) = acquire();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("0 with problems"), "{stderr}");
    let manifest: Value =
        serde_json::from_str(&fs::read_to_string(copy.join("trailscan-manifest.json")).unwrap())
            .unwrap();
    let objects = manifest["objects"].as_object().unwrap();
    let sidecars = trailscan_fixtures::files_under(&copy)
        .unwrap()
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".s3meta.json"))
        .count();
    let digests = objects
        .keys()
        .filter(|k| k.contains("/CloudTrail-Digest/"))
        .count();
    assert!(
        digests > 0 && sidecars == digests,
        "{sidecars} sidecars, {digests} digests"
    );
    for (key, entry) in objects {
        let bytes = fs::read(source.join(key)).unwrap();
        assert_eq!(entry["size"], bytes.len(), "{key}");
    }
    let window = ["--end-time", "2024-01-03T00:00:00Z"];
    let original = validate(&source, &keys, &window);
    let copied = validate(&copy, &keys, &window);
    assert_eq!(original.code, 0, "{}", original.stderr);
    assert_eq!(copied.code, original.code);
    assert_eq!(copied.stderr, original.stderr);
    // The same lines, the totals naming each source as typed.
    assert_eq!(
        copied.stdout.replace(copy.to_str().unwrap(), "SRC"),
        original.stdout.replace(source.to_str().unwrap(), "SRC")
    );
    let (code, stderr) = acquire();
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains(": 0 copied"),
        "a second run copies nothing: {stderr}"
    );
    // --source names the source as for every other command (the one positional is then the
    // folder), and -q leaves stderr to problems.
    let other = dir.path().join("evidence-2");
    let (source, other_dir) = (source.to_str().unwrap(), other.to_str().unwrap());
    let out = common::trailscan(&["acquire", "--source", source, other_dir, "-q"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        fs::read(other.join("AWSLogs/123456789012/CloudTrail-Digest/eu-west-1/2024/01/01/123456789012_CloudTrail-Digest_eu-west-1_management-events_eu-west-1_20240101T020030Z.json.gz")).unwrap(),
        fs::read(Path::new(source).join("AWSLogs/123456789012/CloudTrail-Digest/eu-west-1/2024/01/01/123456789012_CloudTrail-Digest_eu-west-1_management-events_eu-west-1_20240101T020030Z.json.gz")).unwrap()
    );
    let twice = common::trailscan(&["acquire", "--source", source, source, other_dir]);
    assert_eq!(twice.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&twice.stderr).contains("give the source once"),
        "{}",
        String::from_utf8_lossy(&twice.stderr)
    );
}

/// A time with an offset is converted in trailscan's own mode (every chain), as lookups
/// convert it; with --trail-arn it is relabelled as UTC, the AWS CLI's quirk kept for parity.
/// (Before: relabelled in both, so 12:00+05:00 searched from 12:00Z, five hours late.)
#[test]
fn an_offset_is_converted_except_where_the_aws_cli_drops_it() {
    let sample = common::sample_archive();
    let keys = sample
        .parent()
        .unwrap()
        .join("sample-archive-public-keys.json");
    let start = [
        "--start-time",
        "2024-01-02T12:00:00+05:00",
        "--end-time",
        "2024-01-03T00:00:00Z",
    ];
    let own = validate(&sample, &keys, &start);
    assert!(
        own.stdout
            .lines()
            .next()
            .is_some_and(|l| l.contains("between 2024-01-02T07:00:00Z and 2024-01-03T00:00:00Z")),
        "{}{}",
        own.stdout,
        own.stderr
    );
    let mut parity = start.to_vec();
    parity.extend([
        "--trail-arn",
        "arn:aws:cloudtrail:eu-west-1:123456789012:trail/management-events",
    ]);
    let aws = validate(&sample, &keys, &parity);
    assert!(
        aws.stdout
            .lines()
            .next()
            .is_some_and(|l| l.contains("between 2024-01-02T12:00:00Z and 2024-01-03T00:00:00Z")),
        "{}{}",
        aws.stdout,
        aws.stderr
    );
}
