//! A hunt's answer on stdout: JSON lines (a detection or correlation per line, in time
//! order), one JSON document, CSV, or the AWS CLI's tables; and `--output-events`.

use std::io::{self, BufWriter, IsTerminal, Write};

use anyhow::Result;
use serde::Serialize;
use serde_json::{json, Map, Value};
use trailscan_archive::ObjectStore;
use trailscan_engine::HuntRun;
use trailscan_hunt::{CorrelationHit, Detection, HuntRules, RuleInfo};
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

/// Prints what `run` found, detections of rules that are printed and every correlation,
/// merged in time order (a correlation after the detections of the second it fired in).
/// JSON lines and CSV are written line by line; json and table are one document.
pub fn print_detections(
    output: HuntOutput,
    rules: &HuntRules,
    run: &HuntRun,
    store: &dyn ObjectStore,
) -> Result<()> {
    let lines = lines(rules, run, store);
    let written = match output {
        HuntOutput::Jsonl => write_jsonl(lines),
        HuntOutput::Csv => write_csv(lines),
        HuntOutput::Json | HuntOutput::Table => {
            let (mut detections, correlations): (Vec<Value>, Vec<Value>) = lines
                .map(|l| serde_json::to_value(l).unwrap_or_default())
                .partition(|l| l["Type"] == "detection");
            if output == HuntOutput::Table {
                // A terminal's width: who did what, and which rule says so (jsonl and json
                // keep the rule's id and author, and where each record is).
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
            return print_value(&settings, "Hunt", answer);
        }
    };
    match written {
        // A closed pipe (`| head`) is the reader's choice, not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

/// Every printed line, in time order.
fn lines<'a>(
    rules: &'a HuntRules,
    run: &'a HuntRun,
    store: &'a dyn ObjectStore,
) -> impl Iterator<Item = Line<'a>> + 'a {
    let mut detections = run
        .detections
        .iter()
        .filter(|d| rules.rules[d.rule].printed)
        .peekable();
    let mut correlations = run.correlations.iter().peekable();
    std::iter::from_fn(move || {
        let correlation_first = match (detections.peek(), correlations.peek()) {
            (Some(d), Some(c)) => c.time < d.event.time,
            (None, Some(_)) => true,
            (_, None) => false,
        };
        match correlation_first {
            true => correlations
                .next()
                .map(|c| correlation_line(&rules.correlations[c.correlation], c)),
            false => detections
                .next()
                .map(|d| detection_line(&rules.rules[d.rule], d, store)),
        }
    })
}

fn detection_line<'a>(rule: &'a RuleInfo, d: &'a Detection, store: &dyn ObjectStore) -> Line<'a> {
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
            object_key: store.display_key(&e.object_key),
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

fn write_jsonl<'a>(lines: impl Iterator<Item = Line<'a>>) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    for line in lines {
        serde_json::to_writer(&mut out, &line)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

fn write_csv<'a>(lines: impl Iterator<Item = Line<'a>>) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    // On a terminal, a record's control characters are shown escaped, as in table.
    let tty = io::stdout().is_terminal();
    let cell = |v: &Value| {
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
    };
    write_row(&mut out, &COLUMNS)?;
    for line in lines {
        let line = serde_json::to_value(&line).map_err(io::Error::other)?;
        let row: Vec<String> = COLUMNS.iter().map(|c| cell(&line[*c])).collect();
        write_row(&mut out, &row)?;
    }
    out.flush()
}
