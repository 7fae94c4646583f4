//! What can be wrong with one object of a scan: reported, counted, never fatal to the scan.

use std::fmt;

use trailscan_archive::inflate::InflateError;
use trailscan_archive::StoreError;
use trailscan_records::SplitError;

/// Something wrong with one object. The first three mean the object was not read; the rest
/// mean it was read, but not all of it could be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectProblem {
    /// The file could not be read.
    Read(String),
    /// Not a readable gzip file.
    Inflate(InflateError),
    /// Inflated, but not `{"Records":[...]}`.
    NotALogFile(SplitError),
    /// Bytes after the end of the gzip stream, which CloudTrail never writes.
    TrailingData {
        /// How many.
        bytes: u64,
    },
    /// Records that are not valid JSON objects.
    InvalidRecords {
        /// How many.
        count: u64,
        /// Index of the first in `Records`.
        first_index: usize,
        /// What was wrong with it.
        first_error: String,
    },
    /// Records larger than [`ScanOptions::max_record_bytes`], skipped unparsed.
    OversizedRecords {
        /// How many.
        count: u64,
        /// Index of the first in `Records`.
        first_index: usize,
        /// Its size.
        first_bytes: u64,
        /// The cap.
        cap: u64,
    },
    /// The object read is not the one listed or indexed (see
    /// [`trailscan_archive::ObjectRef::change_seen_in`]); it was read as it is now.
    Changed(String),
    /// Records without a readable `eventTime`; they cannot be ordered or windowed.
    RecordsWithoutTime {
        /// How many.
        count: u64,
        /// Index of the first in `Records`.
        first_index: usize,
    },
}

impl ObjectProblem {
    /// The store's failure to read an object, said of the object (which the report names).
    pub fn read(e: &StoreError) -> ObjectProblem {
        ObjectProblem::Read(if e.is_not_found() {
            "not found (deleted since it was listed?)".to_string()
        } else {
            e.problem.to_string()
        })
    }

    /// Whether the object could not be read at all.
    pub fn is_failure(&self) -> bool {
        matches!(
            self,
            ObjectProblem::Read(_) | ObjectProblem::Inflate(_) | ObjectProblem::NotALogFile(_)
        )
    }
}

impl fmt::Display for ObjectProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectProblem::Read(e) => write!(f, "cannot read: {e}"),
            ObjectProblem::Inflate(e) => write!(f, "{e}; file skipped"),
            ObjectProblem::NotALogFile(e) => write!(f, "not a CloudTrail log file: {e}; file skipped"),
            ObjectProblem::TrailingData { bytes } => write!(
                f,
                "unexpected data after end of compressed stream ({bytes} bytes, not written by CloudTrail; possibly appended); only the first gzip stream was read"
            ),
            ObjectProblem::InvalidRecords { count, first_index, first_error } => write!(
                f,
                "{count} record(s) are not valid JSON and were skipped (first: record {first_index}: {first_error})"
            ),
            ObjectProblem::OversizedRecords { count, first_index, first_bytes, cap } => write!(
                f,
                "{count} record(s) are larger than {cap} bytes and were skipped unparsed (first: record {first_index}, {first_bytes} bytes; raise --max-record-size to read them)"
            ),
            ObjectProblem::Changed(what) => write!(
                f,
                "changed since it was listed or indexed ({what}); read as it is now (CloudTrail writes each file once: run `trailscan validate-logs` on it)"
            ),
            ObjectProblem::RecordsWithoutTime { count, first_index } => write!(
                f,
                "{count} record(s) have no valid eventTime and were skipped (first: record {first_index})"
            ),
        }
    }
}
