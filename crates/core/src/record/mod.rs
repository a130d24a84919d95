//! The record: one HTTP request the tap answered — decoded or not — as the
//! journal stores it and every consumer (the pipeline, open, check,
//! reconcile, har) reads it.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::event::{Endpoint, Event};

pub mod line;
mod mask;
mod stored;

pub use line::{JournalReader, JournalWarning, LineAt, Marker};
pub use mask::{is_secret_name, mask_api_key, mask_body, mask_query, redact_url, redact_urls};

/// One request the tap answered, with what it carried, what was answered
/// and how. Requests that could not be decoded or routed are records too:
/// `problem` says why and `body` keeps what was received.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Position in the journal, counting from 1: a finding without an
    /// `insert_id` points back to its event as `seq` + index.
    pub seq: u64,
    pub received: OffsetDateTime,
    /// The ingestion endpoint its path names; `None` for a path Amplitude does not serve.
    pub endpoint: Option<Endpoint>,
    pub method: String,
    /// The path as requested.
    pub path: String,
    pub query: String,
    pub client: String,
    pub origin: Option<String>,
    pub user_agent: Option<String>,
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    /// Bytes on the wire (before gunzip).
    pub body_bytes: usize,
    /// Masked: `abcd…wxyz`. The key in clear never reaches a file.
    pub api_key: Option<String>,
    pub options: Option<Value>,
    pub events: Vec<Event>,
    /// Why no events could be read from it.
    pub problem: Option<Problem>,
    /// The body as received, for a request with a problem (capped, keys masked).
    pub body: Option<KeptBody>,
    /// What the SDK was answered.
    pub answer: Answer,
    pub delivery: Delivery,
    /// The test tag set through the query API when it arrived (`POST /_amptap/tag`).
    pub tag: Option<String>,
    /// For a record the relay made: where it came from and how.
    pub relay: Option<RelayNote>,
}

/// What the relay knows of the event it made: the app's record as sent,
/// what was coerced, and what could not be mapped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelayNote {
    /// The relay's source name: `dify` for `/relay/dify`.
    pub source: String,
    /// The app's record as it came (one JSON text).
    pub record: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coerced: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<crate::plan::Finding>,
}

impl Record {
    /// A request as it arrives: nothing decoded or answered yet (status 0,
    /// offline) — the proxy fills in the rest.
    pub fn new(method: &str, path: &str, received: OffsetDateTime, client: String) -> Self {
        Record {
            seq: 0,
            received,
            endpoint: Endpoint::from_path(path),
            method: method.to_owned(),
            path: path.to_owned(),
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
            problem: None,
            body: None,
            answer: Answer::new(0, None, b""),
            delivery: Delivery::Offline,
            tag: None,
            relay: None,
        }
    }

    /// Whether Amplitude (or the offline stand-in) took the request: a 2xx
    /// with `code` 200 for JSON answers, `success` for form endpoints.
    pub fn accepted(&self) -> bool {
        self.problem.is_none()
            && (200..300).contains(&self.answer.status)
            && self.answer.json_code().is_none_or(|code| code == 200)
    }

    /// Milliseconds since the epoch at which the tap received it.
    pub fn received_ms(&self) -> i64 {
        (self.received.unix_timestamp_nanos() / 1_000_000) as i64
    }

    /// `options.min_id_length` of an HTTP V2 / Batch body.
    pub fn min_id_length(&self) -> Option<usize> {
        crate::event::min_id_length(self.options.as_ref())
    }

    /// The endpoint's path, or `other` for a path Amplitude does not serve:
    /// a bounded label for metrics.
    pub fn path_label(&self) -> &'static str {
        self.endpoint.map_or("other", Endpoint::path)
    }

    /// `POST /2/httpapi`, `GET /favicon.ico`.
    pub fn request_line(&self) -> String {
        format!("{} {}", self.method, self.path)
    }

    /// Notes a problem and keeps the body as received (masked, capped).
    pub fn refuse(&mut self, kind: ProblemKind, reason: impl Into<String>, body: &[u8]) {
        self.problem = Some(Problem {
            kind,
            reason: reason.into(),
        });
        self.body = (!body.is_empty()).then(|| KeptBody::new(body));
    }
}

/// Why a request carried no events amptap could read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub kind: ProblemKind,
    /// What went wrong, in words (shown and reported as is).
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A path Amplitude does not serve.
    WrongPath,
    /// A method other than POST on an ingestion path.
    WrongMethod,
    /// Broken JSON, form or compression; not Amplitude's format.
    Undecodable,
    /// A body over the size amptap takes.
    TooLarge,
    /// The body never fully arrived.
    NotReceived,
    /// The journal could not be written, so nothing was forwarded (503).
    NotKept,
    /// A record sent to the relay that no event type in the plan maps.
    Unmappable,
}

impl ProblemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::WrongPath => "wrong_path",
            ProblemKind::WrongMethod => "wrong_method",
            ProblemKind::Undecodable => "undecodable",
            ProblemKind::TooLarge => "too_large",
            ProblemKind::NotReceived => "not_received",
            ProblemKind::NotKept => "not_kept",
            ProblemKind::Unmappable => "unmappable",
        }
    }
}

/// A body kept as received: text when it is UTF-8, else base64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptBody {
    pub bytes: Vec<u8>,
    /// It was longer than [`KeptBody::MAX`] and was cut there.
    pub truncated: bool,
}

impl KeptBody {
    /// Enough to see what was sent; a 20 MB mistake need not fill the journal.
    pub const MAX: usize = 64 * 1024;

    pub fn new(body: &[u8]) -> Self {
        let kept = &body[..body.len().min(Self::MAX)];
        KeptBody {
            bytes: mask_body(kept).into_owned(),
            truncated: kept.len() < body.len(),
        }
    }

    /// The body as text, with any bytes that are not UTF-8 replaced.
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.bytes)
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
    /// Taken by the relay (answered 202); its outbox sends the event to
    /// Amplitude and journals how that went (`relay` markers).
    Queued,
}

impl Delivery {
    /// Its name in reports and the query API.
    pub fn kind(&self) -> &'static str {
        match self {
            Delivery::Forwarded { .. } => "forwarded",
            Delivery::Offline => "offline",
            Delivery::Failed { .. } => "failed",
            Delivery::Refused { .. } => "refused",
            Delivery::Queued => "queued",
        }
    }

    pub fn reached_upstream(&self) -> bool {
        matches!(self, Delivery::Forwarded { .. })
    }

    pub fn latency_ms(&self) -> Option<f64> {
        match self {
            Delivery::Forwarded { latency_ms, .. } | Delivery::Failed { latency_ms, .. } => {
                Some(*latency_ms)
            }
            Delivery::Offline | Delivery::Refused { .. } | Delivery::Queued => None,
        }
    }
}

#[cfg(test)]
mod tests;
