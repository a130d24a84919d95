//! Top-level keys Amplitude does not read, with the key that was meant:
//! the mistakes of hand-written senders (the guide this project started
//! from sends an ISO `timestamp` instead of `time` in milliseconds).

use time::format_description::well_known::Rfc3339;

use super::validate::{Code, Sink};
use crate::event::{Dialect, Event, View};

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
    let fields = event.view();
    // One pass over the keys; the rare event with a misnamed one is looked at again.
    let mut sent_keys: [Option<View<'_>>; MEANT.len()] = [None; MEANT.len()];
    for (key, value) in fields.entries() {
        if let Some(i) = meant_index(key) {
            sent_keys[i] = Some(value);
        }
    }
    for ((sent, meant), value) in MEANT.into_iter().zip(sent_keys) {
        let Some(value) = value else {
            continue;
        };
        if fields.get(meant).is_some() {
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

/// Where `key` is in [`MEANT`]: one `match`, not a compare with each.
fn meant_index(key: &str) -> Option<usize> {
    Some(match key {
        "timestamp" => 0,
        "userId" => 1,
        "deviceId" => 2,
        "eventType" => 3,
        "event" => 4,
        "name" => 5,
        "properties" => 6,
        "eventProperties" => 7,
        "userProperties" => 8,
        "traits" => 9,
        "insertId" => 10,
        "sessionId" => 11,
        _ => return None,
    })
}

/// The value sent, and for a time what it would be in milliseconds.
fn actual(meant: &str, value: View<'_>) -> String {
    let shown = crate::plan::describe(value);
    if meant != "time" {
        return shown;
    }
    let ms = match value.as_str() {
        Some(text) => time::OffsetDateTime::parse(text, &Rfc3339)
            .ok()
            .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64),
        None => value.as_i64(),
    };
    match ms {
        Some(ms) => format!("{shown}: send \"time\": {ms}"),
        None => shown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_follows_the_table() {
        for (i, (sent, _)) in MEANT.iter().enumerate() {
            assert_eq!(meant_index(sent), Some(i), "{sent}");
        }
        assert_eq!(meant_index("time"), None);
    }
}
