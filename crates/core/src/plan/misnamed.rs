//! Top-level keys Amplitude does not read, with the key that was meant:
//! the mistakes of hand-written senders (the guide this project started
//! from sends an ISO `timestamp` instead of `time` in milliseconds).

use serde_json::Value;
use time::format_description::well_known::Rfc3339;

use super::validate::{Code, Sink};
use crate::event::{Dialect, Event};

/// Keys other trackers and camelCase habits use, and Amplitude's name.
const MEANT: [(&str, &str); 12] = [
    ("timestamp", "time"),
    ("userId", "user_id"),
    ("deviceId", "device_id"),
    ("eventType", "event_type"),
    ("event", "event_type"),
    ("name", "event_type"),
    ("properties", "event_properties"),
    ("eventProperties", "event_properties"),
    ("userProperties", "user_properties"),
    ("traits", "user_properties"),
    ("insertId", "insert_id"),
    ("sessionId", "session_id"),
];

pub(super) fn check(event: &Event, sink: &mut Sink<'_, '_>) {
    // amplitude-js v8 sends `timestamp` itself, and identify forms have their own keys.
    if event.dialect() != Dialect::V2 {
        return;
    }
    let Some(fields) = event.fields() else { return };
    for (sent, meant) in MEANT {
        let Some(value) = fields.get(sent) else {
            continue;
        };
        if fields.contains_key(meant) {
            continue; // both sent: the right one is read, the other is noise
        }
        let expected = format!("{meant} (Amplitude does not read {sent})");
        sink.push(
            Code::MisnamedField,
            sent,
            Some(&expected),
            Some(actual(meant, value)),
        );
    }
}

/// The value sent, and for a time what it would be in milliseconds.
fn actual(meant: &str, value: &Value) -> String {
    let shown = crate::plan::describe_value(value);
    if meant != "time" {
        return shown;
    }
    let ms = match value {
        Value::String(text) => time::OffsetDateTime::parse(text, &Rfc3339)
            .ok()
            .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64),
        Value::Number(n) => n.as_i64(),
        _ => None,
    };
    match ms {
        Some(ms) => format!("{shown}: send \"time\": {ms}"),
        None => shown,
    }
}
