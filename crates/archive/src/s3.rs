//! A bucket in S3 (or an S3-compatible store) as an object store, with aws-sdk-s3.
//!
//! Each GET is retried with backoff (the SDK retries throttling such as 503 SlowDown and
//! connection errors; a body shorter than its Content-Length is retried here), and a breaker
//! fails the rest fast once the endpoint stops answering. Credentials come from the standard
//! chain (environment, profiles, SSO, IMDS) and never appear in messages. The SDK is async;
//! the store blocks on a small runtime of its own, so that the scan's rayon workers call it
//! as they read files.

use std::future::Future;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_sdk_s3::primitives::{ByteStream, SdkBody};
use aws_sdk_s3::Client;

use crate::s3_options::S3Options;
use crate::store::{
    DirListing, Fetched, ObjectInfo, ObjectMetadata, ObjectStore, Operation, Problem,
    RequestCounts, StoreError, WriteMode,
};

/// Attempts at a GET whose body breaks off or comes short.
const BODY_ATTEMPTS: u32 = 4;

/// Objects in a row that cannot be fetched (after the SDK's retries) before the endpoint is
/// taken as gone: the rest of the scan then fails fast, each object still named, instead of
/// waiting out every retry of every object.
const UNREACHABLE_STREAK: u32 = 8;

/// A GET's body, user metadata, ETag and LastModified.
type Answer = (
    bytes::Bytes,
    std::collections::HashMap<String, String>,
    Option<String>,
    Option<SystemTime>,
);

/// How one GET ended.
enum Attempt {
    NotFound,
    /// Larger than the caller can take: not fetched.
    TooLarge(String),
    /// The request failed after the SDK's retries.
    Request(String),
    /// The body broke off or came short: worth another GET.
    Body(String),
}

/// What every bucket reached through one set of credentials shares.
#[derive(Debug)]
struct Connection {
    /// The client in the run's region; a bucket that lives elsewhere gets its own copy, moved
    /// to its region ([`S3Bucket::send`]).
    client: Client,
    /// What the client was built from, for the run's other AWS clients.
    shared: aws_config::SdkConfig,
    runtime: tokio::runtime::Runtime,
    /// Objects in a row whose GET failed: see [`UNREACHABLE_STREAK`].
    unreachable_streak: AtomicU32,
    /// The quickest answer seen so far, in microseconds (`u64::MAX` before the first): the
    /// round trip, with as little of the server's own time as any request had.
    round_trip_micros: AtomicU64,
    /// Requests made: LIST, GET, PUT, other.
    requests: [AtomicU64; 4],
    /// `--endpoint-url`, else the endpoint the environment configures
    /// ([`configured_endpoint`]), named when it cannot be reached.
    endpoint: Option<String>,
    /// One per request in flight, over every operation of the run (`--max-concurrent-requests`,
    /// else [`crate::MAX_AUTO_REQUESTS`]): each operation also keeps its own number in flight
    /// ([`ObjectStore::requests_in_flight`]), and validate-logs' chains, each such an
    /// operation, share these. Measured at 80 ms: six chains of 256 each were slower than six
    /// of 96, where one lookup or acquire needs the 256.
    slots: Arc<tokio::sync::Semaphore>,
}

/// Which count of [`Connection::requests`] a request adds to.
#[derive(Clone, Copy)]
enum Request {
    List = 0,
    Get = 1,
    Put = 2,
    Other = 3,
}

impl Connection {
    /// Counts a request about to be sent, once one of the run's [`Connection::slots`] is free;
    /// the request is in flight until the slot is dropped (after its body, for a GET read whole).
    async fn asking(self: &Arc<Self>, request: Request) -> tokio::sync::OwnedSemaphorePermit {
        let slot = Arc::clone(&self.slots).acquire_owned().await;
        self.requests[request as usize].fetch_add(1, Ordering::Relaxed);
        slot.unwrap_or_else(|_| unreachable!("the run's request slots are never closed"))
    }

    /// Notes how long a request took to be answered.
    fn answered_in(&self, since: Instant) {
        let micros = since.elapsed().as_micros().min(u128::from(u64::MAX - 1)) as u64;
        self.round_trip_micros.fetch_min(micros, Ordering::Relaxed);
    }
}

/// `s3://bucket[/prefix]`.
#[derive(Debug, Clone)]
pub struct S3Bucket {
    connection: Arc<Connection>,
    /// The client this bucket's requests go through: the connection's until S3 says the bucket
    /// lives in another region, then one in that region (shared by this store's clones).
    client: Arc<RwLock<Client>>,
    /// Requests to keep in flight (`--max-concurrent-requests`); `None`: sized for the round
    /// trip, see [`requests_for_round_trip`].
    requests: Option<usize>,
    bucket: String,
    prefix: String,
    name: String,
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
/// answered, else the cause in words and what to try; with `--debug` (or `RUST_LOG` set), the
/// whole chain of causes as the SDK gives it. Credentials redacted either way.
pub fn describe<E: ProvideErrorMetadata + std::error::Error + 'static>(
    e: &aws_sdk_s3::error::SdkError<E>,
    endpoint: Option<&str>,
) -> String {
    if full_errors_wanted() {
        return redact(&DisplayErrorContext(e).to_string());
    }
    let text = match (e.code(), e.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_string(),
        _ => in_words(e, endpoint),
    };
    redact(&text)
}

/// The endpoint the AWS SDK takes from the environment when `--endpoint-url` is not given
/// (`AWS_ENDPOINT_URL_S3`, else `AWS_ENDPOINT_URL`, unless
/// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`), for naming it in errors as `--endpoint-url` is.
fn configured_endpoint() -> Option<String> {
    let var = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
    if var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return None;
    }
    var("AWS_ENDPOINT_URL_S3").or_else(|| var("AWS_ENDPOINT_URL"))
}

/// Whether errors are wanted whole (`--debug`, which sets `TRAILSCAN_DEBUG`, or `RUST_LOG`).
fn full_errors_wanted() -> bool {
    std::env::var_os("TRAILSCAN_DEBUG").is_some() || std::env::var_os("RUST_LOG").is_some()
}

/// A failure without an answer from the service, in one line: the cause and what to try, and
/// the endpoint asked (`--endpoint-url`; `None`: AWS's own).
fn in_words<E: std::error::Error + 'static>(
    e: &aws_sdk_s3::error::SdkError<E>,
    endpoint: Option<&str>,
) -> String {
    use aws_sdk_s3::error::SdkError;
    const MORE: &str = "(--debug shows the whole error)";
    let at = endpoint.map(|url| format!(" {url}")).unwrap_or_default();
    // The innermost cause is the one a person can act on ("Connection refused").
    let root = {
        let mut cause: &dyn std::error::Error = e;
        while let Some(next) = cause.source() {
            cause = next;
        }
        cause.to_string()
    };
    let chain = DisplayErrorContext(e).to_string();
    match e {
        SdkError::DispatchFailure(failure) => {
            let connector = failure.as_connector_error();
            if chain.contains("loading credentials") || chain.contains("no credentials") {
                format!("no AWS credentials found by the default chain (environment, the profiles of ~/.aws, SSO, instance metadata): set AWS_PROFILE or give --profile, set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or give --no-sign-request for a public bucket {MORE}")
            } else if connector.is_some_and(|c| c.is_timeout()) {
                format!("no answer from the endpoint{at} in time: check --endpoint-url and the network {MORE}")
            } else if connector.is_some_and(|c| c.is_io()) {
                let to = endpoint.map(|url| format!(" to {url}")).unwrap_or_default();
                format!("cannot connect{to} ({root}): check --endpoint-url (or AWS_ENDPOINT_URL), the network, or that the server runs {MORE}")
            } else {
                format!("the request could not be sent ({root}) {MORE}")
            }
        }
        SdkError::TimeoutError(_) => {
            format!("no answer in time: check the network and the endpoint {MORE}")
        }
        SdkError::ResponseError(_) => {
            format!("the answer could not be read ({root}) {MORE}")
        }
        SdkError::ServiceError(service) => match service.raw().status().as_u16() {
            403 => format!("access denied (HTTP 403): the credentials may not read this bucket, or are for another account {MORE}"),
            404 => format!("not found (HTTP 404): check the bucket's name {MORE}"),
            301 | 307 | 400 => format!("the bucket may be in another region (HTTP {}): give --region {MORE}", service.raw().status().as_u16()),
            status => format!("the service answered HTTP {status} {MORE}"),
        },
        _ => chain,
    }
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

/// The region S3 names for the bucket in a failed request's answer (`x-amz-bucket-region`:
/// on a 301 PermanentRedirect or a 400 AuthorizationHeaderMalformed from another region, and
/// on HeadBucket's); `None` where it names none, as S3-compatible servers do not.
fn region_named_by<E>(e: &SdkError<E, HttpResponse>) -> Option<String> {
    let region = e.raw_response()?.headers().get("x-amz-bucket-region")?;
    Some(region.to_string())
}

/// Whether S3 refused a request for going to another region than the bucket's (301
/// PermanentRedirect, or 400 AuthorizationHeaderMalformed for a signature of the wrong region).
fn sent_to_another_region<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> bool {
    e.raw_response().is_some_and(|r| r.status().as_u16() == 301)
        || matches!(
            e.code(),
            Some("PermanentRedirect" | "AuthorizationHeaderMalformed")
        )
}

/// A LastModified as a time.
fn system_time(t: Option<&aws_sdk_s3::primitives::DateTime>) -> Option<SystemTime> {
    let t = t?;
    let since = Duration::new(t.secs().max(0) as u64, t.subsec_nanos());
    Some(SystemTime::UNIX_EPOCH + since)
}

impl S3Bucket {
    /// The S3 bucket behind `store`, if it is one: for the clients that share its
    /// configuration (CloudTrail's ListPublicKeys).
    pub fn of(store: &dyn ObjectStore) -> Option<&S3Bucket> {
        store.as_any().downcast_ref()
    }

    /// Connects to `s3://bucket[/prefix]`.
    pub fn open(url: &str, options: &S3Options) -> Result<S3Bucket, StoreError> {
        let failed =
            |reason: String| StoreError::new(Operation::Open, url, Problem::Service(reason));
        let rest = url.strip_prefix("s3://").unwrap_or(url);
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(failed("no bucket name".to_string()));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| failed(format!("cannot start the I/O runtime: {e}")))?;
        // No HeadBucket to find the bucket's region first: that would cost every command a
        // round trip before its first listing. Requests go to the run's region, and the first
        // one S3 answers with another region moves the client there ([`S3Bucket::send`]).
        let (client, shared) = runtime.block_on(async {
            let shared = shared_config(options).await;
            let mut config = aws_sdk_s3::config::Builder::from(&shared);
            if let Some(endpoint) = &options.endpoint_url {
                config = config.endpoint_url(endpoint).force_path_style(true);
            }
            (Client::from_conf(config.build()), shared)
        });
        let prefix = prefix.trim_end_matches('/').to_string();
        Ok(S3Bucket {
            requests: options.max_concurrent_requests.map(|n| n.max(1)),
            client: Arc::new(RwLock::new(client.clone())),
            connection: Arc::new(Connection {
                client,
                shared,
                runtime,
                unreachable_streak: AtomicU32::new(0),
                round_trip_micros: AtomicU64::new(u64::MAX),
                requests: [0; 4].map(AtomicU64::new),
                endpoint: options.endpoint_url.clone().or_else(configured_endpoint),
                slots: Arc::new(tokio::sync::Semaphore::new(
                    options
                        .max_concurrent_requests
                        .unwrap_or(crate::MAX_AUTO_REQUESTS)
                        .max(1),
                )),
            }),
            name: url_of(bucket, &prefix),
            bucket: bucket.to_string(),
            prefix,
        })
    }

    /// The run's AWS configuration (credentials, resolved once; the chain's region; timeouts;
    /// no endpoint, `--endpoint-url` being S3's) and the runtime its clients run on, so that
    /// another AWS client of the same run (CloudTrail's) shares both instead of loading its own.
    pub fn aws(&self) -> (&aws_config::SdkConfig, &tokio::runtime::Runtime) {
        (&self.connection.shared, &self.connection.runtime)
    }

    fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.connection.runtime.block_on(f)
    }

    /// The client this bucket's requests go through now.
    fn client(&self) -> Client {
        self.client
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Sends the request `request` builds on a client, and sends it again, once, from the
    /// bucket's own region when S3 answers that the bucket lives in another: the client moves
    /// there for every later request of this bucket. That costs the one round trip of the
    /// wrong guess, and only for a bucket outside the run's region, where asking first
    /// (HeadBucket) would cost every command a round trip.
    async fn send<T, E, F, Fut>(&self, request: F) -> Result<T, SdkError<E, HttpResponse>>
    where
        E: ProvideErrorMetadata,
        F: Fn(Client) -> Fut,
        Fut: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
    {
        let client = self.client();
        let asked_in = client.config().region().map(|r| r.to_string());
        let error = match request(client.clone()).await {
            Ok(answer) => return Ok(answer),
            Err(e) => e,
        };
        let region = match region_named_by(&error) {
            Some(region) => Some(region),
            // Refused for its region without naming the bucket's: HeadBucket names it.
            None if sent_to_another_region(&error) => self.ask_region(&client).await,
            None => None,
        };
        let Some(region) = region.filter(|r| Some(r.as_str()) != asked_in.as_deref()) else {
            return Err(error);
        };
        let moved = {
            let mut current = self.client.write().unwrap_or_else(PoisonError::into_inner);
            if current.config().region().map(|r| r.as_ref()) != Some(region.as_str()) {
                let config = current
                    .config()
                    .to_builder()
                    .region(aws_sdk_s3::config::Region::new(region));
                *current = Client::from_conf(config.build());
            }
            current.clone()
        };
        request(moved).await
    }

    /// The bucket's region, as S3 names it in HeadBucket's answer (`x-amz-bucket-region`, on
    /// a 301 from the wrong region too). Counted, but without a request slot: it is asked
    /// while the request it rescues holds one.
    async fn ask_region(&self, client: &Client) -> Option<String> {
        self.connection.requests[Request::Other as usize].fetch_add(1, Ordering::Relaxed);
        match client.head_bucket().bucket(&self.bucket).send().await {
            Ok(answer) => answer.bucket_region().map(str::to_string),
            Err(e) => region_named_by(&e),
        }
    }

    /// ListObjectsV2 below `prefix` (grouped at `delimiter`, after `start_after`), page by
    /// page, each handed to `each`; what S3 said when a page fails.
    async fn list_pages(
        &self,
        prefix: &str,
        delimiter: Option<&str>,
        start_after: &str,
        each: &mut dyn FnMut(&ListObjectsV2Output),
    ) -> Result<(), String> {
        let mut token: Option<String> = None;
        loop {
            let page = self
                .list_page(prefix, delimiter, start_after, token.clone())
                .await?;
            each(&page);
            match page.next_continuation_token() {
                // A server that hands back the token it was given would page forever.
                Some(next) if token.as_deref() == Some(next) => {
                    return Err(format!("the listing repeats its continuation token {next}"))
                }
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_string()),
                _ => return Ok(()),
            }
        }
    }

    /// One ListObjectsV2 request (a page, from `token` on): what S3 said when it fails.
    async fn list_page(
        &self,
        prefix: &str,
        delimiter: Option<&str>,
        start_after: &str,
        token: Option<String>,
    ) -> Result<ListObjectsV2Output, String> {
        let _slot = self.connection.asking(Request::List).await;
        let asked = Instant::now();
        let page = self
            .send(|c| {
                c.list_objects_v2()
                    .bucket(&self.bucket)
                    .prefix(prefix)
                    .set_delimiter(delimiter.map(str::to_string))
                    .set_start_after((!start_after.is_empty()).then(|| start_after.into()))
                    .set_continuation_token(token.clone())
                    .send()
            })
            .await
            .map_err(|e| self.describe(&e))?;
        self.connection.answered_in(asked);
        Ok(page)
    }

    /// [`describe`] for a request of this bucket's, naming the endpoint it could not reach.
    fn describe<E: ProvideErrorMetadata + std::error::Error + 'static>(
        &self,
        e: &aws_sdk_s3::error::SdkError<E>,
    ) -> String {
        describe(e, self.connection.endpoint.as_deref())
    }

    fn failed(&self, operation: Operation, key: &str, reason: String) -> StoreError {
        StoreError::new(operation, self.display_key(key), Problem::Service(reason))
    }

    /// One GET, retried while its body breaks off; the object's info and user metadata.
    fn get(
        &self,
        key: &str,
        buf: &mut Vec<u8>,
    ) -> Result<(ObjectInfo, ObjectMetadata), StoreError> {
        let (body, info, metadata) = self.block_on(self.get_async(key, None))?;
        buf.clear();
        buf.extend_from_slice(&body);
        Ok((info, metadata))
    }

    /// [`S3Bucket::get`] on the runtime: the body as the SDK collected it.
    async fn get_async(
        &self,
        key: &str,
        max_bytes: Option<u64>,
    ) -> Result<(bytes::Bytes, ObjectInfo, ObjectMetadata), StoreError> {
        let streak = &self.connection.unreachable_streak;
        let unreachable = streak.load(Ordering::Relaxed);
        if unreachable >= UNREACHABLE_STREAK {
            return Err(self.failed(
                Operation::Read,
                key,
                format!("not fetched: the endpoint stopped answering ({unreachable} objects in a row could not be fetched)"),
            ));
        }
        let mut last = String::new();
        // The SDK retries requests (throttling such as 503 SlowDown, connection errors); a body
        // that breaks off or comes short of its Content-Length is retried here.
        for attempt in 0..BODY_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(100 << attempt)).await;
            }
            match self.attempt(key, max_bytes).await {
                Ok((body, metadata, etag, modified)) => {
                    streak.store(0, Ordering::Relaxed);
                    let info = ObjectInfo {
                        key: key.to_string(),
                        size: body.len() as u64,
                        etag,
                        modified,
                    };
                    let metadata = ObjectMetadata {
                        bucket: Some(self.bucket.clone()),
                        user: metadata.into_iter().collect(),
                    };
                    return Ok((body, info, metadata));
                }
                Err(Attempt::NotFound) => {
                    streak.store(0, Ordering::Relaxed);
                    return Err(StoreError::new(
                        Operation::Read,
                        self.display_key(key),
                        Problem::NotFound,
                    ));
                }
                Err(Attempt::Request(message)) => {
                    streak.fetch_add(1, Ordering::Relaxed);
                    return Err(self.failed(Operation::Read, key, message));
                }
                Err(Attempt::Body(message)) => last = message,
                Err(Attempt::TooLarge(message)) => {
                    return Err(self.failed(Operation::Read, key, message))
                }
            }
        }
        Err(self.failed(
            Operation::Read,
            key,
            format!("{last} (after {BODY_ATTEMPTS} attempts)"),
        ))
    }

    /// One GET request and its whole body, checked against its Content-Length; with
    /// `max_bytes`, a body longer is refused from its Content-Length, before it is fetched.
    async fn attempt(&self, key: &str, max_bytes: Option<u64>) -> Result<Answer, Attempt> {
        let _slot = self.connection.asking(Request::Get).await;
        let asked = Instant::now();
        let out = self
            .send(|c| c.get_object().bucket(&self.bucket).key(key).send())
            .await;
        if out.is_ok() {
            self.connection.answered_in(asked);
        }
        let out = match out {
            Ok(out) => out,
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                return Err(Attempt::NotFound)
            }
            Err(e) => return Err(Attempt::Request(self.describe(&e))),
        };
        let expected = out.content_length();
        if let (Some(max), Some(n)) = (max_bytes, expected) {
            if u64::try_from(n).is_ok_and(|n| n > max) {
                return Err(Attempt::TooLarge(format!(
                    "{n} bytes, more than the {max} expected: not fetched"
                )));
            }
        }
        let metadata = out.metadata().cloned().unwrap_or_default();
        let etag = out.e_tag().map(str::to_string);
        let modified = system_time(out.last_modified());
        let body = match out.body.collect().await {
            Ok(body) => body.into_bytes(),
            Err(e) => return Err(Attempt::Body(redact(&format!("reading the body: {e}")))),
        };
        match expected {
            Some(n) if n >= 0 && body.len() as i64 != n => Err(Attempt::Body(format!(
                "truncated body: {} of {n} bytes",
                body.len()
            ))),
            _ => Ok((body, metadata, etag, modified)),
        }
    }

    async fn put(
        &self,
        key: &str,
        body: ByteStream,
        metadata: Option<&ObjectMetadata>,
        mode: WriteMode,
    ) -> Result<(), StoreError> {
        // A body from memory or from a file can be sent again (for [`S3Bucket::send`]).
        let body = body.into_inner();
        let user = metadata.map(|m| m.user.clone().into_iter().collect());
        let _slot = self.connection.asking(Request::Put).await;
        let sent = self
            .send(|c| {
                let again = body.try_clone().unwrap_or_else(SdkBody::taken);
                let mut request = c
                    .put_object()
                    .bucket(&self.bucket)
                    .key(key)
                    .body(ByteStream::new(again))
                    .set_metadata(user.clone());
                if mode == WriteMode::CreateNew {
                    request = request.if_none_match("*");
                }
                request.send()
            })
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 412) => Err(
                StoreError::new(Operation::Write, self.display_key(key), Problem::Exists),
            ),
            Err(e) => Err(self.failed(Operation::Write, key, self.describe(&e))),
        }
    }
}

/// Requests to keep in flight for a round trip of `round_trip`: as many objects as the cores
/// could consume while requests are on their way, at about one object of CloudTrail's size
/// per core and millisecond, counted four times over, for answers slower than the quickest and
/// for work (a validation's walk, a listing's levels) that cannot start until an answer is in;
/// never fewer than [`crate::MIN_AUTO_REQUESTS`], never more than [`crate::MAX_AUTO_REQUESTS`]
/// (measured: see BENCHMARKS.md, "S3 across a network").
pub fn requests_for_round_trip(round_trip: Duration) -> usize {
    let cores = crate::default_threads();
    let consumed = round_trip.as_secs_f64() * 1000.0 * cores as f64 * 4.0;
    (consumed.ceil() as usize).clamp(crate::MIN_AUTO_REQUESTS, crate::MAX_AUTO_REQUESTS)
}

/// `s3://bucket[/prefix]`.
fn url_of(bucket: &str, prefix: &str) -> String {
    if prefix.is_empty() {
        format!("s3://{bucket}")
    } else {
        format!("s3://{bucket}/{prefix}")
    }
}

/// A GET's body read as it arrives, for [`ObjectStore::read_stream`].
struct BodyReader {
    body: ByteStream,
    connection: Arc<Connection>,
    chunk: Vec<u8>,
    at: usize,
}

impl io::Read for BodyReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.at == self.chunk.len() {
            match self.connection.runtime.block_on(self.body.next()) {
                None => return Ok(0),
                Some(Ok(bytes)) => {
                    self.chunk.clear();
                    self.chunk.extend_from_slice(&bytes);
                    self.at = 0;
                }
                Some(Err(e)) => return Err(io::Error::other(redact(&e.to_string()))),
            }
        }
        let n = out.len().min(self.chunk.len() - self.at);
        out[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

impl ObjectStore for S3Bucket {
    fn name(&self) -> &str {
        &self.name
    }

    fn base(&self) -> &str {
        &self.prefix
    }

    fn bucket(&self) -> Option<&str> {
        Some(&self.bucket)
    }

    fn is_remote(&self) -> bool {
        true
    }

    fn requests_in_flight(&self) -> usize {
        self.requests.unwrap_or_else(|| {
            match self.connection.round_trip_micros.load(Ordering::Relaxed) {
                u64::MAX => crate::DEFAULT_MAX_CONCURRENT_REQUESTS,
                micros => requests_for_round_trip(Duration::from_micros(micros)),
            }
        })
    }

    fn requests_made(&self) -> Option<RequestCounts> {
        let [list, get, put, other] = self
            .connection
            .requests
            .each_ref()
            .map(|n| n.load(Ordering::Relaxed));
        Some(RequestCounts {
            list,
            get,
            put,
            other,
        })
    }

    fn display_key(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    fn list_dir(&self, dir: &str) -> Result<DirListing, StoreError> {
        let mut level = DirListing::default();
        self.block_on(self.list_pages(dir, Some("/"), "", &mut |page| {
            level.folders.extend(
                page.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(str::to_string)),
            );
            level
                .objects
                .extend(page.contents().iter().filter_map(object_info));
        }))
        .map_err(|e| {
            let target = url_of(&self.bucket, dir.trim_end_matches('/'));
            StoreError::new(Operation::List, target, Problem::Service(e))
        })?;
        Ok(level)
    }

    fn list_keys(&self, prefix: &str, start_after: &str) -> Result<Vec<ObjectInfo>, StoreError> {
        let mut keys = Vec::new();
        self.block_on(self.list_pages(prefix, None, start_after, &mut |page| {
            keys.extend(page.contents().iter().filter_map(object_info));
        }))
        .map_err(|e| self.failed(Operation::List, prefix, e))?;
        Ok(keys)
    }

    fn list_all_below(&self, dir: &str) -> Result<Option<Vec<ObjectInfo>>, StoreError> {
        let page = self
            .block_on(self.list_page(dir, None, "", None))
            .map_err(|e| self.failed(Operation::List, dir, e))?;
        if page.is_truncated().unwrap_or(false) {
            return Ok(None);
        }
        Ok(Some(
            page.contents().iter().filter_map(object_info).collect(),
        ))
    }

    fn read(&self, key: &str, buf: &mut Vec<u8>) -> Result<ObjectInfo, StoreError> {
        self.get(key, buf).map(|(info, _)| info)
    }

    fn read_at_most(&self, key: &str, max_bytes: u64) -> Result<bytes::Bytes, StoreError> {
        self.block_on(self.get_async(key, Some(max_bytes)))
            .map(|(body, _, _)| body)
    }

    fn read_with_metadata(
        &self,
        key: &str,
        buf: &mut Vec<u8>,
    ) -> Result<(ObjectInfo, Option<ObjectMetadata>), StoreError> {
        self.get(key, buf)
            .map(|(info, metadata)| (info, Some(metadata)))
    }

    fn read_each(
        &self,
        keys: &[&str],
        in_flight: usize,
        with_metadata: bool,
        each: &mut dyn FnMut(usize, Result<Fetched, StoreError>) -> bool,
    ) {
        // Requests are tasks of the runtime, `in_flight` at once (a semaphore), so a thousand
        // cost no thread each; answers come back through a channel to the calling thread.
        let (sender, mut answers) = tokio::sync::mpsc::channel(in_flight.max(1));
        let permits = Arc::new(tokio::sync::Semaphore::new(in_flight.max(1)));
        let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        let (me, gate) = (self.clone(), Arc::clone(&permits));
        let asking = self.connection.runtime.spawn(async move {
            for (index, key) in keys.into_iter().enumerate() {
                // Closed: the caller wants no more.
                let Ok(permit) = Arc::clone(&gate).acquire_owned().await else {
                    return;
                };
                let (me, sender) = (me.clone(), sender.clone());
                tokio::spawn(async move {
                    let fetched = me
                        .get_async(&key, None)
                        .await
                        .map(|(body, info, metadata)| Fetched {
                            body: body.into(),
                            info,
                            metadata: with_metadata.then_some(metadata),
                        });
                    // The caller stopped listening: nothing to deliver to.
                    let _ = sender.send((index, fetched)).await;
                    drop(permit);
                });
            }
        });
        while let Some((index, fetched)) = answers.blocking_recv() {
            if !each(index, fetched) {
                permits.close();
                answers.close();
                break;
            }
        }
        // Every request was asked (or the asking stopped); its end is of no further interest.
        asking.abort();
    }

    fn read_stream(&self, key: &str) -> Result<Box<dyn io::Read + Send>, StoreError> {
        // The slot is given back once the answer starts: a stream is read at its reader's
        // pace, and one held open while its reader asks for something else must not wait on
        // itself (with `--max-concurrent-requests 1`).
        let out = self.block_on(async {
            let _slot = self.connection.asking(Request::Get).await;
            self.send(|c| c.get_object().bucket(&self.bucket).key(key).send())
                .await
        });
        match out {
            Ok(out) => Ok(Box::new(BodyReader {
                body: out.body,
                connection: Arc::clone(&self.connection),
                chunk: Vec::new(),
                at: 0,
            })),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Err(
                StoreError::new(Operation::Read, self.display_key(key), Problem::NotFound),
            ),
            Err(e) => Err(self.failed(Operation::Read, key, self.describe(&e))),
        }
    }

    fn write(
        &self,
        key: &str,
        body: &[u8],
        metadata: Option<&ObjectMetadata>,
        mode: WriteMode,
    ) -> Result<(), StoreError> {
        self.block_on(self.put(key, ByteStream::from(body.to_vec()), metadata, mode))
    }

    fn write_file(&self, key: &str, file: &Path, mode: WriteMode) -> Result<(), StoreError> {
        self.block_on(async {
            let body = ByteStream::from_path(file).await.map_err(|e| {
                StoreError::new(
                    Operation::Read,
                    file.display().to_string(),
                    Problem::Service(e.to_string()),
                )
            })?;
            self.put(key, body, None, mode).await
        })?;
        // Uploaded: the staged file has served its purpose, and is only wasted space if left.
        let _ = std::fs::remove_file(file);
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.block_on(async {
            let _slot = self.connection.asking(Request::Other).await;
            self.send(|c| c.delete_object().bucket(&self.bucket).key(key).send())
                .await
        })
        .map(drop)
        .map_err(|e| self.failed(Operation::Write, key, self.describe(&e)))
    }

    fn in_bucket(&self, bucket: &str) -> Option<Box<dyn ObjectStore>> {
        Some(Box::new(S3Bucket {
            client: Arc::new(RwLock::new(self.connection.client.clone())),
            connection: Arc::clone(&self.connection),
            requests: self.requests,
            bucket: bucket.to_string(),
            prefix: String::new(),
            name: url_of(bucket, ""),
        }))
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// A listed object's key, size, ETag and LastModified.
fn object_info(o: &aws_sdk_s3::types::Object) -> Option<ObjectInfo> {
    Some(ObjectInfo {
        key: o.key()?.to_string(),
        size: o.size().unwrap_or(0).max(0) as u64,
        etag: o.e_tag().map(str::to_string),
        modified: system_time(o.last_modified()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_grow_with_the_round_trip_within_bounds() {
        let at = |ms| requests_for_round_trip(Duration::from_millis(ms));
        assert_eq!(at(0), crate::MIN_AUTO_REQUESTS);
        assert_eq!(at(10_000), crate::MAX_AUTO_REQUESTS);
        assert!(at(5) <= at(20) && at(20) <= at(80));
        let cores = crate::default_threads();
        assert_eq!(at(20), (20 * 4 * cores).clamp(32, 256));
    }
}
