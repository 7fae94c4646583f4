//! `trailscan index`: build or update the lookup index, or check it (`--verify`).

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use trailscan_engine::{gc_index, index_shard, publish_index_run, update_index, verify_index};

use super::index_print::{
    print_broken_seals, print_failed, print_published, print_shard, print_update,
    print_verification,
};
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
