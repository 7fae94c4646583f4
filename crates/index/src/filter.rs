//! One object's set of lookup-value hashes: an exact sorted list when that is smaller, else
//! a BinaryFuse16 filter (about 18 bits a value, false positives 2^-16, never a false
//! negative).
//!
//! Serialized as a byte of kind and a zero byte, then:
//! - kind `0` (exact): the hashes, sorted and distinct, 8 bytes each, little-endian;
//! - kind `1` (BinaryFuse16): seed (u64), segment length, its mask, segment count length
//!   (u32 each), then the 16-bit fingerprints, all little-endian.
//!
//! Every serialized filter has an even length and its fingerprints an even offset, so that in
//! a segment's column (where values follow each other from an aligned start) a filter is
//! probed where it lies, without a copy. xorf builds from a fixed seed, so the same values
//! give the same bytes.

use xorf::{BinaryFuse16, BinaryFuse16Ref, Descriptor, DmaSerializable, Filter, FilterRef};

/// Up to this many values, the exact list is kept without trying a filter: a filter of a
/// few values is not smaller than their list.
const EXACT_UP_TO: usize = 32;

const KIND_EXACT: u8 = 0;
const KIND_FUSE16: u8 = 1;
const HEADER_LEN: usize = 2;

/// A filter, parsed where its bytes lie, ready to probe.
pub enum ValueFilter<'a> {
    /// Every hash, sorted and distinct, 8 bytes each.
    Exact(&'a [u8]),
    /// A BinaryFuse16 over the distinct hashes, in place.
    Fuse16(BinaryFuse16Ref<'a>),
    /// The same, copied (its bytes were not 2-aligned).
    Fuse16Copy(BinaryFuse16),
}

/// Bytes that are not a filter this format writes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a filter: {0}")]
pub struct BadFilter(pub &'static str);

impl<'a> ValueFilter<'a> {
    /// Serializes the set of `hashes` (in any order, repeats allowed; sorted in place) as the
    /// smaller of its two forms.
    pub fn build(hashes: &mut Vec<u64>) -> Vec<u8> {
        hashes.sort_unstable();
        hashes.dedup();
        let exact = || {
            let mut out = Vec::with_capacity(HEADER_LEN + hashes.len() * 8);
            out.extend([KIND_EXACT, 0]);
            hashes.iter().for_each(|h| out.extend(h.to_le_bytes()));
            out
        };
        if hashes.len() <= EXACT_UP_TO {
            return exact();
        }
        // Construction fails only on repeated keys (removed above); the list is the fallback.
        match BinaryFuse16::try_from(&hashes[..]) {
            Ok(f) if Descriptor::DMA_LEN + f.fingerprints.len() * 2 < hashes.len() * 8 => {
                let mut out = vec![KIND_FUSE16, 0];
                let mut descriptor = [0u8; Descriptor::DMA_LEN];
                f.dma_copy_descriptor_to(&mut descriptor);
                out.extend(descriptor);
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
    pub fn parse(bytes: &'a [u8]) -> Result<ValueFilter<'a>, BadFilter> {
        if bytes.len() < HEADER_LEN || bytes[1] != 0 {
            return Err(BadFilter("no header"));
        }
        let rest = &bytes[HEADER_LEN..];
        match bytes[0] {
            KIND_EXACT => {
                if !rest.len().is_multiple_of(8) {
                    return Err(BadFilter("exact list not a multiple of 8 bytes"));
                }
                let sorted =
                    rest.chunks_exact(8)
                        .map(u64_at)
                        .try_fold(None, |last, h| match last {
                            Some(l) if l >= h => Err(()),
                            _ => Ok(Some(h)),
                        });
                if sorted.is_err() {
                    return Err(BadFilter("exact list not sorted"));
                }
                Ok(ValueFilter::Exact(rest))
            }
            KIND_FUSE16 => {
                if rest.len() < Descriptor::DMA_LEN
                    || !(rest.len() - Descriptor::DMA_LEN).is_multiple_of(2)
                {
                    return Err(BadFilter("fuse filter truncated"));
                }
                let (d, prints) = rest.split_at(Descriptor::DMA_LEN);
                let u32_at = |i: usize| u32::from_le_bytes(d[i..i + 4].try_into().expect("4"));
                let (length, mask, count_length) = (u32_at(8), u32_at(12), u32_at(16));
                // A probe reads fingerprints up to segment_count_length + 2 segments, in u32
                // arithmetic.
                let reach = u64::from(count_length) + 2 * u64::from(length);
                // A count that is not a whole number of segments, or is none (a probe's first
                // segment is then the first, and its third runs a segment past the reach: found
                // by the `index_filter` fuzz target), lets a probe run past the fingerprints.
                if !length.is_power_of_two()
                    || mask != length - 1
                    || count_length == 0
                    || !count_length.is_multiple_of(length)
                    || reach > u64::from(u32::MAX)
                    || reach > (prints.len() / 2) as u64
                {
                    return Err(BadFilter("fuse filter's descriptor out of bounds"));
                }
                if prints.as_ptr().align_offset(2) == 0 {
                    Ok(ValueFilter::Fuse16(BinaryFuse16Ref::from_dma(d, prints)))
                } else {
                    Ok(ValueFilter::Fuse16Copy(BinaryFuse16 {
                        descriptor: Descriptor {
                            seed: u64_at(&d[..8]),
                            segment_length: length,
                            segment_length_mask: mask,
                            segment_count_length: count_length,
                        },
                        fingerprints: prints
                            .chunks_exact(2)
                            .map(|c| u16::from_le_bytes([c[0], c[1]]))
                            .collect(),
                    }))
                }
            }
            _ => Err(BadFilter("unknown kind")),
        }
    }

    /// Whether the set may hold `hash` (certainly, for the exact list).
    pub fn may_contain(&self, hash: u64) -> bool {
        match self {
            ValueFilter::Exact(list) => {
                let (mut lo, mut hi) = (0, list.len() / 8);
                while lo < hi {
                    let mid = (lo + hi) / 2;
                    match u64_at(&list[mid * 8..mid * 8 + 8]).cmp(&hash) {
                        std::cmp::Ordering::Less => lo = mid + 1,
                        std::cmp::Ordering::Greater => hi = mid,
                        std::cmp::Ordering::Equal => return true,
                    }
                }
                false
            }
            ValueFilter::Fuse16(filter) => filter.contains(&hash),
            ValueFilter::Fuse16Copy(filter) => filter.contains(&hash),
        }
    }
}

fn u64_at(bytes: &[u8]) -> u64 {
    u64::from_le_bytes(bytes.try_into().expect("8 bytes"))
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
        assert!(ValueFilter::parse(&[9, 0]).is_err());
        // Probed the same where the bytes lie and from an odd address (copied).
        let mut odd = vec![0u8];
        odd.extend(&bytes);
        let (here, there) = (
            ValueFilter::parse(&bytes).unwrap(),
            ValueFilter::parse(&odd[1..]).unwrap(),
        );
        for h in hashes(1000).into_iter().chain(0..1000) {
            assert_eq!(here.may_contain(h), there.may_contain(h));
        }
        let mut wide = bytes.clone();
        wide[10..14].copy_from_slice(&(1u32 << 20).to_le_bytes());
        assert!(ValueFilter::parse(&wide).is_err());
        // A segment count that is not a multiple of the segment length (the fingerprints are
        // enough for the descriptor's reach): a probe would index past them (exit 101).
        let length = u32::from_le_bytes(bytes[10..14].try_into().unwrap());
        let mut uneven = bytes.clone();
        uneven[18..22].copy_from_slice(&(length + 1).to_le_bytes());
        assert!(ValueFilter::parse(&uneven).is_err());
        // No segment at all (the fuzzer's find): one segment of one fingerprint and two
        // fingerprints, which a probe read past.
        let mut none = vec![KIND_FUSE16, 0];
        none.extend(0u64.to_le_bytes());
        none.extend([1u32, 0, 0].iter().flat_map(|v| v.to_le_bytes()));
        none.extend([0u8; 4]);
        assert_eq!(
            ValueFilter::parse(&none).err(),
            Some(BadFilter("fuse filter's descriptor out of bounds"))
        );
        let exact = ValueFilter::build(&mut vec![2, 1]);
        let mut unsorted = exact.clone();
        unsorted[2..10].copy_from_slice(&3u64.to_le_bytes());
        assert!(ValueFilter::parse(&unsorted).is_err());
    }
}
