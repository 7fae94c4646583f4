//! gzip to bytes, with a cap on the inflated size and a check for data after the stream.
//!
//! CloudTrail writes every object as one gzip member. Bytes after that member are not
//! CloudTrail's: `zcat` and Python's `gzip` module would read an appended member as more
//! records, while the digest's hash covers only the first member's content, which is why
//! AWS CLI 1.45.12 started reporting "unexpected data after end of compressed stream"
//! (aws-cli commit 53c1084b5). Callers get the first member and the count of bytes after it.

use std::io::{self, Read};

use flate2::bufread::GzDecoder;

/// Default cap on one object's inflated size: far above any real CloudTrail log file, and a
/// bound on a worker's memory against gzip bombs.
pub const DEFAULT_MAX_INFLATED_BYTES: u64 = 1 << 30;

/// Why an object's bytes could not be inflated.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum InflateError {
    /// Zero bytes.
    #[error("empty file")]
    Empty,
    /// Does not start with the gzip magic bytes.
    #[error("not a gzip file (starts with {0})")]
    NotGzip(String),
    /// The gzip stream is truncated, or its data or trailer is corrupt.
    #[error("corrupt or truncated gzip: {0}")]
    Corrupt(String),
    /// Inflates to more than the cap.
    #[error("inflates to more than {limit} bytes (raise --max-inflated-size if this is a real log file)")]
    TooLarge {
        /// The cap in force.
        limit: u64,
    },
}

/// What inflating found besides the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inflated {
    /// Bytes after the end of the first gzip member (0 for every file CloudTrail wrote).
    pub trailing_bytes: u64,
}

/// Inflates the first gzip member of `compressed` into `out` (cleared first, capacity kept).
pub fn inflate_gzip(
    compressed: &[u8],
    out: &mut Vec<u8>,
    max_inflated: u64,
) -> Result<Inflated, InflateError> {
    out.clear();
    match compressed {
        [] => return Err(InflateError::Empty),
        [0x1f, 0x8b, ..] => {}
        other => {
            let head: Vec<String> = other.iter().take(4).map(|b| format!("{b:02x}")).collect();
            return Err(InflateError::NotGzip(head.join(" ")));
        }
    }
    let mut decoder = GzDecoder::new(compressed);
    let read = (&mut decoder)
        .take(max_inflated.saturating_add(1))
        .read_to_end(out);
    match read {
        Ok(n) if n as u64 > max_inflated => {
            // A bomb's memory goes back at once: `out` is a worker's buffer, reused for every
            // object it reads, and would otherwise keep the cap's worth for the whole scan.
            *out = Vec::new();
            Err(InflateError::TooLarge {
                limit: max_inflated,
            })
        }
        Ok(_) => Ok(Inflated {
            trailing_bytes: decoder.into_inner().len() as u64,
        }),
        Err(e) => Err(InflateError::Corrupt(describe(&e))),
    }
}

fn describe(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => "the stream ends early (truncated file)".to_string(),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn round_trip_and_trailing_data() {
        let mut out = Vec::new();
        let one = gz(b"{\"Records\":[]}");
        assert_eq!(
            inflate_gzip(&one, &mut out, 1 << 20),
            Ok(Inflated { trailing_bytes: 0 })
        );
        assert_eq!(out, b"{\"Records\":[]}");
        let mut two = one.clone();
        two.extend(gz(b"appended"));
        let info = inflate_gzip(&two, &mut out, 1 << 20).unwrap();
        assert_eq!(out, b"{\"Records\":[]}", "only the first member is content");
        assert_eq!(info.trailing_bytes, gz(b"appended").len() as u64);
    }

    #[test]
    fn bad_inputs_say_what_is_wrong() {
        let mut out = Vec::new();
        assert_eq!(inflate_gzip(b"", &mut out, 10), Err(InflateError::Empty));
        assert!(matches!(
            inflate_gzip(b"{\"a\":1}", &mut out, 10),
            Err(InflateError::NotGzip(_))
        ));
        let good = gz(&[b'x'; 5000]);
        let truncated = &good[..good.len() / 2];
        assert!(matches!(
            inflate_gzip(truncated, &mut out, 1 << 20),
            Err(InflateError::Corrupt(_))
        ));
        let mut bad_crc = good.clone();
        let n = bad_crc.len();
        bad_crc[n - 6] ^= 0xff;
        assert!(matches!(
            inflate_gzip(&bad_crc, &mut out, 1 << 20),
            Err(InflateError::Corrupt(_))
        ));
        assert_eq!(
            inflate_gzip(&good, &mut out, 100),
            Err(InflateError::TooLarge { limit: 100 })
        );
    }

    /// Found by the `log_file` fuzz target: over the cap, the buffer held the cap plus one
    /// byte, and kept its capacity for the next object.
    #[test]
    fn over_the_cap_nothing_is_kept() {
        let mut out = Vec::new();
        let bomb = gz(&[b' '; 1 << 20]);
        assert_eq!(
            inflate_gzip(&bomb, &mut out, 1000),
            Err(InflateError::TooLarge { limit: 1000 })
        );
        assert_eq!((out.len(), out.capacity()), (0, 0));
        assert_eq!(
            inflate_gzip(&bomb, &mut out, 1 << 20),
            Ok(Inflated { trailing_bytes: 0 })
        );
        assert_eq!(out.len(), 1 << 20, "exactly the cap is allowed");
    }
}
