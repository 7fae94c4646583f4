//! Where CloudTrail objects live and how to get their bytes.
//!
//! CloudTrail delivers to a fixed key layout (`AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/
//! YYYY/MM/DD/...json.gz`). This crate knows that layout ([`key`]), decides which objects a
//! scan needs without reading them ([`Selection`]), lists them from a copy on disk
//! ([`LocalArchive`]), and turns an object's bytes into inflated JSON with a size cap and a
//! check for data after the gzip stream ([`inflate`]). It never parses JSON.
//!
//! ```
//! use trailscan_archive::key::{parse_key, KeyClass, ObjectKind};
//!
//! let key = "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/\
//!            111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz";
//! match parse_key(key) {
//!     KeyClass::CloudTrail(log) => {
//!         assert_eq!(log.kind, ObjectKind::Log);
//!         assert_eq!(log.account, "111122223333");
//!         assert_eq!(log.region, "us-east-2");
//!     }
//!     other => panic!("not a log key: {other:?}"),
//! }
//! ```
#![deny(missing_docs)]

pub mod inflate;
pub mod key;
mod layout_walk;
mod local;
mod object;
pub mod s3;
mod select;
mod shard;
mod source;
pub mod time;

pub use local::{ListError, LocalArchive};
pub use object::{Listing, Location, ObjectRef, SkipReason, SkippedCounts};
pub use select::Selection;
pub use shard::{plan_sha256, Shard, ShardPlan, Unit};
pub use source::{default_threads, Source};
