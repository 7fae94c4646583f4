//! Progress on stderr while a long command runs: a spinner while the archive is listed, then
//! a bar with what is done of what was listed, the rate, and the time left.
//!
//! Shown only when stderr is a terminal and neither `--no-progress` nor `--quiet` is given;
//! never on stdout, so a piped answer stays clean. Lines printed while the bar is up (problems
//! with objects) go through [`Progress::eprintln`], which lifts the bar, prints the line and
//! draws the bar again below it. The end-of-run summary is printed after [`Progress::finish`]
//! has cleared the bar, the same with or without it.

use std::fmt::{self, Display};
use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{HumanCount, ProgressBar, ProgressState, ProgressStyle};
use trailscan_engine::Reporter;
use trailscan_layout::printable::{printable, printable_lines};

/// How often the display is redrawn without news (the clock and spinner move on while a
/// worker waits for S3).
const TICK: Duration = Duration::from_millis(120);

/// What the bar's templates show besides indicatif's own keys.
#[derive(Default)]
struct Counters {
    objects: AtomicU64,
    objects_total: AtomicU64,
    events: AtomicU64,
    matches: AtomicU64,
}

/// What a command's bar counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meter {
    /// A scan (lookup-events, export): bytes and objects of the listing, events and matches.
    Scan,
    /// A download (acquire): bytes and objects of the listing, and the transfer rate.
    Download,
    /// A validation: digest chains done, objects (digests and log files) checked.
    Chains,
}

/// The progress display of one command; inert when not shown.
pub struct Progress {
    bar: Option<ProgressBar>,
    counters: Arc<Counters>,
    /// `--quiet`: notes are not shown (problems are).
    quiet: bool,
}

impl Progress {
    /// A display on stderr if stderr is a terminal and the user did not turn it off.
    pub fn on_stderr(no_progress: bool, quiet: bool) -> Progress {
        let shown = !no_progress && !quiet && std::io::stderr().is_terminal();
        Progress {
            bar: shown.then(ProgressBar::new_spinner),
            counters: Arc::default(),
            quiet,
        }
    }

    /// A spinner while `what` is listed, with the time taken so far.
    pub fn listing(&self, what: &str) {
        let Some(bar) = &self.bar else { return };
        bar.set_style(
            ProgressStyle::with_template("{spinner} listing {msg}  {elapsed}")
                .expect("a valid template"),
        );
        bar.set_message(what.to_string());
        bar.enable_steady_tick(TICK);
    }

    /// The bar, once the listing is known: `objects` objects of `bytes` bytes for a scan or a
    /// download, `chains` for a validation.
    pub fn start(&self, meter: Meter, objects: u64, total: u64) {
        let Some(bar) = &self.bar else { return };
        self.counters.objects_total.store(objects, Relaxed);
        // Short lines, so that an 80-column terminal does not wrap them.
        let template = match meter {
            Meter::Scan => "{spinner} [{wide_bar}] {percent:>3}%  {elapsed} elapsed, ETA {eta}\n  {bytes} of {total_bytes} in {objects} files\n  {events} events ({events_per_sec}/s), {matches} matches",
            Meter::Download => "{spinner} [{wide_bar}] {percent:>3}%  {elapsed} elapsed, ETA {eta}\n  {bytes} of {total_bytes} in {objects} objects ({binary_bytes_per_sec})",
            Meter::Chains => "{spinner} [{wide_bar}] {pos}/{len} digest chains  {elapsed} elapsed, ETA {eta}\n  {checked} digests and log files checked",
        };
        let counters = |f: fn(&Counters, &ProgressState, &mut dyn fmt::Write) -> fmt::Result| {
            let c = Arc::clone(&self.counters);
            move |state: &ProgressState, w: &mut dyn fmt::Write| {
                let _ = f(&c, state, w);
            }
        };
        let style = ProgressStyle::with_template(template)
            .expect("a valid template")
            .progress_chars("=> ")
            .with_key(
                "objects",
                counters(|c, _, w| {
                    let (done, total) = (c.objects.load(Relaxed), c.objects_total.load(Relaxed));
                    write!(w, "{}/{}", HumanCount(done), HumanCount(total))
                }),
            )
            .with_key(
                "checked",
                counters(|c, _, w| write!(w, "{}", HumanCount(c.objects.load(Relaxed)))),
            )
            .with_key(
                "events",
                counters(|c, _, w| write!(w, "{}", HumanCount(c.events.load(Relaxed)))),
            )
            .with_key(
                "events_per_sec",
                counters(|c, state, w| {
                    let secs = state.elapsed().as_secs_f64().max(0.001);
                    let rate = (c.events.load(Relaxed) as f64 / secs) as u64;
                    write!(w, "{}", HumanCount(rate))
                }),
            )
            .with_key(
                "matches",
                counters(|c, _, w| write!(w, "{}", HumanCount(c.matches.load(Relaxed)))),
            );
        bar.set_style(style);
        bar.set_length(total);
        bar.set_position(0);
        bar.reset_elapsed();
        bar.reset_eta();
        bar.enable_steady_tick(TICK);
    }

    /// One object scanned or downloaded: its listed size, the events it held and how many
    /// matched.
    pub fn object_done(&self, bytes: u64, events: u64, matches: u64) {
        let Some(bar) = &self.bar else { return };
        self.counters.objects.fetch_add(1, Relaxed);
        self.counters.events.fetch_add(events, Relaxed);
        self.counters.matches.fetch_add(matches, Relaxed);
        bar.inc(bytes);
    }

    /// Objects checked that the bar's position does not count (a validation's digests and
    /// log files).
    pub fn checked(&self, objects: u64) {
        self.counters.objects.fetch_add(objects, Relaxed);
    }

    /// One unit of the bar's position done (a validation's digest chain).
    pub fn step_done(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    /// Prints a line on stderr without tearing the bar, control characters (from keys or
    /// records) escaped.
    pub fn eprintln(&self, line: impl Display) {
        self.print_escaped(&printable_lines(&line.to_string()));
    }

    /// Prints a line already escaped on stderr without tearing the bar.
    fn print_escaped(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    /// A writer to `inner` (stdout or stderr) for output printed while the bar is up: each
    /// whole line goes out with the bar lifted, a partial line waits for its end.
    pub fn above<W: Write>(&self, inner: W) -> AboveTheBar<'_, W> {
        AboveTheBar {
            progress: self,
            inner,
            pending: Vec::new(),
        }
    }

    /// Clears the display, so that what follows (the summary) starts on a clean line. The last
    /// state is drawn first: a run shorter than one tick still shows its totals once.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.force_draw();
            bar.finish_and_clear();
        }
    }
}

/// See [`Progress::above`].
pub struct AboveTheBar<'p, W: Write> {
    progress: &'p Progress,
    inner: W,
    /// The end of the output that is not yet a whole line.
    pending: Vec<u8>,
}

impl<W: Write> Write for AboveTheBar<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(bar) = &self.progress.bar else {
            return self.inner.write(buf);
        };
        self.pending.extend_from_slice(buf);
        if let Some(end) = self.pending.iter().rposition(|&b| b == b'\n') {
            let lines: Vec<u8> = self.pending.drain(..=end).collect();
            bar.suspend(|| {
                self.inner
                    .write_all(&lines)
                    .and_then(|()| self.inner.flush())
            })?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        let pending = std::mem::take(&mut self.pending);
        self.inner.write_all(&pending)?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for AboveTheBar<'_, W> {
    /// A last partial line (a run that stopped on an error) is not lost.
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// The engine's reports: the spinner and the bar, problems and notes as `trailscan: ` lines
/// above them.
impl Reporter for Progress {
    fn listing(&self, what: &str) {
        Progress::listing(self, what);
    }

    fn scanning(&self, objects: u64, bytes: u64) {
        self.start(Meter::Scan, objects, bytes);
    }

    fn more_to_scan(&self, objects: u64, bytes: u64) {
        let Some(bar) = &self.bar else { return };
        self.counters.objects_total.fetch_add(objects, Relaxed);
        bar.inc_length(bytes);
    }

    fn object_done(&self, bytes: u64, events: u64, matched: u64) {
        Progress::object_done(self, bytes, events, matched);
    }

    fn note(&self, message: &dyn Display) {
        if !self.quiet {
            self.print_escaped(&printable(&format!("trailscan: {message}")));
        }
    }

    fn problem(&self, message: &dyn Display) {
        self.print_escaped(&printable(&format!("trailscan: {message}")));
    }
}

impl Drop for Progress {
    /// An error return clears the bar too, before the error is printed.
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
