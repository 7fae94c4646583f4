//! Why an export stops: the destination, the files, or the folder's own records.

use arrow_schema::ArrowError;
use trailscan_archive::StoreError;

use crate::writer::WriteError;

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A file could not be written.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// The destination refused a file.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Rows that Arrow could not take (a bug: rows are built for the schema).
    #[error("cannot build the rows' columns")]
    Columns(#[source] ArrowError),
    /// No local folder to write files in before they are uploaded.
    #[error("cannot create a staging folder (set TMPDIR to a folder with free space)")]
    Staging(#[source] std::io::Error),
    /// The folder holds an export of another definition.
    #[error("{location}: this folder holds an export of {recorded}, and this one asks for {asked}: export into another --out (or remove the folder to start again)")]
    OtherTable {
        /// The definition's file.
        location: String,
        /// What it records.
        recorded: String,
        /// What this export asks for.
        asked: String,
    },
    /// The folder holds an earlier trailscan's export, whose files this one would not
    /// replace.
    #[error("{0}: holds files of an export without a trailscan-export.json (an earlier trailscan's, whose file names this one does not replace): export into another --out")]
    Unrecorded(String),
    /// A record of the export's own is not what it wrote.
    #[error("{location}: damaged ({problem}); remove the export folder and export again")]
    Damaged {
        /// The file.
        location: String,
        /// What is wrong.
        problem: String,
    },
}
