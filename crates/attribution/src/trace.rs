//! The walk from a key to its origin, one issuing event per hop.

use std::collections::{BTreeMap, HashSet};
use std::fmt;

use serde_json::{json, Value};
use trailscan_layout::time::format_utc;
use trailscan_records::EventTime;

use crate::evidence::{Evidence, Issuance, KeyUses};
use crate::identity::{account_of_arn, is_temporary_key, Identity};

/// The longest a temporary key lives (GetSessionToken and GetFederationToken: 36 hours), so
/// the furthest its issuing event can lie before a use.
pub const MAX_TEMPORARY_KEY_LIFE_SECS: i64 = 36 * 3600;

/// How far a use may be logged before its key's issuance (clocks of two services).
pub(crate) const CLOCK_SLACK_SECS: i64 = 60;

/// More hops than any real chain has: a guard against a loop in forged records.
const MAX_HOPS: usize = 32;

/// How a hop was linked to the key before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// The issuing event names the key itself.
    Exact,
    /// Linked by a rule that can be wrong (named): never presented as certain.
    Heuristic(&'static str),
}

impl fmt::Display for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Link::Exact => f.write_str("exact"),
            Link::Heuristic(rule) => write!(f, "heuristic({rule})"),
        }
    }
}

/// One step back: the event that issued a key, and how it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    /// The copy of the issuing event whose caller the trace follows.
    pub issuance: Issuance,
    /// How it was linked.
    pub link: Link,
}

/// Where the chain ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The `userIdentity.type` of the last caller reached.
    pub kind: Option<String>,
    /// Its ARN, or what names it (a service, an identity provider's subject).
    pub arn: Option<String>,
    /// Its account.
    pub account_id: Option<String>,
    /// True only at a terminal identity (a person or a service).
    pub complete: bool,
    /// Why the chain ends here, and where the missing link would be.
    pub reason: String,
}

/// A key traced to its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// The key asked about.
    pub access_key: String,
    /// From the event that issued it back to the origin's call.
    pub hops: Vec<Hop>,
    /// Where it ends.
    pub origin: Origin,
    /// The key's own uses in the window.
    pub uses: Option<KeyUses>,
    /// For a long-term key, the CreateAccessKey that made it, when it is in the searched
    /// window: a fact about the key, not a hop of who used it.
    pub created_by: Option<Issuance>,
}

/// What the archive holds of a key's issuance.
enum Found<'e> {
    Linked(&'e Issuance, Link),
    /// Several calls match a heuristic equally.
    Ambiguous(usize),
    /// The session's tuple matches only calls whose responses name other keys: evidence
    /// against each of them.
    OtherKeys(Vec<&'e Issuance>),
    Missing,
}

/// Traces `key` back through `evidence`.
pub fn trace(key: &str, evidence: &Evidence) -> Trace {
    if !is_temporary_key(key) {
        return long_term(key, evidence);
    }
    let uses = evidence.uses.get(key).cloned();
    let mut hops: Vec<Hop> = Vec::new();
    let mut current = key.to_string();
    let mut used_at = uses.as_ref().map(|u| u.first);
    let mut holder = uses.as_ref().map(|u| u.holder.clone());
    let mut seen = HashSet::new();
    let origin = loop {
        if !seen.insert(current.clone()) || hops.len() >= MAX_HOPS {
            break unfinished(
                holder.as_ref(),
                format!("the chain comes back to {current}: the records contradict each other"),
            );
        }
        match issuing_event(&current, used_at, holder.as_ref(), evidence) {
            Found::Linked(issuance, link) => {
                hops.push(Hop {
                    issuance: issuance.clone(),
                    link,
                });
                let caller = &issuance.caller;
                if caller.is_terminal() {
                    break terminal(caller);
                }
                if caller.kind.as_deref() == Some("AWSAccount") {
                    break only_the_role_account_copy(issuance);
                }
                let Some(next) = caller.access_key_id.clone() else {
                    break unfinished(
                        Some(caller),
                        format!(
                            "the caller of {} {} used no access key the record names",
                            issuance.event_name, issuance.event_id
                        ),
                    );
                };
                used_at = Some(issuance.event_time);
                holder = Some(caller.clone());
                current = next;
            }
            Found::Ambiguous(calls) => {
                let session = holder.as_ref().and_then(Identity::session_name);
                break unfinished(
                    holder.as_ref(),
                    format!(
                        "{calls} issuing events match the session {} created at {}: the session tuple cannot tell which issued {current}",
                        session.unwrap_or_default(),
                        holder.as_ref().and_then(|h| h.creation_date.as_deref()).unwrap_or_default()
                    ),
                );
            }
            Found::OtherKeys(calls) => {
                let named: Vec<String> = calls
                    .iter()
                    .map(|i| format!("{} {} issued {}", i.event_name, i.event_id, i.issued_key))
                    .collect();
                break unfinished(
                    holder.as_ref(),
                    format!(
                        "the session's role, name and creation second match only calls that issued other keys ({}): none of them issued {current}, and its issuing event is not in the archive",
                        named.join("; ")
                    ),
                );
            }
            Found::Missing => match &holder {
                Some(h) if h.is_terminal() => break terminal(h),
                Some(h) => {
                    let reason = match before_the_search(&current, used_at, evidence) {
                        Some(reason) => reason,
                        None => missing_issuer(&current, h),
                    };
                    break unfinished(Some(h), reason);
                }
                None => {
                    break unfinished(
                        None,
                        format!("no event in the archive's window uses or issued {current}"),
                    )
                }
            },
        }
    };
    Trace {
        access_key: key.to_string(),
        hops,
        origin,
        uses,
        created_by: None,
    }
}

/// A long-term key (`AKIA`) belongs to its user, whoever created it: its origin is the user
/// its uses name (or, unused in the window, the one its CreateAccessKey names), the same
/// whether or not the CreateAccessKey is in the searched window; that event, when it is, is
/// reported as `created_by`.
fn long_term(key: &str, evidence: &Evidence) -> Trace {
    let uses = evidence.uses.get(key).cloned();
    let used_at = uses.as_ref().map(|u| u.first);
    let created: Vec<&Issuance> = evidence
        .issuances
        .get(key)
        .into_iter()
        .flatten()
        .filter(|i| used_at.is_none_or(|t| i.event_time.secs <= t.secs + CLOCK_SLACK_SECS))
        .collect();
    let created_by = latest_call(&created).map(|copies| caller_copy(&copies).clone());
    let origin = match (uses.as_ref().map(|u| &u.holder), &created_by) {
        (Some(holder), _) if holder.is_terminal() => terminal(holder),
        (Some(holder), _) => unfinished(
            Some(holder),
            format!("{key} is a long-term key, but its uses name no IAM user or root user"),
        ),
        (None, Some(creation)) => owner_of_created_key(creation),
        (None, None) => unfinished(
            None,
            format!("no event in the archive's window uses or issued {key}"),
        ),
    };
    Trace {
        access_key: key.to_string(),
        hops: Vec::new(),
        origin,
        uses,
        created_by,
    }
}

/// The user a CreateAccessKey made its key for: the one it names, else its caller.
fn owner_of_created_key(creation: &Issuance) -> Origin {
    let Some(user) = &creation.key_user else {
        return terminal(&creation.caller);
    };
    let account = creation
        .recipient_account
        .clone()
        .or_else(|| creation.caller.account().map(str::to_string));
    Origin {
        kind: Some("IAMUser".to_string()),
        arn: account
            .as_ref()
            .map(|a| format!("arn:aws:iam::{a}:user/{user}")),
        account_id: account,
        complete: true,
        reason: format!(
            "an IAM user: the key's owner, named by {} {} (the key is not used in the window)",
            creation.event_name, creation.event_id
        ),
    }
}

/// The event that issued `key`, used at `used_at` by `holder`: by the key itself, else by
/// the holder's session tuple.
fn issuing_event<'e>(
    key: &str,
    used_at: Option<EventTime>,
    holder: Option<&Identity>,
    evidence: &'e Evidence,
) -> Found<'e> {
    let in_time = |i: &&Issuance| match used_at {
        None => true,
        Some(t) => {
            i.event_time.secs <= t.secs + CLOCK_SLACK_SECS
                && (!is_temporary_key(key)
                    || t.secs - i.event_time.secs <= MAX_TEMPORARY_KEY_LIFE_SECS)
        }
    };
    let exact: Vec<&Issuance> = evidence
        .issuances
        .get(key)
        .into_iter()
        .flatten()
        .filter(in_time)
        .collect();
    if let Some(copies) = latest_call(&exact) {
        return Found::Linked(caller_copy(&copies), Link::Exact);
    }
    // An assumed-role session names its role, session and creation time; an issuing event
    // with all three, to the second, whose response names no key, is very likely the one
    // (ambiguous when one session name was issued several times in that second, as EC2 does).
    // One whose response names another key did not issue this one: never linked.
    let Some(holder) = holder else {
        return Found::Missing;
    };
    let (Some(role), Some(session), Some(created)) = (
        holder.issuer_arn.as_deref(),
        holder.session_name(),
        holder
            .creation_date
            .as_deref()
            .and_then(EventTime::parse)
            .map(|t| t.secs),
    ) else {
        return Found::Missing;
    };
    let mut calls: BTreeMap<&str, Vec<&Issuance>> = BTreeMap::new();
    let mut other_keys: Vec<&Issuance> = Vec::new();
    for issuance in evidence.issuances.values().flatten() {
        if issuance.role_arn.as_deref() == Some(role)
            && issuance.session_name.as_deref() == Some(session)
            && issuance.event_time.secs == created
        {
            match issuance.issued_key.is_empty() {
                true => calls.entry(issuance.call_id()).or_default().push(issuance),
                false => other_keys.push(issuance),
            }
        }
    }
    // A call of which any copy names another key did not issue this one, whatever its other
    // copies say.
    calls.retain(|call, _| other_keys.iter().all(|i| i.call_id() != *call));
    match calls.len() {
        0 if !other_keys.is_empty() => {
            other_keys
                .sort_by(|a, b| (a.call_id(), &a.issued_key).cmp(&(b.call_id(), &b.issued_key)));
            other_keys.dedup_by(|a, b| a.call_id() == b.call_id());
            Found::OtherKeys(other_keys)
        }
        0 => Found::Missing,
        1 => {
            let copies = calls.into_values().next().unwrap_or_default();
            Found::Linked(caller_copy(&copies), Link::Heuristic("session-tuple"))
        }
        n => Found::Ambiguous(n),
    }
}

/// The copies of the latest call among `issuances` (a key id issued twice is told apart by
/// time: the later issuance is the one in force).
fn latest_call<'e>(issuances: &[&'e Issuance]) -> Option<Vec<&'e Issuance>> {
    let latest = issuances
        .iter()
        .max_by(|a, b| (a.event_time, a.call_id()).cmp(&(b.event_time, b.call_id())))?;
    Some(
        issuances
            .iter()
            .filter(|i| i.call_id() == latest.call_id())
            .copied()
            .collect(),
    )
}

/// Of a call's copies, the one that names the caller: not the role account's `AWSAccount`
/// copy, when the caller's account's copy is there.
fn caller_copy<'e>(copies: &[&'e Issuance]) -> &'e Issuance {
    copies
        .iter()
        .find(|c| c.caller.kind.as_deref() != Some("AWSAccount"))
        .or(copies.first())
        .copied()
        .expect("a call has a copy")
}

fn terminal(identity: &Identity) -> Origin {
    let reason = match identity.kind.as_deref() {
        Some("AWSService") => format!(
            "an AWS service ({}) was given the role: who configured that (the instance, function or task) is not in the credential chain",
            identity.invoked_by.as_deref().unwrap_or("unnamed")
        ),
        Some("IAMUser") => "an IAM user".to_string(),
        Some("Root") => "the account's root user".to_string(),
        Some("SAMLUser") | Some("WebIdentityUser") => {
            "a user of an external identity provider: who that is, is the provider's to say".to_string()
        }
        Some("IdentityCenterUser") => {
            "an IAM Identity Center user: the user id maps to a person in the Identity Store, not in CloudTrail".to_string()
        }
        _ => String::new(),
    };
    Origin {
        kind: identity.kind.clone(),
        arn: identity.name(),
        account_id: identity.account().map(str::to_string),
        complete: true,
        reason,
    }
}

fn unfinished(identity: Option<&Identity>, reason: String) -> Origin {
    Origin {
        kind: identity.and_then(|i| i.kind.clone()),
        arn: identity.and_then(Identity::name),
        account_id: identity.and_then(|i| i.account().map(str::to_string)),
        complete: false,
        reason,
    }
}

fn only_the_role_account_copy(issuance: &Issuance) -> Origin {
    let caller = &issuance.caller;
    Origin {
        kind: caller.kind.clone(),
        arn: None,
        account_id: caller.account_id.clone(),
        complete: false,
        reason: format!(
            "only account {}'s copy of {} {} is in the archive: the caller ({}) is in account {}, whose copy of the call (sharedEventID {}) names it; add that account's logs",
            issuance.recipient_account.as_deref().unwrap_or("?"),
            issuance.event_name,
            issuance.event_id,
            caller.principal_id.as_deref().unwrap_or("principal not named"),
            caller.account_id.as_deref().unwrap_or("?"),
            issuance.shared_event_id.as_deref().unwrap_or("none"),
        ),
    }
}

/// Why the event that issued `key` (first used at `used_at`) may be outside what was read:
/// when it can lie before the searched window's start, the trace says so and how far back to
/// search, instead of calling it missing from the archive.
fn before_the_search(key: &str, used_at: Option<EventTime>, evidence: &Evidence) -> Option<String> {
    let from = evidence.searched_from?;
    let used = used_at?;
    let earliest = used.secs - MAX_TEMPORARY_KEY_LIFE_SECS;
    if !is_temporary_key(key) || earliest >= from.secs {
        return None;
    }
    Some(format!(
        "the event that issued {key} is not in the searched window, which starts {}: {key} was first used at {}, and a temporary key may be issued up to 36 hours before its use; it may have been issued before the window: run again with --start-time {} (the search reads 36 hours before --start-time) to search all of that",
        format_utc(from.secs),
        format_utc(used.secs),
        format_utc(used.secs),
    ))
}

/// Where the event that issued `key` to `holder` would be.
fn missing_issuer(key: &str, holder: &Identity) -> String {
    let account = holder
        .issuer_arn
        .as_deref()
        .and_then(account_of_arn)
        .or(holder.account());
    let account = account.unwrap_or("?");
    match holder.kind.as_deref() {
        Some("AssumedRole") => format!(
            "the AssumeRole that issued {key} is not in the archive: a call for {} (session {}, created {}), logged in account {account} (and in the caller's account if it is another), in us-east-1 or the region of the STS endpoint called",
            holder.issuer_arn.as_deref().unwrap_or("the role"),
            holder.session_name().unwrap_or("?"),
            holder.creation_date.as_deref().unwrap_or("?"),
        ),
        Some("FederatedUser") => format!(
            "the GetFederationToken that issued {key} is not in the archive: a call by {} in account {account}, in us-east-1 or the region of the STS endpoint called",
            holder.issuer_arn.as_deref().unwrap_or("an IAM user"),
        ),
        _ => format!("the event that issued {key} is not in the archive (account {account})"),
    }
}

fn text(v: &Option<String>) -> Value {
    v.as_ref().map_or(Value::Null, |s| Value::String(s.clone()))
}

impl Hop {
    /// The hop as `trace` prints it.
    pub fn to_value(&self) -> Value {
        let i = &self.issuance;
        let c = &i.caller;
        json!({
            "AccessKeyId": i.issued_key,
            "Link": self.link.to_string(),
            "EventId": i.event_id,
            "EventName": i.event_name,
            "EventTime": i.event_time_text,
            "RecipientAccountId": text(&i.recipient_account),
            "AwsRegion": text(&i.region),
            "CallerType": text(&c.kind),
            "CallerArn": text(&c.name()),
            "CallerAccountId": text(&c.account().map(str::to_string)),
            "CallerAccessKeyId": text(&c.access_key_id),
            "SourceIPAddress": text(&i.source_ip),
            "UserAgent": text(&i.user_agent),
            "SourceIdentity": text(&i.source_identity.clone().or_else(|| c.source_identity.clone())),
            "MfaAuthenticated": c.mfa_authenticated.map_or(Value::Null, Value::Bool),
            "Expiration": text(&i.expiration),
            "SourceKey": &*i.object_key,
        })
    }
}

impl Trace {
    /// The trace as `trace` prints it (`--output json`; table and text are drawn from it).
    pub fn to_value(&self) -> Value {
        let o = &self.origin;
        let uses = self.uses.as_ref();
        let mut value = json!({
            "AccessKeyId": self.access_key,
            "Hops": self.hops.iter().map(Hop::to_value).collect::<Vec<_>>(),
            "Origin": {
                "Type": text(&o.kind),
                "Arn": text(&o.arn),
                "AccountId": text(&o.account_id),
                "Complete": o.complete,
                "Reason": o.reason,
            },
            "FirstUse": uses.map_or(Value::Null, |u| Value::String(u.first_text.clone())),
            "LastUse": uses.map_or(Value::Null, |u| Value::String(u.last_text.clone())),
            "EventsWithKey": uses.map_or(0, |u| u.events),
        });
        if !is_temporary_key(&self.access_key) {
            value["CreatedBy"] = self.created_by.as_ref().map_or(Value::Null, |issuance| {
                Hop {
                    issuance: issuance.clone(),
                    link: Link::Exact,
                }
                .to_value()
            });
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Wanted;
    use trailscan_records::RecordParser;

    const A: &str = "111111111111";
    const B: &str = "222222222222";

    fn user(account: &str, name: &str, key: &str) -> Value {
        json!({"type": "IAMUser", "principalId": "AIDAX", "arn": format!("arn:aws:iam::{account}:user/{name}"),
               "accountId": account, "accessKeyId": key, "userName": name})
    }

    fn session(account: &str, role: &str, name: &str, key: &str, created: &str) -> Value {
        json!({"type": "AssumedRole", "principalId": format!("AROAX:{name}"),
               "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/{name}"),
               "accountId": account, "accessKeyId": key,
               "sessionContext": {"sessionIssuer": {"type": "Role", "arn": format!("arn:aws:iam::{account}:role/{role}")},
                                  "attributes": {"creationDate": created, "mfaAuthenticated": "false"}}})
    }

    fn assume_role(
        id: &str,
        time: &str,
        recipient: &str,
        caller: Value,
        role_arn: &str,
        session: &str,
        key: &str,
    ) -> Value {
        json!({"eventID": id, "eventName": "AssumeRole", "eventTime": time, "recipientAccountId": recipient,
               "awsRegion": "us-east-1", "userIdentity": caller, "sourceIPAddress": "203.0.113.5",
               "requestParameters": {"roleArn": role_arn, "roleSessionName": session},
               "responseElements": {"credentials": {"accessKeyId": key, "expiration": "Jan 1, 2024, 1:00:00 AM"}}})
    }

    fn used(time: &str, recipient: &str, identity: Value) -> Value {
        json!({"eventID": format!("use-{time}"), "eventName": "ListBuckets", "eventTime": time,
               "recipientAccountId": recipient, "userIdentity": identity})
    }

    fn evidence(records: &[Value], keys: &[&str]) -> Evidence {
        let wanted = Wanted::Keys(keys.iter().map(|k| k.to_string()).collect());
        let mut evidence = Evidence::default();
        let mut parser = RecordParser::default();
        for (i, record) in records.iter().enumerate() {
            let text = record.to_string();
            parser
                .parse(text.as_bytes(), |r| {
                    evidence.add(&r, &format!("file-{i}"), &wanted)
                })
                .unwrap();
        }
        evidence.settle();
        evidence
    }

    fn links(t: &Trace) -> Vec<(String, String)> {
        t.hops
            .iter()
            .map(|h| (h.issuance.event_id.clone(), h.link.to_string()))
            .collect()
    }

    #[test]
    fn a_role_chain_back_to_the_user() {
        let records = [
            assume_role(
                "e1",
                "2024-01-01T00:00:00Z",
                A,
                user(A, "alice", "AKIAALICE"),
                &format!("arn:aws:iam::{A}:role/First"),
                "s1",
                "ASIAONE",
            ),
            assume_role(
                "e2",
                "2024-01-01T00:05:00Z",
                A,
                session(A, "First", "s1", "ASIAONE", "2024-01-01T00:00:00Z"),
                &format!("arn:aws:iam::{A}:role/Second"),
                "s2",
                "ASIATWO",
            ),
            used(
                "2024-01-01T00:06:00Z",
                A,
                session(A, "Second", "s2", "ASIATWO", "2024-01-01T00:05:00Z"),
            ),
            used(
                "2024-01-01T00:07:00Z",
                A,
                session(A, "Second", "s2", "ASIATWO", "2024-01-01T00:05:00Z"),
            ),
        ];
        let t = trace("ASIATWO", &evidence(&records, &["ASIATWO"]));
        assert_eq!(
            links(&t),
            [("e2".into(), "exact".into()), ("e1".into(), "exact".into())]
        );
        assert_eq!(t.origin.kind.as_deref(), Some("IAMUser"));
        assert_eq!(
            t.origin.arn.as_deref(),
            Some("arn:aws:iam::111111111111:user/alice")
        );
        assert!(t.origin.complete);
        let v = t.to_value();
        assert_eq!(v["EventsWithKey"], 2);
        assert_eq!(v["FirstUse"], "2024-01-01T00:06:00Z");
        assert_eq!(v["Hops"][0]["CallerAccessKeyId"], "ASIAONE");
        assert_eq!(v["Hops"][1]["CallerType"], "IAMUser");
    }

    #[test]
    fn cross_account_takes_the_callers_copy_or_says_whose_logs_are_missing() {
        let role = format!("arn:aws:iam::{B}:role/Audit");
        let mut caller_copy = assume_role(
            "c1",
            "2024-01-01T00:00:00Z",
            A,
            user(A, "bob", "AKIABOB"),
            &role,
            "x",
            "ASIAX",
        );
        caller_copy["sharedEventID"] = json!("shared-1");
        let mut role_copy = assume_role(
            "r1",
            "2024-01-01T00:00:00Z",
            B,
            json!({"type": "AWSAccount", "principalId": "AIDABOB", "accountId": A}),
            &role,
            "x",
            "ASIAX",
        );
        role_copy["sharedEventID"] = json!("shared-1");
        let use_it = used(
            "2024-01-01T00:01:00Z",
            B,
            session(B, "Audit", "x", "ASIAX", "2024-01-01T00:00:00Z"),
        );
        let both = trace(
            "ASIAX",
            &evidence(
                &[role_copy.clone(), caller_copy, use_it.clone()],
                &["ASIAX"],
            ),
        );
        assert_eq!(links(&both), [("c1".into(), "exact".into())]);
        assert_eq!(
            both.origin.arn.as_deref(),
            Some("arn:aws:iam::111111111111:user/bob")
        );
        assert!(both.origin.complete);
        let one = trace("ASIAX", &evidence(&[role_copy, use_it], &["ASIAX"]));
        assert_eq!(links(&one), [("r1".into(), "exact".into())]);
        assert_eq!(one.origin.kind.as_deref(), Some("AWSAccount"));
        assert_eq!(one.origin.account_id.as_deref(), Some(A));
        assert!(!one.origin.complete);
        assert!(
            one.origin.reason.contains("shared-1"),
            "{}",
            one.origin.reason
        );
    }

    #[test]
    fn services_failures_and_missing_issuers() {
        let role = format!("arn:aws:iam::{A}:role/Ec2");
        let ec2 = json!({"type": "AWSService", "invokedBy": "ec2.amazonaws.com"});
        let mut failed = assume_role(
            "f1",
            "2024-01-01T00:00:00Z",
            A,
            user(A, "eve", "AKIAEVE"),
            &role,
            "i-1",
            "ASIAE",
        );
        failed["errorCode"] = json!("AccessDenied");
        let records = [
            failed,
            assume_role(
                "s1",
                "2024-01-01T00:00:01Z",
                A,
                ec2.clone(),
                &role,
                "i-1",
                "ASIAE",
            ),
            used(
                "2024-01-01T00:02:00Z",
                A,
                session(A, "Ec2", "i-1", "ASIAE", "2024-01-01T00:00:01Z"),
            ),
            used(
                "2024-01-01T00:03:00Z",
                A,
                session(A, "Ec2", "i-2", "ASIAGONE", "2023-12-31T23:00:00Z"),
            ),
        ];
        let found = evidence(&records, &["ASIAE", "ASIAGONE"]);
        let t = trace("ASIAE", &found);
        assert_eq!(links(&t), [("s1".into(), "exact".into())]);
        assert_eq!(t.origin.kind.as_deref(), Some("AWSService"));
        assert_eq!(t.origin.arn.as_deref(), Some("ec2.amazonaws.com"));
        assert!(t.origin.complete);
        let gone = trace("ASIAGONE", &found);
        assert!(gone.hops.is_empty());
        assert_eq!(gone.origin.kind.as_deref(), Some("AssumedRole"));
        assert!(!gone.origin.complete);
        assert!(
            gone.origin.reason.contains("account 111111111111"),
            "{}",
            gone.origin.reason
        );
        let nothing = trace("ASIANEVER", &found);
        assert_eq!(nothing.origin.kind, None);
        assert!(nothing.origin.reason.contains("no event"));
    }

    #[test]
    fn a_session_tuple_links_heuristically_and_only_when_alone() {
        let role = format!("arn:aws:iam::{A}:role/Ec2");
        let ec2 = json!({"type": "AWSService", "invokedBy": "ec2.amazonaws.com"});
        let at = "2024-01-01T00:00:00Z";
        // The issuing event's response names no key (omitted): the tuple links it.
        let mut keyless = assume_role("k1", at, A, ec2.clone(), &role, "i-1", "unused");
        keyless["responseElements"] = Value::Null;
        let use_of = |key: &str| used("2024-01-01T00:01:00Z", A, session(A, "Ec2", "i-1", key, at));
        let one = [keyless.clone(), use_of("ASIAUSED")];
        let t = trace("ASIAUSED", &evidence(&one, &["ASIAUSED"]));
        assert_eq!(
            links(&t),
            [("k1".into(), "heuristic(session-tuple)".into())]
        );
        // Its response names another key: that is evidence against it, never a link.
        let other = [
            assume_role("k1", at, A, ec2.clone(), &role, "i-1", "ASIAOTHER"),
            use_of("ASIAUSED"),
        ];
        let t = trace("ASIAUSED", &evidence(&other, &["ASIAUSED"]));
        assert!(t.hops.is_empty() && !t.origin.complete);
        assert!(
            t.origin.reason.contains("AssumeRole k1 issued ASIAOTHER")
                && t.origin.reason.contains("none of them issued ASIAUSED"),
            "{}",
            t.origin.reason
        );
        // One copy of a call names another key, another copy (the role account's) none: the
        // call issued that other key, not this one.
        let mut keyed = assume_role("k1", at, A, ec2.clone(), &role, "i-1", "ASIAOTHER");
        keyed["sharedEventID"] = json!("call-1");
        let mut copy = keyless.clone();
        copy["eventID"] = json!("k1-copy");
        copy["sharedEventID"] = json!("call-1");
        let t = trace(
            "ASIAUSED",
            &evidence(&[keyed, copy, use_of("ASIAUSED")], &["ASIAUSED"]),
        );
        assert!(t.hops.is_empty(), "{:?}", links(&t));
        // Two keys issued to one session in one second: each exact by its key; a third key
        // is linked to neither. Two keyless calls in that second are ambiguous by the tuple.
        let two = [
            assume_role("k1", at, A, ec2.clone(), &role, "i-1", "ASIAK1"),
            assume_role("k2", at, A, ec2.clone(), &role, "i-1", "ASIAK2"),
            use_of("ASIAK2"),
            use_of("ASIAK3"),
        ];
        let found = evidence(&two, &["ASIAK2", "ASIAK3"]);
        assert_eq!(
            links(&trace("ASIAK2", &found)),
            [("k2".into(), "exact".into())]
        );
        assert!(trace("ASIAK3", &found).hops.is_empty());
        let mut second = keyless.clone();
        second["eventID"] = json!("k2");
        let ambiguous = evidence(&[keyless, second, use_of("ASIAK3")], &["ASIAK3"]);
        let ambiguous = trace("ASIAK3", &ambiguous);
        assert!(ambiguous.hops.is_empty());
        assert!(!ambiguous.origin.complete);
        assert!(
            ambiguous.origin.reason.starts_with("2 issuing events"),
            "{}",
            ambiguous.origin.reason
        );
    }

    #[test]
    fn an_issuance_after_the_use_or_too_long_before_is_not_the_one() {
        let role = format!("arn:aws:iam::{A}:role/R");
        let records = [
            assume_role(
                "old",
                "2023-12-01T00:00:00Z",
                A,
                user(A, "a", "AKIAA"),
                &role,
                "s",
                "ASIAK",
            ),
            assume_role(
                "late",
                "2024-01-02T00:00:00Z",
                A,
                user(A, "b", "AKIAB"),
                &role,
                "s",
                "ASIAK",
            ),
            used(
                "2024-01-01T00:00:00Z",
                A,
                session(A, "R", "s", "ASIAK", "2023-12-31T23:00:00Z"),
            ),
        ];
        let t = trace("ASIAK", &evidence(&records, &["ASIAK"]));
        assert!(t.hops.is_empty(), "{:?}", links(&t));
        assert!(!t.origin.complete);
    }
}
