//! Answers as Amplitude gives them, for `--offline` and `fake_amplitude`.
//!
//! JSON endpoints answer JSON with a `code` (the V2 SDKs read it, not the
//! HTTP status); form endpoints answer `success` as plain text.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::shape::{Field, Kind, Shape};
use super::Reply;
use crate::event::{Batch, DecodeError, Endpoint, Event};

/// Amplitude's minimum user and device id length when `options` sets none.
pub const DEFAULT_MIN_ID_LENGTH: usize = 5;

/// The answer Amplitude gives to this decoded request.
pub fn answer(endpoint: Endpoint, decoded: &Result<Batch, DecodeError>, now_ms: i64) -> Reply {
    if endpoint.is_json() {
        let (status, body) = json_answer(endpoint, decoded, now_ms);
        json_reply(status, &body)
    } else {
        form_answer(decoded)
    }
}

pub fn json_reply(status: u16, body: &Value) -> Reply {
    Reply::new(status, "application/json", body.to_string())
}

/// Amplitude-shaped bodies for the statuses the fault knobs and failures produce.
pub fn error_body(status: u16, event_count: usize) -> Value {
    match status {
        413 => json!({"code": 413, "error": "Payload too large"}),
        429 => json!({
            "code": 429,
            "error": "Too many requests for some devices and users",
            "eps_threshold": 30,
            "throttled_devices": {},
            "throttled_users": {},
            "throttled_events": (0..event_count).collect::<Vec<_>>(),
            "exceeded_daily_quota_devices": {},
            "exceeded_daily_quota_users": {},
        }),
        502 => json!({"code": 502, "error": "Bad gateway"}),
        503 => json!({"code": 503, "error": "Service unavailable"}),
        504 => json!({"code": 504, "error": "Gateway timeout"}),
        400 => json!({"code": 400, "error": "Bad request"}),
        _ => json!({"code": status, "error": "Internal server error"}),
    }
}

fn json_answer(
    endpoint: Endpoint,
    decoded: &Result<Batch, DecodeError>,
    now_ms: i64,
) -> (u16, Value) {
    let batch = match decoded {
        Ok(batch) => batch,
        Err(DecodeError::TooLarge { .. } | DecodeError::TooManyEvents { .. }) => {
            return (413, error_body(413, 0))
        }
        Err(DecodeError::MissingField(field)) => {
            return (
                400,
                json!({"code": 400, "error": "Request missing required field", "missing_field": field}),
            )
        }
        Err(e @ DecodeError::InvalidField { .. }) => {
            return (400, json!({"code": 400, "error": e.to_string()}))
        }
        // Amplitude's documented bodies, key for key (the record keeps why).
        Err(DecodeError::EmptyBody) => {
            return (400, json!({"code": 400, "error": "Missing request body"}))
        }
        Err(_) => {
            return (
                400,
                json!({"code": 400, "error": "Invalid JSON request body"}),
            )
        }
    };
    if batch.payload_size_bytes > endpoint.max_payload_bytes()
        || endpoint
            .max_events()
            .is_some_and(|max| batch.events.len() > max)
    {
        return (413, error_body(413, batch.events.len()));
    }
    if batch.events.is_empty() {
        return (
            400,
            json!({"code": 400, "error": "Request missing required field", "missing_field": "events"}),
        );
    }
    // An event that is not an object fails the whole request, as documented.
    if batch
        .events
        .iter()
        .any(|e| !e.raw().get().trim_start().starts_with('{'))
    {
        return (400, json!({"code": 400, "error": "Invalid event JSON"}));
    }
    let verdict = EventVerdicts::of(batch);
    if let Some(body) = verdict.error_body() {
        return (400, body);
    }
    (
        200,
        json!({
            "code": 200,
            "events_ingested": batch.events.len(),
            "payload_size_bytes": batch.payload_size_bytes,
            "server_upload_time": now_ms,
        }),
    )
}

fn form_answer(decoded: &Result<Batch, DecodeError>) -> Reply {
    let text = |status: u16, body: String| Reply::new(status, "text/plain; charset=utf-8", body);
    match decoded {
        Ok(batch) if batch.events.is_empty() => text(400, "missing_event".into()),
        Ok(_) => text(200, "success".into()),
        Err(DecodeError::TooLarge { .. } | DecodeError::TooManyEvents { .. }) => {
            text(413, "Payload too large".into())
        }
        // Identify's docs: "missing_event" when identification is missing or malformed.
        Err(DecodeError::MissingField("identification" | "event" | "e"))
        | Err(DecodeError::InvalidField {
            field: "identification" | "event" | "e",
            ..
        }) => text(400, "missing_event".into()),
        Err(e) => text(400, e.to_string()),
    }
}

/// Per-event problems, keyed by field, as indices into the request's events.
#[derive(Default)]
struct EventVerdicts {
    invalid_fields: BTreeMap<&'static str, Vec<usize>>,
    missing_fields: BTreeMap<&'static str, Vec<usize>>,
    invalid_id_lengths: BTreeMap<&'static str, Vec<usize>>,
}

impl EventVerdicts {
    fn of(batch: &Batch) -> Self {
        let min_id = batch.min_id_length().unwrap_or(DEFAULT_MIN_ID_LENGTH);
        // The Batch API's docs: a short id "is dropped from the event"; only
        // an event left with no id fails. HTTP V2 answers 400 for it.
        let drops_short_ids = batch.endpoint == Endpoint::Batch;
        let mut v = EventVerdicts::default();
        for (i, event) in batch.events.iter().enumerate() {
            v.check(i, event, min_id, drops_short_ids);
        }
        v
    }

    fn check(&mut self, i: usize, event: &Event, min_id: usize, drops_short_ids: bool) {
        // Only the kind of each top-level field matters: nothing is built
        // for a 15 MB property or for each of 500,000 tiny events.
        let Ok(shape) = serde_json::from_str::<Shape>(event.raw().get()) else {
            self.invalid_fields.entry("event").or_default().push(i);
            return;
        };
        match shape.kind(Field::EventType) {
            None | Some(Kind::Null | Kind::Text { chars: 0, .. }) => self
                .missing_fields
                .entry(Field::EventType.name())
                .or_default()
                .push(i),
            Some(Kind::Text { .. }) => {}
            Some(_) => self
                .invalid_fields
                .entry(Field::EventType.name())
                .or_default()
                .push(i),
        }
        let mut has_id = false;
        for field in [Field::UserId, Field::DeviceId] {
            let id = field.name();
            match shape.kind(field) {
                None | Some(Kind::Null) => {}
                Some(Kind::Text {
                    placeholder: true, ..
                }) => {
                    has_id = true;
                    self.invalid_fields.entry(id).or_default().push(i);
                }
                Some(Kind::Text { chars, .. }) if chars < min_id && drops_short_ids => {}
                Some(Kind::Text { chars, .. }) => {
                    has_id = true;
                    if chars < min_id {
                        self.invalid_id_lengths.entry(id).or_default().push(i);
                    }
                }
                Some(_) => {
                    has_id = true;
                    self.invalid_fields.entry(id).or_default().push(i);
                }
            }
        }
        if !has_id {
            self.missing_fields
                .entry(Field::DeviceId.name())
                .or_default()
                .push(i);
        }
        // Amplitude takes `time` and `session_id` only as integer milliseconds.
        for field in [Field::Time, Field::SessionId] {
            if shape
                .kind(field)
                .is_some_and(|k| !matches!(k, Kind::Integer | Kind::Null))
            {
                self.invalid_fields.entry(field.name()).or_default().push(i);
            }
        }
        for field in [
            Field::EventProperties,
            Field::UserProperties,
            Field::Groups,
            Field::GroupProperties,
        ] {
            if shape
                .kind(field)
                .is_some_and(|k| !matches!(k, Kind::Object | Kind::Null))
            {
                self.invalid_fields.entry(field.name()).or_default().push(i);
            }
        }
    }

    fn error_body(&self) -> Option<Value> {
        let error = if !self.invalid_fields.is_empty() || !self.missing_fields.is_empty() {
            "Invalid field values on some events"
        } else if !self.invalid_id_lengths.is_empty() {
            "Invalid id length for user_id or device_id"
        } else {
            return None;
        };
        Some(json!({
            "code": 400,
            "error": error,
            "events_with_invalid_fields": self.invalid_fields,
            "events_with_missing_fields": self.missing_fields,
            "events_with_invalid_id_lengths": self.invalid_id_lengths,
            "silenced_devices": [],
            "silenced_events": [],
        }))
    }
}

#[cfg(test)]
mod tests;
