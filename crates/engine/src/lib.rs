//! The query engine as a library: open a source with an optional index, plan which objects
//! a question must read, scan them into a sink on every core, and report problems and counts.
//!
//! Every command of the `trailscan` binary is wiring around these calls: settings in, an
//! engine call, print. A server, a Python binding or a test harness asks the same questions
//! the same way. The engine prints nothing: progress and problems go to a [`Reporter`] of the
//! caller's (the binary's draws a bar and writes stderr; [`Silent`] shows nothing).
//!
//! - [`Source::open`] opens the store (disk or S3), lists what the selection needs and, with
//!   an index, loads the index's rows for what was listed, beside the listing;
//! - [`Source::objects_to_read`] plans a lookup: every listed object, or with an index those it
//!   cannot rule out, plus every object it does not hold or that changed since indexed;
//! - [`Source::scan`] reads them into a [`trailscan_query::RecordSink`] per worker thread;
//! - [`trace`] and [`summarize`] run credential attribution in rounds that attribution's
//!   planner decides and this crate's [`RoundReader`] reads;
//! - [`update_index`] and [`verify_index`] build, update and check the index.
//!
//! A lookup of one event by its id with an index, as `trailscan lookup-events --index` makes
//! it:
//!
//! ```
//! use trailscan_engine::{update_index, Silent, Source, SourceOptions, DEFAULT_SEAL_AFTER_SECS};
//! use trailscan_query::{parse_attribute_arg, LookupRequest, NewestFirst};
//!
//! # let folder = tempfile::tempdir()?;
//! # let index = folder.path().to_str().unwrap();
//! # update_index(&SourceOptions::new("../../fixtures/sample-archive"), index, DEFAULT_SEAL_AFTER_SECS, &Silent)?;
//! let options = SourceOptions {
//!     index: Some(index.to_string()),
//!     ..SourceOptions::new("../../fixtures/sample-archive")
//! };
//! let source = Source::open(&options, &Silent)?;
//! let request = LookupRequest {
//!     attributes: parse_attribute_arg(
//!         "AttributeKey=EventId,AttributeValue=341ffdd7-3694-489c-a386-44539b7fd3b9",
//!     )?,
//!     ..LookupRequest::default()
//! };
//! let (objects, index_use) = source.objects_to_read(&request)?;
//! let newest_first = || NewestFirst::new(None, None);
//! let (collector, _stats) = source.scan(&objects, &request, false, newest_first, NewestFirst::merge)?;
//! let events: Vec<_> = collector.finish()?.events.collect::<Result<_, _>>()?;
//! assert_eq!(events[0].1.event_name.as_deref(), Some("GenerateDataKey"));
//! // The index ruled out every other file of the archive before anything was read.
//! assert_eq!((index_use.unwrap().candidates, objects.len()), (1, 1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod attribution;
mod error;
mod hunt;
mod index_compare;
mod index_run;
mod index_use;
mod indexing;
mod memory;
mod ordered;
mod report;
mod rounds;
mod runs;
mod source;

pub use attribution::{summarize, trace, SummaryRun, TraceRun};
pub use error::Error;
pub use hunt::{hunt, HuntError, HuntRun, HuntScan};
pub use index_run::{index_shard, publish_index_run, RunPublished, RunState, ShardBuild};
pub use index_use::IndexUse;
pub use indexing::{
    changed_since_indexed, gc_index, update_index, verify_index, IndexGc, IndexUpdate,
    IndexVerification, IndexedFiles, DEFAULT_SEAL_AFTER_SECS, GC_KEEPS_GENERATIONS,
};
pub use memory::map_buffers_from;
pub use report::{Reporter, Silent};
pub use rounds::{in_window, window_of, RoundReader};
pub use source::{
    report_deleted, selection_misses, worker_pool, IndexCheck, Scanned, Source, SourceOptions,
    DEFAULT_MAX_RECORD_BYTES,
};
