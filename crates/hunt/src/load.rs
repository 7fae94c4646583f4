//! Rule files to parsed rules: every `*.yml`/`*.yaml` under the paths given, each YAML
//! document parsed on its own (so that a refusal names the file and the line it starts at),
//! CloudTrail's kept, the others passed over and counted.

use std::path::{Path, PathBuf};

use rsigma_parser::{parse_sigma_yaml, CorrelationRule, Detection, SigmaCollection, SigmaRule};

use crate::rewrite::temporal_needs_every_rule;

/// A rule file larger than this is refused unread (SigmaHQ's largest is a few KiB; a YAML
/// bomb's expansion is bounded by rsigma's YAML reader, its input by this).
pub const MAX_RULE_FILE_BYTES: u64 = 1 << 20;

/// Folders followed at most below a `--rules` folder (a link loop ends here).
const MAX_FOLDER_DEPTH: usize = 32;

/// Where a rule came from: its file and the line its YAML document starts at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The rule file, as found under the path given.
    pub file: PathBuf,
    /// The first line of its YAML document (1-based).
    pub line: usize,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// A rule document that cannot be run, and why; the other rules still run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// Where it is.
    pub origin: Origin,
    /// What is wrong with it.
    pub why: String,
}

/// A path given to `--rules` that cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The path does not exist or cannot be read.
    #[error("--rules {path}: {source}")]
    Unreadable {
        /// The path as given.
        path: String,
        /// The reason.
        source: std::io::Error,
    },
}

/// The rule documents read, before they are chosen and compiled.
#[derive(Debug, Default)]
pub struct RuleFiles {
    /// Detection rules for CloudTrail (`logsource: product: aws, service: cloudtrail`).
    pub rules: Vec<(SigmaRule, Origin)>,
    /// Correlation rules (they name their base rules; they have no logsource).
    pub correlations: Vec<(CorrelationRule, Origin)>,
    /// Rule files read.
    pub files: usize,
    /// Detection rules for other log sources, passed over.
    pub passed_over: usize,
    /// Documents that cannot be run.
    pub refused: Vec<Refusal>,
    /// Parsed with warnings about their metadata (`related`, `level`...): run all the same.
    pub warnings: Vec<Refusal>,
}

impl RuleFiles {
    /// Records that the document at `file`:`line` cannot run, and why.
    fn refuse(&mut self, file: &Path, line: usize, why: String) {
        let origin = Origin {
            file: file.to_path_buf(),
            line,
        };
        self.refused.push(Refusal { origin, why });
    }
}

/// Reads every rule file under `paths` (files, or folders searched recursively for
/// `*.yml`/`*.yaml`, in name order).
pub fn read_rule_files(paths: &[PathBuf]) -> Result<RuleFiles, LoadError> {
    let mut files = Vec::new();
    for path in paths {
        let unreadable = |source| LoadError::Unreadable {
            path: path.display().to_string(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(unreadable)?;
        match meta.is_dir() {
            true => rule_files_under(path, 0, &mut files).map_err(unreadable)?,
            false => files.push(path.clone()),
        }
    }
    let mut read = RuleFiles::default();
    for file in files {
        read.files += 1;
        read_rule_file(&file, &mut read);
    }
    Ok(read)
}

fn rule_files_under(folder: &Path, depth: usize, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if depth > MAX_FOLDER_DEPTH {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(folder)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rule_files_under(&path, depth + 1, out)?;
        } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            out.push(path);
        }
    }
    Ok(())
}

fn read_rule_file(file: &Path, read: &mut RuleFiles) {
    let refuse = |read: &mut RuleFiles, line: usize, why: String| read.refuse(file, line, why);
    let bytes = match std::fs::metadata(file) {
        Ok(m) if m.len() > MAX_RULE_FILE_BYTES => {
            let why = format!(
                "{} bytes: larger than a rule file can be ({MAX_RULE_FILE_BYTES} bytes)",
                m.len()
            );
            return refuse(read, 1, why);
        }
        _ => match std::fs::read(file) {
            Ok(bytes) => bytes,
            Err(e) => return refuse(read, 1, format!("cannot be read: {e}")),
        },
    };
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let line = 1 + e.as_bytes()[..valid]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            return refuse(read, line, "not UTF-8 text".into());
        }
    };
    read_rule_text(file, &text, read);
}

/// Reads the rule documents of `text`, the contents of `file`, into `read`.
pub fn read_rule_text(file: &Path, text: &str, read: &mut RuleFiles) {
    let at = |line: usize| Origin {
        file: file.to_path_buf(),
        line,
    };
    let refuse = |read: &mut RuleFiles, line: usize, why: String| read.refuse(file, line, why);
    for (line, document) in yaml_documents(text) {
        let collection = match parse_document(document) {
            Ok(collection) => collection,
            Err(why) => {
                let why = match sigma1_condition(document) {
                    Some(old) => old,
                    None => why,
                };
                refuse(read, line, why);
                continue;
            }
        };
        let parsed = collection.rules.len() + collection.correlations.len();
        if parsed == 0 {
            let action = document.lines().any(|l| l.starts_with("action:"));
            let why = match (collection.errors.is_empty(), action) {
                (_, true) => "collection actions (`action: global`, `repeat`, `reset`) are Sigma 1 syntax: write each rule whole".to_string(),
                (true, false) => "no detection or correlation rule in this document".to_string(),
                (false, false) => sigma1_condition(document)
                    .unwrap_or_else(|| one_line(&collection.errors.join("; "))),
            };
            refuse(read, line, why);
            continue;
        }
        for warning in collection.errors {
            read.warnings.push(Refusal {
                origin: at(line),
                why: warning,
            });
        }
        for mut rule in collection.rules {
            // rsigma reads `rsigma.*` attributes (suppression, actions) engine-wide: one rule
            // of a pack must not change how every other one fires.
            rule.custom_attributes
                .retain(|k, _| !k.starts_with("rsigma."));
            let twice = rule.id.as_ref().and_then(|id| {
                let (_, first) = read.rules.iter().find(|(r, _)| r.id.as_ref() == Some(id))?;
                Some(format!("rule id {id} was loaded already, from {first}"))
            });
            let unsupported = twice
                .or_else(|| sigma1_syntax(&rule))
                .or_else(|| array_blocks(&rule));
            if let Some(why) = unsupported {
                refuse(read, line, why);
            } else if is_cloudtrail(&rule) {
                read.rules.push((rule, at(line)));
            } else {
                read.passed_over += 1;
            }
        }
        for mut correlation in collection.correlations {
            correlation
                .custom_attributes
                .retain(|k, _| !k.starts_with("rsigma."));
            if !names_a_condition(document) {
                temporal_needs_every_rule(&mut correlation);
            }
            read.correlations.push((correlation, at(line)));
        }
    }
}

/// Whether a correlation document writes `correlation: condition:` (rsigma's parse does not
/// tell a temporal correlation's default from `gte: 1`).
fn names_a_condition(document: &str) -> bool {
    yaml_serde::from_str::<yaml_serde::Value>(document)
        .ok()
        .and_then(|doc| doc.get("correlation")?.get("condition").cloned())
        .is_some()
}

/// One YAML document, parsed; filters (`filter:`) and collection actions are refused.
fn parse_document(document: &str) -> Result<SigmaCollection, String> {
    let collection = parse_sigma_yaml(document).map_err(|e| one_line(&e.to_string()))?;
    if !collection.filters.is_empty() {
        return Err("filter rules are not run by `trailscan hunt`; put the exclusion in the rule's condition".into());
    }
    Ok(collection)
}

/// Array blocks (`field[any]:`) and bracketed field paths, rsigma's extension: they need the
/// members of an array as objects, which a record's event view gives as JSON text.
fn array_blocks(rule: &SigmaRule) -> Option<String> {
    fn has_blocks(d: &Detection) -> bool {
        match d {
            Detection::ArrayMatch { .. } | Detection::Conditional { .. } => true,
            Detection::AnyOf(subs) | Detection::And(subs) => subs.iter().any(has_blocks),
            Detection::AllOf(items) => items.iter().any(|i| {
                i.field
                    .name
                    .as_deref()
                    .is_some_and(|n| n.contains(['[', '\\']))
            }),
            Detection::Keywords(_) => false,
        }
    }
    rule.detection
        .named
        .values()
        .any(has_blocks)
        .then(|| "array blocks (`field[any]:`) and bracketed field paths are not supported: name the field with dots (`resources.ARN`), which matches when any element does".to_string())
}

/// Sigma 1 aggregation syntax, which Sigma 2.1 replaced with correlation rules.
fn sigma1_syntax(rule: &SigmaRule) -> Option<String> {
    if rule.detection.timeframe.is_some() {
        return Some("`timeframe` in a detection is Sigma 1 aggregation syntax; write a correlation rule (Sigma 2.1) instead".into());
    }
    rule.detection
        .condition_strings
        .iter()
        .find_map(|c| sigma1_aggregation(c))
}

/// The message for a condition with Sigma 1 aggregation (`| count()`, `near`), if it has it.
fn sigma1_aggregation(condition: &str) -> Option<String> {
    let old = condition.contains('|') || condition.split_whitespace().any(|w| w == "near");
    old.then(|| format!(
        "condition `{condition}` uses Sigma 1 aggregation syntax (`| count()`, `near`); write a correlation rule (Sigma 2.1) instead"
    ))
}

/// The Sigma 1 message for a document whose `condition:` line has aggregation syntax
/// (rsigma's parser refuses such a condition before a rule exists to look at).
fn sigma1_condition(document: &str) -> Option<String> {
    document
        .lines()
        .filter_map(|l| l.trim_start().strip_prefix("condition:"))
        .find_map(|c| sigma1_aggregation(c.trim()))
}

/// A parser's message on one line (pest draws the condition and a caret over several).
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether a rule reads CloudTrail: `product: aws` and `service: cloudtrail` (any case).
fn is_cloudtrail(rule: &SigmaRule) -> bool {
    let is =
        |v: &Option<String>, want: &str| v.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(want));
    is(&rule.logsource.product, "aws") && is(&rule.logsource.service, "cloudtrail")
}

/// The YAML documents of `text` (split at `---` lines), each with the line it starts at;
/// documents of only blank lines and comments are left out.
fn yaml_documents(text: &str) -> Vec<(usize, &str)> {
    let mut documents = Vec::new();
    let (mut start, mut start_line) = (0, 1);
    let mut offset = 0;
    for (number, line) in text.split_inclusive('\n').enumerate() {
        let bare = line.trim_end();
        if bare == "---" || bare.starts_with("--- ") || bare == "..." {
            documents.push((start_line, &text[start..offset]));
            start = offset + line.len();
            start_line = number + 2;
        }
        offset += line.len();
    }
    documents.push((start_line, &text[start..]));
    documents
        .into_iter()
        .filter(|(_, d)| {
            d.lines()
                .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        })
        .map(|(line, d)| {
            // Point at the document's first line of content.
            let skipped = d
                .lines()
                .take_while(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
                .count();
            (line + skipped, d)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_start_where_their_content_does() {
        let text = "# c\ntitle: a\n---\n\ntitle: b\n...\n---\n# only a comment\n";
        let docs = yaml_documents(text);
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].0, 2);
        assert_eq!(docs[1].0, 5);
        assert!(docs[1].1.contains("title: b"));
    }
}
