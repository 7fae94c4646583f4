//! Objects a scan reads, and what a listing found besides them.

use std::collections::BTreeSet;
use std::time::SystemTime;

use trailscan_layout::key::{is_account_id, parse_key, CloudTrailKey, KeyClass};
use trailscan_layout::walk::Level;
use trailscan_layout::{ShardPlan, SkipReason, SkippedCounts, Unit};

use crate::store::{ObjectInfo, StoreError};

/// One object to read: its key, what its key says, and what the listing said of it.
#[derive(Debug, Clone)]
pub struct ObjectRef {
    /// The object's key (for a copy on disk, its path relative to the folder that stands for
    /// the bucket's top, with `/` separators).
    pub key: String,
    /// The key taken apart.
    pub layout: CloudTrailKey,
    /// Size in bytes as listed (compressed).
    pub size: u64,
    /// S3's ETag as listed; `None` on disk.
    pub etag: Option<String>,
    /// Last modification as listed.
    pub modified: Option<SystemTime>,
}

impl ObjectRef {
    /// The object `info` describes, its key taken apart; why not, for a key not in
    /// CloudTrail's layout.
    pub fn listed(info: ObjectInfo) -> Result<ObjectRef, SkipReason> {
        match parse_key(&info.key) {
            KeyClass::CloudTrail(layout) => Ok(ObjectRef {
                key: info.key,
                layout,
                size: info.size,
                etag: info.etag,
                modified: info.modified,
            }),
            KeyClass::NotCloudTrail(reason) => Err(reason),
        }
    }

    /// How the object as read differs from what was said of it (by a listing, or by an index
    /// when it was built), if it does: the size always; the ETag where both have one (S3); the
    /// modification time where neither has (a copy on disk: the `fstat` of the file opened
    /// against the listing's). CloudTrail writes each object once, so a difference is a file
    /// replaced since.
    pub fn change_seen_in(&self, read: &ObjectInfo) -> Option<String> {
        if self.size != read.size {
            return Some(format!("{} bytes then, {} now", self.size, read.size));
        }
        match (&self.etag, &read.etag) {
            (Some(then), Some(now)) if then != now => Some(format!("ETag {then} then, {now} now")),
            (None, None) => match (self.modified, read.modified) {
                (Some(then), Some(now)) if then != now => {
                    Some("modified since (its modification time differs)".to_string())
                }
                _ => None,
            },
            _ => None,
        }
    }
}

/// What a listing found: the objects to read, sorted by key, and what it passed over.
#[derive(Debug, Default)]
pub struct Listing {
    /// Objects to read, sorted by key so that every run sees them in the same order; empty
    /// when the listing streamed them ([`crate::list_streaming`]).
    pub objects: Vec<ObjectRef>,
    /// Objects the listing found to read, whether it kept them or streamed them.
    pub objects_listed: u64,
    /// Files and folders passed over, by reason.
    pub skipped: SkippedCounts,
    /// Folders or files that could not be listed; the listing went on without them.
    pub problems: Vec<StoreError>,
    /// `AWSLogs` folders found: zero means the source is not a CloudTrail archive at all.
    pub awslogs_folders: u64,
    /// With a shard: the units it took out of all those found.
    pub shard_plan: Option<ShardPlan>,
    /// Every account folder the walk came to, wanted or not: what a `--account-id` that
    /// matched nothing can be told it might have meant.
    pub accounts_seen: BTreeSet<String>,
    /// Every region folder the walk came to (under the accounts it entered), wanted or not.
    pub regions_seen: BTreeSet<String>,
    /// Region folders (`…/ACCOUNT/KIND/REGION`) whose sealed days were not listed: what an
    /// index answers for instead, as long as the folder is there.
    pub sealed_folders: BTreeSet<String>,
    /// With a shard: day folders found by the walk and not yet listed.
    pub(crate) day_folders: Vec<(Unit, String)>,
    /// During a walk: the objects of folders below, in order after `objects`, each folder's
    /// as listed. They are moved into `objects` once, at the end ([`Listing::gather`]), not
    /// copied up at every level of the layout (seven from a day's folder to the top; at 45,000
    /// files that copying was a tenth of a lookup's time with the index).
    pub(crate) parts: Vec<Vec<ObjectRef>>,
}

impl Listing {
    /// Adds another listing's findings to this one; its objects stay in parts until
    /// [`Listing::gather`].
    pub(crate) fn absorb(&mut self, other: Listing) {
        if !other.objects.is_empty() {
            self.parts.push(other.objects);
        }
        self.parts.extend(other.parts);
        self.objects_listed += other.objects_listed;
        self.skipped.merge(&other.skipped);
        self.problems.extend(other.problems);
        self.awslogs_folders += other.awslogs_folders;
        self.day_folders.extend(other.day_folders);
        self.accounts_seen.extend(other.accounts_seen);
        self.regions_seen.extend(other.regions_seen);
        self.sealed_folders.extend(other.sealed_folders);
    }

    /// Notes an account or region folder named `name`, at `level`, whether or not it is
    /// entered.
    pub(crate) fn saw_folder(&mut self, level: Level, name: &str) {
        let seen = match level {
            Level::AwsLogs | Level::Org if is_account_id(name) => &mut self.accounts_seen,
            Level::Kind => &mut self.regions_seen,
            _ => return,
        };
        if !seen.contains(name) {
            seen.insert(name.to_string());
        }
    }

    /// Takes the account and region folders `other`'s walk came to, for
    /// [`Listing::accounts_seen`] over several listings (one per kind of file).
    pub fn take_seen_from(&mut self, other: &mut Listing) {
        self.accounts_seen
            .extend(std::mem::take(&mut other.accounts_seen));
        self.regions_seen
            .extend(std::mem::take(&mut other.regions_seen));
    }

    /// Adds `part`, a listing of more folders of the same walk (day folders listed apart,
    /// [`crate::list_day_folders`]): its objects after these, its counts and its problems.
    pub fn add_part(&mut self, part: Listing) {
        self.absorb(part);
        self.gather();
    }

    /// Moves the objects of every part into `objects`, in order.
    pub(crate) fn gather(&mut self) {
        let parts = std::mem::take(&mut self.parts);
        self.objects
            .reserve(parts.iter().map(Vec::len).sum::<usize>());
        for part in parts {
            self.objects.extend(part);
        }
    }
}
