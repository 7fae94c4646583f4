//! Why a listing passes over a file or a folder, and the honest count of what it passed over.

use std::fmt;

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
    /// Neither a file nor a folder (a FIFO, a socket, a device): reading one could block or
    /// never end.
    SpecialFile,
}

impl SkipReason {
    const ALL: [SkipReason; 12] = [
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
        SkipReason::SpecialFile,
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
            SkipReason::SpecialFile => "not a regular file",
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
