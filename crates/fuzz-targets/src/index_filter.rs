use trailscan_index::summary::{build_part, Summary};
use trailscan_index::ValueFilter;

/// An index's per-object filters and per-segment summaries, as a lookup probes them. The
/// first byte chooses: even, the rest is a serialized filter (then a summary) read as found
/// in an index and probed; odd, the rest is a list of hashes (8 bytes each) built into a
/// filter and a summary, then read back.
///
/// Invariants: bytes that parse as a filter or a summary are probed without a panic and
/// without reading past them; a filter or summary built from hashes holds every one of them
/// (no false negative, the one thing an index must never give).
pub fn index_filter(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        let probes = [
            0u64,
            1,
            u64::MAX,
            0x9e37_79b9_7f4a_7c15,
            u64::from(mode) << 56,
        ];
        if let Ok(filter) = ValueFilter::parse(rest) {
            probes.iter().for_each(|&h| {
                filter.may_contain(h);
            });
        }
        if let Ok(summary) = Summary::parse(rest) {
            probes.iter().for_each(|&h| {
                let _ = summary.may_contain(h);
            });
        }
        return;
    }
    let mut hashes: Vec<u64> = rest
        .chunks_exact(8)
        .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
        .collect();
    let given = hashes.clone();
    let bytes = ValueFilter::build(&mut hashes);
    let filter = ValueFilter::parse(&bytes).expect("a filter built reads back");
    for &h in &given {
        assert!(filter.may_contain(h), "the filter lost {h:#x}");
    }
    let summary = Summary::parse(&build_part(&given)).expect("a summary built reads back");
    // Each summary probe reads and checks its bucket: a sample of the hashes is enough.
    for &h in given.iter().step_by(given.len().div_ceil(16).max(1)) {
        assert_eq!(summary.may_contain(h), Ok(true), "the summary lost {h:#x}");
    }
}
