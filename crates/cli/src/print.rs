//! Printing an answer as its command prints it: a lookup's page, a validation's chains and
//! totals. The commands print with these, and so does `merge`, which prints what the
//! unsharded command would have.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use trailscan_integrity::chain::{print_chains, ChainOutput};
use trailscan_layout::time::{epoch_secs, format_utc};
use trailscan_output::{
    render, render_value, OutputSettings, PageLayout, Paging, RenderError, Terminal,
};
use trailscan_query::{encode_token, NewestFirst, Resume};

use crate::settings::LookupSettings;

/// When matches kept for ordering cannot spill to disk.
pub const SPILL_FAILED: &str =
    "cannot keep matches in temporary files (set TMPDIR to a folder with free space)";

/// What [`print_page`] printed.
pub struct Printed {
    /// Events printed.
    pub returned: usize,
    /// Copies dropped as duplicate deliveries.
    pub duplicates: u64,
}

/// Prints the collected page as `--output` and the paging flags say, with its NextToken.
pub fn print_page(settings: &LookupSettings, collector: NewestFirst) -> Result<Printed> {
    let mut page = collector.finish().context(SPILL_FAILED)?;
    let limit = settings.limit();
    let first_page_offset = settings
        .resume
        .as_ref()
        .map_or(0, |r| r.page_offset as usize);
    // A next page exists only under a limit, and then this answer holds exactly `limit`.
    let token = page.next.take().map(|position| {
        let page_offset = match (settings.paging, limit) {
            (Paging::Auto { page_size, .. }, Some(n)) => {
                ((first_page_offset + n) % page_size) as u64
            }
            _ => 0,
        };
        encode_token(
            &settings.canonical,
            &Resume {
                position,
                page_offset,
            },
        )
    });
    let layout = PageLayout {
        paging: settings.paging,
        first_page_offset,
    };
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let mut spill_error = None;
    let mut events = page.events.by_ref().map_while(|e| {
        e.map(|(_, event)| event)
            .map_err(|e| spill_error = Some(e))
            .ok()
    });
    let rendered = render(
        &settings.output,
        &layout,
        &mut events,
        token.as_deref(),
        &Terminal::stdout(),
        &mut out,
    )
    .and_then(|n| out.flush().map(|()| n).map_err(RenderError::from));
    if let Some(e) = spill_error {
        return Err(anyhow::Error::new(e).context(SPILL_FAILED));
    }
    let returned = match rendered {
        Ok(n) => n,
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(RenderError::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => 0,
        Err(e) => return Err(e.into()),
    };
    Ok(Printed {
        returned,
        duplicates: page.events.duplicates(),
    })
}

/// Prints an answer that is one value (a trace, a summary) on stdout in the chosen format.
pub fn print_value(output: &OutputSettings, title: &str, value: serde_json::Value) -> Result<()> {
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let printed = render_value(output, title, value, &Terminal::stdout(), &mut out)
        .and_then(|()| out.flush().map_err(RenderError::from));
    match printed {
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(RenderError::Io(e)) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Prints every chain and the totals; writes the report.
pub fn print_all(
    chains: &[ChainOutput],
    source: &str,
    report: Option<&ReportRun<'_>>,
) -> Result<ExitCode> {
    let (mut out, mut err) = (io::stdout().lock(), io::stderr().lock());
    let total = print_chains(&mut out, &mut err, chains, source)?;
    out.flush()?;
    if let Some(report) = report {
        write_report(report, chains.iter().map(|c| c.record.clone()).collect())?;
    }
    Ok(ExitCode::from(total.exit_code()))
}

/// What a validation report says of its run, beside the findings: enough for an auditor to
/// file it and for anyone to tell which code, data and keys produced it.
pub struct ReportRun<'a> {
    /// `--report`.
    pub path: Option<&'a Path>,
    /// `--report-html`: the same document as a page.
    pub html: Option<&'a Path>,
    /// `--force`: an existing file is replaced (else refused).
    pub force: bool,
    /// The source as given.
    pub source: &'a str,
    /// `--public-keys FILE`, or `None`: CloudTrail's ListPublicKeys.
    pub public_keys: Option<&'a Path>,
    /// The command line.
    pub arguments: &'a [String],
    /// When the run started.
    pub started: std::time::SystemTime,
    /// With `--state`: the state read (if any) and written, each with its SHA-256.
    pub state: Option<serde_json::Value>,
}

/// Writes the report: created new (an existing file is an error) unless `--force`.
pub fn write_report(run: &ReportRun<'_>, chains: Vec<serde_json::Value>) -> Result<()> {
    let iso = |t| format_utc(epoch_secs(t));
    let keys = match run.public_keys {
        Some(file) => format!("--public-keys {}", file.display()),
        None => "CloudTrail ListPublicKeys".to_string(),
    };
    let doc = serde_json::json!({
        "tool": "trailscan validate-logs",
        "version": env!("TRAILSCAN_VERSION"),
        "started": iso(run.started),
        "finished": iso(std::time::SystemTime::now()),
        "source": run.source,
        "public_keys": keys,
        "arguments": run.arguments,
        "state": run.state,
        "chains": chains,
    });
    if let Some(path) = run.path {
        let text = serde_json::to_string_pretty(&doc)? + "\n";
        write_new(path, text.as_bytes(), run.force)?;
    }
    if let Some(path) = run.html {
        write_new(
            path,
            trailscan_integrity::report_html::render(&doc).as_bytes(),
            run.force,
        )?;
    }
    Ok(())
}

/// Writes a report file: created new (an existing file is an error) unless `force`.
fn write_new(path: &Path, text: &[u8], force: bool) -> Result<()> {
    let cannot = || format!("cannot write the report to {}", path.display());
    let mut file = match force {
        true => fs::File::create(path).with_context(cannot)?,
        false => fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .with_context(|| {
                format!(
                    "cannot write the report to {}: the file exists (--force replaces it)",
                    path.display()
                )
            })?,
    };
    file.write_all(text).with_context(cannot)
}
