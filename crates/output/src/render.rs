//! A lookup's answer printed in the chosen `--output`, with `--query` applied where the AWS
//! CLI applies it: to the whole answer for json and table, to each page for text.

use std::io::{self, IsTerminal, Write};

use serde_json::{json, Value};
use trailscan_layout::printable::printable_lines;
use trailscan_records::LookupEvent;

use crate::csv::{event_row, write_query_rows, write_row, EVENT_COLUMNS};
use crate::python_json::write_value;
use crate::{
    format_table, format_text, response_value, sanitize_for_terminal, write_response, Query, Styler,
};

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// The AWS CLI's JSON.
    Json,
    /// The AWS CLI's tab-separated text.
    Text,
    /// The AWS CLI's box-drawn table.
    Table,
    /// One CloudTrail record per line.
    Jsonl,
    /// Comma-separated values.
    Csv,
}

impl OutputFormat {
    /// The format named `name`, or `None`.
    pub fn from_name(name: &str) -> Option<OutputFormat> {
        match name {
            "json" => Some(OutputFormat::Json),
            "text" => Some(OutputFormat::Text),
            "table" => Some(OutputFormat::Table),
            "jsonl" => Some(OutputFormat::Jsonl),
            "csv" => Some(OutputFormat::Csv),
            _ => None,
        }
    }
}

/// `--color`: when tables are colored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorChoice {
    /// Always.
    On,
    /// Never.
    Off,
    /// When stdout is a terminal, as the AWS CLI does.
    Auto,
}

/// How events are requested and shown in pages, as the AWS CLI's pagination flags say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paging {
    /// Auto-pagination (the AWS CLI's default): every event, or `max_items`, shown as fetched
    /// in pages of `page_size` (which only text output shows).
    Auto {
        /// `--page-size`, default 50 (the service's page).
        page_size: usize,
        /// `--max-items`.
        max_items: Option<usize>,
    },
    /// One call (`--max-results` or `--no-paginate`): one page of `size` events.
    Single {
        /// Events in the page.
        size: usize,
    },
}

/// The service's page size, used by the AWS CLI when no page size is given.
pub const SERVICE_PAGE_SIZE: usize = 50;

/// How to print.
pub struct OutputSettings {
    /// `--output`.
    pub format: OutputFormat,
    /// `--query`, compiled.
    pub query: Option<Query>,
    /// `--color`.
    pub color: ColorChoice,
}

/// Why an answer could not be printed.
#[derive(Debug)]
pub enum RenderError {
    /// Writing failed (a closed pipe among others).
    Io(io::Error),
    /// `--query` failed on the answer, or its result does not fit the format.
    Query(String),
}

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RenderError::Io(e) => write!(f, "cannot write the answer: {e}"),
            RenderError::Query(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for RenderError {}

impl From<io::Error> for RenderError {
    fn from(e: io::Error) -> RenderError {
        RenderError::Io(e)
    }
}

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

/// Colors for a table: `--color`, where `auto` means when stdout is a terminal.
fn styler(output: &OutputSettings, term: &Terminal) -> Styler {
    let colors = match output.color {
        ColorChoice::On => true,
        ColorChoice::Off => false,
        ColorChoice::Auto => term.is_tty,
    };
    if colors {
        Styler::Colorized
    } else {
        Styler::Plain
    }
}

fn query(output: &OutputSettings, value: Value) -> Result<Value, RenderError> {
    match &output.query {
        Some(q) => q.search(&value).map_err(|e| RenderError::Query(e.0)),
        None => Ok(value),
    }
}

/// Prints one answer that is not a lookup's (a trace, a summary) in json, table (titled
/// `title`, as the AWS CLI titles a table with its operation) or text, as the AWS CLI would
/// print such a response.
pub fn render_value(
    output: &OutputSettings,
    title: &str,
    value: Value,
    term: &Terminal,
    out: &mut dyn Write,
) -> Result<(), RenderError> {
    let mut value = query(output, value)?;
    match output.format {
        OutputFormat::Table | OutputFormat::Text if term.is_tty => {
            sanitize_for_terminal(&mut value)
        }
        _ => {}
    }
    match output.format {
        OutputFormat::Table => {
            format_table(title, &value, term.width, styler(output, term), out)
                .map_err(|e| RenderError::Query(e.0))??;
        }
        OutputFormat::Text => format_text(&value, out)?,
        _ => {
            write_value(out, &value, 0)?;
            out.write_all(b"\n")?;
        }
    }
    Ok(())
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
) -> Result<usize, RenderError> {
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
            format_table(TABLE_TITLE, &result, term.width, styler(output, term), out)
                .map_err(|e| RenderError::Query(e.0))??;
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
                let mut row = event_row(&event);
                if term.is_tty {
                    // As text and table: a record's control characters shown escaped.
                    for cell in &mut row {
                        *cell = printable_lines(cell).into_owned();
                    }
                }
                write_row(out, &row)?;
            }
            note_token(token);
        }
        OutputFormat::Csv => {
            let all: Vec<LookupEvent> = counted.collect();
            let result = prepare(query(output, response_value(&all, token))?);
            let names = output.query.as_ref().and_then(|q| q.list_column_names());
            write_query_rows(out, &result, names).map_err(RenderError::Query)??;
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
