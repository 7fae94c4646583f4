//! A validate-logs shard's output: its chains' results and summary, for `trailscan merge`.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;
use trailscan_archive::open_destination;
use trailscan_integrity::chain::ChainOutput;
use trailscan_layout::ShardPlan;
use trailscan_shards::{Counts, ShardDir, ShardSummary, CHAINS_FILE};

use crate::settings::ValidateSettings;

/// A shard's chains and summary, for `trailscan merge`; `source`, the store's name;
/// `selection_misses`, the `--account-id` and `--region` values that named no folder (the
/// merge exits 1 for them, as one run does).
pub(super) fn write_shard(
    s: &ValidateSettings,
    source: &str,
    plan: &ShardPlan,
    chains: Vec<ChainOutput>,
    selection_misses: u64,
) -> Result<ExitCode> {
    let Some(out) = &s.shard else {
        unreachable!("a plan is made for a shard only");
    };
    let store = Arc::from(open_destination(&out.out, &s.s3)?);
    let dir = ShardDir::prepare(store, &out.run_id, out.shard)?;
    let failed = chains.iter().filter(|c| c.counts.exit_code() != 0).count();
    let arguments = s.arguments.clone();
    let summary = ShardSummary::new(
        "validate-logs",
        arguments,
        source,
        &out.run_id,
        plan,
        Counts {
            selection_misses,
            ..Counts::default()
        },
    );
    let summary = dir.write_results(CHAINS_FILE, chains.iter().map(Ok), summary)?;
    if !s.quiet {
        eprintln!(
        "trailscan: shard {}: {} of {} digest chains validated ({failed} with INVALID files), written to {dir}",
            out.shard,
            chains.len(),
            summary.units_total,
        );
    }
    // The findings are the merge's to report: a batch engine takes a non-zero exit for a
    // failed job and would run it again.
    Ok(ExitCode::SUCCESS)
}
