//! `--output table`, ported from awscli 1.45.11 `awscli/formatter.py` (`TableFormatter`) and
//! `awscli/table.py` (`MultiTable`, `Section`).
//!
//! The layout depends on the terminal: column widths are scaled to the widest section, and
//! when that is wider than the terminal (80 columns when stdout is not one), one-row
//! sections turn vertical. Headers are sorted; nested lists and dicts become indented
//! sections under their key.

use std::io::{self, Write};

use serde_json::{Map, Value};

use crate::python::{py_repr, py_str, text_length};

/// How elements are styled: plain, or colored as the AWS CLI does on a terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Styler {
    /// No escape sequences.
    Plain,
    /// colorama's bright blue for cells and dim yellow for indentation bars.
    Colorized,
}

impl Styler {
    fn row_element(self, text: &str) -> String {
        match self {
            Styler::Plain => text.to_string(),
            Styler::Colorized => format!("\x1b[1m\x1b[34m{text}\x1b[0m"),
        }
    }

    fn indentation_char(self) -> String {
        match self {
            Styler::Plain => "|".to_string(),
            Styler::Colorized => "\x1b[2m\x1b[33m|\x1b[0m".to_string(),
        }
    }
}

/// What the AWS CLI would raise while building a table (it exits 255 with the message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableError(pub String);

impl std::fmt::Display for TableError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Default)]
struct Section {
    title: String,
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
    indent_level: usize,
    num_cols: Option<usize>,
    max_widths: Vec<usize>,
}

impl Section {
    fn calculate_column_widths(&self, padding: usize, max_width: Option<usize>) -> Vec<usize> {
        let unscaled: Vec<usize> = self.max_widths.iter().map(|w| w + padding).collect();
        let Some(max_width) = max_width else {
            return unscaled;
        };
        if unscaled.is_empty() {
            return unscaled;
        }
        // Python: scale = max_width / float(sum); int(round(scale * w)), round half to even.
        let scale = max_width as f64 / unscaled.iter().sum::<usize>() as f64;
        let mut scaled: Vec<i64> = unscaled
            .iter()
            .map(|&w| (scale * w as f64).round_ties_even() as i64)
            .collect();
        let mut off_by: i64 = scaled.iter().sum::<i64>() - max_width as i64;
        while off_by != 0 {
            let order: Vec<usize> = if off_by < 0 {
                (0..scaled.len()).rev().collect()
            } else {
                (0..scaled.len()).collect()
            };
            for i in order {
                if off_by > 0 {
                    scaled[i] -= 1;
                    off_by -= 1;
                } else {
                    scaled[i] += 1;
                    off_by += 1;
                }
                if off_by == 0 {
                    break;
                }
            }
        }
        scaled.into_iter().map(|w| w.max(0) as usize).collect()
    }

    fn total_width(&self, padding: usize, outer_padding: usize) -> usize {
        let border = 2;
        let total: usize = self
            .calculate_column_widths(0, None)
            .iter()
            .map(|w| w + padding)
            .sum::<usize>()
            + border
            + 2 * outer_padding;
        total.max(text_length(&self.title) + border + 2 * outer_padding)
    }

    fn add_header(&mut self, headers: Vec<String>) {
        self.update_max_widths(&headers);
        if self.num_cols.is_none() {
            self.num_cols = Some(headers.len());
        }
        self.headers = headers;
    }

    fn add_row(&mut self, row: Vec<String>) -> Result<(), TableError> {
        let expected = *self.num_cols.get_or_insert(row.len());
        if row.len() != expected {
            return Err(TableError(format!(
                "Row should have {expected} elements, instead it has {}",
                row.len()
            )));
        }
        self.update_max_widths(&row);
        self.rows.push(row);
        Ok(())
    }

    fn update_max_widths(&mut self, row: &[String]) {
        if self.max_widths.is_empty() {
            self.max_widths = row.iter().map(|e| text_length(e)).collect();
        } else {
            for (w, e) in self.max_widths.iter_mut().zip(row) {
                *w = (*w).max(text_length(e));
            }
        }
    }
}

/// Sections being built, then rendered.
struct MultiTable {
    sections: Vec<Section>,
    terminal_width: usize,
    styler: Styler,
}

fn spaces(n: i64) -> String {
    " ".repeat(n.max(0) as usize)
}

fn center_text(text: &str, length: usize, left: &str, right: &str, text_len: usize) -> String {
    let (length, text_len) = (length as i64, text_len as i64);
    let char_start = length.div_euclid(2) - text_len.div_euclid(2) - 1;
    let so_far = text_length(left) as i64 + char_start + text_len;
    let right_spaces = length - text_length(right) as i64 - so_far;
    format!(
        "{left}{}{text}{}{right}",
        spaces(char_start),
        spaces(right_spaces)
    )
}

fn align_left(text: &str, length: usize, left: &str, right: &str, text_len: usize) -> String {
    let length = length as i64;
    let computed = (text_len + 2 + text_length(left) + text_length(right)) as i64;
    let padding = if length - computed >= 0 { 2 } else { 0 };
    let so_far = left.chars().count() as i64 + padding + text_len as i64;
    format!(
        "{left}{}{text}{}{right}",
        spaces(padding),
        spaces(length - so_far - right.chars().count() as i64)
    )
}

fn line_break(widths: &[usize]) -> String {
    let mut line = String::new();
    for (i, w) in widths.iter().enumerate() {
        let dashes = if i == 0 {
            w.saturating_sub(2)
        } else {
            w.saturating_sub(1)
        };
        if i == 0 {
            line.push('+');
        }
        line.push_str(&"-".repeat(dashes));
        line.push('+');
    }
    line.push('\n');
    line
}

impl MultiTable {
    fn current(&mut self) -> Result<&mut Section, TableError> {
        self.sections
            .last_mut()
            .ok_or_else(|| TableError("'NoneType' object has no attribute 'add_row'".into()))
    }

    fn new_section(&mut self, title: &str, indent_level: usize) {
        self.sections.push(Section {
            title: title.to_string(),
            indent_level,
            ..Section::default()
        });
    }

    fn max_width(&self) -> usize {
        self.sections
            .iter()
            .map(|s| s.total_width(4, s.indent_level))
            .max()
            .unwrap_or(0)
    }

    fn render(&mut self, out: &mut dyn Write) -> io::Result<()> {
        let mut max_width = self.max_width();
        if max_width > self.terminal_width {
            self.convert_to_vertical();
            max_width = self.max_width();
        }
        writeln!(out, "{}", "-".repeat(max_width))?;
        for section in &self.sections {
            self.render_section(section, max_width, out)?;
        }
        Ok(())
    }

    /// One-row sections with headers become two-column key/value sections.
    fn convert_to_vertical(&mut self) {
        for section in &mut self.sections {
            if section.rows.len() == 1 && !section.headers.is_empty() {
                let mut vertical = Section {
                    title: section.title.clone(),
                    indent_level: section.indent_level,
                    ..Section::default()
                };
                for (header, element) in section.headers.iter().zip(&section.rows[0]) {
                    // Two cells per row, always: cannot fail.
                    let _ = vertical.add_row(vec![header.clone(), element.clone()]);
                }
                *section = vertical;
            }
        }
    }

    fn render_section(
        &self,
        section: &Section,
        max_width: usize,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let bar = self.styler.indentation_char().repeat(section.indent_level);
        // awscli's IndentedStream: bars before every write, and before each line's end.
        let mut line = |text: &str| -> io::Result<()> {
            out.write_all(bar.as_bytes())?;
            out.write_all(text.as_bytes())?;
            out.write_all(bar.as_bytes())?;
            out.write_all(b"\n")
        };
        let max_width = max_width.saturating_sub(section.indent_level * 2);
        if !section.title.is_empty() {
            line(&center_text(
                &section.title,
                max_width,
                "|",
                "|",
                text_length(&section.title),
            ))?;
            if section.headers.is_empty() && section.rows.is_empty() {
                line(&format!("+{}+", "-".repeat(max_width.saturating_sub(2))))?;
            }
        }
        if !section.headers.is_empty() {
            let widths = section.calculate_column_widths(4, Some(max_width));
            let mut current = String::new();
            for (i, (width, header)) in widths.iter().zip(&section.headers).enumerate() {
                let left = if i == 0 { "|" } else { "" };
                current.push_str(&center_text(header, *width, left, "|", text_length(header)));
            }
            line(line_break(&widths).trim_end_matches('\n'))?;
            line(&current)?;
        }
        if !section.rows.is_empty() {
            let widths = section.calculate_column_widths(4, Some(max_width));
            if widths.is_empty() {
                return Ok(());
            }
            line(line_break(&widths).trim_end_matches('\n'))?;
            for row in &section.rows {
                let mut current = String::new();
                for (i, (width, element)) in widths.iter().zip(row).enumerate() {
                    let left = if i == 0 { "|" } else { "" };
                    let styled = self.styler.row_element(element);
                    current.push_str(&align_left(
                        &styled,
                        *width,
                        left,
                        "|",
                        text_length(element),
                    ));
                }
                line(&current)?;
            }
            line(line_break(&widths).trim_end_matches('\n'))?;
        }
        Ok(())
    }
}

fn is_scalar(v: &Value) -> bool {
    !matches!(v, Value::Array(_) | Value::Object(_))
}

/// Python truthiness: what `if not current` skips.
fn is_falsy(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
    }
}

/// `str()` of a cell: scalars as Python prints them, containers as Python's repr.
fn cell(v: &Value) -> String {
    if is_scalar(v) {
        py_str(v).into_owned()
    } else {
        py_repr(v)
    }
}

fn group_scalar_keys(map: &Map<String, Value>) -> (Vec<String>, Vec<String>) {
    let mut headers: Vec<String> = map
        .iter()
        .filter(|(_, v)| is_scalar(v))
        .map(|(k, _)| k.clone())
        .collect();
    let mut more: Vec<String> = map
        .iter()
        .filter(|(_, v)| !is_scalar(v))
        .map(|(k, _)| k.clone())
        .collect();
    headers.sort();
    more.sort();
    (headers, more)
}

struct Builder {
    table: MultiTable,
}

impl Builder {
    fn build(
        &mut self,
        title: Option<&str>,
        current: &Value,
        indent_level: usize,
    ) -> Result<bool, TableError> {
        if is_falsy(current) {
            return Ok(false);
        }
        if let Some(title) = title {
            self.table.new_section(title, indent_level);
        }
        if let Value::Array(items) = current {
            if items[0].is_object() {
                self.sub_table_from_list(items, indent_level, title)?;
            } else {
                for item in items {
                    match item {
                        scalar if is_scalar(scalar) => {
                            self.table.current()?.add_row(vec![cell(scalar)])?
                        }
                        Value::Array(list) if list.iter().all(is_scalar) => {
                            self.table
                                .current()?
                                .add_row(list.iter().map(cell).collect())?
                        }
                        // Iterating a dict yields its keys, all scalars.
                        Value::Object(map) => self
                            .table
                            .current()?
                            .add_row(map.keys().cloned().collect())?,
                        other => {
                            self.build(None, other, 0)?;
                        }
                    }
                }
            }
        }
        if let Value::Object(map) = current {
            self.sub_table_from_dict(map, indent_level)?;
        }
        Ok(true)
    }

    fn sub_table_from_dict(
        &mut self,
        map: &Map<String, Value>,
        indent_level: usize,
    ) -> Result<(), TableError> {
        let (headers, more) = group_scalar_keys(map);
        if headers.len() == 1 {
            let row = vec![headers[0].clone(), cell(&map[&headers[0]])];
            self.table.current()?.add_row(row)?;
        } else if !headers.is_empty() {
            let row = headers.iter().map(|k| cell(&map[k])).collect();
            let section = self.table.current()?;
            section.add_header(headers);
            section.add_row(row)?;
        }
        for key in more {
            self.build(Some(&key), &map[&key], indent_level + 1)?;
        }
        Ok(())
    }

    fn sub_table_from_list(
        &mut self,
        items: &[Value],
        indent_level: usize,
        title: Option<&str>,
    ) -> Result<(), TableError> {
        let mut headers = std::collections::BTreeSet::new();
        let mut more = std::collections::BTreeSet::new();
        for item in items {
            let Value::Object(map) = item else {
                return Err(TableError(format!(
                    "'{}' object has no attribute 'get'",
                    python_type(item)
                )));
            };
            let (h, m) = group_scalar_keys(map);
            headers.extend(h);
            more.extend(m);
        }
        let headers: Vec<String> = headers.into_iter().collect();
        let more: Vec<String> = more.into_iter().collect();
        self.table.current()?.add_header(headers.clone());
        for (i, item) in items.iter().enumerate() {
            let Value::Object(map) = item else { continue };
            if i > 0 && !more.is_empty() {
                self.table.new_section(title.unwrap_or(""), indent_level);
                self.table.current()?.add_header(headers.clone());
            }
            let row = headers
                .iter()
                .map(|h| map.get(h).map_or_else(String::new, cell))
                .collect();
            self.table.current()?.add_row(row)?;
            for key in &more {
                if let Some(value) = map.get(key) {
                    self.build(Some(key), value, indent_level + 1)?;
                }
            }
        }
        Ok(())
    }
}

fn python_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}

/// Writes `response` as the AWS CLI's table titled `title` (the operation name), for a
/// terminal `terminal_width` columns wide. Writes nothing for an empty or false-y answer.
pub fn format_table(
    title: &str,
    response: &Value,
    terminal_width: usize,
    styler: Styler,
    out: &mut dyn Write,
) -> Result<io::Result<()>, TableError> {
    let mut builder = Builder {
        table: MultiTable {
            sections: Vec::new(),
            terminal_width,
            styler,
        },
    };
    if !builder.build(Some(title), response, 0)? {
        return Ok(Ok(()));
    }
    Ok(builder.table.render(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn table(v: &Value) -> String {
        let mut out = Vec::new();
        format_table("LookupEvents", v, 80, Styler::Plain, &mut out)
            .unwrap()
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    /// The spec's example (section 3.3), rendered by awscli 1.45.11.
    #[test]
    fn multiselect_hash_rows() {
        let v = json!([
            {"Id": "11111111-2222-3333-4444-555555555555", "Name": "TerminateInstances", "User": "alice", "Time": 1705287845.0},
            {"Id": "66666666-7777-8888-9999-000000000000", "Name": "Decrypt", "User": null, "Time": 1705284000.0},
        ]);
        let expected = "\
-----------------------------------------------------------------------------------------
|                                     LookupEvents                                      |
+---------------------------------------+----------------------+---------------+--------+
|                  Id                   |        Name          |     Time      | User   |
+---------------------------------------+----------------------+---------------+--------+
|  11111111-2222-3333-4444-555555555555 |  TerminateInstances  |  1705287845.0 |  alice |
|  66666666-7777-8888-9999-000000000000 |  Decrypt             |  1705284000.0 |  None  |
+---------------------------------------+----------------------+---------------+--------+
";
        assert_eq!(table(&v), expected);
    }

    #[test]
    fn empty_and_falsy_print_nothing() {
        assert_eq!(table(&json!([])), "");
        assert_eq!(table(&json!(0)), "");
        assert_eq!(table(&json!({})), "");
    }

    #[test]
    fn ragged_rows_fail_as_the_aws_cli_does() {
        let mut out = Vec::new();
        let err = format_table(
            "T",
            &json!([["a", "b"], ["c"]]),
            80,
            Styler::Plain,
            &mut out,
        )
        .unwrap_err();
        assert_eq!(err.0, "Row should have 2 elements, instead it has 1");
    }
}
