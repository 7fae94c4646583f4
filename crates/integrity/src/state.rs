//! What `validate-logs --state` keeps between audits: per digest chain, the newest digest a
//! clean validation verified (its head) and the time through which the chain and its coverage
//! were checked. The next run validates only what is newer, and checks that the chain it walks
//! reaches that head unchanged: a head missing or altered is a failure, never a silent
//! restart.
//!
//! ```
//! use trailscan_integrity::state::{ChainState, DigestHead, ValidationState};
//!
//! let mut state = ValidationState::new();
//! let head = DigestHead { bucket: "b".into(), key: "k".into(), end: 3_600, sha256: "00".into() };
//! let chain = ChainState {
//!     title: "t".into(),
//!     account: "111122223333".into(),
//!     region: "us-east-1".into(),
//!     head,
//!     checked_through: 3_600,
//! };
//! state.chains.insert("chain".into(), chain);
//! let text = state.to_json();
//! assert_eq!(ValidationState::parse(&text, "state.json").unwrap(), state);
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::walk::Step;

/// What [`ValidationState::format`] says.
pub const STATE_FORMAT: &str = "trailscan-validate-state";
/// The version this trailscan writes and reads.
pub const STATE_VERSION: u32 = 1;

/// The newest digest a clean validation verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigestHead {
    /// Its bucket.
    pub bucket: String,
    /// Its key.
    pub key: String,
    /// Its `digestEndTime` (epoch seconds).
    pub end: i64,
    /// SHA-256 (hex) of its inflated body.
    pub sha256: String,
}

/// One chain's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainState {
    /// The chain as the AWS CLI's header names it, for a person reading the file.
    pub title: String,
    /// Its account.
    pub account: String,
    /// Its region (whose digests are walked).
    pub region: String,
    /// The newest digest verified.
    pub head: DigestHead,
    /// Epoch seconds through which the chain was walked and its log files checked against
    /// the digests (the coverage check): the next run starts here.
    pub checked_through: i64,
}

/// The state file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationState {
    /// [`STATE_FORMAT`].
    pub format: String,
    /// [`STATE_VERSION`].
    pub version: u32,
    /// When it was written (RFC 3339, UTC).
    pub written: String,
    /// Each chain by its name (prefix, organization, account, region, home region, trail).
    pub chains: BTreeMap<String, ChainState>,
}

impl Default for ValidationState {
    fn default() -> Self {
        ValidationState::new()
    }
}

impl ValidationState {
    /// An empty state: every chain is validated in full.
    pub fn new() -> ValidationState {
        ValidationState {
            format: STATE_FORMAT.to_string(),
            version: STATE_VERSION,
            written: String::new(),
            chains: BTreeMap::new(),
        }
    }

    /// Reads a state file's text, `name` naming it in errors.
    pub fn parse(text: &[u8], name: &str) -> Result<ValidationState, String> {
        let state: ValidationState = serde_json::from_slice(text)
            .map_err(|e| format!("{name}: not a trailscan validation state ({e})"))?;
        if state.format != STATE_FORMAT || state.version != STATE_VERSION {
            return Err(format!(
                "{name}: {} version {}, and this trailscan reads {STATE_FORMAT} version {STATE_VERSION}",
                state.format, state.version
            ));
        }
        Ok(state)
    }

    /// The file's text.
    pub fn to_json(&self) -> Vec<u8> {
        let mut text = serde_json::to_vec_pretty(self).expect("a state serializes");
        text.push(b'\n');
        text
    }
}

/// How a walk relates to the head a state recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Continuation {
    /// Digests newer than the head, verified valid.
    pub new_digests: u64,
    /// Log files those digests list.
    pub new_logs: u64,
    /// Why the walk does not continue the state, if it does not.
    pub mismatch: Option<String>,
}

/// What a walk's standard steps say of the state, watched step by step as the walk hands them
/// over: the newest valid digest (the state's next head) and, with the head a state recorded,
/// whether the walk reaches it unchanged and what it verified beyond it.
#[derive(Debug, Clone, Default)]
pub struct HeadWatch {
    since: Option<DigestHead>,
    newest: Option<DigestHead>,
    /// Whether the recorded head was reached unchanged, once it was reached.
    found: Option<bool>,
    new_digests: u64,
    new_logs: u64,
}

impl HeadWatch {
    /// A watch for a walk continuing `since`, the head a state recorded (if any).
    pub fn new(since: Option<&DigestHead>) -> Self {
        HeadWatch {
            since: since.cloned(),
            ..HeadWatch::default()
        }
    }

    /// The walk's next step.
    pub fn step(&mut self, backfill: bool, step: &Step) {
        if backfill {
            return;
        }
        if let (None, Step::Valid(d)) = (&self.newest, step) {
            self.newest = Some(DigestHead {
                bucket: d.bucket.clone(),
                key: d.key.clone(),
                end: d.end,
                sha256: d.sha256.clone(),
            });
        }
        let (Some(head), None) = (&self.since, self.found) else {
            return;
        };
        match step {
            Step::Valid(d) if d.bucket == head.bucket && d.key == head.key => {
                self.found = Some(d.sha256 == head.sha256);
            }
            Step::Valid(d) => {
                self.new_digests += 1;
                self.new_logs += d.logs.len() as u64;
            }
            Step::Missing { bucket, key } if *bucket == head.bucket && *key == head.key => {
                self.found = Some(false);
            }
            _ => {}
        }
    }

    /// The newest valid digest of the standard chain the walk found: the state's next head.
    pub fn newest_head(&self) -> Option<DigestHead> {
        self.newest.clone()
    }

    /// How the walk relates to the recorded head, once it is done; `None` without one.
    pub fn continuation(&self) -> Option<Continuation> {
        let head = self.since.as_ref()?;
        let place = format!("s3://{}/{}", head.bucket, head.key);
        let mismatch = match self.found {
            Some(true) => None,
            Some(false) => Some(format!(
                "the state's head digest {place} is missing from the archive, or no longer the digest that was verified"
            )),
            None => Some(format!(
                "the chain does not reach the state's head digest {place}: it is missing, INVALID, or not on this chain"
            )),
        };
        Some(Continuation {
            new_digests: self.new_digests,
            new_logs: self.new_logs,
            mismatch,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest_body::ValidDigest;

    fn valid(key: &str, sha256: &str, logs: usize) -> (bool, Step) {
        (
            false,
            Step::Valid(ValidDigest {
                bucket: "b".into(),
                key: key.into(),
                start: 0,
                end: 0,
                sha256: sha256.into(),
                logs: vec![None; logs],
            }),
        )
    }

    /// The watch over `steps`, handed over one by one as a walk hands them.
    fn watched(steps: &[(bool, Step)], since: Option<&DigestHead>) -> HeadWatch {
        let mut watch = HeadWatch::new(since);
        for (backfill, step) in steps {
            watch.step(*backfill, step);
        }
        watch
    }

    fn continuation(steps: &[(bool, Step)], head: &DigestHead) -> Continuation {
        watched(steps, Some(head)).continuation().unwrap()
    }

    fn head(key: &str, sha256: &str) -> DigestHead {
        DigestHead {
            bucket: "b".into(),
            key: key.into(),
            end: 0,
            sha256: sha256.into(),
        }
    }

    #[test]
    fn a_walk_continues_a_state_only_through_its_head_unchanged() {
        let steps = vec![
            valid("new2", "a", 3),
            valid("new1", "b", 2),
            valid("old", "c", 9),
        ];
        let ok = continuation(&steps, &head("old", "c"));
        assert_eq!((ok.new_digests, ok.new_logs, ok.mismatch), (2, 5, None));
        assert_eq!(watched(&steps, None).newest_head().unwrap().key, "new2");
        assert_eq!(watched(&steps, None).continuation(), None);
        let changed = continuation(&steps, &head("old", "d"));
        assert!(changed.mismatch.unwrap().contains("no longer the digest"));
        let elsewhere = continuation(&steps, &head("gone", "c"));
        assert!(elsewhere.mismatch.unwrap().contains("does not reach"));
        let missing = vec![
            valid("new", "a", 1),
            (
                false,
                Step::Missing {
                    bucket: "b".into(),
                    key: "old".into(),
                },
            ),
        ];
        assert!(continuation(&missing, &head("old", "c"))
            .mismatch
            .unwrap()
            .contains("missing"));
    }

    #[test]
    fn a_state_of_another_format_is_refused() {
        let err = ValidationState::parse(
            b"{\"format\": \"x\", \"version\": 1, \"written\": \"\", \"chains\": {}}",
            "s",
        )
        .unwrap_err();
        assert!(err.contains("this trailscan reads"), "{err}");
        assert!(ValidationState::parse(b"[]", "s")
            .unwrap_err()
            .contains("not a trailscan"));
    }
}
