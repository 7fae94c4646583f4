//! CloudTrail's public keys, from the saved output of `aws cloudtrail list-public-keys`.
//!
//! `Value` is the base64 of a DER key. The AWS CLI loads it as PKCS#1 only; one of AWS's own
//! documented keys is X.509 SubjectPublicKeyInfo, so both are accepted here. The fingerprint
//! is the lowercase hex MD5 of the DER bytes (checked against all four documented pairs).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use md5::{Digest, Md5};
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs8::DecodePublicKey;
use rsa::RsaPublicKey;
use serde_json::Value;
use std::collections::HashMap;

use trailscan_layout::time::parse_rfc3339;

/// One key of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    /// `Fingerprint`, as the digests name it.
    pub fingerprint: String,
    /// `Value`: base64 DER.
    pub value: String,
    /// `ValidityStartTime` (epoch seconds), if given.
    pub valid_from: Option<i64>,
    /// `ValidityEndTime` (epoch seconds), if given.
    pub valid_until: Option<i64>,
}

/// A `--public-keys` file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyFileError {
    /// Not JSON.
    #[error("not JSON: {0}")]
    Json(String),
    /// JSON, but not `{"PublicKeyList": [...]}` with `Value` and `Fingerprint` strings.
    #[error("{0} (expected the output of `aws cloudtrail list-public-keys`)")]
    Shape(String),
}

/// Why a key's `Value` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not base64 (the AWS CLI prints Python's binascii message).
    #[error("{0}")]
    Base64(String),
    /// Neither a PKCS#1 nor a SubjectPublicKeyInfo RSA key.
    #[error("not an RSA public key")]
    NotRsa,
}

/// The keys of a `list-public-keys` answer.
#[derive(Debug, Clone, Default)]
pub struct PublicKeys {
    keys: Vec<PublicKey>,
}

/// A validity time: epoch seconds (CLI v1 prints floats) or ISO 8601 (CLI v2).
fn validity_time(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_f64().map(|f| f.floor() as i64),
        Value::String(s) => parse_rfc3339(s)
            .or_else(|| parse_rfc3339(&format!("{s}Z")))
            .map(|(secs, _)| secs),
        _ => None,
    }
}

impl PublicKeys {
    /// Reads the JSON text of `aws cloudtrail list-public-keys` (v1 or v2).
    pub fn parse(text: &str) -> Result<PublicKeys, KeyFileError> {
        let doc: Value =
            serde_json::from_str(text).map_err(|e| KeyFileError::Json(e.to_string()))?;
        let list = doc
            .get("PublicKeyList")
            .and_then(Value::as_array)
            .ok_or_else(|| KeyFileError::Shape("no \"PublicKeyList\" list".to_string()))?;
        let mut keys = Vec::new();
        for (i, entry) in list.iter().enumerate() {
            let field = |name: &str| entry.get(name).and_then(Value::as_str).map(str::to_string);
            let (Some(value), Some(fingerprint)) = (field("Value"), field("Fingerprint")) else {
                return Err(KeyFileError::Shape(format!(
                    "key {i} has no \"Value\" and \"Fingerprint\" strings"
                )));
            };
            keys.push(PublicKey {
                fingerprint,
                value,
                valid_from: entry.get("ValidityStartTime").and_then(validity_time),
                valid_until: entry.get("ValidityEndTime").and_then(validity_time),
            });
        }
        Ok(PublicKeys { keys })
    }

    /// Keys obtained otherwise (ListPublicKeys through the SDK).
    pub fn from_keys(keys: Vec<PublicKey>) -> PublicKeys {
        PublicKeys { keys }
    }

    /// The keys valid at some time in `[start, end]` (epoch seconds), as ListPublicKeys
    /// returns them for that range.
    pub fn in_range(&self, start: i64, end: i64) -> Vec<PublicKey> {
        self.keys
            .iter()
            .filter(|k| {
                k.valid_from.is_none_or(|f| f <= end) && k.valid_until.is_none_or(|u| u >= start)
            })
            .cloned()
            .collect()
    }

    /// Number of keys in the file.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the file has no keys.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// A digest-signing key, parsed, with its PKCS#1 DER (what `ring` verifies with).
#[derive(Debug, Clone)]
pub struct DigestKey {
    /// The key.
    pub rsa: RsaPublicKey,
    /// `RSAPublicKey ::= SEQUENCE { modulus, publicExponent }` DER.
    pub pkcs1_der: Vec<u8>,
}

/// Decodes a key's base64 DER, PKCS#1 or SubjectPublicKeyInfo.
pub fn decode_key(value: &str) -> Result<DigestKey, KeyError> {
    use rsa::pkcs1::EncodeRsaPublicKey;
    let rsa = decode_rsa(value)?;
    let pkcs1_der = rsa
        .to_pkcs1_der()
        .map_err(|_| KeyError::NotRsa)?
        .as_bytes()
        .to_vec();
    Ok(DigestKey { rsa, pkcs1_der })
}

fn decode_rsa(value: &str) -> Result<RsaPublicKey, KeyError> {
    let der = STANDARD.decode(value.trim()).map_err(|e| {
        KeyError::Base64(match e {
            base64::DecodeError::InvalidPadding | base64::DecodeError::InvalidLength(_) => {
                "Incorrect padding".to_string()
            }
            other => other.to_string(),
        })
    })?;
    RsaPublicKey::from_pkcs1_der(&der)
        .or_else(|_| RsaPublicKey::from_public_key_der(&der))
        .map_err(|_| KeyError::NotRsa)
}

/// The fingerprint CloudTrail gives a key: lowercase hex MD5 of its DER bytes.
pub fn fingerprint(value: &str) -> Option<String> {
    let der = STANDARD.decode(value.trim()).ok()?;
    Some(hex::encode(Md5::digest(der)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const AWS_CLI_EXAMPLE: &str = r#"{
        "PublicKeyList": [
            {
               "ValidityStartTime": 1453076702.0,
               "ValidityEndTime": 1455668702.0,
               "Value": "MIIBCgKCAQEAlSS3cl92HDycr/MTj0moOhas8habjrraXw+KzlWF0axSI2tcF+3iJ9BKQAVSKxGwxwu3m0wG3J+kUl1xboEcEPHYoIYMbgfSw7KGnuDKwkLzsQWhUJ0cIbOHASox1vv/5fNXkrHhGbDCHeVXm804c83nvHUEFYThr1PfyP/8HwrCtR3FX5OANtQCP61C1nJtSSkC8JSQUOrIP4CuwJjc+4WGDk+BGH5m9iuiAKkipEHWmUl8/P7XpfpWQuk4h8g3pXZOrNXr08lbh4d39svj7UqdhvOXoBISp9t/EXYuePGEtBdrKD9Dz+VHwyUPtBQvYr9BnkF88qBnaPNhS44rzwIDAQAB",
               "Fingerprint": "7f3f401420072e50a65a141430817ab3"
           }
        ]
    }"#;

    #[test]
    fn cli_v1_file_and_fingerprint() {
        let keys = PublicKeys::parse(AWS_CLI_EXAMPLE).unwrap();
        assert_eq!(keys.len(), 1);
        let all = keys.in_range(1453076702, 1453076702);
        assert_eq!(all.len(), 1);
        assert_eq!(
            fingerprint(&all[0].value).as_deref(),
            Some("7f3f401420072e50a65a141430817ab3")
        );
        assert!(decode_key(&all[0].value).is_ok());
        assert!(
            keys.in_range(1455668703, 1500000000).is_empty(),
            "outside its validity"
        );
    }

    #[test]
    fn cli_v2_times_and_bad_values() {
        let v2 = r#"{"PublicKeyList":[{"ValidityStartTime":"2016-01-18T00:25:02+00:00","ValidityEndTime":"2016-02-17T00:25:02+00:00","Value":"AAAA","Fingerprint":"x"}]}"#;
        let keys = PublicKeys::parse(v2).unwrap();
        assert_eq!(keys.in_range(1453076702, 1453076702).len(), 1);
        assert_eq!(decode_key("AAAA").err(), Some(KeyError::NotRsa));
        assert_eq!(
            decode_key("AAA").err(),
            Some(KeyError::Base64("Incorrect padding".into()))
        );
        assert!(matches!(
            PublicKeys::parse("[]"),
            Err(KeyFileError::Shape(_))
        ));
        assert!(matches!(PublicKeys::parse("{"), Err(KeyFileError::Json(_))));
    }
}

/// The keys to verify each region's digests with: one `list-public-keys` file for every
/// region, or CloudTrail's answer per region (a digest is signed with its own region's key).
#[derive(Debug, Clone)]
pub enum RegionKeys {
    /// A saved `aws cloudtrail list-public-keys` answer, for every region.
    File(PublicKeys),
    /// ListPublicKeys asked in each region.
    PerRegion(HashMap<String, PublicKeys>),
}

impl RegionKeys {
    /// The keys to verify `region`'s digests with (none for a region not asked).
    pub fn of(&self, region: &str) -> &PublicKeys {
        static NONE: std::sync::OnceLock<PublicKeys> = std::sync::OnceLock::new();
        match self {
            RegionKeys::File(keys) => keys,
            RegionKeys::PerRegion(by_region) => by_region
                .get(region)
                .unwrap_or_else(|| NONE.get_or_init(PublicKeys::default)),
        }
    }
}
