use trailscan_integrity::keys::{decode_key, fingerprint, PublicKeys};

/// A `--public-keys` file (the JSON of `aws cloudtrail list-public-keys`), and every key in
/// it decoded as validation decodes it.
pub fn public_keys(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(keys) = PublicKeys::parse(text) else {
        return;
    };
    let all = keys.in_range(i64::MIN, i64::MAX);
    assert!(all.len() <= keys.len());
    for key in all {
        if decode_key(&key.value).is_ok() {
            assert!(
                fingerprint(&key.value).is_some(),
                "a key that decodes has a fingerprint"
            );
        }
    }
}
