//! Answers as Amplitude gives them, for `--offline` and `fake_amplitude`.
//!
//! JSON endpoints answer JSON with a `code` (the V2 SDKs read it, not the
//! HTTP status); form endpoints answer `success` as plain text.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::shape::{Kind, Shape};
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
        let Ok(Shape(fields)) = serde_json::from_str::<Shape>(event.raw().get()) else {
            self.invalid_fields.entry("event").or_default().push(i);
            return;
        };
        let kind = |name: &str| {
            fields
                .iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, kind)| *kind)
        };
        match kind("event_type") {
            None | Some(Kind::Null | Kind::Text { chars: 0, .. }) => {
                self.missing_fields.entry("event_type").or_default().push(i)
            }
            Some(Kind::Text { .. }) => {}
            Some(_) => self.invalid_fields.entry("event_type").or_default().push(i),
        }
        let mut has_id = false;
        for id in ["user_id", "device_id"] {
            match kind(id) {
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
            self.missing_fields.entry("device_id").or_default().push(i);
        }
        // Amplitude takes `time` and `session_id` only as integer milliseconds.
        for field in ["time", "session_id"] {
            if kind(field).is_some_and(|k| !matches!(k, Kind::Integer | Kind::Null)) {
                self.invalid_fields.entry(field).or_default().push(i);
            }
        }
        for field in [
            "event_properties",
            "user_properties",
            "groups",
            "group_properties",
        ] {
            if kind(field).is_some_and(|k| !matches!(k, Kind::Object | Kind::Null)) {
                self.invalid_fields.entry(field).or_default().push(i);
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
mod tests {
    use super::*;
    use crate::event::{decode_request, BodyLimits};

    fn offline(endpoint: Endpoint, body: &str) -> (u16, Value) {
        let decoded = decode_request(endpoint, None, body.as_bytes(), BodyLimits::default());
        let a = answer(endpoint, &decoded, 1_700_000_000_000);
        let text = String::from_utf8_lossy(&a.body).into_owned();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (a.status, body)
    }

    #[test]
    fn a_good_batch_is_ingested() {
        let (status, body) = offline(
            Endpoint::HttpV2,
            r#"{"api_key":"k","events":[{"event_type":"a","user_id":"user-1"}]}"#,
        );
        assert_eq!(status, 200);
        assert_eq!(body["code"], 200);
        assert_eq!(body["events_ingested"], 1);
        assert_eq!(body["server_upload_time"], 1_700_000_000_000_i64);
    }

    #[test]
    fn invalid_events_are_named_by_index() {
        let body = r#"{"api_key":"k","events":[
            {"event_type":"ok","user_id":"user-1"},
            {"user_id":"user-1"},
            {"event_type":"a","user_id":"u1"},
            {"event_type":"a","device_id":"device-1","time":"yesterday"},
            {"event_type":"a"}]}"#;
        let (status, body) = offline(Endpoint::HttpV2, body);
        assert_eq!(status, 400);
        assert_eq!(body["events_with_missing_fields"]["event_type"], json!([1]));
        assert_eq!(
            body["events_with_invalid_id_lengths"]["user_id"],
            json!([2])
        );
        assert_eq!(body["events_with_invalid_fields"]["time"], json!([3]));
        assert_eq!(body["events_with_missing_fields"]["device_id"], json!([4]));
    }

    #[test]
    fn min_id_length_is_honoured() {
        let body = r#"{"api_key":"k","events":[{"event_type":"a","user_id":"u1"}],"options":{"min_id_length":2}}"#;
        assert_eq!(offline(Endpoint::HttpV2, body).0, 200);
    }

    #[test]
    fn too_many_events_is_413() {
        let events = vec![r#"{"event_type":"a","user_id":"user-1"}"#; 2001].join(",");
        let (status, body) = offline(
            Endpoint::HttpV2,
            &format!(r#"{{"api_key":"k","events":[{events}]}}"#),
        );
        assert_eq!(body, json!({"code": 413, "error": "Payload too large"}));
        assert_eq!(status, 413);
        // "The limit per batch is 2000 events" (batch-event-upload docs, 413).
        let (status, body) = offline(
            Endpoint::Batch,
            &format!(r#"{{"api_key":"k","events":[{events}]}}"#),
        );
        assert_eq!(
            (status, body),
            (413, json!({"code": 413, "error": "Payload too large"}))
        );
    }

    #[test]
    fn batch_drops_a_short_id_and_fails_only_an_event_left_without_one() {
        let one = r#"{"api_key":"k","events":[{"event_type":"a","user_id":"abc","device_id":"device-1"}]}"#;
        assert_eq!(
            offline(Endpoint::Batch, one).0,
            200,
            "the short user_id is dropped"
        );
        assert_eq!(offline(Endpoint::HttpV2, one).0, 400, "HTTP V2 refuses it");
        let none = r#"{"api_key":"k","events":[{"event_type":"a","user_id":"abc"}]}"#;
        let (status, body) = offline(Endpoint::Batch, none);
        assert_eq!(
            (status, &body["events_with_missing_fields"]["device_id"]),
            (400, &json!([0]))
        );
    }

    /// The bodies amplitude-docs gives (http-v2, batch-event-upload,
    /// identify), key for key: nothing added.
    #[test]
    fn documented_error_bodies_key_for_key() {
        let cases = [
            (
                Endpoint::HttpV2,
                "",
                json!({"code": 400, "error": "Missing request body"}),
            ),
            (
                Endpoint::Batch,
                "  ",
                json!({"code": 400, "error": "Missing request body"}),
            ),
            (
                Endpoint::HttpV2,
                "{nope",
                json!({"code": 400, "error": "Invalid JSON request body"}),
            ),
            (
                Endpoint::HttpV2,
                r#"{"api_key":"k","events":["not an object"]}"#,
                json!({"code": 400, "error": "Invalid event JSON"}),
            ),
            (
                Endpoint::HttpV2,
                r#"{"events":[]}"#,
                json!({"code": 400, "error": "Request missing required field", "missing_field": "api_key"}),
            ),
        ];
        for (endpoint, body, want) in cases {
            assert_eq!(offline(endpoint, body), (400, want), "{body:?}");
        }
        let (status, body) = offline(Endpoint::Identify, "api_key=k");
        assert_eq!((status, body), (400, Value::String("missing_event".into())));
        for id in [
            "00000000-0000-0000-0000-000000000000",
            "null",
            "lmy47d",
            "{}",
        ] {
            let request = format!(
                r#"{{"api_key":"k","events":[{{"event_type":"a","device_id":"{}"}}]}}"#,
                id.replace('"', "\\\"")
            );
            let (status, body) = offline(Endpoint::HttpV2, &request);
            assert_eq!(status, 400, "{id}");
            assert_eq!(
                body["events_with_invalid_fields"]["device_id"],
                json!([0]),
                "{id}: {body}"
            );
        }
    }

    #[test]
    fn bad_json_and_missing_fields() {
        let (status, body) = offline(Endpoint::HttpV2, "{");
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("Invalid JSON request body"))
        );
        let (_, body) = offline(Endpoint::HttpV2, r#"{"events":[]}"#);
        assert_eq!(body["missing_field"], "api_key");
    }

    #[test]
    fn form_endpoints_answer_success() {
        let (status, body) = offline(
            Endpoint::HttpApiV1,
            "api_key=k&event=%7B%22event_type%22%3A%22a%22%7D",
        );
        assert_eq!((status, body), (200, json!("success")));
        let (status, _) = offline(Endpoint::Identify, "api_key=k");
        assert_eq!(status, 400);
    }
}
