//! A log file against the SHA-256 its digest lists (awscli `_download_log`).
//!
//! The AWS CLI streams the object through `zlib.decompressobj` and hashes what comes out: a
//! truncated stream is hashed as far as it goes (so it fails as "hash value doesn't match",
//! or passes when only the trailer is cut), a corrupt stream or checksum is "invalid format".
//! Data after the gzip stream is reported as AWS CLI 1.45.12 reports it. A log file that
//! cannot be fetched for another reason than its absence is "invalid format" as the AWS CLI
//! words it (its `except Exception`), with the cause added.

use std::io::{self, Read};

use flate2::bufread::GzDecoder;
use sha2::{Digest, Sha256};

use std::collections::{BTreeMap, HashMap};

use trailscan_archive::StoreError;

use crate::buckets::{Buckets, Fetched};
use crate::walk::LogKey;

/// What reading a log file gave, before comparing with any digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogRead {
    /// Inflated and hashed.
    Hashed {
        /// Lowercase hex SHA-256 of the inflated bytes.
        sha256: String,
        /// Bytes after the end of the gzip stream.
        trailing_bytes: u64,
    },
    /// No such object.
    NotFound,
    /// Not gzip, or corrupt.
    InvalidFormat,
    /// Could not be fetched (permissions, the network): what the store said.
    Unreadable(String),
}

/// A log file's verdict against one digest's `hashValue`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogVerdict {
    /// The hash matches.
    Valid,
    /// `INVALID: hash value doesn't match`.
    HashMismatch,
    /// `INVALID: not found`.
    NotFound,
    /// `INVALID: invalid format`.
    InvalidFormat,
    /// `INVALID: unexpected data after end of compressed stream` (AWS CLI 1.45.12).
    TrailingData,
    /// `INVALID: invalid format (cannot read: CAUSE)`: not fetched, for the reason given.
    Unreadable(String),
}

impl LogVerdict {
    /// The AWS CLI's words after `INVALID: `, or `None` when valid.
    pub fn message(&self) -> Option<String> {
        let words = match self {
            LogVerdict::Valid => return None,
            LogVerdict::HashMismatch => "hash value doesn't match",
            LogVerdict::NotFound => "not found",
            LogVerdict::InvalidFormat => "invalid format",
            LogVerdict::TrailingData => "unexpected data after end of compressed stream",
            LogVerdict::Unreadable(cause) => {
                return Some(format!("invalid format (cannot read: {cause})"))
            }
        };
        Some(words.to_string())
    }
}

/// Reads, inflates and hashes one log file, streaming (the inflated file is never held).
pub fn hash_log(buckets: &Buckets, bucket: &str, key: &str) -> LogRead {
    hash_fetched(buckets.get(bucket, key))
}

/// Inflates and hashes a log file as read, or says why it could not be read.
pub fn hash_fetched(fetched: Result<Fetched, StoreError>) -> LogRead {
    match fetched {
        Ok(f) => hash_gzip(&f.body),
        Err(e) if e.is_not_found() => LogRead::NotFound,
        Err(e) => LogRead::Unreadable(e.problem.to_string()),
    }
}

/// Every log file of `logs` read (as many in flight as the source keeps) and hashed once, on
/// the current rayon pool; `checked` is told of each.
pub fn hash_logs(
    buckets: &Buckets,
    logs: &[LogKey],
    checked: &(dyn Fn(u64) + Sync),
) -> HashMap<LogKey, LogRead> {
    let mut by_bucket: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (bucket, key) in logs {
        by_bucket.entry(bucket).or_default().push(key);
    }
    let mut reads = HashMap::with_capacity(logs.len());
    for (bucket, keys) in by_bucket {
        let hashed = buckets.map_fetched(bucket, &keys, |_, fetched| {
            let read = hash_fetched(fetched);
            checked(1);
            read
        });
        for (i, read) in hashed {
            reads.insert((bucket.to_string(), keys[i].to_string()), read);
        }
    }
    reads
}

/// Hashes the first gzip member of `body` as the AWS CLI does.
pub fn hash_gzip(body: &[u8]) -> LogRead {
    // zlib rejects a wrong magic or method as soon as it sees the bytes, even in a stream
    // too short to hold a whole header.
    if body.first().is_some_and(|&b| b != 0x1f)
        || body.get(1).is_some_and(|&b| b != 0x8b)
        || body.get(2).is_some_and(|&b| b != 8)
    {
        return LogRead::InvalidFormat;
    }
    let mut decoder = GzDecoder::new(body);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match decoder.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            // Truncated: zlib's decompressobj gives what it has without an error.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                return LogRead::Hashed {
                    sha256: hex::encode(hasher.finalize()),
                    trailing_bytes: 0,
                };
            }
            // A corrupt stream or checksum: the AWS CLI's "invalid format", whatever zlib said.
            Err(_) => return LogRead::InvalidFormat,
        }
    }
    let trailing_bytes = decoder.into_inner().len() as u64;
    LogRead::Hashed {
        sha256: hex::encode(hasher.finalize()),
        trailing_bytes,
    }
}

/// The verdict for a digest that lists `expected`.
pub fn verdict(read: &LogRead, expected: &str) -> LogVerdict {
    match read {
        LogRead::NotFound => LogVerdict::NotFound,
        LogRead::InvalidFormat => LogVerdict::InvalidFormat,
        LogRead::Unreadable(cause) => LogVerdict::Unreadable(cause.clone()),
        LogRead::Hashed { trailing_bytes, .. } if *trailing_bytes > 0 => LogVerdict::TrailingData,
        LogRead::Hashed { sha256, .. } if sha256 == expected => LogVerdict::Valid,
        LogRead::Hashed { .. } => LogVerdict::HashMismatch,
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

    // SHA-256 of `{}` (the AWS CLI suite's first log body).
    const EMPTY_OBJECT: &str = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

    #[test]
    fn verdicts_as_the_aws_cli_gives_them() {
        let good = gz(b"{}");
        assert_eq!(verdict(&hash_gzip(&good), EMPTY_OBJECT), LogVerdict::Valid);
        assert_eq!(
            verdict(&hash_gzip(&good), &EMPTY_OBJECT.to_uppercase()),
            LogVerdict::HashMismatch
        );
        assert_eq!(
            verdict(&hash_gzip(b"{}"), EMPTY_OBJECT),
            LogVerdict::InvalidFormat
        );
        // Too short to tell: zlib waits for more and the hash is of nothing.
        assert_eq!(
            verdict(&hash_gzip(&[0x1f]), EMPTY_OBJECT),
            LogVerdict::HashMismatch
        );
        assert_eq!(
            verdict(&hash_gzip(b""), EMPTY_OBJECT),
            LogVerdict::HashMismatch
        );
        // Trailer cut off, content complete: the AWS CLI never checks the trailer.
        assert_eq!(
            verdict(&hash_gzip(&good[..good.len() - 8]), EMPTY_OBJECT),
            LogVerdict::Valid
        );
        let big = gz(&[b'x'; 100_000]);
        assert_eq!(
            verdict(&hash_gzip(&big[..big.len() / 2]), EMPTY_OBJECT),
            LogVerdict::HashMismatch
        );
        let mut bad_crc = good.clone();
        let n = bad_crc.len();
        bad_crc[n - 8] ^= 1;
        assert_eq!(
            verdict(&hash_gzip(&bad_crc), EMPTY_OBJECT),
            LogVerdict::InvalidFormat
        );
        let mut two = good.clone();
        two.extend(gz(b"{\"Records\":[]}"));
        assert_eq!(
            verdict(&hash_gzip(&two), EMPTY_OBJECT),
            LogVerdict::TrailingData
        );
    }
}
