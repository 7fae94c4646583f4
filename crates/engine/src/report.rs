//! How the engine tells its caller what is happening: the binary implements [`Reporter`]
//! with a progress bar and stderr; a library user may count, log or ignore. The engine
//! itself prints nothing.

use std::fmt::Display;

/// What the engine reports while it works. Every method has an empty default, so that a
/// caller implements only what it shows.
pub trait Reporter: Sync {
    /// The source (or index) named `what` is being listed.
    fn listing(&self, _what: &str) {}

    /// The scan starts: `objects` objects of `bytes` bytes as listed.
    fn scanning(&self, _objects: u64, _bytes: u64) {}

    /// More objects for the scan that started with [`Reporter::scanning`]: a listing that
    /// streams finds them as the scan goes.
    fn more_to_scan(&self, _objects: u64, _bytes: u64) {}

    /// One object done, from whichever worker read it: its listed size, the events it held
    /// and how many of them matched. Once per object, never per record.
    fn object_done(&self, _bytes: u64, _events: u64, _matched: u64) {}

    /// A fact about the run worth a line for a person (what an update lists), never needed
    /// to trust the answer.
    fn note(&self, _message: &dyn Display) {}

    /// A problem with one object or folder (it names it), or a fact the user must know to
    /// trust the answer (an object changed or deleted since indexed). The run goes on.
    fn problem(&self, _message: &dyn Display) {}
}

/// A reporter that shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Reporter for Silent {}
