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
}
