//! CloudTrail's own API, for what an archive does not hold: the public keys that sign digest
//! files, from ListPublicKeys.
//!
//! Keys are regional (a digest is signed with its own region's key), so they are asked of
//! each region whose digests are validated, as the AWS CLI asks the region of its `--region`.
//! The client starts from the S3 client's configuration and runtime ([`S3Bucket::aws`]),
//! without `--endpoint-url`, which is S3's; a CloudTrail endpoint of one's own is set the standard
//! way, with `AWS_ENDPOINT_URL_CLOUDTRAIL` (or `endpoint_url` in a profile's `cloudtrail`
//! services section).

use aws_sdk_cloudtrail::primitives::DateTime;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use std::collections::{BTreeMap, HashMap};

use std::path::{Path, PathBuf};

use trailscan_archive::s3::{describe, S3Bucket};
use trailscan_integrity::keys::{KeyFileError, PublicKey, PublicKeys, RegionKeys};

/// Why the keys could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("ListPublicKeys in {region}: {reason}")]
pub struct ListKeysError {
    /// The region asked.
    pub region: String,
    /// What the service or the connection said (credentials redacted).
    pub reason: String,
}

/// Why no keys could be had for a validation.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    /// The `--public-keys` file cannot be read.
    #[error("cannot read public keys from {}: {cause}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        cause: std::io::Error,
    },
    /// The file is not a `list-public-keys` answer.
    #[error("{}: {cause}", path.display())]
    NotKeys {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        cause: KeyFileError,
    },
    /// A copy on disk, and no file.
    #[error("give --public-keys FILE, the saved output of `aws cloudtrail list-public-keys` for the window (a copy on disk has no CloudTrail API to ask)")]
    NoSource,
    /// CloudTrail did not answer.
    #[error("{0} (or give --public-keys FILE)")]
    Api(ListKeysError),
}

/// The keys to verify each region's digests with over `windows` (region -> the time range its
/// digests are validated over): from `file` (a saved `list-public-keys` answer) when given,
/// else ListPublicKeys for `[start, end + 2 h]` in each region (the range the AWS CLI asks
/// for), through `bucket`'s configuration.
pub fn region_keys(
    file: Option<&Path>,
    bucket: Option<&S3Bucket>,
    windows: &BTreeMap<String, (i64, i64)>,
) -> Result<RegionKeys, KeysError> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|cause| KeysError::Unreadable {
            path: path.to_path_buf(),
            cause,
        })?;
        let keys = PublicKeys::parse(&text).map_err(|cause| KeysError::NotKeys {
            path: path.to_path_buf(),
            cause,
        })?;
        return Ok(RegionKeys::File(keys));
    }
    let bucket = bucket.ok_or(KeysError::NoSource)?;
    let asked = windows
        .iter()
        .map(|(region, &(start, end))| (region.clone(), (start, end.saturating_add(2 * 3600))))
        .collect();
    let by_region = list_public_keys(bucket, &asked).map_err(KeysError::Api)?;
    Ok(RegionKeys::PerRegion(by_region))
}

/// The keys valid at some time in each region's `[start, end]` (epoch seconds), every page,
/// the regions asked at once; with the S3 client's configuration and on its runtime (see
/// [`S3Bucket::aws`]).
pub fn list_public_keys(
    archive: &S3Bucket,
    windows: &BTreeMap<String, (i64, i64)>,
) -> Result<HashMap<String, PublicKeys>, ListKeysError> {
    let (shared, runtime) = archive.aws();
    runtime.block_on(async {
        let asks: Vec<_> = windows
            .iter()
            .map(|(region, &window)| {
                let config = aws_sdk_cloudtrail::config::Builder::from(shared)
                    .region(aws_config::Region::new(region.clone()))
                    .build();
                let client = aws_sdk_cloudtrail::Client::from_conf(config);
                (region, tokio::spawn(keys_of(client, window)))
            })
            .collect();
        let mut by_region = HashMap::new();
        for (region, ask) in asks {
            let failed = |reason: String| ListKeysError {
                region: region.clone(),
                reason,
            };
            let keys = ask
                .await
                .map_err(|e| failed(e.to_string()))?
                .map_err(failed)?;
            by_region.insert(region.clone(), keys);
        }
        Ok(by_region)
    })
}

/// One region's keys, following NextToken; a failure as [`describe`] words it.
async fn keys_of(
    client: aws_sdk_cloudtrail::Client,
    (start, end): (i64, i64),
) -> Result<PublicKeys, String> {
    let mut pages = client
        .list_public_keys()
        .start_time(DateTime::from_secs(start))
        .end_time(DateTime::from_secs(end))
        .into_paginator()
        .send();
    let mut keys = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| describe(&e, None))?;
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
}
