use trailscan_query::Prefilter;
use trailscan_records::{split_records, AttributeKey, LookupAttribute, RecordParser};

/// The prefilter's contract with fuzzed values: the first byte picks the attribute, the bytes
/// up to the first newline are the value, the rest is a log file's text (or one record).
///
/// Invariant (no false negative): text the prefilter rules out holds no record that the
/// lookup matches, whatever the value and however the JSON spells it (escapes, `\/`).
pub fn prefilter(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Some(newline) = rest.iter().position(|&b| b == b'\n') else {
        return;
    };
    let Ok(value) = std::str::from_utf8(&rest[..newline]) else {
        return;
    };
    let text = &rest[newline + 1..];
    let wanted = LookupAttribute {
        key: AttributeKey::ALL[usize::from(pick) % AttributeKey::ALL.len()],
        value: value.to_string(),
    };
    let prefilter = Prefilter::new(std::slice::from_ref(&wanted));
    let mut parser = RecordParser::default();
    let mut ruled_out_but_matches = |raw: &[u8]| {
        parser
            .parse(raw, |record| wanted.matches(&record))
            .unwrap_or(false)
    };
    let mut spans = Vec::new();
    if split_records(text, &mut spans).is_ok() {
        for span in spans {
            let raw = &text[span];
            if !prefilter.may_match(text) || !prefilter.may_match(raw) {
                assert!(
                    !ruled_out_but_matches(raw),
                    "the prefilter rules out a record that {wanted:?} matches"
                );
            }
        }
    } else if !prefilter.may_match(text) {
        assert!(
            !ruled_out_but_matches(text),
            "the prefilter rules out a record that {wanted:?} matches"
        );
    }
}
