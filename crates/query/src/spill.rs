//! Sorted runs of events on disk: the collector's overflow when a lookup matches more than
//! fits its memory budget. A run is an anonymous temporary file (deleted by the operating
//! system when closed) of length-prefixed records, written and read by this process only.

use std::fs::File;
use std::io::{self, BufReader, Write};

use trailscan_records::{EventTime, LookupEvent, Resource};

use crate::position::Position;
use crate::run_codec::{
    get_opt, get_str, get_u64, get_u8, put_opt, put_str, put_u64, rewound, temp_writer,
};

/// A sorted run being read back.
pub struct Run {
    reader: BufReader<File>,
}

/// Writes `events` (already in order) to a new run.
pub fn write_run<'a>(
    events: impl Iterator<Item = (&'a Position, &'a LookupEvent)>,
) -> io::Result<Run> {
    let mut w = temp_writer()?;
    for (p, e) in events {
        w.write_all(&[1])?;
        put_u64(&mut w, p.secs as u64)?;
        put_u64(&mut w, u64::from(p.nanos))?;
        put_str(&mut w, &p.event_id)?;
        put_str(&mut w, &p.key)?;
        put_u64(&mut w, p.index)?;
        put_opt(&mut w, e.event_id.as_deref())?;
        put_opt(&mut w, e.event_name.as_deref())?;
        w.write_all(&[match e.read_only {
            None => 0,
            Some(false) => 1,
            Some(true) => 2,
        }])?;
        put_opt(&mut w, e.access_key_id.as_deref())?;
        put_u64(&mut w, e.event_time.secs as u64)?;
        put_u64(&mut w, u64::from(e.event_time.nanos))?;
        put_opt(&mut w, e.event_source.as_deref())?;
        put_opt(&mut w, e.username.as_deref())?;
        put_u64(&mut w, e.resources.len() as u64)?;
        for r in &e.resources {
            put_opt(&mut w, r.resource_type.as_deref())?;
            put_opt(&mut w, r.resource_name.as_deref())?;
        }
        put_str(&mut w, &e.cloudtrail_event)?;
    }
    w.write_all(&[0])?;
    Ok(Run {
        reader: rewound(w)?,
    })
}

impl Run {
    /// The next event of the run, or `None` at its end.
    pub fn next_event(&mut self) -> io::Result<Option<(Position, LookupEvent)>> {
        let r = &mut self.reader;
        if get_u8(r)? == 0 {
            return Ok(None);
        }
        let position = Position {
            secs: get_u64(r)? as i64,
            nanos: get_u64(r)? as u32,
            event_id: get_str(r)?,
            key: get_str(r)?,
            index: get_u64(r)?,
        };
        let event_id = get_opt(r)?;
        let event_name = get_opt(r)?;
        let read_only = match get_u8(r)? {
            0 => None,
            1 => Some(false),
            _ => Some(true),
        };
        let access_key_id = get_opt(r)?;
        let event_time = EventTime {
            secs: get_u64(r)? as i64,
            nanos: get_u64(r)? as u32,
        };
        let event_source = get_opt(r)?;
        let username = get_opt(r)?;
        let n = get_u64(r)?;
        let mut resources = Vec::new();
        for _ in 0..n {
            resources.push(Resource {
                resource_type: get_opt(r)?,
                resource_name: get_opt(r)?,
            });
        }
        let cloudtrail_event = get_str(r)?;
        let event = LookupEvent {
            event_id,
            event_name,
            read_only,
            access_key_id,
            event_time,
            event_source,
            username,
            resources,
            cloudtrail_event,
        };
        Ok(Some((position, event)))
    }
}
