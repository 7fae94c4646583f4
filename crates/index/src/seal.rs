//! Sealed days: the delivery days `trailscan index` vouches for, so that a lookup answers them
//! from the index without listing them.
//!
//! Once a day (of one region folder: account x kind x region) is older than a lag, an update
//! seals it: the snapshot records the folder's sealed span ([`SealedRange`]), and a file of
//! day seals ([`DaySeal`]: each day's object count and a SHA-256 of its sorted
//! `key, size, ETag or mtime` list) lets every later update re-check it without loading its
//! rows. A day whose listing no longer matches its seal is a [`BrokenSeal`], reported loudly.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use trailscan_archive::ObjectRef;
use trailscan_layout::sealed::{day_name, parse_day_name, region_folder_and_day, SealedDays};

use crate::catalog::nanos_since_epoch;

/// A region folder's sealed days, as the snapshot records them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedRange {
    /// The folder: `[PREFIX/]AWSLogs/[o-ORG/]ACCOUNT/KIND/REGION`, as keys spell it.
    pub folder: String,
    /// The first sealed day (`YYYY-MM-DD`); absent: every day up to `through`.
    pub from: Option<String>,
    /// The last sealed day (`YYYY-MM-DD`).
    pub through: String,
}

impl SealedRange {
    fn new(folder: &str, days: SealedDays) -> SealedRange {
        SealedRange {
            folder: folder.to_string(),
            from: days.from.map(day_name),
            through: day_name(days.through),
        }
    }

    /// The days, or what is wrong with their names.
    pub fn days(&self) -> Result<SealedDays, String> {
        let day = |name: &str| {
            parse_day_name(name).ok_or_else(|| {
                format!(
                    "seals {} with a day {name:?} that is not YYYY-MM-DD",
                    self.folder
                )
            })
        };
        let days = SealedDays {
            from: self.from.as_deref().map(day).transpose()?,
            through: day(&self.through)?,
        };
        match days.from.is_some_and(|from| from > days.through) {
            true => Err(format!("seals {} from after through", self.folder)),
            false => Ok(days),
        }
    }
}

/// One sealed day with objects: what its folder held when sealed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaySeal {
    /// The region folder.
    pub folder: String,
    /// The day, `YYYY-MM-DD`.
    pub day: String,
    /// Its objects.
    pub objects: u64,
    /// SHA-256 (hex) of their `key TAB size TAB (ETag or mtime in ns) LF` lines, in key order.
    pub sha256: String,
}

/// A sealed day whose objects are no longer those it was sealed with: an object added,
/// changed or deleted since (late beyond the lag, or tampering).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenSeal {
    /// The region folder.
    pub folder: String,
    /// The day.
    pub day: i64,
    /// Objects when sealed.
    pub then: u64,
    /// Objects now.
    pub now: u64,
}

/// The sealed days a lookup trusts, by region folder.
#[derive(Debug, Default, Clone)]
pub struct SealMap {
    folders: HashMap<String, SealedDays>,
}

impl SealMap {
    /// The spans of `ranges`, or the first damaged one.
    pub fn new(ranges: &[SealedRange]) -> Result<SealMap, String> {
        let folders = ranges
            .iter()
            .map(|r| Ok((r.folder.clone(), r.days()?)))
            .collect::<Result<_, String>>()?;
        Ok(SealMap { folders })
    }

    /// The same, for only the region folders of `folders`.
    pub fn only(&self, folders: &BTreeSet<String>) -> SealMap {
        SealMap {
            folders: self
                .folders
                .iter()
                .filter(|(folder, _)| folders.contains(*folder))
                .map(|(folder, days)| (folder.clone(), *days))
                .collect(),
        }
    }

    /// The sealed days of a region folder.
    pub fn get(&self, folder: &str) -> Option<SealedDays> {
        self.folders.get(folder).copied()
    }

    /// Whether the object at `key` lies in a sealed day.
    pub fn holds_key(&self, key: &str) -> bool {
        region_folder_and_day(key)
            .is_some_and(|(folder, day)| self.get(folder).is_some_and(|s| s.holds(day)))
    }

    /// Whether nothing is sealed.
    pub fn is_empty(&self) -> bool {
        self.folders.is_empty()
    }
}

/// A day's fingerprint: its objects and the SHA-256 of their list.
pub type Fingerprint = (u64, String);

/// The fingerprint of each (region folder, day) of a listing sorted by key.
pub fn day_fingerprints(listed: &[ObjectRef]) -> BTreeMap<(String, i64), Fingerprint> {
    let mut days: BTreeMap<(String, i64), (u64, Sha256)> = BTreeMap::new();
    for object in listed {
        let Some((folder, day)) = region_folder_and_day(&object.key) else {
            continue;
        };
        let entry = match days.get_mut(&(folder.to_string(), day)) {
            Some(entry) => entry,
            None => days
                .entry((folder.to_string(), day))
                .or_insert_with(|| (0, Sha256::new())),
        };
        let version = match (&object.etag, object.modified.and_then(nanos_since_epoch)) {
            (Some(etag), _) => etag.clone(),
            (None, Some(nanos)) => nanos.to_string(),
            (None, None) => String::new(),
        };
        entry.0 += 1;
        entry
            .1
            .update(format!("{}\t{}\t{version}\n", object.key, object.size));
    }
    days.into_iter()
        .map(|(at, (n, hash))| (at, (n, format!("{:x}", hash.finalize()))))
        .collect()
}

/// What an update listed, for sealing.
pub struct Listed<'a> {
    /// Each (region folder, day) listed with objects, and its fingerprint.
    pub fingerprints: &'a BTreeMap<(String, i64), Fingerprint>,
    /// Whether a region folder was listed (the update's accounts, regions and kinds).
    pub covers_folder: &'a dyn Fn(&str) -> bool,
    /// The days the listing covered whole (`None`: no bound on that side).
    pub days: (Option<i64>, Option<i64>),
    /// Each region folder's first day with an object that could not be read (not indexed, so
    /// not to be sealed).
    pub first_unreadable: &'a HashMap<String, i64>,
    /// Whether every folder could be listed: otherwise nothing new is sealed, and a sealed day
    /// the listing did not find is taken for unlisted, not for emptied (its seal stays).
    pub complete: bool,
}

/// The seals after an update.
#[derive(Debug, Default)]
pub struct Resealed {
    /// The sealed span of each folder.
    pub ranges: Vec<SealedRange>,
    /// Each sealed day with objects.
    pub days: Vec<DaySeal>,
    /// Sealed days whose listing does not match their seal.
    pub broken: Vec<BrokenSeal>,
}

/// Re-checks the sealed days of `previous` that `listed` covers, and seals every day the
/// listing covered that is no later than `sealable_through`, joined to what was sealed
/// before where the spans meet.
pub fn reseal(
    previous: &[SealedRange],
    previous_days: &[DaySeal],
    listed: &Listed<'_>,
    sealable_through: i64,
) -> Result<Resealed, String> {
    let mut spans: BTreeMap<String, SealedDays> = BTreeMap::new();
    for range in previous {
        spans.insert(range.folder.clone(), range.days()?);
    }
    let mut sealed_then: BTreeMap<(String, i64), Fingerprint> = BTreeMap::new();
    for seal in previous_days {
        let day = parse_day_name(&seal.day)
            .ok_or_else(|| format!("a day seal of {} names no day", seal.folder))?;
        sealed_then.insert(
            (seal.folder.clone(), day),
            (seal.objects, seal.sha256.clone()),
        );
    }
    let in_window = |day: i64| {
        listed.days.0.is_none_or(|first| first <= day) && listed.days.1.is_none_or(|l| day <= l)
    };
    // Re-check: every sealed day the listing covered, with objects then or now.
    let mut broken = Vec::new();
    let days_then_or_now: BTreeSet<&(String, i64)> = sealed_then
        .keys()
        .chain(listed.fingerprints.keys())
        .collect();
    for at in days_then_or_now {
        let (folder, day) = (&at.0, at.1);
        let sealed = spans.get(folder).is_some_and(|s| s.holds(day));
        if !sealed || !in_window(day) || !(listed.covers_folder)(folder) {
            continue;
        }
        let (then, now) = (sealed_then.get(at), listed.fingerprints.get(at));
        if then != now && (now.is_some() || listed.complete) {
            broken.push(BrokenSeal {
                folder: folder.clone(),
                day,
                then: then.map_or(0, |t| t.0),
                now: now.map_or(0, |n| n.0),
            });
        }
    }
    // Seal: every covered folder with objects, from the listing's first day (or the first)
    // through the last sealable day, stopped before a day with an unreadable object.
    let new_folders: BTreeSet<&String> = listed.fingerprints.keys().map(|(f, _)| f).collect();
    let last_day = listed
        .days
        .1
        .map_or(sealable_through, |l| l.min(sealable_through));
    for folder in new_folders.into_iter().filter(|_| listed.complete) {
        let span = SealedDays {
            from: listed.days.0,
            through: last_day,
        };
        if span.from.is_some_and(|from| from > span.through) {
            continue;
        }
        let joined = match spans.get(folder.as_str()) {
            None => Some(span),
            Some(before) => before.joined(&span),
        };
        if let Some(joined) = joined {
            spans.insert(folder.clone(), joined);
        }
    }
    // A day with an object not indexed is not sealed, nor any after it.
    for (folder, &day) in listed.first_unreadable {
        let Some(span) = spans.get(folder).copied() else {
            continue;
        };
        if span.holds(day) || day <= span.through {
            match span.from.is_some_and(|from| day <= from) {
                true => {
                    spans.remove(folder);
                }
                false => {
                    spans.insert(
                        folder.clone(),
                        SealedDays {
                            through: day - 1,
                            ..span
                        },
                    );
                }
            }
        }
    }
    let ranges: Vec<SealedRange> = spans.iter().map(|(f, s)| SealedRange::new(f, *s)).collect();
    // Each sealed day's seal: the listing's where it covered the day, else the one before.
    let mut days = Vec::new();
    let mut seal_of = BTreeMap::new();
    let covered = |(folder, day): &(String, i64)| (listed.covers_folder)(folder) && in_window(*day);
    let listed_now = |at: &(String, i64)| listed.complete || listed.fingerprints.contains_key(at);
    for (at, print) in sealed_then
        .iter()
        .filter(|(at, _)| !covered(at) || !listed_now(at))
    {
        seal_of.insert(at.clone(), print.clone());
    }
    for (at, print) in listed.fingerprints.iter().filter(|(at, _)| covered(at)) {
        seal_of.insert(at.clone(), print.clone());
    }
    for ((folder, day), (objects, sha256)) in seal_of {
        if spans.get(&folder).is_some_and(|s| s.holds(day)) {
            days.push(DaySeal {
                folder,
                day: day_name(day),
                objects,
                sha256,
            });
        }
    }
    Ok(Resealed {
        ranges,
        days,
        broken,
    })
}

/// The last day an update run at `now` (epoch seconds) seals with a lag of `lag_secs`: the
/// last day that ended at least the lag ago.
pub fn sealable_through(now: i64, lag_secs: i64) -> i64 {
    now.saturating_sub(lag_secs).div_euclid(86_400) - 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use trailscan_archive::ObjectInfo;

    const FOLDER: &str = "AWSLogs/123456789012/CloudTrail/us-east-1";

    fn object(day: u32, n: u32, size: u64) -> ObjectRef {
        let key = format!(
            "{FOLDER}/2024/03/{day:02}/123456789012_CloudTrail_us-east-1_202403{day:02}T{n:02}00Z_x.json.gz"
        );
        ObjectRef::listed(ObjectInfo {
            key,
            size,
            etag: Some(format!("\"{size}\"")),
            modified: None,
        })
        .unwrap()
    }

    fn day(d: u32) -> i64 {
        parse_day_name(&format!("2024-03-{d:02}")).unwrap()
    }

    fn update(
        previous: &Resealed,
        listed: &[ObjectRef],
        unreadable: &[(String, i64)],
        through: i64,
    ) -> Resealed {
        let prints = day_fingerprints(listed);
        let first_unreadable = unreadable.iter().cloned().collect();
        let listed = Listed {
            fingerprints: &prints,
            covers_folder: &|_| true,
            days: (None, None),
            first_unreadable: &first_unreadable,
            complete: true,
        };
        reseal(&previous.ranges, &previous.days, &listed, through).unwrap()
    }

    #[test]
    fn days_past_the_lag_are_sealed_and_rechecked() {
        let archive: Vec<ObjectRef> = (1..=5)
            .flat_map(|d| [object(d, 1, 10), object(d, 2, 20)])
            .collect();
        let first = update(&Resealed::default(), &archive, &[], day(3));
        assert_eq!(first.ranges.len(), 1);
        assert_eq!(first.ranges[0].from, None);
        assert_eq!(first.ranges[0].through, "2024-03-03");
        assert_eq!(first.days.len(), 3);
        assert!(first.broken.is_empty());
        // Unchanged, two days later: two more days sealed, nothing broken.
        let second = update(&first, &archive, &[], day(5));
        assert_eq!(second.ranges[0].through, "2024-03-05");
        assert_eq!(second.days.len(), 5);
        assert!(second.broken.is_empty());
        // An object added to a sealed day, one changed, a day deleted whole.
        let mut tampered = archive.clone();
        tampered.push(object(2, 3, 30));
        tampered[0].size = 11;
        tampered[0].etag = Some("\"other\"".into());
        tampered.retain(|o| !o.key.contains("/2024/03/04/"));
        tampered.sort_by(|a, b| a.key.cmp(&b.key));
        let third = update(&second, &tampered, &[], day(5));
        let broken: Vec<(String, u64, u64)> = third
            .broken
            .iter()
            .map(|b| (day_name(b.day), b.then, b.now))
            .collect();
        assert_eq!(
            broken,
            [
                ("2024-03-01".to_string(), 2, 2),
                ("2024-03-02".to_string(), 2, 3),
                ("2024-03-04".to_string(), 2, 0)
            ]
        );
        // Re-sealed as they are now: the next update finds nothing broken.
        assert!(update(&third, &tampered, &[], day(5)).broken.is_empty());
    }

    /// A listing that failed for some folders found nothing of them: that is no evidence
    /// their sealed days were emptied (their seals stay, and nothing is reported).
    #[test]
    fn an_incomplete_listing_breaks_no_seal_it_did_not_see() {
        let archive: Vec<ObjectRef> = (1..=3).map(|d| object(d, 1, 10)).collect();
        let sealed = update(&Resealed::default(), &archive, &[], day(3));
        let partial: Vec<ObjectRef> = archive[..1].to_vec();
        let prints = day_fingerprints(&partial);
        let listed = Listed {
            fingerprints: &prints,
            covers_folder: &|_| true,
            days: (None, None),
            first_unreadable: &HashMap::new(),
            complete: false,
        };
        let after = reseal(&sealed.ranges, &sealed.days, &listed, day(3)).unwrap();
        assert!(after.broken.is_empty(), "{:?}", after.broken);
        assert_eq!(after.days, sealed.days);
    }

    #[test]
    fn a_day_with_an_unreadable_object_is_not_sealed_nor_any_after() {
        let archive: Vec<ObjectRef> = (1..=5).map(|d| object(d, 1, 10)).collect();
        let through = |unreadable: u32| {
            let failed = [(FOLDER.to_string(), day(unreadable))];
            let sealed = update(&Resealed::default(), &archive, &failed, day(5));
            sealed.ranges[0].through.clone()
        };
        assert_eq!(through(3), "2024-03-02");
        // The first day: only the empty days before it stay sealed.
        assert_eq!(through(1), "2024-02-29");
    }
}
