//! A bucket held in memory: for tests and fuzz targets that need a store without a disk or a
//! server.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::store::{
    delimited, DirListing, ObjectInfo, ObjectMetadata, ObjectStore, Operation, Problem,
    RequestCounts, StoreError, WriteMode,
};

/// Objects by key: their bytes and metadata.
type Objects = BTreeMap<String, (Vec<u8>, Option<ObjectMetadata>)>;

/// Objects by key, with their metadata.
#[derive(Debug, Default)]
pub struct MemoryStore {
    objects: Mutex<Objects>,
    /// As many keys as one listing request brings ([`ObjectStore::list_all_below`]); `None`:
    /// levels cost no request, as on disk.
    page: Option<usize>,
    /// Listing requests answered, for a paged store.
    lists: AtomicU64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// An empty store whose listing requests bring up to `page` keys, as a bucket's do (1,000
    /// in S3): for tests of a walk that takes levels from one request.
    pub fn paged(page: usize) -> MemoryStore {
        MemoryStore {
            page: Some(page),
            ..MemoryStore::default()
        }
    }

    fn objects(&self) -> MutexGuard<'_, Objects> {
        // A panic elsewhere leaves the map whole: every change is one insert.
        self.objects.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn info(key: &str, body: &[u8]) -> ObjectInfo {
        ObjectInfo {
            key: key.to_string(),
            size: body.len() as u64,
            etag: None,
            modified: None,
        }
    }
}

impl ObjectStore for MemoryStore {
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn name(&self) -> &str {
        "memory"
    }

    fn base(&self) -> &str {
        ""
    }

    fn display_key(&self, key: &str) -> String {
        format!("memory:{key}")
    }

    fn is_remote(&self) -> bool {
        // A paged store stands for a bucket: each of its levels is a request.
        self.page.is_some()
    }

    fn requests_made(&self) -> Option<RequestCounts> {
        self.page.map(|_| RequestCounts {
            list: self.lists.load(Ordering::Relaxed),
            ..RequestCounts::default()
        })
    }

    fn list_dir(&self, dir: &str) -> Result<DirListing, StoreError> {
        self.lists.fetch_add(1, Ordering::Relaxed);
        Ok(delimited(dir, &self.list_keys(dir, "")?))
    }

    fn list_all_below(&self, dir: &str) -> Result<Option<Vec<ObjectInfo>>, StoreError> {
        let Some(page) = self.page else {
            return Ok(None);
        };
        self.lists.fetch_add(1, Ordering::Relaxed);
        let all = self.list_keys(dir, "")?;
        Ok((all.len() <= page).then_some(all))
    }

    fn list_keys(&self, prefix: &str, start_after: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        Ok(self
            .objects()
            .iter()
            .filter(|(k, _)| k.starts_with(prefix) && k.as_str() > start_after)
            .map(|(k, (body, _))| MemoryStore::info(k, body))
            .collect())
    }

    fn read(&self, key: &str, buf: &mut Vec<u8>) -> Result<ObjectInfo, StoreError> {
        self.read_with_metadata(key, buf).map(|(info, _)| info)
    }

    fn read_with_metadata(
        &self,
        key: &str,
        buf: &mut Vec<u8>,
    ) -> Result<(ObjectInfo, Option<ObjectMetadata>), StoreError> {
        let objects = self.objects();
        let Some((body, metadata)) = objects.get(key) else {
            return Err(StoreError::new(
                Operation::Read,
                self.display_key(key),
                Problem::NotFound,
            ));
        };
        buf.clear();
        buf.extend_from_slice(body);
        Ok((MemoryStore::info(key, body), metadata.clone()))
    }

    fn read_stream(&self, key: &str) -> Result<Box<dyn io::Read + Send>, StoreError> {
        let mut body = Vec::new();
        self.read(key, &mut body)?;
        Ok(Box::new(io::Cursor::new(body)))
    }

    fn write(
        &self,
        key: &str,
        body: &[u8],
        metadata: Option<&ObjectMetadata>,
        mode: WriteMode,
    ) -> Result<(), StoreError> {
        let mut objects = self.objects();
        if mode == WriteMode::CreateNew && objects.contains_key(key) {
            return Err(StoreError::new(
                Operation::Write,
                self.display_key(key),
                Problem::Exists,
            ));
        }
        objects.insert(key.to_string(), (body.to_vec(), metadata.cloned()));
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.objects().remove(key);
        Ok(())
    }

    fn write_file(&self, key: &str, file: &Path, mode: WriteMode) -> Result<(), StoreError> {
        let body = std::fs::read(file).map_err(|e| {
            StoreError::new(Operation::Read, file.display().to_string(), Problem::Io(e))
        })?;
        self.write(key, &body, None, mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_one_level_as_s3_does() {
        let store = MemoryStore::new();
        for key in ["a/b/1", "a/b/2", "a/c", "a/d/e/3", "b"] {
            store.write(key, b"x", None, WriteMode::Replace).unwrap();
        }
        let level = store.list_dir("a/").unwrap();
        assert_eq!(level.folders, vec!["a/b/", "a/d/"]);
        assert_eq!(level.objects.len(), 1);
        assert_eq!(store.list_dir("").unwrap().folders, vec!["a/"]);
        assert_eq!(store.list_keys("a/b", "a/b/1").unwrap().len(), 1);
    }
}
