use std::io::Write;
use std::sync::Arc;

use trailscan_archive::inflate::inflate_gzip;
use trailscan_archive::sidecar::parse_sidecar;
use trailscan_archive::{MemoryStore, ObjectStore, WriteMode};
use trailscan_integrity::buckets::Buckets;
use trailscan_integrity::keys::PublicKeys;
use trailscan_integrity::walk::{Step, Trail, Walker};

use crate::MAX_INFLATED_BYTES;

const BUCKET: &str = "example-trail-bucket";
const FOLDER: &str = "AWSLogs/123456789012/CloudTrail-Digest/eu-west-1/2024/01/01/";
const NAME: &str = "123456789012_CloudTrail-Digest_eu-west-1_management-events_eu-west-1_";
/// The real digest the fuzzed one links back to, with its signature.
const OLDER: (&str, &[u8], &str) = (
    "20240101T020030Z.json.gz",
    include_bytes!("../../../fixtures/sample-archive/AWSLogs/123456789012/CloudTrail-Digest/eu-west-1/2024/01/01/123456789012_CloudTrail-Digest_eu-west-1_management-events_eu-west-1_20240101T020030Z.json.gz"),
    include_str!("../../../fixtures/sample-archive/AWSLogs/123456789012/CloudTrail-Digest/eu-west-1/2024/01/01/123456789012_CloudTrail-Digest_eu-west-1_management-events_eu-west-1_20240101T020030Z.json.gz.s3meta.json"),
);
/// The digest whose place the fuzzer's bytes take, and the signature S3 holds for it.
const NEWER: (&str, &[u8], &str) = (
    "20240101T050030Z.json.gz",
    include_bytes!("../../../fixtures/sample-archive/AWSLogs/123456789012/CloudTrail-Digest/eu-west-1/2024/01/01/123456789012_CloudTrail-Digest_eu-west-1_management-events_eu-west-1_20240101T050030Z.json.gz"),
    include_str!("../../../fixtures/sample-archive/AWSLogs/123456789012/CloudTrail-Digest/eu-west-1/2024/01/01/123456789012_CloudTrail-Digest_eu-west-1_management-events_eu-west-1_20240101T050030Z.json.gz.s3meta.json"),
);
const KEYS: &str = include_str!("../../../fixtures/sample-archive-public-keys.json");

/// A digest file's bytes, walked as validate-logs walks a chain: the fuzzer's digest is the
/// newest of a trail whose older digest is real, in a bucket held in memory. The first byte
/// says whether S3 holds the real signature for it (even) or the copy has no sidecar (odd);
/// the rest is the object, gzip (`1f 8b`) as stored, else JSON text that is gzipped first,
/// so that the fuzzer reaches the JSON without forging checksums.
///
/// Invariant: a digest that verifies against the real signature inflates to exactly the real
/// digest's text (anything else would be a forgery accepted).
pub fn digest_file(data: &[u8]) {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    let body = if body.starts_with(&[0x1f, 0x8b]) {
        body.to_vec()
    } else {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(body).expect("in memory");
        gz.finish().expect("in memory")
    };
    let store = MemoryStore::new();
    put(&store, OLDER.0, OLDER.1, Some(OLDER.2));
    put(&store, NEWER.0, &body, (mode % 2 == 0).then_some(NEWER.2));
    let buckets = Buckets::new(BUCKET, Arc::new(store));
    let keys = PublicKeys::parse(KEYS).expect("the fixture's keys");
    let trail = Trail {
        bucket: BUCKET.into(),
        prefix: None,
        account: "123456789012".into(),
        org_id: None,
        name: "management-events".into(),
        home_region: "eu-west-1".into(),
        source_region: "eu-west-1".into(),
    };
    // 2024-01-01T00:00:00Z to 2024-01-01T06:00:00Z.
    let Ok(steps) = Walker::new(&buckets, &trail, &keys, 1_704_067_200, 1_704_088_800).walk()
    else {
        return;
    };
    for (_, step) in steps {
        if let Step::Valid(digest) = step {
            if digest.key.ends_with(NEWER.0) && mode % 2 == 0 {
                assert_eq!(
                    inflated(&body),
                    inflated(NEWER.1),
                    "a digest other than the signed one verified"
                );
            }
        }
    }
}

fn inflated(gz: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let _ = inflate_gzip(gz, &mut out, MAX_INFLATED_BYTES);
    out
}

/// Puts a digest of the trail's folder, with the metadata its sidecar holds.
fn put(store: &MemoryStore, time: &str, body: &[u8], sidecar: Option<&str>) {
    let metadata = sidecar.map(|s| parse_sidecar(s).expect("the fixture's sidecar"));
    let key = format!("{FOLDER}{NAME}{time}");
    store
        .write(&key, body, metadata.as_ref(), WriteMode::Replace)
        .expect("in memory");
}
