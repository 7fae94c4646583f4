//! Parses one record's text with simd-json, reusing every buffer.

use simd_json::{fill_tape_padded, Buffers, Tape, INPUT_PADDING};

use crate::record::Record;

/// Why a record's text could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// simd-json rejected the text (invalid JSON, invalid UTF-8, nesting too deep, ...).
    #[error("invalid JSON: {0}")]
    Json(String),
}

/// A per-thread parser: the scratch copy of the record (simd-json unescapes in place, and the
/// original text must survive for `CloudTrailEvent`), simd-json's buffers and the tape are
/// allocated once and reused for every record.
pub struct RecordParser {
    scratch: Vec<u8>,
    buffers: Buffers,
    tape: Option<Tape<'static>>,
}

impl Default for RecordParser {
    fn default() -> Self {
        RecordParser {
            scratch: Vec::new(),
            buffers: Buffers::new(4096),
            tape: Some(Tape::null()),
        }
    }
}

impl RecordParser {
    /// Parses `text` and hands the record to `f`. A text that is valid JSON but not an object
    /// is reported as invalid.
    pub fn parse<R>(
        &mut self,
        text: &[u8],
        f: impl FnOnce(Record<'_, '_>) -> R,
    ) -> Result<R, ParseError> {
        self.scratch.clear();
        self.scratch.extend_from_slice(text);
        self.scratch.resize(text.len() + INPUT_PADDING, 0);
        let mut tape: Tape<'_> = self.tape.take().unwrap_or_else(Tape::null).reset();
        let result =
            match fill_tape_padded(&mut self.scratch, text.len(), &mut self.buffers, &mut tape) {
                Ok(()) => match Record::new(tape.as_value()) {
                    Some(record) => Ok(f(record)),
                    None => Err(ParseError::Json(
                        "a record is not a JSON object".to_string(),
                    )),
                },
                Err(e) => Err(ParseError::Json(e.to_string())),
            };
        self.tape = Some(tape.reset());
        result
    }

    /// Parses a whole log file, `{"Records":[...]}`, at once (one pass, where splitting first
    /// and parsing each record is two) and hands each record to `each`, which returns false
    /// to give up. The number of records; `None` where the text is anything else (invalid
    /// JSON, another top-level key, a record that is not an object: then before any record
    /// was handed over) or `each` gave up: the caller then splits the file and parses it
    /// record by record, which says what is wrong.
    pub fn parse_log_file(
        &mut self,
        text: &[u8],
        mut each: impl FnMut(Record<'_, '_>) -> bool,
    ) -> Option<usize> {
        self.scratch.clear();
        self.scratch.extend_from_slice(text);
        self.scratch.resize(text.len() + INPUT_PADDING, 0);
        let mut tape: Tape<'_> = self.tape.take().unwrap_or_else(Tape::null).reset();
        let parsed = fill_tape_padded(&mut self.scratch, text.len(), &mut self.buffers, &mut tape);
        let records = parsed.ok().and_then(|()| {
            let root = tape.as_value().as_object()?;
            let (key, records) = root.iter().next()?;
            if root.len() != 1 || key != "Records" {
                return None;
            }
            let records = records.as_array()?;
            // Every record an object before the first is handed over: `None` then always
            // means that nothing was, but where `each` gave up.
            if !records.iter().all(|value| Record::new(value).is_some()) {
                return None;
            }
            for value in records.iter() {
                if !each(Record::new(value)?) {
                    return None;
                }
            }
            Some(records.len())
        });
        self.tape = Some(tape.reset());
        records
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_reuses() {
        let mut p = RecordParser::default();
        let id = p.parse(
            br#"{"eventID":"a\u0062c","eventTime":"2024-01-15T03:04:05Z"}"#,
            |r| r.event_id().map(str::to_owned),
        );
        assert_eq!(id, Ok(Some("abc".to_string())));
        let name = p.parse(br#"{"eventName":"X"}"#, |r| {
            r.event_name().map(str::to_owned)
        });
        assert_eq!(name, Ok(Some("X".to_string())));
        assert!(p.parse(br#"{"eventName":"X""#, |_| ()).is_err());
        assert!(p.parse(b"[1]", |_| ()).is_err());
        assert!(
            p.parse(b"{\"a\":\"\xff\"}", |_| ()).is_err(),
            "invalid UTF-8"
        );
    }

    #[test]
    fn parses_a_whole_log_file_or_leaves_it_to_the_splitter() {
        let mut p = RecordParser::default();
        let mut ids = Vec::new();
        let file = br#"{"Records":[{"eventID":"a"},{"eventID":"b\u0063"}]}"#;
        let n = p.parse_log_file(file, |r| {
            ids.push(r.event_id().map(str::to_owned));
            true
        });
        assert_eq!(n, Some(2));
        assert_eq!(ids, [Some("a".to_string()), Some("bc".to_string())]);
        for other in [
            &br#"{"Records":[{"eventID":"a"},1]}"#[..],
            br#"{"Records":[],"More":1}"#,
            br#"{"Other":[]}"#,
            br#"{"Records":[{"eventID":"a"}"#,
            br#"[]"#,
        ] {
            assert_eq!(
                p.parse_log_file(other, |_| true),
                None,
                "{}",
                String::from_utf8_lossy(other)
            );
        }
        assert_eq!(p.parse_log_file(file, |_| false), None);
    }
}
