//! One line of a hunt's answer, a detection or a correlation firing, as every output format
//! serializes it (JSON lines as it is, CSV and the documents through its JSON value).

use serde::Serialize;
use serde_json::{json, Map, Value};
use trailscan_hunt::{CorrelationHit, Detection, RuleInfo};
use trailscan_records::EventTime;

/// One line of the answer: a detection or a correlation firing, borrowed from the run.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Line<'a> {
    pub(super) r#type: &'static str,
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

/// The line of detection `d` of `rule`, its object key as `display_key` names it.
pub(super) fn detection_line<'a>(
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

/// The line of correlation `c` of `rule`.
pub(super) fn correlation_line<'a>(rule: &'a RuleInfo, c: &'a CorrelationHit) -> Line<'a> {
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
