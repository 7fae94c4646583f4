//! Rules rewritten before rsigma compiles them, where rsigma 0.23 differs from the Sigma
//! specification (and from pySigma, its reference implementation).
//!
//! - `base64offset`: rsigma keeps the last character of each offset's encoding, which depends
//!   on the bytes after the value, so a value followed by anything else is missed
//!   (`base64offset|contains: secret` misses `eHNlY3JldHl5`, "xsecretyy"). The item becomes
//!   a `contains` of the three stable middles, as pySigma writes them.
//! - `temporal` and `temporal_ordered` without a `condition`: the specification says every
//!   rule named must match within the timespan; rsigma's default is any one (`gte: 1`), which
//!   fires on a single event. Such a correlation gets `gte:` the number of its rules.
//! - `expand`: rsigma reads `%NAME%` as a field of the event; the specification (and
//!   pySigma's `value_placeholders`) as values the user supplies. They come from
//!   `--placeholders`.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rsigma_parser::{
    ConditionOperator, CorrelationCondition, CorrelationRule, CorrelationType, Detection,
    DetectionItem, Modifier, SigmaRule, SigmaString, SigmaValue,
};

/// Applies every rewrite to `rule`.
pub fn rewrite(rule: &mut SigmaRule) {
    // This rewrite cannot fail: there is no error to keep.
    let _ = each_item(rule, &mut |item| {
        base64_offset(item);
        Ok(())
    });
}

/// Calls `f` with every detection item of `rule`, however nested, until one fails.
fn each_item(
    rule: &mut SigmaRule,
    f: &mut dyn FnMut(&mut DetectionItem) -> Result<(), String>,
) -> Result<(), String> {
    fn walk(
        detection: &mut Detection,
        depth: usize,
        f: &mut dyn FnMut(&mut DetectionItem) -> Result<(), String>,
    ) -> Result<(), String> {
        if depth > 64 {
            return Ok(());
        }
        match detection {
            Detection::AllOf(items) => items.iter_mut().try_for_each(f),
            Detection::AnyOf(subs) | Detection::And(subs) => {
                subs.iter_mut().try_for_each(|sub| walk(sub, depth + 1, f))
            }
            Detection::ArrayMatch { body, .. } => walk(body, depth + 1, f),
            Detection::Conditional { named, .. } => named
                .values_mut()
                .try_for_each(|sub| walk(sub, depth + 1, f)),
            Detection::Keywords(_) => Ok(()),
        }
    }
    rule.detection
        .named
        .values_mut()
        .try_for_each(|detection| walk(detection, 0, f))
}

/// The condition a temporal correlation written without one has: all of its rules.
pub fn temporal_needs_every_rule(correlation: &mut CorrelationRule) {
    if matches!(
        correlation.correlation_type,
        CorrelationType::Temporal | CorrelationType::TemporalOrdered
    ) {
        correlation.condition = CorrelationCondition::Threshold {
            predicates: vec![(ConditionOperator::Gte, correlation.rules.len() as u64)],
            field: None,
            percentile: None,
        };
    }
}

/// `base64offset` (with `contains` and `cased` only, on values without escapes: with `wide`
/// or `utf16` the bytes encoded differ, and rsigma keeps those) becomes a `contains` of
/// pySigma's stable encodings.
fn base64_offset(item: &mut DetectionItem) {
    let modifiers = &item.field.modifiers;
    let offset = modifiers.contains(&Modifier::Base64Offset);
    let plain = modifiers.iter().all(|m| {
        matches!(
            m,
            Modifier::Base64Offset | Modifier::Contains | Modifier::Cased
        )
    });
    let escaped = item.values.iter().any(|v| match v {
        SigmaValue::String(s) => s.original.contains('\\'),
        _ => false,
    });
    if !offset || !plain || escaped {
        return;
    }
    let mut values = Vec::new();
    for value in &item.values {
        let SigmaValue::String(s) = value else {
            values.push(value.clone());
            continue;
        };
        values.extend(
            offset_encodings(s.original.as_bytes())
                .into_iter()
                .map(|e| SigmaValue::String(SigmaString::from_raw(&e))),
        );
    }
    item.values = values;
    item.field
        .modifiers
        .retain(|m| *m != Modifier::Base64Offset);
    if !item.field.modifiers.contains(&Modifier::Contains) {
        item.field.modifiers.push(Modifier::Contains);
    }
}

/// The parts of `value`'s base64 encoding that do not depend on what surrounds it, for each
/// of the three offsets it can start at (pySigma's `base64offset`).
fn offset_encodings(value: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    const END_TRIM: [usize; 3] = [0, 3, 2];
    (0..3)
        .filter_map(|offset| {
            let mut padded = vec![b' '; offset];
            padded.extend_from_slice(value);
            let encoded = STANDARD.encode(&padded);
            let end = encoded.len() - END_TRIM[(value.len() + offset) % 3];
            (START[offset] < end).then(|| encoded[START[offset]..end].to_string())
        })
        .collect()
}

/// The dashes a `windash` value may hold: each stands for five characters, so a value stands
/// for 5^dashes strings, every one compiled and compared with each record. rsigma allows 8
/// (390,625 strings): one such rule took 11 s to load and 100 ms a record (found by the
/// `sigma_rule` fuzz target); 4 make 625.
pub const MAX_WINDASH_DASHES: usize = 4;

/// Refuses a `windash` value of more than [`MAX_WINDASH_DASHES`] dashes.
pub fn check_windash(rule: &mut SigmaRule) -> Result<(), String> {
    each_item(rule, &mut |item| {
        if !item.field.modifiers.contains(&Modifier::WindAsh) {
            return Ok(());
        }
        for value in &item.values {
            let SigmaValue::String(s) = value else {
                continue;
            };
            let dashes = s.original.matches('-').count();
            if dashes > MAX_WINDASH_DASHES {
                return Err(format!(
                    "windash: a value with {dashes} dashes stands for 5^{dashes} strings, each compared with every record (at most {MAX_WINDASH_DASHES} dashes a value)"
                ));
            }
        }
        Ok(())
    })
}

/// Replaces each value of an `expand` item: every `%NAME%` in it by each of `placeholders`'
/// values for NAME (several placeholders in one value: every combination), as pySigma's
/// `value_placeholders` does; the item then matches as if written with those values. A
/// placeholder without values refuses the rule (rsigma would read `%NAME%` as a field of the
/// event instead).
pub fn expand_placeholders(
    rule: &mut SigmaRule,
    placeholders: &BTreeMap<String, Vec<String>>,
) -> Result<(), String> {
    each_item(rule, &mut |item| {
        if !item.field.modifiers.contains(&Modifier::Expand) {
            return Ok(());
        }
        // A regex's value is raw text (no wildcards); any other is a Sigma string.
        let regex = item.field.modifiers.contains(&Modifier::Re);
        let mut values = Vec::new();
        for value in &item.values {
            let SigmaValue::String(s) = value else {
                values.push(value.clone());
                continue;
            };
            for text in expand_text(&s.original, placeholders)? {
                let value = match regex {
                    true => SigmaString::from_raw(&text),
                    false => SigmaString::new(&text),
                };
                values.push(SigmaValue::String(value));
            }
        }
        item.values = values;
        item.field.modifiers.retain(|m| *m != Modifier::Expand);
        Ok(())
    })
}

/// Every text `value` stands for, its `%NAME%`s replaced (at most [`MAX_EXPANSIONS`]).
fn expand_text(
    value: &str,
    placeholders: &BTreeMap<String, Vec<String>>,
) -> Result<Vec<String>, String> {
    let Some(start) = value.find('%') else {
        return Ok(vec![value.to_string()]);
    };
    let Some(length) = value[start + 1..].find('%') else {
        return Ok(vec![value.to_string()]);
    };
    let name = &value[start + 1..start + 1 + length];
    let rest = &value[start + length + 2..];
    let values = placeholders.get(name).ok_or_else(|| {
        format!("placeholder %{name}% has no values: give them in a --placeholders file")
    })?;
    let mut out = Vec::new();
    for tail in expand_text(rest, placeholders)? {
        for v in values {
            out.push(format!("{}{v}{tail}", &value[..start]));
            if out.len() > MAX_EXPANSIONS {
                return Err(format!(
                    "placeholders expand to more than {MAX_EXPANSIONS} values"
                ));
            }
        }
    }
    Ok(out)
}

/// The most values one `expand` value may become.
pub const MAX_EXPANSIONS: usize = 10_000;

/// Reads a `--placeholders` file: a YAML mapping of names to a value or a list of values.
pub fn read_placeholders(text: &str) -> Result<BTreeMap<String, Vec<String>>, String> {
    let value: yaml_serde::Value = yaml_serde::from_str(text).map_err(|e| e.to_string())?;
    let mapping = value
        .as_mapping()
        .ok_or("not a YAML mapping of names to values")?;
    let scalar = |v: &yaml_serde::Value| match v {
        yaml_serde::Value::String(s) => Some(s.clone()),
        yaml_serde::Value::Number(n) => Some(n.to_string()),
        yaml_serde::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    let mut placeholders = BTreeMap::new();
    for (name, values) in mapping {
        let name = scalar(name).ok_or("a placeholder's name is not text")?;
        let values: Option<Vec<String>> = match values.as_sequence() {
            Some(list) => list.iter().map(scalar).collect(),
            None => scalar(values).map(|v| vec![v]),
        };
        let values =
            values.ok_or_else(|| format!("{name}: values are text, numbers or booleans"))?;
        placeholders.insert(name, values);
    }
    Ok(placeholders)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_expand_to_every_combination() {
        let placeholders = read_placeholders("A: [x, y]\nB: 1\n").unwrap();
        assert_eq!(
            expand_text("p%A%-%B%", &placeholders).unwrap(),
            ["px-1", "py-1"]
        );
        assert_eq!(
            expand_text("no placeholder", &placeholders).unwrap(),
            ["no placeholder"]
        );
        let missing = expand_text("%C%", &placeholders).unwrap_err();
        assert!(missing.contains("%C% has no values"), "{missing}");
        assert!(read_placeholders("- a\n").is_err());
    }

    #[test]
    fn offsets_are_pysigmas() {
        assert_eq!(
            offset_encodings(b"secret"),
            ["c2VjcmV0", "NlY3Jld", "zZWNyZX"]
        );
    }
}
