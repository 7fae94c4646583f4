//! The one rule for duplicate deliveries, which every question follows: CloudTrail documents
//! that an event may be delivered more than once, and two records with the same `eventID`
//! and the same `eventTime` are one event delivered twice. A record without an `eventID` is
//! never anyone's duplicate. Lookups print such an event once (the copy from the first log
//! file), summaries and traces count it once; an export keeps every copy as delivered, each
//! row naming its log file.

use std::hash::{Hash, Hasher};

use crate::EventTime;

/// What makes two records one event: a 128-bit digest of (`eventTime`, `eventID`), small
/// enough to remember for every event a count covers (two SipHashes with different keys: two
/// different events collide with odds of about one in 2^128).
pub fn event_identity(time: EventTime, event_id: &str) -> u128 {
    let half = |salt: u64| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        salt.hash(&mut h);
        (time.secs, time.nanos, event_id).hash(&mut h);
        h.finish()
    };
    (u128::from(half(0x9e37_79b9_7f4a_7c15)) << 64) | u128::from(half(0x85eb_ca6b_27d4_eb4f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_event_is_the_same_id_at_the_same_time() {
        let at = |secs| EventTime { secs, nanos: 0 };
        assert_eq!(event_identity(at(1), "e"), event_identity(at(1), "e"));
        assert_ne!(event_identity(at(1), "e"), event_identity(at(2), "e"));
        assert_ne!(event_identity(at(1), "e"), event_identity(at(1), "f"));
    }
}
