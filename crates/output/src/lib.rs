//! Prints lookup results the way the AWS CLI prints them. It gets events and writes bytes;
//! it never sees S3 or a file.
//!
//! ```
//! use trailscan_output::write_response;
//!
//! let mut out = Vec::new();
//! write_response(&mut out, &[] as &[trailscan_records::LookupEvent], None).unwrap();
//! assert_eq!(out, b"{\n    \"Events\": []\n}\n");
//! ```
#![deny(missing_docs)]

mod lookup_json;
pub mod python_json;

pub use lookup_json::{event_value, response_value, write_response};
