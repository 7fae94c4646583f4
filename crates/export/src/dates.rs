//! Event times as the export writes them: partition folders and JSON lines.

use trailscan_layout::time::civil_from_days;

/// `2024-01-15T03:04:05.000Z`.
pub fn iso_millis(ts_millis: i64) -> String {
    let secs = ts_millis.div_euclid(1000);
    let millis = ts_millis.rem_euclid(1000);
    let rem = secs.rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}.{millis:03}Z",
        day_string(secs.div_euclid(86_400)),
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// `YYYY-MM-DD` of a day number (days since 1970-01-01).
pub fn day_string(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_millis_before_and_after_epoch() {
        assert_eq!(iso_millis(1_705_287_845_123), "2024-01-15T03:04:05.123Z");
        assert_eq!(iso_millis(-1), "1969-12-31T23:59:59.999Z");
    }
}
