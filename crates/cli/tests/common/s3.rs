//! The S3 test server that `make test` starts (SeaweedFS on loopback), and the AWS CLI
//! (from `.venv`) to fill its buckets.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::sample_archive;

/// The server's environment (`AWS_ENDPOINT_URL`, keys), from `$TRAILSCAN_TEST_S3_ENV`.
pub fn server() -> Option<HashMap<String, String>> {
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

pub fn aws_cli() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/aws")
}

/// Runs the AWS CLI against the test server, failing the test with its stderr.
pub fn aws_s3(env: &HashMap<String, String>, args: &[&str]) {
    let out = Command::new(aws_cli())
        .args(["--endpoint-url", &env["AWS_ENDPOINT_URL"]])
        .args(args)
        .envs(env)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "aws {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Makes `bucket` and copies the sample archive into it under `prefix`.
pub fn upload(env: &HashMap<String, String>, bucket: &str, prefix: &str) {
    upload_tree(env, &sample_archive(), bucket, prefix);
}

/// Makes `bucket` and copies the folder `dir` into it under `prefix`.
pub fn upload_tree(env: &HashMap<String, String>, dir: &Path, bucket: &str, prefix: &str) {
    let run = |args: &[&str]| aws_s3(env, args);
    run(&["s3api", "create-bucket", "--bucket", bucket]);
    let target = format!("s3://{bucket}/{prefix}");
    run(&[
        "s3",
        "cp",
        "--recursive",
        "--only-show-errors",
        dir.to_str().unwrap(),
        &target,
    ]);
}
