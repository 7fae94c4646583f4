use std::path::Path;

use trailscan_hunt::{HuntRules, RecordEvent, RuleChoice};
use trailscan_query::Candidates;
use trailscan_records::{split_records, RecordParser};

/// A Sigma rule file as hostile input, and the hunt's prefilter against it: the bytes up to
/// the first `\n====\n` are a rule file's text, the rest a log file's.
///
/// Invariants: loading refuses or compiles, never panics; and no false negative: a record
/// some loaded rule matches is never ruled out by the rules' prefilter, neither as a record
/// nor within its file, nor left out of the rules it tells a record may match.
pub fn sigma_rule(data: &[u8]) {
    const SEPARATOR: &[u8] = b"\n====\n";
    let Some(at) = data.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) else {
        return;
    };
    let Ok(rule_text) = std::str::from_utf8(&data[..at]) else {
        return;
    };
    let text = &data[at + SEPARATOR.len()..];
    let (rules, _) =
        HuntRules::from_text(Path::new("fuzzed.yml"), rule_text, &RuleChoice::default());
    if rules.rules.is_empty() {
        return;
    }
    let prefilter = rules.prefilter();
    let mut spans = Vec::new();
    if split_records(text, &mut spans).is_err() {
        return;
    }
    let mut parser = RecordParser::default();
    let mut told = Vec::new();
    for span in spans {
        let raw = &text[span];
        let matched = parser
            .parse(raw, |record| {
                rules.matches(&RecordEvent::new(record.value()))
            })
            .unwrap_or_default();
        if !matched.is_empty() {
            assert!(
                prefilter.may_match(raw) && prefilter.may_match(text),
                "the hunt's prefilter rules out a record a rule matches"
            );
            let candidates = prefilter.alternatives_in(raw, &mut told);
            assert!(
                candidates == Candidates::All || matched.iter().all(|r| told.contains(r)),
                "the hunt's prefilter leaves out a rule that matches the record"
            );
        }
    }
}
