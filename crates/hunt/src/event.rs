//! A parsed CloudTrail record as rsigma's [`Event`]: fields read from simd-json's tape on
//! demand, nothing copied but objects, which a rule sees as their JSON text.
//!
//! The choices the Sigma specification leaves open, as this view makes them (the README's
//! "Hunting with Sigma rules" lists them for users):
//! - a field name is CloudTrail's own, dotted into nested objects
//!   (`userIdentity.sessionContext.sessionIssuer.type`); a name that is a top-level key as it
//!   is (dots included) is that key;
//! - an array on the way, or at the end, fans out: the field's values are every element's
//!   (`resources.ARN` is each resource's ARN), and a rule matches when any one does;
//! - an object is its compact JSON text (members in order, serde_json's escapes), so that
//!   `requestParameters|contains: Suspended` looks inside it;
//! - JSON null is null; an absent field is absent (a rule's `null` matches both);
//! - numbers and booleans are themselves: rsigma compares their text with strings
//!   (`'true'` matches `true`, `'443'` matches `443`).

use std::borrow::Cow;

use rsigma_eval::{Event, EventValue};
use simd_json::prelude::*;
use simd_json::tape::Value;
use simd_json::ValueType;
use trailscan_records::json_text::write_value;

/// Nesting followed at most (CloudTrail's records are a few levels deep; a hostile record is
/// not walked without end).
const MAX_DEPTH: usize = 64;

/// One record, as the rules see it.
#[derive(Clone, Copy)]
pub struct RecordEvent<'t, 'i> {
    root: Value<'t, 'i>,
    /// The record's `eventID`: what [`Event::to_json`] gives rsigma for a correlation's
    /// member references.
    event_id: Option<&'i str>,
}

impl<'t, 'i> RecordEvent<'t, 'i> {
    /// The record whose parsed root is `root` (a JSON object).
    pub fn new(root: Value<'t, 'i>) -> RecordEvent<'t, 'i> {
        let event_id = root.get("eventID").and_then(|v| v.into_string());
        RecordEvent { root, event_id }
    }
}

/// `value` as a rule sees it (objects as their JSON text, arrays element by element).
fn event_value<'i>(value: Value<'_, 'i>, depth: usize) -> EventValue<'i> {
    match value.value_type() {
        ValueType::String => EventValue::Str(Cow::Borrowed(value.into_string().unwrap_or(""))),
        ValueType::Bool => EventValue::Bool(value.as_bool().unwrap_or(false)),
        ValueType::I64 | ValueType::U64 => match value.as_i64() {
            Some(n) => EventValue::Int(n),
            None => EventValue::Float(value.as_f64().unwrap_or(f64::NAN)),
        },
        ValueType::F64 => EventValue::Float(value.as_f64().unwrap_or(f64::NAN)),
        ValueType::Array if depth < MAX_DEPTH => EventValue::Array(
            value
                .as_array()
                .map(|items| items.iter().map(|v| event_value(v, depth + 1)).collect())
                .unwrap_or_default(),
        ),
        ValueType::Object | ValueType::Array => {
            let mut text = Vec::new();
            write_value(value, &mut text);
            EventValue::Str(Cow::Owned(String::from_utf8(text).unwrap_or_default()))
        }
        _ => EventValue::Null,
    }
}

/// Appends what `path` names under `value` to `out`: arrays met on the way fan out.
fn collect<'i>(value: Value<'_, 'i>, path: &[&str], depth: usize, out: &mut Vec<EventValue<'i>>) {
    if depth > MAX_DEPTH {
        return;
    }
    let Some((first, rest)) = path.split_first() else {
        out.push(event_value(value, depth));
        return;
    };
    if let Some(items) = value.as_array() {
        for item in items.iter() {
            collect(item, path, depth + 1, out);
        }
        return;
    }
    if let Some(member) = value.get(*first) {
        collect(member, rest, depth + 1, out);
    }
}

/// Calls `visit` with every string of `value` (not keys), depth first.
fn visit_strings(value: Value<'_, '_>, depth: usize, visit: &mut dyn FnMut(&str) -> bool) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    match value.value_type() {
        ValueType::String => visit(value.as_str().unwrap_or("")),
        ValueType::Array => value.as_array().is_some_and(|items| {
            items
                .iter()
                .any(|item| visit_strings(item, depth + 1, visit))
        }),
        ValueType::Object => value.as_object().is_some_and(|members| {
            members
                .iter()
                .any(|(_, member)| visit_strings(member, depth + 1, visit))
        }),
        _ => false,
    }
}

impl Event for RecordEvent<'_, '_> {
    fn get_field(&self, path: &str) -> Option<EventValue<'_>> {
        if let Some(value) = self.root.get(path) {
            return Some(event_value(value, 0));
        }
        if !path.contains('.') {
            return None;
        }
        let steps: Vec<&str> = path.split('.').collect();
        let mut found = Vec::new();
        collect(self.root, &steps, 0, &mut found);
        match found.len() {
            0 => None,
            1 => found.pop(),
            _ => Some(EventValue::Array(found)),
        }
    }

    fn any_string_value(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        visit_strings(self.root, 0, &mut |s| pred(s))
    }

    fn all_string_values(&self) -> Vec<Cow<'_, str>> {
        let mut all = Vec::new();
        self.visit_string_values(&mut |s| all.push(Cow::Owned(s.to_string())));
        all
    }

    fn visit_string_values(&self, visit: &mut dyn FnMut(&str)) {
        visit_strings(self.root, 0, &mut |s| {
            visit(s);
            false
        });
    }

    /// The event's identity only (`{"id": eventID}`): rsigma materializes an event only to
    /// keep a correlation's member references (it reads `id`), never to match, and the
    /// members are reported by `eventID`.
    fn to_json(&self) -> serde_json::Value {
        serde_json::json!({ "id": self.event_id })
    }

    fn top_level_keys(&self) -> Option<Vec<Cow<'_, str>>> {
        let members = self.root.as_object()?;
        Some(members.iter().map(|(k, _)| Cow::Borrowed(k)).collect())
    }

    fn visit_top_level_keys(&self, visit: &mut dyn FnMut(&str)) -> bool {
        let Some(members) = self.root.as_object() else {
            return false;
        };
        for (key, _) in members.iter() {
            visit(key);
        }
        true
    }
}
