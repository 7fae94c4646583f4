//! A segment: catalog rows with their filters, sorted by key, in one Parquet file that DuckDB,
//! Athena or any Parquet reader can open (`SELECT key, events FROM 'segments/*.parquet'`).

use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, StringBuilder, TimestampMicrosecondBuilder, TimestampNanosecondBuilder,
    TimestampSecondBuilder, UInt64Builder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{
    TimestampMicrosecondType, TimestampNanosecondType, TimestampSecondType, UInt64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::catalog::CatalogEntry;

/// Rows per row group: a segment is read whole, so this only bounds the writer's memory.
const ROW_GROUP_ROWS: usize = 64 * 1024;

fn utc(unit: TimeUnit) -> DataType {
    DataType::Timestamp(unit, Some("UTC".into()))
}

/// The segment's columns, in order.
pub fn schema() -> Schema {
    Schema::new(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("size", DataType::UInt64, false),
        Field::new("etag", DataType::Utf8, true),
        Field::new("modified", utc(TimeUnit::Nanosecond), true),
        Field::new("account", DataType::Utf8, false),
        Field::new("region", DataType::Utf8, false),
        Field::new("delivered_at", utc(TimeUnit::Second), false),
        Field::new("problem", DataType::Utf8, true),
        Field::new("events", DataType::UInt64, false),
        Field::new("first_event_time", utc(TimeUnit::Microsecond), true),
        Field::new("last_event_time", utc(TimeUnit::Microsecond), true),
        Field::new("inflated_bytes", DataType::UInt64, false),
        Field::new("max_record_bytes", DataType::UInt64, false),
        Field::new("inflated_sha256", DataType::Utf8, false),
        Field::new("filter", DataType::Binary, false),
    ])
}

/// Writes `entries` (sorted by key by the caller) as Parquet bytes; the same rows give the
/// same bytes.
pub fn write_segment(entries: &[CatalogEntry]) -> Result<Vec<u8>, parquet::errors::ParquetError> {
    let schema = Arc::new(schema());
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).unwrap_or_default()))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_created_by(format!("trailscan {}", env!("CARGO_PKG_VERSION")))
        .build();
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, schema.clone(), Some(properties))?;
    for chunk in entries.chunks(ROW_GROUP_ROWS) {
        writer.write(&batch(&schema, chunk)?)?;
    }
    writer.close()?;
    Ok(out)
}

fn batch(
    schema: &Arc<Schema>,
    rows: &[CatalogEntry],
) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let strings = |f: &dyn Fn(&CatalogEntry) -> Option<&str>| -> ArrayRef {
        let mut b = StringBuilder::new();
        rows.iter().for_each(|r| b.append_option(f(r)));
        Arc::new(b.finish())
    };
    let numbers = |f: &dyn Fn(&CatalogEntry) -> u64| -> ArrayRef {
        let mut b = UInt64Builder::new();
        rows.iter().for_each(|r| b.append_value(f(r)));
        Arc::new(b.finish())
    };
    let micros = |f: &dyn Fn(&CatalogEntry) -> Option<i64>| -> ArrayRef {
        let mut b = TimestampMicrosecondBuilder::new().with_timezone("UTC");
        rows.iter().for_each(|r| b.append_option(f(r)));
        Arc::new(b.finish())
    };
    let mut modified = TimestampNanosecondBuilder::new().with_timezone("UTC");
    let mut delivered = TimestampSecondBuilder::new().with_timezone("UTC");
    let mut filters = BinaryBuilder::new();
    for r in rows {
        modified.append_option(r.modified_nanos);
        delivered.append_value(r.delivered_at);
        filters.append_value(&r.filter);
    }
    let columns: Vec<ArrayRef> = vec![
        strings(&|r| Some(&r.key)),
        numbers(&|r| r.size),
        strings(&|r| r.etag.as_deref()),
        Arc::new(modified.finish()),
        strings(&|r| Some(&r.account)),
        strings(&|r| Some(&r.region)),
        Arc::new(delivered.finish()),
        strings(&|r| r.problem.as_deref()),
        numbers(&|r| r.events),
        micros(&|r| r.event_micros.map(|t| t.0)),
        micros(&|r| r.event_micros.map(|t| t.1)),
        numbers(&|r| r.inflated_bytes),
        numbers(&|r| r.max_record_bytes),
        strings(&|r| Some(&r.inflated_sha256)),
        Arc::new(filters.finish()),
    ];
    RecordBatch::try_new(schema.clone(), columns)
}

/// Reads a segment back; any departure from [`schema`] is an error (a segment of another
/// format, or damaged past what the snapshot's SHA-256 would have caught).
pub fn read_segment(bytes: Bytes) -> Result<Vec<CatalogEntry>, String> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(|e| format!("not a Parquet file: {e}"))?
        .build()
        .map_err(|e| e.to_string())?;
    let expected = schema();
    let mut entries = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| e.to_string())?;
        if batch.schema().fields() != expected.fields() {
            return Err("columns are not those of a trailscan index segment".into());
        }
        append_rows(&batch, &mut entries);
    }
    Ok(entries)
}

fn append_rows(batch: &RecordBatch, out: &mut Vec<CatalogEntry>) {
    let c = |i: usize| batch.column(i);
    let (key, size, etag) = (
        c(0).as_string::<i32>(),
        c(1).as_primitive::<UInt64Type>(),
        c(2).as_string::<i32>(),
    );
    let modified = c(3).as_primitive::<TimestampNanosecondType>();
    let (account, region) = (c(4).as_string::<i32>(), c(5).as_string::<i32>());
    let delivered = c(6).as_primitive::<TimestampSecondType>();
    let problem = c(7).as_string::<i32>();
    let events = c(8).as_primitive::<UInt64Type>();
    let first = c(9).as_primitive::<TimestampMicrosecondType>();
    let last = c(10).as_primitive::<TimestampMicrosecondType>();
    let inflated = c(11).as_primitive::<UInt64Type>();
    let max_record = c(12).as_primitive::<UInt64Type>();
    let sha = c(13).as_string::<i32>();
    let filter = c(14).as_binary::<i32>();
    let opt_str =
        |a: &arrow_array::StringArray, i: usize| a.is_valid(i).then(|| a.value(i).to_string());
    for i in 0..batch.num_rows() {
        out.push(CatalogEntry {
            key: key.value(i).to_string(),
            size: size.value(i),
            etag: opt_str(etag, i),
            modified_nanos: modified.is_valid(i).then(|| modified.value(i)),
            account: account.value(i).to_string(),
            region: region.value(i).to_string(),
            delivered_at: delivered.value(i),
            problem: opt_str(problem, i),
            events: events.value(i),
            event_micros: (first.is_valid(i) && last.is_valid(i))
                .then(|| (first.value(i), last.value(i))),
            inflated_bytes: inflated.value(i),
            max_record_bytes: max_record.value(i),
            inflated_sha256: sha.value(i).to_string(),
            filter: filter.value(i).to_vec(),
        });
    }
}
