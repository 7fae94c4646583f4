//! What an export folder holds after any sequence of exports into it, and the records that
//! keep it so.
//!
//! The model: the table under `v1/` holds, for each account x region x delivery day that
//! any export into the folder read, every event of that day's log files that the table's
//! definition selects, exactly once. An export reads whole delivery days (however its window
//! cuts them) and writes each day's rows into files named by the day
//! (`.../day=<event day>/delivered-<delivery day>-<seq>.parquet`), so exporting a day again
//! (a re-run, an overlapping window, another run id, a retried shard) writes the same names
//! with the same rows. A manifest per delivery day (`manifests/account=/region=/
//! delivered=<day>.json`, outside the table) names that day's files; files a day no longer
//! writes are removed when its new manifest is written.
//!
//! The definition (the source, format, attributes, data events, Insights) is recorded in
//! `trailscan-export.json` by the first export; an export of another definition into the
//! same folder is refused, since its rows would be another table. The source is part of it
//! because files are named by account, region and delivery day only: two sources (an
//! account's trail and an organization's) would replace each other's files.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use trailscan_archive::{key_under, ObjectStore, Problem, WriteMode};

use crate::dates::day_string;
use crate::error::ExportError;
use crate::writer::{DeliveryDay, WrittenFile};

/// The file, under an export's folder, that records its definition.
pub const DEFINITION_FILE: &str = "trailscan-export.json";

/// What selects an export's rows, besides which delivery days are read: the same for every
/// export into one folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableDefinition {
    /// `--source` as given.
    pub source: String,
    /// `parquet` or `jsonl`.
    pub format: String,
    /// `--lookup-attributes`, as `Key=Value`, sorted.
    pub attributes: Vec<String>,
    /// `--include-data-events`.
    pub include_data_events: bool,
    /// `--event-category insight`.
    pub insight: bool,
}

/// Records `definition` in `store` (an export's folder) if it holds none, or checks that it
/// holds the same. A folder holding files of an earlier trailscan's export (without the
/// record) is refused too: its file names would not be replaced.
pub fn claim_table(
    store: &dyn ObjectStore,
    definition: &TableDefinition,
) -> Result<(), ExportError> {
    let key = key_under(store.base(), DEFINITION_FILE);
    let text = serde_json::to_vec_pretty(definition).expect("a definition serializes");
    match read_json::<TableDefinition>(store, &key)? {
        Some(recorded) if &recorded == definition => return Ok(()),
        Some(recorded) => {
            return Err(ExportError::OtherTable {
                location: store.display_key(&key),
                recorded: describe(&recorded),
                asked: describe(definition),
            })
        }
        None => {}
    }
    let v1 = key_under(store.base(), "v1/");
    match store.list_dir(&v1) {
        Ok(listing) if !listing.folders.is_empty() || !listing.objects.is_empty() => {
            return Err(ExportError::Unrecorded(store.display_key(&v1)));
        }
        Ok(_) => {}
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(e.into()),
    }
    match store.write(&key, &text, None, WriteMode::CreateNew) {
        Ok(()) => Ok(()),
        // Another shard recorded it first: it must be the same.
        Err(e) if matches!(e.problem, Problem::Exists) => claim_table(store, definition),
        // S3 may answer shards writing at once with a conflict instead: the same, if one
        // of them got it written.
        Err(e) => match read_json::<TableDefinition>(store, &key) {
            Ok(Some(_)) => claim_table(store, definition),
            _ => Err(e.into()),
        },
    }
}

fn describe(d: &TableDefinition) -> String {
    let attributes = match d.attributes.is_empty() {
        true => "every event".to_string(),
        false => d.attributes.join(" and "),
    };
    format!(
        "{}, {attributes}{}{}, from {}",
        d.format,
        if d.include_data_events {
            ", data events included"
        } else {
            ""
        },
        if d.insight { ", Insights events" } else { "" },
        d.source
    )
}

/// Where a delivery day's manifest is, under the export's folder (outside the table).
fn manifest_key(day: &DeliveryDay) -> String {
    format!(
        "manifests/account={}/region={}/delivered={}.json",
        day.account,
        day.region,
        day_string(day.day)
    )
}

/// A delivery day's manifest: its files under the table.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Manifest {
    files: Vec<ManifestFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ManifestFile {
    path: String,
    rows: u64,
    bytes: u64,
    sha256: String,
}

/// Writes the manifest of each of `days` (every delivery day the export read, whether or not
/// it had rows) from the `files` written for it, and removes the files an earlier export
/// wrote for those days that this one did not write again. Returns the files removed.
pub fn record_delivery_days(
    store: &dyn ObjectStore,
    days: &BTreeSet<DeliveryDay>,
    files: &[WrittenFile],
) -> Result<u64, ExportError> {
    let mut by_day: BTreeMap<&DeliveryDay, Vec<ManifestFile>> = BTreeMap::new();
    for file in files {
        by_day
            .entry(&file.delivery_day)
            .or_default()
            .push(ManifestFile {
                path: file.path.clone(),
                rows: file.rows,
                bytes: file.bytes,
                sha256: file.sha256.clone(),
            });
    }
    let work: Vec<(&DeliveryDay, Manifest)> = days
        .iter()
        .map(|day| {
            let mut files = by_day.remove(day).unwrap_or_default();
            files.sort_by(|a, b| a.path.cmp(&b.path));
            (day, Manifest { files })
        })
        .collect();
    // A read and maybe a write per day: from S3, as many at once as the store keeps
    // requests in flight (a year of an organization's days is hundreds of thousands).
    let workers = match store.requests_in_flight() {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    }
    .clamp(1, work.len().max(1));
    let results: Vec<Result<u64, ExportError>> = std::thread::scope(|scope| {
        let running: Vec<_> = (0..workers)
            .map(|first| {
                let work = &work;
                scope.spawn(move || {
                    let mut removed = 0;
                    for (day, manifest) in work.iter().skip(first).step_by(workers) {
                        removed += record_day(store, day, manifest)?;
                    }
                    Ok(removed)
                })
            })
            .collect();
        running.into_iter().map(trailscan_archive::joined).collect()
    });
    results.into_iter().sum()
}

/// Writes `day`'s manifest and removes the files its earlier one named that `manifest` does
/// not: the files removed.
fn record_day(
    store: &dyn ObjectStore,
    day: &DeliveryDay,
    manifest: &Manifest,
) -> Result<u64, ExportError> {
    let key = key_under(store.base(), &manifest_key(day));
    let earlier = read_json::<Manifest>(store, &key)?.unwrap_or_default();
    let kept: BTreeSet<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    let mut removed = 0;
    for stale in earlier
        .files
        .iter()
        .filter(|f| !kept.contains(f.path.as_str()))
    {
        store.delete(&key_under(store.base(), &stale.path))?;
        removed += 1;
    }
    if &earlier != manifest {
        let text = serde_json::to_vec_pretty(manifest).expect("a manifest serializes");
        store.write(&key, &text, None, WriteMode::Replace)?;
    }
    Ok(removed)
}

/// The JSON object at `key`, `None` where there is none.
fn read_json<T: for<'de> Deserialize<'de>>(
    store: &dyn ObjectStore,
    key: &str,
) -> Result<Option<T>, ExportError> {
    let mut body = Vec::new();
    match store.read(key, &mut body) {
        Ok(_) => serde_json::from_slice(&body)
            .map(Some)
            .map_err(|e| ExportError::Damaged {
                location: store.display_key(key),
                problem: e.to_string(),
            }),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use trailscan_archive::MemoryStore;

    fn definition(format: &str) -> TableDefinition {
        TableDefinition {
            source: "s3://trail-bucket".into(),
            format: format.into(),
            attributes: vec!["EventName=ConsoleLogin".into()],
            include_data_events: false,
            insight: false,
        }
    }

    #[test]
    fn a_folder_holds_one_table_definition() {
        let store = MemoryStore::new();
        claim_table(&store, &definition("parquet")).unwrap();
        claim_table(&store, &definition("parquet")).unwrap();
        let other = claim_table(&store, &definition("jsonl")).unwrap_err();
        assert_eq!(
            other.to_string(),
            format!(
                "memory:{DEFINITION_FILE}: this folder holds an export of parquet, EventName=ConsoleLogin, from s3://trail-bucket, and this one asks for jsonl, EventName=ConsoleLogin, from s3://trail-bucket: export into another --out (or remove the folder to start again)"
            )
        );
    }

    #[test]
    fn files_of_an_earlier_trailscan_are_not_mixed_with_these() {
        let store = MemoryStore::new();
        let old = "v1/account=1/region=r/day=2024-01-01/part-export-0-of-1-00000.parquet";
        store.write(old, b"x", None, WriteMode::CreateNew).unwrap();
        let refused = claim_table(&store, &definition("parquet")).unwrap_err();
        assert!(matches!(refused, ExportError::Unrecorded(_)), "{refused}");
    }

    #[test]
    fn a_day_exported_again_removes_the_files_it_no_longer_writes() {
        let store = MemoryStore::new();
        let day = DeliveryDay {
            account: "123456789012".into(),
            region: "eu-west-1".into(),
            day: 19_724,
        };
        let file = |name: &str| WrittenFile {
            path: format!("v1/account=123456789012/region=eu-west-1/day=2024-01-02/{name}"),
            rows: 1,
            bytes: 1,
            sha256: "00".into(),
            delivery_day: day.clone(),
        };
        let days = BTreeSet::from([day.clone()]);
        let (a, b) = (
            file("delivered-2024-01-02-00000.parquet"),
            file("delivered-2024-01-02-00001.parquet"),
        );
        for f in [&a, &b] {
            store
                .write(&f.path, b"rows", None, WriteMode::Replace)
                .unwrap();
        }
        assert_eq!(
            record_delivery_days(&store, &days, &[a.clone(), b.clone()]).unwrap(),
            0
        );
        // The day again, in one file: the second goes.
        assert_eq!(
            record_delivery_days(&store, &days, std::slice::from_ref(&a)).unwrap(),
            1
        );
        assert!(store
            .read(&b.path, &mut Vec::new())
            .unwrap_err()
            .is_not_found());
        assert!(store.read(&a.path, &mut Vec::new()).is_ok());
        // Read again with no rows at all: nothing of it stays.
        assert_eq!(record_delivery_days(&store, &days, &[]).unwrap(), 1);
        assert!(store
            .read(&a.path, &mut Vec::new())
            .unwrap_err()
            .is_not_found());
    }
}
