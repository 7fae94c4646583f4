use bytes::Bytes;
use trailscan_index::{read_segment, write_segment};

/// A segment file (Parquet) as a lookup reads it: the columns checked against what trailscan
/// writes (schema, encodings, compression, the bound on what they decode to), the filters
/// found in place.
///
/// The Parquet reader can panic on some damaged files; trailscan catches that and reports
/// the file as damaged, so the fuzzer's abort-on-panic hook is set aside around the read, as
/// production runs it. Invariant: rows that read are written back to bytes that read as the
/// same rows.
pub fn index_segment(data: &[u8]) {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let rows = read_segment(Bytes::copy_from_slice(data));
    std::panic::set_hook(hook);
    let Ok(rows) = rows else {
        return;
    };
    let again = write_segment(&rows).expect("rows that read can be written");
    let back = read_segment(Bytes::from(again)).expect("a segment written reads");
    assert_eq!(back, rows, "rows changed through a write and a read");
}
