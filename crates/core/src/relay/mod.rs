//! The relay's mapping: an app's own record (Dify's `MessageCreated`, a
//! workflow's custom tracking JSON) → an Amplitude HTTP V2 event, through
//! the plan. Pure: the tap's relay endpoint feeds it records and sends what
//! it makes. What cannot be mapped or coerced is a finding, never dropped
//! in silence; every coercion is listed beside the event.

mod coerce;
mod throttle;

pub use coerce::{time_ms, to_type};
pub use throttle::{Decision, Throttle};

use serde_json::{Map, Value};

use crate::plan::{Code, EventSpec, Finding, Plan, RelaySpec, Severity};

/// What a record became.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    pub event_type: String,
    /// The Amplitude event, ready for `/2/httpapi`'s `events`.
    pub event: Map<String, Value>,
    /// Values that could not be mapped or coerced (`unmappable_record`).
    pub findings: Vec<Finding>,
    /// What was changed on the way: `time: ISO 8601 → ms`.
    pub coerced: Vec<String>,
}

/// A record no event type in the plan maps.
#[derive(Debug, Clone, PartialEq)]
pub struct Unmapped {
    pub finding: Finding,
}

/// The value at a dotted `path` in `record` (`data.content`).
pub fn at<'a>(record: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(record, |v, part| v.get(part))
}

/// The record's own name for what happened: `event`, else `type`.
fn record_event(record: &Value) -> Option<&str> {
    ["event", "type", "event_type"]
        .iter()
        .find_map(|k| record.get(*k).and_then(Value::as_str))
}

/// Maps one record; `Err` when no event type in the plan claims it.
pub fn map(plan: &Plan, record: &Value) -> Result<Mapped, Unmapped> {
    let name = record_event(record);
    let claimed = plan.events.iter().find_map(|(event_type, spec)| {
        let relay = spec.relay.as_ref()?;
        let from_ok =
            relay.from.is_empty() || name.is_some_and(|n| relay.from.iter().any(|f| f == n));
        let when_ok = relay
            .when
            .iter()
            .all(|(path, want)| at(record, path).map(text).as_deref() == Some(want.as_str()));
        (from_ok && when_ok && !(relay.from.is_empty() && relay.when.is_empty()))
            .then_some((event_type, spec, relay))
    });
    let Some((event_type, spec, relay)) = claimed else {
        return Err(Unmapped {
            finding: finding(
                None,
                "event",
                "a record an event type's [relay] maps (from = …)",
                match name {
                    Some(n) => format!("{n:?}: no event type in the plan relays it"),
                    None => "a record with no event, type or event_type".to_owned(),
                },
            ),
        });
    };
    let mut out = Mapped {
        event_type: event_type.clone(),
        event: Map::new(),
        findings: Vec::new(),
        coerced: Vec::new(),
    };
    out.event
        .insert("event_type".into(), Value::String(event_type.clone()));
    fields(&mut out, relay, record);
    let insert_id = match relay.insert_id.as_deref().and_then(|p| at(record, p)) {
        Some(id) if !id.is_null() => text(id),
        _ => format!("relay-{}", fingerprint(record)),
    };
    out.event
        .insert("insert_id".into(), Value::String(insert_id));
    properties(&mut out, spec, relay, record);
    Ok(out)
}

/// user_id, device_id, time, session_id from their paths.
fn fields(out: &mut Mapped, relay: &RelaySpec, record: &Value) {
    let event_type = out.event_type.clone();
    for (field, path) in [("user_id", &relay.user_id), ("device_id", &relay.device_id)] {
        let Some(path) = path else { continue };
        match at(record, path).filter(|v| !v.is_null()) {
            Some(v) if v.is_string() || v.is_number() => {
                out.event.insert(field.into(), Value::String(text(v)));
            }
            Some(v) => out.findings.push(finding(
                Some(&event_type),
                field,
                &format!("text or a number at {path}"),
                v.to_string(),
            )),
            None => out.findings.push(finding(
                Some(&event_type),
                field,
                &format!("a value at {path}"),
                "absent in the record".into(),
            )),
        }
    }
    if let Some(path) = &relay.time {
        match at(record, path).map(time_ms) {
            Some(Ok((ms, how))) => {
                out.event.insert("time".into(), Value::from(ms));
                if let Some(how) = how {
                    out.coerced.push(format!("time: {how}"));
                }
            }
            Some(Err(why)) => out.findings.push(finding(
                Some(&event_type),
                "time",
                &format!("a time at {path}"),
                why,
            )),
            None => out.findings.push(finding(
                Some(&event_type),
                "time",
                &format!("a time at {path}"),
                "absent in the record".into(),
            )),
        }
    }
    if let Some(path) = &relay.session_id {
        match at(record, path).map(|v| coerce::to_type(v, &crate::plan::PropType::Integer)) {
            Some(Ok((v, _))) if v.is_i64() => {
                out.event.insert("session_id".into(), v);
            }
            Some(_) => out.findings.push(finding(
                Some(&event_type),
                "session_id",
                &format!("ms since the epoch at {path}"),
                "not a whole number".into(),
            )),
            None => {}
        }
    }
}

/// Each planned property from its path: the relay's, else its `source`,
/// else its own name.
fn properties(out: &mut Mapped, spec: &EventSpec, relay: &RelaySpec, record: &Value) {
    let mut props = Map::new();
    for (name, p) in &spec.properties {
        let path = relay
            .properties
            .get(name)
            .or(p.source.as_ref())
            .map_or(name.as_str(), String::as_str);
        let Some(value) = at(record, path) else {
            if p.required {
                out.findings.push(finding(
                    Some(&out.event_type),
                    &format!("event_properties.{name}"),
                    &format!("{} at {path} (required)", p.ty),
                    "absent in the record".into(),
                ));
            }
            continue;
        };
        match to_type(value, &p.ty) {
            Ok((v, how)) => {
                if let Some(how) = how {
                    out.coerced.push(format!("event_properties.{name}: {how}"));
                }
                props.insert(name.clone(), v);
            }
            Err(why) => {
                out.findings.push(finding(
                    Some(&out.event_type),
                    &format!("event_properties.{name}"),
                    &format!("{} at {path}", p.ty),
                    why,
                ));
                // Sent as it came: the check shows the mismatch downstream too.
                props.insert(name.clone(), value.clone());
            }
        }
    }
    out.event
        .insert("event_properties".into(), Value::Object(props));
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn finding(event_type: Option<&str>, path: &str, expected: &str, actual: String) -> Finding {
    Finding {
        code: Code::UnmappableRecord,
        severity: Severity::Error,
        event_type: event_type.map(str::to_owned),
        path: path.to_owned(),
        expected: Some(expected.to_owned()),
        actual: Some(actual),
    }
}

/// A stable id from the record's content: the same record resent (a retry,
/// a restart) gets the same insert_id, so Amplitude drops the copy. FNV-1a
/// over the canonical JSON (keys sorted), twice with two offsets: 128 bits.
pub fn fingerprint(record: &Value) -> String {
    let canonical = record.to_string(); // serde_json's Map keeps keys sorted
    let fnv = |offset: u64| {
        canonical.bytes().fold(offset, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        })
    };
    format!(
        "{:016x}{:016x}",
        fnv(0xcbf2_9ce4_8422_2325),
        fnv(0x6c62_272e_07bb_0142)
    )
}

#[cfg(test)]
mod tests;
