//! `trailscan acquire s3://bucket[/prefix] DIR`: a forensic copy for offline work.
//!
//! Every CloudTrail object of the window (log, Insights and digest files) is copied in
//! parallel to `DIR/KEY`, so the copy is laid out as the bucket is; each digest's S3 metadata
//! (its signature) goes to the sidecar `KEY.s3meta.json` that validate-logs reads; and
//! `DIR/trailscan-manifest.json` records the size and SHA-256 of every object. Re-running
//! resumes: a file already there with the listed size and the manifest's hash is kept; a file
//! that differs from the object is reported and never overwritten. The source may also be a
//! copy on disk, copied again with its sidecars.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use rayon::prelude::*;
use trailscan_archive::{
    default_threads, list, map_fetched_until, open_archive, LocalFolder, ObjectStore, WriteMode,
};
use trailscan_engine::{selection_misses, worker_pool};
use trailscan_integrity::copy::{copy_fetched, in_the_copy, Outcome};
use trailscan_integrity::manifest::{
    AcquisitionCounts, AcquisitionRun, Manifest, ManifestEntry, MANIFEST_FILE,
};
use trailscan_layout::key::ObjectKind;
use trailscan_layout::printable::printable;
use trailscan_layout::time::{epoch_secs, format_utc};
use trailscan_layout::Selection;

use crate::exit_codes;
use crate::progress::{Meter, Progress};
use crate::settings::AcquireSettings;

/// Threads that hash and write copies by default, at least: a write waits on the disk.
const WRITERS: usize = 16;

/// The manifest of an earlier run, or an empty one. One that does not read is refused: writing
/// a new one over it would drop the hashes of everything copied before.
fn read_manifest(copy: &LocalFolder) -> Result<Manifest> {
    let mut text = Vec::new();
    match copy.read(MANIFEST_FILE, &mut text) {
        Ok(_) => Manifest::parse(&String::from_utf8_lossy(&text)).with_context(|| {
            format!(
                "{}: cannot resume this copy (move the file away to start a new manifest)",
                copy.display_key(MANIFEST_FILE)
            )
        }),
        Err(e) if e.is_not_found() => Ok(Manifest::default()),
        Err(e) => Err(e.into()),
    }
}

/// Runs an acquisition.
pub fn run(settings: &AcquireSettings) -> Result<ExitCode> {
    let started = std::time::SystemTime::now();
    let source = open_archive(&settings.source, &settings.s3)?;
    let mut copy = LocalFolder::create(&settings.dir)?;
    if let Some(bucket) = source.bucket() {
        copy = copy.recording_bucket(bucket);
    }
    let mut manifest = read_manifest(&copy)?;
    manifest.source = source.name().to_string();
    let progress = Progress::on_stderr(settings.no_progress, false);
    progress.listing(source.name());
    let selection = |kind| Selection {
        kind,
        accounts: settings.accounts.clone(),
        regions: settings.regions.clone(),
        start: settings.start,
        end: settings.end,
        ..Selection::default()
    };
    let listing = |kind| list(&*source, &selection(kind));
    // The three kinds' folders are listed at once: from S3, each listing is round trips.
    let listings = std::thread::scope(|scope| {
        let running = [ObjectKind::Log, ObjectKind::Insight, ObjectKind::Digest]
            .map(|kind| scope.spawn(move || listing(kind)));
        running
            .into_iter()
            .map(|r| {
                r.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect::<Result<Vec<_>, _>>()
    })?;
    let mut objects = Vec::new();
    // The accounts and regions each kind's walk came to: an --account-id or --region of none
    // of them is named, with those the source holds.
    let mut seen = trailscan_archive::Listing::default();
    for mut listing in listings {
        for problem in &listing.problems {
            progress.eprintln(format_args!("trailscan: {problem}"));
        }
        seen.take_seen_from(&mut listing);
        objects.extend(listing.objects);
    }
    let misses = selection_misses(&selection(ObjectKind::Log), &seen);
    for miss in &misses {
        progress.eprintln(format_args!("trailscan: {miss}"));
    }
    let listed_bytes = objects.iter().map(|o| o.size).sum();
    progress.start(Meter::Download, objects.len() as u64, listed_bytes);
    // Writing a copy waits on the disk more than on the CPU: more writers than cores.
    let writers = match settings.threads {
        0 => default_threads().max(WRITERS),
        n => n,
    };
    let pool = worker_pool(writers)?;
    let known: BTreeMap<&str, &str> = manifest
        .objects
        .iter()
        .map(|(k, v)| (k.as_str(), v.sha256.as_str()))
        .collect();
    let stop = AtomicBool::new(false);
    // First what the copy already holds (on disk, on all cores), then the rest fetched, as many
    // in flight as the source keeps, and written as each arrives.
    let results = pool.install(|| {
        let held: Vec<Result<Option<ManifestEntry>, Outcome>> = objects
            .par_iter()
            .map(|object| in_the_copy(&copy, object, known.get(object.key.as_str()).copied()))
            .collect();
        let mut results = Vec::with_capacity(objects.len());
        let mut to_fetch = Vec::new();
        for (object, held) in objects.iter().zip(held) {
            match held {
                Err(outcome) => {
                    progress.object_done(object.size, 0, 0);
                    results.push((object.key.clone(), outcome));
                }
                Ok(existing) => to_fetch.push((object, existing)),
            }
        }
        let keys: Vec<&str> = to_fetch.iter().map(|(o, _)| o.key.as_str()).collect();
        let requests = source.requests_in_flight();
        let copied = map_fetched_until(&*source, &keys, requests, true, &stop, |i, fetched| {
            let (object, existing) = &to_fetch[i];
            let outcome = copy_fetched(&copy, object, existing.as_ref(), fetched);
            if matches!(outcome, Outcome::CopyUnwritable(_)) {
                stop.store(true, Ordering::Relaxed);
            }
            progress.object_done(object.size, 0, 0);
            outcome
        });
        for (i, outcome) in copied {
            results.push((to_fetch[i].0.key.clone(), outcome));
        }
        results
    });
    progress.finish();
    let mut results = results;
    results.sort_by(|a, b| a.0.cmp(&b.0));
    let (mut copied, mut bytes, mut present, mut problems, mut refused) = (0, 0, 0, 0, 0);
    let mut unwritable = None;
    for (key, outcome) in results {
        match outcome {
            Outcome::Copied(entry) => {
                copied += 1;
                bytes += entry.size;
                manifest.objects.insert(key, entry);
            }
            Outcome::Present(entry) => {
                present += 1;
                manifest.objects.insert(key, entry);
            }
            Outcome::Differs(message) | Outcome::Failed(message) => {
                problems += 1;
                let line = format!("trailscan: {}: {message}", source.display_key(&key));
                eprintln!("{}", printable(&line));
            }
            Outcome::Refused(message) => {
                refused += 1;
                let line = format!("trailscan: {}: {message}", source.display_key(&key));
                eprintln!("{}", printable(&line));
            }
            Outcome::CopyUnwritable(e) => {
                unwritable.get_or_insert(e);
            }
        }
    }
    manifest.runs.push(AcquisitionRun {
        tool: format!("trailscan {}", env!("TRAILSCAN_VERSION")),
        started: format_utc(epoch_secs(started)),
        finished: format_utc(epoch_secs(std::time::SystemTime::now())),
        source: settings.source.clone(),
        arguments: std::env::args().skip(1).collect(),
        start_time: settings.start.map(format_utc),
        // The end as given (the selection holds it a second later, for fractions).
        end_time: settings.end.map(|e| format_utc(e - 1)),
        accounts: settings.accounts.clone(),
        regions: settings.regions.clone(),
        counts: AcquisitionCounts {
            listed: objects.len() as u64,
            copied,
            present,
            refused,
            problems,
        },
    });
    let text = manifest.to_text();
    let manifest_written = copy.write(MANIFEST_FILE, text.as_bytes(), None, WriteMode::Replace);
    if let Some(e) = unwritable {
        // What was copied stays: each file is whole (written under a staged name, then
        // renamed), and the next run checks it against the object and keeps it.
        let kept = match &manifest_written {
            Ok(()) => format!("in the manifest {}", copy.display_key(MANIFEST_FILE)),
            Err(m) => {
                format!("not in a manifest ({m}); the next run checks them against the objects")
            }
        };
        anyhow::bail!(
            "{e}: the copy stopped; the {} objects copied or present so far are kept, {kept}; run `trailscan acquire` again to resume once the folder can take the rest",
            copied + present
        );
    }
    manifest_written?;
    if !settings.quiet {
        eprintln!(
            "trailscan: {} objects listed in {}: {copied} copied ({:.1} MB), {present} already present, {refused} refused (unsafe keys), {problems} with problems; manifest {}",
            objects.len(),
            source.name(),
            bytes as f64 / 1e6,
            copy.display_key(MANIFEST_FILE)
        );
    }
    Ok(exit_codes::completed(
        problems + refused + misses.len() as u64,
    ))
}
