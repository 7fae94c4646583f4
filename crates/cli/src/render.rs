//! Prints a lookup's events in the chosen `--output`, applying `--query` where the AWS CLI
//! applies it: to the whole answer for json and table, to each page for text.

use std::io::{self, IsTerminal, Write};

use anyhow::{anyhow, Result};
use serde_json::{json, Value};
use trailscan_output::csv::{event_row, write_query_rows, write_row, EVENT_COLUMNS};
use trailscan_output::python_json::write_value;
use trailscan_output::{
    format_table, format_text, response_value, sanitize_for_terminal, write_response, Styler,
};
use trailscan_records::LookupEvent;

use crate::settings::{OutputFormat, OutputSettings, Paging};

/// The operation name the AWS CLI titles tables with.
const TABLE_TITLE: &str = "LookupEvents";

/// What the terminal is, for table layout, colors and escaping.
pub struct Terminal {
    /// Whether stdout is a terminal.
    pub is_tty: bool,
    /// Its width in columns; 80 when it is not one (as the AWS CLI assumes).
    pub width: usize,
}

impl Terminal {
    /// Looks at stdout.
    pub fn stdout() -> Terminal {
        let is_tty = io::stdout().is_terminal();
        let width = if is_tty {
            terminal_size::terminal_size_of(io::stdout()).map_or(80, |(w, _)| usize::from(w.0))
        } else {
            80
        };
        Terminal { is_tty, width }
    }
}

/// How events are paged for text output.
pub struct PageLayout {
    /// Auto or single.
    pub paging: Paging,
    /// Events of the first page already shown by an earlier call (from the token).
    pub first_page_offset: usize,
}

fn query(output: &OutputSettings, value: Value) -> Result<Value> {
    match &output.query {
        Some(q) => q.search(&value).map_err(|e| anyhow!(e.0)),
        None => Ok(value),
    }
}

/// Prints `events` and, where the format has a place for it, `token`; returns how many
/// events were printed.
pub fn render(
    output: &OutputSettings,
    layout: &PageLayout,
    events: &mut dyn Iterator<Item = LookupEvent>,
    token: Option<&str>,
    term: &Terminal,
    out: &mut dyn Write,
) -> Result<usize> {
    let mut count = 0usize;
    let mut counted = events.inspect(|_| count += 1);
    let prepare = |mut v: Value| -> Value {
        if term.is_tty {
            sanitize_for_terminal(&mut v);
        }
        v
    };
    match output.format {
        OutputFormat::Json if output.query.is_none() => {
            write_response(&mut &mut *out, &mut counted, token)?
        }
        OutputFormat::Json => {
            let all: Vec<LookupEvent> = counted.collect();
            let result = query(output, response_value(&all, token))?;
            // The AWS CLI prints nothing for an empty object.
            if result != json!({}) {
                write_value(out, &result, 0)?;
                out.write_all(b"\n")?;
            }
        }
        OutputFormat::Table => {
            let all: Vec<LookupEvent> = counted.collect();
            let result = prepare(query(output, response_value(&all, token))?);
            let colors = output.color.unwrap_or(term.is_tty);
            let styler = if colors {
                Styler::Colorized
            } else {
                Styler::Plain
            };
            format_table(TABLE_TITLE, &result, term.width, styler, out)
                .map_err(|e| anyhow!(e.0))??;
        }
        OutputFormat::Text => match layout.paging {
            Paging::Single { .. } => {
                let all: Vec<LookupEvent> = counted.collect();
                format_text(&prepare(query(output, response_value(&all, token))?), out)?;
            }
            Paging::Auto { page_size, .. } => {
                // As botocore's pages: the first may be the rest of a page an earlier call cut.
                let mut size = page_size.saturating_sub(layout.first_page_offset).max(1);
                let mut first = true;
                loop {
                    let page: Vec<LookupEvent> = counted.by_ref().take(size).collect();
                    if page.is_empty() && !first {
                        break;
                    }
                    let full = page.len() == size;
                    format_text(&prepare(query(output, response_value(&page, None))?), out)?;
                    first = false;
                    size = page_size;
                    if !full {
                        break;
                    }
                }
                if let Some(token) = token {
                    let block = json!({"NextToken": {"NextToken": token}});
                    format_text(&prepare(query(output, block)?), out)?;
                }
            }
        },
        OutputFormat::Jsonl => {
            for event in counted {
                out.write_all(event.cloudtrail_event.as_bytes())?;
                out.write_all(b"\n")?;
            }
            note_token(token);
        }
        OutputFormat::Csv if output.query.is_none() => {
            write_row(out, &EVENT_COLUMNS)?;
            for event in counted {
                write_row(out, &event_row(&event))?;
            }
            note_token(token);
        }
        OutputFormat::Csv => {
            let all: Vec<LookupEvent> = counted.collect();
            let result = query(output, response_value(&all, token))?;
            let names = output.query.as_ref().and_then(|q| q.list_column_names());
            write_query_rows(out, &result, names).map_err(|e| anyhow!(e))??;
            note_token(token);
        }
    }
    Ok(count)
}

/// Formats without a place for the token get it on stderr.
fn note_token(token: Option<&str>) {
    if let Some(token) = token {
        eprintln!("trailscan: more events follow; continue with --starting-token {token}");
    }
}
