//! Finds each record's bytes in a log file without parsing the records.
//!
//! A log file is `{"Records":[{...},{...}]}`. Lookups keep each record's original text (it
//! becomes `CloudTrailEvent`) and parse only the records that can match, so the file is first
//! cut into record spans by a scanner that knows just enough JSON: strings (with escapes),
//! nesting, and the top-level object's keys. Records are validated in full when parsed.

use std::ops::Range;

use memchr::memchr2;

/// Why a log file's JSON does not have the shape `{"Records": [objects]}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    /// The file is not a JSON object.
    #[error("not JSON: expected '{{' at byte {0}")]
    NotAnObject(usize),
    /// The object has no `Records` key.
    #[error("JSON without a \"Records\" list")]
    NoRecords,
    /// `Records` is not a list.
    #[error("\"Records\" is not a list")]
    RecordsNotList,
    /// An element of `Records` is not an object.
    #[error("record {0} is not a JSON object")]
    RecordNotObject(usize),
    /// The text ends inside a value.
    #[error("JSON ends early (truncated file?)")]
    Truncated,
    /// Something other than JSON at a byte offset.
    #[error("malformed JSON at byte {0}")]
    Malformed(usize),
}

fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn skip_ws(&mut self) {
        while self.pos < self.buf.len() && is_ws(self.buf[self.pos]) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Result<u8, SplitError> {
        self.buf.get(self.pos).copied().ok_or(SplitError::Truncated)
    }

    fn expect(&mut self, b: u8) -> Result<(), SplitError> {
        self.skip_ws();
        if self.peek()? == b {
            self.pos += 1;
            Ok(())
        } else {
            Err(SplitError::Malformed(self.pos))
        }
    }

    /// At an opening quote: moves past the closing quote and returns the raw contents.
    fn string(&mut self) -> Result<&'a [u8], SplitError> {
        let start = self.pos + 1;
        let mut at = start;
        loop {
            let Some(i) = memchr2(b'"', b'\\', &self.buf[at..]) else {
                return Err(SplitError::Truncated);
            };
            at += i;
            if self.buf[at] == b'\\' {
                at += 2;
                if at > self.buf.len() {
                    return Err(SplitError::Truncated);
                }
            } else {
                self.pos = at + 1;
                return Ok(&self.buf[start..at]);
            }
        }
    }

    /// Skips one value of any kind.
    fn value(&mut self) -> Result<(), SplitError> {
        self.skip_ws();
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' | b'[' => self.nested(),
            b'}' | b']' | b',' | b':' => Err(SplitError::Malformed(self.pos)),
            _ => {
                // A number, true, false or null: up to the next delimiter.
                let start = self.pos;
                while self.pos < self.buf.len()
                    && !matches!(
                        self.buf[self.pos],
                        b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t'
                    )
                {
                    self.pos += 1;
                }
                if self.pos == start {
                    Err(SplitError::Malformed(start))
                } else {
                    Ok(())
                }
            }
        }
    }

    /// At `{` or `[`: moves past the matching close. Brackets are counted, not typed; a
    /// mismatch inside a record is found when the record is parsed.
    fn nested(&mut self) -> Result<(), SplitError> {
        let mut depth = 0usize;
        // Outside strings a record has only punctuation, numbers and literals; the bulk of
        // its bytes are inside strings, which `string` crosses with memchr.
        while let Some(&b) = self.buf.get(self.pos) {
            match b {
                b'"' => {
                    self.string()?;
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        self.pos += 1;
                        return Ok(());
                    }
                }
                _ => {}
            }
            self.pos += 1;
        }
        Err(SplitError::Truncated)
    }
}

/// Appends to `spans` the byte range of each element of the top-level `Records` list.
/// Other top-level keys are skipped; the first `Records` key counts.
pub fn split_records(json: &[u8], spans: &mut Vec<Range<usize>>) -> Result<(), SplitError> {
    spans.clear();
    let mut c = Cursor { buf: json, pos: 0 };
    c.skip_ws();
    if c.peek().map_err(|_| SplitError::NotAnObject(c.pos))? != b'{' {
        return Err(SplitError::NotAnObject(c.pos));
    }
    c.pos += 1;
    let mut found = false;
    c.skip_ws();
    if c.peek()? == b'}' {
        return Err(SplitError::NoRecords);
    }
    loop {
        c.skip_ws();
        if c.peek()? != b'"' {
            return Err(SplitError::Malformed(c.pos));
        }
        let key = c.string()?;
        c.expect(b':')?;
        if key == b"Records" && !found {
            found = true;
            records_list(&mut c, spans)?;
        } else {
            c.value()?;
        }
        c.skip_ws();
        match c.peek()? {
            b',' => c.pos += 1,
            b'}' => break,
            _ => return Err(SplitError::Malformed(c.pos)),
        }
    }
    c.pos += 1;
    c.skip_ws();
    if c.pos != json.len() {
        return Err(SplitError::Malformed(c.pos));
    }
    if found {
        Ok(())
    } else {
        Err(SplitError::NoRecords)
    }
}

fn records_list(c: &mut Cursor<'_>, spans: &mut Vec<Range<usize>>) -> Result<(), SplitError> {
    c.skip_ws();
    if c.peek()? != b'[' {
        return Err(SplitError::RecordsNotList);
    }
    c.pos += 1;
    c.skip_ws();
    if c.peek()? == b']' {
        c.pos += 1;
        return Ok(());
    }
    loop {
        c.skip_ws();
        if c.peek()? != b'{' {
            return Err(SplitError::RecordNotObject(spans.len()));
        }
        let start = c.pos;
        c.nested()?;
        spans.push(start..c.pos);
        c.skip_ws();
        match c.peek()? {
            b',' => c.pos += 1,
            b']' => {
                c.pos += 1;
                return Ok(());
            }
            _ => return Err(SplitError::Malformed(c.pos)),
        }
    }
}

/// A constant-time check that `json` has a log file's outline: `{`, a `"Records"` key
/// (CloudTrail writes it first, so the search ends at once), and `]}` at the end, blanks
/// aside. A scan that rules a file out without splitting it uses this, so that a truncated or
/// foreign file is still reported; [`split_records`] says what exactly is wrong.
pub fn has_log_file_outline(json: &[u8]) -> bool {
    let mut tail = json.iter().rev().filter(|b| !is_ws(**b));
    let first = json.iter().find(|b| !is_ws(**b));
    first == Some(&b'{')
        && tail.next() == Some(&b'}')
        && tail.next() == Some(&b']')
        && memchr::memmem::find(json, b"\"Records\"").is_some()
}

/// Copies a JSON text into `out` without the white space between tokens, leaving strings
/// (escapes included) byte for byte: the compact form `CloudTrailEvent` has in the service's
/// answers, whatever the file's layout.
pub fn compact_into(json: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.reserve(json.len());
    let mut i = 0;
    while i < json.len() {
        let b = json[i];
        if b == b'"' {
            let mut end = i + 1;
            loop {
                match memchr2(b'"', b'\\', &json[end..]) {
                    Some(j) if json[end + j] == b'\\' => end += j + 2,
                    Some(j) => {
                        end += j + 1;
                        break;
                    }
                    None => {
                        end = json.len();
                        break;
                    }
                }
            }
            let end = end.min(json.len());
            out.extend_from_slice(&json[i..end]);
            i = end;
        } else {
            if !is_ws(b) {
                out.push(b);
            }
            i += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans_of(json: &str) -> Result<Vec<&str>, SplitError> {
        let mut spans = Vec::new();
        split_records(json.as_bytes(), &mut spans)?;
        Ok(spans.into_iter().map(|r| &json[r]).collect())
    }

    #[test]
    fn compact_and_pretty_files() {
        assert_eq!(
            spans_of(r#"{"Records":[{"a":1},{"b":"}{\"]"}]}"#).unwrap(),
            vec![r#"{"a":1}"#, r#"{"b":"}{\"]"}"#]
        );
        let pretty = "{\n  \"x\": [1, {\"y\": null}],\n  \"Records\": [\n    {\"a\": [1, 2]} ,\n {}\n  ]\n}\n";
        assert_eq!(spans_of(pretty).unwrap(), vec![r#"{"a": [1, 2]}"#, "{}"]);
        assert_eq!(spans_of(r#"{"Records":[]}"#).unwrap(), Vec::<&str>::new());
    }

    #[test]
    fn shapes_that_are_not_log_files() {
        assert_eq!(spans_of(""), Err(SplitError::NotAnObject(0)));
        assert_eq!(spans_of("[1]"), Err(SplitError::NotAnObject(0)));
        assert_eq!(spans_of("{}"), Err(SplitError::NoRecords));
        assert_eq!(spans_of(r#"{"records":[]}"#), Err(SplitError::NoRecords));
        assert_eq!(
            spans_of(r#"{"Records":{}}"#),
            Err(SplitError::RecordsNotList)
        );
        assert_eq!(
            spans_of(r#"{"Records":[{},2]}"#),
            Err(SplitError::RecordNotObject(1))
        );
        assert_eq!(
            spans_of(r#"{"Records":[{"a":"b"#),
            Err(SplitError::Truncated)
        );
        assert_eq!(
            spans_of(r#"{"Records":[{"a":1}"#),
            Err(SplitError::Truncated)
        );
        assert_eq!(
            spans_of(r#"{"Records":[]} x"#),
            Err(SplitError::Malformed(15))
        );
        assert_eq!(
            spans_of("{\"Records\":[{\"a\":\"\\"),
            Err(SplitError::Truncated)
        );
    }

    #[test]
    fn outline() {
        assert!(has_log_file_outline(b" {\"Records\":[]}\n"));
        assert!(has_log_file_outline(b"{\"Records\":[{}] \n}"));
        assert!(
            !has_log_file_outline(b"{\"Records\":[],\"x\":1}"),
            "foreign layouts are split"
        );
        assert!(!has_log_file_outline(b"{\"Records\":[{\"a\":1}"));
        assert!(!has_log_file_outline(b"{\"records\":[]}"));
        assert!(!has_log_file_outline(b"hello"));
        assert!(!has_log_file_outline(b""));
        assert!(!has_log_file_outline(b"{"));
    }

    #[test]
    fn compaction_keeps_strings() {
        let mut out = Vec::new();
        compact_into(b"{ \"a b\" : [ 1 ,\n \"x\\\" y\" ] }", &mut out);
        assert_eq!(out, b"{\"a b\":[1,\"x\\\" y\"]}");
    }
}
