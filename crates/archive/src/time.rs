//! Calendar arithmetic on UTC epoch seconds, without a date library.
//!
//! Key names and `eventTime` carry civil UTC dates; everything in the scan compares epoch
//! seconds. Howard Hinnant's `days_from_civil` is exact for the proleptic Gregorian calendar
//! (<https://howardhinnant.github.io/date_algorithms.html#days_from_civil>).

/// Days since 1970-01-01 of the civil date `y-m-d` (month 1..=12, day 1..=31).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Number of days in month `m` of year `y`.
pub fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

/// Epoch seconds of `y-m-d hh:mm:ss` UTC, or `None` when a field is out of range.
pub fn epoch_seconds(y: i64, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> Option<i64> {
    if !(1..=12).contains(&mo) || d == 0 || d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60
    {
        return None;
    }
    let secs = i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s);
    Some(days_from_civil(y, mo, d) * 86_400 + secs)
}

/// Parses exactly `n` ASCII digits.
pub(crate) fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 9 {
        return None;
    }
    s.iter().try_fold(0u32, |acc, &b| {
        b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_matches_known_instants() {
        assert_eq!(epoch_seconds(1970, 1, 1, 0, 0, 0), Some(0));
        assert_eq!(epoch_seconds(2024, 1, 15, 3, 4, 5), Some(1_705_287_845));
        assert_eq!(epoch_seconds(2000, 2, 29, 0, 0, 0), Some(951_782_400));
        assert_eq!(epoch_seconds(2023, 2, 29, 0, 0, 0), None);
        assert_eq!(epoch_seconds(2023, 13, 1, 0, 0, 0), None);
    }
}
