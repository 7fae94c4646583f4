//! What `trailscan index` prints: an update's, a shard's, a publish's and a check's summaries
//! and problems on stderr, and their exit codes.

use std::process::ExitCode;
use std::time::Instant;

use trailscan_engine::{
    changed_since_indexed, IndexUpdate, IndexVerification, IndexedFiles, RunPublished, RunState,
    ShardBuild,
};
use trailscan_index::BrokenSeal;
use trailscan_layout::printable::printable;

use crate::exit_codes;
use crate::progress::Progress;
use crate::settings::IndexSettings;

/// Each file that could not be read.
pub fn print_failed(failed: &[(String, String)]) {
    for (name, problem) in failed {
        let line = format!(
            "trailscan: {name}: cannot read ({problem}); not indexed: lookups will read it"
        );
        eprintln!("{}", printable(&line));
    }
}

/// What an update or a shard found of the files it listed, and indexed.
fn files_line(files: &IndexedFiles) -> String {
    let (indexed, changed) = (files.indexed, files.changed);
    format!(
        "{indexed} objects indexed ({} events; {} new, {changed} changed since indexed; {} with problems, which lookups read and report), {} already indexed, {} could not be read, {} deleted since indexed",
        files.events,
        indexed - changed.min(indexed),
        files.with_problems,
        files.listed - (indexed + files.failed.len()),
        files.failed.len(),
        files.deleted,
    )
}

/// Each sealed day whose files changed since it was sealed.
pub fn print_broken_seals(broken_seals: &[(String, BrokenSeal)]) {
    for (day, broken) in broken_seals {
        let line = format!(
            "trailscan: {day}: a sealed day whose files changed since it was sealed ({} files then, {} now: added, replaced or deleted since; a delivery later than --seal-after, or tampering: run `trailscan validate-logs`); indexed as it is now",
            broken.then, broken.now
        );
        eprintln!("{}", printable(&line));
    }
}

/// A shard's summary on stderr, and where its run stands. A shard that recorded its work
/// exits 0 whatever problems its files had (each named above; a batch engine would retry a
/// shard that exits non-zero, to no avail): `index --publish` exits with the whole run's. It
/// exits 1 when the run is whole but cannot be published.
pub fn print_shard(
    settings: &IndexSettings,
    run_id: &str,
    build: &ShardBuild,
    started: Instant,
) -> ExitCode {
    print_failed(&build.files.failed);
    let quiet = settings.source.quiet;
    if !quiet {
        eprintln!(
            "trailscan: index {}, shard {} of run {run_id}: {}; {} segments written; {:.3} s",
            build.index_name,
            build.shard,
            files_line(&build.files),
            build.segments_written,
            started.elapsed().as_secs_f64()
        );
        eprintln!("  recorded in {}", build.record);
        for (what, requests) in &build.requests {
            eprintln!("  S3: {what} {requests}");
        }
    }
    let mut problems = 0;
    match &build.run {
        RunState::Waiting(missing) => {
            if !quiet {
                eprintln!(
                    "  the run is published when its other shards finish (the last one publishes it), or by `trailscan index --index {} --publish --run-id {run_id}`; not finished yet: {}",
                    settings.index,
                    missing.join(", ")
                );
            }
        }
        RunState::Published(published) => {
            print_broken_seals(&published.broken_seals);
            if !quiet {
                eprintln!("  {}", published_line(published));
            }
        }
        RunState::Refused(why) => {
            problems += 1;
            eprintln!(
                "{}",
                printable(&format!(
                    "trailscan: every shard finished, but the run cannot be published: {why}"
                ))
            );
        }
    }
    exit_codes::completed(problems)
}

/// What `--publish` did, with every problem of the run's shards named again; the exit code
/// an unsharded update of the same archive would have had.
pub fn print_published(published: &RunPublished, quiet: bool) -> ExitCode {
    print_failed(&published.failed);
    for name in &published.changed {
        eprintln!("trailscan: {}", printable(&changed_since_indexed(name)));
    }
    print_broken_seals(&published.broken_seals);
    if published.units_differ {
        eprintln!(
            "trailscan: the run's shards listed different day folders (one created between their listings): nothing new was sealed, and a day folder no shard took is not indexed; the next `trailscan index` adds and seals them"
        );
    }
    if !quiet {
        eprintln!(
            "trailscan: index {}: {}",
            published.index_name,
            published_line(published)
        );
        eprintln!(
            "  the shards found {} files they could not read, {} folders they could not list, {} files changed and {} deleted since indexed",
            published.failed.len(),
            published.listing_problems,
            published.changed.len(),
            published.removed
        );
    }
    if published.selection_misses > 0 {
        eprintln!(
            "trailscan: index {}: {} of the --account-id and --region values name no folder of the archive (each shard's output says which)",
            published.index_name, published.selection_misses
        );
    }
    exit_codes::completed(published.problems())
}

/// One line on a published run.
fn published_line(published: &RunPublished) -> String {
    let snapshot = &published.snapshot;
    let (objects, events, _) = snapshot.totals();
    let what = match (&published.update, published.earlier) {
        (Some(u), _) => format!(
            "generation {} published: {} segments added ({} groups rewritten), {} rows of deleted files dropped",
            snapshot.generation, u.segments_written, u.groups_merged, published.removed
        ),
        (None, Some(g)) => format!("already published as generation {g}"),
        (None, None) => "nothing new: nothing published".to_string(),
    };
    let (sealed_now, sealed_before) = published.sealed_days;
    format!(
        "run {} ({} shards): {what}; the index holds {objects} object rows ({events} events) in {} segments; sealed days with files: {sealed_now} ({sealed_before} before)",
        published.run_id,
        published.shards,
        snapshot.segments.len(),
    )
}

/// The update's summary on stderr.
pub fn print_update(update: &IndexUpdate, started: Instant) {
    let snapshot = &update.snapshot;
    let (objects, events, bytes) = snapshot.totals();
    let what = match &update.update {
        Some(u) => format!(
            "generation {} published: {} segments written ({} groups merged)",
            snapshot.generation, u.segments_written, u.groups_merged
        ),
        None => "already up to date: nothing published".to_string(),
    };
    eprintln!(
        "trailscan: index {}: {}; {what}",
        update.index_name,
        files_line(&update.files)
    );
    let (sealed_now, sealed_before) = update.sealed_days;
    eprintln!(
        "  sealed days with files: {sealed_now} ({sealed_before} before this update; {} changed since sealed); lookups list only the days after",
        update.broken_seals.len()
    );
    eprintln!(
        "  the index holds {objects} object rows ({events} events) in {} segments, {:.1} MB ({:.1} bytes per event); {:.3} s",
        snapshot.segments.len(),
        bytes as f64 / 1e6,
        bytes as f64 / events.max(1) as f64,
        started.elapsed().as_secs_f64()
    );
    for (what, requests) in &update.requests {
        eprintln!("  S3: {what} {requests}");
    }
}

/// `--verify`'s findings: each difference, then the totals; exit 1 on any difference.
pub fn print_verification(
    settings: &IndexSettings,
    verified: &IndexVerification,
    progress: &Progress,
) -> ExitCode {
    for (name, problem) in &verified.differences {
        progress.eprintln(format_args!(
            "trailscan: {name}: the index differs from the archive: {problem}"
        ));
    }
    let digests = &verified.digests;
    for (name, indexed, hash) in &digests.mismatched {
        progress.eprintln(format_args!(
            "trailscan: {name}: the catalog's SHA-256 {indexed} is not its digest's hashValue {hash}"
        ));
    }
    let differences = verified.differences.len() as u64;
    let mismatched = digests.mismatched.len() as u64;
    // A check that compared nothing proves nothing: no indexed object was sampled and no
    // digest named an indexed one (an index of another source, or of keys under another
    // prefix).
    let nothing = verified.compared == 0 && digests.matched + mismatched == 0;
    if nothing {
        progress.eprintln(format_args!(
            "trailscan: index {}: nothing was compared: no indexed object of the source was rebuilt and no digest names an indexed object (is it the index of this source, at the same bucket and prefix?)",
            verified.index_name
        ));
    }
    if !settings.source.quiet {
        eprintln!(
            "trailscan: index {} (generation {}): {} of {} indexed objects rebuilt and compared, {differences} differ; digests: {} hashValues match the catalog, {mismatched} differ, {} name objects not indexed",
            verified.index_name,
            verified.generation,
            verified.compared,
            verified.indexed,
            digests.matched,
            digests.unlisted,
        );
    }
    exit_codes::completed(differences + mismatched + u64::from(nothing))
}
