//! The digest chain walk of `aws cloudtrail validate-logs`, newest to oldest, ported from
//! awscli 1.45.11 `DigestTraverser` and `DigestProvider` (reference sections 1.3 to 1.9),
//! quirks included: links are followed, the listing is the fallback after a missing,
//! invalid or chain-starting digest; the walk stops after the first digest that starts
//! before the window; `last_start` moves only on valid digests.
//!
//! Beyond the AWS CLI (each only adds steps for what it finds): a link whose
//! `previousDigestSignature` or `previousDigestHashValue` does not match the digest it points
//! to, a malformed `previousDigestS3Object`, and, for a copy without metadata, a signature
//! taken from the newer digest's `previousDigestSignature` (AWS's documented fallback).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};
use trailscan_archive::inflate::{inflate_gzip, DEFAULT_MAX_INFLATED_BYTES};
use trailscan_archive::StoreError;
use trailscan_layout::key::ObjectKind;
use trailscan_layout::paths::{digest_key, digest_time, RegionFolder};
use trailscan_layout::time::{epoch_seconds, format_utc, parse_rfc3339};

use crate::buckets::{Buckets, Fetched};
use crate::digest_body::{log_refs, ValidDigest};
use crate::keys::{decode_key, KeyError, PublicKey, PublicKeys};
use crate::signature::{python_text, string_to_sign, verify, SignatureError};

/// The trail whose digests are walked, in S3 coordinates.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Trail {
    /// The bucket the walk starts in.
    pub bucket: String,
    /// The trail's key prefix, if any.
    pub prefix: Option<String>,
    /// The account whose digests are walked.
    pub account: String,
    /// The organization id of an organization trail.
    pub org_id: Option<String>,
    /// The trail's name.
    pub name: String,
    /// The region the trail was created in.
    pub home_region: String,
    /// The region whose digests are walked.
    pub source_region: String,
}

impl Trail {
    /// The trail's folder of `kind` files for its account and source region.
    pub fn folder(&self, kind: ObjectKind) -> RegionFolder<'_> {
        RegionFolder {
            prefix: self.prefix.as_deref(),
            org_id: self.org_id.as_deref(),
            account: &self.account,
            kind,
            region: &self.source_region,
        }
    }
}

/// One thing the walk found, in the order the AWS CLI reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A valid digest; its logs are checked next.
    Valid(ValidDigest),
    /// A digest whose signature is not available (a copy without metadata, and no newer
    /// digest linking to it): neither valid nor INVALID.
    Unverified {
        /// Where it is.
        bucket: String,
        /// Its key.
        key: String,
    },
    /// An INVALID digest, with the AWS CLI's message (without the `(backfill) ` prefix).
    Invalid(String),
    /// A digest that a link or listing named and that does not exist.
    Missing {
        /// Where it should be.
        bucket: String,
        /// Its key.
        key: String,
    },
    /// No digest between two times: logging or validation was off.
    Gap {
        /// End of the older digest (from its name).
        next_end: i64,
        /// Start of the newer digest.
        last_start: i64,
    },
    /// trailscan's own finding about a link between digests, worded like the AWS CLI's lines.
    BrokenLink(String),
}

/// Why the walk cannot run (the AWS CLI exits 255).
#[derive(Debug, thiserror::Error)]
pub enum Fatal {
    /// No key is valid in the window.
    #[error("No public keys found between {} and {}", format_utc(*start), format_utc(*end))]
    NoPublicKeys {
        /// Window start.
        start: i64,
        /// Window end plus two hours.
        end: i64,
    },
    /// The digests could not be listed (what the store said, naming the prefix).
    #[error("{0}")]
    List(StoreError),
}

fn is_backfill_key(key: &str) -> bool {
    key.ends_with("_backfill.json.gz")
}

/// The date part of a digest key, by position as the AWS CLI takes it.
fn key_date_text(key: &str) -> Option<&str> {
    let b = key.as_bytes();
    let (from, to) = if is_backfill_key(key) {
        (33, 17)
    } else {
        (24, 8)
    };
    if b.len() < from {
        return None;
    }
    key.get(b.len() - from..b.len() - to)
}

/// `YYYYMMDDTHHMMSSZ` to epoch seconds.
fn parse_key_date(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 16
        || b[8] != b'T'
        || b[15] != b'Z'
        || !b[..8].iter().chain(&b[9..15]).all(u8::is_ascii_digit)
    {
        return None;
    }
    let n = |r: std::ops::Range<usize>| text[r].parse::<u32>().ok();
    epoch_seconds(
        i64::from(n(0..4)?),
        n(4..6)?,
        n(6..8)?,
        n(9..11)?,
        n(11..13)?,
        n(13..15)?,
    )
}

fn key_date(key: &str) -> Option<i64> {
    key_date_text(key).and_then(parse_key_date)
}

/// A digest time: RFC 3339 as CloudTrail writes it.
fn parse_time(v: Option<&Value>) -> Result<i64, String> {
    let text = v.map(python_text).unwrap_or_default();
    parse_rfc3339(&text)
        .map(|(s, _)| s)
        .ok_or_else(|| format!("Unable to parse date value: {text}"))
}

const REQUIRED_KEYS: [&str; 6] = [
    "digestPublicKeyFingerprint",
    "digestS3Bucket",
    "digestS3Object",
    "previousDigestSignature",
    "digestEndTime",
    "digestStartTime",
];

/// A digest that loaded, whose links can be followed.
#[derive(Clone)]
struct Loaded {
    json: Map<String, Value>,
    sha256: String,
    /// The signature it was verified with, from its metadata (not a fallback).
    own_signature: Option<String>,
    verified: bool,
    end: i64,
}

#[derive(Clone)]
enum LoadError {
    NotFound,
    Invalid(String),
}

type Loads = HashMap<(String, String), Result<Loaded, LoadError>>;

/// Digests fetched and verified at once ahead of the walk: enough to keep every core (and,
/// from S3, the requests in flight) busy, few enough that a long chain's digests are never
/// held together (each is its whole parsed document until the walk takes it).
const PREFETCH_WINDOW: usize = 512;

/// One listing of a bucket's digests: the standard keys and the backfill keys, ascending.
type DigestKeys = (Arc<[String]>, Arc<[String]>);

/// Walks one trail's digests for a window.
pub struct Walker<'a> {
    store: &'a Buckets,
    trail: &'a Trail,
    keys: &'a PublicKeys,
    start: i64,
    end: i64,
    listing_cache: HashMap<(String, i64), DigestKeys>,
}

impl<'a> Walker<'a> {
    /// A walker for `[start, end]` (epoch seconds, already normalized to UTC).
    pub fn new(
        store: &'a Buckets,
        trail: &'a Trail,
        keys: &'a PublicKeys,
        start: i64,
        end: i64,
    ) -> Self {
        Walker {
            store,
            trail,
            keys,
            start,
            end,
            listing_cache: HashMap::new(),
        }
    }

    /// `[prefix/]AWSLogs/[org/]ACCOUNT/CloudTrail-Digest/REGION`, no trailing slash.
    fn digest_prefix(&self) -> String {
        self.trail.folder(ObjectKind::Digest).key()
    }

    /// The key this trail's digest would have at `start - 1 minute`: the listing's marker.
    fn marker(&self) -> String {
        let t = self.trail;
        digest_key(
            &t.folder(ObjectKind::Digest),
            &t.name,
            &t.home_region,
            self.start - 60,
        )
    }

    /// The AWS CLI's key regex, `^PREFIX/AWSLogs/[ORG/]ACCOUNT/CloudTrail\-Digest/REGION/\d+/
    /// \d+/\d+/ACCOUNT_CloudTrail\-Digest_REGION_NAME_HOME_.+(?:_backfill)?\.json\.gz$`.
    fn is_trail_digest_key(&self, key: &str) -> bool {
        let head = format!("{}/", self.digest_prefix());
        let Some(rest) = key.strip_prefix(&head) else {
            return false;
        };
        let mut parts = rest.splitn(4, '/');
        for _ in 0..3 {
            match parts.next() {
                Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {}
                _ => return false,
            }
        }
        let Some(file) = parts.next() else {
            return false;
        };
        let t = self.trail;
        let stem = format!(
            "{}_CloudTrail-Digest_{}_{}_{}_",
            t.account, t.source_region, t.name, t.home_region
        );
        file.strip_prefix(&stem)
            .and_then(|r| r.strip_suffix(".json.gz"))
            .is_some_and(|middle| !middle.is_empty() && !middle.contains(['\n', '/']))
            && !file.contains('\n')
    }

    /// One listing per bucket and end, split into standard and backfill keys (ascending).
    fn digests(&mut self, bucket: &str, end: i64, backfill: bool) -> Result<Listed, Fatal> {
        let cache_key = (bucket.to_string(), end);
        if !self.listing_cache.contains_key(&cache_key) {
            let keys = self
                .store
                .list(bucket, &self.digest_prefix(), &self.marker())
                .map_err(Fatal::List)?;
            let target_start = digest_time(self.start);
            let target_end = digest_time(end + 3600);
            let (mut standard, mut backfill_keys) = (Vec::new(), Vec::new());
            for key in keys {
                if !self.is_trail_digest_key(&key) {
                    continue;
                }
                let Some(date) = key_date_text(&key) else {
                    continue;
                };
                // Lexicographic, as the AWS CLI compares them.
                if date > target_end.as_str() {
                    break;
                }
                if date < target_start.as_str() {
                    continue;
                }
                if is_backfill_key(&key) {
                    backfill_keys.push(key);
                } else {
                    standard.push(key);
                }
            }
            self.listing_cache
                .insert(cache_key.clone(), (standard.into(), backfill_keys.into()));
        }
        let (standard, backfill_keys) = &self.listing_cache[&cache_key];
        let keys = if backfill { backfill_keys } else { standard };
        Ok(Listed {
            keys: Arc::clone(keys),
            end: keys.len(),
        })
    }

    fn keys_in_range(&self, start: i64, end: i64) -> Result<HashMap<String, PublicKey>, Fatal> {
        let keys = self.keys.in_range(start, end);
        if keys.is_empty() {
            return Err(Fatal::NoPublicKeys { start, end });
        }
        Ok(keys
            .into_iter()
            .map(|k| (k.fingerprint.clone(), k))
            .collect())
    }

    /// Walks the standard chain, then the backfill chain; each step tagged with whether it
    /// is a backfill step.
    pub fn walk(&mut self) -> Result<Vec<(bool, Step)>, Fatal> {
        let mut steps = Vec::new();
        self.walk_each(&mut |backfill, step| {
            steps.push((backfill, step));
            Ok::<(), Fatal>(())
        })?;
        Ok(steps)
    }

    /// Walks as [`Walker::walk`] does, handing each step to `each` as soon as the walk has
    /// decided it, so that a long chain's steps are never held together; stops at the first
    /// error `each` returns.
    pub fn walk_each<E: From<Fatal>>(
        &mut self,
        each: &mut dyn FnMut(bool, Step) -> Result<(), E>,
    ) -> Result<(), E> {
        for backfill in [false, true] {
            let mut public_keys = if backfill {
                HashMap::new()
            } else {
                self.keys_in_range(self.start, self.end + 2 * 3600)?
            };
            self.walk_chain(backfill, &mut public_keys, &mut |step| each(backfill, step))?;
        }
        Ok(())
    }

    fn walk_chain<E: From<Fatal>>(
        &mut self,
        backfill: bool,
        public_keys: &mut HashMap<String, PublicKey>,
        each: &mut dyn FnMut(Step) -> Result<(), E>,
    ) -> Result<(), E> {
        // The steps of one digest, handed over before the next is loaded.
        let mut steps = Vec::new();
        let mut bucket = self.trail.bucket.clone();
        let mut digests = self.digests(&bucket, self.end, backfill)?;
        // The listed digests are fetched and verified on all cores, a window of them at a time
        // ahead of the walk, which must be sequential (links decide what comes next) and then
        // mostly reads these: memory holds a window's digests, not the chain's.
        let (listed_bucket, listed) = (bucket.clone(), Arc::clone(&digests.keys));
        let mut prefetched = Loads::new();
        let mut window_end = None;
        let Some((mut key, first_date)) = digests.last(None) else {
            return Ok(());
        };
        let mut last_start = first_date;
        // The newer digest's view of the one `key` names: its signature (the offline
        // fallback) and hash, for the link checks.
        let mut link: Option<(String, Value, Value)> = None;
        loop {
            for step in steps.drain(..) {
                each(step)?;
            }
            if self.start > last_start {
                break;
            }
            let fallback = link.as_ref().map(|(_, sig, _)| sig.clone());
            let mut cached = prefetched.remove(&(bucket.clone(), key.clone()));
            if cached.is_none() && !backfill && bucket == listed_bucket {
                // The listed digests up to this one, newest first as the walk goes.
                let upto = listed.partition_point(|k| k.as_str() <= key.as_str());
                if window_end != Some(upto) {
                    window_end = Some(upto);
                    let window = &listed[upto.saturating_sub(PREFETCH_WINDOW)..upto];
                    prefetched = self.prefetch(&bucket, window, public_keys);
                    cached = prefetched.remove(&(bucket.clone(), key.clone()));
                }
            }
            // A copy without metadata needs the signature the newer digest names: load again.
            let usable =
                cached.filter(|r| fallback.is_none() || !matches!(r, Ok(l) if !l.verified));
            let loaded = match usable {
                Some(result) => result,
                None => self.load(&bucket, &key, backfill, fallback.as_ref(), public_keys),
            };
            let next = match loaded {
                Ok(loaded) => {
                    let start = match parse_time(loaded.json.get("digestStartTime")) {
                        Ok(s) => s,
                        Err(message) => {
                            let line =
                                format!("Digest file\ts3://{bucket}/{key}\tINVALID: {message}");
                            link = None;
                            match self.find_next(
                                &mut digests,
                                &key,
                                |_| Step::Invalid(line),
                                &mut steps,
                                false,
                            ) {
                                Some(n) => {
                                    key = n;
                                    continue;
                                }
                                None => break,
                            }
                        }
                    };
                    last_start = start;
                    if let Some((newer, sig, hash)) = link.take() {
                        self.check_link(&newer, &bucket, &key, &sig, &hash, &loaded, &mut steps);
                    }
                    if loaded.verified {
                        steps.push(Step::Valid(ValidDigest {
                            bucket: bucket.clone(),
                            key: key.clone(),
                            start,
                            end: loaded.end,
                            sha256: loaded.sha256.clone(),
                            logs: log_refs(&loaded.json),
                        }));
                    } else {
                        steps.push(Step::Unverified {
                            bucket: bucket.clone(),
                            key: key.clone(),
                        });
                    }
                    let previous_bucket = loaded.json.get("previousDigestS3Bucket");
                    let previous_key = loaded.json.get("previousDigestS3Object");
                    match (previous_bucket, previous_key) {
                        (None | Some(Value::Null), _) | (_, None | Some(Value::Null)) => {
                            // The start of a chain: go on from the listing, noting the gap.
                            let last = last_start;
                            self.find_next(
                                &mut digests,
                                &key,
                                |n| Step::Gap {
                                    next_end: n,
                                    last_start: last,
                                },
                                &mut steps,
                                true,
                            )
                        }
                        (Some(Value::String(b)), Some(Value::String(k)))
                            if key_date(k).is_some() =>
                        {
                            let (b, k) = (b.clone(), k.clone());
                            let sig = loaded
                                .json
                                .get("previousDigestSignature")
                                .cloned()
                                .unwrap_or(Value::Null);
                            let hash = loaded
                                .json
                                .get("previousDigestHashValue")
                                .cloned()
                                .unwrap_or(Value::Null);
                            link = Some((format!("s3://{bucket}/{key}"), sig, hash));
                            if b != bucket {
                                bucket = b;
                                digests = self.digests(&bucket, loaded.end, backfill)?;
                            }
                            Some(k)
                        }
                        (b, k) => {
                            // The AWS CLI crashes here; report it and go on from the listing.
                            let shown =
                                |v: Option<&Value>| v.map(|v| v.to_string()).unwrap_or_default();
                            let line = format!(
                                "Digest file\ts3://{bucket}/{key}\tINVALID: malformed link to the previous digest (previousDigestS3Bucket {}, previousDigestS3Object {})",
                                shown(b),
                                shown(k)
                            );
                            steps.push(Step::BrokenLink(line));
                            digests.last(Some(&key)).map(|(k, _)| k)
                        }
                    }
                }
                Err(LoadError::NotFound) => {
                    let (b, k) = (bucket.clone(), key.clone());
                    link = None;
                    self.find_next(
                        &mut digests,
                        &key,
                        move |_| Step::Missing { bucket: b, key: k },
                        &mut steps,
                        false,
                    )
                }
                Err(LoadError::Invalid(message)) => {
                    link = None;
                    self.find_next(
                        &mut digests,
                        &key,
                        move |_| Step::Invalid(message),
                        &mut steps,
                        false,
                    )
                }
            };
            match next {
                Some(n) => key = n,
                None => break,
            }
        }
        for step in steps {
            each(step)?;
        }
        Ok(())
    }

    /// Loads `keys` of `bucket` in parallel, as the walk would load them reached by listing.
    fn prefetch(
        &self,
        bucket: &str,
        keys: &[String],
        public_keys: &HashMap<String, PublicKey>,
    ) -> Loads {
        let names: Vec<&str> = keys.iter().map(String::as_str).collect();
        let loaded = self.store.map_fetched(bucket, &names, |i, fetched| {
            // Standard digests never add keys; a private copy of the map keeps this Sync.
            let mut keys_here = public_keys.clone();
            self.verify(bucket, &keys[i], fetched, false, None, &mut keys_here)
        });
        loaded
            .into_iter()
            .map(|(i, result)| ((bucket.to_string(), keys[i].clone()), result))
            .collect()
    }

    /// The next older digest of the listing; reports `step` (always, or only when one exists).
    fn find_next(
        &self,
        digests: &mut Listed,
        last_key: &str,
        step: impl FnOnce(i64) -> Step,
        steps: &mut Vec<Step>,
        only_if_next: bool,
    ) -> Option<String> {
        let next = digests.last(Some(last_key));
        match &next {
            Some((_, date)) => steps.push(step(*date)),
            None if !only_if_next => steps.push(step(0)),
            None => {}
        }
        next.map(|(k, _)| k)
    }

    #[allow(clippy::too_many_arguments)]
    fn check_link(
        &self,
        newer: &str,
        bucket: &str,
        key: &str,
        signature: &Value,
        hash: &Value,
        older: &Loaded,
        steps: &mut Vec<Step>,
    ) {
        if let (Some(own), Value::String(claimed)) = (&older.own_signature, signature) {
            if !own.eq_ignore_ascii_case(claimed) {
                steps.push(Step::BrokenLink(format!(
                    "Digest file\t{newer}\tINVALID: previousDigestSignature is not the signature of s3://{bucket}/{key}"
                )));
            }
        }
        if let Value::String(claimed) = hash {
            if !claimed.eq_ignore_ascii_case(&older.sha256) {
                steps.push(Step::BrokenLink(format!(
                    "Digest file\t{newer}\tINVALID: previousDigestHashValue is not the SHA-256 of s3://{bucket}/{key}"
                )));
            }
        }
    }

    /// Fetches and validates one digest (awscli `fetch_digest` + `_load_and_validate_digest`).
    fn load(
        &self,
        bucket: &str,
        key: &str,
        backfill: bool,
        fallback_signature: Option<&Value>,
        public_keys: &mut HashMap<String, PublicKey>,
    ) -> Result<Loaded, LoadError> {
        let fetched = self.store.get(bucket, key);
        self.verify(
            bucket,
            key,
            fetched,
            backfill,
            fallback_signature,
            public_keys,
        )
    }

    /// Validates a fetched digest (awscli `_load_and_validate_digest`).
    fn verify(
        &self,
        bucket: &str,
        key: &str,
        fetched: Result<Fetched, StoreError>,
        backfill: bool,
        fallback_signature: Option<&Value>,
        public_keys: &mut HashMap<String, PublicKey>,
    ) -> Result<Loaded, LoadError> {
        let here = format!("Digest file\ts3://{bucket}/{key}\tINVALID");
        let invalid_format = || LoadError::Invalid(format!("{here}: invalid format"));
        let fetched = match fetched {
            Ok(f) => f,
            Err(e) if e.is_not_found() => return Err(LoadError::NotFound),
            Err(e) => return Err(LoadError::Invalid(format!("{here}: {}", e.problem))),
        };
        let metadata = fetched.metadata.as_ref().map(|m| &m.user);
        let mut inflated = Vec::new();
        inflate_gzip(&fetched.body, &mut inflated, DEFAULT_MAX_INFLATED_BYTES)
            .map_err(|_| invalid_format())?;
        let json = match serde_json::from_slice::<Value>(&inflated) {
            Ok(Value::Object(map)) => map,
            _ => return Err(invalid_format()),
        };
        // The signature: the object's metadata, else (a copy without it) the newer digest's
        // previousDigestSignature, else none.
        let (signature, own_signature) = match metadata {
            Some(meta) => {
                let (Some(sig), Some(_algorithm)) =
                    (meta.get("signature"), meta.get("signature-algorithm"))
                else {
                    return Err(LoadError::Invalid(format!(
                        "{here}: signature verification failed"
                    )));
                };
                if backfill && !meta.contains_key("backfill-generation-timestamp") {
                    return Err(invalid_format());
                }
                (Some(sig.clone()), Some(sig.clone()))
            }
            None => (
                fallback_signature
                    .and_then(Value::as_str)
                    .map(str::to_string),
                None,
            ),
        };
        if REQUIRED_KEYS.iter().any(|k| !json.contains_key(*k)) {
            return Err(invalid_format());
        }
        let location = (json.get("digestS3Bucket"), json.get("digestS3Object"));
        if location
            != (
                Some(&Value::String(bucket.to_string())),
                Some(&Value::String(key.to_string())),
            )
        {
            return Err(LoadError::Invalid(format!(
                "{here}: has been moved from its original location"
            )));
        }
        let sha256 = hex::encode(Sha256::digest(&inflated));
        let Some(signature) = signature else {
            let end = parse_time(json.get("digestEndTime"))
                .map_err(|m| LoadError::Invalid(format!("{here}: {m}")))?;
            return Ok(Loaded {
                json,
                sha256,
                own_signature,
                verified: false,
                end,
            });
        };
        let fingerprint = json
            .get("digestPublicKeyFingerprint")
            .map(python_text)
            .unwrap_or_default();
        if backfill && !public_keys.contains_key(&fingerprint) {
            // Backfill digests load keys around their generation time (metadata).
            let generated = metadata
                .and_then(|m| m.get("backfill-generation-timestamp"))
                .and_then(|t| parse_rfc3339(t))
                .map(|(s, _)| s);
            if let Some(ts) = generated {
                let found = self.keys.in_range(ts - 3600, ts + 3600);
                if found.is_empty() {
                    let fatal = Fatal::NoPublicKeys {
                        start: ts - 3600,
                        end: ts + 3600,
                    };
                    return Err(LoadError::Invalid(format!("{here}: {fatal}")));
                }
                for k in found {
                    public_keys.insert(k.fingerprint.clone(), k);
                }
            }
        }
        let Some(public_key) = public_keys.get(&fingerprint) else {
            return Err(LoadError::Invalid(format!(
                "{here}: public key not found in region {} for fingerprint {fingerprint}",
                self.trail.home_region
            )));
        };
        let rsa_key = decode_key(&public_key.value).map_err(|e| match e {
            KeyError::NotRsa => LoadError::Invalid(format!(
                "{here}: Unable to load PKCS #1 key with fingerprint {fingerprint}"
            )),
            KeyError::Base64(m) => LoadError::Invalid(format!("{here}: {m}")),
        })?;
        verify(&rsa_key, &string_to_sign(&json, &inflated), &signature).map_err(|e| match e {
            SignatureError::Hex(m) => LoadError::Invalid(format!("{here}: {m}")),
            SignatureError::Mismatch => {
                LoadError::Invalid(format!("{here}: signature verification failed"))
            }
        })?;
        let end = parse_time(json.get("digestEndTime"))
            .map_err(|m| LoadError::Invalid(format!("{here}: {m}")))?;
        Ok(Loaded {
            json,
            sha256,
            own_signature,
            verified: true,
            end,
        })
    }
}

/// A listing of digest keys (ascending), shared by the walk and the walker's cache (a chain's
/// listing is one per bucket, however often the walk comes back to it), read from the newest
/// down.
struct Listed {
    keys: Arc<[String]>,
    /// The keys not passed yet: `keys[..end]`.
    end: usize,
}

impl Listed {
    /// The newest digest, or the newest strictly older than `before` (passing what it passes).
    fn last(&mut self, before: Option<&str>) -> Option<(String, i64)> {
        let before_date = match before {
            None => None,
            Some(b) => Some(key_date(b)?),
        };
        while self.end > 0 {
            self.end -= 1;
            let k = &self.keys[self.end];
            if let Some(d) = key_date(k) {
                if before_date.is_none_or(|before| d < before) {
                    return Some((k.clone(), d));
                }
            }
        }
        None
    }
}

/// Delivery times that INVALID or missing digests would have covered (the hour before each
/// one's end): log files delivered then are that digest's problem, already reported.
pub fn unaccounted_hours(steps: &[(bool, Step)]) -> Vec<(i64, i64)> {
    steps
        .iter()
        .filter_map(|(_, step)| match step {
            Step::Missing { key, .. } => key_date(key),
            Step::Invalid(line) => line.split('\t').nth(1).and_then(key_date),
            _ => None,
        })
        .map(|end| (end - 3600 - 60, end + 60))
        .collect()
}

/// Per-log-file results are keyed by location; a log listed twice is checked once.
pub type LogKey = (String, String);

/// Unique logs of the valid digests, in first-seen order.
pub fn unique_logs(steps: &[(bool, Step)]) -> Vec<LogKey> {
    let mut seen = BTreeMap::new();
    let mut order = Vec::new();
    for (_, step) in steps {
        if let Step::Valid(d) = step {
            for log in d.logs.iter().flatten() {
                let k = (log.bucket.clone(), log.key.clone());
                if seen.insert(k.clone(), ()).is_none() {
                    order.push(k);
                }
            }
        }
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_dates_by_position() {
        let k = "AWSLogs/1/CloudTrail-Digest/r/2014/08/10/1_CloudTrail-Digest_r_foo_r_20140810T010000Z.json.gz";
        assert_eq!(key_date_text(k), Some("20140810T010000Z"));
        let b = "AWSLogs/1/CloudTrail-Digest/r/2014/08/10/1_CloudTrail-Digest_r_foo_r_20140810T010000Z_backfill.json.gz";
        assert_eq!(key_date_text(b), Some("20140810T010000Z"));
        assert_eq!(key_date(k), epoch_seconds(2014, 8, 10, 1, 0, 0));
        assert!(!is_backfill_key("file_backfill.txt"));
        assert!(!is_backfill_key("file_backfill_other.json.gz"));
        assert_eq!(
            digest_time(epoch_seconds(2015, 8, 21, 0, 0, 0).unwrap()),
            "20150821T000000Z"
        );
    }
}
