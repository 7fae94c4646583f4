//! What a rule needs a record to hold before it can match: the values a prefilter looks for
//! in a record's raw text, and an index probes for.
//!
//! A rule's need is a disjunction of [`Term`]s (the record holds at least one), derived from
//! its condition: `and` keeps the most selective side's need (an indexable one first, then
//! `eventName`, then the fewest values), `or` and `1 of` join every side's (all must have
//! one), `not` needs nothing. A detection item needs its values when it compares a field's
//! text (plain, `contains`, `startswith`, `endswith`, with `all` or `cased`) with strings
//! that are not numbers or booleans; any other modifier, keyword, or value makes the item
//! need nothing. A rule that needs nothing makes every record a candidate.
//!
//! No false negatives: Sigma compares after Unicode lowercasing, the prefilter matches any
//! ASCII case and keeps text with `\u` escapes or characters that lowercase to ASCII; a value
//! with other non-ASCII letters needs nothing. The needle is the value's longest run free of
//! what JSON may escape (`"`, `\`, `/`, control characters).

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
    /// Text a matching record's JSON holds (in some ASCII case, unless escaped).
    pub needle: String,
    /// The field equals the whole value (no wildcard, no `contains`...): an index can probe it.
    pub exact: bool,
}

impl Term {
    /// The index attribute to probe for this term: an exact `eventName` or `eventSource`.
    pub fn index_key(&self) -> Option<AttributeKey> {
        match (self.exact, self.field.as_str()) {
            (true, "eventName") => Some(AttributeKey::EventName),
            (true, "eventSource") => Some(AttributeKey::EventSource),
            _ => None,
        }
    }
}

/// A rule's need: a record can match only if it holds one of these terms; `None`, every
/// record can.
pub fn rule_needs(rule: &SigmaRule) -> Option<Vec<Term>> {
    let named = &rule.detection.named;
    let needs: Vec<Option<Vec<Term>>> = rule
        .detection
        .conditions
        .iter()
        .map(|c| condition_needs(c, named, 0))
        .collect();
    // Several conditions: the rule matches when any one does.
    either(needs)
}

const MAX_DEPTH: usize = 64;

fn condition_needs(
    condition: &ConditionExpr,
    named: &HashMap<String, Detection>,
    depth: usize,
) -> Option<Vec<Term>> {
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

fn detection_needs(detection: &Detection, depth: usize) -> Option<Vec<Term>> {
    if depth > MAX_DEPTH {
        return None;
    }
    match detection {
        Detection::AllOf(items) => both(items.iter().map(item_needs).collect()),
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
/// object is matched as its compact text, which the record's own text may space otherwise).
fn longest_safe_run(text: &str) -> Option<&str> {
    let unsafe_char = |c: char| {
        matches!(c, '"' | '\\' | '/' | '{' | '}' | '[' | ']' | ':' | ',')
            || c.is_control()
            || c.is_whitespace()
            || !c.is_ascii()
    };
    text.split(unsafe_char)
        .max_by_key(|run| run.len())
        .filter(|run| !run.is_empty())
}

/// Any one of `needs`: the union, if every side needs something.
fn either(needs: Vec<Option<Vec<Term>>>) -> Option<Vec<Term>> {
    if needs.is_empty() {
        return None;
    }
    let mut all = Vec::new();
    for need in needs {
        for term in need? {
            if !all.contains(&term) {
                all.push(term);
            }
        }
    }
    Some(all)
}

/// All of `needs`: the most selective side's (indexable first, then `eventName`, then the
/// fewest terms).
fn both(needs: Vec<Option<Vec<Term>>>) -> Option<Vec<Term>> {
    needs.into_iter().flatten().min_by_key(|terms| {
        let indexable = terms.iter().all(|t| t.index_key().is_some());
        let names = terms.iter().all(|t| t.field == "eventName");
        (!indexable, !names, terms.len())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsigma_parser::parse_sigma_yaml;

    fn needs(detection: &str) -> Option<Vec<(String, String, bool)>> {
        let yaml = format!(
            "title: t\nlogsource: {{product: aws, service: cloudtrail}}\ndetection:\n{detection}"
        );
        let collection = parse_sigma_yaml(&yaml).unwrap();
        assert!(collection.errors.is_empty(), "{:?}", collection.errors);
        rule_needs(&collection.rules[0]).map(|terms| {
            terms
                .into_iter()
                .map(|t| (t.field, t.needle, t.exact))
                .collect()
        })
    }

    fn t(field: &str, needle: &str, exact: bool) -> (String, String, bool) {
        (field.to_string(), needle.to_string(), exact)
    }

    #[test]
    fn an_and_keeps_the_event_names() {
        let got = needs(
            "  selection:\n    eventSource: cloudtrail.amazonaws.com\n    eventName: [StopLogging, DeleteTrail]\n  condition: selection",
        );
        assert_eq!(
            got,
            Some(vec![
                t("eventName", "StopLogging", true),
                t("eventName", "DeleteTrail", true)
            ])
        );
    }

    #[test]
    fn an_or_needs_every_side() {
        let got = needs(
            "  a:\n    eventName: A1\n  b:\n    eventName|contains: B2\n  condition: 1 of a or b",
        );
        assert_eq!(
            got,
            Some(vec![
                t("eventName", "A1", true),
                t("eventName", "B2", false)
            ])
        );
        let got = needs("  sel_a:\n    eventName: A1\n  sel_b:\n    eventName|contains: B2\n  condition: 1 of sel_*");
        assert_eq!(
            got,
            Some(vec![
                t("eventName", "A1", true),
                t("eventName", "B2", false)
            ])
        );
        let got = needs("  a:\n    eventName: A1\n  b:\n    userAgent|re: x\n  condition: a or b");
        assert_eq!(got, None);
    }

    #[test]
    fn a_not_or_a_short_regex_needs_nothing_but_the_other_side_does() {
        let got = needs(
            "  selection:\n    eventName: ConsoleLogin\n  filter:\n    userIdentity.type: Root\n  condition: selection and not filter",
        );
        assert_eq!(got, Some(vec![t("eventName", "ConsoleLogin", true)]));
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
            Some(vec![t("requestParameters.policy", "GetObject", false)])
        );
        let got = needs("  s:\n    eventName: 'Delete*Trail'\n  condition: s");
        assert_eq!(got, Some(vec![t("eventName", "Delete", false)]));
        // A part of the value is a needle, never an index probe.
        let got = needs("  s:\n    eventName: 'Lösche'\n  condition: s");
        assert_eq!(got, Some(vec![t("eventName", "sche", false)]));
        assert_eq!(needs("  s:\n    eventName: 'ö'\n  condition: s"), None);
    }

    #[test]
    fn a_regex_needs_its_literals() {
        let got = needs("  s:\n    userIdentity.arn|re: '.+:assumed-role/aws:.+'\n  condition: s");
        assert_eq!(
            got,
            Some(vec![t("userIdentity.arn", "assumed-role", false)])
        );
        let got = needs("  s:\n    eventName|re: '^(Put|Delete)BucketPolicy$'\n  condition: s");
        assert_eq!(got, Some(vec![t("eventName", "BucketPolicy", false)]));
        let got = needs("  s:\n    eventName|re: '^(PutObject|DeleteBucket)$'\n  condition: s");
        assert_eq!(
            got,
            Some(vec![
                t("eventName", "PutObject", false),
                t("eventName", "DeleteBucket", false)
            ])
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
