//! The Capture record: one HTTP request the tap received, as the journal
//! stores it and every consumer (open, check, reconcile) reads it.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use time::OffsetDateTime;

use crate::event::{Dialect, Endpoint, Event};

pub mod line;
pub use line::{JournalReader, JournalWarning, Marker};

/// One request to an ingestion path, with what was answered and how.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "StoredCapture")]
pub struct Capture {
    /// Position in the journal, counting from 1: a finding without an
    /// `insert_id` points back to its event as `seq` + index.
    pub seq: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub received: OffsetDateTime,
    pub endpoint: Endpoint,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub query: String,
    pub client: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    /// Bytes on the wire (before gunzip).
    pub body_bytes: usize,
    /// Masked: `abcd…wxyz`. The key in clear never reaches a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Value>,
    #[serde(serialize_with = "serialize_events")]
    pub events: Vec<Event>,
    /// Why the body could not be decoded; its events are then unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decode_error: Option<String>,
    /// What the SDK was answered.
    pub answer: Answer,
    pub delivery: Delivery,
    /// The test tag set through the query API when it arrived (`POST /_amptap/tag`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

impl Capture {
    /// A request as it arrives: nothing decoded or answered yet (status 0,
    /// offline) — the proxy fills in the rest.
    pub fn new(endpoint: Endpoint, received: OffsetDateTime, client: String) -> Self {
        Capture {
            seq: 0,
            received,
            endpoint,
            query: String::new(),
            client,
            origin: None,
            user_agent: None,
            content_type: None,
            content_encoding: None,
            body_bytes: 0,
            api_key: None,
            options: None,
            events: Vec::new(),
            decode_error: None,
            answer: Answer::new(0, None, b""),
            delivery: Delivery::Offline,
            tag: None,
        }
    }

    /// Whether Amplitude (or the offline stand-in) took the request: a 2xx
    /// with `code` 200 for JSON answers, `success` for form endpoints.
    pub fn accepted(&self) -> bool {
        (200..300).contains(&self.answer.status)
            && self.answer.json_code().is_none_or(|code| code == 200)
    }

    /// Milliseconds since the epoch at which the tap received it.
    pub fn received_ms(&self) -> i64 {
        (self.received.unix_timestamp_nanos() / 1_000_000) as i64
    }
}

/// The HTTP answer the SDK got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The body as text (lossy for non-UTF-8), cut at [`Answer::KEPT_BODY_BYTES`].
    pub body: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub body_truncated: bool,
}

impl Answer {
    /// Amplitude's answers are a few hundred bytes; an HTML error page from a
    /// misconfigured upstream need not fill the journal.
    pub const KEPT_BODY_BYTES: usize = 64 * 1024;

    pub fn new(status: u16, content_type: Option<String>, body: &[u8]) -> Self {
        let kept = &body[..body.len().min(Self::KEPT_BODY_BYTES)];
        Answer {
            status,
            content_type,
            body: String::from_utf8_lossy(kept).into_owned(),
            body_truncated: kept.len() < body.len(),
        }
    }

    /// `code` from a JSON answer: what the V2 SDKs act on, not the HTTP status.
    pub fn json_code(&self) -> Option<i64> {
        serde_json::from_str::<Value>(&self.body)
            .ok()?
            .get("code")?
            .as_i64()
    }
}

/// How the request was handled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Delivery {
    /// Sent upstream; the answer is the upstream's, unchanged.
    Forwarded { url: String, latency_ms: f64 },
    /// `--offline`: amptap answered as Amplitude would.
    Offline,
    /// The upstream could not be reached or did not answer in time; the SDK
    /// got a 502 / 504 so it retries.
    Failed {
        url: String,
        error: String,
        timed_out: bool,
        latency_ms: f64,
    },
    /// amptap refused the request itself (e.g. body over `--max-body`).
    Refused { reason: String },
}

impl Delivery {
    pub fn reached_upstream(&self) -> bool {
        matches!(self, Delivery::Forwarded { .. })
    }

    pub fn latency_ms(&self) -> Option<f64> {
        match self {
            Delivery::Forwarded { latency_ms, .. } | Delivery::Failed { latency_ms, .. } => {
                Some(*latency_ms)
            }
            Delivery::Offline | Delivery::Refused { .. } => None,
        }
    }
}

/// `abcd…wxyz`: enough to tell projects apart, never enough to use.
pub fn mask_api_key(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() >= 12 {
        let head: String = chars[..4].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}…{tail}")
    } else {
        format!("…{}", "*".repeat(chars.len().min(4)))
    }
}

/// The query string as the journal keeps it: a key passed as a parameter
/// (`api_key=`, amplitude-js's `client=`) is masked like any other.
pub fn mask_query(query: &str) -> String {
    if !query.contains("api_key=") && !query.contains("client=") {
        return query.to_owned();
    }
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        let secret = matches!(name.as_ref(), "api_key" | "client");
        out.append_pair(
            &name,
            &if secret {
                mask_api_key(&value)
            } else {
                value.into_owned()
            },
        );
    }
    out.finish()
}

fn serialize_events<S: serde::Serializer>(events: &[Event], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(events.iter().map(Event::raw))
}

/// The on-disk shape: events as raw JSON, turned into [`Event`]s once the
/// endpoint (and so their dialect) is known.
#[derive(Deserialize)]
struct StoredCapture {
    seq: u64,
    #[serde(with = "time::serde::rfc3339")]
    received: OffsetDateTime,
    endpoint: Endpoint,
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
    decode_error: Option<String>,
    answer: Answer,
    delivery: Delivery,
    #[serde(default)]
    tag: Option<String>,
}

impl TryFrom<StoredCapture> for Capture {
    type Error = serde_json::Error;

    fn try_from(s: StoredCapture) -> Result<Self, Self::Error> {
        let dialect = Dialect::of(s.endpoint);
        let events = s
            .events
            .into_iter()
            .map(|raw| Event::from_raw(raw, dialect))
            .collect();
        Ok(Capture {
            seq: s.seq,
            received: s.received,
            endpoint: s.endpoint,
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
            decode_error: s.decode_error,
            answer: s.answer,
            delivery: s.delivery,
            tag: s.tag,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_keep_only_the_ends() {
        assert_eq!(mask_api_key("FAKE_API_KEY_NODE_0123456789"), "FAKE…6789");
        assert_eq!(mask_api_key("short"), "…****");
        assert!(!mask_api_key("abcdefghijklmnop").contains("efgh"));
    }

    #[test]
    fn keys_in_the_query_string_are_masked() {
        assert_eq!(mask_query("probe=1"), "probe=1");
        let masked = mask_query("api_key=FAKE_API_KEY_NODE_0123456789&x=1");
        assert!(!masked.contains("NODE_0123"), "{masked}");
        assert!(masked.contains("x=1"));
    }

    #[test]
    fn answers_keep_a_bounded_body() {
        let big = vec![b'x'; Answer::KEPT_BODY_BYTES + 10];
        let a = Answer::new(500, None, &big);
        assert!(a.body_truncated);
        assert_eq!(a.body.len(), Answer::KEPT_BODY_BYTES);
        assert_eq!(
            Answer::new(200, None, br#"{"code":200}"#).json_code(),
            Some(200)
        );
    }
}
