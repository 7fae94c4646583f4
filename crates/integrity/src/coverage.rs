//! Log files that no digest lists: beyond the AWS CLI, which only checks the files digests
//! name. A log file an attacker added, or one whose digest was deleted (the newest digest of
//! a chain is the easiest to delete: no later digest links to it), shows up here.
//!
//! A log file counts as listed when any digest in its account and region folder lists it,
//! whichever trail wrote the digest, so trails sharing a prefix do not flag each other's
//! files. Files delivered in the last two hours are not expected to be listed yet (digests
//! come hourly).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, PoisonError};

use rayon::prelude::*;
use serde_json::Value;
use trailscan_archive::inflate::{inflate_gzip, DEFAULT_MAX_INFLATED_BYTES};
use trailscan_archive::{joined, StoreError};
use trailscan_layout::key::{parse_key, KeyClass, ObjectKind};
use trailscan_layout::paths::RegionFolder;
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

/// Seconds in a day: the day folders' width.
const DAY: i64 = 86_400;

/// How many days of log files are judged at once: as many as the source lists at once (a
/// long window is hundreds of listings, each a round trip from S3), and at least a week, so
/// that the digest days on either side of a batch are a small part of what it reads.
fn days_at_once(store: &Buckets) -> usize {
    listers(store, usize::MAX).max(8)
}

/// How many listings run at once: the requests the source keeps in flight, or one per core on
/// disk; never more than `folders`.
fn listers(store: &Buckets, folders: usize) -> usize {
    match store.requests_in_flight() {
        0 => rayon::current_num_threads(),
        n => n,
    }
    .clamp(1, folders.max(1))
}

/// The keys of each of `days` (day folders), in the days' order, the folders listed as many
/// at once as [`listers`] allows.
fn list_days(
    store: &Buckets,
    bucket: &str,
    days: &[String],
) -> Result<Vec<Vec<String>>, StoreError> {
    let listers = listers(store, days.len());
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
        running.into_iter().map(joined).collect()
    });
    // Lister `l` listed days l, l + listers, ...: back into the days' order.
    let mut by_day: Vec<Option<Result<Vec<String>, StoreError>>> = Vec::new();
    by_day.resize_with(days.len(), || None);
    for (first, results) in listed.into_iter().enumerate() {
        for (n, result) in results.into_iter().enumerate() {
            by_day[first + n * listers] = Some(result);
        }
    }
    by_day.into_iter().flatten().collect()
}

/// One of the trail's two folders (log files, digests) as the check lists it: whole, where one
/// request brought every key (from S3, a quiet region: a month of a small trail, the hourly
/// digests of a month), instead of a request per day; else day by day.
struct DayFolders<'t> {
    folder: RegionFolder<'t>,
    /// The keys by day folder (`FOLDER/YYYY/MM/DD/`), each day taken out once it is read.
    whole: Option<HashMap<String, Vec<String>>>,
}

impl<'t> DayFolders<'t> {
    fn open(store: &Buckets, bucket: &str, folder: RegionFolder<'t>) -> Result<Self, StoreError> {
        let key = folder.key();
        let whole = store
            .list_all_below(bucket, &format!("{key}/"))?
            .map(|all| {
                let mut by_day: HashMap<String, Vec<String>> = HashMap::new();
                for k in all {
                    by_day
                        .entry(day_folder(&k, &key).to_string())
                        .or_default()
                        .push(k);
                }
                by_day
            });
        Ok(DayFolders { folder, whole })
    }
}

/// The keys of each `(folder, day)` of `wanted` (a folder of `folders`, a day number), in
/// `wanted`'s order: from the whole folders where they were brought whole, the rest listed
/// at once.
fn keys_of_days(
    store: &Buckets,
    bucket: &str,
    folders: &mut [DayFolders<'_>],
    wanted: &[(usize, i64)],
) -> Result<Vec<Vec<String>>, StoreError> {
    let prefixes: Vec<String> = wanted
        .iter()
        .map(|&(f, day)| folders[f].folder.day_prefix(day * DAY))
        .collect();
    let to_list: Vec<String> = wanted
        .iter()
        .zip(&prefixes)
        .filter(|((f, _), _)| folders[*f].whole.is_none())
        .map(|(_, prefix)| prefix.clone())
        .collect();
    let mut listed = list_days(store, bucket, &to_list)?.into_iter();
    Ok(wanted
        .iter()
        .zip(prefixes)
        .map(|(&(f, _), prefix)| match &mut folders[f].whole {
            Some(by_day) => by_day.remove(&prefix).unwrap_or_default(),
            None => listed.next().unwrap_or_default(),
        })
        .collect())
}

/// `FOLDER/YYYY/MM/DD/` of a key below `folder` (as [`RegionFolder::day_prefix`] writes it;
/// the whole key when it is not that deep).
///
/// [`RegionFolder::day_prefix`]: trailscan_layout::paths::RegionFolder::day_prefix
fn day_folder<'k>(key: &'k str, folder: &str) -> &'k str {
    let day = folder.len() + "/YYYY/MM/DD/".len();
    key.get(..day).unwrap_or(key)
}
/// How many of the walk's digests [`Walked`] keeps for the check at most: a year of a region's
/// hourly digests, a few MB; past it, the check reads the digests itself.
const WALKED_KEPT: usize = 8_760;

/// The digests the walk verified, offered to the coverage check so that it need not read them
/// again (from S3, a GET each): its end and the log files it lists, by key, each taken once.
/// Bounded: a walk that runs far ahead of the check offers no more until the check takes some.
#[derive(Default)]
pub struct Walked(Mutex<HashMap<String, (i64, Vec<String>)>>);

impl Walked {
    /// Offers a digest the walk found valid in the trail's own bucket. One with an entry that
    /// does not name its object, bucket and hash is not kept: the check reads its `logFiles`
    /// itself, where an entry that names only its object still lists it.
    pub fn offer(&self, digest: &ValidDigest) {
        let listed: Option<Vec<String>> = (digest.logs.iter())
            .map(|log| log.as_ref().map(|l| l.key.clone()))
            .collect();
        let Some(listed) = listed else { return };
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.len() < WALKED_KEPT {
            kept.insert(digest.key.clone(), (digest.end, listed));
        }
    }

    fn take(&self, key: &str) -> Option<(i64, Vec<String>)> {
        (self.0.lock().unwrap_or_else(PoisonError::into_inner)).remove(key)
    }
}

/// What the digests of one day folder list: the log files, and the newest end among them.
#[derive(Default)]
struct DayDigests {
    listed: HashSet<String>,
    newest_end: Option<i64>,
}

impl DayDigests {
    /// Reads the digests (any trail's) among the keys of each day folder of `days`, all on
    /// every core at once. A digest that is gone, or cannot be inflated or parsed, lists
    /// nothing: its log files are then reported as not listed, which is the finding to make
    /// (its own trail's walk reports the digest itself). One that cannot be read (the network,
    /// permissions) is the check's failure, as a folder that cannot be listed is: never a
    /// finding about files it may well list.
    fn read(
        store: &Buckets,
        bucket: &str,
        walked: &Walked,
        days: Vec<(i64, Vec<String>)>,
    ) -> Result<Vec<(i64, Self)>, StoreError> {
        let keys: Vec<(usize, String)> = days
            .iter()
            .enumerate()
            .flat_map(|(n, (_, keys))| keys.iter().map(move |k| (n, k)))
            .filter(|(_, key)| {
                matches!(parse_key(key), KeyClass::CloudTrail(k) if k.kind == ObjectKind::Digest)
            })
            .map(|(n, key)| (n, key.clone()))
            .collect();
        let read: Vec<(usize, Option<i64>, Vec<String>)> = keys
            .into_par_iter()
            .map(|(n, key)| {
                if let Some((end, listed)) = walked.take(&key) {
                    return Ok((n, Some(end), listed));
                }
                let fetched = match store.get(bucket, &key) {
                    Ok(fetched) => fetched,
                    Err(e) if e.is_not_found() => return Ok((n, None, Vec::new())),
                    Err(e) => return Err(e),
                };
                let mut inflated = Vec::new();
                let doc = inflate_gzip(&fetched.body, &mut inflated, DEFAULT_MAX_INFLATED_BYTES)
                    .ok()
                    .and_then(|_| serde_json::from_slice::<Value>(&inflated).ok());
                let Some(Value::Object(doc)) = doc else {
                    return Ok((n, None, Vec::new()));
                };
                let end = doc
                    .get("digestEndTime")
                    .and_then(Value::as_str)
                    .and_then(parse_rfc3339)
                    .map(|(s, _)| s);
                Ok((n, end, listed_objects(&doc)))
            })
            .collect::<Result<_, StoreError>>()?;
        let mut by_day: Vec<(i64, DayDigests)> = days
            .into_iter()
            .map(|(day, _)| (day, DayDigests::default()))
            .collect();
        for (n, end, files) in read {
            let day = &mut by_day[n].1;
            day.newest_end = day.newest_end.max(end);
            day.listed.extend(files);
        }
        Ok(by_day)
    }
}

/// When a log file key was delivered, if it is a log file's.
fn log_delivered(key: &str) -> Option<i64> {
    match parse_key(key) {
        KeyClass::CloudTrail(k) if k.kind == ObjectKind::Log => Some(k.delivered_at),
        _ => None,
    }
}

/// Log files of the trail's folder delivered in `[start, end]` (and not in the last two hours
/// before `now`) that no digest of the folder lists, in key order.
///
/// A day's log files are compared with the digests delivered from the day before to the day
/// after (a digest lists the files of the hour before it), then both are let go: the check
/// holds a few days of listings, however long the window. Days go newest first, a batch of
/// [`days_at_once`] at a time, the digest days already read kept for the next batch.
pub fn unlisted_logs(
    store: &Buckets,
    trail: &Trail,
    (start, end): (i64, i64),
    now: i64,
    walked: &Walked,
) -> Result<Vec<Unlisted>, StoreError> {
    let until = end.min(now - DIGEST_DELAY_SECS);
    if until < start {
        return Ok(Vec::new());
    }
    let bucket = &trail.bucket;
    const LOGS: usize = 0;
    const DIGESTS: usize = 1;
    let mut folders = [
        DayFolders::open(store, bucket, trail.folder(ObjectKind::Log))?,
        DayFolders::open(store, bucket, trail.folder(ObjectKind::Digest))?,
    ];
    // Digests delivered from an hour before the window to three hours after it.
    let digest_days = (start - 3600).div_euclid(DAY)..=(until + 3 * 3600).div_euclid(DAY);
    let log_days: Vec<i64> = (start.div_euclid(DAY)..=until.div_euclid(DAY))
        .rev()
        .collect();
    let mut digests: BTreeMap<i64, DayDigests> = BTreeMap::new();
    let mut newest_end: Option<i64> = None;
    let mut found: Vec<(String, i64)> = Vec::new();
    for days in log_days.chunks(days_at_once(store)) {
        let (newest, oldest) = (days[0], days[days.len() - 1]);
        // The digest days of newer batches that this one does not need.
        digests.retain(|&day, _| day <= newest + 1);
        let mut wanted: Vec<(usize, i64)> = (oldest - 1..=newest + 1)
            .filter(|day| digest_days.contains(day) && !digests.contains_key(day))
            .map(|day| (DIGESTS, day))
            .collect();
        wanted.extend(days.iter().map(|&day| (LOGS, day)));
        let keys = keys_of_days(store, bucket, &mut folders, &wanted)?;
        let (digest_keys, log_keys): (Vec<_>, Vec<_>) = wanted
            .into_iter()
            .zip(keys)
            .partition(|((folder, _), _)| *folder == DIGESTS);
        let digest_keys = digest_keys.into_iter().map(|((_, day), k)| (day, k));
        for (day, read) in DayDigests::read(store, bucket, walked, digest_keys.collect())? {
            newest_end = newest_end.max(read.newest_end);
            digests.insert(day, read);
        }
        for ((_, day), keys) in log_keys {
            let near: Vec<&DayDigests> = (day - 1..=day + 1)
                .filter_map(|d| digests.get(&d))
                .collect();
            for key in keys {
                let Some(delivered) = log_delivered(&key) else {
                    continue;
                };
                if (start..=until).contains(&delivered)
                    && !near.iter().any(|d| d.listed.contains(&key))
                {
                    found.push((key, delivered));
                }
            }
        }
    }
    found.sort_unstable();
    Ok(found
        .into_iter()
        .map(|(key, delivered)| Unlisted {
            bucket: bucket.clone(),
            key,
            after_newest_digest: newest_end.filter(|&newest| delivered > newest),
        })
        .collect())
}

/// `unlisted` without the log files delivered in one of the `excused` intervals (the hours of
/// digests already reported INVALID or missing: those files are that digest's finding).
pub fn excuse(unlisted: Vec<Unlisted>, excused: &[(i64, i64)]) -> Vec<Unlisted> {
    unlisted
        .into_iter()
        .filter(|u| {
            let delivered = log_delivered(&u.key).unwrap_or_default();
            !excused.iter().any(|(a, b)| (*a..=*b).contains(&delivered))
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

    fn gzip(text: &str) -> Vec<u8> {
        use std::io::Write as _;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text.as_bytes()).unwrap();
        gz.finish().unwrap()
    }

    /// The log files of a window that no digest lists are the same whether a region's folders
    /// come in one request (where one brings them all) or day by day: the window's days only,
    /// nothing of another region or depth, a file listed by the next day's digest is listed,
    /// and a file delivered after the newest digest says so.
    #[test]
    fn the_files_no_digest_lists_however_the_folders_are_listed() {
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
            .flat_map(|d| [log("us-east-1", d), log("eu-west-1", d)])
            .collect();
        keys.push(format!(
            "AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2024/01/notes.txt"
        ));
        // The digests of days 1, 2, 4 and 5 cannot be read (they list nothing); day 3's lists
        // day 2's log file and ends before day 3's was delivered.
        let listing_day_2 = format!(
            r#"{{"digestEndTime": "2024-01-03T00:30:00Z", "logFiles": [{{"s3Bucket": "b", "s3Object": "{}"}}]}}"#,
            log("us-east-1", 2)
        );
        // 2024-01-02T00:00Z to 2024-01-03T12:00Z: logs of those two days, and the digests
        // delivered from an hour before to three hours after (2024-01-01 to 2024-01-03).
        let window = (1_704_153_600, 1_704_283_200);
        let unlisted = |store: MemoryStore| {
            for key in &keys {
                store.write(key, b"x", None, WriteMode::Replace).unwrap();
            }
            for day in 1..=5 {
                let body = match day {
                    3 => gzip(&listing_day_2),
                    _ => b"x".to_vec(),
                };
                store
                    .write(&digest(day), &body, None, WriteMode::Replace)
                    .unwrap();
            }
            let buckets = Buckets::new("b", Arc::new(store));
            unlisted_logs(&buckets, &trail, window, 2_000_000_000, &Walked::default()).unwrap()
        };
        let by_day = unlisted(MemoryStore::new());
        assert_eq!(
            by_day,
            vec![Unlisted {
                bucket: "b".into(),
                key: log("us-east-1", 3),
                after_newest_digest: Some(1_704_241_800),
            }]
        );
        // Requests that bring every key of a folder, and requests that bring two.
        assert_eq!(unlisted(MemoryStore::paged(1000)), by_day);
        assert_eq!(unlisted(MemoryStore::paged(2)), by_day);
        // The hour of an INVALID digest excuses its files.
        assert_eq!(
            excuse(by_day, &[(1_704_243_600 - 60, 1_704_243_600 + 60)]),
            vec![]
        );
        // A digest the walk offers is taken as the walk read it, not read again: here its
        // `logFiles` name day 3's file, and day 2's is the one no digest lists.
        let walked = Walked::default();
        let logs = [log("us-east-1", 3)].map(|key| {
            Some(crate::digest_body::LogRef {
                bucket: "b".into(),
                key,
                hash: "0".repeat(64),
            })
        });
        walked.offer(&ValidDigest {
            bucket: "b".into(),
            key: digest(3),
            start: 0,
            end: 1_704_241_800,
            sha256: String::new(),
            logs: logs.to_vec(),
        });
        let store = MemoryStore::new();
        for key in keys.iter().chain([&digest(3)]) {
            store.write(key, b"x", None, WriteMode::Replace).unwrap();
        }
        let buckets = Buckets::new("b", Arc::new(store));
        let found = unlisted_logs(&buckets, &trail, window, 2_000_000_000, &walked).unwrap();
        assert_eq!(
            found.iter().map(|u| u.key.as_str()).collect::<Vec<_>>(),
            [log("us-east-1", 2)]
        );
    }
}
