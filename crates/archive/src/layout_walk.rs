//! Walking CloudTrail's folder layout from the top, deciding for each folder whether it can
//! hold a wanted object: the same decisions for a copy on disk and for S3 prefixes.

use crate::key::{is_account_id, is_org_id, ObjectKind};
use crate::object::Listing;
use crate::object::SkipReason;
use crate::select::Selection;
use crate::time::digits;

/// Where the walk is in the layout, which decides what a folder may be pruned for.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Level {
    Outside,
    AwsLogs,
    Org,
    Account,
    Kind,
    Region,
    Year(u32),
    Month(u32, u32),
    Day,
}

/// The level below folder `name`, or why the folder need not be listed.
pub(crate) fn enter_dir(level: Level, name: &str, sel: &Selection) -> Result<Level, SkipReason> {
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

/// Enters the folders that lead to where a listing starts (a source inside `AWSLogs/`, an S3
/// prefix), as the walk would, counting what it passes; `None` when one of them is pruned
/// (the listing is then complete as it is).
pub(crate) fn enter_path<'n>(
    names: impl IntoIterator<Item = &'n str>,
    sel: &Selection,
    listing: &mut Listing,
) -> Option<Level> {
    let mut level = Level::Outside;
    for name in names {
        match enter_dir(level, name, sel) {
            Ok(next) => {
                listing.awslogs_folders += u64::from(matches!(next, Level::AwsLogs));
                level = next;
            }
            Err(reason) => {
                listing.skipped.folder(reason);
                return None;
            }
        }
    }
    Some(level)
}
