//! Candidate first, then confirm: a byte search that rules out text no record of which can
//! match, before any JSON is parsed.
//!
//! Contract (as ripgrep's `find_candidate_line`): false positives are allowed, false
//! negatives never. Every matching record's raw text contains each attribute's needle
//! ([`LookupAttribute::needle`]) unless the text uses a `\u` escape, which could spell any
//! character of a needle; text with `\u` is always a candidate.

use memchr::memmem::Finder;
use trailscan_records::LookupAttribute;

use crate::clause_search::{Candidates, Clause, ClauseSearch};

/// The compiled needles of a request.
pub struct Prefilter {
    needles: Vec<Finder<'static>>,
    /// Text holding any one needle may match (else every needle must be there).
    any: bool,
    unicode_escape: Finder<'static>,
    /// [`Prefilter::clauses_ignoring_case`]'s search, which replaces the needles.
    clauses: Option<ClauseSearch>,
}

impl Prefilter {
    /// Compiles the needles of every attribute that has one.
    pub fn new(attributes: &[LookupAttribute]) -> Prefilter {
        let mut needles: Vec<Vec<u8>> = attributes
            .iter()
            .filter_map(LookupAttribute::needle)
            .collect();
        // Longest first: a longer needle is usually rarer and rules text out sooner.
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        Prefilter::compile(needles, false)
    }

    /// A prefilter for text that holds any one of `needles` (each as JSON writes it, without
    /// escapes: access keys, IP addresses, event names), for scans that keep records of
    /// several kinds (a trace: the uses of a key, and the events that issued it).
    pub fn any_of(needles: &[&[u8]]) -> Prefilter {
        Prefilter::compile(needles.iter().map(|n| n.to_vec()).collect(), true)
    }

    /// A prefilter for text that holds any one of `needles` in any ASCII case, for questions
    /// that compare case-insensitively after Unicode lowercasing (Sigma rules: `eventName:
    /// deletetrail` matches `DeleteTrail`). Text with a `\u` escape or a character that
    /// lowercases to ASCII is always a candidate. Empty: rules nothing out.
    pub fn any_of_ignoring_case(needles: &[&[u8]]) -> Prefilter {
        let alternatives: Vec<Vec<Clause<'_>>> = (needles.iter())
            .map(|n| vec![Clause::Needles(vec![*n])])
            .collect();
        Prefilter::clauses_ignoring_case(&alternatives)
    }

    /// [`Prefilter::any_of_ignoring_case`] for alternatives that each need several values: text
    /// is a candidate when, for one of `alternatives` (a Sigma rule), each of its clauses holds
    /// (`ConsoleLogin`, and `Success`). An alternative without clauses needs nothing, and so
    /// does the prefilter. Empty: rules nothing out.
    pub fn clauses_ignoring_case(alternatives: &[Vec<Clause<'_>>]) -> Prefilter {
        let mut prefilter = Prefilter::compile(Vec::new(), true);
        if !alternatives.is_empty() && alternatives.iter().all(|a| !a.is_empty()) {
            prefilter.clauses = ClauseSearch::new(alternatives);
        }
        prefilter
    }

    fn compile(needles: Vec<Vec<u8>>, any: bool) -> Prefilter {
        Prefilter {
            needles: needles
                .into_iter()
                .map(|n| Finder::new(&n).into_owned())
                .collect(),
            any,
            unicode_escape: Finder::new(b"\\u").into_owned(),
            clauses: None,
        }
    }

    /// Whether the prefilter can rule anything out.
    pub fn is_active(&self) -> bool {
        !self.needles.is_empty() || self.clauses.is_some()
    }

    /// Whether `text` (a whole file or one record) may hold a matching record (always, for a
    /// prefilter that rules nothing out).
    pub fn may_match(&self, text: &[u8]) -> bool {
        if !self.is_active() {
            return true;
        }
        if let Some(clauses) = &self.clauses {
            return clauses.may_match(text);
        }
        let found = |f: &Finder<'_>| f.find(text).is_some();
        let needles = if self.any {
            self.needles.iter().any(found)
        } else {
            self.needles.iter().all(found)
        };
        needles || self.unicode_escape.find(text).is_some()
    }

    /// Whether the prefilter tells which of its alternatives a text may match
    /// ([`Prefilter::alternatives_in`]): one of [`Prefilter::clauses_ignoring_case`] with more
    /// than one alternative, not every one a single clause of needles (where they are, the
    /// first needle found decides and the rest of the text is not read).
    pub fn tells_alternatives(&self) -> bool {
        self.clauses
            .as_ref()
            .is_some_and(ClauseSearch::tells_alternatives)
    }

    /// Which of the alternatives `text` may match, so that a hunt evaluates only the rules
    /// whose every clause holds in the record's text, not every rule: their positions,
    /// ascending, in `held`. [`Candidates::All`] where any may (a `\u` escape, a character
    /// that lowercases to ASCII), or where the prefilter does not tell alternatives apart
    /// ([`Prefilter::tells_alternatives`]) and `text` may match. Unlike
    /// [`Prefilter::may_match`], this reads all of `text`.
    pub fn alternatives_in(&self, text: &[u8], held: &mut Vec<usize>) -> Candidates {
        match &self.clauses {
            Some(clauses) => clauses.alternatives_in(text, held),
            None => {
                held.clear();
                match self.may_match(text) {
                    true => Candidates::All,
                    false => Candidates::None,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clause_search::FOLD_CHUNK;
    use trailscan_records::{AttributeKey, RecordParser};

    /// Every way JSON may write the string `s` that a prefilter must survive: verbatim, with
    /// `/` escaped, and with each character in turn as a `\u` escape.
    fn spellings(s: &str) -> Vec<String> {
        let plain: String = s
            .chars()
            .map(|c| match c {
                '"' => "\\\"".to_string(),
                '\\' => "\\\\".to_string(),
                c if c.is_control() => format!("\\u{:04x}", c as u32),
                c => c.to_string(),
            })
            .collect();
        let mut out = vec![plain.clone(), plain.replace('/', "\\/")];
        for (i, c) in s.char_indices() {
            if (c as u32) < 0x10000 {
                let mut t = String::new();
                for (j, d) in s.char_indices() {
                    if j == i {
                        t.push_str(&format!("\\u{:04X}", c as u32));
                    } else {
                        match d {
                            '"' => t.push_str("\\\""),
                            '\\' => t.push_str("\\\\"),
                            d if d.is_control() => t.push_str(&format!("\\u{:04x}", d as u32)),
                            d => t.push(d),
                        }
                    }
                }
                out.push(t);
            }
        }
        out
    }

    fn record_for(key: AttributeKey, spelled: &str) -> String {
        match key {
            AttributeKey::EventId => format!(r#"{{"eventID":"{spelled}"}}"#),
            AttributeKey::EventName => format!(r#"{{"eventName":"{spelled}"}}"#),
            AttributeKey::EventSource => {
                format!(r#"{{"insightDetails":{{"eventSource":"{spelled}"}}}}"#)
            }
            AttributeKey::ReadOnly => format!(r#"{{"readOnly":"{spelled}"}}"#),
            AttributeKey::Username => format!(
                r#"{{"userIdentity":{{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/r/{spelled}"}}}}"#
            ),
            AttributeKey::ResourceType => format!(r#"{{"resources":[{{"type":"{spelled}"}}]}}"#),
            AttributeKey::ResourceName => format!(r#"{{"resources":[{{"ARN":"{spelled}"}}]}}"#),
            AttributeKey::AccessKeyId => {
                format!(r#"{{"userIdentity":{{"accessKeyId":"{spelled}"}}}}"#)
            }
        }
    }

    /// A full match implies a prefilter hit, for all eight attributes and every spelling.
    #[test]
    fn no_false_negatives() {
        let values = [
            "ConsoleLogin",
            "arn:aws:iam::123456789012:role/my-role",
            "a\"quoted\"/name",
            "back\\slash",
            "ünïcode-näme",
            "tab\there",
            "/",
            "true",
            "false",
            "AKIAIOSFODNN7EXAMPLE",
        ];
        let mut parser = RecordParser::default();
        let mut checked = 0;
        for key in AttributeKey::ALL {
            for value in values {
                if key == AttributeKey::Username && value.contains('/') {
                    continue; // a '/' cannot be part of a session name taken after the last '/'
                }
                let attr = LookupAttribute {
                    key,
                    value: value.to_string(),
                };
                let pre = Prefilter::new(std::slice::from_ref(&attr));
                for spelled in spellings(value) {
                    let text = record_for(key, &spelled);
                    let matched = parser.parse(text.as_bytes(), |r| attr.matches(&r)).unwrap();
                    if matched {
                        checked += 1;
                        assert!(pre.may_match(text.as_bytes()), "{key}={value:?} in {text}");
                    }
                }
            }
        }
        assert!(
            checked > 100,
            "only {checked} matching spellings were exercised"
        );
        // Root is derived from the type, not copied from the text.
        let attr = LookupAttribute {
            key: AttributeKey::Username,
            value: "root".into(),
        };
        let text = br#"{"userIdentity":{"type":"Root"}}"#;
        assert!(parser.parse(text, |r| attr.matches(&r)).unwrap());
        assert!(Prefilter::new(&[attr]).may_match(text));
    }

    #[test]
    fn rules_out_text_without_the_value() {
        let attr = LookupAttribute {
            key: AttributeKey::EventName,
            value: "RunInstances".into(),
        };
        let pre = Prefilter::new(&[attr]);
        assert!(pre.is_active());
        assert!(!pre.may_match(br#"{"eventName":"StopInstances"}"#));
        assert!(pre.may_match(br#"{"eventName":"RunInstances"}"#));
        assert!(!Prefilter::new(&[]).is_active());
    }

    #[test]
    fn any_of_keeps_text_with_one_needle() {
        let p = Prefilter::any_of(&[b"ASIAKEY", b"CreateAccessKey"]);
        assert!(p.may_match(br#"{"userIdentity":{"accessKeyId":"ASIAKEY"}}"#));
        assert!(p.may_match(br#"{"eventName":"CreateAccessKey"}"#));
        assert!(p.may_match(br#"{"eventName":"\u0043reateAccessKey"}"#));
        assert!(!p.may_match(br#"{"eventName":"ListBuckets"}"#));
        assert!(p.is_active());
    }

    fn needles<'a>(needles: &[&'a [u8]]) -> Clause<'a> {
        Clause::Needles(needles.to_vec())
    }

    /// A console login's `ConsoleLogin` and `Success` (or `Passed`); a `DeleteTrail`.
    fn login_and_trail() -> (Vec<Clause<'static>>, Vec<Clause<'static>>) {
        let login = vec![
            needles(&[b"ConsoleLogin"]),
            needles(&[b"Success", b"Passed"]),
        ];
        (login, vec![needles(&[b"DeleteTrail"])])
    }

    fn event_name<'a>(values: &[&'a [u8]]) -> Clause<'a> {
        Clause::Equals {
            key: "eventName",
            values: values.to_vec(),
        }
    }

    #[test]
    fn a_member_equal_to_a_value_is_read_not_searched_for() {
        let login = vec![event_name(&[b"ConsoleLogin"]), needles(&[b"Success"])];
        let trail = vec![event_name(&[b"DeleteTrail", b"StopLogging"])];
        let p = Prefilter::clauses_ignoring_case(&[login, trail]);
        assert!(p.tells_alternatives());
        let mut held = Vec::new();
        let mut told = |text: &[u8]| (p.alternatives_in(text, &mut held), held.clone());
        // The value elsewhere than in the member is not the member's.
        assert_eq!(
            told(br#"{"eventName":"GetTrail","x":"ConsoleLogin","r":"Success"}"#),
            (Candidates::None, vec![])
        );
        assert_eq!(
            told(br#"{"eventName" : "CONSOLELOGIN","r":"success"}"#),
            (Candidates::Some, vec![0])
        );
        assert_eq!(
            told(br#"{"eventName":"stoplogging"}"#),
            (Candidates::Some, vec![1])
        );
        // An escaped value may be any: every alternative whose other clauses hold.
        assert_eq!(
            told(br#"{"eventName":"Stop\/Logging"}"#),
            (Candidates::Some, vec![1])
        );
        assert!(!p.may_match(br#"{"eventName":"DeleteTrails"}"#));
        // A file: the member in one record, the needle in another, far apart.
        let mut file = br#"{"Records":[{"eventName":"ConsoleLogin","pad":""#.to_vec();
        file.resize(3 * FOLD_CHUNK, b'x');
        file.extend_from_slice(br#""},{"r":"Success"}]}"#);
        assert!(p.may_match(&file));
        assert!(!p.may_match(&file[..file.len() - 16]));
    }

    /// Whatever Unicode lowercasing makes equal to a needle is a candidate.
    #[test]
    fn clauses_need_one_needle_each_of_one_alternative() {
        let (login, trail) = login_and_trail();
        let p = Prefilter::clauses_ignoring_case(&[login.clone(), trail]);
        assert!(p.is_active());
        assert!(!p.may_match(br#"{"eventName":"ConsoleLogin","x":"Failure"}"#));
        assert!(!p.may_match(br#"{"result":"success"}"#));
        // Each clause's needle, in any order and case.
        assert!(p.may_match(br#"{"r":"SUCCESS","eventName":"consolelogin"}"#));
        assert!(p.may_match(br#"{"eventName":"ConsoleLogin","r":"passed"}"#));
        assert!(p.may_match(br#"{"eventName":"deletetrail"}"#));
        // A needle that could be spelled otherwise keeps the text.
        assert!(p.may_match(br#"{"eventName":"ConsoleLogin","r":"\u0053uccess"}"#));
        // Needles far apart (in two of the chunks folded one after another) still count.
        let mut far = br#"{"eventName":"ConsoleLogin","pad":""#.to_vec();
        far.resize(3 * FOLD_CHUNK, b'x');
        far.extend_from_slice(br#"","r":"Success"}"#);
        assert!(p.may_match(&far));
        far.truncate(far.len() - 12);
        assert!(!p.may_match(&far));
        // An alternative that needs nothing: every text.
        assert!(!Prefilter::clauses_ignoring_case(&[login, Vec::new()]).is_active());
    }

    #[test]
    fn alternatives_in_tells_each_rule_a_record_may_match() {
        let (login, trail) = login_and_trail();
        let success = vec![needles(&[b"success"])];
        let p = Prefilter::clauses_ignoring_case(&[login.clone(), trail.clone(), success]);
        assert!(p.tells_alternatives());
        let mut held = vec![7];
        let mut told = |text: &[u8]| (p.alternatives_in(text, &mut held), held.clone());
        assert_eq!(
            told(br#"{"eventName":"DeleteTrail","x":"Failure"}"#),
            (Candidates::Some, vec![1])
        );
        // Every alternative the text completes, wherever in the text: not only the first.
        assert_eq!(
            told(br#"{"r":"SUCCESS","eventName":"consolelogin","n":"deletetrail"}"#),
            (Candidates::Some, vec![0, 1, 2])
        );
        assert_eq!(
            told(br#"{"eventName":"ConsoleLogin"}"#),
            (Candidates::None, vec![])
        );
        // A needle that could be spelled otherwise: any rule.
        assert_eq!(
            told(br#"{"eventName":"\u0044"}"#),
            (Candidates::All, vec![])
        );
        // One alternative, or alternatives of one clause each: not told apart.
        for untold in [
            Prefilter::clauses_ignoring_case(std::slice::from_ref(&login)),
            Prefilter::clauses_ignoring_case(&[trail.clone(), vec![needles(&[b"StopLogging"])]]),
        ] {
            assert!(!untold.tells_alternatives());
            let text = br#"{"eventName":"DeleteTrail","r":"Success","x":"ConsoleLogin"}"#;
            assert_eq!(untold.alternatives_in(text, &mut held), Candidates::All);
            assert_eq!(untold.alternatives_in(b"{}", &mut held), Candidates::None);
        }
    }

    #[test]
    fn ignoring_case_keeps_what_lowercases_to_a_needle() {
        let p = Prefilter::any_of_ignoring_case(&[b"DeleteTrail", b"key"]);
        assert!(p.is_active());
        for text in [
            r#"{"eventName":"DeleteTrail"}"#,
            r#"{"eventName":"deletetrail"}"#,
            r#"{"eventName":"DELETETRAIL"}"#,
            r#"{"eventName":"\u0044eleteTrail"}"#,
            "{\"eventName\":\"\u{212a}EY\"}",
            "{\"eventName\":\"DELET\u{130}\"}",
            "{\"eventName\":\"Delete\u{17f}\"}",
        ] {
            let lowered = text.to_lowercase();
            assert!(
                p.may_match(text.as_bytes()),
                "{text} ({lowered}) was ruled out"
            );
        }
        assert!(!p.may_match(br#"{"eventName":"StopLogging"}"#));
        assert!(!Prefilter::any_of_ignoring_case(&[]).is_active());
        // A needle across the boundary of two folded chunks, in long text.
        for at in [
            FOLD_CHUNK - 5,
            FOLD_CHUNK - 1,
            FOLD_CHUNK,
            2 * FOLD_CHUNK - 3,
        ] {
            let mut text = vec![b'x'; 3 * FOLD_CHUNK];
            text[at..at + 11].copy_from_slice(b"DELETETRAIL");
            assert!(p.may_match(&text), "at {at}");
        }
        assert!(!p.may_match(&vec![b'x'; 3 * FOLD_CHUNK]));
        // A needle longer than a chunk (a rule's own, hostile or not): cut, found, quickly.
        let long = vec![b'a'; FOLD_CHUNK + 10];
        let p = Prefilter::any_of_ignoring_case(&[&long[..]]);
        let mut text = vec![b'x'; 3 * FOLD_CHUNK];
        text[FOLD_CHUNK / 2..FOLD_CHUNK / 2 + long.len()].copy_from_slice(&long);
        let started = std::time::Instant::now();
        assert!(p.may_match(&text));
        assert!(!p.may_match(&vec![b'x'; 3 * FOLD_CHUNK]));
        assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
        // Past 64 needles, the automaton folds case itself: the same answers.
        let many: Vec<String> = (0..100).map(|i| format!("Needle{i:03}")).collect();
        let many: Vec<&[u8]> = many.iter().map(|n| n.as_bytes()).collect();
        let p = Prefilter::any_of_ignoring_case(&many);
        assert!(p.may_match(b"x NEEDLE042 y"));
        assert!(p.may_match("x \u{212a}ey".as_bytes()));
        assert!(!p.may_match(b"x needle y"));
    }
}
