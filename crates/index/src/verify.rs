//! `index --verify`: the index checked against the archive it describes. A sample of the
//! indexed objects is rebuilt and compared row by row, and every digest's `hashValue` is
//! compared with the catalog's SHA-256 of the inflated bytes (the digest is parsed as
//! validate-logs parses it: [`trailscan_integrity::digest_body`]).

use std::collections::HashSet;

use trailscan_archive::inflate::inflate_gzip;
use trailscan_archive::{list, map_fetched, ObjectRef, ObjectStore, StoreError};
use trailscan_integrity::digest_body::{listed_hashes, parse_digest};
use trailscan_layout::key::ObjectKind;
use trailscan_layout::Selection;
use trailscan_records::AttributeKey;

use crate::build::{catalog_entry, BuildOptions};
use crate::catalog::{Catalog, CatalogEntry, Freshness};
use crate::hash::value_hash;

/// The largest digest body read (they are kilobytes).
const MAX_DIGEST_BYTES: u64 = 64 << 20;

/// Whether `key` is in a sample of `share`: by its hash, so the same keys every time.
fn in_sample(key: &str, share: f64) -> bool {
    if share >= 1.0 {
        return true;
    }
    let h = value_hash(AttributeKey::EventId, key);
    (h as f64) < share * u64::MAX as f64
}

/// Rebuilds the rows of the `listed` objects the catalog holds that fall in a sample of
/// `share` (a fixed sample, by key, so that a second run checks the same objects) and
/// compares them with the catalog's, on the current rayon pool. Returns each object
/// compared, with what differs (`None`: nothing), in the listing's order.
pub fn rebuild_and_compare<'l>(
    catalog: &Catalog,
    listed: &'l [ObjectRef],
    share: f64,
    options: &BuildOptions<'_>,
) -> Vec<(&'l ObjectRef, Option<String>)> {
    let indexed = || listed.iter().filter(|o| catalog.contains(&o.key));
    let mut sampled: Vec<&ObjectRef> = indexed().filter(|o| in_sample(&o.key, share)).collect();
    // A share too small for the archive samples nothing; it still checks one object (the
    // same every time), so that a check never passes having compared nothing.
    if sampled.is_empty() && share > 0.0 {
        sampled.extend(indexed().min_by_key(|o| value_hash(AttributeKey::EventId, &o.key)));
    }
    let keys: Vec<&str> = sampled.iter().map(|o| o.key.as_str()).collect();
    let store = options.source;
    map_fetched(
        store,
        &keys,
        store.requests_in_flight(),
        false,
        |i, fetched| {
            let object = sampled[i];
            let indexed = catalog.get(&object.key).expect("sampled from the catalog");
            match fetched {
                Err(e) => Some(format!("cannot read: {}", e.problem)),
                Ok(f) => difference(
                    &indexed.to_entry(),
                    &catalog_entry(object, &f.body, options),
                    object,
                ),
            }
        },
    )
    .into_iter()
    .map(|(i, result)| (sampled[i], result))
    .collect()
}

/// What differs between the indexed row and the one rebuilt now, if anything.
fn difference(
    indexed: &CatalogEntry,
    rebuilt: &CatalogEntry,
    object: &ObjectRef,
) -> Option<String> {
    if indexed.freshness(object) == Freshness::Changed {
        return Some("changed since indexed (size, ETag or modification time)".into());
    }
    let fields = [
        (
            "SHA-256 of the inflated bytes",
            indexed.inflated_sha256 != rebuilt.inflated_sha256,
        ),
        ("events", indexed.events != rebuilt.events),
        ("event times", indexed.event_micros != rebuilt.event_micros),
        (
            "problem",
            indexed.problem.is_some() != rebuilt.problem.is_some(),
        ),
        ("filter", indexed.filter != rebuilt.filter),
    ];
    let differ: Vec<&str> = fields.iter().filter(|f| f.1).map(|f| f.0).collect();
    (!differ.is_empty()).then(|| differ.join(", "))
}

/// The catalog compared with the digests' `hashValue`s.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DigestComparison {
    /// Log files whose catalog SHA-256 is their digest's `hashValue`.
    pub matched: u64,
    /// Those whose is not: (key, the catalog's SHA-256, the digest's `hashValue`).
    pub mismatched: Vec<(String, String, String)>,
    /// Log files digests list that the catalog does not hold (or holds without a hash).
    pub unlisted: u64,
}

/// Reads the selection's digest files and compares each `logFiles[].hashValue` with the
/// catalog's SHA-256 of that file's inflated bytes. A digest that cannot be read or parsed
/// lists nothing here: validate-logs is where digests are judged.
pub fn compare_with_digests(
    store: &dyn ObjectStore,
    selection: &Selection,
    catalog: &Catalog,
) -> Result<DigestComparison, StoreError> {
    let digests = list(
        store,
        &Selection {
            kind: ObjectKind::Digest,
            ..selection.clone()
        },
    )?;
    let keys: Vec<&str> = digests.objects.iter().map(|o| o.key.as_str()).collect();
    let listed: Vec<Vec<(String, String)>> = map_fetched(
        store,
        &keys,
        store.requests_in_flight(),
        false,
        |_, fetched| {
            let Ok(fetched) = fetched else {
                return Vec::new();
            };
            let mut json = Vec::new();
            if inflate_gzip(&fetched.body, &mut json, MAX_DIGEST_BYTES).is_err() {
                return Vec::new();
            }
            parse_digest(&json)
                .map(|digest| listed_hashes(&digest))
                .unwrap_or_default()
        },
    )
    .into_iter()
    .map(|(_, v)| v)
    .collect();
    let mut comparison = DigestComparison::default();
    let mut seen = HashSet::new();
    for (key, hash) in listed.into_iter().flatten() {
        if !seen.insert((key.clone(), hash.clone())) {
            continue;
        }
        match catalog.get(&key) {
            Some(entry) if !entry.inflated_sha256().is_empty() => {
                let indexed = entry.inflated_sha256();
                if indexed == hash {
                    comparison.matched += 1;
                } else {
                    comparison
                        .mismatched
                        .push((key.clone(), indexed.to_string(), hash));
                }
            }
            _ => comparison.unlisted += 1,
        }
    }
    Ok(comparison)
}
