//! Indexing objects: each read, inflated, split and every record parsed, once.

use std::cell::RefCell;
use std::ops::Range;

use trailscan_archive::digest::sha256_hex;
use trailscan_archive::inflate::inflate_gzip;
use trailscan_archive::{map_fetched, ObjectRef, ObjectStore, StoreError};
use trailscan_records::{split_records, RecordParser};

use crate::catalog::{micros_down, micros_up, nanos_since_epoch, CatalogEntry};
use crate::filter::ValueFilter;
use crate::hash::record_hashes;

/// Called with each object indexed and its records.
pub type OnIndexed<'a> = dyn Fn(&ObjectRef, u64) + Sync + 'a;

/// How to index.
pub struct BuildOptions<'a> {
    /// Where the objects are.
    pub source: &'a dyn ObjectStore,
    /// Objects fetched at once (0: each worker reads its own; a folder on disk).
    pub requests_in_flight: usize,
    /// The scan's cap on an object's inflated size: a larger object is catalogued as one a
    /// lookup must read (which reports it), not indexed.
    pub max_inflated_bytes: u64,
    /// The scan's cap on a record's size, likewise.
    pub max_record_bytes: u64,
    /// Called once per object indexed, from whichever thread did it.
    pub progress: Option<&'a OnIndexed<'a>>,
}

/// An object indexed: its row, and the hashes its filter was built from.
#[derive(Debug, Clone)]
pub struct IndexedObject {
    /// The catalog row.
    pub entry: CatalogEntry,
    /// The distinct lookup-value hashes of its records, which its segment's summary holds;
    /// empty for a row with a problem (its segment is always read).
    pub hashes: Vec<u64>,
}

/// Indexes `objects` on the current rayon pool: a catalog row for each object read (sorted
/// by key), and the objects that could not be read with why (they stay out of the index, so
/// that lookups read them).
pub fn index_objects(
    objects: &[ObjectRef],
    options: &BuildOptions<'_>,
) -> (Vec<IndexedObject>, Vec<(ObjectRef, StoreError)>) {
    let keys: Vec<&str> = objects.iter().map(|o| o.key.as_str()).collect();
    let done = map_fetched(
        options.source,
        &keys,
        options.requests_in_flight,
        false,
        |i, fetched| {
            let object = &objects[i];
            let indexed = fetched.map(|f| index_object(object, &f.body, options));
            if let (Some(progress), Ok(indexed)) = (options.progress, &indexed) {
                progress(object, indexed.entry.events);
            }
            indexed
        },
    );
    let (mut entries, mut failed) = (Vec::new(), Vec::new());
    for (i, result) in done {
        match result {
            Ok(entry) => entries.push(entry),
            Err(e) => failed.push((objects[i].clone(), e)),
        }
    }
    entries.sort_by(|a: &IndexedObject, b| a.entry.key.cmp(&b.entry.key));
    failed.sort_by(|a, b| a.0.key.cmp(&b.0.key));
    (entries, failed)
}

/// A thread's buffers, reused for every object it indexes.
#[derive(Default)]
struct Scratch {
    inflated: Vec<u8>,
    spans: Vec<Range<usize>>,
    parser: RecordParser,
    hashes: Vec<u64>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

/// The catalog row of one object's bytes. Anything a scan would report about the object
/// makes it one that lookups read rather than answer from the index: they then report it
/// just as a scan does.
pub fn catalog_entry(
    object: &ObjectRef,
    compressed: &[u8],
    options: &BuildOptions<'_>,
) -> CatalogEntry {
    index_object(object, compressed, options).entry
}

/// [`catalog_entry`] with the hashes of its filter.
pub fn index_object(
    object: &ObjectRef,
    compressed: &[u8],
    options: &BuildOptions<'_>,
) -> IndexedObject {
    let mut entry = CatalogEntry {
        key: object.key.clone(),
        size: object.size,
        etag: object.etag.clone(),
        modified_nanos: object.modified.and_then(nanos_since_epoch),
        account: object.layout.account.clone(),
        region: object.layout.region.clone(),
        delivered_at: object.layout.delivered_at,
        problem: None,
        events: 0,
        event_micros: None,
        inflated_bytes: 0,
        max_record_bytes: 0,
        inflated_sha256: String::new(),
        filter: Vec::new(),
    };
    let hashes = SCRATCH.with(|scratch| {
        let scratch = &mut scratch.borrow_mut();
        fill_entry(&mut entry, compressed, options, scratch);
        match entry.problem {
            // Sorted and distinct: what the filter was built from.
            None => scratch.hashes.clone(),
            Some(_) => Vec::new(),
        }
    });
    IndexedObject { entry, hashes }
}

fn fill_entry(
    entry: &mut CatalogEntry,
    compressed: &[u8],
    options: &BuildOptions<'_>,
    scratch: &mut Scratch,
) {
    let Scratch {
        inflated,
        spans,
        parser,
        hashes,
    } = scratch;
    hashes.clear();
    entry.filter = ValueFilter::build(hashes);
    match inflate_gzip(compressed, inflated, options.max_inflated_bytes) {
        Ok(info) if info.trailing_bytes > 0 => {
            entry.problem = Some(format!(
                "{} bytes after the gzip stream",
                info.trailing_bytes
            ))
        }
        Ok(_) => {}
        Err(e) => {
            entry.problem = Some(e.to_string());
            return;
        }
    }
    let inflated = &inflated[..];
    entry.inflated_bytes = inflated.len() as u64;
    entry.inflated_sha256 = sha256_hex(inflated);
    // The whole file in one parse where no record can be over the cap (the file is not):
    // the largest record is then recorded as at most the file's size.
    if entry.problem.is_none() && entry.inflated_bytes <= options.max_record_bytes {
        let mut times: Option<(i64, i64)> = None;
        let records = parser.parse_log_file(inflated, |record| {
            let Some(t) = record.event_time() else {
                return false;
            };
            record_hashes(&record, hashes);
            let (lo, hi) = (micros_down(t), micros_up(t));
            times = Some(times.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
            true
        });
        if let Some(records) = records {
            entry.events = records as u64;
            entry.event_micros = times;
            entry.max_record_bytes = entry.inflated_bytes;
            entry.filter = ValueFilter::build(hashes);
            return;
        }
        hashes.clear();
    }
    if let Err(e) = split_records(inflated, spans) {
        entry.problem = Some(format!("not a CloudTrail log file: {e}"));
        return;
    }
    let mut times: Option<(i64, i64)> = None;
    for span in spans.iter() {
        let raw = &inflated[span.clone()];
        entry.events += 1;
        entry.max_record_bytes = entry.max_record_bytes.max(raw.len() as u64);
        if raw.len() as u64 > options.max_record_bytes {
            entry
                .problem
                .get_or_insert_with(|| "records larger than the cap".into());
            continue;
        }
        let parsed = parser.parse(raw, |record| {
            let time = record.event_time()?;
            record_hashes(&record, hashes);
            Some(time)
        });
        match parsed {
            Ok(Some(t)) => {
                let (lo, hi) = (micros_down(t), micros_up(t));
                times = Some(times.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
            }
            Ok(None) => {
                entry
                    .problem
                    .get_or_insert_with(|| "records without eventTime".into());
            }
            Err(e) => {
                entry
                    .problem
                    .get_or_insert_with(|| format!("invalid records: {e}"));
            }
        }
    }
    entry.event_micros = times;
    if entry.problem.is_none() {
        entry.filter = ValueFilter::build(hashes);
    }
}
