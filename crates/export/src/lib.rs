//! CloudTrail records into a table that SQL engines read: Hive-partitioned Parquet (or JSON
//! lines) with the columns of AWS's own CloudTrail table for Athena.
//!
//! [`schema`] declares the columns once; [`RowsBuilder`] turns parsed records into rows,
//! Arrow columns; [`PartitionWriter`] writes rows into `v1/account=/region=/day=` partitions, sorted by
//! event time, with bloom filters on the lookup columns; [`athena_ddl`] prints the table.
#![deny(missing_docs)]

mod columns;
mod dates;
mod ddl;
mod json_text;
mod jsonl;
pub mod schema;
mod writer;

pub use arrow_array::RecordBatch;
pub use columns::{Provenance, RowsBuilder};
pub use dates::{day_string, iso_millis};
pub use ddl::{athena_ddl, AthenaTable};
pub use writer::{
    file_sha256, Format, Partition, PartitionWriter, WriteError, WriteTimes, WriterOptions,
    WrittenFile, MEMORY_PER_VALUE_BYTE,
};
