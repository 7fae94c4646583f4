//! A new generation: new rows into new segments, a group's segments merged once they are many.

use std::collections::BTreeMap;

use crate::catalog::{Catalog, CatalogEntry};
use crate::snapshot::{Group, IndexStore, Snapshot};
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

/// Writes `rows` (new objects, and objects changed since indexed) into `current`'s next
/// generation and publishes it. `catalog` holds the current rows of every group `rows`
/// fall in (what a merge rewrites). Nothing a reader sees changes until the snapshot is
/// published, and that is create-only: a concurrent update makes this one fail, not tear.
pub fn apply_update(
    index: &IndexStore<'_>,
    current: &Snapshot,
    rows: Vec<CatalogEntry>,
    catalog: &Catalog,
) -> Result<(Snapshot, Update), IndexError> {
    let mut by_group: BTreeMap<Group, Vec<CatalogEntry>> = BTreeMap::new();
    for row in rows {
        by_group.entry(Group::of(&row)).or_default().push(row);
    }
    let mut next = current.clone();
    next.generation += 1;
    let mut update = Update::default();
    for (group, mut rows) in by_group {
        update.rows += rows.len() as u64;
        let existing = next.segments.iter().filter(|s| s.group() == group).count();
        if existing + 1 > MAX_SEGMENTS_PER_GROUP {
            let mut merged: BTreeMap<String, CatalogEntry> = catalog
                .rows()
                .filter(|r| r.group() == group)
                .map(|r| (r.key().to_string(), r.to_entry()))
                .collect();
            merged.extend(rows.drain(..).map(|e| (e.key.clone(), e)));
            let merged: Vec<CatalogEntry> = merged.into_values().collect();
            let info = index.write_segment(&group, &merged)?;
            next.segments.retain(|s| s.group() != group);
            next.segments.push(info);
            update.groups_merged += 1;
        } else {
            rows.sort_by(|a, b| a.key.cmp(&b.key));
            next.segments.push(index.write_segment(&group, &rows)?);
        }
        update.segments_written += 1;
    }
    index.publish(&next)?;
    Ok((next, update))
}
