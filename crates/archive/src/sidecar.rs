//! An object's S3 metadata kept beside its copy on disk.
//!
//! A digest's signature lives in its S3 object metadata, which a plain copy loses. trailscan
//! keeps it in a sidecar beside the object, `KEY.s3meta.json`:
//!
//! ```json
//! {"format": "trailscan-s3-metadata/1", "bucket": "my-bucket",
//!  "key": "AWSLogs/.../X.json.gz", "metadata": {"signature": "…", "signature-algorithm": "SHA256withRSA"}}
//! ```
//!
//! `metadata` is the object's user metadata as S3 returns it (without the `x-amz-meta-`
//! prefix); `bucket` is the bucket the object was copied from. `trailscan acquire` writes one
//! per digest; [`crate::LocalFolder`] reads them back as the object's metadata and never lists
//! them as objects.

use serde_json::{json, Value};

use crate::store::{ObjectMetadata, UserMetadata};

/// The suffix of a metadata sidecar.
pub const SIDECAR_SUFFIX: &str = ".s3meta.json";

/// The sidecar format's name and version.
pub const SIDECAR_FORMAT: &str = "trailscan-s3-metadata/1";

/// Why a sidecar does not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SidecarError {
    /// Not JSON at all.
    #[error("not JSON: {0}")]
    NotJson(String),
    /// JSON without the `metadata` object.
    #[error("no \"metadata\" object")]
    NoMetadata,
}

/// Reads a sidecar's text: the object's user metadata (string values only: S3 metadata is
/// text; anything else in the file is ignored, as a copy may be annotated) and the bucket it
/// names.
pub fn parse_sidecar(text: &str) -> Result<ObjectMetadata, SidecarError> {
    let doc: Value =
        serde_json::from_str(text).map_err(|e| SidecarError::NotJson(e.to_string()))?;
    let metadata = doc
        .get("metadata")
        .and_then(Value::as_object)
        .ok_or(SidecarError::NoMetadata)?;
    let user: UserMetadata = metadata
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
        .collect();
    Ok(ObjectMetadata {
        bucket: doc
            .get("bucket")
            .and_then(Value::as_str)
            .map(str::to_string),
        user,
    })
}

/// The sidecar of `key`'s copy.
pub fn sidecar_text(key: &str, metadata: &ObjectMetadata) -> String {
    let doc = json!({
        "format": SIDECAR_FORMAT,
        "bucket": metadata.bucket,
        "key": key,
        "metadata": metadata.user,
    });
    // A map of strings always serializes.
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_ignores_annotations() {
        let metadata = ObjectMetadata {
            bucket: Some("bk".into()),
            user: UserMetadata::from([("signature".into(), "ab".into())]),
        };
        let text = sidecar_text("k", &metadata);
        assert_eq!(parse_sidecar(&text), Ok(metadata));
        let annotated = r#"{"metadata":{"signature":"ab","n":1},"note":"seized 2024-01-02"}"#;
        let read = parse_sidecar(annotated).unwrap();
        assert_eq!(read.bucket, None);
        assert_eq!(read.user.len(), 1);
        assert_eq!(parse_sidecar("[]"), Err(SidecarError::NoMetadata));
        assert!(matches!(parse_sidecar("{"), Err(SidecarError::NotJson(_))));
    }
}
