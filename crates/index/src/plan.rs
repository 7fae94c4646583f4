//! A lookup through the index: which listed objects it must read.

use std::collections::HashSet;

use rayon::prelude::*;

use trailscan_archive::ObjectRef;
use trailscan_layout::key::{parse_key, KeyClass};
use trailscan_layout::{Selection, ShardPlan, Unit};
use trailscan_query::LookupRequest;

use crate::catalog::{Catalog, Freshness, Row};
use crate::filter::ValueFilter;
use crate::group::{month_index, Group};
use crate::hash::value_hash;
use crate::seal::SealMap;
use trailscan_layout::sealed::region_folder_and_day;

/// The scan's caps, which decide whether an indexed object must still be read to report it.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    /// `--max-inflated-size`.
    pub max_inflated_bytes: u64,
    /// `--max-record-size`.
    pub max_record_bytes: u64,
}

/// What the index decided for a lookup's listing.
#[derive(Debug, Default)]
pub struct IndexPlan {
    /// The objects to read, in the listing's order: candidates of the index, objects it does
    /// not hold, objects changed since indexed, and indexed objects a scan would report.
    pub read: Vec<ObjectRef>,
    /// Listed objects the index holds as they are now.
    pub via_index: u64,
    /// Listed objects it does not hold (scanned).
    pub not_indexed: u64,
    /// Listed objects changed (size, ETag or modification time) since indexed (re-read).
    pub changed: Vec<String>,
    /// Of `via_index`, the objects of sealed days: answered from the index, never listed.
    pub sealed: u64,
    /// Segments of wholly sealed groups ruled out (by their times or their summaries)
    /// without being read.
    pub segments_ruled_out: u64,
}

impl IndexPlan {
    /// This plan and `other`'s together, the objects to read in key order.
    pub fn and(mut self, other: IndexPlan) -> IndexPlan {
        self.read.extend(other.read);
        self.read.sort_by(|a, b| a.key.cmp(&b.key));
        self.via_index += other.via_index;
        self.not_indexed += other.not_indexed;
        self.changed.extend(other.changed);
        self.sealed += other.sealed;
        self.segments_ruled_out += other.segments_ruled_out;
        self
    }

    /// Listed objects the catalog holds, changed or not.
    pub fn indexed(&self) -> usize {
        self.via_index as usize + self.changed.len()
    }
}

/// The groups (account x region x delivery month) of the listed objects: the segments a
/// lookup needs. The listing is sorted by key, so a group's objects mostly follow each other.
pub fn groups_of<'a>(listed: impl IntoIterator<Item = &'a ObjectRef>) -> HashSet<Group> {
    let mut groups = HashSet::new();
    let mut last: Option<(&str, &str, i64)> = None;
    for o in listed {
        let l = &o.layout;
        let month = month_index(l.delivered_at);
        if last != Some((&l.account, &l.region, month)) {
            groups.insert(Group::new(&l.account, &l.region, l.delivered_at));
            last = Some((&l.account, &l.region, month));
        }
    }
    groups
}

/// Decides, for each listed object, whether the lookup must read it. An object is left out
/// only when the index holds it unchanged, with nothing a scan would report, and either its
/// records' times miss the window or its filter lacks one of the attribute values.
pub fn plan(
    catalog: &Catalog,
    listed: &[ObjectRef],
    request: &LookupRequest,
    caps: Caps,
) -> IndexPlan {
    let probes: Vec<u64> = request
        .attributes
        .iter()
        .map(|a| value_hash(a.key, &a.value))
        .collect();
    plan_probes(catalog, listed, request, Probes::All(&probes), caps)
}

/// Which values an object's filter must (may) hold for the object to be read.
#[derive(Debug, Clone, Copy)]
pub enum Probes<'p> {
    /// Every one (a lookup's attributes, AND-combined); none: every object of the window.
    All(&'p [u64]),
    /// At least one (a trace's keys: issued or used).
    Any(&'p [u64]),
}

/// [`plan`] for values given as hashes ([`crate::value_hash`], [`crate::issued_key_hash`]),
/// all or any of them, in `request`'s time window (its attributes are not looked at).
pub fn plan_probes(
    catalog: &Catalog,
    listed: &[ObjectRef],
    request: &LookupRequest,
    probes: Probes<'_>,
    caps: Caps,
) -> IndexPlan {
    // Each object is decided on its own, on every core: a lookup over the benchmark archive
    // decides 4,500 (a catalog lookup and a probe each), at 9 M events 45,000.
    let decisions: Vec<Decision> = listed
        .par_iter()
        .map(|object| match catalog.get(&object.key) {
            None => Decision::NotIndexed,
            Some(entry) if entry.freshness(object) == Freshness::Changed => Decision::Changed,
            Some(entry) if must_read(entry, request, probes, caps) => Decision::Read,
            Some(_) => Decision::Skip,
        })
        .collect();
    let mut plan = IndexPlan::default();
    for (object, decision) in listed.iter().zip(decisions) {
        match decision {
            Decision::NotIndexed => plan.not_indexed += 1,
            Decision::Changed => plan.changed.push(object.key.clone()),
            Decision::Read | Decision::Skip => plan.via_index += 1,
        }
        if decision != Decision::Skip {
            plan.read.push(object.clone());
        }
    }
    plan
}

/// The indexed objects of the days `seals` seals that `request` must read: those of
/// `selection` (kind, accounts, regions, delivery window) under `base` that may match
/// `probes` in the window, or that a scan would report. They were not listed: each is
/// checked against its row as it is read.
pub fn plan_sealed(
    catalog: &Catalog,
    seals: &SealMap,
    selection: &Selection,
    base: &str,
    request: &LookupRequest,
    probes: Probes<'_>,
    caps: Caps,
) -> IndexPlan {
    let kind = selection.kind.folder();
    let rows: Vec<Row<'_>> = catalog.rows().collect();
    let decided: Vec<Option<Option<ObjectRef>>> = rows
        .par_iter()
        .map(|row| {
            let key = row.key();
            let (folder, day) = region_folder_and_day(key)?;
            let delivered = row.delivered_at();
            let wanted = seals.get(folder).is_some_and(|s| s.holds(day))
                && folder.rsplit('/').nth(1) == Some(kind)
                && selection.wants_account(row.account())
                && selection.wants_region(row.region())
                && selection.delivery_period_may_match(delivered, delivered)
                && is_under(key, base);
            if !wanted {
                return None;
            }
            Some(match must_read(*row, request, probes, caps) {
                true => row.to_object(),
                false => None,
            })
        })
        .collect();
    let mut plan = IndexPlan::default();
    for decision in decided.into_iter().flatten() {
        plan.via_index += 1;
        plan.sealed += 1;
        plan.read.extend(decision);
    }
    plan.read.sort_by(|a, b| a.key.cmp(&b.key));
    plan
}

/// What the index decided for one listed object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    /// Not in the index: scanned.
    NotIndexed,
    /// Changed since indexed: read again.
    Changed,
    /// Indexed, and may match (or a scan would report it): read.
    Read,
    /// Indexed, and cannot match: left out.
    Skip,
}

fn must_read(entry: Row<'_>, request: &LookupRequest, probes: Probes<'_>, caps: Caps) -> bool {
    if entry.problem().is_some()
        || entry.inflated_bytes() > caps.max_inflated_bytes
        || entry.max_record_bytes() > caps.max_record_bytes
    {
        return true;
    }
    if !entry.may_hold_time(request.start, request.end) {
        return false;
    }
    let filter = match probes {
        Probes::All([]) => return true,
        Probes::Any([]) => return false,
        _ => ValueFilter::parse(entry.filter()),
    };
    match filter {
        Ok(filter) => match probes {
            Probes::All(hashes) => hashes.iter().all(|&h| filter.may_contain(h)),
            Probes::Any(hashes) => hashes.iter().any(|&h| filter.may_contain(h)),
        },
        // Checked when the segment was read (its SHA-256); read the object rather than trust it.
        Err(_) => true,
    }
}

/// Whether `key` is under the folder or prefix `base` (`trail` holds `trail/...`, not
/// `trailer/...`).
fn is_under(key: &str, base: &str) -> bool {
    base.is_empty()
        || key
            .strip_prefix(base.trim_end_matches('/'))
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Indexed objects of `groups` that the listing (with `selection`, and the shard's units)
/// would have found but did not: deleted from the archive since they were indexed. `found` is
/// how many of `listed` the catalog holds, which the caller knows from looking each up: when
/// it is every row, none was deleted. Objects of days `sealed` seals were not listed, and
/// are not looked for.
pub fn deleted_since_indexed(
    catalog: &Catalog,
    listed: &[ObjectRef],
    found: usize,
    selection: &Selection,
    shard: Option<&ShardPlan>,
    base: &str,
    sealed: Option<&SealMap>,
) -> Vec<String> {
    if found == catalog.len() {
        return Vec::new();
    }
    let listed: HashSet<&str> = listed.iter().map(|o| o.key.as_str()).collect();
    let own: Option<HashSet<&str>> = shard.map(|p| p.own.iter().map(String::as_str).collect());
    let mut deleted: Vec<String> = catalog
        .rows()
        .map(|row| row.key())
        .filter(|key| !listed.contains(key) && is_under(key, base))
        .filter(|key| sealed.is_none_or(|seals| !seals.holds_key(key)))
        .filter(|key| match parse_key(key) {
            KeyClass::CloudTrail(k) => {
                selection.check(&k).is_ok()
                    && own.as_ref().is_none_or(|own| {
                        let folders = key.rsplit_once('/').map_or("", |(dir, _)| dir);
                        Unit::from_day_folder(folders.split('/'))
                            .is_some_and(|unit| own.contains(unit.to_string().as_str()))
                    })
            }
            KeyClass::NotCloudTrail(_) => false,
        })
        .map(str::to_string)
        .collect();
    deleted.sort();
    deleted
}
