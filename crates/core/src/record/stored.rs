//! How a record is stored in its journal line (wave 1's lines included).
//!
//! Each event keeps its JSON text byte for byte. Text that holds a raw line
//! break (a pretty-printed body) cannot sit in one line as it is: such an
//! event is stored as a JSON string holding its text, and `text_events`
//! lists where — reading turns it back into the very same bytes. A kept body
//! that is not UTF-8 is stored as base64.

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use time::OffsetDateTime;

use super::{Answer, Delivery, KeptBody, Problem, ProblemKind, Record};
use crate::event::{Dialect, Endpoint, Event};

fn has_line_break(raw: &RawValue) -> bool {
    // Every event of every request is looked at: memchr, not a byte loop.
    memchr::memchr2(b'\n', b'\r', raw.get().as_bytes()).is_some()
}

/// An event as a line holds it: its JSON as is, or as a string of its text.
enum EventOut<'a> {
    Raw(&'a RawValue),
    Text(&'a str),
}

impl Serialize for EventOut<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            EventOut::Raw(raw) => raw.serialize(s),
            EventOut::Text(text) => s.serialize_str(text),
        }
    }
}

#[derive(Serialize)]
struct RecordOut<'a> {
    seq: u64,
    #[serde(with = "time::serde::rfc3339")]
    received: OffsetDateTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    endpoint: Option<Endpoint>,
    #[serde(skip_serializing_if = "is_post")]
    method: &'a str,
    path: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    query: &'a str,
    client: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    origin: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_agent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_encoding: Option<&'a str>,
    body_bytes: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    api_key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    options: Option<&'a Value>,
    events: Vec<EventOut<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    text_events: Vec<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    problem: Option<&'a Problem>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body_base64: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    body_truncated: bool,
    answer: &'a Answer,
    delivery: &'a Delivery,
    #[serde(skip_serializing_if = "Option::is_none")]
    tag: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    relay: Option<&'a super::RelayNote>,
}

fn is_post(method: &&str) -> bool {
    *method == "POST"
}

impl Serialize for Record {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut text_events = Vec::new();
        let events = self
            .events
            .iter()
            .enumerate()
            .map(|(i, e)| {
                if has_line_break(e.raw()) {
                    text_events.push(i);
                    EventOut::Text(e.raw().get())
                } else {
                    EventOut::Raw(e.raw())
                }
            })
            .collect();
        let body = self.body.as_ref();
        let body_text = body.and_then(|b| std::str::from_utf8(&b.bytes).ok());
        RecordOut {
            seq: self.seq,
            received: self.received,
            endpoint: self.endpoint,
            method: &self.method,
            path: &self.path,
            query: &self.query,
            client: &self.client,
            origin: self.origin.as_deref(),
            user_agent: self.user_agent.as_deref(),
            content_type: self.content_type.as_deref(),
            content_encoding: self.content_encoding.as_deref(),
            body_bytes: self.body_bytes,
            api_key: self.api_key.as_deref(),
            options: self.options.as_ref(),
            events,
            text_events,
            problem: self.problem.as_ref(),
            body: body_text,
            body_base64: body
                .filter(|_| body_text.is_none())
                .map(|b| base64::engine::general_purpose::STANDARD.encode(&b.bytes)),
            body_truncated: body.is_some_and(|b| b.truncated),
            answer: &self.answer,
            delivery: &self.delivery,
            tag: self.tag.as_deref(),
            relay: self.relay.as_ref(),
        }
        .serialize(s)
    }
}

/// The stored shape, wave 1's included (`decode_error`, no `path`).
#[derive(Deserialize)]
struct RecordIn {
    seq: u64,
    #[serde(with = "time::serde::rfc3339")]
    received: OffsetDateTime,
    #[serde(default)]
    endpoint: Option<Endpoint>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    query: String,
    client: String,
    #[serde(default)]
    origin: Option<String>,
    #[serde(default)]
    user_agent: Option<String>,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default)]
    content_encoding: Option<String>,
    body_bytes: usize,
    #[serde(default)]
    api_key: Option<String>,
    #[serde(default)]
    options: Option<Value>,
    events: Vec<Box<RawValue>>,
    #[serde(default)]
    text_events: Vec<usize>,
    #[serde(default)]
    problem: Option<Problem>,
    /// Wave 1's name for an undecodable body's reason.
    #[serde(default)]
    decode_error: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_base64: Option<String>,
    #[serde(default)]
    body_truncated: bool,
    answer: Answer,
    delivery: Delivery,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    relay: Option<super::RelayNote>,
}

impl<'de> Deserialize<'de> for Record {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let s = RecordIn::deserialize(d)?;
        let path = s
            .path
            .or_else(|| s.endpoint.map(|e| e.path().to_owned()))
            .ok_or_else(|| D::Error::missing_field("path"))?;
        let dialect = s.endpoint.map_or(Dialect::V2, Dialect::of);
        let mut events = Vec::with_capacity(s.events.len());
        for (i, raw) in s.events.into_iter().enumerate() {
            let raw = if s.text_events.contains(&i) {
                let text: String = serde_json::from_str(raw.get()).map_err(D::Error::custom)?;
                RawValue::from_string(text).map_err(D::Error::custom)?
            } else {
                raw
            };
            events.push(Event::from_raw(raw, dialect));
        }
        let problem = s.problem.or_else(|| {
            s.decode_error
                .map(|reason| wave1_problem(reason, &s.delivery))
        });
        let body = match (s.body, s.body_base64) {
            (Some(text), _) => Some(text.into_bytes()),
            (None, Some(b64)) => Some(
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(D::Error::custom)?,
            ),
            (None, None) => None,
        };
        Ok(Record {
            seq: s.seq,
            received: s.received,
            endpoint: s.endpoint,
            method: s.method.unwrap_or_else(|| "POST".into()),
            path,
            query: s.query,
            client: s.client,
            origin: s.origin,
            user_agent: s.user_agent,
            content_type: s.content_type,
            content_encoding: s.content_encoding,
            body_bytes: s.body_bytes,
            api_key: s.api_key,
            options: s.options,
            events,
            problem,
            body: body.map(|bytes| KeptBody {
                bytes,
                truncated: s.body_truncated,
            }),
            answer: s.answer,
            delivery: s.delivery,
            tag: s.tag,
            relay: s.relay,
        })
    }
}

/// Wave 1 wrote only a reason; its refusals said which kind they were.
fn wave1_problem(reason: String, delivery: &Delivery) -> Problem {
    let kind = match delivery {
        Delivery::Refused { .. } if reason.starts_with("body over") => ProblemKind::TooLarge,
        Delivery::Refused { .. } if reason.starts_with("body not received") => {
            ProblemKind::NotReceived
        }
        _ => ProblemKind::Undecodable,
    };
    Problem { kind, reason }
}
