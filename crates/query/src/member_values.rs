//! The string values of a JSON member, found in raw text without parsing it: what a
//! prefilter compares with the values a rule needs a member to equal (`eventName` equal to
//! `DeleteTrail`), instead of searching the text for each of them.

use std::collections::HashMap;

use memchr::memmem::Finder;

/// The values `"key": "value"` members of one key may be compared with, each with an id.
pub(crate) struct MemberValues {
    /// `"key"`, as JSON writes it unescaped.
    key: Finder<'static>,
    /// Each value, ASCII-lowercased, and its id.
    ids: HashMap<Vec<u8>, usize>,
    /// The longest value, in bytes: a longer one is none of them.
    longest: usize,
}

/// What follows a `"key"` found in text.
#[derive(Debug, PartialEq, Eq)]
enum Member<'t> {
    /// Not a member's name (a value, or text inside a string), or a member whose value no
    /// text value equals: an object (compared as its JSON text, which starts with `{`), a
    /// number, `true`, `false` or `null`.
    Not,
    /// A member whose string value is these bytes, as written (no escape in them).
    Text(&'t [u8]),
    /// A member whose string value is escaped (or cut short), or an array (each element is
    /// compared, `["DeleteTrail"]` equals `DeleteTrail`): it may be any value.
    Unknown,
}

impl MemberValues {
    /// Members named `key` compared with `values` (ids in the same order).
    pub(crate) fn new<'v>(
        key: &str,
        values: impl IntoIterator<Item = (&'v [u8], usize)>,
    ) -> MemberValues {
        let ids: HashMap<Vec<u8>, usize> = (values.into_iter())
            .map(|(value, id)| (value.to_ascii_lowercase(), id))
            .collect();
        MemberValues {
            key: Finder::new(format!("\"{key}\"").as_bytes()).into_owned(),
            longest: ids.keys().map(Vec::len).max().unwrap_or(0),
            ids,
        }
    }

    /// Calls `found` with the id of each value that a member of `text` equals in some ASCII
    /// case, and with every id where a member's value is escaped, until `found` says to stop
    /// (returns true); whether it did. A `\u` in the member's name is not seen here: the
    /// prefilter keeps all text with one.
    pub(crate) fn find(&self, text: &[u8], mut found: impl FnMut(usize) -> bool) -> bool {
        let mut lowered = [0u8; 128];
        for at in self.key.find_iter(text) {
            match member(text, at + self.key.needle().len()) {
                Member::Not => {}
                // Longer than every value compared: none of them.
                Member::Text(value) if value.len() > self.longest => {}
                Member::Text(value) => {
                    let id = match lowered.get_mut(..value.len()) {
                        Some(lowered) => {
                            lowered.copy_from_slice(value);
                            lowered.make_ascii_lowercase();
                            self.ids.get(&lowered[..])
                        }
                        None => self.ids.get(&value.to_ascii_lowercase()),
                    };
                    if id.is_some_and(|&id| found(id)) {
                        return true;
                    }
                }
                Member::Unknown => {
                    if self.ids.values().any(|&id| found(id)) {
                        return true;
                    }
                }
            }
        }
        false
    }
}

/// What follows a member's name, from `at` (just past its closing quote): JSON's whitespace,
/// `:`, whitespace, and a string.
fn member(text: &[u8], at: usize) -> Member<'_> {
    let skip_space = |mut i: usize| {
        while text
            .get(i)
            .is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        {
            i += 1;
        }
        i
    };
    let colon = skip_space(at);
    if text.get(colon) != Some(&b':') {
        return Member::Not;
    }
    let open = skip_space(colon + 1);
    match text.get(open) {
        Some(b'"') => {}
        Some(b'{' | b'n' | b't' | b'f' | b'-' | b'0'..=b'9') => return Member::Not,
        _ => return Member::Unknown,
    }
    let rest = &text[open + 1..];
    match memchr::memchr2(b'"', b'\\', rest) {
        Some(end) if rest[end] == b'"' => Member::Text(&rest[..end]),
        _ => Member::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_is_its_name_a_colon_and_a_string() {
        let text = br#"{"eventName" : "DeleteTrail","x":"eventName","n":{"eventName":null},"e":"eventName""#;
        let at = |n: usize| {
            let found: Vec<usize> = Finder::new(br#""eventName""#).find_iter(text).collect();
            member(text, found[n] + 11)
        };
        assert_eq!(at(0), Member::Text(b"DeleteTrail"));
        assert_eq!(at(1), Member::Not);
        assert_eq!(at(2), Member::Not);
        assert_eq!(
            member(br#""eventName":["DeleteTrail"]"#, 11),
            Member::Unknown
        );
        assert_eq!(member(br#""eventName": {"a":1}"#, 11), Member::Not);
        assert_eq!(member(br#""eventName":17"#, 11), Member::Not);
        assert_eq!(at(3), Member::Not);
        assert_eq!(member(br#""eventName":"Del\"x""#, 11), Member::Unknown);
        assert_eq!(member(br#""eventName":"Delete"#, 11), Member::Unknown);
    }

    #[test]
    fn values_are_found_in_any_case_and_escaped_ones_stand_for_all() {
        let values = MemberValues::new(
            "eventName",
            [(&b"DeleteTrail"[..], 7), (&b"StopLogging"[..], 9)],
        );
        let ids = |text: &[u8]| {
            let mut ids = Vec::new();
            values.find(text, |id| {
                ids.push(id);
                false
            });
            ids.sort();
            ids
        };
        assert_eq!(ids(br#"{"eventName":"deletetrail"}"#), vec![7]);
        assert_eq!(
            ids(br#"[{"eventName":"StopLogging"},{"eventName":"DELETETRAIL"}]"#),
            vec![7, 9]
        );
        assert_eq!(
            ids(br#"{"eventName":"DeleteTrails","e":"StopLogging"}"#),
            Vec::<usize>::new()
        );
        assert_eq!(ids(br#"{"eventName":"Delete\/Trail"}"#), vec![7, 9]);
        let long = format!(r#"{{"eventName":"{}"}}"#, "a".repeat(300));
        assert_eq!(ids(long.as_bytes()), Vec::<usize>::new());
        // The first id found that stops the search ends it.
        assert!(values.find(br#"{"eventName":"StopLogging"}"#, |id| id == 9));
    }
}
