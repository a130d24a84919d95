//! What a request that is not Amplitude's most likely is, said in words a
//! person setting up an SDK can act on: JSON sent to a form endpoint (a
//! `serverUrl` without its path), a form sent to a JSON endpoint, and the
//! payloads of other trackers (Dify's own tracking, Segment/RudderStack).

use serde_json::{Map, Value};

use super::{DecodeError, Endpoint};

/// Why a request is not what its endpoint takes, when its shape says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Diagnosis {
    /// Sent to the wrong endpoint: the SDK's set-up is wrong.
    Misrouted(String),
    /// Another tool's payload, not Amplitude's.
    Foreign(String),
}

impl Diagnosis {
    pub fn message(&self) -> &str {
        match self {
            Diagnosis::Misrouted(m) | Diagnosis::Foreign(m) => m,
        }
    }
}

const AMPLITUDE_SHAPE: &str = r#"Amplitude takes {"api_key": "…", "events": [{"event_type": "…", "user_id": "…", "time": <ms>}]}"#;

/// Looks at a body that did not decode at `endpoint`; `base` is the tap's
/// address as the client used it (`http://127.0.0.1:8787`).
pub fn diagnose(
    endpoint: Endpoint,
    body: &[u8],
    error: &DecodeError,
    base: &str,
) -> Option<Diagnosis> {
    if matches!(
        error,
        DecodeError::TooLarge { .. } | DecodeError::TooManyEvents { .. }
    ) {
        return None;
    }
    let first = body.iter().copied().find(|b| !b.is_ascii_whitespace());
    let json = matches!(first, Some(b'{' | b'['));
    if !endpoint.is_json() && json {
        return Some(Diagnosis::Misrouted(if endpoint == Endpoint::LegacyJs {
            format!(
                "JSON was posted to /, which takes amplitude-js's form posts: the SDK's serverUrl lacks its path; set it to {base}/2/httpapi"
            )
        } else {
            format!(
                "JSON was posted to {}, which takes a form (api_key=…&event=…); JSON goes to {base}/2/httpapi or {base}/batch",
                endpoint.path()
            )
        }));
    }
    if endpoint.is_json() && !json && looks_like_a_form(body) {
        return Some(Diagnosis::Misrouted(format!(
            "a form was posted to {}, which takes JSON; forms go to {base}/httpapi (api_key, event) or {base}/ (amplitude-js: client, e)",
            endpoint.path()
        )));
    }
    if !json {
        return None;
    }
    let value: Value = serde_json::from_slice(body).ok()?;
    foreign(&value).map(Diagnosis::Foreign)
}

fn looks_like_a_form(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&body[..body.len().min(256)]);
    ["api_key=", "client=", "e=", "event="]
        .iter()
        .any(|k| text.starts_with(k) || text.contains(&format!("&{k}")))
}

/// Names the tracker whose payload this is, and what Amplitude wants instead.
fn foreign(value: &Value) -> Option<String> {
    if let Value::Array(items) = value {
        let inner = items.first().and_then(foreign);
        return Some(match inner {
            Some(what) => format!("a JSON array of payloads; the first is {what}"),
            None => format!("a JSON array; {AMPLITUDE_SHAPE}"),
        });
    }
    let o = value.as_object()?;
    if o.contains_key("api_key") || o.contains_key("events") {
        return None; // Amplitude's own shape, broken in a way the decoder names
    }
    let has = |k: &str| o.contains_key(k);
    let what = if has("type") && (has("userId") || has("anonymousId")) {
        let call = o.get("type").and_then(Value::as_str).unwrap_or("call");
        format!("a Segment/RudderStack `{call}` call (type, userId/anonymousId, properties/traits)")
    } else if has("batch") && o.get("batch").is_some_and(Value::is_array) {
        "a Segment/RudderStack batch".to_owned()
    } else if has("event") && has("data") {
        let name = o.get("event").and_then(Value::as_str).unwrap_or("?");
        format!("a Dify event payload ({{\"event\": \"{name}\", \"data\": {{…}}}})")
    } else if has("event") && (has("context") || has("timestamp")) {
        let name = o.get("event").and_then(Value::as_str).unwrap_or("?");
        format!("a Dify custom tracking payload ({{\"event\": \"{name}\", \"timestamp\", \"user_id\", \"context\"}})")
    } else {
        return Some(format!("a JSON object with {}; {AMPLITUDE_SHAPE}", keys(o)));
    };
    Some(format!("{what}, not Amplitude's: {AMPLITUDE_SHAPE}"))
}

fn keys(o: &Map<String, Value>) -> String {
    let mut names: Vec<String> = o.keys().take(5).map(|k| format!("`{k}`")).collect();
    if o.len() > 5 {
        names.push("…".into());
    }
    if names.is_empty() {
        "no keys".into()
    } else {
        format!("keys {}", names.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn why(endpoint: Endpoint, body: &str) -> Option<Diagnosis> {
        let error = DecodeError::MissingField("api_key");
        diagnose(endpoint, body.as_bytes(), &error, "http://127.0.0.1:8787")
    }

    #[test]
    fn json_at_the_bare_address_names_the_server_url() {
        let d = why(Endpoint::LegacyJs, r#"{"api_key":"k","events":[]}"#).expect("diagnosed");
        assert!(matches!(d, Diagnosis::Misrouted(_)));
        assert!(
            d.message().contains("http://127.0.0.1:8787/2/httpapi"),
            "{d:?}"
        );
        let d = why(Endpoint::HttpV2, "api_key=k&event=%7B%7D").expect("diagnosed");
        assert!(d.message().contains("takes JSON"), "{d:?}");
    }

    #[test]
    fn other_trackers_are_named() {
        let dify = r#"{"event":"prompt_sent","timestamp":"2024-05-01T10:00:00Z","user_id":"u1","context":{"app":"a"}}"#;
        assert!(why(Endpoint::HttpV2, dify)
            .expect("dify")
            .message()
            .contains("Dify custom tracking"));
        let dify_event = r#"{"event":"MessageCreated","data":{"id":"m1"}}"#;
        assert!(why(Endpoint::HttpV2, dify_event)
            .expect("dify")
            .message()
            .contains("Dify event payload"));
        let segment = r#"{"type":"track","userId":"u1","event":"Signed Up","properties":{}}"#;
        assert!(why(Endpoint::Batch, segment)
            .expect("segment")
            .message()
            .contains("Segment"));
        let array = r#"[{"event_type":"a"}]"#;
        assert!(why(Endpoint::HttpV2, array)
            .expect("array")
            .message()
            .contains("JSON array"));
        assert_eq!(
            why(Endpoint::HttpV2, r#"{"api_key":"k"}"#),
            None,
            "Amplitude's own shape"
        );
    }
}
