use trailscan_layout::key::{is_account_id, parse_key, KeyClass};

/// An S3 object key, as a listing returns it, classified as a scan does.
pub fn object_key(data: &[u8]) {
    let Ok(key) = std::str::from_utf8(data) else {
        return;
    };
    if let KeyClass::CloudTrail(k) = parse_key(key) {
        assert!(
            is_account_id(&k.account),
            "{key:?} gave account {:?}",
            k.account
        );
        assert!(
            key.contains("AWSLogs/") && key.contains(&k.region),
            "{key:?} gave {k:?}"
        );
        // The layout starts at an `AWSLogs/` that fits it, after the prefix, which may itself
        // hold `AWSLogs/`.
        let layout_at = if k.prefix.is_empty() {
            "AWSLogs/".to_string()
        } else {
            format!("{}/AWSLogs/", k.prefix)
        };
        assert!(
            key.starts_with(&layout_at),
            "{key:?} gave prefix {:?}",
            k.prefix
        );
    }
}
