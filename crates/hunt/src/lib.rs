//! Sigma detection and correlation rules over CloudTrail records, with rsigma (a maintained
//! Rust implementation of Sigma 2.1) as the evaluator.
//!
//! [`HuntRules::load`] reads rule files, keeps CloudTrail's (`logsource: product: aws,
//! service: cloudtrail`), chooses and compiles them, and refuses what cannot run (with its
//! file, line and why); [`HuntRules::prefilter`] and [`HuntRules::index_probes`] say which
//! records and files can match at all, from the values the rules need
//! ([`requirements`]); [`HuntSink`] evaluates every rule on each record the scan parsed (one
//! parse, shared by every rule, read through [`RecordEvent`]) and holds the detections, past
//! a budget in sorted runs on disk ([`HeldDetections`]); [`Findings`] reads them back in time
//! order, each (rule, event) once, and runs the correlation rules over them as it goes.
//!
//! ```
//! use trailscan_hunt::{HuntRules, RuleChoice};
//!
//! let folder = tempfile::tempdir()?;
//! let rule = folder.path().join("stop-logging.yml");
//! std::fs::write(&rule, "title: CloudTrail stopped\nid: 1f1f\nlevel: high\nlogsource:\n  product: aws\n  service: cloudtrail\ndetection:\n  selection:\n    eventName: StopLogging\n  condition: selection\n")?;
//! let (rules, report) = HuntRules::load(&[rule], &RuleChoice::default())?;
//! assert_eq!((rules.rules.len(), report.refused.len()), (1, 0));
//! assert!(rules.prefilter().may_match(br#"{"eventName":"stoplogging"}"#));
//! assert!(!rules.prefilter().may_match(br#"{"eventName":"StartLogging"}"#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![deny(missing_docs)]

mod correlate;
mod detect;
mod event;
mod findings;
mod load;
pub mod requirements;
mod rewrite;
mod rule_set;
mod shard_line;
mod sink;
mod spill;

pub use correlate::{CorrelateError, CorrelationHit, Correlator};
pub use detect::{printed_order, Detection, EventFields, MatchedEvent};
pub use event::RecordEvent;
pub use findings::{EventOnce, Finding, Findings, FindingsError, Tally};
pub use load::{LoadError, Origin, Refusal, MAX_RULE_FILE_BYTES};
pub use rewrite::{read_placeholders, MAX_EXPANSIONS, MAX_WINDASH_DASHES};
pub use rsigma_parser::{Level, Status};
pub use rule_set::{rank, HuntRules, LoadReport, RuleChoice, RuleInfo, MAX_MEMBERS_KEPT};
pub use shard_line::DetectionLine;
pub use sink::HuntSink;
pub use spill::{HeldDetections, Ordered};
