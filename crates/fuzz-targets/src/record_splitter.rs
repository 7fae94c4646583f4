use serde_json::Value;
use trailscan_records::split_records;

/// Raw bytes straight to the record splitter (no inflate, no parse): the fast path every
/// scanned file takes before any record is parsed.
///
/// Invariants: the spans are in order, disjoint, inside the text, each from a `{` to the
/// bracket that closes it (counted, not typed: a `{...]` record is the parser's to report);
/// and where serde_json reads the text as `{"Records": [objects]}` (with `"Records"` written
/// once, so that both take the same key), the splitter finds exactly those records, each
/// span the same JSON as serde_json's element.
pub fn record_splitter(data: &[u8]) {
    let mut spans = Vec::new();
    let split = split_records(data, &mut spans);
    let mut end = 0;
    for span in &spans {
        assert!(end <= span.start && span.start < span.end && span.end <= data.len());
        assert_eq!(data[span.start], b'{');
        assert!(matches!(data[span.end - 1], b'}' | b']'));
        end = span.end;
    }
    let once = memchr_count(data, br#""Records""#) == 1;
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Some(Value::Array(records)) = map.get("Records") else {
        return;
    };
    if !once || !records.iter().all(Value::is_object) {
        return;
    }
    assert!(
        split.is_ok(),
        "serde_json reads the records, the splitter: {split:?}"
    );
    assert_eq!(spans.len(), records.len());
    for (span, record) in spans.iter().zip(records) {
        let value: Value = serde_json::from_slice(&data[span.clone()]).expect("a record span");
        assert_eq!(&value, record);
    }
}

fn memchr_count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}
