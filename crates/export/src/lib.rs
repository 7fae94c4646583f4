//! CloudTrail records into a table that SQL engines read: Hive-partitioned Parquet (or JSON
//! lines) with the columns of AWS's own CloudTrail table for Athena.
//!
//! [`schema`] declares the columns once; [`RowsBuilder`] turns parsed records into rows,
//! Arrow columns; [`PartitionWriter`] writes rows into `v1/account=/region=/day=` partitions, sorted by
//! event time, with bloom filters on the lookup columns; [`export_objects`] runs the scan's
//! batches into it on a writer thread and publishes each closed file at a [`Destination`];
//! [`athena_ddl`] prints the table.
#![deny(missing_docs)]

mod columns;
mod dates;
mod ddl;
mod error;
mod jsonl;
mod pipeline;
pub mod schema;
mod table;
mod writer;

pub use arrow_array::RecordBatch;
pub use columns::{Provenance, RowsBuilder};
pub use dates::{day_string, iso_millis};
pub use ddl::{athena_ddl, exported_regions, AthenaTable};
pub use error::ExportError;
pub use pipeline::{export_objects, Destination, Exported, RowSink, OBJECTS_PER_BATCH};
pub use table::{claim_table, record_delivery_days, TableDefinition, DEFINITION_FILE};
pub use writer::{
    file_sha256, DeliveryDay, Format, Partition, PartitionWriter, WriteError, WriteTimes,
    WriterOptions, WrittenFile, MEMORY_PER_VALUE_BYTE,
};

#[cfg(test)]
mod test_support {
    use simd_json::tape::Value;
    use simd_json::{fill_tape_padded, Buffers, Tape, INPUT_PADDING};

    /// Calls `f` with `text` parsed as the scan parses a log file (simd-json's tape).
    pub(crate) fn with_tape<T>(text: &str, f: impl FnOnce(Value<'_, '_>) -> T) -> T {
        let mut input = text.as_bytes().to_vec();
        input.resize(text.len() + INPUT_PADDING, 0);
        let mut tape = Tape::null();
        fill_tape_padded(&mut input, text.len(), &mut Buffers::new(64), &mut tape).unwrap();
        f(tape.as_value())
    }
}
