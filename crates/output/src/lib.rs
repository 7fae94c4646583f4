//! Prints lookup results the way the AWS CLI prints them: JSON (Python's `json.dumps`
//! layout), text and table (ported from awscli 1.45.11), `--query` (JMESPath), and beyond the
//! AWS CLI, JSON Lines and CSV. It gets events and writes bytes; it never sees S3 or a file.
//!
//! ```
//! use trailscan_output::write_response;
//!
//! let mut out = Vec::new();
//! write_response(&mut out, &[] as &[trailscan_records::LookupEvent], None).unwrap();
//! assert_eq!(out, b"{\n    \"Events\": []\n}\n");
//! ```
#![deny(missing_docs)]

pub mod csv;
mod east_asian_width;
mod lookup_json;
pub mod python;
pub mod python_json;
mod query;
pub mod render;
mod table;
mod terminal;
mod text;

pub use lookup_json::{event_value, response_value, write_response};
pub use query::{Query, QueryError};
pub use render::{
    render, render_value, ColorChoice, OutputFormat, OutputSettings, PageLayout, Paging,
    RenderError, Terminal, SERVICE_PAGE_SIZE,
};
pub use table::{format_table, Styler, TableError};
pub use terminal::sanitize_for_terminal;
pub use text::format_text;
