//! Which objects a scan needs, decided from keys alone.

use crate::key::{CloudTrailKey, ObjectKind};
use crate::shard::Shard;
use crate::skip::SkipReason;
use crate::time::{days_from_civil, days_in_month};

/// A file named for delivery minute `HH:mm` holds records up to the end of that minute; the
/// five minutes more allow for clock skew between the event's recorder and the deliverer.
/// Records are never newer than their file's delivery ("A log file delivered at a specific
/// time can contain records written at any point before that time", CloudTrail User Guide),
/// so a file delivered more than this before the window's start cannot hold a match.
pub const NEWEST_RECORD_SLACK_SECS: i64 = 60 + 5 * 60;

/// The default delivery margin: files delivered up to this long after the window's end are
/// read too, because their records are older than the file. CloudTrail delivers "within an
/// average of about 5 minutes" (User Guide); an hour covers ordinary delays. Late deliveries
/// (`addendum.reason = DELIVERY_DELAY`) can be later still: widen with `--delivery-margin`.
pub const DEFAULT_DELIVERY_MARGIN_SECS: i64 = 3600;

/// Which objects a scan reads: kind, accounts, regions and a time window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// `Log` for `CloudTrail/`, `Insight` for `CloudTrail-Insight/`.
    pub kind: ObjectKind,
    /// Accounts to read; empty means all.
    pub accounts: Vec<String>,
    /// Regions to read; empty means all.
    pub regions: Vec<String>,
    /// Earliest event time wanted (UTC epoch seconds), inclusive.
    pub start: Option<i64>,
    /// Latest event time wanted (UTC epoch seconds), inclusive.
    pub end: Option<i64>,
    /// How long after `end` a file may still be delivered and hold a wanted record.
    pub delivery_margin_secs: i64,
    /// Only this shard's units (delivery day x account x region), when the scan is split
    /// between workers.
    pub shard: Option<Shard>,
}

impl Default for Selection {
    fn default() -> Self {
        Selection {
            kind: ObjectKind::Log,
            accounts: Vec::new(),
            regions: Vec::new(),
            start: None,
            end: None,
            delivery_margin_secs: DEFAULT_DELIVERY_MARGIN_SECS,
            shard: None,
        }
    }
}

impl Selection {
    /// Whether objects of this account are wanted.
    pub fn wants_account(&self, account: &str) -> bool {
        self.accounts.is_empty() || self.accounts.iter().any(|a| a == account)
    }

    /// Whether objects of this region are wanted.
    pub fn wants_region(&self, region: &str) -> bool {
        self.regions.is_empty() || self.regions.iter().any(|r| r == region)
    }

    /// Whether a file delivered at some instant in `[first, last]` (epoch seconds) could hold
    /// a record in the window.
    pub fn delivery_period_may_match(&self, first: i64, last: i64) -> bool {
        let too_early = self
            .start
            .is_some_and(|s| last + NEWEST_RECORD_SLACK_SECS < s);
        let too_late = self
            .end
            .is_some_and(|e| first - self.delivery_margin_secs > e);
        !too_early && !too_late
    }

    /// The same selection widened to whole delivery days: every file delivered on a day when
    /// this selection may want one. What an export reads, so that what it writes for an
    /// account x region x delivery day never depends on where a window cut that day.
    pub fn whole_delivery_days(&self) -> Selection {
        const DAY: i64 = 86_400;
        Selection {
            // The first day: that of the earliest file that may hold a record of the window.
            start: self.start.map(|s| {
                (s - NEWEST_RECORD_SLACK_SECS).div_euclid(DAY) * DAY + NEWEST_RECORD_SLACK_SECS
            }),
            // The last: that of the latest file the margin reaches.
            end: self.end.map(|e| {
                (e + self.delivery_margin_secs).div_euclid(DAY) * DAY + DAY
                    - 1
                    - self.delivery_margin_secs
            }),
            ..self.clone()
        }
    }

    /// Whether the `YYYY` folder can hold a wanted file.
    pub fn year_may_match(&self, year: u32) -> bool {
        let y = i64::from(year);
        self.delivery_period_may_match(
            days_from_civil(y, 1, 1) * 86_400,
            days_from_civil(y + 1, 1, 1) * 86_400 - 1,
        )
    }

    /// Whether the `YYYY/MM` folder can hold a wanted file.
    pub fn month_may_match(&self, year: u32, month: u32) -> bool {
        let y = i64::from(year);
        if !(1..=12).contains(&month) {
            return false;
        }
        let first = days_from_civil(y, month, 1);
        let last = first + i64::from(days_in_month(y, month));
        self.delivery_period_may_match(first * 86_400, last * 86_400 - 1)
    }

    /// Whether the `YYYY/MM/DD` folder can hold a wanted file.
    pub fn day_may_match(&self, year: u32, month: u32, day: u32) -> bool {
        let y = i64::from(year);
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(y, month) {
            return false;
        }
        let first = days_from_civil(y, month, day) * 86_400;
        self.delivery_period_may_match(first, first + 86_399)
    }

    /// Whether to read an object, or why not.
    pub fn check(&self, key: &CloudTrailKey) -> Result<(), SkipReason> {
        if key.kind != self.kind {
            return Err(match key.kind {
                ObjectKind::Digest => SkipReason::DigestFile,
                ObjectKind::Insight => SkipReason::InsightFile,
                ObjectKind::Log => SkipReason::LogFile,
            });
        }
        if !self.wants_account(&key.account) {
            return Err(SkipReason::OtherAccount);
        }
        if !self.wants_region(&key.region) {
            return Err(SkipReason::OtherRegion);
        }
        if !self.delivery_period_may_match(key.delivered_at, key.delivered_at) {
            return Err(SkipReason::OutsideWindow);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::epoch_seconds;

    fn window(start: (u32, u32, u32, u32), end: (u32, u32, u32, u32)) -> Selection {
        let at = |(y, m, d, h): (u32, u32, u32, u32)| epoch_seconds(y.into(), m, d, h, 0, 0);
        Selection {
            start: at(start),
            end: at(end),
            ..Selection::default()
        }
    }

    #[test]
    fn whole_delivery_days_take_every_file_of_the_days_a_window_touches() {
        let sel = window((2024, 1, 15, 12), (2024, 1, 16, 6));
        let whole = sel.whole_delivery_days();
        let day = |d: u32| epoch_seconds(2024, 1, d, 0, 0, 0).unwrap();
        let wanted = |s: &Selection, t: i64| s.delivery_period_may_match(t, t);
        // The 15th from its first second (the window cut it at noon), the 16th to its last
        // second, the 17th not (the margin of an hour ends at 07:00 on the 16th).
        assert!(!wanted(&sel, day(15)) && wanted(&whole, day(15)));
        assert!(wanted(&whole, day(17) - 1) && !wanted(&whole, day(17)));
        assert!(!wanted(&whole, day(15) - 1));
        // A window that ends just before midnight reaches the next day with its margin.
        let late = window((2024, 1, 15, 0), (2024, 1, 15, 23)).whole_delivery_days();
        assert!(wanted(&late, day(17) - 1) && !wanted(&late, day(17)));
        // Open ends stay open; widening twice changes nothing.
        assert_eq!(
            Selection::default().whole_delivery_days(),
            Selection::default()
        );
        assert_eq!(whole.whole_delivery_days(), whole);
    }

    #[test]
    fn days_pruned_with_margin() {
        let sel = window((2024, 1, 15, 0), (2024, 1, 15, 12));
        assert!(!sel.day_may_match(2024, 1, 13));
        // Delivered on the 14th up to 23:59 can hold records up to 00:05 on the 15th.
        assert!(sel.day_may_match(2024, 1, 14));
        assert!(sel.day_may_match(2024, 1, 15));
        assert!(!sel.day_may_match(2024, 1, 16));
        // The end falls at 23:30: the next day's first hour is within the margin.
        let late = window((2024, 1, 15, 0), (2024, 1, 15, 23));
        assert!(late.day_may_match(2024, 1, 16));
        assert!(!late.day_may_match(2024, 1, 17));
        assert!(!sel.year_may_match(2023));
        assert!(sel.month_may_match(2024, 1));
        assert!(!sel.month_may_match(2024, 2));
        assert!(!sel.day_may_match(2024, 2, 30));
    }

    #[test]
    fn no_window_keeps_everything() {
        let sel = Selection::default();
        assert!(sel.year_may_match(1999));
        assert!(sel.day_may_match(2030, 12, 31));
    }
}
