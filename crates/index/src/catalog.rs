//! A catalog row: what the index knows of one log object.

use std::time::{SystemTime, UNIX_EPOCH};

use trailscan_archive::ObjectRef;
use trailscan_records::EventTime;

/// One log or Insights object as indexed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogEntry {
    /// The object's key.
    pub key: String,
    /// Size as listed when indexed.
    pub size: u64,
    /// S3's ETag when indexed (`None` on disk).
    pub etag: Option<String>,
    /// Last modification when indexed, in nanoseconds since 1970 (the file's mtime on disk).
    pub modified_nanos: Option<i64>,
    /// Account id, from the key.
    pub account: String,
    /// Region, from the key.
    pub region: String,
    /// Delivery time from the key's file name, epoch seconds.
    pub delivered_at: i64,
    /// Why the object cannot be answered from the index (unreadable, invalid records,
    /// records without time, bytes after the gzip stream): a lookup always reads it, and
    /// reports what a scan reports. `None` for an indexed object.
    pub problem: Option<String>,
    /// Records in the object.
    pub events: u64,
    /// The earliest and latest `eventTime` of its records, in microseconds since 1970,
    /// rounded outwards (earliest down, latest up): `None` for an object without records.
    pub event_micros: Option<(i64, i64)>,
    /// Its size inflated: a lookup allowed less than this must read it to report it.
    pub inflated_bytes: u64,
    /// Its largest record: a lookup whose `--max-record-size` is smaller must read it.
    pub max_record_bytes: u64,
    /// SHA-256 (hex) of the inflated bytes, which a digest file lists as the log file's
    /// `hashValue`.
    pub inflated_sha256: String,
    /// The serialized [`crate::ValueFilter`] of its lookup values.
    pub filter: Vec<u8>,
}

/// Whether a listed object is still the one indexed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Same size and ETag (S3) or same size and modification time (disk).
    Same,
    /// Changed since it was indexed: it must be read again.
    Changed,
}

impl CatalogEntry {
    /// Compares the catalog's row with the object as listed now. An ETag decides where both
    /// have one; otherwise the modification time (a copy on disk).
    pub fn freshness(&self, listed: &ObjectRef) -> Freshness {
        let same = self.size == listed.size
            && match (&self.etag, &listed.etag) {
                (Some(indexed), Some(now)) => indexed == now,
                (None, None) => self.modified_nanos == listed.modified.and_then(nanos_since_epoch),
                _ => false,
            };
        if same {
            Freshness::Same
        } else {
            Freshness::Changed
        }
    }

    /// Whether any record may fall in `[start, end]` (either end open).
    pub fn may_hold_time(&self, start: Option<EventTime>, end: Option<EventTime>) -> bool {
        let Some((first, last)) = self.event_micros else {
            return false;
        };
        start.is_none_or(|s| last >= micros_down(s)) && end.is_none_or(|e| first <= micros_up(e))
    }
}

/// A modification time as the catalog stores it.
pub fn nanos_since_epoch(t: SystemTime) -> Option<i64> {
    let d = t.duration_since(UNIX_EPOCH).ok()?;
    i64::try_from(d.as_nanos()).ok()
}

/// An event time in microseconds, rounded down.
pub fn micros_down(t: EventTime) -> i64 {
    t.secs
        .saturating_mul(1_000_000)
        .saturating_add(i64::from(t.nanos / 1000))
}

/// An event time in microseconds, rounded up.
pub fn micros_up(t: EventTime) -> i64 {
    micros_down(t).saturating_add(i64::from(!t.nanos.is_multiple_of(1000)))
}
