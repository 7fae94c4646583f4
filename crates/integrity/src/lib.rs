//! CloudTrail log file integrity validation, as `aws cloudtrail validate-logs` does it.
//!
//! [`keys`] reads CloudTrail's public keys; [`signature`] builds the string a digest is
//! signed over and verifies SHA256withRSA; [`buckets`] reads objects by bucket and key
//! through the storage seam; [`manifest`] is the evidence copy's record of what was
//! downloaded, and [`manifest_runs`] writes it however large; [`discover`] finds a trail's digests and every chain in a source; [`walk`]
//! walks a trail's digest chain newest to oldest; [`logs`] checks a log file against its
//! digest's SHA-256; [`coverage`] finds log files no digest lists; [`chain`] validates one
//! chain end to end; [`state`] is what `--state` keeps between audits; [`report`] prints
//! the AWS CLI's lines and summary, and [`report_html`] the report as a page; [`aws_cli`]
//! reads the arguments as the AWS CLI does.
//!
//! ```
//! use trailscan_integrity::signature::string_to_sign;
//!
//! let digest = serde_json::json!({"digestEndTime": "a", "digestS3Bucket": "b",
//!     "digestS3Object": "c", "previousDigestSignature": null});
//! let text = string_to_sign(digest.as_object().unwrap(), b"abc");
//! assert!(text.ends_with(b"\nnull"));
//! ```
#![deny(missing_docs)]

pub mod aws_cli;
pub mod buckets;
pub mod chain;
pub mod copy;
pub mod coverage;
pub mod digest_body;
pub mod discover;
pub mod keys;
pub mod logs;
pub mod manifest;
pub mod manifest_runs;
pub mod report;
pub mod report_html;
pub mod signature;
pub mod state;
pub mod walk;
