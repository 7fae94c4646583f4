//! The digest signature: SHA256withRSA over a string built from the digest
//! (awscli `Sha256RSADigestValidator`, reference section 1.7).

use rsa::traits::PublicKeyParts;
use rsa::Pkcs1v15Sign;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::keys::DigestKey;

/// Why a signature does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The hex signature is malformed (Python's binascii messages, as the AWS CLI prints them).
    #[error("{0}")]
    Hex(String),
    /// RSA verification failed.
    #[error("signature verification failed")]
    Mismatch,
}

/// A JSON value as Python's f-string prints it.
pub fn python_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "None".to_string(),
        Value::Bool(true) => "True".to_string(),
        Value::Bool(false) => "False".to_string(),
        other => other.to_string(),
    }
}

/// `digestEndTime\nbucket/object\nhex(sha256(inflated))\npreviousDigestSignature-or-null`,
/// no trailing newline; the values are the digest's own JSON values.
pub fn string_to_sign(digest: &Map<String, Value>, inflated: &[u8]) -> Vec<u8> {
    let field = |k: &str| digest.get(k).map(python_text).unwrap_or_default();
    let previous = match digest.get("previousDigestSignature") {
        None | Some(Value::Null) => "null".to_string(),
        Some(v) => python_text(v),
    };
    format!(
        "{}\n{}/{}\n{}\n{}",
        field("digestEndTime"),
        field("digestS3Bucket"),
        field("digestS3Object"),
        hex::encode(Sha256::digest(inflated)),
        previous
    )
    .into_bytes()
}

/// Verifies a lowercase or uppercase hex signature over `message` (RSASSA-PKCS1-v1_5 with
/// SHA-256, pinned: python-rsa would accept other hashes named in the signature).
///
/// `ring` does it some 20 times faster than the `rsa` crate, for the keys it takes (2048 to
/// 8192 bits, a small public exponent: every CloudTrail key); others, such as the 512-bit
/// keys of the AWS CLI's own tests, go through the `rsa` crate. Both check the same thing.
pub fn verify(key: &DigestKey, message: &[u8], signature_hex: &str) -> Result<(), SignatureError> {
    if signature_hex.len() % 2 == 1 {
        return Err(SignatureError::Hex("Odd-length string".to_string()));
    }
    let signature = hex::decode(signature_hex)
        .map_err(|_| SignatureError::Hex("Non-hexadecimal digit found".to_string()))?;
    let bits = key.rsa.n().bits();
    let small_exponent = key.rsa.e().bits() <= 33;
    if (2048..=8192).contains(&bits) && small_exponent {
        let public = ring::signature::UnparsedPublicKey::new(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            &key.pkcs1_der,
        );
        return public
            .verify(message, &signature)
            .map_err(|_| SignatureError::Mismatch);
    }
    let hashed = Sha256::digest(message);
    key.rsa
        .verify(Pkcs1v15Sign::new::<Sha256>(), &hashed, &signature)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The vector's first digest (verified by the real AWS CLI) passes through `ring`, and a
    /// changed byte fails; `ring` and the `rsa` crate agree.
    #[test]
    fn both_verifiers_agree_on_a_real_signature() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/reference/validate-logs-test-vector.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            eprintln!("NOTICE: {} is absent; skipping", path.display());
            return;
        };
        let v: Value = serde_json::from_str(&text).unwrap();
        let key = crate::keys::decode_key(v["public_key"]["Value"].as_str().unwrap()).unwrap();
        let d = &v["digests"][0];
        let message = d["string_to_sign"].as_str().unwrap().as_bytes().to_vec();
        let sig = d["metadata"]["signature"].as_str().unwrap();
        assert_eq!(verify(&key, &message, sig), Ok(()));
        let raw = hex::decode(sig).unwrap();
        assert!(key
            .rsa
            .verify(
                Pkcs1v15Sign::new::<Sha256>(),
                &Sha256::digest(&message),
                &raw
            )
            .is_ok());
        let mut tampered = message.clone();
        tampered[0] ^= 1;
        assert_eq!(verify(&key, &tampered, sig), Err(SignatureError::Mismatch));
        assert_eq!(verify(&key, &message, &sig.to_uppercase()), Ok(()));
        assert_eq!(
            verify(&key, &message, &sig[1..]),
            Err(SignatureError::Hex("Odd-length string".into()))
        );
    }

    #[test]
    fn null_previous_signature_is_the_word_null() {
        // test_properly_signs_when_no_previous_signature in the AWS CLI's suite.
        let digest = json!({"digestEndTime": "a", "digestS3Bucket": "b", "digestS3Object": "c", "previousDigestSignature": null});
        let s = string_to_sign(digest.as_object().unwrap(), b"abc");
        assert_eq!(
            s,
            b"a\nb/c\nba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\nnull"
        );
    }
}
