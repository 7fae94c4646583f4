use trailscan_archive::key::{is_account_id, parse_key, KeyClass};

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
        assert_eq!(
            k.prefix.is_empty(),
            key.starts_with("AWSLogs/"),
            "{key:?} gave prefix {:?}",
            k.prefix
        );
    }
}
