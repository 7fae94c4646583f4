//! How a merged run exits: as the unsharded command would have, from every shard's counts.

use std::process::ExitCode;

use trailscan_shards::Run;

use crate::exit_codes;

/// The exit of a merged lookup or export, as one run's: 1 for what made a shard's answer
/// partial, said first when it is `--account-id` or `--region` values that named no folder.
pub(crate) fn merged_exit(run: &Run) -> ExitCode {
    exit_codes::completed(merged_problems(run))
}

/// The problems of every shard (what makes the exit code 1), with a word on stderr for the
/// `--account-id` and `--region` values that named no folder.
pub(crate) fn merged_problems(run: &Run) -> u64 {
    if run.counts.selection_misses > 0 {
        eprintln!("{}", selection_missed(run.counts.selection_misses));
    }
    run.counts.problems()
}

/// What a merge says of `--account-id` and `--region` values that named no folder: each shard
/// said which when it ran.
pub(crate) fn selection_missed(misses: u64) -> String {
    format!("trailscan: {misses} of the --account-id and --region values name no folder of the archive (each shard's output says which, and what the archive holds)")
}
