//! Finding what to validate in a source: where a trail's `AWSLogs/` is, which bucket a copy
//! is of, and every digest chain (account x region x trail) the source holds, the same way on
//! disk and in S3.

use std::collections::BTreeMap;

use serde_json::Value;
use trailscan_archive::inflate::{inflate_gzip, DEFAULT_MAX_INFLATED_BYTES};
use trailscan_archive::{alongside, ObjectRef, ObjectStore};
use trailscan_layout::key::{is_org_id, ObjectKind};

use crate::aws_cli::partition;
use crate::walk::Trail;

/// How deep below the store's top a trail's `AWSLogs/` is looked for: a trail's key prefix is
/// a few folders at most, and each level searched costs a listing per folder.
const PREFIX_DEPTH: usize = 4;

/// Where a trail's digests are: its key prefix and organization id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrailPlace {
    /// The folders above `AWSLogs/`, if any.
    pub prefix: Option<String>,
    /// The organization id of an organization trail.
    pub org_id: Option<String>,
}

/// The sub-folders of `dir` (each ending in `/`). A folder that cannot be listed holds no
/// candidate here; the walk that follows reports what it cannot find.
fn folders(store: &dyn ObjectStore, dir: &str) -> Vec<String> {
    store.list_dir(dir).map(|l| l.folders).unwrap_or_default()
}

/// Whether `AWSLOGS/[ORG/]ACCOUNT/CloudTrail-Digest/` is there.
fn has_digests(store: &dyn ObjectStore, account_dir: &str) -> bool {
    let digests = format!("{account_dir}{}/", ObjectKind::Digest.folder());
    folders(store, account_dir).contains(&digests)
}

/// The trail's prefix and organization for `account`: the prefix given (else the store's own,
/// a bucket URL's), or the first `AWSLogs/` folder found breadth first (in key order within a
/// level) whose account, directly or in an organization, has digests.
pub fn locate(store: &dyn ObjectStore, account: &str, given_prefix: Option<&str>) -> TrailPlace {
    let base = Some(store.base()).filter(|b| !b.split('/').any(|n| n == "AWSLogs"));
    let given = given_prefix
        .or(base)
        .map(|p| p.trim_matches('/').to_string())
        .filter(|p| !p.is_empty());
    let found_under = |prefix: &Option<String>| -> Option<TrailPlace> {
        let awslogs = match prefix {
            Some(p) => format!("{p}/AWSLogs/"),
            None => "AWSLogs/".to_string(),
        };
        if has_digests(store, &format!("{awslogs}{account}/")) {
            return Some(TrailPlace {
                prefix: prefix.clone(),
                org_id: None,
            });
        }
        folders(store, &awslogs).into_iter().find_map(|folder| {
            let name = folder.strip_prefix(&awslogs)?.strip_suffix('/')?;
            (is_org_id(name) && has_digests(store, &format!("{folder}{account}/"))).then(|| {
                TrailPlace {
                    prefix: prefix.clone(),
                    org_id: Some(name.to_string()),
                }
            })
        })
    };
    if let Some(prefix) = given {
        let prefix = Some(prefix);
        return found_under(&prefix).unwrap_or(TrailPlace {
            prefix,
            org_id: None,
        });
    }
    // The top's AWSLogs/ (where a trail without a prefix delivers) asked about in the same
    // round trip as the top's listing: from S3, each is a round trip.
    let (top, at_top) = alongside(|| found_under(&None), || folders(store, ""));
    let found = |prefix: &Option<String>| match prefix {
        None => at_top.clone(),
        Some(_) => found_under(prefix),
    };
    let mut listed_top = Some(top);
    let mut level = vec![String::new()];
    for _ in 0..PREFIX_DEPTH {
        let mut candidates = Vec::new();
        let mut next = Vec::new();
        for dir in &level {
            let listed = match dir.is_empty() {
                true => listed_top.take().unwrap_or_default(),
                false => folders(store, dir),
            };
            for folder in listed {
                if folder == "AWSLogs/" || folder.ends_with("/AWSLogs/") {
                    let prefix = folder.trim_end_matches("AWSLogs/").trim_end_matches('/');
                    candidates.push(Some(prefix.to_string()).filter(|p| !p.is_empty()));
                } else {
                    next.push(folder);
                }
            }
        }
        candidates.sort();
        if let Some(place) = candidates.iter().find_map(found) {
            return place;
        }
        level = next;
    }
    TrailPlace::default()
}

/// The bucket a copy is of: the newest digest's sidecar says it, else the newest digest names
/// its own bucket (`digestS3Bucket`).
pub fn infer_bucket(store: &dyn ObjectStore, trail: &Trail) -> Option<String> {
    let folder = format!("{}/", trail.folder(ObjectKind::Digest).key());
    // Not listable: no digest to ask, and the caller asks for --s3-bucket.
    let digests = store.list_keys(&folder, "").ok()?;
    let mut body = Vec::new();
    let mut text = Vec::new();
    digests.iter().rev().find_map(|digest| {
        let metadata = match store.read_with_metadata(&digest.key, &mut body) {
            Ok((_, metadata)) => metadata,
            // A sidecar that does not read says nothing; the digest itself still may.
            Err(_) => {
                store.read(&digest.key, &mut body).ok()?;
                None
            }
        };
        if let Some(bucket) = metadata.and_then(|m| m.bucket) {
            return Some(bucket);
        }
        inflate_gzip(&body, &mut text, DEFAULT_MAX_INFLATED_BYTES).ok()?;
        let doc: Value = serde_json::from_slice(&text).ok()?;
        doc.get("digestS3Bucket")?.as_str().map(str::to_string)
    })
}

/// Adds to `chains` the digest chain of each of `digests` (the bucket not known yet), each
/// with the delivery time of its oldest digest: a listing handed over a folder at a time
/// gives every chain, and is never held.
pub fn add_chains(chains: &mut BTreeMap<Trail, i64>, digests: &[ObjectRef]) {
    for object in digests {
        let k = &object.layout;
        let Some(digest) = &k.digest else { continue };
        let trail = Trail {
            bucket: String::new(),
            prefix: Some(k.prefix.clone()).filter(|p| !p.is_empty()),
            account: k.account.clone(),
            org_id: k.org_id.clone(),
            name: digest.trail.clone(),
            home_region: digest.home_region.clone(),
            source_region: k.region.clone(),
        };
        let oldest = chains.entry(trail).or_insert(k.delivered_at);
        *oldest = (*oldest).min(k.delivered_at);
    }
}

/// A chain's name in a shard plan: everything that tells chains apart.
pub fn chain_name(t: &Trail) -> String {
    format!(
        "{} {} {} {} {} {}",
        t.prefix.as_deref().unwrap_or("-"),
        t.org_id.as_deref().unwrap_or("-"),
        t.account,
        t.source_region,
        t.home_region,
        t.name
    )
}

/// How a discovered chain is titled in the AWS CLI's header line: its ARN, and the account
/// and region walked.
pub fn chain_title(t: &Trail) -> String {
    let (home, account, region, name) = (&t.home_region, &t.account, &t.source_region, &t.name);
    format!(
        "arn:{}:cloudtrail:{home}:{account}:trail/{name} (account {account}, region {region})",
        partition(home)
    )
}

/// The window a chain is validated over: `[start, end]`, or, without a start, the whole chain
/// (from two hours before its oldest digest, which covers the hour that digest lists).
pub fn chain_window(start: Option<i64>, end: i64, oldest: i64) -> (i64, i64) {
    (start.unwrap_or(oldest - 2 * 3600), end)
}

/// The time range whose public keys each region's chains need: from the earliest start of
/// its chains' windows to the latest end.
pub fn key_windows<'t>(
    chains: impl IntoIterator<Item = (&'t Trail, (i64, i64))>,
) -> BTreeMap<String, (i64, i64)> {
    let mut windows: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for (trail, (from, to)) in chains {
        let w = windows
            .entry(trail.source_region.clone())
            .or_insert((from, to));
        w.0 = w.0.min(from);
        w.1 = w.1.max(to);
    }
    windows
}

#[cfg(test)]
mod tests {
    use super::*;
    use trailscan_archive::{MemoryStore, WriteMode};

    #[test]
    fn finds_the_prefix_and_organization_of_an_account() {
        let store = MemoryStore::new();
        for key in [
            "logs/main/AWSLogs/o-abcdefghij/111122223333/CloudTrail-Digest/us-east-1/2024/01/01/d.json.gz",
            "logs/main/AWSLogs/o-abcdefghij/444455556666/CloudTrail/us-east-1/2024/01/01/l.json.gz",
            "other/AWSLogs/777788889999/CloudTrail-Digest/us-east-1/2024/01/01/d.json.gz",
        ] {
            store.write(key, b"x", None, WriteMode::Replace).unwrap();
        }
        assert_eq!(
            locate(&store, "111122223333", None),
            TrailPlace {
                prefix: Some("logs/main".into()),
                org_id: Some("o-abcdefghij".into())
            }
        );
        assert_eq!(
            locate(&store, "777788889999", None).prefix.as_deref(),
            Some("other")
        );
        assert_eq!(locate(&store, "444455556666", None), TrailPlace::default());
        assert_eq!(
            locate(&store, "111122223333", Some("logs/main/"))
                .org_id
                .as_deref(),
            Some("o-abcdefghij")
        );
    }
}
