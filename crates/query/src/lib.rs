//! Lookups over CloudTrail archives.
//!
//! A [`LookupRequest`] (attributes, time window, categories) is compiled into a
//! [`Prefilter`]; [`scan`] reads objects on all cores, inflates, rules text out with the
//! prefilter, splits and parses candidate records, and pushes matches into a
//! [`RecordSink`] per thread; [`NewestFirst`] orders and de-duplicates them into a page, and
//! [`encode_token`] / [`decode_token`] carry a page's end across calls.
//!
//! ```
//! use trailscan_query::{parse_attribute_arg, parse_time_arg, LookupRequest};
//!
//! let request = LookupRequest {
//!     attributes: parse_attribute_arg("AttributeKey=EventName,AttributeValue=ConsoleLogin").unwrap(),
//!     start: Some(parse_time_arg("2024-01-01").unwrap()),
//!     ..LookupRequest::default()
//! };
//! assert!(request.validate().is_ok());
//! ```
#![deny(missing_docs)]

mod attribute_arg;
mod clause_search;
mod collect;
mod member_values;
mod page;
mod position;
mod prefilter;
mod problem;
mod request;
pub mod run_codec;
mod scan;
mod sink;
mod spill;
mod time_arg;

pub use attribute_arg::{parse_attribute_arg, AttributeArgError};
pub use clause_search::{Candidates, Clause};
pub use collect::{Events, NewestFirst, Page, DEFAULT_SPILL_BUDGET};
pub use page::{decode_token, encode_token, Resume, TokenError};
pub use position::Position;
pub use prefilter::Prefilter;
pub use problem::ObjectProblem;
pub use request::{LookupRequest, RequestError};
pub use scan::{scan, ObjectScanned, Objects, ScanOptions, ScanStats};
pub use sink::{FnSink, Match, RecordSink};
pub use time_arg::{parse_time_arg, TimeArgError};
