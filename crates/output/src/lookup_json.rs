//! The `LookupEvents` answer as `aws cloudtrail lookup-events` prints it in JSON.

use std::borrow::Borrow;
use std::io::{self, Write};

use serde_json::{Map, Value};
use trailscan_records::LookupEvent;

use crate::python_json::{newline_indent, write_string};

/// The members of `Event`, in the service model's order (which the AWS CLI's JSON keeps).
pub const EVENT_MEMBERS: [&str; 9] = [
    "EventId",
    "EventName",
    "ReadOnly",
    "AccessKeyId",
    "EventTime",
    "EventSource",
    "Username",
    "Resources",
    "CloudTrailEvent",
];

/// The event as the service model orders its members, absent values omitted:
/// EventId, EventName, ReadOnly, AccessKeyId, EventTime, EventSource, Username, Resources,
/// CloudTrailEvent.
pub fn event_value(event: &LookupEvent) -> Value {
    let mut m = Map::new();
    let mut put = |k: &str, v: Option<&String>| {
        if let Some(v) = v {
            m.insert(k.to_string(), Value::String(v.clone()));
        }
    };
    put("EventId", event.event_id.as_ref());
    put("EventName", event.event_name.as_ref());
    put("ReadOnly", event.read_only.map(|b| b.to_string()).as_ref());
    put("AccessKeyId", event.access_key_id.as_ref());
    put("EventTime", Some(&event.event_time.to_iso()));
    put("EventSource", event.event_source.as_ref());
    put("Username", event.username.as_ref());
    let resources = event
        .resources
        .iter()
        .map(|r| {
            let mut o = Map::new();
            if let Some(t) = &r.resource_type {
                o.insert("ResourceType".to_string(), Value::String(t.clone()));
            }
            if let Some(n) = &r.resource_name {
                o.insert("ResourceName".to_string(), Value::String(n.clone()));
            }
            Value::Object(o)
        })
        .collect();
    m.insert("Resources".to_string(), Value::Array(resources));
    m.insert(
        "CloudTrailEvent".to_string(),
        Value::String(event.cloudtrail_event.clone()),
    );
    Value::Object(m)
}

/// Writes one event at nesting `level`, byte-identical to [`event_value`] through
/// [`write_value`], without building the value.
fn write_event(w: &mut impl Write, event: &LookupEvent, level: usize) -> io::Result<()> {
    let mut first = true;
    let mut member = |w: &mut dyn Write, key: &str| -> io::Result<()> {
        if !first {
            w.write_all(b",")?;
        }
        first = false;
        newline_indent(w, level + 1)?;
        write!(w, "\"{key}\": ")
    };
    let read_only = event.read_only.map(|b| if b { "true" } else { "false" });
    let time = event.event_time.to_iso();
    let strings = [
        ("EventId", event.event_id.as_deref()),
        ("EventName", event.event_name.as_deref()),
        ("ReadOnly", read_only),
        ("AccessKeyId", event.access_key_id.as_deref()),
        ("EventTime", Some(time.as_str())),
        ("EventSource", event.event_source.as_deref()),
        ("Username", event.username.as_deref()),
    ];
    w.write_all(b"{")?;
    for (key, value) in strings {
        if let Some(value) = value {
            member(w, key)?;
            write_string(w, value)?;
        }
    }
    member(w, "Resources")?;
    if event.resources.is_empty() {
        w.write_all(b"[]")?;
    } else {
        w.write_all(b"[")?;
        for (i, r) in event.resources.iter().enumerate() {
            if i > 0 {
                w.write_all(b",")?;
            }
            newline_indent(w, level + 2)?;
            let fields = [
                ("ResourceType", r.resource_type.as_deref()),
                ("ResourceName", r.resource_name.as_deref()),
            ];
            let present: Vec<_> = fields
                .iter()
                .filter_map(|(k, v)| v.map(|v| (k, v)))
                .collect();
            if present.is_empty() {
                w.write_all(b"{}")?;
                continue;
            }
            w.write_all(b"{")?;
            for (j, (k, v)) in present.iter().enumerate() {
                if j > 0 {
                    w.write_all(b",")?;
                }
                newline_indent(w, level + 3)?;
                write!(w, "\"{k}\": ")?;
                write_string(w, v)?;
            }
            newline_indent(w, level + 2)?;
            w.write_all(b"}")?;
        }
        newline_indent(w, level + 1)?;
        w.write_all(b"]")?;
    }
    member(w, "CloudTrailEvent")?;
    write_string(w, &event.cloudtrail_event)?;
    newline_indent(w, level)?;
    w.write_all(b"}")
}

/// The whole answer as a JSON value (for `--query` and other formats).
pub fn response_value(events: &[LookupEvent], next_token: Option<&str>) -> Value {
    let mut m = Map::new();
    m.insert(
        "Events".to_string(),
        Value::Array(events.iter().map(event_value).collect()),
    );
    if let Some(token) = next_token {
        m.insert("NextToken".to_string(), Value::String(token.to_string()));
    }
    Value::Object(m)
}

/// Writes `{"Events": [...], "NextToken": ...}` event by event, byte-identical to
/// [`response_value`] through the Python layout, as they come, without holding the answer.
pub fn write_response<I>(w: &mut impl Write, events: I, next_token: Option<&str>) -> io::Result<()>
where
    I: IntoIterator,
    I::Item: Borrow<LookupEvent>,
{
    w.write_all(b"{")?;
    newline_indent(w, 1)?;
    w.write_all(b"\"Events\": [")?;
    let mut any = false;
    for event in events {
        if any {
            w.write_all(b",")?;
        }
        any = true;
        newline_indent(w, 2)?;
        write_event(w, event.borrow(), 2)?;
    }
    if any {
        newline_indent(w, 1)?;
    }
    w.write_all(b"]")?;
    if let Some(token) = next_token {
        w.write_all(b",")?;
        newline_indent(w, 1)?;
        w.write_all(b"\"NextToken\": ")?;
        write_string(w, token)?;
    }
    w.write_all(b"\n}\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::python_json::write_value;
    use trailscan_records::{EventTime, Resource};

    fn events() -> Vec<LookupEvent> {
        vec![
            LookupEvent {
                event_id: Some("11111111-2222-3333-4444-555555555555".into()),
                event_name: Some("TerminateInstances".into()),
                read_only: Some(false),
                access_key_id: Some("AKIAIOSFODNN7EXAMPLE".into()),
                event_time: EventTime::from_secs(1_705_287_845),
                event_source: Some("ec2.amazonaws.com".into()),
                username: Some("alice".into()),
                resources: vec![Resource {
                    resource_type: Some("AWS::EC2::Instance".into()),
                    resource_name: Some("i-0123456789abcdef0".into()),
                }],
                cloudtrail_event: r#"{"eventVersion":"1.09"}"#.into(),
            },
            LookupEvent {
                event_id: Some("66666666-7777-8888-9999-000000000000".into()),
                event_name: Some("Decrypt".into()),
                read_only: Some(true),
                access_key_id: None,
                event_time: EventTime::from_secs(1_705_284_000),
                event_source: Some("kms.amazonaws.com".into()),
                username: None,
                resources: vec![],
                cloudtrail_event: "{}".into(),
            },
        ]
    }

    /// The AWS CLI's own rendering of the spec's two-event example (section 3.3), with
    /// EventTime as v2 prints it in UTC.
    #[test]
    fn golden_two_events() {
        let mut out = Vec::new();
        write_response(&mut out, events(), None).unwrap();
        let expected = r#"{
    "Events": [
        {
            "EventId": "11111111-2222-3333-4444-555555555555",
            "EventName": "TerminateInstances",
            "ReadOnly": "false",
            "AccessKeyId": "AKIAIOSFODNN7EXAMPLE",
            "EventTime": "2024-01-15T03:04:05+00:00",
            "EventSource": "ec2.amazonaws.com",
            "Username": "alice",
            "Resources": [
                {
                    "ResourceType": "AWS::EC2::Instance",
                    "ResourceName": "i-0123456789abcdef0"
                }
            ],
            "CloudTrailEvent": "{\"eventVersion\":\"1.09\"}"
        },
        {
            "EventId": "66666666-7777-8888-9999-000000000000",
            "EventName": "Decrypt",
            "ReadOnly": "true",
            "EventTime": "2024-01-15T02:00:00+00:00",
            "EventSource": "kms.amazonaws.com",
            "Resources": [],
            "CloudTrailEvent": "{}"
        }
    ]
}
"#;
        assert_eq!(String::from_utf8(out).unwrap(), expected);
    }

    #[test]
    fn streaming_equals_value_rendering() {
        let mut odd = events();
        odd[1].resources = vec![
            Resource {
                resource_type: None,
                resource_name: Some("arn:aws:s3:::b".into()),
            },
            Resource {
                resource_type: Some("AWS::S3::Bucket".into()),
                resource_name: None,
            },
            Resource {
                resource_type: None,
                resource_name: None,
            },
        ];
        odd[1].cloudtrail_event = "{\"userAgent\":\"\u{1b}[31m ünï\\\"\"}".into();
        for (evs, token) in [
            (events(), Some("tok")),
            (odd, None),
            (vec![], None),
            (vec![], Some("t")),
        ] {
            let mut streamed = Vec::new();
            write_response(&mut streamed, &evs, token).unwrap();
            let mut whole = Vec::new();
            write_value(&mut whole, &response_value(&evs, token), 0).unwrap();
            whole.push(b'\n');
            assert_eq!(
                String::from_utf8(streamed).unwrap(),
                String::from_utf8(whole).unwrap()
            );
        }
    }
}
