//! `trailscan trace`: who was behind an access key.
//!
//! Rounds, each reading only what the walk needs next, so that memory holds the chain, not
//! every issuing event of the archive:
//! 1. the uses of the key (or of every key of the principal), and the key's own issuance;
//! 2. for the keys the walk reached without their issuing event, that event: within 36 hours
//!    before the key's use (a temporary key lives no longer; a long-term key's issuance may
//!    be anywhere in the scan);
//! 3. where a session's issuer is named by no key, the events at the second the session was
//!    created (the session tuple).
//!
//! With `--index`, a round reads only the files whose filters may hold the keys (a probe of
//! the used-key and issued-key hashes), or the events of that second; without, the files
//! whose delivery time can hold the round's window. Either way the evidence is the same.

use std::collections::{BTreeSet, HashSet};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use serde_json::json;
use trailscan_attribution::{
    is_temporary_key, trace, Evidence, Trace, Wanted, MAX_TEMPORARY_KEY_LIFE_SECS,
};
use trailscan_index::{issued_key_hash, value_hash, Probes};
use trailscan_query::{LookupRequest, Match, Prefilter, RecordSink, ScanStats};
use trailscan_records::{AttributeKey, EventTime};

use crate::exit_codes;
use crate::print::print_value;
use crate::scan::{IndexUse, OpenScan};
use crate::settings::{TraceSettings, Traced};

/// How far a use may be logged before its key's issuance (two services' clocks).
const CLOCK_SLACK_SECS: i64 = 60;

/// What a round keeps.
struct Interest<'s> {
    /// Issuing events of these keys.
    issued: &'s HashSet<String>,
    /// Every issuing event at this second (for the session tuple).
    second: Option<i64>,
    /// Every CreateAccessKey (they are few): a long-term key's issuance may be anywhere in
    /// the scan, so the first round, which reads all of it, keeps them all.
    long_term: bool,
    /// Uses of these keys, in `window`.
    uses: Option<&'s Wanted>,
    window: &'s LookupRequest,
    /// Text that holds none of these is not parsed (`None`: every record is).
    prefilter: Option<Prefilter>,
}

/// The prefilter of a round that looks for `keys` (and, with `long_term`, every
/// CreateAccessKey): a record it keeps names one of them, as access keys are written plainly
/// in JSON (a `\u` escape makes any text a candidate).
fn key_prefilter<'k>(keys: impl IntoIterator<Item = &'k str>, long_term: bool) -> Prefilter {
    let mut needles: Vec<&[u8]> = keys.into_iter().map(str::as_bytes).collect();
    if long_term {
        needles.push(b"CreateAccessKey");
    }
    Prefilter::any_of(&needles)
}

/// A worker's share of a round.
struct EvidenceSink<'s> {
    evidence: Evidence,
    interest: &'s Interest<'s>,
}

impl RecordSink for EvidenceSink<'_> {
    type Error = std::convert::Infallible;

    fn record(&mut self, m: &Match<'_, '_, '_>) -> Result<bool, Self::Error> {
        let interest = self.interest;
        if let Some(issued) = m.record.issued_access_key() {
            let long_term = interest.long_term && !is_temporary_key(issued);
            if long_term
                || interest.issued.contains(issued)
                || interest.second == Some(m.event_time.secs)
            {
                self.evidence.add_issuance(m.record, &m.object.key);
            }
        }
        if let Some(wanted) = interest.uses {
            let key = m.record.access_key_id();
            if interest.window.wants_time(m.event_time)
                && key.is_some_and(|k| wanted.wants(k, m.record))
            {
                self.evidence.add_use(m.record);
            }
        }
        Ok(true)
    }
}

/// Rounds of reading, and what they cost, for the summary line.
pub struct Gathered {
    /// What the walk needs.
    pub evidence: Evidence,
    /// All rounds' scans.
    pub stats: ScanStats,
    /// The index's part, summed over rounds.
    pub index_use: Option<IndexUse>,
    /// Rounds made.
    pub rounds: usize,
}

impl Gathered {
    fn new() -> Gathered {
        Gathered {
            rounds: 0,
            ..Gathered::from(Evidence::default(), ScanStats::default(), None)
        }
    }

    /// What a first round of the caller's own gathered.
    pub fn from(evidence: Evidence, stats: ScanStats, index_use: Option<IndexUse>) -> Gathered {
        Gathered {
            evidence,
            stats,
            index_use,
            rounds: 1,
        }
    }

    /// Reads the objects of `request`'s window that `probes` leaves (all of them without an
    /// index) and keeps what `interest` asks for.
    fn round(
        &mut self,
        opened: &OpenScan,
        scan: &LookupRequest,
        request: &LookupRequest,
        probes: Probes<'_>,
        interest: &Interest<'_>,
    ) -> Result<()> {
        let (objects, used) = opened.objects_for_round(request, probes);
        if let Some(used) = used {
            self.index_use = Some(match self.index_use {
                None => used,
                Some(mut sum) => {
                    sum.candidates += used.candidates;
                    sum
                }
            });
        }
        let (sink, stats) = opened.scan_prefiltered(
            &objects,
            scan,
            false,
            interest.prefilter.as_ref(),
            || EvidenceSink {
                evidence: Evidence::default(),
                interest,
            },
            |a, b| {
                Ok(EvidenceSink {
                    evidence: a.evidence.merge(b.evidence),
                    ..a
                })
            },
        )?;
        self.stats.add(&stats);
        self.evidence = std::mem::take(&mut self.evidence).merge(sink.evidence);
        self.rounds += 1;
        Ok(())
    }
}

/// The first round: the uses `wanted` asks for in `window` (from the whole scan), the
/// issuances of `issued`, and every long-term key's issuance; with an index, only the files
/// `probes` may hold (the long-term keys' issuances are then probed for as needed).
pub fn first_round(
    opened: &OpenScan,
    scan: &LookupRequest,
    window: &LookupRequest,
    wanted: &Wanted,
    issued: &HashSet<String>,
    probes: Probes<'_>,
    prefilter: Option<Prefilter>,
) -> Result<Gathered> {
    let mut gathered = Gathered::new();
    let interest = Interest {
        issued,
        second: None,
        long_term: true,
        uses: Some(wanted),
        window,
        prefilter,
    };
    gathered.round(opened, scan, scan, probes, &interest)?;
    Ok(gathered)
}

/// Rounds until the walks from `keys` need nothing more: the issuing events of the keys
/// reached, then the session tuples' seconds. `probed` holds the keys whose issuances the
/// first round already kept; `long_term_kept`, that it kept every long-term key's (it read
/// the whole scan).
pub fn follow_chains(
    opened: &OpenScan,
    scan: &LookupRequest,
    keys: &[String],
    mut probed: HashSet<String>,
    long_term_kept: bool,
    gathered: &mut Gathered,
) -> Result<()> {
    let mut seconds = HashSet::new();
    let no_uses_window = LookupRequest::default();
    // Each round adds keys or seconds, and a chain has at most a few dozen hops.
    for _ in 0..64 {
        gathered.evidence.settle();
        let traces: Vec<Trace> = keys.iter().map(|k| trace(k, &gathered.evidence)).collect();
        // Keys reached whose issuance was not looked for, with when each was used: a walk
        // goes on from a caller only if it is no person or service.
        let mut needed: Vec<(String, Option<i64>)> = Vec::new();
        for (key, t) in keys.iter().zip(&traces) {
            let first_use = gathered.evidence.uses.get(key).map(|u| u.first.secs);
            needed.push((key.clone(), first_use));
            for hop in &t.hops {
                let caller = &hop.issuance.caller;
                if caller.is_terminal() {
                    continue;
                }
                if let Some(caller_key) = &caller.access_key_id {
                    needed.push((caller_key.clone(), Some(hop.issuance.event_time.secs)));
                }
            }
        }
        needed.retain(|(k, _)| !probed.contains(k) && (is_temporary_key(k) || !long_term_kept));
        if !needed.is_empty() {
            let issued: HashSet<String> = needed.iter().map(|(k, _)| k.clone()).collect();
            let hashes: Vec<u64> = issued.iter().map(|k| issued_key_hash(k)).collect();
            let request = issuance_window(scan, &needed);
            let interest = Interest {
                issued: &issued,
                second: None,
                long_term: false,
                uses: None,
                window: &no_uses_window,
                prefilter: Some(key_prefilter(issued.iter().map(String::as_str), false)),
            };
            gathered.round(opened, scan, &request, Probes::Any(&hashes), &interest)?;
            probed.extend(issued);
            continue;
        }
        // Sessions whose issuer no key names: the second each was created.
        let mut wanted_seconds = BTreeSet::new();
        for (key, t) in keys.iter().zip(&traces) {
            if t.origin.complete {
                continue;
            }
            let holder = t
                .hops
                .last()
                .map(|h| &h.issuance.caller)
                .or_else(|| gathered.evidence.uses.get(key).map(|u| &u.holder));
            let created = holder
                .and_then(|h| h.creation_date.as_deref())
                .and_then(EventTime::parse);
            if let Some(at) = created.filter(|at| seconds.insert(at.secs)) {
                wanted_seconds.insert(at.secs);
            }
        }
        if wanted_seconds.is_empty() {
            break;
        }
        let nothing = HashSet::new();
        for second in wanted_seconds {
            let request = LookupRequest {
                start: Some(EventTime {
                    secs: second,
                    nanos: 0,
                }),
                end: Some(EventTime {
                    secs: second,
                    nanos: 999_999_999,
                }),
                ..scan.clone()
            };
            let interest = Interest {
                issued: &nothing,
                second: Some(second),
                long_term: false,
                uses: None,
                window: &no_uses_window,
                prefilter: None,
            };
            gathered.round(opened, scan, &request, Probes::All(&[]), &interest)?;
        }
    }
    gathered.evidence.settle();
    Ok(())
}

/// The window where the issuances of `needed` can be, inside the scan: up to 36 hours
/// before each temporary key's use; anywhere before a long-term key's (or an unused key's).
fn issuance_window(scan: &LookupRequest, needed: &[(String, Option<i64>)]) -> LookupRequest {
    let mut start: Option<i64> = None;
    let mut end: Option<i64> = None;
    let mut unbounded_start = false;
    for (key, used) in needed {
        match used {
            Some(t) => {
                end = Some(end.map_or(*t, |e| e.max(*t)));
                if is_temporary_key(key) {
                    let from = t - MAX_TEMPORARY_KEY_LIFE_SECS;
                    start = Some(start.map_or(from, |s| s.min(from)));
                } else {
                    unbounded_start = true;
                }
            }
            None => return scan.clone(),
        }
    }
    let at = |secs: i64| EventTime { secs, nanos: 0 };
    let clip_start = |s: i64| match scan.start {
        Some(floor) if floor.secs > s => floor,
        _ => at(s),
    };
    LookupRequest {
        start: if unbounded_start {
            scan.start
        } else {
            start.map(clip_start)
        },
        end: end.map(|e| at(e + CLOCK_SLACK_SECS)),
        ..scan.clone()
    }
}

/// Runs a trace and prints it.
pub fn run(settings: &TraceSettings) -> Result<ExitCode> {
    let started = Instant::now();
    let opened = OpenScan::open(&settings.source)?;
    let (wanted, issued, hashes) = match &settings.traced {
        Traced::Key(key) => (
            Wanted::Keys(HashSet::from([key.clone()])),
            HashSet::from([key.clone()]),
            vec![
                issued_key_hash(key),
                value_hash(AttributeKey::AccessKeyId, key),
            ],
        ),
        // A principal is not an indexed value: its uses are looked for everywhere.
        Traced::Principal(arn) => (Wanted::Principal(arn.clone()), HashSet::new(), Vec::new()),
    };
    let probes = match hashes.is_empty() {
        true => Probes::All(&[]),
        false => Probes::Any(&hashes),
    };
    // A principal's ARN may be written with `\/`: its records are all parsed.
    let prefilter = match &settings.traced {
        Traced::Key(key) => Some(key_prefilter([key.as_str()], true)),
        Traced::Principal(_) => None,
    };
    let mut gathered = first_round(
        &opened,
        &settings.scan,
        &settings.uses,
        &wanted,
        &issued,
        probes,
        prefilter,
    )?;
    let keys: Vec<String> = match &settings.traced {
        Traced::Key(key) => vec![key.clone()],
        Traced::Principal(_) => {
            let mut keys: Vec<String> = gathered.evidence.uses.keys().cloned().collect();
            keys.sort();
            keys
        }
    };
    // Without an index the first round read the whole scan, long-term keys' issuances too.
    let long_term_kept = gathered.index_use.is_none();
    follow_chains(
        &opened,
        &settings.scan,
        &keys,
        issued,
        long_term_kept,
        &mut gathered,
    )?;
    opened.progress.finish();
    let traces: Vec<Trace> = keys.iter().map(|k| trace(k, &gathered.evidence)).collect();
    summarize(settings, &traces);
    let answer = match &settings.traced {
        Traced::Key(_) => traces[0].to_value(),
        Traced::Principal(arn) => json!({
            "Principal": arn,
            "Traces": traces.iter().map(Trace::to_value).collect::<Vec<_>>(),
        }),
    };
    print_value(&settings.output, "Trace", answer)?;
    let listing = &opened.listing;
    let stats = &gathered.stats;
    if !settings.source.quiet {
        eprintln!(
            "  {} log files listed: {} object reads in {} round(s), {} failed, {} with problems; {} events read; {:.3} s",
            listing.objects.len(),
            stats.objects_read,
            gathered.rounds,
            stats.objects_failed,
            stats.objects_with_problems,
            stats.records_parsed,
            started.elapsed().as_secs_f64()
        );
        opened.eprint_costs(gathered.index_use);
    }
    let problems =
        stats.objects_failed + stats.objects_with_problems + listing.problems.len() as u64;
    Ok(exit_codes::completed(problems))
}

/// One line per key on stderr: how far the chain goes.
fn summarize(settings: &TraceSettings, traces: &[Trace]) {
    if settings.source.quiet {
        return;
    }
    if traces.is_empty() {
        eprintln!("trailscan: the principal used no access key in the window");
    }
    for t in traces {
        let heuristic = t
            .hops
            .iter()
            .filter(|h| h.link != trailscan_attribution::Link::Exact)
            .count();
        eprintln!(
            "trailscan: {}: {} hop(s) ({} heuristic), origin {} {}{}",
            t.access_key,
            t.hops.len(),
            heuristic,
            t.origin.kind.as_deref().unwrap_or("unknown"),
            t.origin.arn.as_deref().unwrap_or(""),
            if t.origin.complete {
                ""
            } else {
                " (incomplete)"
            }
        );
    }
}
