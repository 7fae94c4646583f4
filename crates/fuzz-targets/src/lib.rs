//! The bodies of trailscan's fuzz targets: one function per kind of untrusted input, taking
//! the fuzzer's bytes. A panic is a finding; so is a broken invariant, which each body asserts
//! on what it parsed.
//!
//! They live here, not in `fuzz/`, so that two things run the same code: cargo-fuzz on the
//! nightly toolchain (`fuzz/fuzz_targets/*.rs` are one-line wrappers, see `fuzz/README.md`),
//! and `tests/corpus_replay.rs` on the stable toolchain, which feeds every committed corpus
//! input and past crash to its target in the ordinary test run.
//!
//! ```
//! // The inflated text of a log file goes straight to the record splitter and parser.
//! trailscan_fuzz_targets::log_file(br#"{"Records":[{"eventTime":"2024-01-01T00:00:00Z"}]}"#);
//! ```
#![deny(missing_docs)]

mod digest_file;
mod digest_json;
mod index_filter;
mod index_segment;
mod index_snapshot;
mod log_file;
mod lookup_args;
mod object_key;
mod prefilter;
mod public_keys;
mod record_fields;
mod record_splitter;
mod sidecar_manifest;
mod sigma_rule;

pub use digest_file::digest_file;
pub use digest_json::digest_json;
pub use index_filter::index_filter;
pub use index_segment::index_segment;
pub use index_snapshot::index_snapshot;
pub use log_file::log_file;
pub use lookup_args::lookup_args;
pub use object_key::object_key;
pub use prefilter::prefilter;
pub use public_keys::public_keys;
pub use record_fields::record_fields;
pub use record_splitter::record_splitter;
pub use sidecar_manifest::sidecar_manifest;
pub use sigma_rule::sigma_rule;

/// A target's body: the fuzzer's bytes in, a panic out on a finding.
pub type Target = fn(&[u8]);

/// Every target by name, as `fuzz/fuzz_targets/` and `fuzz/corpus/` name them.
pub const TARGETS: [(&str, Target); 14] = [
    ("log_file", log_file),
    ("digest_file", digest_file),
    ("public_keys", public_keys),
    ("object_key", object_key),
    ("lookup_args", lookup_args),
    ("sidecar_manifest", sidecar_manifest),
    ("sigma_rule", sigma_rule),
    ("record_splitter", record_splitter),
    ("record_fields", record_fields),
    ("prefilter", prefilter),
    ("digest_json", digest_json),
    ("index_filter", index_filter),
    ("index_snapshot", index_snapshot),
    ("index_segment", index_segment),
];

/// The cap on inflated bytes the targets use: small, so that the fuzzer meets it.
pub const MAX_INFLATED_BYTES: u64 = 1 << 20;
