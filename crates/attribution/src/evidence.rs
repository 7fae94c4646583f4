//! What one pass over the records collects for tracing: every event that issued a key (they
//! are few: AssumeRole and its kin), and the uses of the keys asked about.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

pub use trailscan_records::ISSUING_EVENTS;
use trailscan_records::{event_identity, EventTime, Record};

use crate::identity::{made_by, Identity};

/// One copy of an event that issued a key. Cross-account, the same call is logged in both
/// accounts: two copies with one `sharedEventID`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuance {
    /// The key it issued.
    pub issued_key: String,
    /// `eventID`.
    pub event_id: String,
    /// `eventName`.
    pub event_name: String,
    /// `eventTime`.
    pub event_time: EventTime,
    /// `eventTime` as written.
    pub event_time_text: String,
    /// `recipientAccountId`: whose logs hold this copy.
    pub recipient_account: Option<String>,
    /// `awsRegion`.
    pub region: Option<String>,
    /// `sharedEventID`: the same call's copy in the other account has it too.
    pub shared_event_id: Option<String>,
    /// Who called.
    pub caller: Identity,
    /// `sourceIPAddress`.
    pub source_ip: Option<String>,
    /// `userAgent`.
    pub user_agent: Option<String>,
    /// `responseElements.credentials.expiration`, as written (locale text, no zone).
    pub expiration: Option<String>,
    /// `requestParameters.roleArn`.
    pub role_arn: Option<String>,
    /// `requestParameters.roleSessionName`.
    pub session_name: Option<String>,
    /// `requestParameters.sourceIdentity`, else `responseElements.sourceIdentity`.
    pub source_identity: Option<String>,
    /// The user a CreateAccessKey made the key for: `responseElements.accessKey.userName`,
    /// else `requestParameters.userName` (neither: the caller's own).
    pub key_user: Option<String>,
    /// The object the record was read from (shared by the issuances of one object).
    pub object_key: Arc<str>,
}

impl Issuance {
    /// The issuance `record` is, if it is one: an issuing event without `errorCode` whose
    /// response names a key.
    pub fn from_record(record: &Record<'_, '_>, object_key: &Arc<str>) -> Option<Issuance> {
        let issued_key = match record.issued_access_key() {
            Some(key) => key,
            // A successful AssumeRole* whose response names no key (omitted or redacted) is
            // kept for the session tuple, under no key.
            None if names_a_session_without_a_key(record) => "",
            None => return None,
        };
        let event_name = record.event_name().unwrap_or_default();
        let event_time = record.event_time()?;
        let owned = |v: Option<&str>| v.filter(|s| !s.is_empty()).map(str::to_string);
        Some(Issuance {
            issued_key: issued_key.to_string(),
            event_id: record.event_id().unwrap_or_default().to_string(),
            event_name: event_name.to_string(),
            event_time,
            event_time_text: record.event_time_text().unwrap_or_default().to_string(),
            recipient_account: owned(record.str_field("recipientAccountId")),
            region: owned(record.str_field("awsRegion")),
            shared_event_id: owned(record.str_field("sharedEventID")),
            caller: Identity::of(record),
            source_ip: owned(record.str_field("sourceIPAddress")),
            user_agent: owned(record.str_field("userAgent")),
            expiration: owned(record.str_at(&["responseElements", "credentials", "expiration"])),
            role_arn: owned(record.str_at(&["requestParameters", "roleArn"])),
            session_name: owned(record.str_at(&["requestParameters", "roleSessionName"])),
            source_identity: owned(
                record
                    .str_at(&["requestParameters", "sourceIdentity"])
                    .or_else(|| record.str_at(&["responseElements", "sourceIdentity"])),
            ),
            key_user: owned(
                record
                    .str_at(&["responseElements", "accessKey", "userName"])
                    .or_else(|| record.str_at(&["requestParameters", "userName"])),
            ),
            object_key: Arc::clone(object_key),
        })
    }

    /// The call this copy belongs to: its `sharedEventID`, else its own `eventID`.
    pub fn call_id(&self) -> &str {
        self.shared_event_id.as_deref().unwrap_or(&self.event_id)
    }
}

/// Whether `record` is a successful issuing event that names a role session (role and
/// session name) but no key in its response: what the session tuple can link, and nothing
/// else can.
pub fn names_a_session_without_a_key(record: &Record<'_, '_>) -> bool {
    record
        .event_name()
        .is_some_and(|name| ISSUING_EVENTS.contains(&name))
        && record.str_field("errorCode").is_none()
        && record.issued_access_key().is_none()
        && record.str_at(&["requestParameters", "roleArn"]).is_some()
        && record
            .str_at(&["requestParameters", "roleSessionName"])
            .is_some()
}

/// The uses of one key: when, how often, and by whom (the earliest use's identity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyUses {
    /// The earliest use.
    pub first: EventTime,
    /// `eventTime` of the earliest use, as written.
    pub first_text: String,
    /// The latest use.
    pub last: EventTime,
    /// `eventTime` of the latest use, as written.
    pub last_text: String,
    /// Events made with the key, each counted once however often it was delivered
    /// ([`trailscan_records::event_identity`]).
    pub events: u64,
    /// The identities of the events counted that have an `eventID`.
    seen: HashSet<u128>,
    /// Events counted without an `eventID` (never anyone's duplicate).
    unidentified: u64,
    /// Who used it, at the earliest use.
    pub holder: Identity,
    /// `recipientAccountId` of the earliest use.
    pub account: Option<String>,
}

impl KeyUses {
    fn of(record: &Record<'_, '_>, time: EventTime) -> KeyUses {
        let text = record.event_time_text().unwrap_or_default().to_string();
        let (seen, unidentified) = match record.event_id() {
            Some(id) => (HashSet::from([event_identity(time, id)]), 0),
            None => (HashSet::new(), 1),
        };
        KeyUses {
            first: time,
            first_text: text.clone(),
            last: time,
            last_text: text,
            events: 1,
            seen,
            unidentified,
            holder: Identity::of(record),
            account: record.str_field("recipientAccountId").map(str::to_string),
        }
    }

    fn absorb(&mut self, other: KeyUses) {
        self.seen.extend(other.seen);
        self.unidentified += other.unidentified;
        self.events = self.seen.len() as u64 + self.unidentified;
        if other.last > self.last {
            (self.last, self.last_text) = (other.last, other.last_text);
        }
        if (other.first, &other.holder.arn) < (self.first, &self.holder.arn) {
            (self.first, self.first_text) = (other.first, other.first_text);
            self.holder = other.holder;
            self.account = other.account;
        }
    }
}

/// Whose key uses a pass collects.
#[derive(Debug, Clone)]
pub enum Wanted {
    /// These keys.
    Keys(HashSet<String>),
    /// Every key the principal used: its ARN is the event's `userIdentity.arn`, or the
    /// session issuer's (a role's ARN names all of its sessions).
    Principal(String),
}

impl Wanted {
    /// Whether the use of `key` in `record` is one this asks for.
    pub fn wants(&self, key: &str, record: &Record<'_, '_>) -> bool {
        match self {
            Wanted::Keys(keys) => keys.contains(key),
            Wanted::Principal(arn) => made_by(record, arn),
        }
    }
}

/// Everything a trace needs from the records, gathered in one pass (one per worker thread,
/// merged).
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// Issuing events by the key they issued.
    pub issuances: HashMap<String, Vec<Issuance>>,
    /// Uses of the wanted keys, by key.
    pub uses: HashMap<String, KeyUses>,
    /// Where the searched window starts (`None`: the archive's start): an issuing event
    /// before it was not looked for, which a trace must say rather than call it missing.
    pub searched_from: Option<EventTime>,
    /// The object of the last issuance kept, to share its key.
    last_object: Option<Arc<str>>,
}

impl Evidence {
    /// Takes what `record` (read from `object_key`) tells: an issuance, a use of a wanted key.
    pub fn add(&mut self, record: &Record<'_, '_>, object_key: &str, wanted: &Wanted) {
        self.add_issuance(record, object_key);
        if record
            .access_key_id()
            .is_some_and(|key| wanted.wants(key, record))
        {
            self.add_use(record);
        }
    }

    /// Keeps `record` if it issued a key (or a session whose key its response does not name).
    pub fn add_issuance(&mut self, record: &Record<'_, '_>, object_key: &str) {
        if record.issued_access_key().is_none() && !names_a_session_without_a_key(record) {
            return;
        }
        // One shared copy of the key per object, not one per issuance.
        let shared = match &self.last_object {
            Some(last) if **last == *object_key => Arc::clone(last),
            _ => {
                let key: Arc<str> = Arc::from(object_key);
                self.last_object = Some(Arc::clone(&key));
                key
            }
        };
        let Some(issuance) = Issuance::from_record(record, &shared) else {
            return;
        };
        match self.issuances.get_mut(issuance.issued_key.as_str()) {
            Some(found) => found.push(issuance),
            // Most keys are issued once: a list of one, not the four a first push reserves.
            None => {
                self.issuances
                    .insert(issuance.issued_key.clone(), vec![issuance]);
            }
        }
    }

    /// Counts `record` as a use of its key (if it names one and has a time).
    pub fn add_use(&mut self, record: &Record<'_, '_>) {
        let (Some(key), Some(time)) = (record.access_key_id(), record.event_time()) else {
            return;
        };
        let uses = KeyUses::of(record, time);
        match self.uses.get_mut(key) {
            Some(known) => known.absorb(uses),
            None => {
                self.uses.insert(key.to_string(), uses);
            }
        }
    }

    /// Both passes' evidence (from two worker threads).
    pub fn merge(mut self, other: Evidence) -> Evidence {
        for (key, mut found) in other.issuances {
            match self.issuances.entry(key) {
                Entry::Occupied(mine) => mine.into_mut().append(&mut found),
                Entry::Vacant(none) => {
                    none.insert(found);
                }
            }
        }
        for (key, uses) in other.uses {
            match self.uses.get_mut(&key) {
                Some(known) => known.absorb(uses),
                None => {
                    self.uses.insert(key, uses);
                }
            }
        }
        self.searched_from = self.searched_from.or(other.searched_from);
        self
    }

    /// Puts each key's issuances in a fixed order (time, then event id, then object), so that
    /// a trace does not depend on which thread read what. A copy read twice (a duplicate
    /// delivery: the same `eventID`) is kept once.
    pub fn settle(&mut self) {
        for found in self.issuances.values_mut() {
            found.sort_by(|a, b| {
                (a.event_time, &a.event_id, &a.object_key).cmp(&(
                    b.event_time,
                    &b.event_id,
                    &b.object_key,
                ))
            });
            found.dedup_by(|a, b| a.event_id == b.event_id && !a.event_id.is_empty());
        }
    }
}
