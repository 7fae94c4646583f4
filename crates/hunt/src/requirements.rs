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
        terms.push(Term {
            field: field.clone(),
            needle: needle.to_string(),
            exact: exact && !wildcard,
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

/// Whether a rule's value can only be matched by text that holds it: not a number or a
/// boolean, whose JSON may be written otherwise (`1e2`, `true` for `'True'`).
fn plain_is_text(value: &str) -> bool {
    let lowered = value.trim().to_ascii_lowercase();
    lowered.parse::<f64>().is_err() && !matches!(lowered.as_str(), "true" | "false" | "null" | "")
}

/// The longest run of `text` that JSON writes as it is, ASCII only (non-ASCII letters fold in
/// ways an ASCII-case search does not follow).
fn longest_safe_run(text: &str) -> Option<&str> {
    if !text.is_ascii() {
        return None;
    }
    text.split(|c: char| c == '"' || c == '\\' || c == '/' || c.is_control())
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
    fn a_not_or_a_regex_needs_nothing_but_the_other_side_does() {
        let got = needs(
            "  selection:\n    eventName: ConsoleLogin\n  filter:\n    userIdentity.type: Root\n  condition: selection and not filter",
        );
        assert_eq!(got, Some(vec![t("eventName", "ConsoleLogin", true)]));
        assert_eq!(
            needs("  s:\n    userAgent|re: '^aws'\n  condition: s"),
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
            Some(vec![t("requestParameters.policy", "s3:GetObject", false)])
        );
        let got = needs("  s:\n    eventName: 'Delete*Trail'\n  condition: s");
        assert_eq!(got, Some(vec![t("eventName", "Delete", false)]));
        assert_eq!(needs("  s:\n    eventName: 'Lösche'\n  condition: s"), None);
    }
}
