use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use trailscan_integrity::digest_body::{listed_objects, log_refs};
use trailscan_integrity::signature::{python_text, string_to_sign};
use trailscan_layout::time::parse_rfc3339;

/// A digest's inflated JSON to every reader of its fields that validation uses once the
/// bytes are in: the string it signs, its times, the log files it lists (for the hash
/// check and for coverage). Without the chain walk and its RSA checks around it (the
/// `digest_file` target), so that the fuzzer spends its time in the JSON.
///
/// Invariants: the signed string carries the SHA-256 of exactly the bytes given; every log
/// file read with its three fields is also one coverage counts; no entry is invented.
pub fn digest_json(data: &[u8]) {
    let Ok(Value::Object(digest)) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let signed = string_to_sign(&digest, data);
    let hash = hex::encode(Sha256::digest(data));
    let text = String::from_utf8_lossy(&signed);
    assert!(
        text.contains(&hash),
        "the signed string lacks the file's hash"
    );
    for field in [
        "digestStartTime",
        "digestEndTime",
        "newestEventTime",
        "oldestEventTime",
    ] {
        if let Some(value) = digest.get(field) {
            let _ = parse_rfc3339(&python_text(value));
        }
    }
    let entries = log_entries(&digest);
    let refs = log_refs(&digest);
    let listed = listed_objects(&digest);
    assert_eq!(refs.len(), entries);
    assert!(listed.len() <= entries);
    for log in refs.iter().flatten() {
        assert!(
            listed.contains(&log.key),
            "{} read but not covered",
            log.key
        );
    }
}

fn log_entries(digest: &Map<String, Value>) -> usize {
    digest
        .get("logFiles")
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
}
