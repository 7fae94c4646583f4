//! A new generation: new rows into new segments, a group's segments merged once they are many.

use std::collections::{BTreeMap, BTreeSet};

use trailscan_archive::ObjectRef;

use crate::build::IndexedObject;
use crate::catalog::{Catalog, CatalogEntry, Freshness};
use crate::group::Group;
use crate::snapshot::{IndexStore, Snapshot};
use crate::summary::build_part;
use crate::IndexError;

/// A group holds at most this many segments: one more and they are merged into one, so that
/// a lookup reads few files however often the index was updated.
pub const MAX_SEGMENTS_PER_GROUP: usize = 4;

/// What an update wrote.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Update {
    /// Rows added or replaced.
    pub rows: u64,
    /// Segments written.
    pub segments_written: u64,
    /// Groups whose segments were merged into one.
    pub groups_merged: u64,
}

/// What an update must index of what it listed.
#[derive(Debug, Default, Clone)]
pub struct ToIndex {
    /// Listed objects the catalog does not hold as they are now, in the listing's order.
    pub objects: Vec<ObjectRef>,
    /// Of those, the keys of the ones it holds as they were (changed since indexed).
    pub changed: Vec<String>,
}

impl ToIndex {
    /// Listed objects the catalog holds (as they are or as they were): every listed one
    /// but the new.
    pub fn found_in(&self, listed: usize) -> usize {
        listed - (self.objects.len() - self.changed.len())
    }
}

/// The objects of `listed` that an update indexes: those `catalog` does not hold, and those
/// that changed since indexed (size, ETag or modification time).
pub fn to_index(catalog: &Catalog, listed: &[ObjectRef]) -> ToIndex {
    let mut to_index = ToIndex::default();
    for object in listed {
        match catalog.get(&object.key) {
            None => to_index.objects.push(object.clone()),
            Some(entry) if entry.freshness(object) == Freshness::Changed => {
                to_index.changed.push(object.key.clone());
                to_index.objects.push(object.clone());
            }
            Some(_) => {}
        }
    }
    to_index
}

/// Writes `rows` (new objects, and objects changed since indexed) into `current`'s next
/// generation, without the rows of `removed` (objects deleted from the archive since
/// indexed: a lookup that trusts sealed days would otherwise read them), and publishes it.
/// `catalog` holds the current rows of every group `rows` and `removed` fall in (what a
/// merge rewrites). Nothing a reader sees changes until the snapshot is published, and that
/// is create-only: a concurrent update makes this one fail, not tear.
pub fn apply_update(
    index: &IndexStore<'_>,
    current: &Snapshot,
    rows: Vec<IndexedObject>,
    removed: &[String],
    catalog: &Catalog,
) -> Result<(Snapshot, Update), IndexError> {
    let mut by_group: BTreeMap<Group, Vec<IndexedObject>> = BTreeMap::new();
    for row in rows {
        by_group.entry(row.entry.group()).or_default().push(row);
    }
    let removed: BTreeSet<&str> = removed.iter().map(String::as_str).collect();
    for row in catalog.rows().filter(|r| removed.contains(r.key())) {
        by_group.entry(row.group()).or_default();
    }
    let mut next = current.clone();
    next.generation += 1;
    let mut update = Update::default();
    for (group, indexed) in by_group {
        update.rows += indexed.len() as u64;
        // The new rows' part of the summary; the rows themselves.
        let new_part = match indexed.is_empty() {
            true => Vec::new(),
            false => {
                let hashes: Vec<u64> = indexed
                    .iter()
                    .flat_map(|i| i.hashes.iter().copied())
                    .collect();
                build_part(&hashes)
            }
        };
        let mut rows: Vec<CatalogEntry> = indexed.into_iter().map(|i| i.entry).collect();
        let existing = next.segments.iter().filter(|s| s.group() == group).count();
        let removes = catalog
            .rows()
            .any(|r| r.group() == group && removed.contains(r.key()));
        if existing + 1 > MAX_SEGMENTS_PER_GROUP || removes {
            let mut merged: BTreeMap<String, CatalogEntry> = catalog
                .rows()
                .filter(|r| r.group() == group && !removed.contains(r.key()))
                .map(|r| (r.key().to_string(), r.to_entry()))
                .collect();
            merged.extend(rows.drain(..).map(|e| (e.key.clone(), e)));
            let merged: Vec<CatalogEntry> = merged.into_values().collect();
            // The merged segments' summaries are kept as parts (their hashes are gone).
            let mut summary = Vec::new();
            for segment in next.segments.iter().filter(|s| s.group() == group) {
                summary.extend(index.read_summary(segment)?);
            }
            summary.extend(new_part);
            next.segments.retain(|s| s.group() != group);
            if !merged.is_empty() {
                next.segments
                    .push(index.write_segment(&group, &merged, &summary)?);
            }
            update.groups_merged += 1;
        } else {
            rows.sort_by(|a, b| a.key.cmp(&b.key));
            next.segments
                .push(index.write_segment(&group, &rows, &new_part)?);
        }
        update.segments_written += 1;
    }
    index.publish(&next)?;
    Ok((next, update))
}
