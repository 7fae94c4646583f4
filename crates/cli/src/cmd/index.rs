//! `trailscan index`: build or update the lookup index, or check it (`--verify`).

use std::collections::HashSet;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use trailscan_archive::inflate::inflate_gzip;
use trailscan_archive::{
    list, map_fetched, open_archive, open_destination, ObjectRef, ObjectStore,
};
use trailscan_index::{
    apply_update, catalog_entry, deleted_since_indexed, groups_of, index_objects, BuildOptions,
    Catalog, CatalogEntry, Freshness, IndexStore, Snapshot,
};
use trailscan_layout::key::ObjectKind;
use trailscan_layout::Selection;

use crate::exit_codes;
use crate::progress::{Meter, Progress};
use crate::scan::{not_an_archive, report_deleted, worker_pool};
use crate::settings::IndexSettings;

/// How far before the newest indexed delivery an update lists: CloudTrail delivers within
/// minutes, late deliveries within hours; two days leave room for both.
const UPDATE_LAG_SECS: i64 = 2 * 86_400;

/// Lists the window's log and Insights files, indexes those the index does not hold as they
/// are now, and publishes a new generation; with `--verify`, checks instead.
pub fn run(settings: &IndexSettings) -> Result<ExitCode> {
    let started = Instant::now();
    let source = &settings.source;
    let progress = Progress::on_stderr(source.no_progress, source.quiet);
    let store = open_archive(&source.spec, &source.s3)?;
    let index_store = open_destination(&settings.index, &source.s3)
        .with_context(|| format!("cannot open the index {}", settings.index))?;
    let index = IndexStore::new(&*index_store);
    let current = index.current()?;
    // An update lists only what can be new: what was delivered since the newest indexed
    // delivery, less a lag for late deliveries (unless --start-time says where to start).
    let mut selection = source.selection.clone();
    let since = current
        .as_ref()
        .filter(|_| selection.start.is_none() && settings.verify.is_none())
        .and_then(Snapshot::last_delivered_at)
        .map(|last| last - UPDATE_LAG_SECS);
    if let Some(since) = since {
        selection.start = Some(since);
        if !source.quiet {
            progress.eprintln(format_args!(
                "trailscan: updating: listing files delivered since {} (two days before the newest indexed; --start-time lists from further back, such as a new account's history)",
                trailscan_records::EventTime::from_secs(since).to_iso()
            ));
        }
    }
    progress.listing(store.name());
    let (listed, listing_problems) = list_logs_and_insights(&*store, &selection)?;
    for problem in &listing_problems {
        progress.eprintln(format_args!("trailscan: {problem}"));
    }
    if let Some(sample) = settings.verify {
        let Some(snapshot) = current else {
            bail!(trailscan_index::IndexError::NoIndex(settings.index.clone()));
        };
        return verify(
            settings, &*store, &index, &snapshot, &listed, sample, &progress,
        );
    }
    let current = current.unwrap_or_else(Snapshot::first);
    let groups = groups_of(&listed);
    let requests = index_store.requests_in_flight();
    let catalog = index.load(&current, |s| groups.contains(&s.group()), requests, false)?;
    let mut to_index = Vec::new();
    let mut changed = 0u64;
    for object in &listed {
        match catalog.get(&object.key) {
            None => to_index.push(object.clone()),
            Some(entry) if entry.freshness(object) == Freshness::Changed => {
                progress.eprintln(format_args!(
                    "trailscan: {}: changed since indexed (size, ETag or modification time); indexed again",
                    store.display_key(&object.key)
                ));
                changed += 1;
                to_index.push(object.clone());
            }
            Some(_) => {}
        }
    }
    // Every listed object but the new ones is in the catalog.
    let found = listed.len() - (to_index.len() - changed as usize);
    let mut deleted = Vec::new();
    for kind in [ObjectKind::Log, ObjectKind::Insight] {
        let selection = Selection {
            kind,
            ..selection.clone()
        };
        deleted.extend(deleted_since_indexed(
            &catalog,
            &listed,
            found,
            &selection,
            None,
            store.base(),
        ));
    }
    report_deleted(&progress, &*store, &deleted);
    progress.start(
        Meter::Scan,
        to_index.len() as u64,
        to_index.iter().map(|o| o.size).sum(),
    );
    let on_object = |o: &ObjectRef, events: u64| progress.object_done(o.size, events, 0);
    let options = BuildOptions {
        source: &*store,
        requests_in_flight: store.requests_in_flight(),
        max_inflated_bytes: source.max_inflated_bytes,
        max_record_bytes: source.max_record_bytes,
        progress: Some(&on_object),
    };
    let pool = worker_pool(source.threads)?;
    let (rows, failed) = pool.install(|| index_objects(&to_index, &options));
    progress.finish();
    for (object, e) in &failed {
        eprintln!(
            "trailscan: {}: cannot read ({}); not indexed: lookups will read it",
            store.display_key(&object.key),
            e.problem
        );
    }
    let with_problems = rows.iter().filter(|r| r.problem.is_some()).count();
    let (added_rows, added_events) = (rows.len(), rows.iter().map(|r| r.events).sum::<u64>());
    let published = if rows.is_empty() {
        None
    } else {
        Some(apply_update(&index, &current, rows, &catalog)?)
    };
    if !source.quiet {
        let snapshot = published.as_ref().map_or(&current, |(s, _)| s);
        let (objects, events, bytes) = snapshot.segments.iter().fold((0, 0, 0), |t, s| {
            (t.0 + s.objects, t.1 + s.events, t.2 + s.bytes)
        });
        let what = match &published {
            Some((s, u)) => format!(
                "generation {} published: {} segments written ({} groups merged)",
                s.generation, u.segments_written, u.groups_merged
            ),
            None => "already up to date: nothing published".to_string(),
        };
        eprintln!(
            "trailscan: index {}: {added_rows} objects indexed ({added_events} events; {} new, {changed} changed since indexed; {with_problems} with problems, which lookups read and report), {} already indexed, {} could not be read, {} deleted since indexed; {what}",
            index.name(),
            added_rows as u64 - changed.min(added_rows as u64),
            listed.len() - to_index.len(),
            failed.len(),
            deleted.len(),
        );
        eprintln!(
            "  the index holds {objects} object rows ({events} events) in {} segments, {:.1} MB ({:.1} bytes per event); {:.3} s",
            snapshot.segments.len(),
            bytes as f64 / 1e6,
            bytes as f64 / events.max(1) as f64,
            started.elapsed().as_secs_f64()
        );
        for (what, store) in [("source", &*store), ("index", &*index_store)] {
            if let Some(requests) = store.requests_made() {
                eprintln!("  S3: {what} {requests}");
            }
        }
    }
    let problems = failed.len() + listing_problems.len();
    Ok(exit_codes::completed(problems as u64))
}

/// The log and Insights files of the selection, sorted by key, and what could not be listed.
fn list_logs_and_insights(
    store: &dyn ObjectStore,
    selection: &Selection,
) -> Result<(Vec<ObjectRef>, Vec<String>)> {
    let (mut objects, mut problems, mut awslogs) = (Vec::new(), Vec::new(), 0);
    for kind in [ObjectKind::Log, ObjectKind::Insight] {
        let listing = list(
            store,
            &Selection {
                kind,
                ..selection.clone()
            },
        )?;
        awslogs += listing.awslogs_folders;
        objects.extend(listing.objects);
        problems.extend(listing.problems.iter().map(ToString::to_string));
    }
    if awslogs == 0 {
        return Err(not_an_archive(store));
    }
    objects.sort_by(|a, b| a.key.cmp(&b.key));
    Ok((objects, problems))
}

/// `--verify`: rebuilds the rows of a sample of the listed, indexed objects and compares
/// them with the index's; compares the catalog's SHA-256 of inflated bytes with the digests'
/// `hashValue`. Exit 1 on any difference.
fn verify(
    settings: &IndexSettings,
    store: &dyn ObjectStore,
    index: &IndexStore<'_>,
    snapshot: &Snapshot,
    listed: &[ObjectRef],
    sample: f64,
    progress: &Progress,
) -> Result<ExitCode> {
    let source = &settings.source;
    let groups = groups_of(listed);
    let catalog = index.load(
        snapshot,
        |s| groups.contains(&s.group()),
        store.requests_in_flight(),
        true,
    )?;
    // A fixed sample (by key), so that a second run checks the same objects.
    let sampled: Vec<&ObjectRef> = listed
        .iter()
        .filter(|o| catalog.contains(&o.key) && in_sample(&o.key, sample))
        .collect();
    let options = BuildOptions {
        source: store,
        requests_in_flight: store.requests_in_flight(),
        max_inflated_bytes: source.max_inflated_bytes,
        max_record_bytes: source.max_record_bytes,
        progress: None,
    };
    let keys: Vec<&str> = sampled.iter().map(|o| o.key.as_str()).collect();
    let pool = worker_pool(source.threads)?;
    let results = pool.install(|| {
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
                        &catalog_entry(object, &f.body, &options),
                        object,
                    ),
                }
            },
        )
    });
    let mut differences = 0u64;
    for (i, result) in &results {
        if let Some(problem) = result {
            differences += 1;
            progress.eprintln(format_args!(
                "trailscan: {}: the index differs from the archive: {problem}",
                store.display_key(&sampled[*i].key)
            ));
        }
    }
    let (matched, mismatched, unlisted) =
        check_digest_hashes(store, &source.selection, &catalog, progress)?;
    if !source.quiet {
        eprintln!(
            "trailscan: index {} (generation {}): {} of {} indexed objects rebuilt and compared, {differences} differ; digests: {matched} hashValues match the catalog, {mismatched} differ, {unlisted} name objects not indexed",
            index.name(),
            snapshot.generation,
            results.len(),
            catalog.len(),
        );
    }
    Ok(exit_codes::completed(differences + mismatched))
}

/// Whether `key` is in a sample of `share`: by its hash, so the same keys every time.
fn in_sample(key: &str, share: f64) -> bool {
    if share >= 1.0 {
        return true;
    }
    let h = trailscan_index::value_hash(trailscan_records::AttributeKey::EventId, key);
    (h as f64) < share * u64::MAX as f64
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

/// Reads the selection's digest files and compares each `logFiles[].hashValue` with the
/// catalog's SHA-256 of that file's inflated bytes: (equal, different, not in the catalog).
fn check_digest_hashes(
    store: &dyn ObjectStore,
    selection: &Selection,
    catalog: &Catalog,
    progress: &Progress,
) -> Result<(u64, u64, u64)> {
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
            if inflate_gzip(&fetched.body, &mut json, 64 << 20).is_err() {
                return Vec::new();
            }
            digest_log_hashes(&json)
        },
    )
    .into_iter()
    .map(|(_, v)| v)
    .collect();
    let (mut matched, mut mismatched, mut unlisted) = (0, 0, 0);
    let mut seen = HashSet::new();
    for (key, hash) in listed.into_iter().flatten() {
        if !seen.insert((key.clone(), hash.clone())) {
            continue;
        }
        match catalog.get(&key) {
            Some(entry) if !entry.inflated_sha256().is_empty() => {
                let indexed = entry.inflated_sha256();
                if indexed == hash {
                    matched += 1;
                } else {
                    mismatched += 1;
                    progress.eprintln(format_args!(
                        "trailscan: {}: the catalog's SHA-256 {} is not its digest's hashValue {hash}",
                        store.display_key(&key),
                        indexed
                    ));
                }
            }
            _ => unlisted += 1,
        }
    }
    Ok((matched, mismatched, unlisted))
}

/// `(s3Object, hashValue)` of each log file a digest lists.
fn digest_log_hashes(json: &[u8]) -> Vec<(String, String)> {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(json) else {
        return Vec::new();
    };
    let Some(files) = value.get("logFiles").and_then(|v| v.as_array()) else {
        return Vec::new();
    };
    files
        .iter()
        .filter_map(|f| {
            let s = |k: &str| f.get(k).and_then(|v| v.as_str()).map(str::to_string);
            Some((s("s3Object")?, s("hashValue")?))
        })
        .collect()
}
