//! `--start-time` / `--end-time` values, read as the AWS CLI reads timestamps.
//!
//! botocore's `parse_timestamp` takes a number as epoch seconds, then anything
//! `dateutil.parser.parse` understands; a value without an offset is UTC, an offset is
//! converted. This accepts the forms AWS documents and runbooks use: ISO 8601 (extended or
//! basic, with or without seconds, fraction and offset), a date alone (midnight UTC),
//! `MM-DD-YYYY` and `MM/DD/YYYY` (dateutil reads month first), and epoch seconds.

use trailscan_layout::time::epoch_seconds;
use trailscan_records::EventTime;

/// A time argument that is none of the accepted forms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Unable to parse timestamp '{0}': use ISO 8601 (2024-01-15T03:04:05Z, 2024-01-15T05:04:05+02:00), a date (2024-01-15) or epoch seconds (1705287845)")]
pub struct TimeArgError(pub String);

/// 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the range of Python's `datetime`, and so of
/// the AWS CLI's timestamps.
const EARLIEST: i64 = -62_135_596_800;
const LATEST: i64 = 253_402_300_799;

/// Parses one time argument.
pub fn parse_time_arg(input: &str) -> Result<EventTime, TimeArgError> {
    let t = parse_unbounded(input)?;
    if (EARLIEST..=LATEST).contains(&t.secs) {
        Ok(t)
    } else {
        Err(TimeArgError(input.to_string()))
    }
}

fn parse_unbounded(input: &str) -> Result<EventTime, TimeArgError> {
    let err = || TimeArgError(input.to_string());
    let s = input.trim();
    // Every format taken is ASCII, and the parsers below cut the text at byte offsets.
    if !s.is_ascii() {
        return Err(err());
    }
    if let Some(t) = epoch(s) {
        return Ok(t);
    }
    let (date, rest) = match s.find(['T', 't', ' ']) {
        Some(i) => (&s[..i], s[i + 1..].trim_start()),
        None => (s, ""),
    };
    let (y, mo, d) = civil_date(date).ok_or_else(err)?;
    let (h, mi, sec, nanos, offset) = if rest.is_empty() {
        (0, 0, 0, 0, 0)
    } else {
        clock_and_zone(rest).ok_or_else(err)?
    };
    let secs = epoch_seconds(y, mo, d, h, mi, sec).ok_or_else(err)?;
    Ok(EventTime {
        secs: secs - offset,
        nanos,
    })
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn num(s: &str) -> Option<u32> {
    all_digits(s).then(|| s.parse().ok()).flatten()
}

/// `1705287845`, `1705287845.5`, `-1`.
fn epoch(s: &str) -> Option<EventTime> {
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    let (whole, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    // Eight digits could be YYYYMMDD; dateutil would read a bare 8-digit number as epoch too
    // only through botocore's float() attempt, which comes first, so numbers win.
    if !all_digits(whole) || !(frac.is_empty() || all_digits(frac)) {
        return None;
    }
    let secs: i64 = whole.parse().ok()?;
    let mut nanos = 0u32;
    for (i, b) in frac.bytes().take(9).enumerate() {
        nanos += u32::from(b - b'0') * 10u32.pow(8 - i as u32);
    }
    if s.starts_with('-') {
        let t = -secs
            .checked_mul(1_000_000_000)?
            .checked_add(i64::from(nanos))?;
        return Some(EventTime {
            secs: t.div_euclid(1_000_000_000),
            nanos: t.rem_euclid(1_000_000_000) as u32,
        });
    }
    Some(EventTime { secs, nanos })
}

fn civil_date(s: &str) -> Option<(i64, u32, u32)> {
    let parts: Vec<&str> = s.split(['-', '/']).collect();
    match parts.as_slice() {
        [y, m, d] if y.len() == 4 => Some((i64::from(num(y)?), num(m)?, num(d)?)),
        [m, d, y] if y.len() == 4 && m.len() <= 2 && d.len() <= 2 => {
            Some((i64::from(num(y)?), num(m)?, num(d)?))
        }
        [ymd] if ymd.len() == 8 => Some((
            i64::from(num(&ymd[..4])?),
            num(&ymd[4..6])?,
            num(&ymd[6..])?,
        )),
        _ => None,
    }
}

/// `HH:MM[:SS[.fff]]` or `HHMMSS`, then `Z`, `UTC`, `±HH:MM`, `±HHMM` or `±HH`.
fn clock_and_zone(s: &str) -> Option<(u32, u32, u32, u32, i64)> {
    let zone_at = s
        .find(['Z', 'z', '+', '-'])
        .or_else(|| s.find(" UTC").or_else(|| s.find("UTC")));
    let (clock, zone) = match zone_at {
        Some(i) => (s[..i].trim_end(), s[i..].trim_start()),
        None => (s, ""),
    };
    let (clock, frac) = clock.split_once(['.', ',']).unwrap_or((clock, ""));
    let fields: Vec<&str> = if clock.contains(':') {
        clock.split(':').collect()
    } else if clock.len() == 6 || clock.len() == 4 {
        clock
            .as_bytes()
            .chunks(2)
            .map(|c| std::str::from_utf8(c).unwrap_or(""))
            .collect()
    } else {
        return None;
    };
    let (h, mi, sec) = match fields.as_slice() {
        [h, m] => (num(h)?, num(m)?, 0),
        [h, m, sec] => (num(h)?, num(m)?, num(sec)?),
        _ => return None,
    };
    if !frac.is_empty() && !all_digits(frac) {
        return None;
    }
    let mut nanos = 0u32;
    for (i, b) in frac.bytes().take(9).enumerate() {
        nanos += u32::from(b - b'0') * 10u32.pow(8 - i as u32);
    }
    let offset = match zone.trim() {
        "" | "Z" | "z" | "UTC" | "GMT" => 0,
        z => {
            let sign = match z.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let body = z[1..].replace(':', "");
            let (oh, om) = match body.len() {
                2 => (num(&body)?, 0),
                4 => (num(&body[..2])?, num(&body[2..])?),
                _ => return None,
            };
            if oh > 23 || om > 59 {
                return None;
            }
            sign * (i64::from(oh) * 3600 + i64::from(om) * 60)
        }
    };
    Some((h, mi, sec, nanos, offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: &str) -> i64 {
        parse_time_arg(s).unwrap_or_else(|e| panic!("{e}")).secs
    }

    #[test]
    fn accepted_forms() {
        let t = 1_705_287_845; // 2024-01-15T03:04:05Z
        for s in [
            "2024-01-15T03:04:05Z",
            "2024-01-15T03:04:05",
            "2024-01-15 03:04:05",
            "2024-01-15T05:04:05+02:00",
            "2024-01-15T05:04:05+0200",
            "2024-01-14T22:04:05-05:00",
            "20240115T030405Z",
            "1705287845",
            " 1705287845 ",
            "2024-01-15T03:04:05.000Z",
        ] {
            assert_eq!(secs(s), t, "{s}");
        }
        assert_eq!(secs("2024-01-15"), 1_705_276_800);
        assert_eq!(secs("01-15-2024"), 1_705_276_800);
        assert_eq!(secs("01/15/2024"), 1_705_276_800);
        assert_eq!(secs("2024-01-15T03:04Z"), t - 5);
        assert_eq!(parse_time_arg("1705287845.5").unwrap().nanos, 500_000_000);
    }

    #[test]
    fn rejected_forms_name_the_value() {
        for s in [
            "",
            "yesterday",
            "2024-13-01",
            "2024-01-15T25:00:00Z",
            "2024-01-15T03:04:05+99:00",
            "15-01-2024",
            "9223372036854775807",
            "-9223372036854775807",
            "253402300800",
            "0000-12-31",
        ] {
            let e = parse_time_arg(s).unwrap_err();
            assert!(e.to_string().contains(&format!("'{s}'")), "{s}");
        }
    }

    /// Found by the `lookup_args` fuzz target: an 8-byte date with a two-byte character in it
    /// was cut inside the character (a panic, where an "Unable to parse" error belongs).
    #[test]
    fn non_ascii_is_an_error_not_a_panic() {
        for input in [
            "4::\u{19e}\u{4e3}",
            "202\u{19e}0102",
            "2024-01-02T03:04:05\u{2212}01:00",
        ] {
            assert_eq!(parse_time_arg(input), Err(TimeArgError(input.to_string())));
        }
    }
}
