//! `validate-logs --state`: the last audit's state read, each chain it names validated from
//! where that audit stopped, and the state written again after the run (each chain advanced
//! only where it validated clean, so that a finding is found again by the next run).

use std::collections::BTreeSet;
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::{json, Value};
use trailscan_archive::digest::sha256_hex;
use trailscan_archive::{key_under, open_destination, ObjectStore, S3Options, WriteMode};
use trailscan_integrity::chain::ChainOutput;
use trailscan_integrity::coverage::DIGEST_DELAY_SECS;
use trailscan_integrity::discover::{chain_name, chain_title};
use trailscan_integrity::state::{ChainState, ValidationState};
use trailscan_integrity::walk::Trail;
use trailscan_layout::printable::printable;
use trailscan_layout::time::format_utc;

use crate::exit_codes::UsageError;

/// Where the state is kept: a file, or an object in S3.
struct StateFile {
    store: Box<dyn ObjectStore>,
    key: String,
    /// As given, for messages.
    name: String,
}

/// The last audit's state, as read.
struct Previous {
    /// What it records.
    pub state: ValidationState,
    /// Its SHA-256, as the last run printed it.
    pub sha256: String,
}

impl StateFile {
    /// The state at `location` (`FILE` or `s3://BUCKET/KEY`); its folder is made if needed.
    pub fn open(location: &str, s3: &S3Options) -> Result<StateFile> {
        let (folder, file) = match location.rsplit_once('/') {
            Some((folder, file)) if !folder.is_empty() && folder != "s3:/" => (folder, file),
            Some(("", file)) => ("/", file),
            _ => (".", location),
        };
        let cannot = || format!("--state {location}");
        let bucket_only = location
            .strip_prefix("s3://")
            .is_some_and(|rest| !rest.trim_end_matches('/').contains('/'));
        if file.is_empty() || bucket_only {
            anyhow::bail!(
                "--state {location}: give a file (or s3://BUCKET/KEY), not a folder or a bucket"
            );
        }
        let store = open_destination(folder, s3).with_context(cannot)?;
        let key = key_under(store.base(), file);
        Ok(StateFile {
            store,
            key,
            name: location.to_string(),
        })
    }

    /// The state, if there is one yet.
    pub fn read(&self) -> Result<Option<Previous>> {
        let mut text = Vec::new();
        match self.store.read(&self.key, &mut text) {
            Ok(_) => {}
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("--state {}", self.name)),
        }
        let state = ValidationState::parse(&text, &self.name).map_err(anyhow::Error::msg)?;
        Ok(Some(Previous {
            state,
            sha256: sha256_hex(&text),
        }))
    }

    /// Writes a state's `text` whole in place of the old one (a new file renamed over it; one
    /// PUT in S3).
    pub fn write(&self, text: &[u8]) -> Result<()> {
        self.store
            .write(&self.key, text, None, WriteMode::Replace)
            .with_context(|| format!("cannot write the state to {}", self.name))
    }

    /// As given.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A validation with `--state`: where the state is, what it held, and whether `--full`
/// ignores it.
pub struct Continued {
    file: StateFile,
    previous: Option<Previous>,
    full: bool,
}

impl Continued {
    /// Reads the state at `location`, if there is one yet. `--full` still reads it: the chains
    /// it does not validate are kept, and those the archive lost still named.
    pub fn open(location: &str, s3: &S3Options, full: bool) -> Result<Continued> {
        let file = StateFile::open(location, s3)?;
        let previous = file.read()?;
        Ok(Continued {
            file,
            previous,
            full,
        })
    }

    /// What the state says of the chain `name`, which this run continues (none with `--full`).
    pub fn since(&self, name: &str) -> Option<&ChainState> {
        let previous = self.previous.as_ref().filter(|_| !self.full)?;
        previous.state.chains.get(name)
    }

    /// Refuses a run that ends before where the state has one of `names` checked through: it
    /// could not reach the chain's head, and would take that for tampering.
    pub fn check_end<'n>(&self, mut names: impl Iterator<Item = &'n str>, end: i64) -> Result<()> {
        match names.find_map(|name| self.since(name).filter(|c| c.checked_through > end)) {
            None => Ok(()),
            Some(chain) => Err(UsageError(format!(
                "--end-time {}: the state has {} checked through {}; a continued run ends later (or give --full)",
                format_utc(end),
                chain.title,
                format_utc(chain.checked_through)
            ))
            .into()),
        }
    }

    /// A chain's window: from where the state says it was checked through (the walk then
    /// takes in the digest it ended with), else the window a whole validation takes.
    pub fn window(&self, name: &str, whole: (i64, i64)) -> (i64, i64) {
        match self.since(name) {
            Some(chain) => (chain.checked_through.min(whole.1), whole.1),
            None => whole,
        }
    }

    /// Ends the run: the next state made from `chains` (see [`next_state`]), `print` given what
    /// the report records of it (it prints the chains and files the reports), then the state
    /// written, last (a run that could not print or file its reports has not advanced it),
    /// then the state's lines. Exits 1 when a chain the state records is gone.
    ///
    /// `scope` is what the run could list: `--account-id`, `--region` and the source's base (a
    /// chain the state records outside it is not gone).
    pub fn finish(
        self,
        (all, chains): (&[(Trail, i64)], &[ChainOutput]),
        (accounts, regions, base): (&[String], &[String], &str),
        (end, now, quiet): (i64, i64, bool),
        print: impl FnOnce(Value) -> Result<ExitCode>,
    ) -> Result<ExitCode> {
        let base = base.trim_end_matches('/');
        let selected = |chain: &ChainState| {
            (accounts.is_empty() || accounts.contains(&chain.account))
                && (regions.is_empty() || regions.contains(&chain.region))
                && (base.is_empty() || chain.head.key.starts_with(&format!("{base}/")))
        };
        let (file, previous) = (&self.file, self.previous.as_ref());
        let outcome = next_state(
            previous.map(|p| &p.state),
            all,
            chains,
            &selected,
            (end, now),
        );
        let text = outcome.state.to_json();
        let written = sha256_hex(&text);
        let read = previous
            .map(|p| json!({"file": file.name(), "sha256": p.sha256, "written": p.state.written}));
        let now = json!({"file": file.name(), "sha256": written});
        let code = print(json!({"read": read, "written": now, "chains_gone": outcome.gone}))?;
        file.write(&text)?;
        print_outcome(file, (previous, &outcome, &written), chains, quiet);
        Ok(match outcome.gone.is_empty() {
            true => code,
            false => ExitCode::from(1),
        })
    }
}

/// What the run did with the state.
struct Outcome {
    /// The state written.
    pub state: ValidationState,
    /// Chains advanced (validated clean).
    pub advanced: usize,
    /// Chains validated and not clean: kept as they were, so that the next run finds it again.
    pub kept: usize,
    /// Chains the state records, of the selection, of which the archive has no digest: named.
    pub gone: Vec<String>,
}

/// The state after a run: `previous` with each chain of `chains` (their trails in `all`, by
/// each output's index) that validated clean advanced to its newest digest, checked through
/// that digest's end, the window's end or two hours before `now` (files may wait that long for
/// their digest), whichever is first.
fn next_state(
    previous: Option<&ValidationState>,
    all: &[(Trail, i64)],
    chains: &[ChainOutput],
    selected: &dyn Fn(&ChainState) -> bool,
    (end, now): (i64, i64),
) -> Outcome {
    let mut state = previous.cloned().unwrap_or_default();
    state.written = format_utc(now);
    let (mut advanced, mut kept) = (0, 0);
    for chain in chains {
        let trail = &all[chain.index].0;
        match (&chain.head, chain.counts.exit_code()) {
            (Some(head), 0) => {
                let checked_through = head.end.min(end).min(now - DIGEST_DELAY_SECS);
                state.chains.insert(
                    chain_name(trail),
                    ChainState {
                        title: chain_title(trail),
                        account: trail.account.clone(),
                        region: trail.source_region.clone(),
                        head: head.clone(),
                        checked_through,
                    },
                );
                advanced += 1;
            }
            _ => kept += 1,
        }
    }
    let present: BTreeSet<String> = all.iter().map(|(t, _)| chain_name(t)).collect();
    let gone = previous
        .map(|p| {
            p.chains
                .iter()
                .filter(|(name, c)| !present.contains(*name) && selected(c))
                .map(|(_, c)| c.title.clone())
                .collect()
        })
        .unwrap_or_default();
    Outcome {
        state,
        advanced,
        kept,
        gone,
    }
}

/// The run's lines about the state, on stderr: what was continued, what was written (with
/// `quiet`, only the chains the state records and the archive lost).
fn print_outcome(
    file: &StateFile,
    (previous, outcome, written_sha256): (Option<&Previous>, &Outcome, &str),
    chains: &[ChainOutput],
    quiet: bool,
) {
    for title in &outcome.gone {
        let line = format!(
            "trailscan: {title}: the state records this chain, and the archive holds no digest of it (deleted, or another source?); it stays in the state"
        );
        eprintln!("{}", printable(&line));
    }
    if quiet {
        return;
    }
    let continued: Vec<_> = chains.iter().filter_map(|c| c.continued.as_ref()).collect();
    if let Some(previous) = previous.filter(|_| !continued.is_empty()) {
        let (digests, logs) = continued
            .iter()
            .fold((0, 0), |t, c| (t.0 + c.new_digests, t.1 + c.new_logs));
        let mismatched = continued.iter().filter(|c| c.mismatch.is_some()).count();
        eprintln!(
            "trailscan: continued from the state of {} ({}, SHA-256 {}): {} chains continued, {digests} new digests and {logs} log files verified; {mismatched} chains do not continue it; {} chains validated whole (new to the state)",
            previous.state.written,
            file.name(),
            previous.sha256,
            continued.len(),
            chains.len() - continued.len(),
        );
    }
    eprintln!(
        "trailscan: state written to {} (SHA-256 {written_sha256}): {} chains advanced, {} with findings kept where they were (the next run checks them again)",
        file.name(),
        outcome.advanced,
        outcome.kept,
    );
}
