//! Log files that no digest lists: beyond the AWS CLI, which only checks the files digests
//! name. A log file an attacker added, or one whose digest was deleted (the newest digest of
//! a chain is the easiest to delete: no later digest links to it), shows up here.
//!
//! A log file counts as listed when any digest in its account and region folder lists it,
//! whichever trail wrote the digest, so trails sharing a prefix do not flag each other's
//! files. Files delivered in the last two hours are not expected to be listed yet (digests
//! come hourly).

use std::collections::{BTreeSet, HashMap};

use rayon::prelude::*;
use serde_json::Value;
use trailscan_archive::inflate::{inflate_gzip, DEFAULT_MAX_INFLATED_BYTES};
use trailscan_archive::StoreError;
use trailscan_layout::key::{parse_key, KeyClass, ObjectKind};
use trailscan_layout::time::{format_utc, parse_rfc3339};

use crate::buckets::Buckets;
use crate::digest_body::{listed_objects, ValidDigest};
use crate::walk::Trail;

/// How long after delivery a log file may still be waiting for its digest.
pub const DIGEST_DELAY_SECS: i64 = 2 * 3600;

/// A log file no digest lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unlisted {
    /// Its bucket.
    pub bucket: String,
    /// Its key.
    pub key: String,
    /// The end of the newest digest of its folder, when the file was delivered after it.
    pub after_newest_digest: Option<i64>,
}

impl Unlisted {
    /// The line for it, worded as the AWS CLI words its lines.
    pub fn line(&self) -> String {
        match self.after_newest_digest {
            Some(end) => format!(
                "Log file\ts3://{}/{}\tINVALID: not listed in any digest, and delivered after the newest digest (which ends {}): a newer digest is missing",
                self.bucket,
                self.key,
                format_utc(end)
            ),
            None => format!("Log file\ts3://{}/{}\tINVALID: not listed in any digest", self.bucket, self.key),
        }
    }
}

/// The keys of every day folder, in the folders' order, the folders listed as many at once as
/// the source keeps requests in flight (a long window is hundreds of listings, each a round
/// trip from S3), or one per core on disk.
fn list_days(store: &Buckets, bucket: &str, days: &[String]) -> Result<Vec<String>, StoreError> {
    let listers = match store.requests_in_flight() {
        0 => rayon::current_num_threads(),
        n => n,
    }
    .clamp(1, days.len().max(1));
    let listed: Vec<Vec<Result<Vec<String>, StoreError>>> = std::thread::scope(|scope| {
        let running: Vec<_> = (0..listers)
            .map(|first| {
                scope.spawn(move || {
                    (first..days.len())
                        .step_by(listers)
                        .map(|i| store.list(bucket, &days[i], ""))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        running
            .into_iter()
            .map(|r| {
                r.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    // Lister `l` listed days l, l + listers, ...: back into the days' order.
    let mut by_day: Vec<Option<Result<Vec<String>, StoreError>>> = Vec::new();
    by_day.resize_with(days.len(), || None);
    for (first, results) in listed.into_iter().enumerate() {
        for (n, result) in results.into_iter().enumerate() {
            by_day[first + n * listers] = Some(result);
        }
    }
    let mut keys = Vec::new();
    for result in by_day.into_iter().flatten() {
        keys.extend(result?);
    }
    Ok(keys)
}

/// What the coverage check reads: the keys of the trail's log folders over the window, and of
/// its digest folders from an hour before the window to a few after (the digests that may list
/// those logs).
#[derive(Debug, Default)]
pub struct FolderKeys {
    logs: Vec<String>,
    digests: Vec<String>,
}

/// Lists what [`unlisted_logs`] reads. It needs nothing from the walk, so a chain's check lists
/// it beside the walk and the hashing: from S3, a long window is hundreds of listings, each a
/// round trip.
pub fn list_folders(
    store: &Buckets,
    trail: &Trail,
    (start, end): (i64, i64),
    now: i64,
) -> Result<FolderKeys, StoreError> {
    let until = end.min(now - DIGEST_DELAY_SECS);
    if until < start {
        return Ok(FolderKeys::default());
    }
    let logs = trail.folder(ObjectKind::Log);
    let log_days = logs.day_prefixes(start, until);
    // Digests that may list them: delivered from an hour before the window to a few after.
    let digests = trail.folder(ObjectKind::Digest);
    let digest_days = digests.day_prefixes(start - 3600, until + 3 * 3600);
    let mut days = Vec::new();
    let mut keys = Vec::new();
    // A quiet region's folder (a month of a small trail, the hourly digests of a month) comes
    // whole in one request from S3, instead of a request per day: keep its window's days.
    for (folder, wanted) in [(logs.key(), log_days), (digests.key(), digest_days)] {
        match store.list_all_below(&trail.bucket, &format!("{folder}/"))? {
            Some(all) => keys.extend(all.into_iter().filter(|key| {
                wanted
                    .binary_search_by(|day| day.as_str().cmp(day_folder(key, &folder)))
                    .is_ok()
            })),
            None => days.extend(wanted),
        }
    }
    keys.extend(list_days(store, &trail.bucket, &days)?);
    let mut listed = FolderKeys::default();
    for key in keys {
        match parse_key(&key) {
            KeyClass::CloudTrail(k) if k.kind == ObjectKind::Log => listed.logs.push(key),
            KeyClass::CloudTrail(k) if k.kind == ObjectKind::Digest => listed.digests.push(key),
            _ => {}
        }
    }
    Ok(listed)
}

/// `FOLDER/YYYY/MM/DD/` of a key below `folder` (as [`RegionFolder::day_prefix`] writes it;
/// the whole key when it is not that deep).
///
/// [`RegionFolder::day_prefix`]: trailscan_layout::paths::RegionFolder::day_prefix
fn day_folder<'k>(key: &'k str, folder: &str) -> &'k str {
    let day = folder.len() + "/YYYY/MM/DD/".len();
    key.get(..day).unwrap_or(key)
}

/// Log files of the trail's folder delivered in `[start, end]` (and not in the last two hours
/// before `now`) that no digest of the folder lists, except those delivered in one of the
/// `excused` intervals (the hours of digests already reported INVALID or missing); `listed`,
/// the folders' keys ([`list_folders`]).
pub fn unlisted_logs(
    store: &Buckets,
    trail: &Trail,
    (start, end): (i64, i64),
    now: i64,
    excused: &[(i64, i64)],
    walked: &[&ValidDigest],
    listed: FolderKeys,
) -> Vec<Unlisted> {
    let until = end.min(now - DIGEST_DELAY_SECS);
    let logs: Vec<String> = listed
        .logs
        .into_iter()
        .filter(|key| match parse_key(key) {
            KeyClass::CloudTrail(k) => {
                let is_excused = excused
                    .iter()
                    .any(|(a, b)| (*a..=*b).contains(&k.delivered_at));
                (start..=until).contains(&k.delivered_at) && !is_excused
            }
            KeyClass::NotCloudTrail(_) => false,
        })
        .collect();
    if logs.is_empty() {
        return Vec::new();
    }
    let digest_keys = listed.digests;
    // Each digest's end and the log files it lists: from the walk where it read the digest,
    // else (other trails' digests in the folder) read here, on all cores.
    let walked: HashMap<&str, &ValidDigest> = walked
        .iter()
        .filter(|d| d.bucket == trail.bucket)
        .map(|d| (d.key.as_str(), *d))
        .collect();
    let read: Vec<(Option<i64>, Vec<String>)> = digest_keys
        .par_iter()
        .map(|key| {
            if let Some(d) = walked.get(key.as_str()) {
                return (Some(d.end), d.listed.clone());
            }
            // A digest of another trail that cannot be read or parsed lists nothing: its log
            // files are then reported as not listed, which is the finding to make.
            let mut inflated = Vec::new();
            let doc = store
                .get(&trail.bucket, key)
                .ok()
                .filter(|f| {
                    inflate_gzip(&f.body, &mut inflated, DEFAULT_MAX_INFLATED_BYTES).is_ok()
                })
                .and_then(|_| serde_json::from_slice::<Value>(&inflated).ok());
            let Some(Value::Object(doc)) = doc else {
                return (None, Vec::new());
            };
            let end = doc
                .get("digestEndTime")
                .and_then(Value::as_str)
                .and_then(parse_rfc3339)
                .map(|(s, _)| s);
            (end, listed_objects(&doc))
        })
        .collect();
    let newest_end = read.iter().filter_map(|(end, _)| *end).max();
    let listed: BTreeSet<String> = read.into_iter().flat_map(|(_, files)| files).collect();
    logs.into_iter()
        .filter(|k| !listed.contains(k))
        .map(|key| {
            let delivered = match parse_key(&key) {
                KeyClass::CloudTrail(k) => k.delivered_at,
                KeyClass::NotCloudTrail(_) => 0,
            };
            let after_newest_digest = newest_end.filter(|&newest| delivered > newest);
            Unlisted {
                bucket: trail.bucket.clone(),
                key,
                after_newest_digest,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use trailscan_archive::{MemoryStore, ObjectStore, WriteMode};

    use super::*;

    const ACCOUNT: &str = "111122223333";

    fn log(region: &str, day: u32) -> String {
        format!("AWSLogs/{ACCOUNT}/CloudTrail/{region}/2024/01/{day:02}/{ACCOUNT}_CloudTrail_{region}_202401{day:02}T0100Z_abcdefghijklmnop.json.gz")
    }

    fn digest(day: u32) -> String {
        format!("AWSLogs/{ACCOUNT}/CloudTrail-Digest/us-east-1/2024/01/{day:02}/{ACCOUNT}_CloudTrail-Digest_us-east-1_t_us-east-1_202401{day:02}T010000Z.json.gz")
    }

    /// A region's folder taken from one request (where one brings it all) gives the keys that
    /// listing it day by day gives: the window's days, nothing of another region or depth.
    #[test]
    fn a_folder_in_one_request_or_day_by_day_gives_the_same_keys() {
        let trail = Trail {
            bucket: "b".into(),
            prefix: None,
            account: ACCOUNT.into(),
            org_id: None,
            name: "t".into(),
            home_region: "us-east-1".into(),
            source_region: "us-east-1".into(),
        };
        let mut keys: Vec<String> = (1..=5)
            .flat_map(|d| [log("us-east-1", d), digest(d)])
            .collect();
        keys.push(log("eu-west-1", 2));
        keys.push(format!(
            "AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2024/01/notes.txt"
        ));
        // 2024-01-02T00:00Z to 2024-01-03T12:00Z: logs of those two days, and the digests
        // delivered from an hour before to three hours after (2024-01-01 to 2024-01-03).
        let window = (1_704_153_600, 1_704_283_200);
        let listed = |store: MemoryStore| {
            for key in &keys {
                store.write(key, b"x", None, WriteMode::Replace).unwrap();
            }
            let found = list_folders(
                &Buckets::new("b", Arc::new(store)),
                &trail,
                window,
                2_000_000_000,
            );
            let found = found.unwrap();
            (found.logs, found.digests)
        };
        let by_day = listed(MemoryStore::new());
        assert_eq!(
            by_day,
            (
                vec![log("us-east-1", 2), log("us-east-1", 3)],
                vec![digest(1), digest(2), digest(3)]
            )
        );
        // Requests that bring every key of a folder, and requests that bring two.
        assert_eq!(listed(MemoryStore::paged(1000)), by_day);
        assert_eq!(listed(MemoryStore::paged(2)), by_day);
    }
}
