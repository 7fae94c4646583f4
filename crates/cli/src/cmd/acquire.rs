//! `trailscan acquire s3://bucket[/prefix] DIR`: a forensic copy for offline work.
//!
//! Every CloudTrail object of the window (log, Insights and digest files) is copied in
//! parallel to `DIR/KEY`, so the copy is laid out as the bucket is; each digest's S3 metadata
//! (its signature) goes to the sidecar `KEY.s3meta.json` that validate-logs reads; and
//! `DIR/trailscan-manifest.json` records the size and SHA-256 of every object. Re-running
//! resumes: a file already there with the listed size and the manifest's hash is kept; a file
//! that differs from the object is reported and never overwritten. The source may also be a
//! copy on disk, copied again with its sidecars.
//!
//! Objects are copied as the listing finds them, a batch at a time, and the manifest is
//! written through sorted runs on disk ([`SortedRuns`]): memory holds what is in flight, not
//! the bucket's listing or the manifest. The copying itself is in [`copying`].

use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::sync_channel;

use anyhow::{Context, Result};
use trailscan_archive::{default_threads, open_archive, Listing, LocalFolder, ObjectStore};
use trailscan_engine::{selection_misses, worker_pool};
use trailscan_integrity::manifest::{AcquisitionCounts, AcquisitionRun, Manifest, MANIFEST_FILE};
use trailscan_integrity::manifest_runs::{read_streaming, KnownHashes, SortedRuns};
use trailscan_layout::key::ObjectKind;
use trailscan_layout::time::{epoch_secs, format_utc};
use trailscan_layout::Selection;

mod copying;

use copying::{list_kinds, Copying, Tally};

use crate::exit_codes;
use crate::progress::{Meter, Progress};
use crate::settings::AcquireSettings;

/// Threads that hash and write copies by default, at least: a write waits on the disk.
const WRITERS: usize = 16;

/// Where the manifest's sorted runs wait while a run writes it, inside the copy (never in a
/// temporary folder that may be memory), removed at the end.
const RUNS_DIR: &str = ".trailscan-manifest-runs";

/// The manifest of an earlier run, read an entry at a time into `runs` (to be written again)
/// and `known` (to resume); its source and runs returned, or an empty manifest. One that does
/// not read is refused: writing a new one over it would drop the hashes of everything copied
/// before.
fn read_manifest(
    dir: &Path,
    copy: &LocalFolder,
    runs: &mut SortedRuns,
    known: &mut KnownHashes,
) -> Result<Manifest> {
    let shown = copy.display_key(MANIFEST_FILE);
    let file = match File::open(dir.join(MANIFEST_FILE)) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Manifest::default()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {shown}")),
    };
    let mut kept = Ok(());
    let head = read_streaming(BufReader::new(file), &mut |key, entry| {
        known.insert(&key, &entry);
        if kept.is_ok() {
            kept = runs.push(key, entry);
        }
    })
    .with_context(|| {
        format!("{shown}: cannot resume this copy (move the file away to start a new manifest)")
    })?;
    kept.with_context(|| format!("cannot keep {shown}'s entries in {RUNS_DIR}"))?;
    Ok(head)
}

/// Writes the manifest (`head` and the entries of `runs`) beside the copy's files, under a
/// staged name renamed into place: an interrupted write leaves the last manifest whole.
fn write_manifest(dir: &Path, head: &Manifest, runs: SortedRuns) -> std::io::Result<()> {
    let staged = dir.join(format!(".{MANIFEST_FILE}.partial"));
    let written = File::create(&staged).and_then(|file| {
        runs.write_merged(head, &file)?;
        file.sync_all()?;
        std::fs::rename(&staged, dir.join(MANIFEST_FILE))
    });
    if written.is_err() {
        // Not left to fill a full disk further.
        let _ = std::fs::remove_file(&staged);
    }
    written
}

/// Runs an acquisition.
pub fn run(settings: &AcquireSettings) -> Result<ExitCode> {
    let started = std::time::SystemTime::now();
    // Each object's body is a buffer of its own, kept only until written.
    trailscan_engine::map_buffers_from(32 << 10);
    let source = open_archive(&settings.source, &settings.s3)?;
    let mut copy = LocalFolder::create(&settings.dir)?;
    if let Some(bucket) = source.bucket() {
        copy = copy.recording_bucket(bucket);
    }
    let mut runs = SortedRuns::new(settings.dir.join(RUNS_DIR));
    let mut known = KnownHashes::default();
    let mut manifest = read_manifest(&settings.dir, &copy, &mut runs, &mut known)?;
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
    // Writing a copy waits on the disk more than on the CPU: more writers than cores.
    let writers = match settings.threads {
        0 => default_threads().max(WRITERS),
        n => n,
    };
    let stop = AtomicBool::new(false);
    let copying = Copying {
        source: &*source,
        copy: &copy,
        known: &known,
        pool: &worker_pool(writers)?,
        progress: &progress,
        stop: &stop,
    };
    progress.start(Meter::Download, 0, 0);
    let mut tally = Tally::default();
    // The listing hands over a folder's objects at a time through a short queue; the sender
    // goes with the listing, so the queue ends when the listing does.
    let (deliver, listed) = sync_channel(16);
    let (lister, select) = (&*source, &selection);
    let ((), listings) = trailscan_archive::alongside(
        move || list_kinds(lister, select, &|part| deliver.send(part).is_ok()),
        || copying.all(listed, &mut tally, &mut runs),
    );
    progress.finish();
    // A listing that failed part way leaves copies made: they go into the manifest before
    // the run stops on it.
    let (listings, listing_failed) = match listings {
        Ok(listings) => (listings, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    // The accounts and regions each kind's walk came to: an --account-id or --region of none
    // of them is named, with those the source holds (not of a listing cut short).
    let mut seen = Listing::default();
    for mut listing in listings {
        for problem in &listing.problems {
            progress.eprintln(format_args!("trailscan: {problem}"));
        }
        seen.take_seen_from(&mut listing);
    }
    let whole = listing_failed.is_none() && !stop.load(Ordering::Relaxed);
    let misses = match whole {
        true => selection_misses(&selection(ObjectKind::Log), &seen),
        false => Vec::new(),
    };
    for miss in &misses {
        progress.eprintln(format_args!("trailscan: {miss}"));
    }
    let Tally {
        listed,
        copied,
        bytes,
        present,
        problems,
        refused,
        unwritable,
    } = tally;
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
            listed,
            copied,
            present,
            refused,
            problems,
        },
    });
    let manifest_written = write_manifest(&settings.dir, &manifest, runs);
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
    manifest_written
        .with_context(|| format!("cannot write {}", copy.display_key(MANIFEST_FILE)))?;
    if let Some(e) = listing_failed {
        return Err(anyhow::Error::from(e).context(format!(
            "the listing stopped; the {} objects copied or present so far are in the manifest {}; run `trailscan acquire` again to resume",
            copied + present,
            copy.display_key(MANIFEST_FILE)
        )));
    }
    if !settings.quiet {
        eprintln!(
            "trailscan: {listed} objects listed in {}: {copied} copied ({:.1} MB), {present} already present, {refused} refused (unsafe keys), {problems} with problems; manifest {}",
            source.name(),
            bytes as f64 / 1e6,
            copy.display_key(MANIFEST_FILE)
        );
    }
    Ok(exit_codes::completed(
        problems + refused + misses.len() as u64,
    ))
}
