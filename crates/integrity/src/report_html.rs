//! `validate-logs --report-html FILE`: the validation report as one self-contained HTML page
//! an auditor can hand over. It is drawn from the same document as `--report` (so the two
//! never disagree): the verdict, what produced it, each chain's counts, a coverage map (one
//! square per chain and UTC day: valid, INVALID, gap, nothing delivered), and every finding.
//! No script, no network, no external style: it prints and reads the same anywhere.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;
use trailscan_layout::time::{civil_from_days, parse_rfc3339};

/// What one day of one chain shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Day {
    /// No valid digest covers any of it, and nothing is wrong: logging off, or outside the
    /// chain's life.
    Nothing,
    /// Valid digests cover some of it.
    Valid,
    /// A gap in the chain (no digest between two times) falls in it.
    Gap,
    /// Something INVALID: a digest, a log file, a link, a log file no digest lists.
    Invalid,
}

impl Day {
    fn class(self) -> &'static str {
        match self {
            Day::Nothing => "none",
            Day::Valid => "valid",
            Day::Gap => "gap",
            Day::Invalid => "invalid",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Day::Nothing => "no digests",
            Day::Valid => "valid",
            Day::Gap => "gap in the chain",
            Day::Invalid => "INVALID",
        }
    }
}

/// The longest span a chain's map draws (about 27 years): a window from the epoch, or a
/// damaged record, does not make a page of millions of squares.
const MAX_DAYS: i64 = 10_000;

/// Days since the epoch of an RFC 3339 time.
fn day_of(text: &str) -> Option<i64> {
    parse_rfc3339(text).map(|(secs, _)| secs.div_euclid(86_400))
}

/// `YYYY-MM-DD` of a day.
fn day_name(day: i64) -> String {
    let (y, m, d) = civil_from_days(day);
    format!("{y:04}-{m:02}-{d:02}")
}

/// The delivery day of an `s3://BUCKET/…/YYYY/MM/DD/FILE` (its folders).
fn day_of_key(s3: &str) -> Option<i64> {
    let parts: Vec<&str> = s3.rsplit('/').skip(1).take(3).collect();
    let [d, m, y] = parts[..] else { return None };
    day_of(&format!("{y}-{m}-{d}T00:00:00Z"))
}

/// HTML text: `&`, `<`, `>` and quotes escaped.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn str_of<'v>(v: &'v Value, key: &str) -> &'v str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn items<'v>(v: &'v Value, key: &str) -> &'v [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// Each day of a chain's window, and what it shows.
fn chain_days(chain: &Value) -> BTreeMap<i64, Day> {
    let result = &chain["result"];
    let mut days = BTreeMap::new();
    let window = &chain["window"];
    let (Some(first), Some(last)) = (day_of(str_of(window, "from")), day_of(str_of(window, "to")))
    else {
        return days;
    };
    // A window from the epoch (no digest yet) or years wide is drawn from the first day
    // anything was found, so that the map stays readable.
    let found = items(result, "digests")
        .iter()
        .filter_map(|d| day_of(str_of(d, "start")))
        .min();
    let first = found.map_or(first, |f| f.max(first));
    let mut marks: Vec<(i64, Day)> = Vec::new();
    let mut mark = |day: Option<i64>, what: Day| marks.extend(day.map(|d| (d, what)));
    for (key, what) in [("covered", Day::Valid), ("gaps", Day::Gap)] {
        for span in items(result, key) {
            let (from, to) = (day_of(str_of(span, "from")), day_of(str_of(span, "to")));
            if let (Some(a), Some(b)) = (from, to) {
                for day in a..=b.min(a + MAX_DAYS) {
                    mark(Some(day), what);
                }
            }
        }
    }
    for digest in items(result, "digests").iter().filter(|d| is_invalid(d)) {
        let day = day_of(str_of(digest, "end")).or_else(|| day_of_key(str_of(digest, "s3")));
        mark(day, Day::Invalid);
    }
    for log in items(result, "logs").iter().filter(|l| is_invalid(l)) {
        mark(day_of_key(str_of(log, "s3")), Day::Invalid);
    }
    for link in items(result, "links_invalid") {
        mark(day_of_key(str_of(link, "digest")), Day::Invalid);
    }
    for log in items(result, "logs_not_listed") {
        mark(day_of_key(str_of(log, "s3")), Day::Invalid);
    }
    // Every finding's day is drawn, even outside the window or before the first valid digest
    // (deleted oldest digests): a FAIL never shows an all-green map. At most MAX_DAYS, the
    // latest.
    let findings = marks.iter().filter(|(_, what)| *what > Day::Valid);
    let first = findings.map(|(d, _)| *d).fold(first, i64::min);
    let last = marks.iter().map(|(d, _)| *d).fold(last, i64::max);
    let first = first.max(last - MAX_DAYS);
    for day in first..=last.max(first) {
        days.insert(day, Day::Nothing);
    }
    for (day, what) in marks {
        if let Some(status) = days.get_mut(&day) {
            *status = (*status).max(what);
        }
    }
    days
}

fn is_invalid(item: &Value) -> bool {
    str_of(item, "verdict") == "INVALID"
}

/// The findings of a chain, one line each: what and why.
fn findings(chain: &Value) -> Vec<String> {
    let result = &chain["result"];
    let mut lines = Vec::new();
    for digest in items(result, "digests")
        .iter()
        .filter(|d| str_of(d, "verdict") != "valid")
    {
        lines.push(format!(
            "Digest {}: {}",
            str_of(digest, "s3"),
            verdict_text(digest)
        ));
    }
    for log in items(result, "logs").iter().filter(|l| is_invalid(l)) {
        lines.push(format!(
            "Log file {}: {}",
            str_of(log, "s3"),
            verdict_text(log)
        ));
    }
    for gap in items(result, "gaps") {
        lines.push(format!(
            "No digest from {} to {} (logging or validation was off)",
            str_of(gap, "from"),
            str_of(gap, "to")
        ));
    }
    if let Some(mismatch) = result["state"]["mismatch"].as_str() {
        lines.push(format!("Does not continue the --state: {mismatch}"));
    }
    for (what, key, place) in [
        ("Link between digests INVALID", "links_invalid", "digest"),
        ("Log file no digest lists", "logs_not_listed", "s3"),
    ] {
        for finding in items(result, key) {
            let (at, why) = (str_of(finding, place), str_of(finding, "reason"));
            lines.push(format!("{what}: {at}: {why}"));
        }
    }
    lines
}

fn verdict_text(item: &Value) -> String {
    match str_of(item, "reason") {
        "" => str_of(item, "verdict").to_string(),
        reason => format!("{} ({reason})", str_of(item, "verdict")),
    }
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#111}\
h1{font-size:1.5em}table{border-collapse:collapse;margin:1em 0}\
td,th{border:1px solid #bbb;padding:.25em .5em;text-align:left}\
.verdict{font-size:1.3em;font-weight:bold;padding:.5em 1em;display:inline-block}\
.pass{background:#d6f5d6}.fail{background:#f8d0d0}\
.map{display:flex;flex-wrap:wrap;gap:2px;max-width:60em}\
.d{width:14px;height:14px;font-size:9px;text-align:center;line-height:14px;color:#000}\
.valid{background:#3a3}.gap{background:#f0b000}.invalid{background:#d22;color:#fff}\
.none{background:#ddd}.legend span{display:inline-block;margin-right:1em}\
code{font-size:.9em;word-break:break-all}";

/// The page for the report document `doc` (as `--report` writes it).
pub fn render(doc: &Value) -> String {
    let chains = items(doc, "chains");
    let failed: Vec<&Value> = chains
        .iter()
        .filter(|c| {
            let counts = &c["result"]["counts"];
            [
                "digests_invalid",
                "backfill_digests_invalid",
                "logs_invalid",
                "links_invalid",
                "logs_not_listed",
                "state_mismatches",
            ]
            .iter()
            .any(|k| counts[*k].as_u64().unwrap_or(0) > 0)
        })
        .collect();
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>CloudTrail log file validation: {}</title><style>{STYLE}</style></head><body>\n",
        esc(str_of(doc, "source"))
    );
    let _ = writeln!(h, "<h1>CloudTrail log file integrity validation</h1>");
    let (class, verdict) = match failed.len() {
        0 => (
            "pass",
            format!("PASS: all {} digest chains valid", chains.len()),
        ),
        n => (
            "fail",
            format!(
                "FAIL: {n} of {} digest chains with INVALID files",
                chains.len()
            ),
        ),
    };
    let _ = writeln!(
        h,
        "<p class=\"verdict {class}\" id=\"verdict\">{}</p>",
        esc(&verdict)
    );
    let _ = writeln!(h, "<table id=\"run\">");
    let run_rows = [
        ("Source", str_of(doc, "source").to_string()),
        (
            "Tool",
            format!("{} {}", str_of(doc, "tool"), str_of(doc, "version")),
        ),
        ("Started", str_of(doc, "started").to_string()),
        ("Finished", str_of(doc, "finished").to_string()),
        ("Public keys", str_of(doc, "public_keys").to_string()),
        (
            "Command line",
            items(doc, "arguments")
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" "),
        ),
    ];
    for (what, value) in run_rows {
        let _ = writeln!(
            h,
            "<tr><th>{what}</th><td><code>{}</code></td></tr>",
            esc(&value)
        );
    }
    if let Some(state) = doc.get("state").filter(|s| !s.is_null()) {
        let _ = writeln!(
            h,
            "<tr><th>State</th><td><code>{}</code></td></tr>",
            esc(&state.to_string())
        );
    }
    let _ = writeln!(h, "</table>");
    let _ = writeln!(h, "<h2>Chains</h2>\n<table id=\"chains\"><tr><th>Chain</th><th>Window</th><th>Digests valid</th><th>Digests INVALID</th><th>Log files valid</th><th>Log files INVALID</th><th>Links INVALID</th><th>Log files no digest lists</th><th>Gaps</th></tr>");
    for chain in chains {
        let counts = &chain["result"]["counts"];
        let n = |k: &str| counts[k].as_u64().unwrap_or(0);
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{} to {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(str_of(chain, "trail")),
            esc(str_of(&chain["window"], "from")),
            esc(str_of(&chain["window"], "to")),
            n("digests_valid") + n("backfill_digests_valid"),
            n("digests_invalid") + n("backfill_digests_invalid"),
            n("logs_valid"),
            n("logs_invalid"),
            n("links_invalid"),
            n("logs_not_listed"),
            items(&chain["result"], "gaps").len(),
        );
    }
    let _ = writeln!(h, "</table>");
    let _ = writeln!(h, "<h2>Coverage by day (UTC)</h2>\n<p class=\"legend\"><span><span class=\"d valid\"></span> valid digests</span><span><span class=\"d gap\">-</span> gap in the chain</span><span><span class=\"d invalid\">!</span> INVALID</span><span><span class=\"d none\"></span> no digests</span></p>");
    for chain in chains {
        let _ = writeln!(
            h,
            "<h3>{}</h3>\n<div class=\"map\">",
            esc(str_of(chain, "trail"))
        );
        for (day, status) in chain_days(chain) {
            let mark = match status {
                Day::Invalid => "!",
                Day::Gap => "-",
                _ => "",
            };
            let _ = write!(
                h,
                "<span class=\"d {}\" title=\"{}: {}\">{mark}</span>",
                status.class(),
                day_name(day),
                status.label()
            );
        }
        let _ = writeln!(h, "\n</div>");
    }
    let _ = writeln!(h, "<h2>Findings</h2>");
    let mut any = false;
    for chain in chains {
        let lines = findings(chain);
        if lines.is_empty() {
            continue;
        }
        any = true;
        let _ = writeln!(h, "<h3>{}</h3>\n<ul>", esc(str_of(chain, "trail")));
        for line in lines {
            let _ = writeln!(h, "<li><code>{}</code></li>", esc(&line));
        }
        let _ = writeln!(h, "</ul>");
    }
    if !any {
        let _ = writeln!(h, "<p id=\"no-findings\">None: every digest and log file in the windows is valid, with no gap.</p>");
    }
    let _ = writeln!(h, "</body></html>");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_shows_its_worst_finding_and_text_is_escaped() {
        let chain = serde_json::json!({
            "trail": "arn:<x>",
            "window": {"from": "2024-01-01T00:00:00Z", "to": "2024-01-03T00:00:00Z"},
            "result": {
                "counts": {"logs_invalid": 1},
                "covered": [{"from": "2024-01-01T00:00:30Z", "to": "2024-01-02T05:00:30Z"}],
                "gaps": [{"from": "2024-01-02T06:00:00Z", "to": "2024-01-02T08:00:00Z"}],
                "digests": [{"s3": "s3://b/x/2024/01/01/d.json.gz", "verdict": "valid", "start": "2024-01-01T00:00:30Z", "end": "2024-01-01T01:00:30Z"}],
                "logs": [{"s3": "s3://b/AWSLogs/1/CloudTrail/r/2024/01/01/l.json.gz", "verdict": "INVALID", "reason": "hash value doesn't match"}],
                "links_invalid": [], "logs_not_listed": []
            }
        });
        let days: Vec<Day> = chain_days(&chain).into_values().collect();
        assert_eq!(days, [Day::Invalid, Day::Gap, Day::Nothing]);
        let page = render(&serde_json::json!({"source": "s", "chains": [chain]}));
        assert!(page.contains("FAIL: 1 of 1 digest chains"));
        assert!(page.contains("arn:&lt;x&gt;") && !page.contains("arn:<x>"));
        assert!(page.contains("hash value doesn&#39;t match"));
    }
}
