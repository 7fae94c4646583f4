//! A hunt's answer on stdout, printed as its findings are read: JSON lines (a detection or
//! correlation per line, in time order), CSV, one JSON document, or the AWS CLI's tables;
//! and `--output-events`.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::{json, Map, Value};
use trailscan_hunt::{
    CorrelationHit, Detection, EventOnce, Finding, Findings, HuntRules, RuleInfo,
};
use trailscan_layout::printable::printable_lines;
use trailscan_output::csv::write_row;
use trailscan_output::{ColorChoice, OutputFormat, OutputSettings};
use trailscan_records::EventTime;

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

/// One line of the answer: a detection or a correlation firing, borrowed from the run.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Line<'a> {
    r#type: &'static str,
    event_time: &'a str,
    rule_id: Option<&'a str>,
    rule_title: &'a str,
    level: Option<&'static str>,
    /// The Detection Rule License asks that a match keep the rule's author.
    rule_author: Option<&'a str>,
    #[serde(flatten)]
    body: Body<'a>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Body<'a> {
    Detection {
        #[serde(rename = "EventName")]
        event_name: Option<&'a str>,
        #[serde(rename = "EventSource")]
        event_source: Option<&'a str>,
        #[serde(rename = "Principal")]
        principal: Option<&'a str>,
        #[serde(rename = "SourceIPAddress")]
        source_ip: Option<&'a str>,
        #[serde(rename = "AwsRegion")]
        region: Option<&'a str>,
        #[serde(rename = "AccountId")]
        account_id: Option<&'a str>,
        #[serde(rename = "EventId")]
        event_id: Option<&'a str>,
        #[serde(rename = "ObjectKey")]
        object_key: String,
        #[serde(rename = "RecordIndex")]
        record_index: usize,
    },
    Correlation {
        #[serde(rename = "CorrelationType")]
        kind: &'static str,
        #[serde(rename = "GroupBy")]
        group_by: Map<String, Value>,
        #[serde(rename = "WindowStart")]
        window_start: String,
        #[serde(rename = "Timespan")]
        timespan: u64,
        #[serde(rename = "Count")]
        count: Value,
        #[serde(rename = "EventIds")]
        event_ids: &'a [String],
    },
}

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

fn detection_line<'a>(
    rule: &'a RuleInfo,
    d: &'a Detection,
    display_key: &dyn Fn(&str) -> String,
) -> Line<'a> {
    let e = &*d.event;
    let f = &e.fields;
    Line {
        r#type: "detection",
        event_time: f.event_time(),
        rule_id: rule.id.as_deref(),
        rule_title: &rule.title,
        level: rule.level.map(|l| l.as_str()),
        rule_author: rule.author.as_deref(),
        body: Body::Detection {
            event_name: f.get(1),
            event_source: f.get(2),
            principal: f.get(3),
            source_ip: f.get(4),
            region: f.get(5),
            account_id: f.get(6),
            event_id: f.get(7),
            object_key: display_key(&e.object_key),
            record_index: e.record_index,
        },
    }
}

fn correlation_line<'a>(rule: &'a RuleInfo, c: &'a CorrelationHit) -> Line<'a> {
    // As CloudTrail writes times (`2024-01-02T09:30:30Z`), like EventTime beside it.
    let start = EventTime::from_secs(c.window_start).to_string();
    let count = match c.count.fract() == 0.0 && c.count >= 0.0 {
        true => json!(c.count as u64),
        false => json!(c.count),
    };
    Line {
        r#type: "correlation",
        event_time: &c.event_time,
        rule_id: rule.id.as_deref(),
        rule_title: &rule.title,
        level: rule.level.map(|l| l.as_str()),
        rule_author: rule.author.as_deref(),
        body: Body::Correlation {
            kind: c.kind,
            group_by: c
                .group_by
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect(),
            window_start: format!("{}Z", start.trim_end_matches("+00:00")),
            timespan: c.timespan_secs,
            count,
            event_ids: &c.event_ids,
        },
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
