//! Request body → [`Batch`], for every ingestion format Amplitude accepts.
//!
//! Decoding never panics and never rewrites an event: each event's raw JSON
//! text is sliced out of the body as sent (for form posts, out of the
//! url-decoded field that carries it).

use std::borrow::Cow;
use std::io::Read;

use flate2::read::{GzDecoder, ZlibDecoder};
use serde_json::value::RawValue;
use serde_json::Value;

use super::count::Budget;
use super::json_body::decode_json_body;
use super::nesting::check_nesting;
use super::{Batch, Dialect, Endpoint, Event};

/// How much a body may grow to once decompressed (a gzip bomb stops here).
#[derive(Debug, Clone, Copy)]
pub struct BodyLimits {
    pub max_body_bytes: usize,
}

impl Default for BodyLimits {
    fn default() -> Self {
        BodyLimits {
            max_body_bytes: 20 * 1024 * 1024,
        }
    }
}

/// Why a request body could not be read as Amplitude would read it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("empty request body")]
    EmptyBody,
    #[error("Content-Encoding {0:?} is not supported (gzip, deflate or identity)")]
    UnsupportedEncoding(String),
    #[error("body is not valid {encoding}: {reason}")]
    BadCompression {
        encoding: &'static str,
        reason: String,
    },
    #[error("body is larger than {limit} bytes once decompressed")]
    TooLarge { limit: usize },
    #[error("Payload too large: {count} events in one request; {endpoint} takes at most {limit}")]
    TooManyEvents {
        count: usize,
        limit: usize,
        endpoint: &'static str,
    },
    #[error("Invalid JSON request body: {0}")]
    InvalidJson(String),
    #[error("Request missing required field: {0}")]
    MissingField(&'static str),
    #[error("Invalid field {field}: {problem}")]
    InvalidField {
        field: &'static str,
        problem: String,
    },
    #[error("Invalid form body: {0}")]
    InvalidForm(String),
}

/// Decodes one request body sent to `endpoint`.
///
/// `content_encoding` is the request's `Content-Encoding` header. The
/// content type is deliberately not consulted for JSON endpoints: browsers
/// send JSON as `text/plain` through `sendBeacon`, and Amplitude reads it.
pub fn decode_request(
    endpoint: Endpoint,
    content_encoding: Option<&str>,
    body: &[u8],
    limits: BodyLimits,
) -> Result<Batch, DecodeError> {
    let body = decompress(content_encoding, body, limits)?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(DecodeError::EmptyBody);
    }
    let dialect = Dialect::of(endpoint);
    let budget = Budget {
        limit: endpoint.event_budget(),
        endpoint: endpoint.path(),
    };
    let (api_key, options, raw_events) = match endpoint {
        Endpoint::HttpV2 | Endpoint::Batch => decode_json_body(&body, budget)?,
        Endpoint::HttpApiV1 => decode_form(&body, "api_key", "event", budget)?,
        Endpoint::LegacyJs => decode_form(&body, "client", "e", budget)?,
        Endpoint::Identify | Endpoint::GroupIdentify => {
            decode_form(&body, "api_key", "identification", budget)?
        }
    };
    let events = raw_events
        .into_iter()
        .map(|raw| Event::from_raw(raw, dialect))
        .collect();
    Ok(Batch {
        endpoint,
        api_key,
        options,
        events,
        payload_size_bytes: body.len(),
    })
}

fn decompress<'a>(
    content_encoding: Option<&str>,
    body: &'a [u8],
    limits: BodyLimits,
) -> Result<Cow<'a, [u8]>, DecodeError> {
    let encoding = content_encoding
        .map(|e| e.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let (name, reader): (&'static str, Box<dyn Read + 'a>) = match encoding.as_str() {
        "" | "identity" => return Ok(Cow::Borrowed(body)),
        "gzip" | "x-gzip" => ("gzip", Box::new(GzDecoder::new(body))),
        "deflate" => ("deflate", Box::new(ZlibDecoder::new(body))),
        other => return Err(DecodeError::UnsupportedEncoding(other.to_owned())),
    };
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limits.max_body_bytes));
    let cap = u64::try_from(limits.max_body_bytes).unwrap_or(u64::MAX);
    reader
        .take(cap.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| DecodeError::BadCompression {
            encoding: name,
            reason: e.to_string(),
        })?;
    if out.len() > limits.max_body_bytes {
        return Err(DecodeError::TooLarge {
            limit: limits.max_body_bytes,
        });
    }
    Ok(Cow::Owned(out))
}

/// Deepest nesting accepted. Events are parsed lazily, so the parser's own
/// recursion limit (128) would only trip later; refusing here keeps every
/// accepted event parseable.
pub const MAX_NESTING: usize = 100;

/// A body's api key, options and events.
pub(super) type Decoded = (Option<String>, Option<Value>, Vec<Box<RawValue>>);

/// A form post: `key_field` holds the api key, `events_field` a JSON object or array.
fn decode_form(
    body: &[u8],
    key_field: &'static str,
    events_field: &'static str,
    budget: Budget,
) -> Result<Decoded, DecodeError> {
    std::str::from_utf8(body).map_err(|e| DecodeError::InvalidForm(format!("not UTF-8: {e}")))?;
    let mut api_key = None;
    let mut events = None;
    for (name, value) in form_urlencoded::parse(body) {
        if name == key_field {
            api_key = Some(value.into_owned());
        } else if name == events_field {
            events = Some(value.into_owned());
        }
    }
    let api_key = api_key.ok_or(DecodeError::MissingField(key_field))?;
    let events = events.ok_or(DecodeError::MissingField(events_field))?;
    check_nesting(events.as_bytes())?;
    Ok((
        Some(api_key),
        None,
        parse_object_or_array(&events, events_field, budget)?,
    ))
}

/// One JSON object, or an array of them within the budget, as raw texts.
fn parse_object_or_array(
    text: &str,
    field: &'static str,
    budget: Budget,
) -> Result<Vec<Box<RawValue>>, DecodeError> {
    let invalid = |e: serde_json::Error| DecodeError::InvalidField {
        field,
        problem: format!("not valid JSON: {e}"),
    };
    if text.trim_start().starts_with('[') {
        budget.collect_array(text, invalid)
    } else {
        let one = serde_json::from_str::<Box<RawValue>>(text).map_err(invalid)?;
        Ok(vec![one])
    }
}

pub(crate) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn decode(endpoint: Endpoint, body: &str) -> Result<Batch, DecodeError> {
        decode_request(endpoint, None, body.as_bytes(), BodyLimits::default())
    }

    #[test]
    fn keeps_each_event_exactly_as_sent() {
        let body = r#"{"api_key":"k","events":[{"event_type":"a",  "user_id":"u1", "n": 1.50}]}"#;
        let batch = decode(Endpoint::HttpV2, body).expect("decodes");
        assert_eq!(
            batch.events[0].raw().get(),
            r#"{"event_type":"a",  "user_id":"u1", "n": 1.50}"#
        );
        assert_eq!(batch.api_key.as_deref(), Some("k"));
    }

    #[test]
    fn v1_form_takes_one_object_or_an_array() {
        let one = "api_key=k&event=%7B%22event_type%22%3A%22a%22%7D";
        assert_eq!(
            decode(Endpoint::HttpApiV1, one).expect("one").events.len(),
            1
        );
        let many = "api_key=k&event=%5B%7B%22event_type%22%3A%22a%22%7D%2C%7B%22event_type%22%3A%22b%22%7D%5D";
        assert_eq!(
            decode(Endpoint::HttpApiV1, many)
                .expect("many")
                .events
                .len(),
            2
        );
    }

    #[test]
    fn identify_events_read_as_identify() {
        let body = "api_key=k&identification=%7B%22user_id%22%3A%22user-1%22%7D";
        let batch = decode(Endpoint::Identify, body).expect("decodes");
        assert_eq!(batch.events[0].event_type(), Some("$identify"));
        assert_eq!(batch.events[0].user_id(), Some("user-1"));
    }

    #[test]
    fn errors_name_what_is_wrong() {
        assert_eq!(decode(Endpoint::HttpV2, ""), Err(DecodeError::EmptyBody));
        assert_eq!(
            decode(Endpoint::HttpV2, r#"{"events":[]}"#),
            Err(DecodeError::MissingField("api_key"))
        );
        assert_eq!(
            decode(Endpoint::HttpV2, r#"{"api_key":"k"}"#),
            Err(DecodeError::MissingField("events"))
        );
        assert!(matches!(
            decode(Endpoint::HttpV2, r#"{"api_key":"k","events":{}}"#),
            Err(DecodeError::InvalidField {
                field: "events",
                ..
            })
        ));
        assert!(matches!(
            decode(Endpoint::HttpV2, "{nope"),
            Err(DecodeError::InvalidJson(_))
        ));
        assert_eq!(
            decode(Endpoint::LegacyJs, "e=%5B%5D"),
            Err(DecodeError::MissingField("client"))
        );
    }

    #[test]
    fn more_events_than_amplitude_takes_are_refused_before_they_are_built() {
        let many = |n: usize| {
            format!(
                r#"{{"api_key":"k","events":[{}]}}"#,
                vec!["{}"; n].join(",")
            )
        };
        assert_eq!(
            decode(Endpoint::HttpV2, &many(2000)).map(|b| b.events.len()),
            Ok(2000)
        );
        assert!(matches!(
            decode(Endpoint::HttpV2, &many(2001)),
            Err(DecodeError::TooManyEvents {
                count: 2001,
                limit: 2000,
                ..
            })
        ));
        // "The limit per batch is 2000 events" (batch-event-upload docs).
        assert!(matches!(
            decode(Endpoint::Batch, &many(2001)),
            Err(DecodeError::TooManyEvents { limit: 2000, .. })
        ));
        let form = format!("client=k&e=%5B{}%5D", vec!["%7B%7D"; 40_000].join("%2C"));
        assert!(matches!(
            decode(Endpoint::LegacyJs, &form),
            Err(DecodeError::TooManyEvents { .. })
        ));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let body = format!(
            r#"{{"api_key":"k","events":[{}{}]}}"#,
            "[".repeat(10_000),
            "]".repeat(10_000)
        );
        assert!(decode(Endpoint::HttpV2, &body).is_err());
    }

    #[test]
    fn gzip_bombs_stop_at_the_limit() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&vec![b' '; 1_000_000]).expect("write");
        let gz = enc.finish().expect("finish");
        let limits = BodyLimits {
            max_body_bytes: 1000,
        };
        assert_eq!(
            decode_request(Endpoint::HttpV2, Some("gzip"), &gz, limits),
            Err(DecodeError::TooLarge { limit: 1000 })
        );
        assert!(matches!(
            decode_request(Endpoint::HttpV2, Some("gzip"), b"not gzip", limits),
            Err(DecodeError::BadCompression {
                encoding: "gzip",
                ..
            })
        ));
        assert!(matches!(
            decode_request(Endpoint::HttpV2, Some("br"), b"{}", limits),
            Err(DecodeError::UnsupportedEncoding(_))
        ));
    }
}
