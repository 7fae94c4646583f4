use trailscan_archive::ObjectStore;
use trailscan_archive::{MemoryStore, WriteMode};
use trailscan_index::{IndexStore, SealMap};

/// A snapshot file (and, after its first line break, a pointer file), read as a lookup
/// finds and reads the current generation of an index held in memory.
///
/// Invariants: a snapshot read is of generation 1 (the file's), names segments only as
/// `segments/<its SHA-256>.parquet`, and its sealed spans read as seals.
pub fn index_snapshot(data: &[u8]) {
    let store = MemoryStore::new();
    let split = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let (snapshot, pointer) = data.split_at(split);
    let write = |key: &str, body: &[u8]| {
        store
            .write(key, body, None, WriteMode::Replace)
            .expect("memory takes a write")
    };
    write("snapshots/0000000001.json", snapshot);
    if let Some(pointer) = pointer.get(1..) {
        write("current.json", pointer);
    }
    let Ok(Some(read)) = IndexStore::new(&store).current() else {
        return;
    };
    assert_eq!(read.generation, 1, "a snapshot of another generation");
    for segment in &read.segments {
        assert_eq!(
            segment.file,
            format!("segments/{}.parquet", segment.sha256),
            "a segment named otherwise"
        );
    }
    SealMap::new(&read.sealed).expect("sealed spans checked when read");
}
