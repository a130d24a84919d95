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
    let one =
        r#"{"api_key":"k","events":[{"event_type":"a","user_id":"abc","device_id":"device-1"}]}"#;
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

#[test]
fn fields_are_known_by_name_whatever_the_spelling_and_the_last_counts() {
    // An escaped key is the same key; a repeated key's last value is read;
    // fields Amplitude does not judge are skipped whatever they hold.
    let body = r#"{"api_key":"k","events":[
        {"event\u005ftype":"a","user_id":"user-1","note":"null","x":[{"y":1}]},
        {"event_type":"a","user_id":"user-1","time":5,"time":"late"},
        {"event_type":7,"event_type":"a","device_id":"device-1"}]}"#;
    let (status, body) = offline(Endpoint::HttpV2, body);
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["events_with_invalid_fields"], json!({"time": [1]}));
    assert_eq!(body["events_with_missing_fields"], json!({}));
}
