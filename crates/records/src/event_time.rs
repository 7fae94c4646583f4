//! `eventTime` as a sortable instant.

use std::fmt;

use trailscan_layout::time::{civil_from_days, days_from_civil, parse_rfc3339};

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
    /// seconds, a numeric offset, or a space for the `T`.
    pub fn parse(s: &str) -> Option<EventTime> {
        parse_rfc3339(s).map(|(secs, nanos)| EventTime { secs, nanos })
    }

    /// ISO 8601 in UTC as Python's `datetime.isoformat()` writes it, which is how AWS CLI v2
    /// prints timestamps: `2024-01-15T03:04:05+00:00` (microseconds only when non-zero).
    pub fn to_iso(self) -> String {
        self.to_string()
    }
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
}
