//! What a principal did (`trailscan summary`): its events counted by name (failures and their
//! error codes), when and where it acted, the keys it used and where each was issued, the
//! resources it touched, and its sensitive calls.

use std::collections::{BTreeMap, HashMap};

use serde_json::{json, Map, Value};
use trailscan_records::{EventTime, Record};

use crate::evidence::Evidence;
use crate::identity::{made_by, Identity};
use crate::trace::trace;

/// Which events a summary is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// Events made with this access key.
    AccessKey(String),
    /// Events of this principal: `userIdentity.arn`, or the session issuer's (a role's ARN
    /// covers its sessions).
    Principal(String),
    /// Events from this source IP address.
    SourceIp(String),
    /// Events whose Username, as lookup-events derives it, is this.
    Username(String),
}

impl Subject {
    /// Whether `record` is one of the subject's events.
    pub fn covers(&self, record: &Record<'_, '_>) -> bool {
        match self {
            Subject::AccessKey(key) => record.access_key_id() == Some(key),
            Subject::Principal(arn) => made_by(record, arn),
            Subject::SourceIp(ip) => record.str_field("sourceIPAddress") == Some(ip),
            Subject::Username(name) => record.username() == Some(name),
        }
    }
}

/// Event sources whose calls that change something are sensitive: who can do what (IAM,
/// STS, Organizations), what is logged (CloudTrail), what is watched (GuardDuty), and the
/// keys (KMS).
pub const SENSITIVE_SOURCES: [&str; 6] = [
    "iam.amazonaws.com",
    "sts.amazonaws.com",
    "cloudtrail.amazonaws.com",
    "kms.amazonaws.com",
    "guardduty.amazonaws.com",
    "organizations.amazonaws.com",
];

/// S3 calls that change who can read a bucket.
pub const SENSITIVE_S3_CALLS: [&str; 8] = [
    "PutBucketPolicy",
    "DeleteBucketPolicy",
    "PutBucketAcl",
    "PutObjectAcl",
    "PutBucketPublicAccessBlock",
    "DeleteBucketPublicAccessBlock",
    "PutAccountPublicAccessBlock",
    "DeleteAccountPublicAccessBlock",
];

/// Whether a call is sensitive: a change (not read-only) to IAM, STS, CloudTrail, KMS,
/// GuardDuty or Organizations, or an S3 policy, ACL or public-access change. Without a
/// `readOnly` field, names starting `Get`, `List`, `Describe` or `Lookup` are reads.
pub fn is_sensitive(source: &str, name: &str, read_only: Option<bool>) -> bool {
    let reads = read_only.unwrap_or_else(|| {
        ["Get", "List", "Describe", "Lookup"]
            .iter()
            .any(|p| name.starts_with(p))
    });
    (SENSITIVE_SOURCES.contains(&source) && !reads)
        || (source == "s3.amazonaws.com" && SENSITIVE_S3_CALLS.contains(&name))
}

#[derive(Debug, Clone, Default)]
struct NameCount {
    events: u64,
    failed: u64,
    errors: BTreeMap<String, u64>,
}

#[derive(Debug, Clone)]
struct Sensitive {
    time: EventTime,
    value: Value,
}

/// One principal's activity, as counted so far.
#[derive(Debug, Clone)]
struct Activity {
    identity: Identity,
    first: (EventTime, String),
    last: (EventTime, String),
    events: u64,
    failed: u64,
    by_name: BTreeMap<(String, String), NameCount>,
    regions: BTreeMap<String, u64>,
    source_ips: BTreeMap<String, u64>,
    user_agents: BTreeMap<String, u64>,
    keys: BTreeMap<String, u64>,
    resources: BTreeMap<(String, String), u64>,
    sensitive: Vec<Sensitive>,
}

impl Activity {
    fn new(identity: Identity, time: EventTime, text: &str) -> Activity {
        Activity {
            identity,
            first: (time, text.to_string()),
            last: (time, text.to_string()),
            events: 0,
            failed: 0,
            by_name: BTreeMap::new(),
            regions: BTreeMap::new(),
            source_ips: BTreeMap::new(),
            user_agents: BTreeMap::new(),
            keys: BTreeMap::new(),
            resources: BTreeMap::new(),
            sensitive: Vec::new(),
        }
    }

    fn add(&mut self, record: &Record<'_, '_>, time: EventTime, text: &str) {
        self.events += 1;
        if time < self.first.0 {
            self.first = (time, text.to_string());
        }
        if time > self.last.0 {
            self.last = (time, text.to_string());
        }
        let name = record.event_name().unwrap_or_default();
        let source = record.event_source().unwrap_or_default();
        let error = record.str_field("errorCode");
        let count = self
            .by_name
            .entry((source.to_string(), name.to_string()))
            .or_default();
        count.events += 1;
        if let Some(code) = error {
            self.failed += 1;
            count.failed += 1;
            *count.errors.entry(code.to_string()).or_default() += 1;
        }
        let tally = |map: &mut BTreeMap<String, u64>, v: Option<&str>| {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                *map.entry(v.to_string()).or_default() += 1;
            }
        };
        tally(&mut self.regions, record.str_field("awsRegion"));
        tally(&mut self.source_ips, record.str_field("sourceIPAddress"));
        tally(&mut self.user_agents, record.str_field("userAgent"));
        tally(&mut self.keys, record.access_key_id());
        for (kind, arn) in record.resources() {
            if let Some(arn) = arn {
                let kind = kind.unwrap_or_default().to_string();
                *self.resources.entry((arn.to_string(), kind)).or_default() += 1;
            }
        }
        if is_sensitive(source, name, record.read_only()) {
            self.sensitive.push(Sensitive {
                time,
                value: json!({
                    "EventTime": text,
                    "EventName": name,
                    "EventSource": source,
                    "EventId": record.event_id(),
                    "AwsRegion": record.str_field("awsRegion"),
                    "ErrorCode": error,
                }),
            });
        }
    }

    fn absorb(&mut self, other: Activity) {
        self.events += other.events;
        self.failed += other.failed;
        if other.first.0 < self.first.0 {
            self.first = other.first;
        }
        if other.last.0 > self.last.0 {
            self.last = other.last;
        }
        for (k, c) in other.by_name {
            let mine = self.by_name.entry(k).or_default();
            mine.events += c.events;
            mine.failed += c.failed;
            for (code, n) in c.errors {
                *mine.errors.entry(code).or_default() += n;
            }
        }
        for (mine, theirs) in [
            (&mut self.regions, other.regions),
            (&mut self.source_ips, other.source_ips),
            (&mut self.user_agents, other.user_agents),
            (&mut self.keys, other.keys),
        ] {
            for (k, n) in theirs {
                *mine.entry(k).or_default() += n;
            }
        }
        for (k, n) in other.resources {
            *self.resources.entry(k).or_default() += n;
        }
        self.sensitive.extend(other.sensitive);
    }
}

/// The subject's events, counted per principal, and the evidence to trace their keys.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    by_principal: HashMap<String, Activity>,
    /// Issuing events and key uses, for the keys' origins.
    pub evidence: Evidence,
}

fn counts(map: &BTreeMap<String, u64>) -> Value {
    Value::Object(
        map.iter()
            .map(|(k, n)| (k.clone(), json!(n)))
            .collect::<Map<_, _>>(),
    )
}

impl Summary {
    /// Counts `record` (with its time, as written and parsed) for its principal.
    pub fn add(&mut self, record: &Record<'_, '_>, time: EventTime) {
        let text = record.event_time_text().unwrap_or_default();
        let identity = Identity::of(record);
        let principal = identity.name().unwrap_or_else(|| "(unnamed)".to_string());
        self.by_principal
            .entry(principal)
            .or_insert_with(|| Activity::new(identity, time, text))
            .add(record, time, text);
        self.evidence.add_use(record);
    }

    /// Both workers' counts.
    pub fn merge(mut self, other: Summary) -> Summary {
        for (principal, activity) in other.by_principal {
            match self.by_principal.get_mut(&principal) {
                Some(mine) => mine.absorb(activity),
                None => {
                    self.by_principal.insert(principal, activity);
                }
            }
        }
        self.evidence = self.evidence.merge(other.evidence);
        self
    }

    /// Principals summarized.
    pub fn principals(&self) -> usize {
        self.by_principal.len()
    }

    /// The summary as `summary` prints it: `{"Summaries": [...]}`, one per principal, the
    /// busiest first.
    pub fn to_value(&mut self) -> Value {
        self.evidence.settle();
        let mut principals: Vec<(&String, &Activity)> = self.by_principal.iter().collect();
        principals.sort_by(|a, b| b.1.events.cmp(&a.1.events).then(a.0.cmp(b.0)));
        let summaries: Vec<Value> = principals
            .into_iter()
            .map(|(principal, a)| self.principal_value(principal, a))
            .collect();
        json!({ "Summaries": summaries })
    }

    fn principal_value(&self, principal: &str, a: &Activity) -> Value {
        let mut names: Vec<(&(String, String), &NameCount)> = a.by_name.iter().collect();
        names.sort_by(|x, y| y.1.events.cmp(&x.1.events).then(x.0.cmp(y.0)));
        let events: Vec<Value> = names
            .into_iter()
            .map(|((source, name), c)| {
                json!({"EventName": name, "EventSource": source, "Count": c.events,
                       "Failed": c.failed, "ErrorCodes": counts(&c.errors)})
            })
            .collect();
        let keys: Vec<Value> = a
            .keys
            .iter()
            .map(|(key, n)| {
                let t = trace(key, &self.evidence);
                let issued = t.hops.first().map_or(Value::Null, |h| {
                    json!({"EventName": h.issuance.event_name, "EventId": h.issuance.event_id,
                           "EventTime": h.issuance.event_time_text,
                           "CallerArn": h.issuance.caller.name(), "Link": h.link.to_string()})
                });
                json!({"AccessKeyId": key, "Events": n, "IssuedBy": issued,
                       "Origin": {"Type": t.origin.kind, "Arn": t.origin.arn, "Complete": t.origin.complete}})
            })
            .collect();
        let mut resources: Vec<(&(String, String), &u64)> = a.resources.iter().collect();
        resources.sort_by(|x, y| y.1.cmp(x.1).then(x.0.cmp(y.0)));
        let resources: Vec<Value> = resources
            .into_iter()
            .map(|((arn, kind), n)| json!({"ARN": arn, "Type": kind, "Events": n}))
            .collect();
        let mut sensitive: Vec<&Sensitive> = a.sensitive.iter().collect();
        sensitive.sort_by(|x, y| {
            (x.time, x.value["EventId"].as_str()).cmp(&(y.time, y.value["EventId"].as_str()))
        });
        json!({
            "Principal": principal,
            "Type": a.identity.kind,
            "AccountId": a.identity.account(),
            "FirstSeen": a.first.1,
            "LastSeen": a.last.1,
            "Events": a.events,
            "FailedEvents": a.failed,
            "EventNames": events,
            "Regions": counts(&a.regions),
            "SourceIPAddresses": counts(&a.source_ips),
            "UserAgents": counts(&a.user_agents),
            "AccessKeys": keys,
            "Resources": resources,
            "SensitiveCalls": sensitive.into_iter().map(|s| s.value.clone()).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_calls_are_changes_to_the_guarded_services() {
        assert!(is_sensitive(
            "iam.amazonaws.com",
            "CreateAccessKey",
            Some(false)
        ));
        assert!(!is_sensitive("iam.amazonaws.com", "ListUsers", Some(true)));
        assert!(!is_sensitive("iam.amazonaws.com", "GetUser", None));
        assert!(is_sensitive(
            "cloudtrail.amazonaws.com",
            "StopLogging",
            None
        ));
        assert!(is_sensitive(
            "s3.amazonaws.com",
            "PutBucketPolicy",
            Some(false)
        ));
        assert!(!is_sensitive("s3.amazonaws.com", "PutObject", Some(false)));
        assert!(!is_sensitive(
            "ec2.amazonaws.com",
            "RunInstances",
            Some(false)
        ));
    }
}
