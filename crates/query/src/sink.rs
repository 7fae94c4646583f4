//! The one seam between the scan and whatever consumes matches.

use trailscan_archive::ObjectRef;

use crate::problem::ObjectProblem;
use trailscan_records::{EventTime, Record};

/// A record that passed every filter.
pub struct Match<'a, 't, 'i> {
    /// The object it came from.
    pub object: &'a ObjectRef,
    /// SHA-256 of the object as stored, when the scan was asked to hash objects.
    pub object_sha256: Option<&'a [u8; 32]>,
    /// Its position in the object's `Records` list.
    pub index: usize,
    /// The parsed record.
    pub record: &'a Record<'t, 'i>,
    /// Its parsed `eventTime`.
    pub event_time: EventTime,
    /// Its original JSON text, as in the file; empty for a sink that does not read it
    /// ([`RecordSink::reads_text`]).
    pub text: &'a [u8],
    /// The prefilter's alternatives (a hunt's rules, by position) that the record's text may
    /// match, where the prefilter told them apart ([`crate::Prefilter::alternatives_in`]);
    /// `None`: any.
    pub alternatives: Option<&'a [usize]>,
}

/// Receives matches, push style, one sink per worker thread (so no locking per record).
pub trait RecordSink {
    /// What can go wrong while consuming.
    type Error: Send;
    /// Takes one match; `Ok(false)` stops the scan.
    fn record(&mut self, m: &Match<'_, '_, '_>) -> Result<bool, Self::Error>;

    /// Whether it reads [`Match::text`]. A sink that does not lets the scan parse a file
    /// whole, in one pass, instead of splitting it into records and parsing each (a copy of
    /// each record and a pass of the splitter fewer).
    fn reads_text(&self) -> bool {
        true
    }

    /// An object of the scan could not be read whole (`problem`: not read, not inflated, not
    /// a log file); the problem is reported and counted as well. For a sink whose output must
    /// not stand for an object it lacks (an export replacing what an earlier run wrote).
    fn object_failed(&mut self, _object: &ObjectRef, _problem: &ObjectProblem) {}
}

/// A sink from a closure, for tests and small tools.
pub struct FnSink<F>(pub F);

impl<F: FnMut(&Match<'_, '_, '_>) -> bool> RecordSink for FnSink<F> {
    type Error = std::convert::Infallible;
    fn record(&mut self, m: &Match<'_, '_, '_>) -> Result<bool, Self::Error> {
        Ok((self.0)(m))
    }
}
