//! A catalog row: what the index knows of one log object.

use std::collections::HashSet;
use std::time::{SystemTime, UNIX_EPOCH};

use arrow_array::{
    Array, StringArray, TimestampMicrosecondArray, TimestampNanosecondArray, TimestampSecondArray,
    UInt64Array,
};

use bytes::Bytes;
use hashbrown::hash_table::{Entry, HashTable};
use trailscan_archive::{ObjectInfo, ObjectRef};
use trailscan_records::EventTime;

use crate::group::{month_index, Group};

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
    /// Its largest record, or at most (the file's inflated size, where it was parsed whole):
    /// a lookup whose `--max-record-size` is smaller must read it.
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
    /// The group (account x region x delivery month) it belongs to.
    pub fn group(&self) -> Group {
        Group::new(&self.account, &self.region, self.delivered_at)
    }

    /// Compares the row with the object as listed now (see [`Row::freshness`]).
    pub fn freshness(&self, listed: &ObjectRef) -> Freshness {
        freshness(self.size, self.etag.as_deref(), self.modified_nanos, listed)
    }
}

/// An ETag decides where both the row and the listing have one; otherwise the modification
/// time (a copy on disk); the size always.
fn freshness(
    size: u64,
    etag: Option<&str>,
    modified_nanos: Option<i64>,
    listed: &ObjectRef,
) -> Freshness {
    let same = size == listed.size
        && match (etag, listed.etag.as_deref()) {
            (Some(indexed), Some(now)) => indexed == now,
            (None, None) => modified_nanos == listed.modified.and_then(nanos_since_epoch),
            _ => false,
        };
    if same {
        Freshness::Same
    } else {
        Freshness::Changed
    }
}

/// The rows of the segments a command read, as read (Arrow columns, nothing copied), found
/// by key. Where two segments hold a key, the later one's row is the current one.
#[derive(Default)]
pub struct Catalog {
    batches: Vec<Columns>,
    /// Each current row as (batch, row), found by the hash of its key; the key itself stays in
    /// its column (a copy of every key was an allocation per row: 45,000 at 9 M events).
    rows: HashTable<(u32, u32)>,
}

/// XXH3 rather than SipHash for the catalog's keys: they come from the user's own archive
/// and index, not from an adversary racing the table, and a lookup hashes thousands.
fn key_hash(key: &str) -> u64 {
    twox_hash::XxHash3_64::oneshot(key.as_bytes())
}

impl Catalog {
    /// Adds a segment's batches; its rows replace earlier ones of the same keys.
    pub(crate) fn add(&mut self, batches: Vec<Columns>) {
        for columns in batches {
            let b = self.batches.len() as u32;
            self.batches.push(columns);
            let (batches, rows) = (&self.batches, &mut self.rows);
            let key_of = |&(b, i): &(u32, u32)| batches[b as usize].key.value(i as usize);
            let keys = &batches[b as usize].key;
            for i in 0..keys.len() {
                let key = keys.value(i);
                let row = (b, i as u32);
                match rows.entry(key_hash(key), |r| key_of(r) == key, |r| key_hash(key_of(r))) {
                    Entry::Occupied(mut current) => *current.get_mut() = row,
                    Entry::Vacant(place) => {
                        place.insert(row);
                    }
                }
            }
        }
    }

    /// The current row of `key`.
    pub fn get(&self, key: &str) -> Option<Row<'_>> {
        let &(b, i) = self.rows.find(key_hash(key), |&(b, i)| {
            self.batches[b as usize].key.value(i as usize) == key
        })?;
        Some(Row {
            columns: &self.batches[b as usize],
            i: i as usize,
        })
    }

    /// Whether the catalog holds `key`.
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Current rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether it holds no row.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Keeps only the rows of `groups` (those of a lookup's listed objects), and of the other
    /// groups the rows for which `also_delivered_at` holds on their delivery time (epoch
    /// seconds): a lookup keeps the rows its window's listing should have found, so that a
    /// group deleted whole is still seen as deleted, and lets the rest go.
    pub fn retain_groups(
        &mut self,
        groups: &HashSet<Group>,
        also_delivered_at: impl Fn(i64) -> bool,
    ) {
        // A segment's rows are one group's, sorted by key: a group is looked up once per run
        // of rows that share it, not once per row.
        let keep: Vec<Vec<bool>> = self
            .batches
            .iter()
            .map(|c| {
                let mut last: Option<(&str, &str, i64, bool)> = None;
                (0..c.key.len())
                    .map(|i| {
                        let (account, region) = (c.account.value(i), c.region.value(i));
                        let month = month_index(c.delivered_at.value(i));
                        let listed = match last {
                            Some((a, r, m, listed)) if (a, r, m) == (account, region, month) => {
                                listed
                            }
                            _ => {
                                let row = Row { columns: c, i };
                                let listed = groups.contains(&row.group());
                                last = Some((account, region, month, listed));
                                listed
                            }
                        };
                        listed || also_delivered_at(c.delivered_at.value(i))
                    })
                    .collect()
            })
            .collect();
        self.rows.retain(|&mut (b, i)| keep[b as usize][i as usize]);
    }

    /// Every current row, in no particular order.
    pub fn rows(&self) -> impl Iterator<Item = Row<'_>> + '_ {
        self.rows.iter().map(|&(b, i)| Row {
            columns: &self.batches[b as usize],
            i: i as usize,
        })
    }
}

/// A segment's columns, typed once when read.
#[derive(Clone)]
pub(crate) struct Columns {
    pub(crate) key: StringArray,
    pub(crate) size: UInt64Array,
    pub(crate) etag: StringArray,
    pub(crate) modified: TimestampNanosecondArray,
    pub(crate) account: StringArray,
    pub(crate) region: StringArray,
    pub(crate) delivered_at: TimestampSecondArray,
    pub(crate) problem: StringArray,
    pub(crate) events: UInt64Array,
    pub(crate) first_event: TimestampMicrosecondArray,
    pub(crate) last_event: TimestampMicrosecondArray,
    pub(crate) inflated_bytes: UInt64Array,
    pub(crate) max_record_bytes: UInt64Array,
    pub(crate) inflated_sha256: StringArray,
    /// Each row's serialized filter, a slice of the segment's bytes (see
    /// `segment::filters_in_place`).
    pub(crate) filter: Vec<Bytes>,
}

/// One catalog row, read in place.
#[derive(Clone, Copy)]
pub struct Row<'c> {
    columns: &'c Columns,
    i: usize,
}

fn opt_str(a: &StringArray, i: usize) -> Option<&str> {
    a.is_valid(i).then(|| a.value(i))
}

impl<'c> Row<'c> {
    /// The object's key.
    pub fn key(&self) -> &'c str {
        self.columns.key.value(self.i)
    }

    /// Why lookups must read it, if they must (see [`CatalogEntry::problem`]).
    pub fn problem(&self) -> Option<&'c str> {
        opt_str(&self.columns.problem, self.i)
    }

    /// Its inflated size.
    pub fn inflated_bytes(&self) -> u64 {
        self.columns.inflated_bytes.value(self.i)
    }

    /// Its largest record.
    pub fn max_record_bytes(&self) -> u64 {
        self.columns.max_record_bytes.value(self.i)
    }

    /// SHA-256 (hex) of its inflated bytes; empty where they could not be inflated.
    pub fn inflated_sha256(&self) -> &'c str {
        self.columns.inflated_sha256.value(self.i)
    }

    /// Its account.
    pub fn account(&self) -> &'c str {
        self.columns.account.value(self.i)
    }

    /// Its region.
    pub fn region(&self) -> &'c str {
        self.columns.region.value(self.i)
    }

    /// Its delivery time, from its key (epoch seconds).
    pub fn delivered_at(&self) -> i64 {
        self.columns.delivered_at.value(self.i)
    }

    /// The object as the index knows it, to be read (and checked as read) without listing
    /// it; `None` for a key not in CloudTrail's layout (which no index row has).
    pub fn to_object(&self) -> Option<ObjectRef> {
        let c = self.columns;
        let modified = c.modified.is_valid(self.i).then(|| {
            let nanos = c.modified.value(self.i);
            match u64::try_from(nanos) {
                Ok(n) => UNIX_EPOCH + std::time::Duration::from_nanos(n),
                Err(_) => UNIX_EPOCH - std::time::Duration::from_nanos(nanos.unsigned_abs()),
            }
        });
        ObjectRef::listed(ObjectInfo {
            key: self.key().to_string(),
            size: c.size.value(self.i),
            etag: opt_str(&c.etag, self.i).map(str::to_string),
            modified,
        })
        .ok()
    }

    /// The group (account x region x delivery month) it belongs to.
    pub fn group(&self) -> Group {
        let c = self.columns;
        Group::new(
            c.account.value(self.i),
            c.region.value(self.i),
            c.delivered_at.value(self.i),
        )
    }

    /// The serialized filter.
    pub fn filter(&self) -> &'c [u8] {
        &self.columns.filter[self.i]
    }

    /// Its first and last event time in microseconds, rounded outwards.
    pub fn event_micros(&self) -> Option<(i64, i64)> {
        let c = self.columns;
        (c.first_event.is_valid(self.i) && c.last_event.is_valid(self.i))
            .then(|| (c.first_event.value(self.i), c.last_event.value(self.i)))
    }

    /// Whether the listed object is still the one indexed.
    pub fn freshness(&self, listed: &ObjectRef) -> Freshness {
        let c = self.columns;
        let modified = c
            .modified
            .is_valid(self.i)
            .then(|| c.modified.value(self.i));
        freshness(
            c.size.value(self.i),
            opt_str(&c.etag, self.i),
            modified,
            listed,
        )
    }

    /// Whether any record may fall in `[start, end]` (either end open).
    pub fn may_hold_time(&self, start: Option<EventTime>, end: Option<EventTime>) -> bool {
        let Some((first, last)) = self.event_micros() else {
            return false;
        };
        start.is_none_or(|s| last >= micros_down(s)) && end.is_none_or(|e| first <= micros_up(e))
    }

    /// The row as an owned entry.
    pub fn to_entry(&self) -> CatalogEntry {
        let (c, i) = (self.columns, self.i);
        CatalogEntry {
            key: self.key().to_string(),
            size: c.size.value(i),
            etag: opt_str(&c.etag, i).map(str::to_string),
            modified_nanos: c.modified.is_valid(i).then(|| c.modified.value(i)),
            account: c.account.value(i).to_string(),
            region: c.region.value(i).to_string(),
            delivered_at: c.delivered_at.value(i),
            problem: self.problem().map(str::to_string),
            events: c.events.value(i),
            event_micros: self.event_micros(),
            inflated_bytes: self.inflated_bytes(),
            max_record_bytes: self.max_record_bytes(),
            inflated_sha256: self.inflated_sha256().to_string(),
            filter: self.filter().to_vec(),
        }
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
