//! What the index did for a question, for its summary.

use std::fmt;

use trailscan_index::IndexPlan;

/// What the index did for a lookup, for its summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexUse {
    /// Listed objects the index holds as they are.
    pub via_index: u64,
    /// Of those, the ones read (candidates, or ones a scan reports).
    pub candidates: u64,
    /// Of those via the index, the ones of sealed days: answered from the index, not listed.
    pub sealed: u64,
    /// Index segments of sealed days ruled out by their times or summaries, unread: their
    /// objects are not counted above.
    pub segments_ruled_out: u64,
    /// Listed objects it does not hold.
    pub not_indexed: u64,
    /// Listed objects changed since indexed.
    pub changed: u64,
    /// Indexed objects no longer listed.
    pub deleted: u64,
}

impl IndexUse {
    /// This and `other` (of another source: log files and Insights files) summed.
    pub fn and(self, other: IndexUse) -> IndexUse {
        IndexUse {
            via_index: self.via_index + other.via_index,
            candidates: self.candidates + other.candidates,
            sealed: self.sealed + other.sealed,
            segments_ruled_out: self.segments_ruled_out + other.segments_ruled_out,
            not_indexed: self.not_indexed + other.not_indexed,
            changed: self.changed + other.changed,
            deleted: self.deleted + other.deleted,
        }
    }

    /// What a plan decided, with `deleted` indexed objects no longer listed.
    pub(crate) fn of(planned: &IndexPlan, deleted: u64) -> IndexUse {
        let not_candidates = planned.not_indexed + planned.changed.len() as u64;
        IndexUse {
            via_index: planned.via_index,
            candidates: planned.read.len() as u64 - not_candidates,
            sealed: planned.sealed,
            segments_ruled_out: planned.segments_ruled_out,
            not_indexed: planned.not_indexed,
            changed: planned.changed.len() as u64,
            deleted,
        }
    }

    /// This round's use added to the rounds' before it: the first round's counts, and the
    /// candidates of every round.
    pub(crate) fn and_then(sum: Option<IndexUse>, round: IndexUse) -> IndexUse {
        match sum {
            None => round,
            Some(mut sum) => {
                sum.candidates += round.candidates;
                sum
            }
        }
    }
}

impl fmt::Display for IndexUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "  index: {} objects via the index ({} of them in sealed days, not listed; {} read as candidates), {} not indexed (scanned), {} changed since indexed (re-read), {} deleted since indexed",
            self.via_index, self.sealed, self.candidates, self.not_indexed, self.changed, self.deleted
        )?;
        if self.segments_ruled_out > 0 {
            write!(
                f,
                "; {} index segments of sealed days ruled out unread by their summaries",
                self.segments_ruled_out
            )?;
        }
        Ok(())
    }
}
