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

/// Makes every allocation of `bytes` or more a mapping of its own, given back when freed.
/// glibc otherwise raises that threshold to the largest block freed (up to 32 MiB), after which
/// each object's transient buffers come from the heap, between the small allocations a run
/// keeps: the heap's holes grow with the run (acquire's resident memory grew by 6 MiB from 900
/// k to 9 M events with a flat peak heap of 3.7 MiB; with a fixed 32 KiB threshold, by 3).
/// Call it before any thread starts.
pub fn map_buffers_from(bytes: usize) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes the allocator's policy for allocations still to come.
    unsafe {
        libc::mallopt(
            libc::M_MMAP_THRESHOLD,
            i32::try_from(bytes).unwrap_or(i32::MAX),
        );
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = bytes;
}
