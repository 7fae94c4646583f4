//! Work on objects as they arrive: the store reads them, as many in flight as it is told, and
//! the current rayon pool's threads work on each as soon as it is in.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use rayon::prelude::*;

use crate::store::{Fetched, ObjectStore, StoreError};

/// Reads `keys` through `store` (`in_flight` at once, see [`ObjectStore::read_each`]; with
/// `in_flight` 0, each on the thread that works on it) and runs `work` on each, with its index
/// in `keys`, on the threads of the rayon pool this is called in; the results in any order.
pub fn map_fetched<T, W>(
    store: &dyn ObjectStore,
    keys: &[&str],
    in_flight: usize,
    with_metadata: bool,
    work: W,
) -> Vec<(usize, T)>
where
    T: Send,
    W: Fn(usize, Result<Fetched, StoreError>) -> T + Sync + Send,
{
    map_fetched_until(
        store,
        keys,
        in_flight,
        with_metadata,
        &AtomicBool::new(false),
        work,
    )
}

/// [`map_fetched`] that reads no further object once `stop` is set (by `work`, say, when the
/// destination it writes to is full): the results of the objects read before it.
pub fn map_fetched_until<T, W>(
    store: &dyn ObjectStore,
    keys: &[&str],
    in_flight: usize,
    with_metadata: bool,
    stop: &AtomicBool,
    work: W,
) -> Vec<(usize, T)>
where
    T: Send,
    W: Fn(usize, Result<Fetched, StoreError>) -> T + Sync + Send,
{
    let stopped = || stop.load(Ordering::Relaxed);
    if in_flight == 0 {
        return keys
            .par_iter()
            .with_max_len(1)
            .enumerate()
            .filter(|_| !stopped())
            .map(|(index, key)| {
                let mut body = Vec::new();
                let fetched = if with_metadata {
                    store.read_with_metadata(key, &mut body)
                } else {
                    store.read(key, &mut body).map(|info| (info, None))
                };
                let fetched = fetched.map(|(info, metadata)| Fetched {
                    body,
                    info,
                    metadata,
                });
                (index, work(index, fetched))
            })
            .collect();
    }
    let (sender, receiver) = mpsc::sync_channel(rayon::current_num_threads() * 2);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            store.read_each(keys, in_flight, with_metadata, &mut |index, fetched| {
                // The workers are gone only if one of them panicked.
                !stopped() && sender.send((index, fetched)).is_ok()
            });
        });
        receiver
            .into_iter()
            .par_bridge()
            .map(|(index, fetched)| (index, work(index, fetched)))
            .collect()
    })
}

/// Runs `beside` on a thread of its own while `here` runs on this one, and returns both
/// results (`here`'s first); a panic in either is this thread's. For requests that wait on the
/// network and do not need each other's answers: from S3, each is a round trip, and two at
/// once cost one. (Not `rayon::join`: both may block on I/O, which must not hold a pool's
/// worker.)
pub fn alongside<H, B>(beside: impl FnOnce() -> B + Send, here: impl FnOnce() -> H) -> (H, B)
where
    B: Send,
{
    std::thread::scope(|scope| {
        let beside = scope.spawn(beside);
        let here = here();
        (here, joined(beside))
    })
}

/// What a scoped thread returned, once it is done; its panic, if it panicked, resumed on the
/// caller (as `std::thread::scope` would at its end, but with the panic's own message).
pub fn joined<T>(thread: std::thread::ScopedJoinHandle<'_, T>) -> T {
    thread
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;
    use crate::{MemoryStore, WriteMode};

    #[test]
    fn every_object_once_by_any_way_of_reading() {
        let store = MemoryStore::new();
        let keys: Vec<String> = (0..50).map(|i| format!("k/{i}")).collect();
        for key in &keys {
            store
                .write(key, key.as_bytes(), None, WriteMode::Replace)
                .unwrap();
        }
        let mut keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        keys.push("missing");
        for in_flight in [0, 1, 7] {
            let mut got = map_fetched(&store, &keys, in_flight, false, |i, fetched| {
                fetched
                    .map(|f| f.body == keys[i].as_bytes())
                    .map_err(|e| e.is_not_found())
            });
            got.sort_by_key(|(i, _)| *i);
            assert_eq!(got.len(), keys.len());
            assert!(got[..50].iter().all(|(_, r)| *r == Ok(true)));
            assert_eq!(got[50].1, Err(true));
            // Stopped by the work from the tenth object worked on: no more than the objects
            // already read or in flight are worked on. (From the tenth, not on the one of
            // index 9: a worker holding that one can be held up while the others work
            // through every other object.)
            let (stop, worked) = (AtomicBool::new(false), AtomicUsize::new(0));
            let got = map_fetched_until(&store, &keys, in_flight, false, &stop, |_, _| {
                if worked.fetch_add(1, Ordering::SeqCst) >= 9 {
                    stop.store(true, Ordering::SeqCst);
                }
            });
            assert!(got.len() < keys.len(), "{in_flight}: {}", got.len());
        }
    }
}
