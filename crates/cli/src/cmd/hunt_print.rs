//! A hunt's answer on stdout: JSON lines (a detection or correlation per line, in time
//! order), one JSON document, CSV, or the AWS CLI's tables; and `--output-events`.

use std::fs::OpenOptions;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, Result};
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

/// Prints what `run` found, detections of rules that are printed and every correlation,
/// merged in time order (a correlation after the detections of the second it fired in).
pub fn print_detections(
    output: HuntOutput,
    rules: &HuntRules,
    run: &HuntRun,
    store: &dyn ObjectStore,
) -> Result<()> {
    let lines = lines(rules, run, store);
    let written = match output {
        HuntOutput::Jsonl => write_jsonl(&lines),
        HuntOutput::Csv => write_csv(&lines),
        HuntOutput::Json | HuntOutput::Table => {
            let (detections, correlations): (Vec<Value>, Vec<Value>) =
                lines.into_iter().partition(|l| l["Type"] == "detection");
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

/// Every printed line's object, in time order.
fn lines(rules: &HuntRules, run: &HuntRun, store: &dyn ObjectStore) -> Vec<Value> {
    let detections = run
        .detections
        .iter()
        .filter(|d| rules.rules[d.rule].printed)
        .map(|d| (d.time, 0, detection_line(&rules.rules[d.rule], d, store)));
    let correlations = run.correlations.iter().map(|c| {
        (
            c.time,
            1,
            correlation_line(&rules.correlations[c.correlation], c),
        )
    });
    let mut all: Vec<(EventTime, u8, Value)> = detections.chain(correlations).collect();
    // Stable: within a time and kind, the order settled before.
    all.sort_by_key(|(time, kind, _)| (*time, *kind));
    all.into_iter().map(|(_, _, line)| line).collect()
}

/// The rule's fields every line carries (the Detection Rule License asks for the author).
fn rule_fields(line: &mut Map<String, Value>, rule: &RuleInfo) {
    line.insert("RuleId".into(), json!(rule.id));
    line.insert("RuleTitle".into(), json!(rule.title));
    line.insert("Level".into(), json!(rule.level.map(|l| l.as_str())));
    line.insert("RuleAuthor".into(), json!(rule.author));
}

fn detection_line(rule: &RuleInfo, d: &Detection, store: &dyn ObjectStore) -> Value {
    let mut line = Map::new();
    line.insert("Type".into(), json!("detection"));
    line.insert("EventTime".into(), json!(d.fields.event_time));
    rule_fields(&mut line, rule);
    let f = &d.fields;
    line.insert("EventName".into(), json!(f.event_name));
    line.insert("EventSource".into(), json!(f.event_source));
    line.insert("Principal".into(), json!(f.principal));
    line.insert("SourceIPAddress".into(), json!(f.source_ip));
    line.insert("AwsRegion".into(), json!(f.region));
    line.insert("AccountId".into(), json!(f.account_id));
    line.insert("EventId".into(), json!(f.event_id));
    line.insert("ObjectKey".into(), json!(store.display_key(&d.object_key)));
    line.insert("RecordIndex".into(), json!(d.record_index));
    Value::Object(line)
}

fn correlation_line(rule: &RuleInfo, c: &CorrelationHit) -> Value {
    let mut line = Map::new();
    line.insert("Type".into(), json!("correlation"));
    line.insert("EventTime".into(), json!(c.event_time));
    rule_fields(&mut line, rule);
    line.insert("CorrelationType".into(), json!(c.kind));
    let group: Map<String, Value> = c
        .group_by
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    line.insert("GroupBy".into(), Value::Object(group));
    // As CloudTrail writes times (`2024-01-02T09:30:30Z`), like EventTime beside it.
    let start = EventTime::from_secs(c.window_start).to_string();
    let start = format!("{}Z", start.trim_end_matches("+00:00"));
    line.insert("WindowStart".into(), json!(start));
    line.insert("Timespan".into(), json!(c.timespan_secs));
    let count = match c.count.fract() == 0.0 && c.count >= 0.0 {
        true => json!(c.count as u64),
        false => json!(c.count),
    };
    line.insert("Count".into(), count);
    line.insert("EventIds".into(), json!(c.event_ids));
    Value::Object(line)
}

fn write_jsonl(lines: &[Value]) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    for line in lines {
        serde_json::to_writer(&mut out, line)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

fn write_csv(lines: &[Value]) -> io::Result<()> {
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
        let row: Vec<String> = COLUMNS.iter().map(|c| cell(&line[*c])).collect();
        write_row(&mut out, &row)?;
    }
    out.flush()
}

/// `--output-events`: each matched event's record once, in time order, as JSON lines, to a
/// new file.
pub fn write_events(file: &Path, detections: &[Detection]) -> Result<()> {
    let context = || format!("--output-events {}", file.display());
    let created = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(file)
        .with_context(context)?;
    let mut out = BufWriter::new(created);
    let mut written = std::collections::HashSet::new();
    for d in detections {
        let Some(json) = &d.json else { continue };
        if written.insert((d.object_key.as_str(), d.record_index)) {
            out.write_all(json.as_bytes()).with_context(context)?;
            out.write_all(b"\n").with_context(context)?;
        }
    }
    out.flush().with_context(context)
}
