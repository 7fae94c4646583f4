//! Sealed delivery days: the days of one region's folder that an index vouches for, which a
//! lookup through that index answers from the index without listing them.
//!
//! CloudTrail writes each object once and appends to the current day's folder; a late file
//! lands at most in the previous day's. So once a day is older than a lag, what the index
//! listed of it is all it will ever hold (a change is tampering, which `trailscan index` and
//! `validate-logs` report). Days are counted from 1970-01-01 UTC, as
//! [`crate::time::days_from_civil`] counts them.

use crate::time::{civil_from_days, days_from_civil, digits};

/// The sealed days of one region folder (`…/AWSLogs/[o-ORG/]ACCOUNT/KIND/REGION`): every day
/// from `from` (or from the first, where `None`) through `through`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealedDays {
    /// The first sealed day; `None`: every day up to `through`.
    pub from: Option<i64>,
    /// The last sealed day.
    pub through: i64,
}

impl SealedDays {
    /// Whether `day` is sealed.
    pub fn holds(&self, day: i64) -> bool {
        self.holds_span(day, day)
    }

    /// Whether every day from `first` to `last` is sealed.
    pub fn holds_span(&self, first: i64, last: i64) -> bool {
        self.from.is_none_or(|from| from <= first) && last <= self.through
    }

    /// The days of `other` and of `self` as one span, where they meet or overlap; `None` where
    /// days between them are not sealed.
    pub fn joined(&self, other: &SealedDays) -> Option<SealedDays> {
        let starts_after = |a: &SealedDays, b: &SealedDays| {
            a.from
                .is_some_and(|from| from > b.through.saturating_add(1))
        };
        if starts_after(self, other) || starts_after(other, self) {
            return None;
        }
        Some(SealedDays {
            from: self.from.zip(other.from).map(|(a, b)| a.min(b)),
            through: self.through.max(other.through),
        })
    }
}

/// The days a year's folder spans.
pub fn year_days(year: u32) -> (i64, i64) {
    let y = i64::from(year);
    (days_from_civil(y, 1, 1), days_from_civil(y + 1, 1, 1) - 1)
}

/// The days a month's folder spans.
pub fn month_days(year: u32, month: u32) -> (i64, i64) {
    let y = i64::from(year);
    let first = days_from_civil(y, month, 1);
    let next = match month {
        12 => days_from_civil(y + 1, 1, 1),
        m => days_from_civil(y, m + 1, 1),
    };
    (first, next - 1)
}

/// A day as `YYYY-MM-DD`.
pub fn day_name(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// A day from `YYYY-MM-DD`.
pub fn parse_day_name(name: &str) -> Option<i64> {
    let mut parts = name.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let (y, m, d): (i64, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let valid = (1..=12).contains(&m) && d >= 1 && d <= crate::time::days_in_month(y, m);
    valid.then(|| days_from_civil(y, m, d))
}

/// The region folder and the delivery day of a key in the layout
/// (`REGION_FOLDER/YYYY/MM/DD/FILE`), from its folders alone, their numbers read as a listing
/// reads them (so that `2024/3/05` is the same day to both); `None` for another shape.
pub fn region_folder_and_day(key: &str) -> Option<(&str, i64)> {
    region_folder_and_day_of_folder(key.rsplit_once('/')?.0)
}

/// [`region_folder_and_day`] of a day folder (`REGION_FOLDER/YYYY/MM/DD`, a trailing `/`
/// or not), as a listing finds it before listing it.
pub fn region_folder_and_day_of_folder(day_folder: &str) -> Option<(&str, i64)> {
    let mut parts = day_folder.trim_end_matches('/').rsplitn(4, '/');
    let (d, m, y, folder) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let number = |s: &str| digits(s.as_bytes());
    let (y, m, d) = (i64::from(number(y)?), number(m)?, number(d)?);
    let valid = (1..=12).contains(&m) && d >= 1 && d <= crate::time::days_in_month(y, m);
    valid.then(|| (folder, days_from_civil(y, m, d)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_join_where_they_meet() {
        let a = SealedDays {
            from: Some(10),
            through: 20,
        };
        let next = SealedDays {
            from: Some(21),
            through: 30,
        };
        let gap = SealedDays {
            from: Some(22),
            through: 30,
        };
        let all = SealedDays {
            from: None,
            through: 5,
        };
        assert_eq!(
            a.joined(&next),
            Some(SealedDays {
                from: Some(10),
                through: 30
            })
        );
        assert_eq!(a.joined(&gap), None);
        assert_eq!(gap.joined(&a), None);
        assert_eq!(a.joined(&all), None);
        assert_eq!(
            SealedDays {
                from: None,
                through: 12
            }
            .joined(&a),
            Some(SealedDays {
                from: None,
                through: 20
            })
        );
        assert!(a.holds(10) && a.holds(20) && !a.holds(9) && !a.holds(21));
        assert!(all.holds(-100_000) && !all.holds(6));
    }

    #[test]
    fn keys_give_their_folder_and_day() {
        let key = "p/AWSLogs/123456789012/CloudTrail/us-east-1/2024/03/01/123456789012_CloudTrail_us-east-1_20240301T0000Z_x.json.gz";
        let (folder, day) = region_folder_and_day(key).unwrap();
        assert_eq!(folder, "p/AWSLogs/123456789012/CloudTrail/us-east-1");
        assert_eq!(day_name(day), "2024-03-01");
        assert_eq!(parse_day_name("2024-03-01"), Some(day));
        assert_eq!(parse_day_name("2024-02-30"), None);
        assert_eq!(region_folder_and_day("a/2024/13/01/f"), None);
        // Read as a listing reads folder names: without the zero, the same day.
        assert_eq!(region_folder_and_day("a/2024/3/1/f"), Some(("a", day)));
        assert_eq!(region_folder_and_day("2024/03/01/f"), None);
        assert_eq!(month_days(2024, 2), (day - 29, day - 1));
        assert_eq!(year_days(2024).1 - year_days(2024).0, 365);
    }
}
