//! Objects a scan reads, and the honest count of those it does not.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::PathBuf;

use crate::key::CloudTrailKey;
use crate::shard::{ShardPlan, Unit};

/// One object to read: where its bytes are, and what its key says.
#[derive(Debug, Clone)]
pub struct ObjectRef {
    /// The object's key: for a local copy, its path relative to the source folder with `/`
    /// separators, which is its key in the bucket it was copied from.
    pub key: String,
    /// The key taken apart.
    pub layout: CloudTrailKey,
    /// Where the bytes are.
    pub location: Location,
    /// Size in bytes as listed (compressed).
    pub size: u64,
}

/// Where an object's bytes are.
#[derive(Debug, Clone)]
pub enum Location {
    /// A file on local disk.
    Local(PathBuf),
    /// An object in S3.
    S3 {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
    },
}

impl ObjectRef {
    /// Reads a local object into `buf` (cleared first, capacity kept).
    pub fn read_local(path: &std::path::Path, buf: &mut Vec<u8>) -> io::Result<()> {
        buf.clear();
        File::open(path)?.read_to_end(buf)?;
        Ok(())
    }

    /// The name to show a person: the local path, or `s3://bucket/key`.
    pub fn display_name(&self) -> String {
        match &self.location {
            Location::Local(path) => path.display().to_string(),
            Location::S3 { bucket, key } => format!("s3://{bucket}/{key}"),
        }
    }
}

/// Why a listed object or folder is not scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// A `CloudTrail-Digest/` file (read by `validate-logs`, not by lookups).
    DigestFile,
    /// A `CloudTrail-Insight/` file, when Insights events were not asked for.
    InsightFile,
    /// A `CloudTrail/` log file, when Insights events were asked for.
    LogFile,
    /// Not below an `AWSLogs/` folder.
    OutsideAwsLogs,
    /// Below `AWSLogs/` but not in CloudTrail's `ACCOUNT/KIND/REGION/YYYY/MM/DD/` layout.
    NotCloudTrailLayout,
    /// Another service's folder under `AWSLogs/ACCOUNT/` (AWS Config, ELB, ...).
    OtherService,
    /// In a CloudTrail folder, but the file name does not fit the layout or its folders.
    UnexpectedFileName,
    /// An account not asked for with `--account-id`.
    OtherAccount,
    /// A region not asked for with `--region`.
    OtherRegion,
    /// Delivered outside the time window (plus the delivery margin).
    OutsideWindow,
    /// A symbolic link (not followed, so that a copy cannot loop or leave the source).
    Symlink,
}

impl SkipReason {
    const ALL: [SkipReason; 11] = [
        SkipReason::DigestFile,
        SkipReason::InsightFile,
        SkipReason::LogFile,
        SkipReason::OutsideAwsLogs,
        SkipReason::NotCloudTrailLayout,
        SkipReason::OtherService,
        SkipReason::UnexpectedFileName,
        SkipReason::OtherAccount,
        SkipReason::OtherRegion,
        SkipReason::OutsideWindow,
        SkipReason::Symlink,
    ];

    /// A short phrase for the summary.
    pub fn describe(self) -> &'static str {
        match self {
            SkipReason::DigestFile => "digest",
            SkipReason::InsightFile => "Insights (use --event-category insight)",
            SkipReason::LogFile => "log (not Insights)",
            SkipReason::OutsideAwsLogs => "outside AWSLogs/",
            SkipReason::NotCloudTrailLayout => "not in CloudTrail's layout",
            SkipReason::OtherService => "other AWS service",
            SkipReason::UnexpectedFileName => "unexpected file name",
            SkipReason::OtherAccount => "other account",
            SkipReason::OtherRegion => "other region",
            SkipReason::OutsideWindow => "outside the time window",
            SkipReason::Symlink => "symbolic link",
        }
    }
}

/// Counts of skipped files and of folders pruned without listing, per reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SkippedCounts {
    files: [u64; SkipReason::ALL.len()],
    folders: [u64; SkipReason::ALL.len()],
}

impl SkippedCounts {
    /// Counts one skipped file.
    pub fn file(&mut self, reason: SkipReason) {
        self.files[reason as usize] += 1;
    }

    /// Counts one folder not listed.
    pub fn folder(&mut self, reason: SkipReason) {
        self.folders[reason as usize] += 1;
    }

    /// Skipped files, all reasons.
    pub fn files_total(&self) -> u64 {
        self.files.iter().sum()
    }

    /// Skipped files for one reason.
    pub fn files_for(&self, reason: SkipReason) -> u64 {
        self.files[reason as usize]
    }

    /// Folders not listed, all reasons.
    pub fn folders_total(&self) -> u64 {
        self.folders.iter().sum()
    }

    /// Adds another count into this one.
    pub fn merge(&mut self, other: &SkippedCounts) {
        for (a, b) in self.files.iter_mut().zip(other.files) {
            *a += b;
        }
        for (a, b) in self.folders.iter_mut().zip(other.folders) {
            *a += b;
        }
    }
}

impl fmt::Display for SkippedCounts {
    /// `3 digest, 1 outside AWSLogs/` for files, then `; folders not listed: ...`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |counts: &[u64]| {
            SkipReason::ALL
                .iter()
                .zip(counts)
                .filter(|(_, n)| **n > 0)
                .map(|(r, n)| format!("{n} {}", r.describe()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let files = list(&self.files);
        let folders = list(&self.folders);
        match (files.is_empty(), folders.is_empty()) {
            (true, true) => f.write_str("none"),
            (false, true) => f.write_str(&files),
            (true, false) => write!(f, "folders not listed: {folders}"),
            (false, false) => write!(f, "{files}; folders not listed: {folders}"),
        }
    }
}

impl Listing {
    /// Adds another listing's findings to this one.
    pub fn absorb(&mut self, other: Listing) {
        self.objects.extend(other.objects);
        self.skipped.merge(&other.skipped);
        self.problems.extend(other.problems);
        self.awslogs_folders += other.awslogs_folders;
        self.day_folders.extend(other.day_folders);
    }
}

/// What a listing found: the objects to read, sorted by key, and what it passed over.
#[derive(Debug, Default)]
pub struct Listing {
    /// Objects to read, sorted by key so that every run sees them in the same order.
    pub objects: Vec<ObjectRef>,
    /// Files and folders passed over, by reason.
    pub skipped: SkippedCounts,
    /// Folders or files that could not be listed, with the reason; the listing went on.
    pub problems: Vec<String>,
    /// `AWSLogs` folders found: zero means the source is not a CloudTrail archive at all.
    pub awslogs_folders: u64,
    /// With a shard: the units it took out of all those found.
    pub shard_plan: Option<ShardPlan>,
    /// With a shard: day folders found by the walk and not yet listed.
    pub(crate) day_folders: Vec<(Unit, DayFolder)>,
}

/// A day folder left for the second step of a sharded listing.
#[derive(Debug)]
pub(crate) enum DayFolder {
    Local(PathBuf),
    S3(String),
}
