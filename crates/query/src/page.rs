//! `NextToken`: opaque to users, exact for us.
//!
//! A token is URL-safe base64 of `{"v":1,"q":<request hash>,"p":<position>}`: the position
//! of the page's last event and a hash of the request, so a token replayed with other
//! filters is refused, as the service refuses one "sent with different parameters".

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::collect::Position;

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

#[derive(serde::Serialize, serde::Deserialize)]
struct Token {
    v: u32,
    q: String,
    p: Position,
}

/// FNV-1a, 64 bits: stable across Rust versions and platforms, unlike `DefaultHasher`.
fn fnv1a(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{hash:016x}")
}

/// Writes the token for the page ending at `position` of the request described by `canonical`.
pub fn encode_token(canonical: &str, position: &Position) -> String {
    let token = Token {
        v: 1,
        q: fnv1a(canonical),
        p: position.clone(),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&token).expect("a token always serializes"))
}

/// Reads a token for the request described by `canonical`.
pub fn decode_token(canonical: &str, text: &str) -> Result<Position, TokenError> {
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
    Ok(token.p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let p = Position {
            secs: 1,
            nanos: 2,
            event_id: "e".into(),
            key: "k/é".into(),
            index: 3,
        };
        let t = encode_token("req", &p);
        assert!(t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(decode_token("req", &t), Ok(p));
        assert_eq!(decode_token("other", &t), Err(TokenError::OtherRequest));
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
