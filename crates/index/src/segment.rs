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
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use bytes::Bytes;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::arrow::ProjectionMask;
use parquet::basic::{Compression, Encoding};
use parquet::column::page::Page;
use parquet::file::metadata::ParquetMetaData;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::serialized_reader::SerializedPageReader;
use parquet::schema::types::ColumnPath;

use crate::catalog::{Catalog, CatalogEntry, Columns};

/// Rows per row group: a segment is read whole, so this only bounds the writer's memory.
const ROW_GROUP_ROWS: usize = 64 * 1024;

/// The column of serialized filters, the last of [`schema`].
const FILTER_COLUMN: &str = "filter";

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
        Field::new(FILTER_COLUMN, DataType::Binary, false),
    ])
}

/// Writes `entries` (sorted by key by the caller) as Parquet bytes; the same rows give the
/// same bytes.
pub fn write_segment(entries: &[CatalogEntry]) -> Result<Vec<u8>, parquet::errors::ParquetError> {
    write_with(entries, properties().build())
}

fn properties() -> parquet::file::properties::WriterPropertiesBuilder {
    // Nothing is compressed and every column is PLAIN: what a column decodes to is then its
    // bytes in the file (see `expansion_bound`), where a delta-encoded, dictionary-encoded or
    // compressed column of a damaged or hostile file could expand to GiBs. The filters (most
    // of the bytes) are random and would not compress anyway.
    WriterProperties::builder()
        .set_compression(Compression::UNCOMPRESSED)
        .set_dictionary_enabled(false)
        .set_column_statistics_enabled(ColumnPath::from(FILTER_COLUMN), EnabledStatistics::None)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_created_by(format!("trailscan {}", env!("CARGO_PKG_VERSION")))
}

fn write_with(
    entries: &[CatalogEntry],
    properties: WriterProperties,
) -> Result<Vec<u8>, parquet::errors::ParquetError> {
    let schema = Arc::new(schema());
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
/// format, or damaged past what the snapshot's checksum would have caught).
pub(crate) fn read_columns(bytes: Bytes) -> Result<Vec<Columns>, String> {
    // The Parquet and Arrow readers can panic on some damaged files; a damaged file is an
    // error that names it, never a crash.
    std::panic::catch_unwind(|| decode_columns(bytes))
        .unwrap_or_else(|_| Err("its Parquet cannot be decoded".to_string()))
}

fn decode_columns(bytes: Bytes) -> Result<Vec<Columns>, String> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(bytes.clone())
        .map_err(|e| format!("not a Parquet file: {e}"))?;
    let expected = schema();
    if builder.schema().fields() != expected.fields() {
        return Err("columns are not those of a trailscan index segment".into());
    }
    let bound = expansion_bound(builder.metadata())?;
    plain_pages_only(&bytes, builder.metadata())?;
    let cap = MAX_DECODED_BYTES.max(bytes.len() as u64 * 64);
    if bound > cap {
        return Err(format!(
            "its columns would decode to up to {bound} bytes, more than a segment of {} bytes can hold",
            bytes.len()
        ));
    }
    let filter_column = expected.fields().len() - 1;
    let mut filters = filters_in_place(&bytes, builder.metadata(), filter_column)?.into_iter();
    let catalog_columns = ProjectionMask::roots(builder.parquet_schema(), 0..filter_column);
    let reader = builder
        .with_projection(catalog_columns)
        .with_batch_size(ROW_GROUP_ROWS)
        .build()
        .map_err(|e| e.to_string())?;
    let mut batches = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| e.to_string())?;
        let c = |i: usize| batch.column(i);
        let filter: Vec<Bytes> = filters.by_ref().take(batch.num_rows()).collect();
        if filter.len() != batch.num_rows() {
            return Err("fewer filters than rows".into());
        }
        batches.push(Columns {
            key: c(0).as_string::<i32>().clone(),
            size: c(1).as_primitive::<UInt64Type>().clone(),
            etag: c(2).as_string::<i32>().clone(),
            modified: c(3).as_primitive::<TimestampNanosecondType>().clone(),
            account: c(4).as_string::<i32>().clone(),
            region: c(5).as_string::<i32>().clone(),
            delivered_at: c(6).as_primitive::<TimestampSecondType>().clone(),
            problem: c(7).as_string::<i32>().clone(),
            events: c(8).as_primitive::<UInt64Type>().clone(),
            first_event: c(9).as_primitive::<TimestampMicrosecondType>().clone(),
            last_event: c(10).as_primitive::<TimestampMicrosecondType>().clone(),
            inflated_bytes: c(11).as_primitive::<UInt64Type>().clone(),
            max_record_bytes: c(12).as_primitive::<UInt64Type>().clone(),
            inflated_sha256: c(13).as_string::<i32>().clone(),
            filter,
        });
    }
    if filters.next().is_some() {
        return Err("more filters than rows".into());
    }
    Ok(batches)
}

/// The most a segment decodes to whatever its size: a bound on what a damaged or hostile
/// file makes a lookup allocate.
const MAX_DECODED_BYTES: u64 = 256 << 20;

/// How many bytes the segment's columns can decode to at most, from its metadata alone; an
/// error for an encoding or a compression trailscan does not write, whose output the file's
/// size does not bound (a delta-encoded string column, a dictionary, a compressed page).
fn expansion_bound(metadata: &ParquetMetaData) -> Result<u64, String> {
    let mut bound = 0u64;
    for group in metadata.row_groups() {
        for chunk in group.columns() {
            if chunk.compression() != Compression::UNCOMPRESSED {
                return Err("a compressed column, which trailscan does not write".into());
            }
            // RLE: the definition levels of optional columns (and of nothing else here).
            if let Some(other) = chunk
                .encodings()
                .find(|e| !matches!(e, Encoding::PLAIN | Encoding::RLE))
            {
                return Err(format!(
                    "a column encoded {other}, which trailscan does not write"
                ));
            }
            let stored = u64::try_from(chunk.uncompressed_size()).map_err(|_| "a negative size")?;
            bound = bound.saturating_add(stored);
        }
    }
    Ok(bound)
}

/// Checks that every page is a PLAIN data page, as its column's metadata says: the reader
/// decodes each page as its own header says, so a file whose metadata claims PLAIN could
/// still carry delta-encoded or dictionary pages that expand past its bytes.
fn plain_pages_only(file: &Bytes, metadata: &ParquetMetaData) -> Result<(), String> {
    let file = Arc::new(file.clone());
    for group in metadata.row_groups() {
        let rows = usize::try_from(group.num_rows()).map_err(|_| "a negative row count")?;
        for chunk in group.columns() {
            let pages = SerializedPageReader::new(file.clone(), chunk, rows, None)
                .map_err(|e| e.to_string())?;
            for page in pages {
                match page.map_err(|e| e.to_string())? {
                    Page::DataPage {
                        encoding: Encoding::PLAIN,
                        ..
                    }
                    | Page::DataPageV2 {
                        encoding: Encoding::PLAIN,
                        ..
                    } => {}
                    Page::DictionaryPage { .. } => {
                        return Err("a dictionary page, which trailscan does not write".into())
                    }
                    Page::DataPage { encoding, .. } | Page::DataPageV2 { encoding, .. } => {
                        return Err(format!(
                            "a page encoded {encoding}, which trailscan does not write"
                        ))
                    }
                }
            }
        }
    }
    Ok(())
}

/// The filter column's values where they lie in `file`, as slices of it: an uncompressed
/// PLAIN page holds each value as its length (u32, little-endian) then its bytes. Arrow's
/// decoding would copy every filter out: most of the index's bytes, into fresh memory (a
/// page fault every 4 KiB), about a sixth of reading the benchmark's segments.
fn filters_in_place(
    file: &Bytes,
    metadata: &ParquetMetaData,
    column: usize,
) -> Result<Vec<Bytes>, String> {
    const NOT_AS_WRITTEN: &str = "its filters are not stored as trailscan writes them";
    let truncated = || "a filter page ends inside a value".to_string();
    let mut filters = Vec::new();
    let file = Arc::new(file.clone());
    for group in metadata.row_groups() {
        let chunk = group.column(column);
        if chunk.compression() != Compression::UNCOMPRESSED {
            return Err(NOT_AS_WRITTEN.into());
        }
        let rows = usize::try_from(group.num_rows()).map_err(|_| NOT_AS_WRITTEN)?;
        let pages = SerializedPageReader::new(file.clone(), chunk, rows, None)
            .map_err(|e| e.to_string())?;
        let first = filters.len();
        for page in pages {
            let (values, count) = match page.map_err(|e| e.to_string())? {
                Page::DataPage {
                    buf,
                    num_values,
                    encoding: Encoding::PLAIN,
                    ..
                } => (buf, num_values),
                Page::DataPageV2 {
                    buf,
                    num_values,
                    encoding: Encoding::PLAIN,
                    num_nulls: 0,
                    def_levels_byte_len: 0,
                    rep_levels_byte_len: 0,
                    ..
                } => (buf, num_values),
                _ => return Err(NOT_AS_WRITTEN.into()),
            };
            // Filters are probed in place as 16-bit fingerprints at even offsets from the
            // page's start (every filter's length is even): a page at an odd address is
            // copied once, to where it is aligned.
            let values = if values.as_ptr().align_offset(2) == 0 {
                values
            } else {
                Bytes::from(values.to_vec())
            };
            let mut at = 0usize;
            for _ in 0..count {
                let len = values
                    .get(at..at + 4)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
                    .ok_or_else(truncated)?;
                if values.len() - (at + 4) < len {
                    return Err(truncated());
                }
                filters.push(values.slice(at + 4..at + 4 + len));
                at += 4 + len;
            }
        }
        if filters.len() - first != rows {
            return Err(format!(
                "a row group of {rows} rows has {} filters",
                filters.len() - first
            ));
        }
    }
    Ok(filters)
}

/// Reads a segment's rows as owned entries (for tools and tests; lookups read columns).
pub fn read_segment(bytes: Bytes) -> Result<Vec<CatalogEntry>, String> {
    let mut catalog = Catalog::default();
    catalog.add(read_columns(bytes)?);
    let mut rows: Vec<CatalogEntry> = catalog.rows().map(|r| r.to_entry()).collect();
    rows.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(i: u64) -> CatalogEntry {
        CatalogEntry {
            key: format!("AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/01/f{i}.json.gz"),
            size: 1000 + i,
            etag: i.is_multiple_of(2).then(|| format!("\"etag{i}\"")),
            modified_nanos: Some(i as i64 * 1_000),
            account: "123456789012".into(),
            region: "us-east-1".into(),
            delivered_at: 1_704_067_200 + i as i64 * 300,
            problem: (i == 3).then(|| "records without eventTime".into()),
            events: 10 * i,
            event_micros: (i != 5).then_some((i as i64, i as i64 + 5)),
            inflated_bytes: 5000 + i,
            max_record_bytes: 900,
            inflated_sha256: format!("{i:064x}"),
            filter: crate::ValueFilter::build(&mut (0..i * 20).collect()),
        }
    }

    #[test]
    fn rows_come_back_as_written() {
        let mut rows: Vec<CatalogEntry> = (0..12).map(entry).collect();
        rows.sort_by(|a, b| a.key.cmp(&b.key));
        let bytes = write_segment(&rows).unwrap();
        assert_eq!(read_segment(Bytes::from(bytes.clone())).unwrap(), rows);
        assert_eq!(
            write_segment(&rows).unwrap(),
            bytes,
            "the same rows, the same bytes"
        );
    }

    /// Filters are read where they lie in the segment's bytes, or from one aligned copy of a
    /// page that starts at an odd address; either way as written, and probed in place (never
    /// copied again per probe).
    #[test]
    fn filters_are_read_in_place_or_from_an_aligned_page() {
        let (mut in_place, mut copied) = (0, 0);
        for n in 1..24 {
            let mut rows: Vec<CatalogEntry> = (0..n).map(entry).collect();
            rows.sort_by(|a, b| a.key.cmp(&b.key));
            let bytes = Bytes::from(write_segment(&rows).unwrap());
            let file = bytes.as_ptr_range();
            for columns in read_columns(bytes.clone()).unwrap() {
                for filter in &columns.filter {
                    match file.contains(&filter.as_ptr()) {
                        true => in_place += 1,
                        false => copied += 1,
                    }
                    let parsed = crate::ValueFilter::parse(filter).unwrap();
                    assert!(!matches!(parsed, crate::ValueFilter::Fuse16Copy(_)));
                }
            }
            assert_eq!(read_segment(bytes).unwrap(), rows);
        }
        assert!(
            in_place > 0 && copied > 0,
            "{in_place} in place, {copied} copied"
        );
    }

    /// Only the rows of the groups kept stay, whichever segments they were read from.
    #[test]
    fn rows_of_other_groups_are_let_go() {
        let mut rows: Vec<CatalogEntry> = (0..12).map(entry).collect();
        for row in rows.iter_mut().filter(|r| r.size % 3 == 0) {
            row.account = "210987654321".into();
            row.key = row.key.replace("123456789012", "210987654321");
        }
        rows.sort_by(|a, b| a.key.cmp(&b.key));
        let mut catalog = Catalog::default();
        catalog.add(read_columns(Bytes::from(write_segment(&rows).unwrap())).unwrap());
        let kept = crate::Group::new("123456789012", "us-east-1", 1_704_067_200);
        catalog.retain_groups(&[kept.clone()].into_iter().collect(), |_| false);
        let expected: Vec<&str> = rows
            .iter()
            .filter(|r| r.group() == kept)
            .map(|r| r.key.as_str())
            .collect();
        assert_eq!(expected.len(), 8);
        let mut left: Vec<&str> = catalog.rows().map(|r| r.key()).collect();
        left.sort();
        assert_eq!(left, expected);
    }

    /// Columns whose decoded size the file's bytes do not bound (as an index of format 2 wrote
    /// its keys, delta-encoded; a dictionary; a compressed page) are refused before decoding:
    /// a few hostile bytes could otherwise expand to GiBs.
    #[test]
    fn columns_that_could_expand_past_their_bytes_are_refused() {
        let rows: Vec<CatalogEntry> = (0..12).map(entry).collect();
        let written = |p: parquet::file::properties::WriterPropertiesBuilder| {
            Bytes::from(write_with(&rows, p.build()).unwrap())
        };
        let delta =
            properties().set_column_encoding(ColumnPath::from("key"), Encoding::DELTA_BYTE_ARRAY);
        let err = read_columns(written(delta)).err().unwrap();
        assert!(err.contains("DELTA_BYTE_ARRAY"), "{err}");
        let dictionary = properties().set_dictionary_enabled(true);
        let err = read_columns(written(dictionary)).err().unwrap();
        assert!(err.contains("DICTIONARY"), "{err}");
        let zstd = properties().set_compression(Compression::ZSTD(Default::default()));
        let err = read_columns(written(zstd)).err().unwrap();
        assert!(err.contains("compressed"), "{err}");
        assert!(read_columns(written(properties())).is_ok());
    }

    /// The pages are checked themselves, not only the metadata's list of encodings (which a
    /// hostile file can write as PLAIN over delta-encoded or dictionary pages): each page's
    /// own header says how the reader will decode it.
    #[test]
    fn every_page_is_checked_plain_by_its_own_header() {
        let rows: Vec<CatalogEntry> = (0..12).map(entry).collect();
        let check = |p: parquet::file::properties::WriterPropertiesBuilder| {
            let bytes = Bytes::from(write_with(&rows, p.build()).unwrap());
            let reader = ParquetRecordBatchReaderBuilder::try_new(bytes.clone()).unwrap();
            plain_pages_only(&bytes, reader.metadata())
        };
        let delta =
            properties().set_column_encoding(ColumnPath::from("key"), Encoding::DELTA_BYTE_ARRAY);
        let err = check(delta).unwrap_err();
        assert!(err.contains("a page encoded DELTA_BYTE_ARRAY"), "{err}");
        let err = check(properties().set_dictionary_enabled(true)).unwrap_err();
        assert!(err.contains("a dictionary page"), "{err}");
        assert_eq!(check(properties()), Ok(()));
    }

    /// A segment damaged anywhere (past the checksum that normally catches it first) is an
    /// error or some rows, never a panic.
    #[test]
    fn a_damaged_segment_is_an_error_not_a_crash() {
        let rows: Vec<CatalogEntry> = (0..12).map(entry).collect();
        let bytes = write_segment(&rows).unwrap();
        for at in (0..bytes.len()).step_by(7) {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut damaged = bytes.clone();
                damaged[at] ^= flip;
                let _ = read_columns(Bytes::from(damaged));
            }
        }
        for len in (0..bytes.len()).step_by(13) {
            assert!(read_columns(Bytes::from(bytes[..len].to_vec())).is_err());
        }
    }
}
