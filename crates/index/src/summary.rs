//! A segment's summary: every lookup-value hash of its rows, so that a lookup rules a whole
//! segment out without reading it.
//!
//! The hashes are split into [`BUCKETS`] buckets by their top bits, each a [`ValueFilter`]
//! with its own XXH3: a probe reads and checks one bucket (about a 64th of the summary), so
//! that ruling a segment out costs a few kilobytes however large the segment, and every byte
//! it trusts was checked. The file `segments/<SHA-256>.summary` is a sequence of parts: a
//! segment merged from others keeps each one's part (the hashes are not kept, only their
//! filters), and a value may be in the segment where any part may hold it.
//!
//! A part: the magic `TSSUM001`, then per bucket its offset from the part's start, its
//! length (u32 each) and its XXH3 (u64), all little-endian, then the buckets' filters, each at
//! an even offset (filters are probed in place as 16-bit words).

use bytes::Bytes;
use trailscan_archive::{Operation, Problem, Ranges, StoreError};

use crate::filter::ValueFilter;

/// Buckets per part.
pub const BUCKETS: usize = 64;

const MAGIC: &[u8; 8] = b"TSSUM001";
const HEADER: usize = MAGIC.len() + BUCKETS * 16;

/// Serializes one part over `hashes` (any order, repeats allowed).
pub fn build_part(hashes: &[u64]) -> Vec<u8> {
    let mut buckets: Vec<Vec<u64>> = vec![Vec::new(); BUCKETS];
    for &h in hashes {
        buckets[bucket_of(h)].push(h);
    }
    let filters: Vec<Vec<u8>> = buckets.iter_mut().map(ValueFilter::build).collect();
    let mut out = Vec::with_capacity(HEADER + filters.iter().map(Vec::len).sum::<usize>());
    out.extend_from_slice(MAGIC);
    let mut at = HEADER;
    for filter in &filters {
        out.extend((at as u32).to_le_bytes());
        out.extend((filter.len() as u32).to_le_bytes());
        out.extend(twox_hash::XxHash3_64::oneshot(filter).to_le_bytes());
        at += filter.len();
    }
    filters.iter().for_each(|f| out.extend_from_slice(f));
    out
}

fn bucket_of(hash: u64) -> usize {
    (hash >> (64 - BUCKETS.trailing_zeros())) as usize
}

/// A summary file, its parts' headers read and checked; a bucket is read and checked as it
/// is probed, and nothing else of the file is read.
pub struct Summary {
    file: Box<dyn Ranges>,
    /// Each part's start and bucket table.
    parts: Vec<(u64, Vec<Bucket>)>,
}

/// A bucket's offset from its part's start, length and XXH3.
type Bucket = (usize, usize, u64);

/// Bytes in memory, read as an object's parts.
pub struct InMemory(pub Bytes);

impl Ranges for InMemory {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), StoreError> {
        let part = usize::try_from(offset)
            .ok()
            .and_then(|at| self.0.get(at..at.checked_add(buf.len())?));
        match part {
            Some(part) => {
                buf.copy_from_slice(part);
                Ok(())
            }
            None => Err(StoreError::new(
                Operation::Read,
                "a summary",
                Problem::Io(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "a read past its end",
                )),
            )),
        }
    }
}

impl Summary {
    /// The parts of `file`, or what is wrong with their headers.
    pub fn open(file: Box<dyn Ranges>) -> Result<Summary, String> {
        let len = file.len();
        let mut parts = Vec::new();
        let mut at = 0u64;
        let mut header = vec![0u8; HEADER];
        while at < len {
            if len - at < HEADER as u64 {
                return Err("a summary part without its header".into());
            }
            file.read_at(at, &mut header)
                .map_err(|e| e.problem.to_string())?;
            if &header[..MAGIC.len()] != MAGIC {
                return Err("a summary part without its header".into());
            }
            let mut end = HEADER;
            let mut table = Vec::with_capacity(BUCKETS);
            for b in 0..BUCKETS {
                let (offset, len_b, xxh3) = entry(&header, b);
                if offset != end || len_b % 2 != 0 {
                    return Err("a summary bucket out of place".into());
                }
                end = offset + len_b;
                table.push((offset, len_b, xxh3));
            }
            if at + end as u64 > len {
                return Err("a summary part longer than its file".into());
            }
            parts.push((at, table));
            at += end as u64;
        }
        if parts.is_empty() {
            return Err("an empty summary".into());
        }
        Ok(Summary { file, parts })
    }

    /// [`Summary::open`] over bytes in memory.
    pub fn parse(bytes: &[u8]) -> Result<Summary, String> {
        Summary::open(Box::new(InMemory(Bytes::copy_from_slice(bytes))))
    }

    /// Whether the segment may hold a row with `hash` among its values; an error where the
    /// bucket read is not as written.
    pub fn may_contain(&self, hash: u64) -> Result<bool, String> {
        let b = bucket_of(hash);
        for (start, table) in &self.parts {
            let (offset, len, xxh3) = table[b];
            let mut filter = vec![0u8; len];
            self.file
                .read_at(start + offset as u64, &mut filter)
                .map_err(|e| e.problem.to_string())?;
            if twox_hash::XxHash3_64::oneshot(&filter) != xxh3 {
                return Err(format!(
                    "summary bucket {b}: its XXH3 checksum does not match"
                ));
            }
            let parsed =
                ValueFilter::parse(&filter).map_err(|e| format!("summary bucket {b}: {e}"))?;
            if parsed.may_contain(hash) {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// Bucket `b`'s (offset, length, XXH3) in a part's header.
fn entry(header: &[u8], b: usize) -> (usize, usize, u64) {
    let at = MAGIC.len() + b * 16;
    let u32_at =
        |i: usize| u32::from_le_bytes(header[i..i + 4].try_into().expect("4 bytes")) as usize;
    let xxh3 = u64::from_le_bytes(header[at + 8..at + 16].try_into().expect("8 bytes"));
    (u32_at(at), u32_at(at + 4), xxh3)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes(n: u64, salt: u64) -> Vec<u64> {
        (0..n)
            .map(|i| (i ^ salt).wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .collect()
    }

    #[test]
    fn every_hash_is_found_in_its_part_and_a_merge_keeps_both() {
        let (a, b) = (hashes(5000, 0), hashes(300, 1 << 40));
        let mut merged = build_part(&a);
        merged.extend(build_part(&b));
        let one = build_part(&a);
        let summary = Summary::parse(&merged).unwrap();
        assert!(a.iter().chain(&b).all(|&h| summary.may_contain(h).unwrap()));
        let only_a = Summary::parse(&one).unwrap();
        let missed = b
            .iter()
            .filter(|&&h| !only_a.may_contain(h).unwrap())
            .count();
        assert!(missed > 290, "{missed} of 300 ruled out");
        assert!(Summary::parse(&build_part(&[]))
            .unwrap()
            .may_contain(7)
            .is_ok());
    }

    #[test]
    fn a_damaged_summary_is_an_error_not_an_answer() {
        let bytes = build_part(&hashes(2000, 3));
        assert!(Summary::parse(&bytes[..bytes.len() - 2]).is_err());
        assert!(Summary::parse(&[]).is_err());
        assert!(Summary::parse(&bytes[..100]).is_err());
        let probe = hashes(2000, 3)[17];
        let b = bucket_of(probe);
        let (offset, len, _) = entry(&bytes, b);
        let mut flipped = bytes.clone();
        flipped[offset + len / 2] ^= 0x40;
        let summary = Summary::parse(&flipped).unwrap();
        assert!(summary.may_contain(probe).is_err());
    }
}
