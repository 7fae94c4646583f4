//! What a rule needs a record to hold before it can match: the values a prefilter looks for
//! in a record's raw text, and an index probes for.
//!
//! A rule's need is a conjunction of clauses, each a disjunction of [`Term`]s (the record
//! holds at least one term of every clause), derived from its condition: `and` keeps every
//! side's clauses, `or` and `1 of` need one clause of every side (the most selective: an
//! indexable one first, then `eventName`, then the fewest values) joined into one, `not`
//! needs nothing. A detection item needs its values when it compares a field's text (plain,
//! `contains`, `startswith`, `endswith`, with `all` or `cased`) with strings that are not
//! numbers or booleans; any other modifier, keyword, or value makes the item need nothing. A
//! rule that needs nothing makes every record a candidate.
//!
//! No false negatives: Sigma compares after Unicode lowercasing, the prefilter matches any
//! ASCII case and keeps text with `\u` escapes or characters that lowercase to ASCII; a value
//! with other non-ASCII letters needs nothing. The needle is the value's longest run free of
//! what JSON may escape (`"`, `\`, control characters) or space (its punctuation); a `/`,
//! which JSON may write `\/`, is looked for both ways ([`Term::spellings`]).

use std::collections::HashMap;

use rsigma_parser::{
    ConditionExpr, Detection, DetectionItem, Modifier, Quantifier, SigmaRule, SigmaValue,
    StringPart,
};
use trailscan_records::AttributeKey;

/// One value a rule may need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// The field the value is compared with.
    pub field: String,
    /// Text a matching record's JSON holds (in some ASCII case, unless escaped; a `/` maybe
    /// as `\/`).
    pub needle: String,
    /// The field equals the whole value (no wildcard, no `contains`...): an index can probe it.
    pub exact: bool,
}

/// A needle with more `/` than this is looked for by its longest run without one: each `/`
/// doubles the spellings.
const MAX_SLASHES: usize = 3;

impl Term {
    /// The index attribute to probe for this term: an exact `eventName` or `eventSource`.
    pub fn index_key(&self) -> Option<AttributeKey> {
        match (self.exact, self.field.as_str()) {
            (true, "eventName") => Some(AttributeKey::EventName),
            (true, "eventSource") => Some(AttributeKey::EventSource),
            _ => None,
        }
    }

    /// Every way a record's JSON may hold the needle, but for ASCII case and `\u` escapes
    /// (which the prefilter keeps): each `/` as it is or as `\/`.
    pub fn spellings(&self) -> Vec<String> {
        let parts: Vec<&str> = self.needle.split('/').collect();
        if !self.spelled_whole() {
            // Every spelling holds its longest part, or (only slashes) a `/`.
            let longest = parts.iter().max_by_key(|p| p.len()).copied().unwrap_or("");
            return vec![match longest.is_empty() {
                true => "/".to_string(),
                false => longest.to_string(),
            }];
        }
        let mut spellings = vec![parts[0].to_string()];
        for part in &parts[1..] {
            spellings = (spellings.iter())
                .flat_map(|s| [format!("{s}/{part}"), format!("{s}\\/{part}")])
                .collect();
        }
        spellings
    }

    /// Whether [`Term::spellings`] spell the whole needle (not past [`MAX_SLASHES`]).
    fn spelled_whole(&self) -> bool {
        self.needle.matches('/').count() <= MAX_SLASHES
    }

    /// What a prefilter looks for: [`Term::spellings`], each in quotes where the term is
    /// exact and the spelling whole, as a string member equal to the value is written
    /// (`"Root"`, which the `Root` of an ARN does not match). Sound because an exact term's
    /// value is text (no number, boolean or null, whose JSON has no quotes) free of what JSON
    /// escapes, and an object, compared as its JSON text, holds what is not in it (`{`).
    pub fn needles(&self) -> Vec<String> {
        let spellings = self.spellings();
        match self.exact && self.spelled_whole() {
            true => spellings.iter().map(|s| format!("\"{s}\"")).collect(),
            false => spellings,
        }
    }
}

/// A rule's need: a record can match only if it holds a term of every clause.
pub type Need = Vec<Vec<Term>>;

/// A rule's need; `None`, every record can match it.
pub fn rule_needs(rule: &SigmaRule) -> Option<Need> {
    let named = &rule.detection.named;
    let needs: Vec<Option<Need>> = rule
        .detection
        .conditions
        .iter()
        .map(|c| condition_needs(c, named, 0))
        .collect();
    // Several conditions: the rule matches when any one does.
    either(needs)
}

/// Whether every term of `clause` compares `field`.
pub fn is_on(clause: &[Term], field: &str) -> bool {
    clause.iter().all(|t| t.field == field)
}

/// The clause of `need` an index probes and a prefilter can least often pass: every term
/// indexable first, then every term an `eventName`, then the fewest terms.
pub fn most_selective(need: &Need) -> Option<&Vec<Term>> {
    need.iter().min_by_key(|terms| {
        let indexable = terms.iter().all(|t| t.index_key().is_some());
        let names = is_on(terms, "eventName");
        (!indexable, !names, terms.len())
    })
}

const MAX_DEPTH: usize = 64;

fn condition_needs(
    condition: &ConditionExpr,
    named: &HashMap<String, Detection>,
    depth: usize,
) -> Option<Need> {
    if depth > MAX_DEPTH {
        return None;
    }
    match condition {
        ConditionExpr::Identifier(name) => named.get(name).and_then(|d| detection_needs(d, 0)),
        ConditionExpr::And(sides) => both(
            sides
                .iter()
                .map(|c| condition_needs(c, named, depth + 1))
                .collect(),
        ),
        ConditionExpr::Or(sides) => either(
            sides
                .iter()
                .map(|c| condition_needs(c, named, depth + 1))
                .collect(),
        ),
        ConditionExpr::Not(_) => None,
        ConditionExpr::Selector {
            quantifier,
            pattern,
        } => {
            let mut names: Vec<&String> = named
                .keys()
                .filter(|name| pattern.matches_detection_name(name))
                .collect();
            names.sort();
            let needs = names
                .iter()
                .map(|name| detection_needs(&named[*name], 0))
                .collect();
            match quantifier {
                Quantifier::All => both(needs),
                Quantifier::Any | Quantifier::Count(1..) => either(needs),
                Quantifier::Count(0) => None,
            }
        }
    }
}

fn detection_needs(detection: &Detection, depth: usize) -> Option<Need> {
    if depth > MAX_DEPTH {
        return None;
    }
    match detection {
        Detection::AllOf(items) => both(
            (items.iter())
                .map(|item| item_needs(item).map(|clause| vec![clause]))
                .collect(),
        ),
        Detection::AnyOf(subs) => {
            either(subs.iter().map(|d| detection_needs(d, depth + 1)).collect())
        }
        Detection::And(subs) => both(subs.iter().map(|d| detection_needs(d, depth + 1)).collect()),
        Detection::Keywords(_) | Detection::ArrayMatch { .. } | Detection::Conditional { .. } => {
            None
        }
    }
}

fn item_needs(item: &DetectionItem) -> Option<Vec<Term>> {
    let field = item.field.name.as_ref()?;
    if item.field.has_modifier(Modifier::Re) {
        return regex_needs(field, item);
    }
    let mut exact = true;
    for modifier in &item.field.modifiers {
        match modifier {
            Modifier::Cased | Modifier::All => {}
            Modifier::Contains | Modifier::StartsWith | Modifier::EndsWith => exact = false,
            _ => return None,
        }
    }
    let mut terms = Vec::new();
    for value in &item.values {
        let SigmaValue::String(s) = value else {
            return None;
        };
        let wildcard = s.parts.iter().any(|p| matches!(p, StringPart::Special(_)));
        let needle = s
            .parts
            .iter()
            .filter_map(|p| match p {
                StringPart::Plain(text) => longest_safe_run(text),
                StringPart::Special(_) => None,
            })
            .max_by_key(|run| run.len());
        let plain: String = s
            .parts
            .iter()
            .filter_map(|p| match p {
                StringPart::Plain(text) => Some(text.as_str()),
                StringPart::Special(_) => None,
            })
            .collect();
        let needle = needle.filter(|_| plain_is_text(&plain));
        let Some(needle) = needle else {
            // `all`: another value may still be needed; otherwise this one is an alternative
            // that needs nothing.
            if item.field.has_modifier(Modifier::All) {
                continue;
            }
            return None;
        };
        // Exact (an index probe) only when the needle is the whole value: a part of it
        // (`sche` of `Lösche`) is in the text, but its hash is no value's.
        let whole = needle == plain;
        terms.push(Term {
            field: field.clone(),
            needle: needle.to_string(),
            exact: exact && !wildcard && whole,
        });
    }
    if item.field.has_modifier(Modifier::All) {
        // Every value must be there: any one is a need; the longest.
        return terms
            .into_iter()
            .max_by_key(|t| t.needle.len())
            .map(|t| vec![t]);
    }
    (!terms.is_empty()).then_some(terms)
}

/// A `re` item's need: text every match of its pattern holds (`.+:assumed-role/aws:.+`
/// holds `:assumed-role`), for each of its values (any one, or with `all` the longest).
fn regex_needs(field: &str, item: &DetectionItem) -> Option<Vec<Term>> {
    for modifier in &item.field.modifiers {
        match modifier {
            Modifier::Re | Modifier::All => {}
            // Case-insensitive and line flags change no literal's bytes beyond ASCII case.
            Modifier::IgnoreCase | Modifier::Multiline | Modifier::DotAll => {}
            _ => return None,
        }
    }
    let mut terms = Vec::new();
    for value in &item.values {
        let SigmaValue::String(s) = value else {
            return None;
        };
        let hir = regex_syntax::ParserBuilder::new()
            .nest_limit(MAX_DEPTH as u32)
            .build()
            .parse(&s.original)
            .ok()?;
        let alternatives = required_literals(&hir, 0)?;
        let needles: Option<Vec<String>> = alternatives
            .iter()
            .map(|bytes| {
                let text = std::str::from_utf8(bytes).ok()?;
                longest_safe_run(text)
                    .filter(|run| run.len() >= 3)
                    .map(str::to_string)
            })
            .collect();
        let needles = needles?;
        let one_value: Vec<Term> = needles
            .into_iter()
            .map(|needle| Term {
                field: field.to_string(),
                needle,
                exact: false,
            })
            .collect();
        if item.field.has_modifier(Modifier::All) {
            // Every pattern must match: one pattern's need is the item's.
            return Some(one_value);
        }
        terms.extend(one_value);
    }
    (!terms.is_empty()).then_some(terms)
}

/// Literal bytes every match of `hir` holds, one of several: `None` when there is none.
fn required_literals(hir: &regex_syntax::hir::Hir, depth: usize) -> Option<Vec<Vec<u8>>> {
    use regex_syntax::hir::HirKind;
    if depth > MAX_DEPTH {
        return None;
    }
    match hir.kind() {
        HirKind::Literal(literal) => Some(vec![literal.0.to_vec()]),
        HirKind::Capture(capture) => required_literals(&capture.sub, depth + 1),
        HirKind::Repetition(repetition) if repetition.min >= 1 => {
            required_literals(&repetition.sub, depth + 1)
        }
        HirKind::Alternation(branches) => {
            let mut all = Vec::new();
            for branch in branches {
                all.extend(required_literals(branch, depth + 1)?);
            }
            Some(all)
        }
        HirKind::Concat(parts) => {
            // Adjacent literals join into one run; the best single need wins (the one whose
            // shortest alternative is longest).
            let mut candidates: Vec<Vec<Vec<u8>>> = Vec::new();
            let mut run: Vec<u8> = Vec::new();
            for part in parts {
                if let HirKind::Literal(literal) = part.kind() {
                    run.extend_from_slice(&literal.0);
                    continue;
                }
                if !run.is_empty() {
                    candidates.push(vec![std::mem::take(&mut run)]);
                }
                if let Some(need) = required_literals(part, depth + 1) {
                    candidates.push(need);
                }
            }
            if !run.is_empty() {
                candidates.push(vec![run]);
            }
            candidates
                .into_iter()
                .max_by_key(|alternatives| alternatives.iter().map(Vec::len).min().unwrap_or(0))
        }
        _ => None,
    }
}

/// Whether a rule's value can only be matched by text that holds it: not a number or a
/// boolean, whose JSON may be written otherwise (`1e2`, `true` for `'True'`).
fn plain_is_text(value: &str) -> bool {
    let lowered = value.trim().to_ascii_lowercase();
    lowered.parse::<f64>().is_err() && !matches!(lowered.as_str(), "true" | "false" | "null" | "")
}

/// The longest run of `text` that JSON writes as it is, ASCII only (non-ASCII letters fold in
/// ways an ASCII-case search does not follow), and free of JSON's punctuation and spaces (an
/// object is matched as its compact text, which the record's own text may space otherwise);
/// a `/` stays in it, looked for both ways ([`Term::spellings`]).
fn longest_safe_run(text: &str) -> Option<&str> {
    let unsafe_char = |c: char| {
        matches!(c, '"' | '\\' | '{' | '}' | '[' | ']' | ':' | ',')
            || c.is_control()
            || c.is_whitespace()
            || !c.is_ascii()
    };
    text.split(unsafe_char)
        .max_by_key(|run| run.len())
        .filter(|run| !run.is_empty())
}

/// Any one of `needs`: if every side needs something, one clause of each side's, joined.
fn either(needs: Vec<Option<Need>>) -> Option<Need> {
    if needs.len() == 1 {
        return needs.into_iter().next().flatten();
    }
    let mut joined: Vec<Term> = Vec::new();
    for need in &needs {
        for term in most_selective(need.as_ref()?)? {
            if !joined.contains(term) {
                joined.push(term.clone());
            }
        }
    }
    (!joined.is_empty()).then(|| vec![joined])
}

/// All of `needs`: every side's clauses (a side that needs nothing adds none).
fn both(needs: Vec<Option<Need>>) -> Option<Need> {
    let clauses: Need = needs.into_iter().flatten().flatten().collect();
    (!clauses.is_empty()).then_some(clauses)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsigma_parser::parse_sigma_yaml;

    fn needs(detection: &str) -> Option<Vec<Vec<(String, String, bool)>>> {
        let yaml = format!(
            "title: t\nlogsource: {{product: aws, service: cloudtrail}}\ndetection:\n{detection}"
        );
        let collection = parse_sigma_yaml(&yaml).unwrap();
        assert!(collection.errors.is_empty(), "{:?}", collection.errors);
        rule_needs(&collection.rules[0]).map(|clauses| {
            (clauses.into_iter())
                .map(|terms| {
                    (terms.into_iter())
                        .map(|t| (t.field, t.needle, t.exact))
                        .collect()
                })
                .collect()
        })
    }

    fn t(field: &str, needle: &str, exact: bool) -> (String, String, bool) {
        (field.to_string(), needle.to_string(), exact)
    }

    #[test]
    fn an_and_needs_every_side_and_probes_its_event_names() {
        let detection = "  selection:\n    eventSource: cloudtrail.amazonaws.com\n    eventName: [StopLogging, DeleteTrail]\n  condition: selection";
        let names = vec![
            t("eventName", "StopLogging", true),
            t("eventName", "DeleteTrail", true),
        ];
        assert_eq!(
            needs(detection),
            Some(vec![
                vec![t("eventSource", "cloudtrail.amazonaws.com", true)],
                names.clone()
            ])
        );
        // The index probes (and an `or` keeps) the event names.
        let got = needs(&format!(
            "{}\n  other:\n    eventName: Z9\n  condition: selection or other",
            detection.trim_end_matches("\n  condition: selection")
        ));
        let mut joined = names;
        joined.push(t("eventName", "Z9", true));
        assert_eq!(got, Some(vec![joined]));
        // Two selections ANDed: a term of each, as the rules of console logins need.
        let got = needs("  a:\n    eventName: ConsoleLogin\n  b:\n    responseElements.ConsoleLogin: Success\n  condition: a and b");
        assert_eq!(
            got,
            Some(vec![
                vec![t("eventName", "ConsoleLogin", true)],
                vec![t("responseElements.ConsoleLogin", "Success", true)]
            ])
        );
    }

    #[test]
    fn a_slash_is_looked_for_as_json_may_write_it() {
        let term = |needle: &str| Term {
            field: "f".into(),
            needle: needle.into(),
            exact: false,
        };
        assert_eq!(term("plain").spellings(), vec!["plain"]);
        assert_eq!(term("role/aws").spellings(), vec!["role/aws", "role\\/aws"]);
        assert_eq!(term("a/b/c").spellings().len(), 4);
        // Past three, the longest run without one.
        assert_eq!(term("a/bb/c/d/e").spellings(), vec!["bb"]);
        assert_eq!(term("////").spellings(), vec!["/"]);
        let exact = |needle: &str| Term {
            exact: true,
            ..term(needle)
        };
        assert_eq!(exact("Root").needles(), vec!["\"Root\""]);
        assert_eq!(exact("a/b").needles(), vec!["\"a/b\"", "\"a\\/b\""]);
        assert_eq!(exact("a/bb/c/d/e").needles(), vec!["bb"]);
        assert_eq!(term("Root").needles(), vec!["Root"]);
    }

    #[test]
    fn an_or_needs_every_side() {
        let got = needs(
            "  a:\n    eventName: A1\n  b:\n    eventName|contains: B2\n  condition: 1 of a or b",
        );
        assert_eq!(
            got,
            Some(vec![vec![
                t("eventName", "A1", true),
                t("eventName", "B2", false)
            ]])
        );
        let got = needs("  sel_a:\n    eventName: A1\n  sel_b:\n    eventName|contains: B2\n  condition: 1 of sel_*");
        assert_eq!(
            got,
            Some(vec![vec![
                t("eventName", "A1", true),
                t("eventName", "B2", false)
            ]])
        );
        let got = needs("  a:\n    eventName: A1\n  b:\n    userAgent|re: x\n  condition: a or b");
        assert_eq!(got, None);
    }

    #[test]
    fn a_not_or_a_short_regex_needs_nothing_but_the_other_side_does() {
        let got = needs(
            "  selection:\n    eventName: ConsoleLogin\n  filter:\n    userIdentity.type: Root\n  condition: selection and not filter",
        );
        assert_eq!(got, Some(vec![vec![t("eventName", "ConsoleLogin", true)]]));
        assert_eq!(
            needs("  s:\n    userAgent|re: '^a.s'\n  condition: s"),
            None
        );
        assert_eq!(needs("  s:\n    errorCode: null\n  condition: s"), None);
        assert_eq!(
            needs("  s:\n    eventVersion: '1.08'\n  condition: s"),
            None
        );
        assert_eq!(needs("  s:\n    readOnly: 'true'\n  condition: s"), None);
        assert_eq!(needs("  s:\n    x|contains: '*'\n  condition: s"), None);
        assert_eq!(needs("  s:\n    - keyword\n  condition: s"), None);
    }

    #[test]
    fn wildcards_and_escapes_leave_the_longest_plain_run() {
        let got = needs("  s:\n    requestParameters.policy|contains|all:\n      - '\"s3:GetObject\"'\n      - 'Allow'\n  condition: s");
        assert_eq!(
            got,
            Some(vec![vec![t(
                "requestParameters.policy",
                "GetObject",
                false
            )]])
        );
        let got = needs("  s:\n    eventName: 'Delete*Trail'\n  condition: s");
        assert_eq!(got, Some(vec![vec![t("eventName", "Delete", false)]]));
        // A part of the value is a needle, never an index probe.
        let got = needs("  s:\n    eventName: 'Lösche'\n  condition: s");
        assert_eq!(got, Some(vec![vec![t("eventName", "sche", false)]]));
        assert_eq!(needs("  s:\n    eventName: 'ö'\n  condition: s"), None);
    }

    #[test]
    fn a_regex_needs_its_literals() {
        let got = needs("  s:\n    userIdentity.arn|re: '.+:assumed-role/aws:.+'\n  condition: s");
        assert_eq!(
            got,
            Some(vec![vec![t("userIdentity.arn", "assumed-role/aws", false)]])
        );
        let got = needs("  s:\n    eventName|re: '^(Put|Delete)BucketPolicy$'\n  condition: s");
        assert_eq!(got, Some(vec![vec![t("eventName", "BucketPolicy", false)]]));
        let got = needs("  s:\n    eventName|re: '^(PutObject|DeleteBucket)$'\n  condition: s");
        assert_eq!(
            got,
            Some(vec![vec![
                t("eventName", "PutObject", false),
                t("eventName", "DeleteBucket", false)
            ]])
        );
        assert_eq!(
            needs("  s:\n    eventName|re: '(?i)put.*'\n  condition: s"),
            None
        );
        assert_eq!(
            needs("  s:\n    eventName|re: 'a*b?'\n  condition: s"),
            None
        );
        assert_eq!(needs("  s:\n    eventName|re: '(ab'\n  condition: s"), None);
    }
}
