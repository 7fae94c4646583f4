//! The rules of a hunt, chosen and compiled once: rsigma's engine for the detection rules,
//! what each rule is (for the output and the summary), what each needs (for the prefilter and
//! the index), and the correlation rules with their base rules.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use rsigma_eval::{CorrelationConfig, CorrelationEngine, CorrelationEventMode, Engine};
use rsigma_parser::{CorrelationRule, Level, SigmaCollection, SigmaRule, Status};
use trailscan_query::{Clause, Prefilter};
use trailscan_records::AttributeKey;

use crate::event::RecordEvent;
use crate::load::{read_rule_files, read_rule_text, LoadError, Origin, Refusal, RuleFiles};
use crate::requirements::{is_on, most_selective, rule_needs, Need, Term};
use crate::rewrite::{check_windash, expand_placeholders, rewrite};

/// A clause of a rule's need as the prefilter looks for it.
enum Spelled {
    /// Every term an exact `eventName`: the records' `eventName` members are read and looked
    /// up among these values, not searched for (SigmaHQ's 57 rules name more event names than
    /// the 64 patterns aho-corasick's SIMD search takes).
    EventName(Vec<String>),
    /// Any of these needles ([`Term::needles`]).
    Needles(Vec<String>),
}

impl Spelled {
    fn of(clause: &[Term]) -> Spelled {
        if is_on(clause, "eventName") && clause.iter().all(|t| t.exact) {
            let mut names: Vec<String> = clause.iter().map(|t| t.needle.clone()).collect();
            names.sort();
            names.dedup();
            return Spelled::EventName(names);
        }
        let mut needles: Vec<String> = clause.iter().flat_map(Term::needles).collect();
        needles.sort();
        needles.dedup();
        Spelled::Needles(needles)
    }

    fn clause(&self) -> Clause<'_> {
        match self {
            Spelled::EventName(names) => Clause::Equals {
                key: "eventName",
                values: names.iter().map(String::as_bytes).collect(),
            },
            Spelled::Needles(needles) => {
                Clause::Needles(needles.iter().map(String::as_bytes).collect())
            }
        }
    }
}

/// Which of the loaded rules run (`--min-level`, `--status`, `--rule-id`); all by default.
#[derive(Debug, Clone, Default)]
pub struct RuleChoice {
    /// The lowest level run; a rule without a level is below every level.
    pub min_level: Option<Level>,
    /// The statuses run (any, when empty).
    pub statuses: Vec<Status>,
    /// The rule ids run (any, when empty); a correlation chosen brings its base rules.
    pub rule_ids: Vec<String>,
    /// The values of `expand`'s placeholders (`--placeholders`), by name.
    pub placeholders: BTreeMap<String, Vec<String>>,
}

/// The custom attribute that carries a rule's position here through rsigma's results.
const POSITION: &str = "trailscan.position";

/// A rule as the output names it.
#[derive(Debug, Clone)]
pub struct RuleInfo {
    /// `title`.
    pub title: String,
    /// `id`.
    pub id: Option<String>,
    /// `level`.
    pub level: Option<Level>,
    /// `author` (the Detection Rule License asks that a match keep it).
    pub author: Option<String>,
    /// Where it was read.
    pub origin: Origin,
    /// Its matches are printed; `false` for a base rule that a correlation uses with
    /// `generate: false` (Sigma's default), or that only a chosen correlation brought in.
    pub printed: bool,
    /// A correlation's base rule: its matches keep their record for the correlation phase
    /// (the matches of other rules cannot move a correlation).
    pub base: bool,
}

/// The rules of a hunt.
pub struct HuntRules {
    engine: Engine,
    /// The detection rules, in the order loaded.
    pub rules: Vec<RuleInfo>,
    /// What each detection rule needs (`None`: nothing, every record is a candidate).
    needs: Vec<Option<Need>>,
    /// The correlation rules, in the order loaded.
    pub correlations: Vec<RuleInfo>,
    /// What a correlation engine is built from, after the scan.
    correlation_set: SigmaCollection,
}

/// What loading found.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Rule files read.
    pub files: usize,
    /// Detection rules for other log sources, passed over.
    pub passed_over: usize,
    /// Rules left out by `--min-level`, `--status` or `--rule-id`.
    pub not_chosen: usize,
    /// Rules that cannot run, each with its file, line and why.
    pub refused: Vec<Refusal>,
    /// Rules that run, with warnings about their metadata.
    pub warnings: Vec<Refusal>,
}

impl HuntRules {
    /// Reads, chooses and compiles the rules under `paths`.
    pub fn load(
        paths: &[PathBuf],
        choice: &RuleChoice,
    ) -> Result<(HuntRules, LoadReport), LoadError> {
        Ok(HuntRules::from_files(read_rule_files(paths)?, choice))
    }

    /// The rules of one rule file's `text` (for tests and fuzzing: the file is not read).
    pub fn from_text(file: &Path, text: &str, choice: &RuleChoice) -> (HuntRules, LoadReport) {
        let mut files = RuleFiles {
            files: 1,
            ..RuleFiles::default()
        };
        read_rule_text(file, text, &mut files);
        HuntRules::from_files(files, choice)
    }

    fn from_files(files: RuleFiles, choice: &RuleChoice) -> (HuntRules, LoadReport) {
        let mut report = LoadReport {
            files: files.files,
            passed_over: files.passed_over,
            refused: files.refused,
            warnings: files.warnings,
            ..LoadReport::default()
        };
        let mut rules = files.rules;
        let mut correlations = files.correlations;
        name_by_title(&mut rules, &mut correlations);
        // Correlations first: a chosen one brings in its base rules.
        correlations.retain(|(c, _)| {
            let chosen = choice.wants(c.level, c.status, c.id.as_deref());
            report.not_chosen += usize::from(!chosen);
            chosen
        });
        let (correlations, refused) = resolvable(&rules, correlations);
        report.refused.extend(refused);
        let referenced: HashSet<&str> = correlations
            .iter()
            .flat_map(|(c, _)| c.rules.iter().map(String::as_str))
            .collect();
        let silent: HashSet<&str> = correlations
            .iter()
            .filter(|(c, _)| !c.generate)
            .flat_map(|(c, _)| c.rules.iter().map(String::as_str))
            .collect();
        let names =
            |r: &SigmaRule| -> Vec<String> { r.id.iter().chain(&r.name).cloned().collect() };
        let mut kept = Vec::new();
        for (rule, origin) in rules.drain(..) {
            let keys = names(&rule);
            let base = keys.iter().any(|k| referenced.contains(k.as_str()));
            let chosen = choice.wants(rule.level, rule.status, rule.id.as_deref());
            if !chosen && !base {
                report.not_chosen += 1;
                continue;
            }
            let printed = chosen && !keys.iter().any(|k| silent.contains(k.as_str()));
            kept.push((rule, origin, printed, base));
        }
        let mut hunt = HuntRules {
            engine: Engine::new(),
            rules: Vec::new(),
            needs: Vec::new(),
            correlations: Vec::new(),
            correlation_set: SigmaCollection::new(),
        };
        for (mut rule, origin, printed, base) in kept {
            rewrite(&mut rule);
            let checked = check_windash(&mut rule)
                .and_then(|()| expand_placeholders(&mut rule, &choice.placeholders));
            if let Err(why) = checked {
                report.refused.push(Refusal { origin, why });
                continue;
            }
            let position = hunt.rules.len() as u64;
            rule.custom_attributes
                .insert(POSITION.into(), yaml_serde::Value::Number(position.into()));
            if let Err(e) = hunt.engine.add_rule(&rule) {
                report.refused.push(Refusal {
                    origin,
                    why: e.to_string(),
                });
                continue;
            }
            hunt.rules.push(RuleInfo {
                title: rule.title.clone(),
                id: rule.id.clone(),
                level: rule.level,
                author: rule.author.clone(),
                origin,
                printed,
                base,
            });
            hunt.needs.push(rule_needs(&rule));
            hunt.correlation_set.rules.push(rule);
        }
        for (mut correlation, origin) in correlations {
            let position = hunt.correlations.len() as u64;
            correlation
                .custom_attributes
                .insert(POSITION.into(), yaml_serde::Value::Number(position.into()));
            hunt.correlations.push(RuleInfo {
                title: correlation.title.clone(),
                id: correlation.id.clone(),
                level: correlation.level,
                author: correlation.author.clone(),
                origin,
                printed: true,
                base: false,
            });
            hunt.correlation_set.correlations.push(correlation);
        }
        // A correlation that cannot compile (a cycle, a bad condition) is refused with the
        // others: rsigma checks them together.
        if let Err(e) = hunt.correlation_engine() {
            for info in hunt.correlations.drain(..) {
                report.refused.push(Refusal {
                    origin: info.origin,
                    why: e.to_string(),
                });
            }
            hunt.correlation_set.correlations.clear();
            hunt.rules.iter_mut().for_each(|rule| rule.base = false);
        }
        (hunt, report)
    }

    /// The positions of the detection rules `event` matches.
    pub fn matches(&self, event: &RecordEvent<'_, '_>) -> Vec<usize> {
        self.engine
            .evaluate(event)
            .iter()
            .filter_map(|m| position(&m.header.custom_attributes))
            .collect()
    }

    /// [`HuntRules::matches`] among the rules at `positions` only: those whose every clause
    /// holds in the record's text ([`trailscan_query::Prefilter::alternatives_in`]).
    /// The others cannot match, and rsigma's engine would still look each one over.
    pub fn matches_among(&self, event: &RecordEvent<'_, '_>, positions: &[usize]) -> Vec<usize> {
        // Rules are added to the engine in their positions' order, one each.
        let compiled = self.engine.rules();
        debug_assert_eq!(compiled.len(), self.rules.len());
        (positions.iter())
            .filter_map(|&p| rsigma_eval::evaluate_rule(compiled.get(p)?, event))
            .filter_map(|m| position(&m.header.custom_attributes))
            .collect()
    }

    /// Whether any correlation rule runs.
    pub fn correlates(&self) -> bool {
        !self.correlations.is_empty()
    }

    /// A correlation engine over these rules, its state empty, keeping each correlation's
    /// members by `eventID`.
    pub(crate) fn correlation_engine(&self) -> Result<CorrelationEngine, rsigma_eval::EvalError> {
        let config = CorrelationConfig {
            correlation_event_mode: CorrelationEventMode::Refs,
            max_correlation_events: MAX_MEMBERS_KEPT,
            max_state_entries: usize::MAX,
            ..CorrelationConfig::default()
        };
        let mut engine = CorrelationEngine::new(config);
        engine.add_collection(&self.correlation_set)?;
        Ok(engine)
    }

    /// The prefilter the rules allow: text that lacks, for every rule, a value of one of the
    /// rule's clauses (in any ASCII case) is not parsed. Inactive when a rule needs nothing
    /// ([`Self::unbounded`]).
    pub fn prefilter(&self) -> Prefilter {
        let spelled: Option<Vec<Vec<Spelled>>> = (self.needs.iter())
            .map(|need| {
                let need = need.as_ref()?;
                let named = need.iter().any(|clause| is_on(clause, "eventName"));
                // Beside an event name, an event source rules out little (every call to the
                // service holds it) and costs a match at each: it is not looked for.
                let selective = need
                    .iter()
                    .filter(|clause| !(named && is_on(clause, "eventSource")));
                Some(selective.map(|clause| Spelled::of(clause)).collect())
            })
            .collect();
        let Some(spelled) = spelled else {
            return Prefilter::any_of_ignoring_case(&[]);
        };
        let alternatives: Vec<Vec<Clause<'_>>> = (spelled.iter())
            .map(|clauses| clauses.iter().map(Spelled::clause).collect())
            .collect();
        Prefilter::clauses_ignoring_case(&alternatives)
    }

    /// The rules that need no particular value, so that every record is a candidate.
    pub fn unbounded(&self) -> Vec<&RuleInfo> {
        self.rules
            .iter()
            .zip(&self.needs)
            .filter(|(_, need)| need.is_none())
            .map(|(info, _)| info)
            .collect()
    }

    /// The index values (attribute, value) that some rule needs, one of which every matching
    /// record holds; or the rules that need something an index cannot probe (then a hunt
    /// reads every file).
    pub fn index_probes(&self) -> Result<Vec<(AttributeKey, String)>, Vec<&RuleInfo>> {
        let mut probes = Vec::new();
        let mut unprobed = Vec::new();
        for (info, need) in self.rules.iter().zip(&self.needs) {
            let clause = need.as_ref().and_then(most_selective);
            let keys: Option<Vec<(AttributeKey, String)>> = clause.and_then(|terms| {
                terms
                    .iter()
                    .map(|t| t.index_key().map(|k| (k, t.needle.clone())))
                    .collect()
            });
            match keys {
                Some(keys) => probes.extend(keys),
                None => unprobed.push(info),
            }
        }
        match unprobed.is_empty() {
            true => {
                probes.sort();
                probes.dedup();
                Ok(probes)
            }
            false => Err(unprobed),
        }
    }
}

/// The most members of one correlation's window kept (for `EventIds`); a window with more
/// lists its latest ones and says how many it had.
pub const MAX_MEMBERS_KEPT: usize = 10_000;

/// A rule's position, from the custom attribute set when it was loaded.
pub(crate) fn position(
    attributes: &std::collections::HashMap<String, serde_json::Value>,
) -> Option<usize> {
    attributes.get(POSITION)?.as_u64().map(|p| p as usize)
}

impl RuleChoice {
    fn wants(&self, level: Option<Level>, status: Option<Status>, id: Option<&str>) -> bool {
        let level_ok = self
            .min_level
            .is_none_or(|min| level.is_some_and(|l| rank(l) >= rank(min)));
        let status_ok =
            self.statuses.is_empty() || status.is_some_and(|s| self.statuses.contains(&s));
        let id_ok =
            self.rule_ids.is_empty() || id.is_some_and(|id| self.rule_ids.iter().any(|w| w == id));
        level_ok && status_ok && id_ok
    }
}

/// Levels in order.
pub fn rank(level: Level) -> u8 {
    match level {
        Level::Informational => 0,
        Level::Low => 1,
        Level::Medium => 2,
        Level::High => 3,
        Level::Critical => 4,
    }
}

/// Every id and name of `rules` and `correlations`: what a correlation may name.
fn known_names(
    rules: &[(SigmaRule, Origin)],
    correlations: &[(CorrelationRule, Origin)],
) -> HashSet<String> {
    let rules = rules.iter().flat_map(|(r, _)| r.id.iter().chain(&r.name));
    let correlations = correlations
        .iter()
        .flat_map(|(c, _)| c.id.iter().chain(&c.name));
    rules.chain(correlations).cloned().collect()
}

/// Suzaku's correlation rules name their base rules by title, where Sigma says `id` or
/// `name`: a reference that is no rule's id or name but exactly one rule's title becomes
/// that rule's id (or name; a rule with neither is given its title as name), so that such
/// rule sets run as written.
fn name_by_title(
    rules: &mut [(SigmaRule, Origin)],
    correlations: &mut [(CorrelationRule, Origin)],
) {
    let known = known_names(rules, correlations);
    for (correlation, _) in correlations.iter_mut() {
        for reference in &mut correlation.rules {
            if known.contains(reference.as_str()) {
                continue;
            }
            let mut titled = rules.iter_mut().filter(|(r, _)| r.title == *reference);
            let (Some((rule, _)), None) = (titled.next(), titled.next()) else {
                continue;
            };
            let key = rule.id.clone().or_else(|| rule.name.clone());
            *reference = key.unwrap_or_else(|| {
                rule.name = Some(rule.title.clone());
                rule.title.clone()
            });
        }
    }
}

/// The correlations whose every reference names a loaded CloudTrail rule or correlation;
/// the others refused, naming the reference.
fn resolvable(
    rules: &[(SigmaRule, Origin)],
    correlations: Vec<(CorrelationRule, Origin)>,
) -> (Vec<(CorrelationRule, Origin)>, Vec<Refusal>) {
    let known = known_names(rules, &correlations);
    let mut kept = Vec::new();
    let mut refused = Vec::new();
    for (correlation, origin) in correlations {
        match correlation.rules.iter().find(|r| !known.contains(*r)) {
            None => kept.push((correlation, origin)),
            Some(missing) => refused.push(Refusal {
                origin,
                why: format!(
                    "correlation `{}` names rule `{missing}`, which is not a CloudTrail rule loaded (by id, name or title)",
                    correlation.title
                ),
            }),
        }
    }
    (kept, refused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use trailscan_query::Candidates;
    use trailscan_records::RecordParser;

    /// What the rules match in `record`, and what the prefilter says of it.
    fn matched_and_told(rule: &str, record: &str) -> (Vec<usize>, bool, Candidates) {
        let (rules, report) =
            HuntRules::from_text(Path::new("t.yml"), rule, &RuleChoice::default());
        assert!(report.refused.is_empty(), "{:?}", report.refused);
        let matched = RecordParser::default()
            .parse(record.as_bytes(), |r| {
                rules.matches(&RecordEvent::new(r.value()))
            })
            .unwrap();
        let prefilter = rules.prefilter();
        let told = prefilter.alternatives_in(record.as_bytes(), &mut Vec::new());
        (matched, prefilter.may_match(record.as_bytes()), told)
    }

    /// An event name read from its member, an array of names included (a rule matches an
    /// array when one element does), and an exact value in its quotes.
    #[test]
    fn the_prefilter_keeps_what_the_rules_match() {
        let rules = "title: a\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  sel:\n    eventName: DeleteTrail\n  condition: sel\n---\ntitle: b\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  sel:\n    userIdentity.type: Root\n    eventName: ConsoleLogin\n  condition: sel\n";
        let cases = [
            (
                r#"{"eventTime":"2024-01-01T00:00:00Z","eventName":["DeleteTrail"]}"#,
                vec![0],
            ),
            (
                r#"{"eventTime":"2024-01-01T00:00:00Z","eventName" : "deletetrail"}"#,
                vec![0],
            ),
            (
                r#"{"eventTime":"2024-01-01T00:00:00Z","eventName":"ConsoleLogin","userIdentity":{"type":"ROOT"}}"#,
                vec![1],
            ),
        ];
        for (record, expected) in cases {
            let (matched, may, told) = matched_and_told(rules, record);
            assert_eq!(matched, expected, "{record}");
            assert!(may && told != Candidates::None, "{record} ruled out");
        }
        // The value elsewhere than where the rule looks: ruled out.
        let arn = r#"{"eventTime":"2024-01-01T00:00:00Z","eventName":"ConsoleLogin","userIdentity":{"arn":"arn:aws:iam::1:root"}}"#;
        let (matched, may, _) = matched_and_told(rules, arn);
        assert!(matched.is_empty() && !may);
    }
}
