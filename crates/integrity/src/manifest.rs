//! The manifest `trailscan acquire` keeps at the top of an evidence copy,
//! `DIR/trailscan-manifest.json`: where the copy came from, and the size and SHA-256 of every
//! object as downloaded.
//!
//! ```json
//! {"source": "s3://my-bucket", "objects": {"AWSLogs/.../X.json.gz": {"size": 1234, "sha256": "…"}}}
//! ```
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
    /// Object key → what was downloaded.
    pub objects: BTreeMap<String, ManifestEntry>,
}

/// One object as downloaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Bytes.
    pub size: u64,
    /// SHA-256 of the bytes, lowercase hex.
    pub sha256: String,
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
            let is_hash = entry.sha256.len() == 64
                && entry
                    .sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !is_hash {
                return Err(ManifestError(format!(
                    "{key}: \"sha256\" is not 64 lowercase hex digits"
                )));
            }
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
    }
}
