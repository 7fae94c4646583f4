use trailscan_archive::inflate::inflate_gzip;
use trailscan_integrity::logs::{hash_gzip, LogRead};
use trailscan_query::Prefilter;
use trailscan_records::{
    compact_into, split_records, AttributeKey, LookupAttribute, LookupEvent, Record, RecordParser,
};

use crate::MAX_INFLATED_BYTES;

/// A log file's bytes. Gzip input (`1f 8b`) takes the whole path a scan takes: inflate under
/// the cap, split into records, parse each, derive the lookup fields and the printed event.
/// Anything else is taken as the inflated text, so that the fuzzer reaches the JSON
/// without having to forge gzip checksums.
///
/// Invariants: the inflate stays under its cap; validation's hash of the file agrees with
/// the scan's inflate; every record span is an object inside the text; the compacted text
/// of a record is the same JSON; and the prefilter never rules out a record that one of the
/// eight attributes, taken from the record itself, matches.
pub fn log_file(data: &[u8]) {
    let mut inflated = Vec::new();
    let text = if data.starts_with(&[0x1f, 0x8b]) {
        let scanned = inflate_gzip(data, &mut inflated, MAX_INFLATED_BYTES);
        assert!(inflated.len() as u64 <= MAX_INFLATED_BYTES);
        let Ok(_) = scanned else {
            return;
        };
        if let LogRead::Hashed { sha256, .. } = hash_gzip(data) {
            use sha2::{Digest, Sha256};
            assert_eq!(sha256, hex::encode(Sha256::digest(&inflated)));
        }
        &inflated[..]
    } else {
        data
    };
    let mut spans = Vec::new();
    if split_records(text, &mut spans).is_err() {
        return;
    }
    let mut parser = RecordParser::default();
    let mut compact = Vec::new();
    for span in spans {
        assert!(span.start < span.end && span.end <= text.len());
        let raw = &text[span];
        assert_eq!(raw[0], b'{');
        compact_into(raw, &mut compact);
        same_json(raw, &compact);
        let _ = parser.parse(raw, |record| {
            let _ = record.category();
            if let Some(time) = record.event_time() {
                let event = LookupEvent::from_record(&record, time, &compact);
                assert_eq!(event.cloudtrail_event.as_bytes(), &compact[..]);
            }
            for wanted in attributes_of(&record) {
                if wanted.matches(&record) {
                    let prefilter = Prefilter::new(std::slice::from_ref(&wanted));
                    assert!(
                        prefilter.may_match(raw),
                        "the prefilter rules out a record that {wanted:?} matches"
                    );
                }
            }
        });
    }
}

/// `compact_into` only drops blanks between tokens: a record that is JSON is the same JSON
/// compacted. (Text that is not JSON is skipped before it is compacted in a scan.)
fn same_json(raw: &[u8], compact: &[u8]) {
    let parse = |t: &[u8]| serde_json::from_slice::<serde_json::Value>(t).ok();
    if let Some(value) = parse(raw) {
        assert_eq!(Some(value), parse(compact), "compaction changed the JSON");
    }
}

/// One lookup per attribute, with the value the record itself has.
fn attributes_of(record: &Record<'_, '_>) -> Vec<LookupAttribute> {
    let (resource_type, resource_name) = record.resources().next().unwrap_or_default();
    [
        (AttributeKey::EventId, record.event_id()),
        (AttributeKey::EventName, record.event_name()),
        (
            AttributeKey::ReadOnly,
            record.read_only().map(|r| if r { "true" } else { "false" }),
        ),
        (AttributeKey::Username, record.username()),
        (AttributeKey::ResourceType, resource_type),
        (AttributeKey::ResourceName, resource_name),
        (AttributeKey::EventSource, record.event_source()),
        (AttributeKey::AccessKeyId, record.access_key_id()),
    ]
    .into_iter()
    .filter_map(|(key, value)| {
        value.map(|v| LookupAttribute {
            key,
            value: v.to_string(),
        })
    })
    .collect()
}
