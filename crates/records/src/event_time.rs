//! `eventTime` as a sortable instant.

use std::fmt;

use trailscan_archive::time::{days_from_civil, epoch_seconds};

/// A UTC instant with nanosecond precision (CloudTrail writes whole seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventTime {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub secs: i64,
    /// Nanoseconds within the second.
    pub nanos: u32,
}

impl EventTime {
    /// From whole epoch seconds.
    pub fn from_secs(secs: i64) -> EventTime {
        EventTime { secs, nanos: 0 }
    }

    /// Parses RFC 3339 as CloudTrail writes it (`2024-01-15T03:04:05Z`), also with fractional
    /// seconds or a numeric offset.
    pub fn parse(s: &str) -> Option<EventTime> {
        let b = s.as_bytes();
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
            return None;
        }
        if b[13] != b':' || b[16] != b':' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = &b[r];
            part.iter()
                .all(u8::is_ascii_digit)
                .then(|| part.iter().fold(0u32, |a, d| a * 10 + u32::from(d - b'0')))
        };
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
            let digits_start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                if i - digits_start < 9 {
                    nanos = nanos * 10 + u32::from(b[i] - b'0');
                }
                i += 1;
            }
            let n = i - digits_start;
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
                let digit = |c: &u8| c.is_ascii_digit().then(|| i64::from(c - b'0'));
                let h = digit(h1)? * 10 + digit(h2)?;
                let m = digit(m1)? * 10 + digit(m2)?;
                let off = h * 3600 + m * 60;
                if *sign == b'+' {
                    off
                } else {
                    -off
                }
            }
            _ => return None,
        };
        Some(EventTime {
            secs: secs - offset,
            nanos,
        })
    }

    /// ISO 8601 in UTC as Python's `datetime.isoformat()` writes it, which is how AWS CLI v2
    /// prints timestamps: `2024-01-15T03:04:05+00:00` (microseconds only when non-zero).
    pub fn to_iso(self) -> String {
        self.to_string()
    }
}

/// The civil date of a day count since 1970-01-01 (inverse of `days_from_civil`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
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

impl fmt::Display for EventTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.secs.div_euclid(86_400);
        let rem = self.secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        debug_assert_eq!(days_from_civil(y, m, d), days);
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        )?;
        let micros = self.nanos / 1000;
        if micros != 0 {
            write!(f, ".{micros:06}")?;
        }
        f.write_str("+00:00")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cloudtrail_times() {
        let t = EventTime::parse("2024-01-15T03:04:05Z").unwrap();
        assert_eq!(t, EventTime::from_secs(1_705_287_845));
        assert_eq!(t.to_iso(), "2024-01-15T03:04:05+00:00");
        let t = EventTime::parse("2024-01-15T05:04:05.25+02:00").unwrap();
        assert_eq!(
            t,
            EventTime {
                secs: 1_705_287_845,
                nanos: 250_000_000
            }
        );
        assert_eq!(t.to_iso(), "2024-01-15T03:04:05.250000+00:00");
        for bad in [
            "",
            "2024-01-15",
            "2024-13-15T03:04:05Z",
            "2024-01-15T03:04:05",
            "2024-01-15T03:04:05+0200",
        ] {
            assert_eq!(EventTime::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn civil_round_trip() {
        for days in [-800_000, -1, 0, 1, 11_016, 19_737, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
