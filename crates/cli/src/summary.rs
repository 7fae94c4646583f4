//! The end-of-run summary on stderr: what was scanned, skipped and failed.

use std::time::Duration;

use trailscan_archive::Listing;
use trailscan_query::ScanStats;

use trailscan_engine::IndexUse;

fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1e6)
}

/// Lines of the lookup summary.
pub fn lookup_summary(
    listing: &Listing,
    stats: &ScanStats,
    returned: usize,
    duplicates: u64,
    elapsed: Duration,
    index: Option<IndexUse>,
) -> String {
    let secs = elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        stats.bytes_inflated as f64 / 1e6 / secs
    } else {
        0.0
    };
    let mut lines = vec![format!(
        "trailscan: {} log files listed: {} read, {} failed, {} with problems; {} ruled out by the prefilter without parsing",
        listing.objects_listed, stats.objects_read, stats.objects_failed, stats.objects_with_problems, stats.objects_ruled_out
    )];
    if let Some(index) = index {
        lines.push(index.to_string());
    }
    lines.push(format!("  skipped: {}", listing.skipped));
    if !listing.problems.is_empty() {
        lines.push(format!("  listing problems: {}", listing.problems.len()));
    }
    lines.push(format!(
        "  events: {} in split files, {} parsed, {} unreadable, {} matched, {} returned ({} duplicate deliveries dropped)",
        stats.records, stats.records_parsed, stats.records_skipped, stats.records_matched, returned, duplicates
    ));
    lines.push(format!(
        "  read {} compressed, {} inflated in {:.3} s ({:.0} MB/s inflated)",
        mb(stats.bytes_read),
        mb(stats.bytes_inflated),
        secs,
        rate
    ));
    lines.join("\n")
}
