//! Building, updating and checking the lookup index over a source: what `trailscan index`
//! runs, as library calls.

use trailscan_archive::{
    list, open_archive, open_destination, ObjectRef, ObjectStore, RequestCounts,
};
use trailscan_index::{
    apply_update, compare_with_digests, deleted_since_indexed, groups_of, index_objects,
    rebuild_and_compare, to_index, BuildOptions, DigestComparison, IndexError, IndexStore,
    Snapshot, Update,
};
use trailscan_layout::key::ObjectKind;
use trailscan_layout::Selection;
use trailscan_records::EventTime;

use crate::report::Reporter;
use crate::source::{report_deleted, worker_pool, SourceOptions};
use crate::Error;

/// How far before the newest indexed delivery an update lists: CloudTrail delivers within
/// minutes, late deliveries within hours; two days leave room for both.
pub const UPDATE_LAG_SECS: i64 = 2 * 86_400;

/// What an update did.
pub struct IndexUpdate {
    /// The index, for messages.
    pub index_name: String,
    /// Log and Insights files listed.
    pub listed: usize,
    /// Of those, indexed now (new or changed since indexed).
    pub indexed: usize,
    /// Of those indexed now, the ones changed since indexed.
    pub changed: usize,
    /// Events in the objects indexed now.
    pub events: u64,
    /// Objects indexed now with a problem a lookup reads and reports.
    pub with_problems: usize,
    /// Listed objects that could not be read (not indexed: lookups read them), by display
    /// name, with why.
    pub failed: Vec<(String, String)>,
    /// Indexed objects no longer listed.
    pub deleted: usize,
    /// Folders that could not be listed.
    pub listing_problems: usize,
    /// The generation now current, and what this update wrote if it published one.
    pub snapshot: Snapshot,
    /// What this update wrote; `None` when the index was already up to date.
    pub update: Option<Update>,
    /// S3 requests made, of the source and of the index, where they are in S3.
    pub requests: Vec<(&'static str, RequestCounts)>,
}

/// What `--verify` found.
pub struct IndexVerification {
    /// The index, for messages.
    pub index_name: String,
    /// The generation checked.
    pub generation: u64,
    /// Objects the index holds for the listing's groups.
    pub indexed: usize,
    /// Objects rebuilt and compared.
    pub compared: usize,
    /// Objects whose rebuilt row differs, by display name, with what differs.
    pub differences: Vec<(String, String)>,
    /// The catalog against the digests' `hashValue`s (keys by display name).
    pub digests: DigestComparison,
}

/// The source and the index opened, the index's current snapshot read, and the log and
/// Insights files of `selection` listed.
struct Opened {
    store: Box<dyn ObjectStore>,
    index_store: Box<dyn ObjectStore>,
    current: Option<Snapshot>,
}

fn open(options: &SourceOptions, location: &str) -> Result<Opened, Error> {
    let store = open_archive(&options.spec, &options.s3)?;
    let index_store =
        open_destination(location, &options.s3).map_err(|source| Error::OpenIndex {
            location: location.to_string(),
            source,
        })?;
    let current = IndexStore::new(&*index_store).current()?;
    if current.is_none() {
        refuse_foreign_files(&*index_store, location)?;
    }
    Ok(Opened {
        store,
        index_store,
        current,
    })
}

/// How to index objects of `store`: with the scan's caps, so that an object a scan would
/// report is catalogued as one a lookup must read.
fn build_options<'a>(store: &'a dyn ObjectStore, options: &SourceOptions) -> BuildOptions<'a> {
    BuildOptions {
        source: store,
        requests_in_flight: store.requests_in_flight(),
        max_inflated_bytes: options.max_inflated_bytes,
        max_record_bytes: options.max_record_bytes,
        progress: None,
    }
}

/// A new index is written only where nothing but an index's own folders is: never among an
/// archive's or another tool's files (`--index` given the source's folder, say), which a
/// later cleanup of the index would take for its own.
fn refuse_foreign_files(store: &dyn ObjectStore, location: &str) -> Result<(), Error> {
    let base = match store.base() {
        "" => String::new(),
        base => format!("{}/", base.trim_end_matches('/')),
    };
    let listing = match store.list_dir(&base) {
        Ok(listing) => listing,
        Err(e) if e.is_not_found() => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    let own = |name: &str| {
        let name = name.strip_prefix(base.as_str()).unwrap_or(name);
        matches!(name.trim_end_matches('/'), "snapshots" | "segments")
    };
    let foreign = listing.folders.iter().any(|f| !own(f)) || !listing.objects.is_empty();
    match foreign {
        true => Err(Error::NotAnIndexFolder(location.to_string())),
        false => Ok(()),
    }
}

/// Lists the log and Insights files of `selection`, sorted by key, and what could not be
/// listed (each reported).
fn list_indexable(
    store: &dyn ObjectStore,
    selection: &Selection,
    reporter: &dyn Reporter,
) -> Result<(Vec<ObjectRef>, usize), Error> {
    reporter.listing(store.name());
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
        return Err(Error::NotAnArchive(store.name().to_string()));
    }
    objects.sort_by(|a, b| a.key.cmp(&b.key));
    for problem in &problems {
        reporter.problem(problem);
    }
    Ok((objects, problems.len()))
}

/// Lists the selection's log and Insights files, indexes those the index at `location`
/// does not hold as they are now, and publishes a new generation (the first, where there is
/// no index yet). Without a start time in the selection, an update lists only what can be
/// new: what was delivered since the newest indexed delivery, less [`UPDATE_LAG_SECS`].
pub fn update_index(
    options: &SourceOptions,
    location: &str,
    reporter: &dyn Reporter,
) -> Result<IndexUpdate, Error> {
    let Opened {
        store,
        index_store,
        current,
    } = open(options, location)?;
    let index = IndexStore::new(&*index_store);
    let mut selection = options.selection.clone();
    let since = current
        .as_ref()
        .filter(|_| selection.start.is_none())
        .and_then(Snapshot::last_delivered_at)
        .map(|last| last.saturating_sub(UPDATE_LAG_SECS));
    if let Some(since) = since {
        selection.start = Some(since);
        reporter.note(&format_args!(
            "updating: listing files delivered since {} (two days before the newest indexed; --start-time lists from further back, such as a new account's history)",
            EventTime::from_secs(since).to_iso()
        ));
    }
    let (listed, listing_problems) = list_indexable(&*store, &selection, reporter)?;
    let current = current.unwrap_or_else(Snapshot::first);
    let groups = groups_of(&listed);
    let requests = index_store.requests_in_flight();
    let catalog = index.load(&current, |s| groups.contains(&s.group()), requests, false)?;
    let to_index = to_index(&catalog, &listed);
    for key in &to_index.changed {
        reporter.problem(&format_args!(
            "{}: changed since indexed (size, ETag or modification time); indexed again",
            store.display_key(key)
        ));
    }
    let found = to_index.found_in(listed.len());
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
    report_deleted(reporter, &*store, &deleted);
    let objects = &to_index.objects;
    reporter.scanning(objects.len() as u64, objects.iter().map(|o| o.size).sum());
    let on_object = |o: &ObjectRef, events: u64| reporter.object_done(o.size, events, 0);
    let build = BuildOptions {
        progress: Some(&on_object),
        ..build_options(&*store, options)
    };
    let pool = worker_pool(options.threads)?;
    let (rows, failed) = pool.install(|| index_objects(objects, &build));
    let with_problems = rows.iter().filter(|r| r.problem.is_some()).count();
    let (indexed, events) = (rows.len(), rows.iter().map(|r| r.events).sum::<u64>());
    let published = match rows.is_empty() {
        true => None,
        false => Some(apply_update(&index, &current, rows, &catalog)?),
    };
    let (snapshot, update) = match published {
        Some((snapshot, update)) => (snapshot, Some(update)),
        None => (current, None),
    };
    let requests = [("source", &*store), ("index", &*index_store)]
        .into_iter()
        .filter_map(|(what, store)| Some((what, store.requests_made()?)))
        .collect();
    Ok(IndexUpdate {
        index_name: index.name().to_string(),
        listed: listed.len(),
        indexed,
        changed: to_index.changed.len(),
        events,
        with_problems,
        failed: failed
            .iter()
            .map(|(o, e)| (store.display_key(&o.key), e.problem.to_string()))
            .collect(),
        deleted: deleted.len(),
        listing_problems,
        snapshot,
        update,
        requests,
    })
}

/// Checks the index at `location` against the source: rebuilds the rows of a `sample`
/// share of the listed, indexed objects and compares them with the index's, and compares
/// the catalog's SHA-256 of inflated bytes with the digests' `hashValue`s.
pub fn verify_index(
    options: &SourceOptions,
    location: &str,
    sample: f64,
    reporter: &dyn Reporter,
) -> Result<IndexVerification, Error> {
    let Opened {
        store,
        index_store,
        current,
    } = open(options, location)?;
    let (listed, _) = list_indexable(&*store, &options.selection, reporter)?;
    let Some(snapshot) = current else {
        return Err(IndexError::NoIndex(location.to_string()).into());
    };
    let index = IndexStore::new(&*index_store);
    let groups = groups_of(&listed);
    let catalog = index.load(
        &snapshot,
        |s| groups.contains(&s.group()),
        store.requests_in_flight(),
        true,
    )?;
    let build = build_options(&*store, options);
    let pool = worker_pool(options.threads)?;
    let compared = pool.install(|| rebuild_and_compare(&catalog, &listed, sample, &build));
    let differences = compared
        .iter()
        .filter_map(|(o, d)| Some((store.display_key(&o.key), d.clone()?)))
        .collect();
    let mut digests = compare_with_digests(&*store, &options.selection, &catalog)?;
    for (key, _, _) in &mut digests.mismatched {
        *key = store.display_key(key);
    }
    Ok(IndexVerification {
        index_name: index.name().to_string(),
        generation: snapshot.generation,
        indexed: catalog.len(),
        compared: compared.len(),
        differences,
        digests,
    })
}
