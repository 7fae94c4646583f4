//! A hunt's answer on stdout, printed as its findings are read: JSON lines (a detection or
//! correlation per line, in time order), CSV, one JSON document, or the AWS CLI's tables;
//! and `--output-events`.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{json, Value};
use trailscan_hunt::{Detection, EventOnce, Finding, Findings, HuntRules};
use trailscan_layout::printable::printable_lines;
use trailscan_output::csv::write_row;
use trailscan_output::{ColorChoice, OutputFormat, OutputSettings};

use super::line::{correlation_line, detection_line, Line};
use crate::print::print_value;
use crate::settings::HuntOutput;

/// The CSV columns: a detection's, then a correlation's own (empty on detection rows).
const COLUMNS: [&str; 21] = [
    "Type",
    "EventTime",
    "RuleId",
    "RuleTitle",
    "Level",
    "RuleAuthor",
    "EventName",
    "EventSource",
    "Principal",
    "SourceIPAddress",
    "AwsRegion",
    "AccountId",
    "EventId",
    "ObjectKey",
    "RecordIndex",
    "CorrelationType",
    "GroupBy",
    "WindowStart",
    "Timespan",
    "Count",
    "EventIds",
];

/// The detection columns of `--output table`.
const TABLE_COLUMNS: [&str; 7] = [
    "EventTime",
    "Level",
    "RuleTitle",
    "EventName",
    "Principal",
    "SourceIPAddress",
    "AccountId",
];

/// Prints the findings, detections of rules that are printed and every correlation, in time
/// order (a correlation after the detections of the second it fired in), and writes each
/// printed detection's event once to `events` (`--output-events`). JSON lines and CSV are
/// written line by line as the findings are read; json and table are one document, held
/// whole. A closed stdout (`| head`) stops the printing, not the reading: the summary and
/// `--output-events` still count and hold everything.
pub(super) fn print_findings(
    output: HuntOutput,
    rules: &HuntRules,
    findings: &mut Findings,
    display_key: &dyn Fn(&str) -> String,
    events: Option<&Path>,
) -> Result<()> {
    let mut events = events.map(EventsFile::create).transpose()?;
    let mut answer = Answer::new(output)?;
    let mut stdout_closed = false;
    for finding in findings.by_ref() {
        let finding = finding?;
        let line = match &finding {
            Finding::Detection(d) if rules.rules[d.rule].printed => {
                if let Some(events) = &mut events {
                    events.write(d)?;
                }
                detection_line(&rules.rules[d.rule], d, display_key)
            }
            Finding::Detection(_) => continue,
            Finding::Correlation(c) => correlation_line(&rules.correlations[c.correlation], c),
        };
        if !stdout_closed {
            stdout_closed = closed(answer.line(&line))?;
        }
    }
    if let Some(events) = events {
        events.finish()?;
    }
    match stdout_closed {
        true => Ok(()),
        false => answer.finish(output),
    }
}

/// Whether `written` failed because stdout was closed (the reader's choice, not an error).
fn closed(written: io::Result<()>) -> io::Result<bool> {
    match written {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(true),
        other => other.map(|()| false),
    }
}

/// The answer as it is printed: streamed lines, or one document gathered.
enum Answer {
    Jsonl(BufWriter<io::StdoutLock<'static>>),
    /// On a terminal, a record's control characters are shown escaped, as in table.
    Csv {
        out: BufWriter<io::StdoutLock<'static>>,
        tty: bool,
    },
    Document {
        detections: Vec<Value>,
        correlations: Vec<Value>,
    },
}

impl Answer {
    /// The answer begun (CSV's header written, to a buffer).
    fn new(output: HuntOutput) -> io::Result<Answer> {
        let out = || BufWriter::with_capacity(1 << 16, io::stdout().lock());
        Ok(match output {
            HuntOutput::Jsonl => Answer::Jsonl(out()),
            HuntOutput::Csv => {
                let mut out = out();
                write_row(&mut out, &COLUMNS)?;
                let tty = io::stdout().is_terminal();
                Answer::Csv { out, tty }
            }
            HuntOutput::Json | HuntOutput::Table => Answer::Document {
                detections: Vec::new(),
                correlations: Vec::new(),
            },
        })
    }

    fn line(&mut self, line: &Line<'_>) -> io::Result<()> {
        match self {
            Answer::Jsonl(out) => {
                serde_json::to_writer(&mut *out, line)?;
                out.write_all(b"\n")
            }
            Answer::Csv { out, tty } => {
                let line = serde_json::to_value(line).map_err(io::Error::other)?;
                let row: Vec<String> = COLUMNS.iter().map(|c| csv_cell(&line[*c], *tty)).collect();
                write_row(&mut *out, &row)
            }
            Answer::Document {
                detections,
                correlations,
            } => {
                let value = serde_json::to_value(line).map_err(io::Error::other)?;
                match line.r#type {
                    "detection" => detections.push(value),
                    _ => correlations.push(value),
                }
                Ok(())
            }
        }
    }

    fn finish(self, output: HuntOutput) -> Result<()> {
        let (mut detections, correlations) = match self {
            Answer::Jsonl(mut out) | Answer::Csv { mut out, .. } => {
                return Ok(closed(out.flush()).map(drop)?)
            }
            Answer::Document {
                detections,
                correlations,
            } => (detections, correlations),
        };
        if output == HuntOutput::Table {
            // A terminal's width: who did what, and which rule says so (jsonl and json keep
            // the rule's id and author, and where each record is).
            for line in &mut detections {
                if let Some(fields) = line.as_object_mut() {
                    fields.retain(|k, _| TABLE_COLUMNS.contains(&k.as_str()));
                }
            }
        }
        let format = match output {
            HuntOutput::Table => OutputFormat::Table,
            _ => OutputFormat::Json,
        };
        let settings = OutputSettings {
            format,
            query: None,
            color: ColorChoice::Auto,
        };
        let answer = json!({ "Detections": detections, "Correlations": correlations });
        print_value(&settings, "Hunt", answer)
    }
}

/// `--output-events`: the record of each event a printed detection names, once, in time
/// order, as JSON lines, to a new file.
struct EventsFile<'p> {
    path: &'p Path,
    out: BufWriter<File>,
    once: EventOnce,
}

impl<'p> EventsFile<'p> {
    fn create(path: &'p Path) -> Result<EventsFile<'p>> {
        let created = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .with_context(|| format!("--output-events {}", path.display()))?;
        Ok(EventsFile {
            path,
            out: BufWriter::new(created),
            once: EventOnce::default(),
        })
    }

    fn write(&mut self, d: &Detection) -> Result<()> {
        let Some(json) = &d.event.json else {
            return Ok(());
        };
        if self.once.first(d) {
            self.out
                .write_all(json.as_bytes())
                .and_then(|()| self.out.write_all(b"\n"))
                .with_context(|| format!("--output-events {}", self.path.display()))?;
        }
        Ok(())
    }

    fn finish(mut self) -> Result<()> {
        self.out
            .flush()
            .with_context(|| format!("--output-events {}", self.path.display()))
    }
}

/// A CSV cell of `v`: lists joined by spaces, maps as `key=value;...`.
fn csv_cell(v: &Value, tty: bool) -> String {
    let text = match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(" "),
        Value::Object(members) => members
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(";"),
        other => other.to_string(),
    };
    match tty {
        true => printable_lines(&text).into_owned(),
        false => text,
    }
}
