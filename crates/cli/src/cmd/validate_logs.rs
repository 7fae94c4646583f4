//! `trailscan validate-logs`: the wiring. What validation is lives in `trailscan-integrity`.
//!
//! With `--trail-arn` (parity mode) the output is the AWS CLI's, byte for byte, for the same
//! archive and window. Without it, every digest chain under the source is validated in
//! parallel and printed as the AWS CLI prints one, then the totals. The `--trail-arn` run is
//! in [`parity`].

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use anyhow::{anyhow, bail, Context, Result};
use rayon::prelude::*;
use trailscan_archive::s3::S3Bucket;
use trailscan_archive::{default_threads, list_streaming, open_archive, LocalFolder, ObjectStore};
use trailscan_cloudtrail_api::{region_keys, KeysError};
use trailscan_engine::{selection_misses, worker_pool};
use trailscan_integrity::buckets::Buckets;
use trailscan_integrity::chain::{validate_chain, ChainError, ChainOutput, ChainRun};
use trailscan_integrity::discover::{
    add_chains, chain_name, chain_title, chain_window, infer_bucket, key_windows,
};
use trailscan_integrity::keys::RegionKeys;
use trailscan_integrity::walk::Trail;
use trailscan_layout::key::ObjectKind;
use trailscan_layout::{Selection, ShardPlan};

mod parity;

use super::validate_shard::write_shard;
use super::validate_state::Continued;
use crate::exit_codes::aws_cli_error;
use crate::print::print_all;
use crate::progress::{Meter, Progress};
use crate::settings::ValidateSettings;

/// The source and the run's workers.
struct Validation<'s> {
    settings: &'s ValidateSettings,
    /// When the run started, for the report.
    started: std::time::SystemTime,
    store: Arc<dyn ObjectStore>,
    copies: Vec<(String, Arc<dyn ObjectStore>)>,
    /// Made once the source was first listed: from S3, its size follows the round trip.
    pool: OnceLock<rayon::ThreadPool>,
}

/// Runs a validation.
pub fn run(settings: &ValidateSettings) -> Result<ExitCode> {
    let store: Arc<dyn ObjectStore> = Arc::from(open_archive(&settings.source, &settings.s3)?);
    let mut copies = Vec::new();
    for (bucket, dir) in &settings.bucket_copies {
        let copy = LocalFolder::open(dir).context("--bucket-copy")?;
        copies.push((bucket.clone(), Arc::new(copy) as Arc<dyn ObjectStore>));
    }
    let validation = Validation {
        settings,
        started: std::time::SystemTime::now(),
        store,
        copies,
        pool: OnceLock::new(),
    };
    match &settings.trail_arn {
        Some(arn) => validation.parity(arn),
        None => validation.every_chain(),
    }
}

impl Validation<'_> {
    /// The workers that hash and verify, one per core (`--threads`), and, from S3, as many
    /// as `chains` validated at once so that a chain waiting on an answer holds up no other
    /// (the requests themselves need no thread: see `ObjectStore::read_each`); made on first
    /// use, once the source was listed and its round trip timed.
    fn pool(&self, chains: usize) -> Result<&rayon::ThreadPool> {
        if self.pool.get().is_none() {
            let chains = chains.min(self.store.requests_in_flight());
            let threads = match self.settings.threads {
                0 => default_threads(),
                n => n,
            };
            // Set only here, by the command's own thread.
            let _ = self.pool.set(worker_pool(threads.max(chains))?);
        }
        Ok(self.pool.get().unwrap_or_else(|| unreachable!("set above")))
    }

    /// The buckets a trail delivering to `bucket` is read from.
    fn buckets(&self, bucket: &str) -> Buckets {
        let mut buckets = Buckets::new(bucket, Arc::clone(&self.store));
        for (name, copy) in &self.copies {
            buckets.add(name, Arc::clone(copy));
        }
        buckets
    }

    /// The bucket a trail's digests were delivered to: the source's own, `--s3-bucket` for a
    /// copy, or what the copy says.
    fn bucket_of(&self, trail: &Trail) -> Result<String> {
        match (self.store.bucket(), self.settings.s3_bucket.as_deref()) {
            (Some(bucket), _) | (None, Some(bucket)) => Ok(bucket.to_string()),
            (None, None) => infer_bucket(&*self.store, trail).ok_or_else(|| {
                let name = self.store.name();
                anyhow!("cannot tell which bucket {name} is a copy of: give --s3-bucket")
            }),
        }
    }

    /// The keys for `windows`: see [`region_keys`]; CloudTrail's failure to answer is
    /// fatal as the AWS CLI's is.
    fn keys(&self, windows: &BTreeMap<String, (i64, i64)>) -> Result<RegionKeys> {
        let file = self.settings.public_keys.as_deref();
        region_keys(file, S3Bucket::of(&*self.store), windows).map_err(|e| match e {
            KeysError::Api(_) => aws_cli_error(e.to_string()),
            other => other.into(),
        })
    }

    /// Without `--trail-arn`: every chain (account x region x trail) under the source, in
    /// parallel, each printed as the AWS CLI prints one, then the totals.
    fn every_chain(&self) -> Result<ExitCode> {
        let s = self.settings;
        let selection = Selection {
            kind: ObjectKind::Digest,
            accounts: s.account_ids.clone(),
            regions: s.regions.clone(),
            ..Selection::default()
        };
        let progress = Progress::on_stderr(s.no_progress, false);
        progress.listing(self.store.name());
        // The chains are gathered as the digests are listed, which are not kept.
        let chains = Mutex::new(BTreeMap::new());
        let listing = list_streaming(&*self.store, &selection, &|digests| {
            add_chains(
                &mut chains.lock().unwrap_or_else(PoisonError::into_inner),
                &digests,
            );
            true
        })?;
        // An --account-id or --region the archive has no folder of is named, with those it has.
        let misses = selection_misses(&selection, &listing);
        let chains = chains.into_inner().unwrap_or_else(PoisonError::into_inner);
        let all: Vec<(Trail, i64)> = chains.into_iter().collect();
        if all.is_empty() && misses.is_empty() {
            bail!("no CloudTrail-Digest files under {}: give the bucket the trail delivers to, or a copy of it", self.store.name());
        }
        for miss in &misses {
            progress.eprintln(format_args!("trailscan: {miss}"));
        }
        // A shard still records its (empty) share, so that the merge says what was missed.
        if all.is_empty() && s.shard.is_none() {
            // Every account or region asked for is missing: said above, as other commands say it.
            eprintln!(
                "trailscan: no digest chain to validate under {}",
                self.store.name()
            );
            return Ok(ExitCode::from(1));
        }
        let code = self.chains(&all, misses.len() as u64, &progress)?;
        // The chains found are validated; the run still says it missed what was asked for.
        // A shard's exit says only whether its work was recorded, as every shard's does.
        Ok(
            match misses.is_empty() || code != ExitCode::SUCCESS || s.shard.is_some() {
                true => code,
                false => ExitCode::from(1),
            },
        )
    }

    /// Validates `all`, the chains found, in parallel (or a shard's), and prints and files them;
    /// `misses`, the `--account-id` and `--region` values that named no folder, for a shard's
    /// record.
    fn chains(&self, all: &[(Trail, i64)], misses: u64, progress: &Progress) -> Result<ExitCode> {
        let s = self.settings;
        let names: Vec<String> = all.iter().map(|(t, _)| chain_name(t)).collect();
        let (plan, own) = match &s.shard {
            Some(out) => {
                let (plan, own) = ShardPlan::deal(out.shard, &names);
                (Some(plan), own)
            }
            None => (None, (0..all.len()).collect()),
        };
        // With --state, each chain it records is validated from where the last audit stopped.
        let state = (s.state.as_deref())
            .map(|location| Continued::open(location, &s.s3, s.full))
            .transpose()?;
        if let Some(state) = &state {
            state.check_end(own.iter().map(|&i| names[i].as_str()), s.end)?;
        }
        let since = |i: usize| state.as_ref().and_then(|c| c.since(&names[i]));
        let window_of = |i: usize| {
            let whole = chain_window(s.start, s.end, all[i].1);
            state.as_ref().map_or(whole, |c| c.window(&names[i], whole))
        };
        let windows = key_windows(own.iter().map(|&i| (&all[i].0, window_of(i))));
        let keys = match own.is_empty() {
            true => RegionKeys::PerRegion(Default::default()),
            false => self.keys(&windows)?,
        };
        progress.start(Meter::Chains, 0, own.len() as u64);
        let checked = |n| progress.checked(n);
        let pool = self.pool(own.len())?;
        // Each digest's and log file's verdict, for a report or a shard's record to hold.
        let keep_entries = s.report_run(self.started).is_some() || s.shard.is_some();
        let chains: Vec<Result<ChainOutput>> = pool.install(|| {
            own.par_iter()
                .map(|&index| {
                    let mut trail = all[index].0.clone();
                    trail.bucket = self.bucket_of(&trail)?;
                    let run = ChainRun {
                        buckets: &self.buckets(&trail.bucket),
                        keys: keys.of(&trail.source_region),
                        verbose: s.verbose,
                        now: s.now,
                        pool,
                        checked: &checked,
                        record: keep_entries,
                    };
                    let title = chain_title(&trail);
                    let head = since(index).map(|chain| &chain.head);
                    let chain = validate_chain(&run, index, &trail, &title, window_of(index), head);
                    progress.step_done();
                    chain.map_err(fatal)
                })
                .collect()
        });
        progress.finish();
        let chains = chains.into_iter().collect::<Result<Vec<_>>>()?;
        if let Some(plan) = plan {
            return write_shard(s, self.store.name(), &plan, chains, misses);
        }
        let mut report = s.report_run(self.started);
        let Some(state) = state else {
            return print_all(&chains, self.store.name(), report.as_ref());
        };
        let scope = (&s.account_ids[..], &s.regions[..], self.store.base());
        let print = |recorded| {
            if let Some(report) = &mut report {
                report.state = Some(recorded);
            }
            print_all(&chains, self.store.name(), report.as_ref())
        };
        let run = (all, &chains[..]);
        state.finish(run, scope, (s.end, s.now, s.quiet), print)
    }
}

/// A chain's failure as the run's: the walk's fatal errors as the AWS CLI prints them.
fn fatal(e: ChainError) -> anyhow::Error {
    match e {
        ChainError::Fatal(fatal) => aws_cli_error(fatal.to_string()),
        other => other.into(),
    }
}
