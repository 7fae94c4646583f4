//! A new generation: new rows into new segments, a group's segments merged once they are many.

use std::collections::{BTreeMap, BTreeSet};

use trailscan_archive::ObjectRef;

use trailscan_layout::key::{parse_key, KeyClass};

use crate::build::IndexedObject;
use crate::catalog::{Catalog, CatalogEntry, Freshness};
use crate::group::Group;
use crate::snapshot::{IndexStore, SegmentInfo, Snapshot};
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

/// The objects of `listed` that an update indexes: those `catalog` does not hold, and those
/// that changed since indexed (size, ETag or modification time). The objects are moved, not
/// copied: a first build indexes every object listed.
pub fn to_index(catalog: &Catalog, listed: impl IntoIterator<Item = ObjectRef>) -> ToIndex {
    let mut to_index = ToIndex::default();
    for object in listed {
        match catalog.get(&object.key) {
            None => to_index.objects.push(object),
            Some(entry) if entry.freshness(&object) == Freshness::Changed => {
                to_index.changed.push(object.key.clone());
                to_index.objects.push(object);
            }
            Some(_) => {}
        }
    }
    to_index
}

/// Writes `rows` (new objects, and objects changed since indexed) into new segments, one
/// per group, each with its summary: what a build or a shard adds. No generation names them
/// yet ([`next_generation`] does), so readers see nothing of them.
pub fn write_rows(
    index: &IndexStore<'_>,
    rows: Vec<IndexedObject>,
) -> Result<Vec<SegmentInfo>, IndexError> {
    let mut by_group: BTreeMap<Group, Vec<IndexedObject>> = BTreeMap::new();
    for row in rows {
        by_group.entry(row.entry.group()).or_default().push(row);
    }
    let mut written = Vec::new();
    for (group, indexed) in by_group {
        let hashes: Vec<u64> = indexed
            .iter()
            .flat_map(|i| i.hashes.iter().copied())
            .collect();
        let mut entries: Vec<CatalogEntry> = indexed.into_iter().map(|i| i.entry).collect();
        entries.sort_by(|a, b| a.key.cmp(&b.key));
        written.push(index.write_segment(&group, &entries, &build_part(&hashes))?);
    }
    Ok(written)
}

/// `base`'s next generation: `base` (with the seals it is to have) with `segments` added
/// after its own (where two hold a key, the later is current), without the rows of
/// `removed` (objects deleted from the archive since indexed: a lookup that trusts sealed
/// days would otherwise read them), and with each group that holds more than
/// `max_segments_per_group` segments, or had rows removed, merged into one. Merged segments
/// are written; the generation is not published. Given the same arguments, the same
/// generation: a publisher that lost a race can tell whether the winner published its work.
pub fn next_generation(
    index: &IndexStore<'_>,
    base: &Snapshot,
    segments: Vec<SegmentInfo>,
    removed: &[String],
    max_segments_per_group: usize,
    in_flight: usize,
) -> Result<(Snapshot, Update), IndexError> {
    let mut next = base.clone();
    next.generation += 1;
    let mut update = Update {
        rows: segments.iter().map(|s| s.objects).sum(),
        segments_written: segments.len() as u64,
        groups_merged: 0,
    };
    // Only the groups this generation adds to can need a merge: an index whose groups hold
    // many segments (a sharded build's) is not rewritten whole by the next small update.
    let touched: BTreeSet<Group> = segments.iter().map(SegmentInfo::group).collect();
    next.segments.extend(segments);
    let mut removed_by_group: BTreeMap<Group, BTreeSet<&str>> = BTreeMap::new();
    for key in removed {
        if let KeyClass::CloudTrail(k) = parse_key(key) {
            let group = Group::new(&k.account, &k.region, k.delivered_at);
            removed_by_group.entry(group).or_default().insert(key);
        }
    }
    let mut per_group: BTreeMap<Group, usize> = BTreeMap::new();
    for segment in next
        .segments
        .iter()
        .filter(|s| touched.contains(&s.group()))
    {
        *per_group.entry(segment.group()).or_default() += 1;
    }
    let to_merge: BTreeSet<Group> = per_group
        .into_iter()
        .filter(|(_, n)| *n > max_segments_per_group)
        .map(|(group, _)| group)
        .chain(removed_by_group.keys().cloned())
        .collect();
    // One group at a time: what a merge holds is one group's rows.
    for group in to_merge {
        let no_removals = BTreeSet::new();
        let removed = removed_by_group.get(&group).unwrap_or(&no_removals);
        let catalog = index.load(&next, |s| s.is_of(&group), in_flight, false)?;
        let mut merged: Vec<CatalogEntry> = catalog
            .rows()
            .filter(|r| !removed.contains(r.key()))
            .map(|r| r.to_entry())
            .collect();
        merged.sort_by(|a, b| a.key.cmp(&b.key));
        // The merged segments' summaries are kept as parts (their hashes are gone).
        let mut summary = Vec::new();
        for segment in next.segments.iter().filter(|s| s.is_of(&group)) {
            summary.extend(index.read_summary(segment)?);
        }
        next.segments.retain(|s| !s.is_of(&group));
        if !merged.is_empty() {
            next.segments
                .push(index.write_segment(&group, &merged, &summary)?);
            update.segments_written += 1;
        }
        update.groups_merged += 1;
    }
    Ok((next, update))
}
