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

/// Parses RFC 3339 (`2024-01-15T03:04:05Z`, with a fraction, a numeric offset, or a space
/// for the `T`) into UTC epoch seconds and nanoseconds.
pub fn parse_rfc3339(s: &str) -> Option<(i64, u32)> {
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| digits(&b[r]);
    let secs = epoch_seconds(
        i64::from(num(0..4)?),
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    )?;
    let mut i = 19;
    let mut nanos = 0u32;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 9 {
                nanos = nanos * 10 + u32::from(b[i] - b'0');
            }
            i += 1;
        }
        let n = i - start;
        if n == 0 {
            return None;
        }
        for _ in n..9 {
            nanos *= 10;
        }
    }
    let offset = match &b[i..] {
        [b'Z' | b'z'] => 0,
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let h = i64::from(digits(&[*h1, *h2])?);
            let m = i64::from(digits(&[*m1, *m2])?);
            let off = h * 3600 + m * 60;
            if *sign == b'+' {
                off
            } else {
                -off
            }
        }
        _ => return None,
    };
    Some((secs - offset, nanos))
}

/// A clock's time as UTC epoch seconds (0 before 1970).
pub fn epoch_secs(t: std::time::SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Formats UTC epoch seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn format_utc(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The civil date of a day count since 1970-01-01 (inverse of [`days_from_civil`]).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
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

    #[test]
    fn rfc3339_and_back() {
        assert_eq!(
            parse_rfc3339("2024-01-15T03:04:05Z"),
            Some((1_705_287_845, 0))
        );
        assert_eq!(
            parse_rfc3339("2024-01-15 05:04:05.5+02:00"),
            Some((1_705_287_845, 500_000_000))
        );
        assert_eq!(parse_rfc3339("2024-01-15T03:04:05"), None);
        assert_eq!(format_utc(1_705_287_845), "2024-01-15T03:04:05Z");
        for days in [-800_000, -1, 0, 19_737, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
