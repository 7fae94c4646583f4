//! Lookup values as 64-bit hashes: what a filter holds and what a lookup probes for.

use trailscan_records::{AttributeKey, Record};

use twox_hash::XxHash3_64;

/// The hash function's name and seed, written in every snapshot: an index hashed otherwise
/// is another format.
pub const HASH_NAME: &str = "xxh3-64";
/// Fixed, so that building twice gives the same bytes and any build can read any index.
pub const HASH_SEED: u64 = 0x7472_6169_6c73_6361; // "trailsca"

/// The hash of one attribute value, seeded by [`HASH_SEED`] plus the attribute's tag, so that
/// the same text under two attributes (an `EventName` that is also a `Username`) are two
/// keys.
///
/// `EventName` and `EventSource` are hashed lowercased ([`str::to_lowercase`], as Sigma
/// compares): a Sigma rule matches `eventName: deletetrail` to `DeleteTrail`, so a hunt
/// through the index must find the file by either spelling. A case-sensitive lookup still
/// finds every file it must (values that differ only in case share a hash; the scan
/// confirms).
pub fn value_hash(key: AttributeKey, value: &str) -> u64 {
    let seed = HASH_SEED.wrapping_add(u64::from(tag(key)));
    let folded = matches!(key, AttributeKey::EventName | AttributeKey::EventSource)
        && value.chars().any(|c| c.is_uppercase() || !c.is_ascii());
    match folded {
        true => XxHash3_64::oneshot_with_seed(seed, value.to_lowercase().as_bytes()),
        false => XxHash3_64::oneshot_with_seed(seed, value.as_bytes()),
    }
}

/// The tag of the key an event issued ([`Record::issued_access_key`]): a ninth indexed value,
/// not a lookup attribute, so that each hop of a trace is a probe.
const ISSUED_KEY_TAG: u8 = 9;

/// The hash of an access key as an issuing event names it (see [`ISSUED_KEY_TAG`]).
pub fn issued_key_hash(key: &str) -> u64 {
    XxHash3_64::oneshot_with_seed(
        HASH_SEED.wrapping_add(u64::from(ISSUED_KEY_TAG)),
        key.as_bytes(),
    )
}

/// Appends the hash of every lookup value of `record` to `out`: every value of every
/// attribute, derived by [`AttributeKey::values_in`] exactly as a lookup derives them, and
/// the key the record issued, if any.
pub fn record_hashes(record: &Record<'_, '_>, out: &mut Vec<u64>) {
    for key in AttributeKey::ALL {
        key.values_in(record, |v| out.push(value_hash(key, v)));
    }
    if let Some(issued) = record.issued_access_key() {
        out.push(issued_key_hash(issued));
    }
}

/// A byte per attribute, fixed forever in a format version (the order of
/// [`AttributeKey::ALL`], from 1).
fn tag(key: AttributeKey) -> u8 {
    match key {
        AttributeKey::EventId => 1,
        AttributeKey::EventName => 2,
        AttributeKey::ReadOnly => 3,
        AttributeKey::Username => 4,
        AttributeKey::ResourceType => 5,
        AttributeKey::ResourceName => 6,
        AttributeKey::EventSource => 7,
        AttributeKey::AccessKeyId => 8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_attribute_is_part_of_the_hash() {
        let a = value_hash(AttributeKey::EventName, "x");
        assert_ne!(a, value_hash(AttributeKey::Username, "x"));
        assert_eq!(a, value_hash(AttributeKey::EventName, "x"));
        // Pinned: a change here changes every index ever written, so it needs a new format.
        assert_eq!(
            value_hash(AttributeKey::EventId, "e1"),
            0xadc3_504b_56a4_262a
        );
    }

    #[test]
    fn event_names_and_sources_are_hashed_case_folded() {
        for key in [AttributeKey::EventName, AttributeKey::EventSource] {
            assert_eq!(
                value_hash(key, "DeleteTrail"),
                value_hash(key, "deletetrail")
            );
            assert_eq!(
                value_hash(key, "DELETETRAIL"),
                value_hash(key, "deletetrail")
            );
            // The Kelvin sign lowercases to an ASCII k, as Sigma's comparison folds it.
            assert_eq!(value_hash(key, "\u{212a}ey"), value_hash(key, "key"));
        }
        // Other attributes stay exact: access keys and event ids are case-sensitive.
        let key = AttributeKey::AccessKeyId;
        assert_ne!(value_hash(key, "AKIAX"), value_hash(key, "akiax"));
    }
}
