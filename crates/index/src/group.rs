//! The group (account x region x delivery month): the unit segments are written, merged and
//! read by, and the month arithmetic that decides it. A module of its own so that the catalog,
//! the snapshot and the planner all use it without importing one another.

/// Account x region x delivery month: the unit segments are written, merged and read by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Group {
    /// Account id.
    pub account: String,
    /// Region.
    pub region: String,
    /// `YYYY-MM` of delivery.
    pub month: String,
}

impl Group {
    /// The group of an object delivered at `delivered_at` (epoch seconds).
    pub fn new(account: &str, region: &str, delivered_at: i64) -> Group {
        let (y, m, _) = trailscan_layout::time::civil_from_days(delivered_at.div_euclid(86_400));
        Group {
            account: account.to_string(),
            region: region.to_string(),
            month: format!("{y:04}-{m:02}"),
        }
    }
}

/// Months since year 0 of a delivery time: equal for two times of the same group's month,
/// and cheap to compare (no text).
pub(crate) fn month_index(epoch_secs: i64) -> i64 {
    let (y, m, _) = trailscan_layout::time::civil_from_days(epoch_secs.div_euclid(86_400));
    y * 12 + i64::from(m)
}
