//! `trailscan summary`: what a principal did. One pass over the window (and the 36 hours
//! before it, for the long-term keys' issuances) counts the subject's events per principal;
//! then each key used is traced to its origin in rounds ([`trailscan_engine::summarize`]).

use std::io::{self, BufWriter, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Result;
use serde_json::Value;
use trailscan_engine::Source;
use trailscan_layout::printable::printable_lines;
use trailscan_output::csv::write_row;
use trailscan_output::OutputFormat;

use crate::exit_codes;
use crate::print::print_value;
use crate::progress::Progress;
use crate::settings::SummarySettings;

/// Runs a summary and prints it.
pub fn run(settings: &SummarySettings) -> Result<ExitCode> {
    let started = Instant::now();
    let source = &settings.source;
    let progress = Progress::on_stderr(source.no_progress, source.quiet);
    let opened = Source::open(&source.options, &progress)?;
    let mut run =
        trailscan_engine::summarize(&opened, &settings.scan, &settings.window, &settings.subject)?;
    progress.finish();
    let answer = run.summary.to_value();
    match settings.output.format {
        OutputFormat::Csv => print_csv(&answer)?,
        _ => print_value(&settings.output, "Summary", answer)?,
    }
    let stats = &run.stats;
    if !source.quiet {
        eprintln!(
            "trailscan: {} principal(s); {} log files listed: {} read, {} failed, {} with problems; {} events read ({} duplicate deliveries counted once); {:.3} s",
            run.summary.principals(),
            opened.listing.objects_listed,
            stats.objects_read,
            stats.objects_failed,
            stats.objects_with_problems,
            stats.records_parsed,
            run.duplicates,
            started.elapsed().as_secs_f64()
        );
        if let Some(index) = run.index_use {
            eprintln!("{index}");
        }
        if let Some(line) = opened.requests_line() {
            eprintln!("{line}");
        }
    }
    Ok(exit_codes::completed(opened.problems(stats)))
}

/// The CSV form: one row per principal and event name, busiest first, with the failures and
/// their error codes (`Code=N;...`).
fn print_csv(answer: &Value) -> Result<()> {
    let mut out = BufWriter::new(io::stdout().lock());
    let header = [
        "Principal",
        "Type",
        "AccountId",
        "EventSource",
        "EventName",
        "Count",
        "Failed",
        "ErrorCodes",
    ];
    // On a terminal, a record's control characters are shown escaped, as in text and table.
    let tty = io::stdout().is_terminal();
    let shown = |text: String| match tty {
        true => printable_lines(&text).into_owned(),
        false => text,
    };
    let text = |v: &Value| shown(v.as_str().map_or_else(|| v.to_string(), str::to_string));
    let or_empty = |v: &Value| shown(v.as_str().unwrap_or_default().to_string());
    let written = (|| -> io::Result<()> {
        write_row(&mut out, &header)?;
        for s in answer["Summaries"].as_array().into_iter().flatten() {
            for e in s["EventNames"].as_array().into_iter().flatten() {
                let codes: Vec<String> = e["ErrorCodes"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(code, n)| format!("{code}={n}"))
                    .collect();
                write_row(
                    &mut out,
                    &[
                        text(&s["Principal"]),
                        or_empty(&s["Type"]),
                        or_empty(&s["AccountId"]),
                        text(&e["EventSource"]),
                        text(&e["EventName"]),
                        e["Count"].to_string(),
                        e["Failed"].to_string(),
                        shown(codes.join(";")),
                    ],
                )?;
            }
        }
        out.flush()
    })();
    match written {
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}
