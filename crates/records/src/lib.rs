//! What a CloudTrail log file holds.
//!
//! [`split_records`] cuts a log file's JSON into record spans without parsing them;
//! [`RecordParser`] parses one span with simd-json onto a reused tape; [`Record`] reads the
//! fields lookups need and derives `Username`, `Resources` and the category;
//! [`LookupAttribute`] matches one of the eight `LookupEvents` attributes; [`LookupEvent`] is
//! the owned answer.
//!
//! ```
//! use trailscan_records::{split_records, AttributeKey, LookupAttribute, RecordParser};
//!
//! let file = br#"{"Records":[{"eventID":"e1","eventName":"ConsoleLogin",
//!   "eventTime":"2024-01-15T03:04:05Z","userIdentity":{"type":"Root"}}]}"#;
//! let mut spans = Vec::new();
//! split_records(file, &mut spans).unwrap();
//! let wanted = LookupAttribute { key: AttributeKey::Username, value: "root".into() };
//! let mut parser = RecordParser::default();
//! let matched = parser.parse(&file[spans[0].clone()], |r| wanted.matches(&r)).unwrap();
//! assert!(matched);
//! ```
#![deny(missing_docs)]

mod attribute;
mod duplicates;
mod event;
mod event_time;
pub mod json_text;
mod parser;
mod record;
mod split;

pub use attribute::{AttributeKey, LookupAttribute, UnknownAttributeKey};
pub use duplicates::event_identity;
pub use event::{LookupEvent, Resource};
pub use event_time::EventTime;
pub use parser::{ParseError, RecordParser};
pub use record::{Category, Record, ISSUING_EVENTS};
pub use split::{compact_into, has_log_file_outline, split_records, SplitError};
