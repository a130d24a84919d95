//! An HTTP V2 / Batch body — `{"api_key", "events", "options"}` — read in
//! one pass: its events are collected, within the budget, as the body is
//! parsed (not found first and read again).

use std::fmt;

use serde::de::{Error as _, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;

use super::count::{Budget, Collect, Collected};
use super::decode::{json_kind, DecodeError, Decoded};
use super::nesting::{check_event_nesting, check_nesting, check_value_nesting};

/// What the body's fields held; `None` for a field it did not have.
struct Body {
    api_key: Option<Value>,
    events: Option<Collected>,
    options: Option<Value>,
}

#[derive(Deserialize)]
#[serde(field_identifier, rename_all = "snake_case")]
enum Field {
    ApiKey,
    Events,
    Options,
    #[serde(other)]
    Other,
}

/// Reads the body's object; `.0` is how many events to keep.
struct BodyVisitor(usize);

impl<'de> Visitor<'de> for BodyVisitor {
    type Value = Body;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object with api_key and events")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Body, A::Error> {
        let mut body = Body {
            api_key: None,
            events: None,
            options: None,
        };
        while let Some(field) = map.next_key::<Field>()? {
            match field {
                Field::ApiKey if body.api_key.is_some() => {
                    return Err(A::Error::duplicate_field("api_key"))
                }
                Field::Events if body.events.is_some() => {
                    return Err(A::Error::duplicate_field("events"))
                }
                Field::Options if body.options.is_some() => {
                    return Err(A::Error::duplicate_field("options"))
                }
                Field::ApiKey => body.api_key = Some(map.next_value()?),
                Field::Events => body.events = Some(map.next_value_seed(Collect(self.0))?),
                Field::Options => body.options = Some(map.next_value()?),
                Field::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(body)
    }
}

/// The api key, the options and the events of a JSON body.
pub(super) fn decode_json_body(body: &[u8], budget: Budget) -> Result<Decoded, DecodeError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let parsed = serde::Deserializer::deserialize_map(&mut de, BodyVisitor(budget.limit))
        .and_then(|parsed| de.end().map(|()| parsed))
        .map_err(|e| match check_nesting(body) {
            // Past serde_json's own depth limit: say so in amptap's words.
            Err(too_deep) => too_deep,
            Ok(()) => DecodeError::InvalidJson(describe_json_error(&e, body)),
        })?;
    let api_key = match parsed.api_key {
        None | Some(Value::Null) => return Err(DecodeError::MissingField("api_key")),
        Some(Value::String(key)) => key,
        Some(other) => {
            return Err(DecodeError::InvalidField {
                field: "api_key",
                problem: format!("expected a string, got {}", json_kind(&other)),
            })
        }
    };
    let events = match parsed.events {
        None | Some(Collected::Null) => return Err(DecodeError::MissingField("events")),
        Some(found) => budget.events(found)?,
    };
    let events = events.ok_or_else(|| DecodeError::InvalidField {
        field: "events",
        problem: "expected an array of events".to_owned(),
    })?;
    // Every kept event must read back from a journal line (two levels
    // deeper than in the body): its depth is bounded here.
    for event in &events {
        check_event_nesting(event.get())?;
    }
    let options = parsed.options.filter(|o| !o.is_null());
    if let Some(options) = &options {
        check_value_nesting(options, 1)?;
    }
    Ok((Some(api_key), options, events))
}

/// serde's message in words about the body, never about amptap's types.
fn describe_json_error(e: &serde_json::Error, body: &[u8]) -> String {
    use serde_json::error::Category;
    let at = format!("line {}, column {}", e.line(), e.column());
    match e.classify() {
        Category::Syntax => format!("not valid JSON at {at}"),
        Category::Eof => format!("the JSON ends early ({at})"),
        Category::Io => "the body could not be read".to_owned(),
        Category::Data => match body.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'[') => {
                "the body is a JSON array, not an object with api_key and events".to_owned()
            }
            Some(b'{') => format!("a field has the wrong type ({at})"),
            _ => "the body is a JSON value, not an object with api_key and events".to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(body: &str) -> Result<(String, Option<Value>, usize), String> {
        let budget = Budget {
            limit: 2,
            endpoint: "/2/httpapi",
        };
        decode_json_body(body.as_bytes(), budget)
            .map(|(key, options, events)| (key.unwrap_or_default(), options, events.len()))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn reads_the_fields_in_any_order_and_skips_others() {
        let body = r#"{"options":{"min_id_length":1},"client":[1,{"x":2}],"events":[{"a":1},{}],"api_key":"k"}"#;
        let (key, options, events) = decode(body).expect("decoded");
        assert_eq!((key.as_str(), events), ("k", 2));
        assert_eq!(options, Some(serde_json::json!({"min_id_length": 1})));
        let (_, options, _) = decode(r#"{"api_key":"k","events":[],"options":null}"#).expect("ok");
        assert_eq!(options, None);
    }

    #[test]
    fn each_wrong_body_says_what_is_wrong() {
        for (body, says) in [
            (r#"{"events":[]}"#, "api_key"),
            (r#"{"api_key":null,"events":[]}"#, "api_key"),
            (
                r#"{"api_key":7,"events":[]}"#,
                "expected a string, got a number",
            ),
            (r#"{"api_key":"k"}"#, "events"),
            (r#"{"api_key":"k","events":null}"#, "events"),
            (
                r#"{"api_key":"k","events":{"event_type":"a"}}"#,
                "expected an array of events",
            ),
            (r#"{"api_key":"k","events":[{},{},{}]}"#, "3"),
            (r#"{"api_key":"k","api_key":"k","events":[]}"#, "wrong type"),
            (r#"[{"api_key":"k"}]"#, "the body is a JSON array"),
            (r#"{"api_key":"k","events":[]} trailing"#, "not valid JSON"),
            (r#"{"api_key":"k","events":[{"#, "ends early"),
        ] {
            let error = decode(body).expect_err(body);
            assert!(error.contains(says), "{body}: {error}");
        }
    }
}
