//! `trailscan index`: build or update the lookup index, or check it (`--verify`).

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use trailscan_engine::{
    gc_index, index_shard, publish_index_run, update_index, verify_index, IndexUpdate,
    IndexVerification, IndexedFiles, RunPublished, RunState, ShardBuild,
};
use trailscan_index::BrokenSeal;
use trailscan_layout::printable::printable;

use crate::exit_codes;
use crate::progress::Progress;
use crate::settings::{IndexSettings, Sharded};

/// Lists the window's log and Insights files, indexes those the index does not hold as they
/// are now, and publishes a new generation; with `--verify`, checks instead.
pub fn run(settings: &IndexSettings) -> Result<ExitCode> {
    let started = Instant::now();
    let source = &settings.source;
    let progress = Progress::on_stderr(source.no_progress, source.quiet);
    if settings.gc {
        let gc = gc_index(&settings.index, &source.options.s3)?;
        if !source.quiet {
            let (files, bytes) = gc.removed;
            eprintln!(
                "trailscan: index {}: removed {files} files ({:.1} MB) that neither generation {} nor the one before it names",
                gc.index_name,
                bytes as f64 / 1e6,
                gc.generation
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    match &settings.sharded {
        Some(Sharded::Publish { run_id }) => {
            let published = publish_index_run(&settings.index, &source.options.s3, run_id)?;
            return Ok(print_published(&published, source.quiet));
        }
        Some(Sharded::Shard { run_id }) => {
            let build = index_shard(
                &source.options,
                &settings.index,
                settings.seal_after_secs,
                run_id,
                source.arguments.clone(),
                &progress,
            )?;
            progress.finish();
            return Ok(print_shard(settings, run_id, &build, started));
        }
        None => {}
    }
    if let Some(sample) = settings.verify {
        let verified = verify_index(&source.options, &settings.index, sample, &progress)?;
        return Ok(print_verification(settings, &verified, &progress));
    }
    let update = update_index(
        &source.options,
        &settings.index,
        settings.seal_after_secs,
        &progress,
    )?;
    progress.finish();
    print_failed(&update.files.failed);
    print_broken_seals(&update.broken_seals);
    if !source.quiet {
        print_update(&update, started);
    }
    // CloudTrail writes each file once: one changed or deleted since indexed is reported
    // with the run's exit status, as a sealed day that changed is.
    let problems = update.files.problems() + update.broken_seals.len();
    Ok(exit_codes::completed(problems as u64))
}

/// Each file that could not be read.
fn print_failed(failed: &[(String, String)]) {
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
fn print_broken_seals(broken_seals: &[(String, BrokenSeal)]) {
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
fn print_shard(
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
fn print_published(published: &RunPublished, quiet: bool) -> ExitCode {
    print_failed(&published.failed);
    for name in &published.changed {
        let line = format!(
            "trailscan: {name}: changed since indexed (size, ETag or modification time); indexed again"
        );
        eprintln!("{}", printable(&line));
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
    exit_codes::completed(published.problems())
}

/// One line on a published run.
fn published_line(published: &RunPublished) -> String {
    let snapshot = &published.snapshot;
    let (objects, events) = snapshot
        .segments
        .iter()
        .fold((0, 0), |t, s| (t.0 + s.objects, t.1 + s.events));
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
fn print_update(update: &IndexUpdate, started: Instant) {
    let snapshot = &update.snapshot;
    let (objects, events, bytes) = snapshot.segments.iter().fold((0, 0, 0), |t, s| {
        (t.0 + s.objects, t.1 + s.events, t.2 + s.bytes)
    });
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
fn print_verification(
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
