//! Objects by bucket and key, as validation reads them: digests name the bucket of every log
//! file and of the previous digest, and a chain may move between buckets.
//!
//! Each bucket is read through the storage seam: the source's own store, the copies of other
//! buckets given (`--bucket-copy`), and, from S3, any other bucket the source's client can
//! reach. A bucket with neither holds nothing, as a copy of one bucket holds nothing of
//! another.

use std::collections::BTreeMap;
use std::sync::Arc;

pub use trailscan_archive::Fetched;
use trailscan_archive::{map_fetched, ObjectStore, Operation, Problem, StoreError};

/// The buckets a validation reads, by name.
#[derive(Debug, Clone)]
pub struct Buckets {
    stores: BTreeMap<String, Arc<dyn ObjectStore>>,
    /// The store that reaches buckets not named (S3), if any.
    reach: Option<Arc<dyn ObjectStore>>,
}

impl Buckets {
    /// `bucket` read from `store`; other buckets through the same client where it has one.
    pub fn new(bucket: &str, store: Arc<dyn ObjectStore>) -> Buckets {
        let reach = store.bucket().is_some().then(|| Arc::clone(&store));
        Buckets {
            stores: BTreeMap::from([(bucket.to_string(), store)]),
            reach,
        }
    }

    /// Adds the store of another bucket (the copy of a bucket the trail moved to).
    pub fn add(&mut self, bucket: &str, store: Arc<dyn ObjectStore>) {
        self.stores.insert(bucket.to_string(), store);
    }

    fn store(&self, bucket: &str) -> Option<Arc<dyn ObjectStore>> {
        if let Some(store) = self.stores.get(bucket) {
            return Some(Arc::clone(store));
        }
        let other = self.reach.as_ref()?.in_bucket(bucket)?;
        Some(Arc::from(other))
    }

    /// Keys in `bucket` that start with `prefix` and sort after `start_after`, in S3's (byte)
    /// order.
    pub fn list(
        &self,
        bucket: &str,
        prefix: &str,
        start_after: &str,
    ) -> Result<Vec<String>, StoreError> {
        let Some(store) = self.store(bucket) else {
            return Ok(Vec::new());
        };
        let found = store.list_keys(prefix, start_after)?;
        Ok(found.into_iter().map(|o| o.key).collect())
    }

    /// Every key below `dir` (a prefix ending in `/`) of `bucket`, in S3's order, when one
    /// request brings them all; `None` when it does not, or on disk (see
    /// [`ObjectStore::list_all_below`]).
    pub fn list_all_below(
        &self,
        bucket: &str,
        dir: &str,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let Some(store) = self.store(bucket) else {
            return Ok(Some(Vec::new()));
        };
        let found = store.list_all_below(dir)?;
        Ok(found.map(|objects| objects.into_iter().map(|o| o.key).collect()))
    }

    /// An object and its metadata.
    pub fn get(&self, bucket: &str, key: &str) -> Result<Fetched, StoreError> {
        let Some(store) = self.store(bucket) else {
            let target = format!("s3://{bucket}/{key}");
            return Err(StoreError::new(Operation::Read, target, Problem::NotFound));
        };
        let mut body = Vec::new();
        let fetched = store
            .read_with_metadata(key, &mut body)
            .map(|(info, metadata)| Fetched {
                body,
                info,
                metadata,
            });
        as_in_s3(bucket, key, fetched)
    }

    /// How many requests the source keeps in flight (0 on disk): see
    /// [`ObjectStore::requests_in_flight`].
    pub fn requests_in_flight(&self) -> usize {
        self.stores
            .values()
            .map(|s| s.requests_in_flight())
            .max()
            .unwrap_or(0)
    }

    /// Reads `keys` of `bucket` as they arrive, with their metadata, and runs `work` on each on
    /// the current rayon pool (see [`map_fetched`]); the results by index, in any order.
    pub fn map_fetched<T: Send>(
        &self,
        bucket: &str,
        keys: &[&str],
        work: impl Fn(usize, Result<Fetched, StoreError>) -> T + Sync + Send,
    ) -> Vec<(usize, T)> {
        let Some(store) = self.store(bucket) else {
            let missing = |i: usize| {
                let target = format!("s3://{bucket}/{}", keys[i]);
                Err(StoreError::new(Operation::Read, target, Problem::NotFound))
            };
            return (0..keys.len()).map(|i| (i, work(i, missing(i)))).collect();
        };
        let in_flight = store.requests_in_flight();
        map_fetched(&*store, keys, in_flight, true, |i, fetched| {
            work(i, as_in_s3(bucket, keys[i], fetched))
        })
    }
}

/// A key that no file of a copy can have (a `..` segment, an empty one) is not in the copy: the
/// digest that names it is told "not found", as for S3's NoSuchKey.
fn as_in_s3(
    bucket: &str,
    key: &str,
    fetched: Result<Fetched, StoreError>,
) -> Result<Fetched, StoreError> {
    match fetched {
        Err(e) if matches!(e.problem, Problem::UnsafeKey) => {
            let target = format!("s3://{bucket}/{key}");
            Err(StoreError::new(Operation::Read, target, Problem::NotFound))
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trailscan_archive::{MemoryStore, WriteMode};

    #[test]
    fn a_bucket_without_a_store_holds_nothing() {
        let store = MemoryStore::new();
        store.write("a/k", b"x", None, WriteMode::Replace).unwrap();
        let buckets = Buckets::new("bk", Arc::new(store));
        assert_eq!(buckets.list("bk", "a/", "").unwrap(), vec!["a/k"]);
        assert_eq!(buckets.get("bk", "a/k").unwrap().body, b"x");
        assert!(buckets.list("other", "a/", "").unwrap().is_empty());
        assert!(buckets.get("other", "a/k").unwrap_err().is_not_found());
    }

    #[test]
    fn a_digest_naming_a_key_outside_the_copy_finds_nothing() {
        // A digest (from a bucket an attacker wrote to) may name any key; over a copy, one
        // that would lead out of it is an object the copy does not hold, never a file read
        // from elsewhere.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("outside.json.gz"), b"not evidence").unwrap();
        let copy = dir.path().join("copy");
        let store = trailscan_archive::LocalFolder::create(&copy).unwrap();
        let buckets = Buckets::new("bk", Arc::new(store));
        for key in [
            "../outside.json.gz",
            "a/../../outside.json.gz",
            "/etc/hostname",
        ] {
            let err = buckets.get("bk", key).map(|f| f.body).unwrap_err();
            assert!(err.is_not_found(), "{key}: {err}");
            assert_eq!(err.target, format!("s3://bk/{key}"));
            let read = buckets.map_fetched("bk", &[key], |_, f| f.map(|f| f.body));
            assert!(read[0].1.as_ref().unwrap_err().is_not_found(), "{key}");
        }
    }
}
