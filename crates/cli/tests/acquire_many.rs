//! An acquisition of more objects than a run of its manifest holds (4,096): the manifest is
//! gathered in sorted runs on disk and merged, and must be the document a whole manifest is;
//! a resumed copy reads it back an entry at a time and finds every object present.

mod common;

use std::fs;
use std::io::Write;
use std::path::Path;

use common::trailscan;
use sha2::{Digest, Sha256};

const FILES: usize = 9_000;

/// `FILES` small log files of one account and region over January 2024.
fn many_log_files(root: &Path) {
    let folder = root.join("AWSLogs/111122223333/CloudTrail/us-east-1/2024/01");
    for n in 0..FILES {
        let (day, minute) = (1 + n % 28, n / 28);
        let name = format!(
            "{day:02}/111122223333_CloudTrail_us-east-1_202401{day:02}T{:02}{:02}Z_{n:016}.json.gz",
            (minute / 60) % 24,
            minute % 60
        );
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        write!(gz, r#"{{"Records":[{{"eventID":"{n}"}}]}}"#).unwrap();
        let path = folder.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, gz.finish().unwrap()).unwrap();
    }
}

#[test]
fn a_manifest_larger_than_a_run_is_whole_and_resumes() {
    let tmp = tempfile::tempdir().unwrap();
    let (source, copy) = (tmp.path().join("bucket"), tmp.path().join("copy"));
    many_log_files(&source);
    let acquire = || {
        let out = trailscan(&["acquire", source.to_str().unwrap(), copy.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        stderr
    };
    let stderr = acquire();
    assert!(
        stderr.contains(&format!("{FILES} objects listed"))
            && stderr.contains(&format!("{FILES} copied")),
        "{stderr}"
    );
    let manifest_text = fs::read_to_string(copy.join("trailscan-manifest.json")).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&manifest_text).unwrap();
    let objects = manifest["objects"].as_object().unwrap();
    assert_eq!(objects.len(), FILES);
    // In key order, each entry the size and SHA-256 of the file copied.
    let keys: Vec<&String> = objects.keys().collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "keys out of order");
    for (key, entry) in objects {
        let bytes = fs::read(copy.join(key)).unwrap();
        assert_eq!(entry["size"], bytes.len() as u64, "{key}");
        assert_eq!(
            entry["sha256"],
            format!("{:x}", Sha256::digest(&bytes)),
            "{key}"
        );
    }
    // Written as the whole document is written: pretty, a final newline.
    let whole = serde_json::to_string_pretty(&manifest).unwrap() + "\n";
    assert_eq!(manifest_text, whole);
    assert!(
        !copy.join(".trailscan-manifest-runs").exists(),
        "runs left behind"
    );

    let again = acquire();
    assert!(
        again.contains(&format!("0 copied (0.0 MB), {FILES} already present")),
        "{again}"
    );
    let resumed: serde_json::Value =
        serde_json::from_slice(&fs::read(copy.join("trailscan-manifest.json")).unwrap()).unwrap();
    assert_eq!(resumed["objects"], manifest["objects"]);
    assert_eq!(resumed["runs"].as_array().unwrap().len(), 2);
}
