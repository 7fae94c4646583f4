//! A bucket in S3 (or an S3-compatible store), read with aws-sdk-s3.
//!
//! Listing walks the CloudTrail layout one level at a time (`ListObjectsV2` with a `/`
//! delimiter), pruning accounts, regions and days as on disk, with the levels below a folder
//! listed in parallel: a window never lists the whole bucket. Objects are fetched by the
//! scan's workers; each GET is retried with backoff (the SDK retries throttling such as 503
//! SlowDown and connection errors; a body shorter than its Content-Length is retried here).
//! Credentials come from the standard chain (environment, profiles, SSO, IMDS) and never
//! appear in messages.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_s3::Client;
use rayon::prelude::*;

use crate::key::{parse_key, KeyClass};
use crate::layout_walk::{enter_dir, enter_path, Level};
use crate::local::ListError;
use crate::object::{DayFolder, Listing, Location, ObjectRef, SkipReason};
use crate::select::Selection;
use crate::shard::{assign, Unit};

/// How to reach S3.
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    /// A custom endpoint (an S3-compatible store); addressed path-style.
    pub endpoint_url: Option<String>,
    /// A named profile of the shared config and credentials files.
    pub profile: Option<String>,
    /// Anonymous requests (public buckets).
    pub no_sign_request: bool,
    /// The client's region when the standard chain names none (`--region`, when one is given).
    pub region: Option<String>,
}

/// One level of a delimited listing: the sub-prefixes (ending in `/`) and the objects with
/// their sizes.
struct Level1 {
    folders: Vec<String>,
    files: Vec<(String, u64)>,
}

/// Attempts at a GET whose body breaks off or comes short.
const BODY_ATTEMPTS: u32 = 4;

/// Objects in a row that cannot be fetched (after the SDK's retries) before the endpoint is
/// taken as gone: the rest of the scan then fails fast, each object still named, instead of
/// waiting out every retry of every object.
const UNREACHABLE_STREAK: u32 = 8;

/// How one GET ended.
enum Attempt {
    NotFound,
    /// The request failed after the SDK's retries.
    Request(String),
    /// The body broke off or came short: worth another GET.
    Body(String),
}

/// `s3://bucket[/prefix]`.
#[derive(Debug)]
pub struct S3Archive {
    /// Objects in a row whose GET failed: see [`UNREACHABLE_STREAK`].
    unreachable_streak: AtomicU32,
    client: Client,
    /// What the client was built from, for the run's other AWS clients (boxed: cold, and
    /// large beside the rest).
    shared: Box<aws_config::SdkConfig>,
    runtime: tokio::runtime::Runtime,
    bucket: String,
    prefix: String,
}

/// Why an object could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// `NoSuchKey`.
    #[error("not found")]
    NotFound,
    /// Anything else, after retries.
    #[error("{0}")]
    Failed(String),
}

/// Removes credentials from a message: whatever the SDK or a server says, a secret never
/// reaches the terminal.
pub fn redact(message: &str) -> String {
    let mut out = message.to_string();
    for var in [
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_ACCESS_KEY_ID",
    ] {
        if let Ok(secret) = std::env::var(var) {
            if secret.len() >= 8 {
                out = out.replace(&secret, "[REDACTED]");
            }
        }
    }
    out
}

/// What an AWS SDK call's failure says, for a message: the service's code and message when it
/// answered, else the whole chain of causes; credentials redacted.
pub fn describe<E: ProvideErrorMetadata + std::error::Error + 'static>(
    e: &aws_sdk_s3::error::SdkError<E>,
) -> String {
    let text = match (e.code(), e.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_string(),
        _ => DisplayErrorContext(e).to_string(),
    };
    redact(&text)
}

/// The AWS SDK configuration every client of trailscan starts from: the standard chain
/// (environment, profiles, SSO, IMDS) with `--profile` and `--no-sign-request` applied, bounded
/// timeouts, and a region (the chain's, else `--region`'s, else us-east-1: S3 answers where a
/// bucket lives from any region). No endpoint here: `--endpoint-url` is S3's alone, and the
/// standard `AWS_ENDPOINT_URL_<SERVICE>` variables reach each client from the chain.
async fn shared_config(options: &S3Options) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    if options.no_sign_request {
        loader = loader.no_credentials();
    }
    // A server that stops answering must not hold a worker forever: bounded connects, and a
    // bound on silence between bytes (not on a whole download, which may be large).
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .read_timeout(Duration::from_secs(30))
        .build();
    loader = loader.timeout_config(timeouts);
    let shared = loader.load().await;
    if shared.region().is_some() {
        return shared;
    }
    let fallback = options.region.clone().unwrap_or_else(|| "us-east-1".into());
    shared
        .into_builder()
        .region(aws_config::Region::new(fallback))
        .build()
}

/// The region a bucket lives in, as S3 tells it on HeadBucket (`x-amz-bucket-region`, sent
/// with the answer and with a 301 from the wrong region alike); `None` when the store does not
/// say (S3-compatible servers) or cannot be reached (the listing then reports why).
async fn bucket_region(client: &Client, bucket: &str) -> Option<String> {
    match client.head_bucket().bucket(bucket).send().await {
        Ok(answer) => answer.bucket_region().map(str::to_string),
        Err(e) => e
            .raw_response()?
            .headers()
            .get("x-amz-bucket-region")
            .map(str::to_string),
    }
}

impl S3Archive {
    /// Connects to `s3://bucket[/prefix]`.
    pub fn open(url: &str, options: &S3Options) -> Result<S3Archive, ListError> {
        let rest = url.strip_prefix("s3://").unwrap_or(url);
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(ListError::S3 {
                url: url.to_string(),
                reason: "no bucket name".to_string(),
            });
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| ListError::S3 {
                url: url.to_string(),
                reason: format!("cannot start the I/O runtime: {e}"),
            })?;
        let (client, shared) = runtime.block_on(async {
            let shared = shared_config(options).await;
            let mut config = aws_sdk_s3::config::Builder::from(&shared);
            if let Some(endpoint) = &options.endpoint_url {
                config = config.endpoint_url(endpoint).force_path_style(true);
            }
            let client = Client::from_conf(config.build());
            let client = match bucket_region(&client, bucket).await {
                // Only AWS says where a bucket lives; requests must go to that region.
                Some(region) if Some(region.as_str()) != shared.region().map(|r| r.as_ref()) => {
                    let config = client
                        .config()
                        .to_builder()
                        .region(aws_sdk_s3::config::Region::new(region));
                    Client::from_conf(config.build())
                }
                _ => client,
            };
            (client, shared)
        });
        Ok(S3Archive {
            unreachable_streak: AtomicU32::new(0),
            client,
            shared: Box::new(shared),
            runtime,
            bucket: bucket.to_string(),
            prefix: prefix.trim_end_matches('/').to_string(),
        })
    }

    /// The run's AWS configuration (credentials, resolved once; the chain's region; timeouts;
    /// no endpoint, `--endpoint-url` being S3's) and the runtime its clients run on, so that
    /// another AWS client of the same run (CloudTrail's) shares both instead of loading its own.
    pub fn aws(&self) -> (&aws_config::SdkConfig, &tokio::runtime::Runtime) {
        (&self.shared, &self.runtime)
    }

    /// `s3://bucket/prefix`.
    pub fn url(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    /// One level under `dir` (a key prefix ending in `/`, or empty): sub-prefixes and objects.
    fn list_dir(&self, dir: &str) -> Result<Level1, String> {
        self.runtime.block_on(async {
            let mut folders = Vec::new();
            let mut files = Vec::new();
            let mut pages = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(dir)
                .delimiter("/")
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| describe(&e))?;
                folders.extend(
                    page.common_prefixes()
                        .iter()
                        .filter_map(|p| p.prefix().map(str::to_string)),
                );
                files.extend(page.contents().iter().filter_map(|o| {
                    Some((o.key()?.to_string(), o.size().unwrap_or(0).max(0) as u64))
                }));
            }
            Ok(Level1 { folders, files })
        })
    }

    /// Lists the objects `selection` needs.
    pub fn list(&self, selection: &Selection) -> Result<Listing, ListError> {
        let start = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        // Enter the prefix's own folders as the walk would (a prefix inside AWSLogs/).
        let mut listing = Listing::default();
        let names = self.prefix.split('/').filter(|n| !n.is_empty());
        let Some(level) = enter_path(names, selection, &mut listing) else {
            return Ok(listing);
        };
        // The first listing answers whether the bucket and credentials work at all.
        let first = self.list_dir(&start).map_err(|reason| ListError::S3 {
            url: self.url(),
            reason,
        })?;
        self.merge_level(&mut listing, first, level, selection);
        if let Some(shard) = selection.shard {
            let (plan, own) = assign(std::mem::take(&mut listing.day_folders), shard);
            listing.shard_plan = Some(plan);
            let own: Vec<(String, Level)> = own
                .into_iter()
                .filter_map(|f| match f {
                    DayFolder::S3(prefix) => Some((prefix, Level::Day)),
                    DayFolder::Local(_) => None,
                })
                .collect();
            let children = self.list_folders_below(&own, selection);
            for child in children {
                listing.absorb(child);
            }
        }
        listing.objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(listing)
    }

    fn merge_level(
        &self,
        listing: &mut Listing,
        Level1 { folders, files }: Level1,
        level: Level,
        sel: &Selection,
    ) {
        for (key, size) in files {
            match parse_key(&key) {
                KeyClass::CloudTrail(layout) => match sel.check(&layout) {
                    Ok(()) => listing.objects.push(ObjectRef {
                        location: Location::S3 {
                            bucket: self.bucket.clone(),
                            key: key.clone(),
                        },
                        key,
                        layout,
                        size,
                    }),
                    Err(reason) => listing.skipped.file(reason),
                },
                KeyClass::NotCloudTrail(reason) => listing.skipped.file(reason),
            }
        }
        let mut below = Vec::new();
        for folder in folders {
            let name = folder
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or_default();
            match enter_dir(level, name, sel) {
                Ok(Level::Day) if sel.shard.is_some() => {
                    // Sharded: day folders are listed once this shard's are known.
                    match Unit::from_day_folder(folder.trim_end_matches('/').split('/')) {
                        Some(unit) => listing.day_folders.push((unit, DayFolder::S3(folder))),
                        None => listing.skipped.folder(SkipReason::NotCloudTrailLayout),
                    }
                }
                Ok(next) => {
                    listing.awslogs_folders += u64::from(matches!(next, Level::AwsLogs));
                    below.push((folder, next));
                }
                Err(reason) => listing.skipped.folder(reason),
            }
        }
        for child in self.list_folders_below(&below, sel) {
            listing.absorb(child);
        }
    }

    /// Lists folders (in parallel) and walks each down from its level.
    fn list_folders_below(&self, below: &[(String, Level)], sel: &Selection) -> Vec<Listing> {
        below
            .par_iter()
            .map(|(folder, next)| {
                let mut child = Listing::default();
                match self.list_dir(folder) {
                    Ok(level_listing) => self.merge_level(&mut child, level_listing, *next, sel),
                    Err(e) => child
                        .problems
                        .push(format!("s3://{}/{folder}: cannot list: {e}", self.bucket)),
                }
                child
            })
            .collect()
    }

    /// Fetches an object of this archive's bucket into `buf`, retrying transient failures
    /// and short bodies.
    pub fn fetch(&self, key: &str, buf: &mut Vec<u8>) -> Result<(), FetchError> {
        self.fetch_with_metadata(&self.bucket, key, buf).map(drop)
    }

    /// Fetches an object of any bucket into `buf` and returns its user metadata (without the
    /// `x-amz-meta-` prefix).
    pub fn fetch_with_metadata(
        &self,
        bucket: &str,
        key: &str,
        buf: &mut Vec<u8>,
    ) -> Result<std::collections::BTreeMap<String, String>, FetchError> {
        let unreachable = self.unreachable_streak.load(Ordering::Relaxed);
        if unreachable >= UNREACHABLE_STREAK {
            return Err(FetchError::Failed(format!(
                "not fetched: the endpoint stopped answering ({unreachable} objects in a row could not be fetched)"
            )));
        }
        let mut last = String::new();
        // The SDK retries requests (throttling such as 503 SlowDown, connection errors); a body
        // that breaks off or comes short of its Content-Length is retried here.
        for attempt in 0..BODY_ATTEMPTS {
            if attempt > 0 {
                std::thread::sleep(Duration::from_millis(100 << attempt));
            }
            let result = self.runtime.block_on(async {
                let out = self
                    .client
                    .get_object()
                    .bucket(bucket)
                    .key(key)
                    .send()
                    .await;
                let out = match out {
                    Ok(out) => out,
                    Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                        return Err(Attempt::NotFound)
                    }
                    Err(e) => return Err(Attempt::Request(describe(&e))),
                };
                let expected = out.content_length();
                let metadata = out.metadata().cloned().unwrap_or_default();
                let body = match out.body.collect().await {
                    Ok(body) => body.into_bytes(),
                    Err(e) => return Err(Attempt::Body(redact(&format!("reading the body: {e}")))),
                };
                match expected {
                    Some(n) if n >= 0 && body.len() as i64 != n => Err(Attempt::Body(format!(
                        "truncated body: {} of {n} bytes",
                        body.len()
                    ))),
                    _ => Ok((body, metadata)),
                }
            });
            match result {
                Ok((body, metadata)) => {
                    self.unreachable_streak.store(0, Ordering::Relaxed);
                    buf.clear();
                    buf.extend_from_slice(&body);
                    return Ok(metadata.into_iter().collect());
                }
                Err(Attempt::NotFound) => {
                    self.unreachable_streak.store(0, Ordering::Relaxed);
                    return Err(FetchError::NotFound);
                }
                Err(Attempt::Request(message)) => {
                    self.unreachable_streak.fetch_add(1, Ordering::Relaxed);
                    return Err(FetchError::Failed(message));
                }
                Err(Attempt::Body(message)) => last = message,
            }
        }
        Err(FetchError::Failed(format!(
            "{last} (after {BODY_ATTEMPTS} attempts)"
        )))
    }

    /// Uploads a local file to `key` of this archive's bucket (one PUT: files up to 5 GB).
    pub fn put_file(&self, key: &str, path: &std::path::Path) -> Result<(), String> {
        self.runtime.block_on(async {
            let body = aws_sdk_s3::primitives::ByteStream::from_path(path)
                .await
                .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .body(body)
                .send()
                .await
                .map(drop)
                .map_err(|e| describe(&e))
        })
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The key prefix given in the URL (without a trailing `/`), possibly empty.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Keys of `bucket` under `prefix` that sort after `start_after`, in S3's order.
    pub fn list_keys(
        &self,
        bucket: &str,
        prefix: &str,
        start_after: &str,
    ) -> Result<Vec<String>, String> {
        self.runtime.block_on(async {
            let mut keys = Vec::new();
            let mut request = self.client.list_objects_v2().bucket(bucket).prefix(prefix);
            if !start_after.is_empty() {
                request = request.start_after(start_after);
            }
            let mut pages = request.into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| describe(&e))?;
                keys.extend(
                    page.contents()
                        .iter()
                        .filter_map(|o| o.key().map(str::to_string)),
                );
            }
            Ok(keys)
        })
    }

    /// The sub-prefixes directly under `prefix` (ending in `/`).
    pub fn list_folders(&self, prefix: &str) -> Result<Vec<String>, String> {
        self.list_dir(prefix).map(|level| level.folders)
    }
}
