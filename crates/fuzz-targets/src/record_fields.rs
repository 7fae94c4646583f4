use serde_json::Value;
use trailscan_records::{AttributeKey, LookupEvent, RecordParser};

/// One record's bytes to the simd-json record parser and every field derived from it: the
/// eight lookup attributes (as lookups and the index derive them), the category, the event
/// time, the resources, the printed event.
///
/// Invariant: where serde_json reads the record as an object and names a plain string field
/// once, the parser reads the same string for it (a record must not say one thing to
/// trailscan and another to every other JSON reader).
pub fn record_fields(data: &[u8]) {
    let serde = serde_json::from_slice::<Value>(data).ok();
    let mut parser = RecordParser::default();
    let _ = parser.parse(data, |record| {
        let _ = record.category();
        let _ = record.resources().count();
        for key in AttributeKey::ALL {
            key.values_in(&record, |value| {
                let _ = value.len();
            });
        }
        if let Some(time) = record.event_time() {
            let _ = LookupEvent::from_record(&record, time, data);
        }
        let Some(Value::Object(map)) = &serde else {
            return;
        };
        for (field, read) in [
            ("eventID", record.event_id()),
            ("eventName", record.event_name()),
            ("eventSource", record.event_source()),
        ] {
            let named_once = count(data, format!("\"{field}\"").as_bytes()) == 1;
            if let (true, Some(Value::String(want))) = (named_once, map.get(field)) {
                assert_eq!(read, Some(want.as_str()), "{field}");
            }
        }
    });
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}
