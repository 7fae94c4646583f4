//! Which records a trace reads next: the rounds of reading that gather a walk's evidence.
//!
//! A walk from a key needs the key's uses and its issuing event, then the issuing event of
//! each key it reaches, then, where a session's issuer is named by no key, the events of the
//! second the session was created (the session tuple). Each round reads only what the walk
//! needs next, so that memory holds the chain, not every issuing event of the archive:
//! 1. the uses of the key (or of every key of the principal), and the key's own issuance;
//! 2. for the keys the walk reached without their issuing event, that event: within 36 hours
//!    before the key's use (a temporary key lives no longer; a long-term key's issuance may
//!    be anywhere in the scan);
//! 3. where a session's issuer is named by no key, the events at the second the session was
//!    created.
//!
//! [`Planner`] decides the rounds from what has been gathered; an [`Executor`] reads them
//! (with an index, only the files that may hold a round's [`Needles`]; without, every file
//! whose delivery time can hold the round's window). Either way the evidence is the same.

use std::collections::{BTreeSet, HashSet, VecDeque};

use trailscan_records::{EventTime, Record};

use crate::evidence::{Evidence, Wanted};
use crate::identity::is_temporary_key;
use crate::trace::{trace, Trace, CLOCK_SLACK_SECS, MAX_TEMPORARY_KEY_LIFE_SECS};

/// Rounds a walk may take: each adds keys or seconds, and a chain has at most a few dozen
/// hops; a guard against forged records that would keep a walk going.
pub const MAX_ROUNDS: usize = 64;

/// What is traced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Traced {
    /// One key.
    Key(String),
    /// Every key a principal used.
    Principal(String),
}

/// An event-time window, both ends included; `None` leaves that end open.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    /// The earliest event time.
    pub start: Option<EventTime>,
    /// The latest event time.
    pub end: Option<EventTime>,
}

impl Window {
    /// Whether `time` is inside.
    pub fn contains(&self, time: EventTime) -> bool {
        self.start.is_none_or(|s| time >= s) && self.end.is_none_or(|e| time <= e)
    }
}

/// What a round keeps of the records it reads.
#[derive(Debug, Clone, Default)]
pub struct Interest {
    /// Issuing events of these keys.
    pub issued: HashSet<String>,
    /// Every issuing event at this second (for the session tuple).
    pub second: Option<i64>,
    /// Every CreateAccessKey (they are few): a long-term key's issuance may be anywhere in
    /// the scan, so the first round, which reads all of it, keeps them all.
    pub long_term: bool,
    /// Uses of these keys, in this window.
    pub uses: Option<(Wanted, Window)>,
}

impl Interest {
    /// Adds to `evidence` what this round keeps of `record`, made at `event_time`, read from
    /// `object_key`.
    pub fn keep(
        &self,
        record: &Record<'_, '_>,
        event_time: EventTime,
        object_key: &str,
        evidence: &mut Evidence,
    ) {
        let at_second = self.second == Some(event_time.secs);
        match record.issued_access_key() {
            Some(issued) => {
                let long_term = self.long_term && !is_temporary_key(issued);
                if long_term || self.issued.contains(issued) || at_second {
                    evidence.add_issuance(record, object_key);
                }
            }
            // A session issued at that second without its key in the response: the tuple's.
            None if at_second => evidence.add_issuance(record, object_key),
            None => {}
        }
        if let Some((wanted, window)) = &self.uses {
            let key = record.access_key_id();
            if window.contains(event_time) && key.is_some_and(|k| wanted.wants(k, record)) {
                evidence.add_use(record);
            }
        }
    }
}

/// Which files and records a round must read, for an executor to turn into index probes
/// and a prefilter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Needles {
    /// Files that may hold the issuance of one of `issued` or a use of one of `used`; a
    /// record naming none of these keys (nor, with `create_access_key`, a CreateAccessKey)
    /// is not parsed, as access keys are written plainly in JSON.
    Keys {
        /// Keys whose issuing events are looked for.
        issued: Vec<String>,
        /// Keys whose uses are looked for.
        used: Vec<String>,
        /// Every CreateAccessKey is kept too.
        create_access_key: bool,
    },
    /// Every file of the window, every record parsed (a principal's uses, whose ARN may be
    /// written with `\/`; a session's second).
    Every,
}

impl Needles {
    /// The text a record must hold to be parsed: `None` for every record.
    pub fn prefilter_needles(&self) -> Option<Vec<&str>> {
        match self {
            Needles::Every => None,
            Needles::Keys {
                issued,
                used,
                create_access_key,
            } => {
                let mut needles: Vec<&str> = Vec::new();
                for key in issued.iter().chain(used) {
                    if !needles.contains(&key.as_str()) {
                        needles.push(key);
                    }
                }
                if *create_access_key {
                    needles.push("CreateAccessKey");
                }
                Some(needles)
            }
        }
    }
}

/// One round: what to read, in which event-time window, and what to keep.
#[derive(Debug, Clone)]
pub struct Round {
    /// The files read are those that can hold events of this window.
    pub window: Window,
    /// What the files and records read must hold.
    pub needles: Needles,
    /// What is kept.
    pub interest: Interest,
}

/// Reads a round: the engine's side, with index probes or a scan.
pub trait Executor {
    /// Why a round could not be read.
    type Error;

    /// Whether a round reads only the files that may hold its needles (with an index). A
    /// round without pruning reads every file of its window, so the first round then keeps
    /// every long-term key's issuance of the whole scan, and later rounds need not look for
    /// them again.
    fn prunes(&self) -> bool;

    /// Reads what `round` asks for and returns what its interest kept.
    fn read(&mut self, round: &Round) -> Result<Evidence, Self::Error>;
}

/// The first round of a trace over `scan`: the uses of `traced` in `uses`, its key's own
/// issuance, and every long-term key's issuance.
pub fn first_round(traced: &Traced, scan: Window, uses: Window) -> Round {
    let (wanted, issued, needles) = match traced {
        Traced::Key(key) => (
            Wanted::Keys(HashSet::from([key.clone()])),
            HashSet::from([key.clone()]),
            Needles::Keys {
                issued: vec![key.clone()],
                used: vec![key.clone()],
                create_access_key: true,
            },
        ),
        // A principal is not an indexed value: its uses are looked for everywhere.
        Traced::Principal(arn) => (
            Wanted::Principal(arn.clone()),
            HashSet::new(),
            Needles::Every,
        ),
    };
    Round {
        window: scan,
        needles,
        interest: Interest {
            issued,
            second: None,
            long_term: true,
            uses: Some((wanted, uses)),
        },
    }
}

/// Decides the rounds after the first until the walks from its keys need nothing more.
pub struct Planner {
    keys: Vec<String>,
    scan: Window,
    /// Keys whose issuances a round already looked for.
    probed: HashSet<String>,
    /// Whether every long-term key's issuance of the scan is already kept.
    long_term_kept: bool,
    /// Session seconds already read.
    seconds: HashSet<i64>,
    /// Rounds decided and not yet handed out (one per session second).
    pending: VecDeque<Round>,
    rounds_left: usize,
}

impl Planner {
    /// A planner for the walks from `keys` over `scan`: `probed` holds the keys whose
    /// issuances were already looked for; `long_term_kept`, that every long-term key's
    /// issuance of the scan was kept.
    pub fn new(
        keys: Vec<String>,
        scan: Window,
        probed: HashSet<String>,
        long_term_kept: bool,
    ) -> Planner {
        Planner {
            keys,
            scan,
            probed,
            long_term_kept,
            seconds: HashSet::new(),
            pending: VecDeque::new(),
            rounds_left: MAX_ROUNDS,
        }
    }

    /// The next round the walks need, given what `evidence` holds (settled here), or `None`
    /// when they need nothing more.
    pub fn next_round(&mut self, evidence: &mut Evidence) -> Option<Round> {
        if let Some(round) = self.pending.pop_front() {
            return Some(round);
        }
        if self.rounds_left == 0 {
            return None;
        }
        self.rounds_left -= 1;
        evidence.settle();
        let traces: Vec<Trace> = self.keys.iter().map(|k| trace(k, evidence)).collect();
        // Keys reached whose issuance was not looked for, with when each was used: a walk
        // goes on from a caller only if it is no person or service.
        let mut needed: Vec<(String, Option<i64>)> = Vec::new();
        for (key, t) in self.keys.iter().zip(&traces) {
            let first_use = evidence.uses.get(key).map(|u| u.first.secs);
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
        needed.retain(|(k, _)| {
            !self.probed.contains(k) && (is_temporary_key(k) || !self.long_term_kept)
        });
        if !needed.is_empty() {
            let issued: HashSet<String> = needed.iter().map(|(k, _)| k.clone()).collect();
            let round = Round {
                window: issuance_window(self.scan, &needed),
                needles: Needles::Keys {
                    issued: issued.iter().cloned().collect(),
                    used: Vec::new(),
                    create_access_key: false,
                },
                interest: Interest {
                    issued: issued.clone(),
                    ..Interest::default()
                },
            };
            self.probed.extend(issued);
            return Some(round);
        }
        // Sessions whose issuer no key names: the second each was created.
        let mut wanted_seconds = BTreeSet::new();
        for (key, t) in self.keys.iter().zip(&traces) {
            if t.origin.complete {
                continue;
            }
            let holder = t
                .hops
                .last()
                .map(|h| &h.issuance.caller)
                .or_else(|| evidence.uses.get(key).map(|u| &u.holder));
            let created = holder
                .and_then(|h| h.creation_date.as_deref())
                .and_then(EventTime::parse);
            if let Some(at) = created.filter(|at| self.seconds.insert(at.secs)) {
                wanted_seconds.insert(at.secs);
            }
        }
        self.pending = wanted_seconds
            .into_iter()
            .map(|second| Round {
                window: Window {
                    start: Some(EventTime {
                        secs: second,
                        nanos: 0,
                    }),
                    end: Some(EventTime {
                        secs: second,
                        nanos: 999_999_999,
                    }),
                },
                needles: Needles::Every,
                interest: Interest {
                    second: Some(second),
                    ..Interest::default()
                },
            })
            .collect();
        self.pending.pop_front()
    }
}

/// Reads rounds with `executor` until `planner` needs nothing more, adding what each kept
/// to `evidence`, which is left settled. Returns the rounds read.
pub fn follow_chains<E: Executor>(
    executor: &mut E,
    planner: &mut Planner,
    evidence: &mut Evidence,
) -> Result<usize, E::Error> {
    let mut rounds = 0;
    while let Some(round) = planner.next_round(evidence) {
        let kept = executor.read(&round)?;
        *evidence = std::mem::take(evidence).merge(kept);
        rounds += 1;
    }
    evidence.settle();
    Ok(rounds)
}

/// A trace gathered: its keys, their evidence, and the rounds read.
#[derive(Debug, Clone)]
pub struct Gathered {
    /// The keys traced: the one given, or every key the principal used, sorted.
    pub keys: Vec<String>,
    /// What the walks need, settled.
    pub evidence: Evidence,
    /// Rounds read, the first included.
    pub rounds: usize,
}

impl Gathered {
    /// The walk from each key.
    pub fn traces(&self) -> Vec<Trace> {
        self.keys.iter().map(|k| trace(k, &self.evidence)).collect()
    }
}

/// Every round of a trace of `traced` over `scan` (uses counted in `uses`), read with
/// `executor`.
pub fn gather<E: Executor>(
    executor: &mut E,
    traced: &Traced,
    scan: Window,
    uses: Window,
) -> Result<Gathered, E::Error> {
    let first = first_round(traced, scan, uses);
    let mut evidence = executor.read(&first)?;
    evidence.searched_from = scan.start;
    let keys: Vec<String> = match traced {
        Traced::Key(key) => vec![key.clone()],
        Traced::Principal(_) => {
            let mut keys: Vec<String> = evidence.uses.keys().cloned().collect();
            keys.sort();
            keys
        }
    };
    // Without pruning the first round read the whole scan, long-term keys' issuances too.
    let long_term_kept = !executor.prunes();
    let mut planner = Planner::new(keys, scan, first.interest.issued, long_term_kept);
    let rounds = 1 + follow_chains(executor, &mut planner, &mut evidence)?;
    Ok(Gathered {
        keys: planner.keys,
        evidence,
        rounds,
    })
}

/// The window where the issuances of `needed` can be, inside the scan: up to 36 hours
/// before each temporary key's use; anywhere before a long-term key's (or an unused key's).
fn issuance_window(scan: Window, needed: &[(String, Option<i64>)]) -> Window {
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
            None => return scan,
        }
    }
    let at = |secs: i64| EventTime { secs, nanos: 0 };
    let clip_start = |s: i64| match scan.start {
        Some(floor) if floor.secs > s => floor,
        _ => at(s),
    };
    Window {
        start: if unbounded_start {
            scan.start
        } else {
            start.map(clip_start)
        },
        end: end.map(|e| at(e + CLOCK_SLACK_SECS)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> EventTime {
        EventTime { secs, nanos: 0 }
    }

    #[test]
    fn a_temporary_keys_issuance_is_looked_for_up_to_36_hours_before_its_use() {
        let scan = Window {
            start: Some(at(0)),
            end: Some(at(1_000_000)),
        };
        let needed = [("ASIAEXAMPLE".to_string(), Some(500_000))];
        let window = issuance_window(scan, &needed);
        assert_eq!(
            window.start,
            Some(at(500_000 - MAX_TEMPORARY_KEY_LIFE_SECS))
        );
        assert_eq!(window.end, Some(at(500_000 + CLOCK_SLACK_SECS)));
        // Clipped to the scan's start, never before it.
        let late = [("ASIAEXAMPLE".to_string(), Some(1_000))];
        assert_eq!(issuance_window(scan, &late).start, Some(at(0)));
        // A long-term key's issuance may be anywhere before its use.
        let long = [("AKIAEXAMPLE".to_string(), Some(500_000))];
        assert_eq!(issuance_window(scan, &long).start, scan.start);
        // An unused key's anywhere in the scan.
        let unused = [("ASIAEXAMPLE".to_string(), None)];
        assert_eq!(issuance_window(scan, &unused), scan);
    }

    #[test]
    fn the_prefilter_names_each_key_once_and_create_access_key_when_asked() {
        let needles = Needles::Keys {
            issued: vec!["AKIA1".into()],
            used: vec!["AKIA1".into(), "ASIA2".into()],
            create_access_key: true,
        };
        assert_eq!(
            needles.prefilter_needles(),
            Some(vec!["AKIA1", "ASIA2", "CreateAccessKey"])
        );
        assert_eq!(Needles::Every.prefilter_needles(), None);
    }

    #[test]
    fn a_planner_with_no_keys_needs_no_round() {
        let mut planner = Planner::new(Vec::new(), Window::default(), HashSet::new(), true);
        assert!(planner.next_round(&mut Evidence::default()).is_none());
    }

    #[test]
    fn a_key_not_yet_probed_gets_a_round_for_its_issuance_then_none() {
        let key = "ASIAQNZGKIQY3ZPOLN4J".to_string();
        let mut planner = Planner::new(vec![key.clone()], Window::default(), HashSet::new(), true);
        let mut evidence = Evidence::default();
        let round = planner.next_round(&mut evidence).expect("a round");
        assert_eq!(round.interest.issued, HashSet::from([key.clone()]));
        assert_eq!(
            round.needles,
            Needles::Keys {
                issued: vec![key],
                used: Vec::new(),
                create_access_key: false
            }
        );
        // Probed now, and no session second is known: nothing more to read.
        assert!(planner.next_round(&mut evidence).is_none());
    }
}
