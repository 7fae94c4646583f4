//! CloudTrail records into a table that SQL engines read: Hive-partitioned Parquet (or JSON
//! lines) with the columns of AWS's own CloudTrail table for Athena.
//!
//! [`schema`] declares the columns once; [`build_row`] turns a record into a row;
//! [`PartitionWriter`] writes rows into `v1/account=/region=/day=` partitions, sorted by
//! event time, with bloom filters on the lookup columns; [`athena_ddl`] prints the table.
#![deny(missing_docs)]

mod ddl;
mod row;
pub mod schema;
mod writer;

pub use ddl::{athena_ddl, AthenaTable};
pub use row::{build_row, day_string, iso_millis, Provenance, Row, RowError};
pub use writer::{
    file_sha256, Format, Partition, PartitionWriter, WriteError, WriterOptions, WrittenFile,
};
