//! `NextToken`: opaque to users, exact for us.
//!
//! A token is URL-safe base64 of `{"v":1,"q":<request hash>,"p":<position>,"o":<offset>}`:
//! the position of the page's last event; a hash of the request, so a token replayed with
//! other filters is refused, as the service refuses one "sent with different parameters";
//! and, for `--max-items`, how far into a page of `--page-size` the answer stopped (the AWS
//! CLI's `boto_truncate_amount`), so that resumed text output pages as the AWS CLI's does.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::position::Position;

/// A `--next-token` that is not ours or belongs to another request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not a token trailscan wrote.
    #[error("InvalidNextToken: the token is not one trailscan wrote")]
    Malformed,
    /// Written for a different request.
    #[error("InvalidNextToken: the token belongs to a lookup with other attributes, times, categories, accounts or regions; repeat the first call's options")]
    OtherRequest,
}

/// Where a token resumes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resume {
    /// The last event already returned.
    pub position: Position,
    /// Events of the current page already returned (0 at a page boundary).
    pub page_offset: u64,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Token {
    v: u32,
    q: String,
    p: Position,
    #[serde(default, skip_serializing_if = "is_zero")]
    o: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// FNV-1a, 64 bits: stable across Rust versions and platforms, unlike `DefaultHasher`.
fn fnv1a(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// Writes the token for an answer ending at `resume` of the request described by `canonical`.
pub fn encode_token(canonical: &str, resume: &Resume) -> String {
    let token = Token {
        v: 1,
        q: fnv1a(canonical),
        p: resume.position.clone(),
        o: resume.page_offset,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).expect("a token always serializes"))
}

/// Reads a token for the request described by `canonical`.
pub fn decode_token(canonical: &str, text: &str) -> Result<Resume, TokenError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(text.trim())
        .map_err(|_| TokenError::Malformed)?;
    let token: Token = serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)?;
    if token.v != 1 {
        return Err(TokenError::Malformed);
    }
    if token.q != fnv1a(canonical) {
        return Err(TokenError::OtherRequest);
    }
    Ok(Resume {
        position: token.p,
        page_offset: token.o,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let position = Position {
            secs: 1,
            nanos: 2,
            event_id: "e".into(),
            key: "k/é".into(),
            index: 3,
        };
        for page_offset in [0, 20] {
            let resume = Resume {
                position: position.clone(),
                page_offset,
            };
            let t = encode_token("req", &resume);
            assert!(t
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            assert_eq!(decode_token("req", &t), Ok(resume));
            assert_eq!(decode_token("other", &t), Err(TokenError::OtherRequest));
        }
        assert_eq!(
            decode_token("req", "not a token"),
            Err(TokenError::Malformed)
        );
        assert_eq!(
            decode_token("req", &URL_SAFE_NO_PAD.encode(b"{}")),
            Err(TokenError::Malformed)
        );
    }
}
