//! Where a sharded index build keeps its shards' records under the index (`runs/RUN-ID/
//! shard-K-of-N/`), and what they name: shared by the build and publish (`index_run`) and by
//! `index --gc` (`indexing`), which must keep what a run's publish needs.

use std::collections::HashSet;

use trailscan_archive::{key_under, ObjectStore};
use trailscan_index::{segment_files, ShardWork};

use crate::Error;

/// The folder under the index where sharded runs record their shards' work.
pub(crate) const RUNS: &str = "runs";
/// A shard's record of its work, beside its `summary.json`.
pub(crate) const WORK_FILE: &str = "index-shard.jsonl";

/// The run's folder under the index.
pub(crate) fn run_folder(run_id: &str) -> String {
    format!("{RUNS}/{run_id}")
}

/// The segment files every shard record under the index's `runs/` names (relative to the
/// index): `index --gc` keeps them, published or not, as a run's publish needs them. A
/// record that does not read is an error: removing what it may name could break its run.
pub(crate) fn segments_of_runs(index_store: &dyn ObjectStore) -> Result<HashSet<String>, Error> {
    let runs = key_under(index_store.base(), &format!("{RUNS}/"));
    let mut kept = HashSet::new();
    let records = index_store.list_keys(&runs, "")?;
    for record in records
        .iter()
        .filter(|o| o.key.ends_with(&format!("/{WORK_FILE}")))
    {
        let mut text = Vec::new();
        index_store.read(&record.key, &mut text)?;
        let works = ShardWork::parse_lines(&text).map_err(|problem| Error::Run {
            run: index_store.display_key(&record.key),
            problem: format!("{problem}: index --gc removes nothing while it is there"),
        })?;
        kept.extend(
            works
                .iter()
                .flat_map(|w| w.segments.iter().flat_map(segment_files)),
        );
    }
    Ok(kept)
}
