//! What CloudTrail's keys say, decided without reading a byte of any object.
//!
//! CloudTrail delivers to a fixed key layout (`AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/
//! YYYY/MM/DD/...json.gz`). This crate takes keys apart ([`key`]) and builds them
//! ([`paths`]), does the UTC calendar arithmetic that key names and `eventTime` need
//! ([`time`]), decides which folders and objects a scan needs ([`Selection`], [`walk`]), says
//! why the others are passed over ([`SkipReason`]), and splits work between shards
//! ([`Shard`]). It does no I/O, so that the crates that only parse (records, output, export,
//! the fuzz targets) depend on no storage.
//!
//! ```
//! use trailscan_layout::key::{parse_key, KeyClass, ObjectKind};
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

pub mod key;
pub mod paths;
pub mod printable;
pub mod sealed;
mod select;
mod shard;
mod skip;
pub mod time;
pub mod walk;

pub use select::{Selection, DEFAULT_DELIVERY_MARGIN_SECS, NEWEST_RECORD_SLACK_SECS};
pub use shard::{assign, plan_sha256, Shard, ShardPlan, Unit};
pub use skip::{SkipReason, SkippedCounts};
