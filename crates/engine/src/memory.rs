//! The allocator policy around a scan: the index's rows are let go before the scan needs
//! the memory, or beside it when the scan is small.

use trailscan_index::Catalog;

/// From this many objects to read on, the memory the catalog held is freed and given back
/// before the scan; a scan of fewer cannot grow into it, and the trim costs about a
/// millisecond.
const TRIM_BEFORE_OBJECTS: usize = 256;

/// Lets `catalog` go before a scan of `objects_to_read` objects.
pub(crate) fn let_catalog_go(catalog: Catalog, objects_to_read: usize) {
    if objects_to_read >= TRIM_BEFORE_OBJECTS {
        drop(catalog);
        give_back_freed_memory();
    } else {
        // Letting the catalog go (its segments unmapped, its keys freed) takes about a
        // millisecond; beside a scan of a few objects, it goes on a thread of its own
        // (where no thread can be had, the refused closure drops it here).
        let _ = std::thread::Builder::new().spawn(move || drop(catalog));
    }
}

/// Returns the memory just freed (the catalog) to the system before a scan that may need it:
/// glibc keeps freed blocks of that size in the heap (its mmap threshold grows with them),
/// which a scan of every file would otherwise add to its peak (measured at 9 M events: 271
/// MB peak RSS without, 203 MB with).
fn give_back_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory of the allocator; no pointer is involved.
    unsafe {
        libc::malloc_trim(0);
    }
}
