//! The manifest `trailscan acquire` keeps at the top of an evidence copy,
//! `DIR/trailscan-manifest.json`: where the copy came from, and the size and SHA-256 of every
//! object as downloaded.
//!
//! ```json
//! {"source": "s3://my-bucket",
//!  "runs": [{"tool": "trailscan 0.1.0 (commit …)", "started": "…Z", "finished": "…Z",
//!            "source": "s3://my-bucket", "arguments": ["acquire", …], "start_time": null,
//!            "end_time": null, "accounts": [], "regions": [],
//!            "counts": {"listed": 10, "copied": 9, "present": 1, "refused": 0, "problems": 0}}],
//!  "objects": {"AWSLogs/.../X.json.gz": {"size": 1234, "sha256": "…",
//!              "etag": "\"…\"", "last_modified": "2024-01-01T00:05:11Z"}}}
//! ```
//!
//! `runs` holds one record per `acquire` run into the copy (a copy made in several runs, each
//! resuming the last, says so); an object's `etag` and `last_modified` are the source's
//! listing's when it was copied. Manifests of earlier trailscan versions (without them) read.
//!
//! It is read back when a copy is resumed, and it may have been touched since: a manifest that
//! does not read is refused with the reason, never silently replaced (which would drop the
//! hashes of everything copied before).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The manifest's file name, at the top of the copy.
pub const MANIFEST_FILE: &str = "trailscan-manifest.json";

/// What the manifest says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The bucket the copy was made from, `s3://bucket[/prefix]`.
    pub source: String,
    /// Each run that wrote into the copy, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<AcquisitionRun>,
    /// Object key → what was downloaded.
    pub objects: BTreeMap<String, ManifestEntry>,
}

/// One `acquire` run, as an examiner files it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcquisitionRun {
    /// trailscan's version and commit.
    pub tool: String,
    /// When it started and finished (UTC, RFC 3339).
    pub started: String,
    /// See `started`.
    pub finished: String,
    /// The source as given.
    pub source: String,
    /// The command line.
    pub arguments: Vec<String>,
    /// `--start-time` and `--end-time` as used (UTC), if given.
    pub start_time: Option<String>,
    /// See `start_time`.
    pub end_time: Option<String>,
    /// `--account-id` values (all accounts where empty).
    pub accounts: Vec<String>,
    /// `--region` values (all regions where empty).
    pub regions: Vec<String>,
    /// What it did with the objects it listed.
    pub counts: AcquisitionCounts,
}

/// What one run did with the objects it listed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcquisitionCounts {
    /// Objects listed.
    pub listed: u64,
    /// Copied by this run.
    pub copied: u64,
    /// Already in the copy, as the manifest recorded them.
    pub present: u64,
    /// Refused (unsafe keys, links in the copy's path).
    pub refused: u64,
    /// Failed or differing from the copy.
    pub problems: u64,
}

/// One object as downloaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Bytes.
    pub size: u64,
    /// SHA-256 of the bytes, lowercase hex.
    pub sha256: String,
    /// The source's ETag when it was copied (S3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// The source's last modification when it was copied (UTC, RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
}

impl ManifestEntry {
    /// What the source's listing said of an object (its size, ETag and last modification),
    /// its hash to be filled in.
    pub fn as_listed(object: &trailscan_archive::ObjectRef) -> ManifestEntry {
        let modified = object
            .modified
            .map(|t| trailscan_layout::time::format_utc(trailscan_layout::time::epoch_secs(t)));
        ManifestEntry {
            size: object.size,
            sha256: String::new(),
            etag: object.etag.clone(),
            last_modified: modified,
        }
    }
}

impl ManifestEntry {
    /// Whether the entry of `key` is one trailscan wrote: why not, naming the key.
    pub fn check(&self, key: &str) -> Result<(), String> {
        let is_hash = self.sha256.len() == 64
            && self
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        match is_hash {
            true => Ok(()),
            false => Err(format!("{key}: \"sha256\" is not 64 lowercase hex digits")),
        }
    }
}

/// Why a manifest does not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a trailscan manifest: {0}")]
pub struct ManifestError(pub String);

impl Manifest {
    /// Reads a manifest's text.
    pub fn parse(text: &str) -> Result<Manifest, ManifestError> {
        let manifest: Manifest =
            serde_json::from_str(text).map_err(|e| ManifestError(e.to_string()))?;
        for (key, entry) in &manifest.objects {
            entry.check(key).map_err(ManifestError)?;
        }
        Ok(manifest)
    }

    /// The manifest's text: pretty JSON, keys sorted, with a final newline.
    pub fn to_text(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_it_writes_and_names_what_is_wrong() {
        let mut m = Manifest {
            source: "s3://b".into(),
            ..Manifest::default()
        };
        m.objects.insert(
            "AWSLogs/k.json.gz".into(),
            ManifestEntry {
                size: 3,
                sha256: "ab".repeat(32),
                etag: Some("\"e\"".into()),
                last_modified: Some("2024-01-01T00:00:00Z".into()),
            },
        );
        assert_eq!(Manifest::parse(&m.to_text()), Ok(m));
        let bad = r#"{"source":"s3://b","objects":{"k":{"size":1,"sha256":"XYZ"}}}"#;
        assert_eq!(
            Manifest::parse(bad).unwrap_err().to_string(),
            "not a trailscan manifest: k: \"sha256\" is not 64 lowercase hex digits"
        );
        let err = Manifest::parse(r#"{"source":"s3://b","objects":{"k":{"size":-1}}}"#)
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid value: integer `-1`"), "{err}");
        assert!(Manifest::parse("").is_err());
        // A manifest of an earlier trailscan, without runs, ETags or times, reads.
        let old = format!(
            r#"{{"source":"s3://b","objects":{{"k":{{"size":1,"sha256":"{}"}}}}}}"#,
            "ab".repeat(32)
        );
        let read = Manifest::parse(&old).unwrap();
        assert!(read.runs.is_empty() && read.objects["k"].etag.is_none());
    }
}
