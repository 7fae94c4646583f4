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

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rsigma_parser::{
    ConditionOperator, CorrelationCondition, CorrelationRule, CorrelationType, Detection, Modifier,
    SigmaRule, SigmaString, SigmaValue,
};

/// Applies every rewrite to `rule`.
pub fn rewrite(rule: &mut SigmaRule) {
    for detection in rule.detection.named.values_mut() {
        rewrite_detection(detection, 0);
    }
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

fn rewrite_detection(detection: &mut Detection, depth: usize) {
    if depth > 64 {
        return;
    }
    match detection {
        Detection::AllOf(items) => {
            for item in items {
                let modifiers = &item.field.modifiers;
                let offset = modifiers.contains(&Modifier::Base64Offset);
                if !offset || modifiers.contains(&Modifier::All) {
                    continue;
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
        }
        Detection::AnyOf(subs) | Detection::And(subs) => {
            for sub in subs {
                rewrite_detection(sub, depth + 1);
            }
        }
        Detection::ArrayMatch { body, .. } => rewrite_detection(body, depth + 1),
        Detection::Conditional { named, .. } => {
            for sub in named.values_mut() {
                rewrite_detection(sub, depth + 1);
            }
        }
        Detection::Keywords(_) => {}
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_pysigmas() {
        assert_eq!(
            offset_encodings(b"secret"),
            ["c2VjcmV0", "NlY3Jld", "zZWNyZX"]
        );
    }
}
