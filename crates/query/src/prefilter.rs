//! Candidate first, then confirm: a byte search that rules out text no record of which can
//! match, before any JSON is parsed.
//!
//! Contract (as ripgrep's `find_candidate_line`): false positives are allowed, false
//! negatives never. Every matching record's raw text contains each attribute's needle
//! ([`LookupAttribute::needle`]) unless the text uses a `\u` escape, which could spell any
//! character of a needle; text with `\u` is always a candidate.

use std::cell::RefCell;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use memchr::memmem::Finder;
use trailscan_records::LookupAttribute;

/// The compiled needles of a request.
pub struct Prefilter {
    needles: Vec<Finder<'static>>,
    /// Text holding any one needle may match (else every needle must be there).
    any: bool,
    unicode_escape: Finder<'static>,
    /// [`Prefilter::clauses_ignoring_case`]'s automaton, in one pass over the text: the
    /// needles in any ASCII case, `\u`, and the characters that lowercase to ASCII (the
    /// patterns from [`Clauses::always`] on).
    folded: Option<AhoCorasick>,
    /// Which of `folded`'s needles make text a candidate.
    clauses: Clauses,
    /// The longest of `folded`'s patterns, in bytes.
    longest_needle: usize,
    /// `folded` searches ASCII-lowercased text (else it folds case itself).
    fold_text: bool,
}

/// The longest needle [`Prefilter::any_of_ignoring_case`] searches for (longer ones are cut).
const MAX_NEEDLE: usize = 64;

/// The most patterns aho-corasick's SIMD searcher (Teddy) takes.
const TEDDY_PATTERNS: usize = 64;

/// How much text [`Prefilter::any_of_ignoring_case`] folds at a time.
const FOLD_CHUNK: usize = 1 << 20;

thread_local! {
    /// The text being searched, ASCII-lowercased, for [`Prefilter::any_of_ignoring_case`]:
    /// one buffer per scan thread, as large as the largest text searched.
    static LOWERED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// UTF-8 of the only characters that compare equal to an ASCII letter once case is folded:
/// by [`str::to_lowercase`], the Kelvin sign (to `k`) and the capital I with a dot (to `i`
/// and a combining dot); by Unicode simple case folding (a `(?i)` regex), also the long s
/// (`s`). Text holding one may match a needle in a way no ASCII folding finds.
const FOLDS_TO_ASCII: [&[u8]; 3] = [
    "\u{212a}".as_bytes(),
    "\u{130}".as_bytes(),
    "\u{17f}".as_bytes(),
];

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
    /// lowercases to ASCII ([`FOLDS_TO_ASCII`]) is always a candidate. Empty: rules nothing out.
    pub fn any_of_ignoring_case(needles: &[&[u8]]) -> Prefilter {
        let alternatives: Vec<Vec<Vec<&[u8]>>> = needles.iter().map(|n| vec![vec![*n]]).collect();
        Prefilter::clauses_ignoring_case(&alternatives)
    }

    /// [`Prefilter::any_of_ignoring_case`] for alternatives that each need several values: text
    /// is a candidate when, for one of `alternatives` (a Sigma rule), each of its clauses has
    /// one of its needles in it (`ConsoleLogin`, and `Success`). An alternative without
    /// clauses needs nothing, and so does the prefilter. Empty: rules nothing out.
    pub fn clauses_ignoring_case(alternatives: &[Vec<Vec<&[u8]>>]) -> Prefilter {
        let mut prefilter = Prefilter::compile(Vec::new(), true);
        if alternatives.is_empty() || alternatives.iter().any(Vec::is_empty) {
            return prefilter;
        }
        // A needle's first bytes are needed as surely as the whole, and a long needle costs
        // its length at every candidate position: each is cut to its first 64 bytes.
        let lower = |p: &[u8]| p[..p.len().min(MAX_NEEDLE)].to_ascii_lowercase();
        let mut patterns: Vec<Vec<u8>> = Vec::new();
        let mut index_of = |needle: &[u8]| {
            let needle = lower(needle);
            match patterns.iter().position(|p| *p == needle) {
                Some(i) => i,
                None => {
                    patterns.push(needle);
                    patterns.len() - 1
                }
            }
        };
        let alternatives: Vec<Vec<Vec<usize>>> = (alternatives.iter())
            .map(|clauses| {
                (clauses.iter())
                    .map(|needles| needles.iter().map(|n| index_of(n)).collect())
                    .collect()
            })
            .collect();
        let always = patterns.len();
        patterns.extend([&b"\\u"[..]].into_iter().chain(FOLDS_TO_ASCII).map(lower));
        prefilter.clauses = Clauses::new(alternatives, always, patterns.len());
        prefilter.longest_needle = patterns.iter().map(Vec::len).max().unwrap_or(0);
        // Lowercased needles over lowercased text: a case-sensitive automaton keeps
        // aho-corasick's SIMD prefilters (Teddy), which ASCII case folding turns off; folding
        // a copy of the text costs less than searching without them (a file of 900 needle-free
        // records: 1.8 s with the folding automaton, for 0.5 s of inflating).
        // Past Teddy's reach (64 patterns) there is no SIMD prefilter to keep: a DFA that
        // folds case itself, over the text as it is, saves the copy.
        // Nor do several automata of up to 64 patterns each, one pass of each over the folded
        // text, recover it: 56 of SigmaHQ's rules (131 patterns, three automata) took 2.8 s
        // where the one DFA takes 1.9 s.
        prefilter.fold_text = patterns.len() <= TEDDY_PATTERNS;
        // With clauses, every needle found, not only the first (a clause's needle may come
        // after another's): an overlapping search, which costs more (one rule's needles over
        // the benchmark archive: 1.8 s against 1.0 s). Without, the first needle decides.
        let kind = match prefilter.clauses.any_of {
            true => MatchKind::LeftmostFirst,
            false => MatchKind::Standard,
        };
        prefilter.folded = match prefilter.fold_text {
            true => AhoCorasickBuilder::new().match_kind(kind).build(patterns),
            false => AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .match_kind(kind)
                .kind(Some(AhoCorasickKind::DFA))
                .build(patterns),
        }
        .ok();
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
            folded: None,
            clauses: Clauses::default(),
            longest_needle: 0,
            fold_text: false,
        }
    }

    /// Whether the prefilter can rule anything out.
    pub fn is_active(&self) -> bool {
        !self.needles.is_empty() || self.folded.is_some()
    }

    /// Whether `text` (a whole file or one record) may hold a matching record (always, for a
    /// prefilter that rules nothing out).
    pub fn may_match(&self, text: &[u8]) -> bool {
        if !self.is_active() {
            return true;
        }
        if let Some(folded) = &self.folded {
            let mut found = Found::new(&self.clauses, false);
            self.search(folded, text, &mut found);
            return found.any_alternative();
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
    /// than one alternative, one of which has more than one clause. (Where every alternative
    /// is one clause, the first needle found decides and the rest of the text is not read.)
    pub fn tells_alternatives(&self) -> bool {
        self.folded.is_some() && !self.clauses.any_of && self.clauses.alternatives.len() > 1
    }

    /// Which of the alternatives `text` may match, so that a hunt evaluates only the rules
    /// whose every clause has a needle in the record's text, not every rule: their positions,
    /// ascending, in `held`. [`Candidates::All`] where any may (a `\u` escape, a character
    /// that lowercases to ASCII), or where the prefilter does not tell alternatives apart
    /// ([`Prefilter::tells_alternatives`]) and `text` may match. Unlike
    /// [`Prefilter::may_match`], this reads all of `text`.
    pub fn alternatives_in(&self, text: &[u8], held: &mut Vec<usize>) -> Candidates {
        held.clear();
        let (Some(folded), true) = (&self.folded, self.tells_alternatives()) else {
            return match self.may_match(text) {
                true => Candidates::All,
                false => Candidates::None,
            };
        };
        let mut found = Found::new(&self.clauses, true);
        self.search(folded, text, &mut found);
        if found.always {
            return Candidates::All;
        }
        held.append(&mut found.complete);
        held.sort_unstable();
        match held.is_empty() {
            true => Candidates::None,
            false => Candidates::Some,
        }
    }

    /// Runs `folded` over `text` into `found`, until it has decided.
    fn search(&self, folded: &AhoCorasick, text: &[u8], found: &mut Found<'_>) {
        if !self.fold_text {
            found.in_text(folded, text);
            return;
        }
        // A chunk at a time (overlapping by a needle's length), so that the copy stays small
        // whatever the text.
        let overlap = self.longest_needle.saturating_sub(1);
        // Twice the longest needle at least, so that every chunk moves the start on.
        let chunk = FOLD_CHUNK.max(2 * self.longest_needle);
        LOWERED.with_borrow_mut(|lowered| {
            let mut start = 0;
            loop {
                let end = (start + chunk).min(text.len());
                lowered.clear();
                lowered.extend_from_slice(&text[start..end]);
                lowered.make_ascii_lowercase();
                if found.in_text(folded, &lowered[..]) || end == text.len() {
                    return;
                }
                start = end - overlap.min(end - start);
            }
        });
    }
}

/// What [`Prefilter::alternatives_in`] found a text may match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Candidates {
    /// No alternative: the text cannot match.
    None,
    /// The alternatives listed.
    Some,
    /// Any alternative.
    All,
}

/// Which needles make text a candidate: every clause of one alternative.
#[derive(Default)]
struct Clauses {
    /// Each alternative's clauses, each the patterns any one of which it needs.
    alternatives: Vec<Vec<Vec<usize>>>,
    /// Patterns from this one on (`\u`, what lowercases to ASCII) make any text a candidate.
    always: usize,
    /// For each pattern, the alternatives that name it.
    named_by: Vec<Vec<usize>>,
    /// Every alternative is one clause: any pattern found makes text a candidate.
    any_of: bool,
}

impl Clauses {
    fn new(alternatives: Vec<Vec<Vec<usize>>>, always: usize, patterns: usize) -> Clauses {
        let mut named_by = vec![Vec::new(); patterns];
        for (a, clauses) in alternatives.iter().enumerate() {
            for &pattern in clauses.iter().flatten() {
                if named_by[pattern].last() != Some(&a) {
                    named_by[pattern].push(a);
                }
            }
        }
        Clauses {
            any_of: alternatives.iter().all(|clauses| clauses.len() == 1),
            alternatives,
            always,
            named_by,
        }
    }
}

/// The needles found so far in one text (over its chunks), and what they make of it.
struct Found<'c> {
    clauses: &'c Clauses,
    seen: Vec<bool>,
    /// Every complete alternative is wanted, not the first: the whole text is read.
    every: bool,
    /// The alternatives with all their clauses, in the order completed.
    complete: Vec<usize>,
    /// A pattern that makes any text a candidate was found.
    always: bool,
}

impl<'c> Found<'c> {
    fn new(clauses: &'c Clauses, every: bool) -> Found<'c> {
        // Where the first needle decides, nothing is kept of what was found.
        let kept = match clauses.any_of {
            true => 0,
            false => clauses.named_by.len(),
        };
        Found {
            clauses,
            seen: vec![false; kept],
            every,
            complete: Vec::new(),
            always: false,
        }
    }

    /// Whether the text may match some alternative, from what was found.
    fn any_alternative(&self) -> bool {
        self.always || !self.complete.is_empty()
    }

    /// Adds the needles of `text`; whether the text is decided (no more need be read).
    fn in_text(&mut self, automaton: &AhoCorasick, text: &[u8]) -> bool {
        if self.clauses.any_of {
            // Any needle decides: which alternative is not told.
            if automaton.is_match(text) {
                self.always = true;
            }
            return self.always;
        }
        for found in automaton.find_overlapping_iter(text) {
            let pattern = found.pattern().as_usize();
            if pattern >= self.clauses.always {
                self.always = true;
                return true;
            }
            if std::mem::replace(&mut self.seen[pattern], true) {
                continue;
            }
            let holds = |clause: &Vec<usize>| clause.iter().any(|&p| self.seen[p]);
            for &a in &self.clauses.named_by[pattern] {
                if !self.complete.contains(&a) && self.clauses.alternatives[a].iter().all(holds) {
                    self.complete.push(a);
                }
            }
            if !self.every && !self.complete.is_empty() {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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

    /// Whatever Unicode lowercasing makes equal to a needle is a candidate.
    #[test]
    fn clauses_need_one_needle_each_of_one_alternative() {
        let login: Vec<Vec<&[u8]>> = vec![vec![b"ConsoleLogin"], vec![b"Success", b"Passed"]];
        let trail: Vec<Vec<&[u8]>> = vec![vec![b"DeleteTrail"]];
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
        let login: Vec<Vec<&[u8]>> = vec![vec![b"ConsoleLogin"], vec![b"Success", b"Passed"]];
        let trail: Vec<Vec<&[u8]>> = vec![vec![b"DeleteTrail"]];
        let success: Vec<Vec<&[u8]>> = vec![vec![b"success"]];
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
            Prefilter::clauses_ignoring_case(&[trail.clone(), vec![vec![b"StopLogging"]]]),
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
