//! Walking CloudTrail's folder layout from the top, deciding for each folder whether it can
//! hold a wanted object: the same decisions for a copy on disk and for S3 prefixes.

use crate::key::{is_account_id, is_org_id, ObjectKind};
use crate::select::Selection;
use crate::skip::SkipReason;
use crate::time::digits;

/// Where the walk is in the layout, which decides what a folder may be pruned for.
#[derive(Debug, Clone, Copy)]
pub enum Level {
    /// Above `AWSLogs/` (the bucket's top, or a trail's key prefix).
    Outside,
    /// In `AWSLogs/`: accounts or organizations below.
    AwsLogs,
    /// In `AWSLogs/o-ORG/`: accounts below.
    Org,
    /// In an account's folder: kinds (`CloudTrail`, ...) below.
    Account,
    /// In a kind's folder: regions below.
    Kind,
    /// In a region's folder: years below.
    Region,
    /// In a year's folder: months below.
    Year(u32),
    /// In a month's folder: days below.
    Month(u32, u32),
    /// In a day's folder: files only.
    Day,
}

/// The level below folder `name`, or why the folder need not be listed.
pub fn enter_dir(level: Level, name: &str, sel: &Selection) -> Result<Level, SkipReason> {
    let number = || digits(name.as_bytes());
    match level {
        Level::Outside => Ok(if name == "AWSLogs" {
            Level::AwsLogs
        } else {
            Level::Outside
        }),
        Level::AwsLogs if is_org_id(name) => Ok(Level::Org),
        Level::AwsLogs | Level::Org if is_account_id(name) => {
            if sel.wants_account(name) {
                Ok(Level::Account)
            } else {
                Err(SkipReason::OtherAccount)
            }
        }
        // Not an account: perhaps a further prefix with its own AWSLogs below.
        Level::AwsLogs | Level::Org => Ok(Level::Outside),
        Level::Account => match ObjectKind::from_folder(name) {
            Some(kind) if kind == sel.kind => Ok(Level::Kind),
            Some(ObjectKind::Digest) => Err(SkipReason::DigestFile),
            Some(ObjectKind::Insight) => Err(SkipReason::InsightFile),
            Some(ObjectKind::Log) => Err(SkipReason::LogFile),
            None => Err(SkipReason::OtherService),
        },
        Level::Kind if sel.wants_region(name) => Ok(Level::Region),
        Level::Kind => Err(SkipReason::OtherRegion),
        Level::Region => match number() {
            Some(y) if sel.year_may_match(y) => Ok(Level::Year(y)),
            Some(_) => Err(SkipReason::OutsideWindow),
            None => Err(SkipReason::NotCloudTrailLayout),
        },
        Level::Year(y) => match number() {
            Some(m) if sel.month_may_match(y, m) => Ok(Level::Month(y, m)),
            Some(_) => Err(SkipReason::OutsideWindow),
            None => Err(SkipReason::NotCloudTrailLayout),
        },
        Level::Month(y, m) => match number() {
            Some(d) if sel.day_may_match(y, m, d) => Ok(Level::Day),
            Some(_) => Err(SkipReason::OutsideWindow),
            None => Err(SkipReason::NotCloudTrailLayout),
        },
        Level::Day => Err(SkipReason::NotCloudTrailLayout),
    }
}
