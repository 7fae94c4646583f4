//! A bucket held in memory: for tests and fuzz targets that need a store without a disk or a
//! server.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::store::{
    DirListing, ObjectInfo, ObjectMetadata, ObjectStore, Operation, Problem, StoreError, WriteMode,
};

/// Objects by key: their bytes and metadata.
type Objects = BTreeMap<String, (Vec<u8>, Option<ObjectMetadata>)>;

/// Objects by key, with their metadata.
#[derive(Debug, Default)]
pub struct MemoryStore {
    objects: Mutex<Objects>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
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
    fn name(&self) -> &str {
        "memory"
    }

    fn base(&self) -> &str {
        ""
    }

    fn display_key(&self, key: &str) -> String {
        format!("memory:{key}")
    }

    fn list_dir(&self, dir: &str) -> Result<DirListing, StoreError> {
        let mut level = DirListing::default();
        for (key, (body, _)) in self.objects().range(dir.to_string()..) {
            let Some(rest) = key.strip_prefix(dir) else {
                break;
            };
            match rest.find('/') {
                Some(i) => {
                    let folder = format!("{dir}{}", &rest[..=i]);
                    if level.folders.last() != Some(&folder) {
                        level.folders.push(folder);
                    }
                }
                None => level.objects.push(MemoryStore::info(key, body)),
            }
        }
        Ok(level)
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
