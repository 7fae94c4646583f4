//! Rows as JSON lines, from the same Arrow columns the Parquet files are encoded from: one
//! object per row, members in table order, absent and null members left out, the event time
//! as `2024-01-15T03:04:05.000Z`.

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, TimestampMillisecondType};
use arrow_array::{Array, RecordBatch, StructArray};

use crate::dates::iso_millis;
use crate::schema::{Column, Kind, COLUMNS};
use trailscan_records::json_text::write_str;

/// Appends every row of `batch` (of the table's schema), each ended by a newline.
pub fn write_rows(batch: &RecordBatch, out: &mut Vec<u8>) {
    for row in 0..batch.num_rows() {
        write_members(
            COLUMNS,
            batch.columns().iter().map(|c| c.as_ref()),
            row,
            out,
        );
        out.push(b'\n');
    }
}

/// `{"name":value,...}` of the non-null members of one row.
fn write_members<'a>(
    columns: &[Column],
    arrays: impl Iterator<Item = &'a dyn Array>,
    row: usize,
    out: &mut Vec<u8>,
) {
    out.push(b'{');
    let mut first = true;
    for (column, array) in columns.iter().zip(arrays) {
        if array.is_null(row) {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        write_str(column.name, out);
        out.push(b':');
        write_cell(&column.kind, array, row, out);
    }
    out.push(b'}');
}

fn write_struct(columns: &[Column], array: &StructArray, row: usize, out: &mut Vec<u8>) {
    write_members(
        columns,
        array.columns().iter().map(|c| c.as_ref()),
        row,
        out,
    );
}

/// One non-null value.
fn write_cell(kind: &Kind, array: &dyn Array, row: usize, out: &mut Vec<u8>) {
    match kind {
        Kind::Str => write_str(array.as_string::<i32>().value(row), out),
        Kind::Struct(columns) => write_struct(columns, array.as_struct(), row, out),
        Kind::ListOfStruct(columns) => {
            let list = array.as_list::<i32>();
            let items = list.values().as_struct();
            let offsets = list.value_offsets();
            out.push(b'[');
            for item in offsets[row] as usize..offsets[row + 1] as usize {
                if item > offsets[row] as usize {
                    out.push(b',');
                }
                if items.is_null(item) {
                    out.extend_from_slice(b"null");
                } else {
                    write_struct(columns, items, item, out);
                }
            }
            out.push(b']');
        }
        Kind::MapOfStr => {
            let map = array.as_map();
            let (keys, values) = (
                map.keys().as_string::<i32>(),
                map.values().as_string::<i32>(),
            );
            let offsets = map.value_offsets();
            out.push(b'{');
            for entry in offsets[row] as usize..offsets[row + 1] as usize {
                if entry > offsets[row] as usize {
                    out.push(b',');
                }
                write_str(keys.value(entry), out);
                out.push(b':');
                write_str(values.value(entry), out);
            }
            out.push(b'}');
        }
        Kind::TimestampMillis => write_str(
            &iso_millis(array.as_primitive::<TimestampMillisecondType>().value(row)),
            out,
        ),
        Kind::Int32 => out.extend_from_slice(
            itoa::Buffer::new()
                .format(array.as_primitive::<Int32Type>().value(row))
                .as_bytes(),
        ),
    }
}
