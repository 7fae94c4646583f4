//! CloudTrail's own API, for what an archive does not hold: the public keys that sign digest
//! files, from ListPublicKeys.
//!
//! Keys are regional (a digest is signed with its own region's key), so they are asked of
//! each region whose digests are validated, as the AWS CLI asks the region of its `--region`.
//! The client starts from the same configuration as the S3 client ([`shared_config`]) minus
//! `--endpoint-url`, which is S3's; a CloudTrail endpoint of one's own is set the standard
//! way, with `AWS_ENDPOINT_URL_CLOUDTRAIL` (or `endpoint_url` in a profile's `cloudtrail`
//! services section).

use aws_sdk_cloudtrail::primitives::DateTime;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use trailscan_archive::s3::{describe, redact, shared_config, S3Options};
use trailscan_integrity::keys::{PublicKey, PublicKeys};

/// Why the keys could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ListPublicKeys in {region}: {reason}")]
pub struct ListKeysError {
    /// The region asked.
    pub region: String,
    /// What the service or the connection said (credentials redacted).
    pub reason: String,
}

/// The keys of `region` valid at some time in `[start, end]` (epoch seconds), every page.
pub fn list_public_keys(
    options: &S3Options,
    region: &str,
    (start, end): (i64, i64),
) -> Result<PublicKeys, ListKeysError> {
    let failed = |reason: String| ListKeysError {
        region: region.to_string(),
        reason: redact(&reason),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| failed(format!("cannot start the I/O runtime: {e}")))?;
    runtime.block_on(async {
        let shared = shared_config(options).await;
        let config = aws_sdk_cloudtrail::config::Builder::from(&shared)
            .region(aws_config::Region::new(region.to_string()))
            .build();
        let client = aws_sdk_cloudtrail::Client::from_conf(config);
        let mut pages = client
            .list_public_keys()
            .start_time(DateTime::from_secs(start))
            .end_time(DateTime::from_secs(end))
            .into_paginator()
            .send();
        let mut keys = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| failed(describe(&e)))?;
            for key in page.public_key_list() {
                let (Some(value), Some(fingerprint)) = (key.value(), key.fingerprint()) else {
                    continue;
                };
                keys.push(PublicKey {
                    fingerprint: fingerprint.to_string(),
                    value: STANDARD.encode(value.as_ref()),
                    valid_from: key.validity_start_time().map(DateTime::secs),
                    valid_until: key.validity_end_time().map(DateTime::secs),
                });
            }
        }
        Ok(PublicKeys::from_keys(keys))
    })
}
