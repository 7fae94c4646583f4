//! One object's set of lookup-value hashes: an exact sorted list when that is smaller, else
//! a BinaryFuse16 filter (about 18 bits a value, false positives 2^-16, never a false
//! negative).
//!
//! Serialized as one byte of kind, then:
//! - `0` (exact): the hashes, sorted and distinct, 8 bytes each, little-endian;
//! - `1` (BinaryFuse16): seed (u64), segment length, its mask, segment count length (u32
//!   each), then the 16-bit fingerprints, all little-endian.
//!
//! xorf builds from a fixed seed, so the same values give the same bytes.

use xorf::{BinaryFuse16, Filter};

/// Up to this many values, the exact list is kept without trying a filter: a filter of a
/// few values is not smaller than their list.
const EXACT_UP_TO: usize = 32;

const KIND_EXACT: u8 = 0;
const KIND_FUSE16: u8 = 1;
const DESCRIPTOR_LEN: usize = 8 + 4 * 3;

/// A parsed filter, ready to probe.
#[derive(Debug, Clone)]
pub enum ValueFilter {
    /// Every hash, sorted and distinct.
    Exact(Vec<u64>),
    /// A BinaryFuse16 over the distinct hashes.
    Fuse16(BinaryFuse16),
}

/// Bytes that are not a filter this format writes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a filter: {0}")]
pub struct BadFilter(pub &'static str);

impl ValueFilter {
    /// Serializes the set of `hashes` (in any order, repeats allowed) as the smaller of its
    /// two forms.
    pub fn build(hashes: &mut Vec<u64>) -> Vec<u8> {
        hashes.sort_unstable();
        hashes.dedup();
        let exact = || {
            let mut out = Vec::with_capacity(1 + hashes.len() * 8);
            out.push(KIND_EXACT);
            hashes.iter().for_each(|h| out.extend(h.to_le_bytes()));
            out
        };
        if hashes.len() <= EXACT_UP_TO {
            return exact();
        }
        // Construction fails only on repeated keys (removed above); the list is the fallback.
        match BinaryFuse16::try_from(&hashes[..]) {
            Ok(f) if 1 + DESCRIPTOR_LEN + f.fingerprints.len() * 2 < 1 + hashes.len() * 8 => {
                let d = &f.descriptor;
                let mut out = Vec::with_capacity(1 + DESCRIPTOR_LEN + f.fingerprints.len() * 2);
                out.push(KIND_FUSE16);
                out.extend(d.seed.to_le_bytes());
                out.extend(d.segment_length.to_le_bytes());
                out.extend(d.segment_length_mask.to_le_bytes());
                out.extend(d.segment_count_length.to_le_bytes());
                f.fingerprints
                    .iter()
                    .for_each(|p| out.extend(p.to_le_bytes()));
                out
            }
            _ => exact(),
        }
    }

    /// Parses what [`ValueFilter::build`] wrote, checking every bound a probe relies on (an
    /// index is read from wherever the user keeps it).
    pub fn parse(bytes: &[u8]) -> Result<ValueFilter, BadFilter> {
        let (&kind, rest) = bytes.split_first().ok_or(BadFilter("empty"))?;
        match kind {
            KIND_EXACT => {
                if !rest.len().is_multiple_of(8) {
                    return Err(BadFilter("exact list not a multiple of 8 bytes"));
                }
                let hashes: Vec<u64> = rest
                    .chunks_exact(8)
                    .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
                    .collect();
                if hashes.windows(2).any(|w| w[0] >= w[1]) {
                    return Err(BadFilter("exact list not sorted"));
                }
                Ok(ValueFilter::Exact(hashes))
            }
            KIND_FUSE16 => {
                if rest.len() < DESCRIPTOR_LEN || !(rest.len() - DESCRIPTOR_LEN).is_multiple_of(2) {
                    return Err(BadFilter("fuse filter truncated"));
                }
                let (d, prints) = rest.split_at(DESCRIPTOR_LEN);
                let u32_at = |i: usize| u32::from_le_bytes(d[i..i + 4].try_into().expect("4"));
                let descriptor = xorf::Descriptor {
                    seed: u64::from_le_bytes(d[..8].try_into().expect("8 bytes")),
                    segment_length: u32_at(8),
                    segment_length_mask: u32_at(12),
                    segment_count_length: u32_at(16),
                };
                let fingerprints: Box<[u16]> = prints
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect();
                // A probe reads fingerprints up to segment_count_length + 2 segments.
                let length = descriptor.segment_length;
                let reach = u64::from(descriptor.segment_count_length) + 2 * u64::from(length);
                if !length.is_power_of_two()
                    || descriptor.segment_length_mask != length - 1
                    || reach > fingerprints.len() as u64
                {
                    return Err(BadFilter("fuse filter's descriptor out of bounds"));
                }
                Ok(ValueFilter::Fuse16(BinaryFuse16 {
                    descriptor,
                    fingerprints,
                }))
            }
            _ => Err(BadFilter("unknown kind")),
        }
    }

    /// Whether the set may hold `hash` (certainly, for the exact list).
    pub fn may_contain(&self, hash: u64) -> bool {
        match self {
            ValueFilter::Exact(list) => list.binary_search(&hash).is_ok(),
            ValueFilter::Fuse16(filter) => filter.contains(&hash),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes(n: u64) -> Vec<u64> {
        (0..n)
            .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .collect()
    }

    #[test]
    fn small_sets_are_exact_and_large_ones_fuse_filters_without_false_negatives() {
        for n in [0, 1, 5, 32, 33, 100, 5000] {
            let values = hashes(n);
            let bytes = ValueFilter::build(&mut values.clone());
            let filter = ValueFilter::parse(&bytes).unwrap();
            assert_eq!(
                matches!(filter, ValueFilter::Exact(_)),
                n <= 32,
                "{n} values"
            );
            assert!(values.iter().all(|&h| filter.may_contain(h)), "{n} values");
            if n <= 32 {
                assert!(!filter.may_contain(12345));
            }
        }
    }

    #[test]
    fn the_same_values_in_any_order_give_the_same_bytes() {
        let mut values = hashes(1000);
        let a = ValueFilter::build(&mut values.clone());
        values.reverse();
        values.extend(hashes(10));
        assert_eq!(a, ValueFilter::build(&mut values));
    }

    #[test]
    fn damaged_bytes_are_refused_rather_than_probed() {
        let bytes = ValueFilter::build(&mut hashes(1000));
        assert!(ValueFilter::parse(&bytes[..bytes.len() - 2]).is_err());
        assert!(ValueFilter::parse(&[]).is_err());
        assert!(ValueFilter::parse(&[9]).is_err());
        let mut wide = bytes.clone();
        wide[9..13].copy_from_slice(&(1u32 << 20).to_le_bytes());
        assert!(ValueFilter::parse(&wide).is_err());
        let exact = ValueFilter::build(&mut vec![2, 1]);
        let mut unsorted = exact.clone();
        unsorted[1..9].copy_from_slice(&3u64.to_le_bytes());
        assert!(ValueFilter::parse(&unsorted).is_err());
    }
}
