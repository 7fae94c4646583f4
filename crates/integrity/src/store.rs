//! Objects by bucket and key, as validation sees them: S3 semantics over a local copy.
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
//! prefix); `trailscan acquire` writes one per digest.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The suffix of a metadata sidecar.
pub const SIDECAR_SUFFIX: &str = ".s3meta.json";

/// The sidecar format's name and version.
pub const SIDECAR_FORMAT: &str = "trailscan-s3-metadata/1";

/// An object that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GetError {
    /// S3's `NoSuchKey`: the object does not exist.
    NotFound,
    /// Anything else, said in a sentence.
    Other(String),
}

/// An object's bytes and, where known, its user metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The object as stored (gzip for CloudTrail objects).
    pub body: Vec<u8>,
    /// User metadata; `None` where the store cannot know it (a copy without a sidecar).
    pub metadata: Option<BTreeMap<String, String>>,
}

/// Where validation reads objects.
pub trait Store: Sync {
    /// Keys in `bucket` that start with `prefix` and sort after `marker`, in S3's (byte)
    /// order, as `ListObjects` pages them.
    fn list(&self, bucket: &str, prefix: &str, marker: &str) -> Result<Vec<String>, String>;
    /// An object and its metadata.
    fn get(&self, bucket: &str, key: &str) -> Result<Fetched, GetError>;
}

/// Local copies of buckets: for each, the folder that holds `AWSLogs/` (or the trail's
/// prefix). A bucket without a copy holds nothing.
pub struct LocalStore {
    roots: BTreeMap<String, PathBuf>,
}

impl LocalStore {
    /// The copy of `bucket` at `root`.
    pub fn new(root: &Path, bucket: &str) -> LocalStore {
        LocalStore {
            roots: BTreeMap::from([(bucket.to_string(), root.to_path_buf())]),
        }
    }

    /// Adds the copy of another bucket (a trail that moved between buckets).
    pub fn add_bucket(&mut self, bucket: &str, root: &Path) {
        self.roots.insert(bucket.to_string(), root.to_path_buf());
    }

    fn sidecar(root: &Path, key: &str) -> Result<Option<BTreeMap<String, String>>, GetError> {
        let path = root.join(format!("{key}{SIDECAR_SUFFIX}"));
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(GetError::Other(format!(
                    "cannot read {}: {e}",
                    path.display()
                )))
            }
        };
        parse_sidecar(&text)
            .map(Some)
            .map_err(|e| GetError::Other(format!("{}: {e}", path.display())))
    }
}

/// Reads a sidecar's text: the object's user metadata, string values only (S3 metadata is
/// text; anything else in the file is ignored, as a copy may be annotated).
pub fn parse_sidecar(text: &str) -> Result<BTreeMap<String, String>, String> {
    let doc: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
    let metadata = doc
        .get("metadata")
        .and_then(Value::as_object)
        .ok_or_else(|| "no \"metadata\" object".to_string())?;
    Ok(metadata
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
        .collect())
}

impl Store for LocalStore {
    fn list(&self, bucket: &str, prefix: &str, marker: &str) -> Result<Vec<String>, String> {
        let Some(root) = self.roots.get(bucket) else {
            return Ok(Vec::new());
        };
        // Walk only the folder the prefix names, then filter as S3 would.
        let folder = prefix.rfind('/').map_or("", |i| &prefix[..i]);
        let mut keys = Vec::new();
        let mut stack = vec![root.join(folder)];
        while let Some(dir) = stack.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(format!("cannot list {}: {e}", dir.display())),
            };
            for entry in entries {
                let entry = entry.map_err(|e| format!("cannot list {}: {e}", dir.display()))?;
                let path = entry.path();
                let file_type = entry
                    .file_type()
                    .map_err(|e| format!("cannot stat {}: {e}", path.display()))?;
                if file_type.is_dir() {
                    stack.push(path);
                } else if file_type.is_file() {
                    let Ok(rel) = path.strip_prefix(root) else {
                        continue;
                    };
                    let parts: Option<Vec<&str>> = rel.iter().map(|c| c.to_str()).collect();
                    let Some(parts) = parts else { continue };
                    let key = parts.join("/");
                    if key.starts_with(prefix)
                        && key.as_str() > marker
                        && !key.ends_with(SIDECAR_SUFFIX)
                    {
                        keys.push(key);
                    }
                }
            }
        }
        keys.sort();
        Ok(keys)
    }

    fn get(&self, bucket: &str, key: &str) -> Result<Fetched, GetError> {
        let Some(root) = self.roots.get(bucket) else {
            return Err(GetError::NotFound);
        };
        if key.is_empty() || key.split('/').any(|p| p == ".." || p == ".") {
            return Err(GetError::NotFound);
        }
        match fs::read(root.join(key)) {
            Ok(body) => Ok(Fetched {
                body,
                metadata: LocalStore::sidecar(root, key)?,
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(GetError::NotFound),
            Err(e) => Err(GetError::Other(format!(
                "cannot read s3://{bucket}/{key}: {e}"
            ))),
        }
    }
}

/// A bucket in S3: metadata is the object's own.
impl Store for trailscan_archive::s3::S3Archive {
    fn list(&self, bucket: &str, prefix: &str, marker: &str) -> Result<Vec<String>, String> {
        self.list_keys(bucket, prefix, marker)
    }

    fn get(&self, bucket: &str, key: &str) -> Result<Fetched, GetError> {
        use trailscan_archive::s3::FetchError;
        let mut body = Vec::new();
        match self.fetch_with_metadata(bucket, key, &mut body) {
            Ok(metadata) => Ok(Fetched {
                body,
                metadata: Some(metadata),
            }),
            Err(FetchError::NotFound) => Err(GetError::NotFound),
            Err(FetchError::Failed(message)) => Err(GetError::Other(message)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_like_s3_and_reads_sidecars() {
        let dir = tempfile::tempdir().unwrap();
        let put = |k: &str, body: &str| {
            let p = dir.path().join(k);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, body).unwrap();
        };
        put("p/AWSLogs/1/CloudTrail-Digest/r/2024/01/02/b.json.gz", "b");
        put("p/AWSLogs/1/CloudTrail-Digest/r/2024/01/01/a.json.gz", "a");
        put("p/AWSLogs/1/CloudTrail-Digest/r2/2024/01/01/c.json.gz", "c");
        put(
            "p/AWSLogs/1/CloudTrail-Digest/r/2024/01/01/a.json.gz.s3meta.json",
            r#"{"format":"trailscan-s3-metadata/1","bucket":"bk","key":"k","metadata":{"signature":"ab"}}"#,
        );
        let store = LocalStore::new(dir.path(), "bk");
        let all = store
            .list("bk", "p/AWSLogs/1/CloudTrail-Digest/r", "")
            .unwrap();
        // "r2" also starts with the prefix "…/r", as in S3.
        assert_eq!(all.len(), 3);
        let after = store
            .list(
                "bk",
                "p/AWSLogs/1/CloudTrail-Digest/r/",
                "p/AWSLogs/1/CloudTrail-Digest/r/2024/01/01/a.json.gz",
            )
            .unwrap();
        assert_eq!(
            after,
            vec!["p/AWSLogs/1/CloudTrail-Digest/r/2024/01/02/b.json.gz"]
        );
        let a = store
            .get("bk", "p/AWSLogs/1/CloudTrail-Digest/r/2024/01/01/a.json.gz")
            .unwrap();
        assert_eq!(a.metadata.unwrap()["signature"], "ab");
        assert_eq!(
            store
                .get("bk", "p/AWSLogs/1/CloudTrail-Digest/r/2024/01/02/b.json.gz")
                .unwrap()
                .metadata,
            None
        );
        assert_eq!(store.get("bk", "nope"), Err(GetError::NotFound));
        assert_eq!(
            store.get(
                "other",
                "p/AWSLogs/1/CloudTrail-Digest/r/2024/01/02/b.json.gz"
            ),
            Err(GetError::NotFound)
        );
    }
}
