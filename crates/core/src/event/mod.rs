//! The Amplitude event and request-batch model, and decoding of every
//! ingestion format (JSON, form, gzip) into it.
//!
//! An [`Event`] keeps the JSON exactly as the SDK sent it (`raw`) next to a
//! parsed copy for the typed accessors, so nothing a later stage reads or
//! writes can ever alter what was sent.

mod count;
mod decode;
mod diagnose;
mod endpoint;
mod json_body;
mod nesting;
mod tape;

pub use decode::{decode_request, BodyLimits, DecodeError};
pub use diagnose::{diagnose, Diagnosis};
pub use endpoint::{edit_distance, Endpoint, Region};
pub use tape::{Kind, Tape, View};

use std::sync::OnceLock;

use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// Which shape an event was sent in: field names differ between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// HTTP V2, Batch and the v1 `/httpapi`: `time`, `insert_id`.
    V2,
    /// amplitude-js v8 form posts: `timestamp`, `uuid`.
    AmplitudeJs,
    /// `/identify`: an identification object, no `event_type`.
    Identify,
    /// `/groupidentify`: a group identification object.
    GroupIdentify,
}

impl Dialect {
    pub fn of(endpoint: Endpoint) -> Self {
        match endpoint {
            Endpoint::LegacyJs => Dialect::AmplitudeJs,
            Endpoint::Identify => Dialect::Identify,
            Endpoint::GroupIdentify => Dialect::GroupIdentify,
            Endpoint::HttpV2 | Endpoint::Batch | Endpoint::HttpApiV1 => Dialect::V2,
        }
    }
}

/// One event as the SDK sent it.
///
/// The parsed copies are built on first use: a forwarding tap only copies
/// raw bytes to the journal, and parsing a hundred events per request it
/// never looks at would be most of its CPU time.
#[derive(Debug, Clone)]
pub struct Event {
    raw: Box<RawValue>,
    tape: OnceLock<Tape>,
    parsed: OnceLock<Value>,
    dialect: Dialect,
}

impl PartialEq for Event {
    fn eq(&self, other: &Self) -> bool {
        self.raw.get() == other.raw.get() && self.dialect == other.dialect
    }
}

impl Event {
    /// Wraps raw JSON text (already known to be valid JSON).
    pub fn from_raw(raw: Box<RawValue>, dialect: Dialect) -> Self {
        Event {
            raw,
            tape: OnceLock::new(),
            parsed: OnceLock::new(),
            dialect,
        }
    }

    /// The JSON text exactly as it was sent.
    pub fn raw(&self) -> &RawValue {
        &self.raw
    }

    /// The event read onto a tape: what the judge and the accessors read.
    /// JSON nested deeper than the parser's limit (128) reads as `null`.
    pub fn view(&self) -> View<'_> {
        self.tape
            .get_or_init(|| Tape::parse(self.raw.get()))
            .root(self.raw.get())
    }

    /// The parsed event as a tree. JSON nested deeper than the parser's limit (128)
    /// reads as `null`: no field of it can be trusted.
    pub fn json(&self) -> &Value {
        self.parsed
            .get_or_init(|| serde_json::from_str(self.raw.get()).unwrap_or(Value::Null))
    }

    /// Forgets the parsed copies (the raw text stays): a record of 500,000
    /// events is judged one event at a time, not held parsed all at once.
    pub fn release_parsed(&mut self) {
        self.tape = OnceLock::new();
        self.parsed = OnceLock::new();
    }

    /// Runs `f` on this event parsed, without keeping the parse when it was
    /// released: what a consumer of a huge record uses so it does not parse
    /// every event back into memory at once.
    pub fn with_parsed<R>(&self, f: impl FnOnce(&Event) -> R) -> R {
        if self.parsed.get().is_some() || self.tape.get().is_some() {
            return f(self);
        }
        let transient = Event::from_raw(self.raw.clone(), self.dialect);
        f(&transient)
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The event's fields, or `None` when the SDK sent something other than an object.
    pub fn fields(&self) -> Option<&Map<String, Value>> {
        self.json().as_object()
    }

    pub fn get(&self, field: &str) -> Option<&Value> {
        self.fields()?.get(field)
    }

    fn str_field(&self, field: &str) -> Option<&str> {
        self.view().get(field)?.as_str()
    }

    /// `event_type`; identify endpoints carry none, so they read as
    /// `$identify` / `$groupidentify`, which is what Amplitude records.
    pub fn event_type(&self) -> Option<&str> {
        match self.dialect {
            Dialect::Identify => Some("$identify"),
            Dialect::GroupIdentify => Some("$groupidentify"),
            Dialect::V2 | Dialect::AmplitudeJs => self.str_field("event_type"),
        }
    }

    pub fn user_id(&self) -> Option<&str> {
        self.str_field("user_id")
    }

    pub fn device_id(&self) -> Option<&str> {
        self.str_field("device_id")
    }

    /// The user id, else the device id: who sent it, for display.
    pub fn actor(&self) -> Option<&str> {
        self.user_id().or_else(|| self.device_id())
    }

    /// Event time in ms since the epoch (`timestamp` for amplitude-js).
    pub fn time(&self) -> Option<i64> {
        let field = match self.dialect {
            Dialect::AmplitudeJs => "timestamp",
            _ => "time",
        };
        let value = self.view().get(field)?;
        value.as_i64().or_else(|| value.as_f64().map(|f| f as i64))
    }

    /// The deduplication key (`uuid` for amplitude-js).
    pub fn insert_id(&self) -> Option<&str> {
        match self.dialect {
            Dialect::AmplitudeJs => self
                .str_field("uuid")
                .or_else(|| self.str_field("insert_id")),
            _ => self.str_field("insert_id"),
        }
    }

    pub fn event_properties(&self) -> Option<&Map<String, Value>> {
        self.get("event_properties")?.as_object()
    }

    pub fn user_properties(&self) -> Option<&Map<String, Value>> {
        self.get("user_properties")?.as_object()
    }

    pub fn groups(&self) -> Option<&Map<String, Value>> {
        self.get("groups")?.as_object()
    }

    pub fn group_properties(&self) -> Option<&Map<String, Value>> {
        self.get("group_properties")?.as_object()
    }

    pub fn session_id(&self) -> Option<i64> {
        self.view().get("session_id")?.as_i64()
    }

    pub fn platform(&self) -> Option<&str> {
        self.str_field("platform")
    }

    /// The sending library: a string for the V2 SDKs, `{name, version}` for amplitude-js.
    pub fn library(&self) -> Option<String> {
        let library = self.view().get("library")?;
        if let Some(text) = library.as_str() {
            return Some(text.to_owned());
        }
        let name = library.get("name")?.as_str()?;
        match library.get("version").and_then(|v| v.as_str()) {
            Some(version) => Some(format!("{name}/{version}")),
            None => Some(name.to_owned()),
        }
    }

    /// The fields validation reads, found in one pass over the event rather
    /// than a lookup each (the hot path of `check` and the live judgement).
    pub fn common(&self) -> CommonFields<'_> {
        let mut c = CommonFields::default();
        let fields = self.view();
        let legacy = self.dialect == Dialect::AmplitudeJs;
        let mut insert_id = None;
        // In the order sent: of a key sent twice the last one counts, as in a Map.
        for (key, value) in fields.entries() {
            match key {
                "event_type" => c.event_type = value.as_str(),
                "user_id" => c.user_id = Some(value),
                "device_id" => c.device_id = Some(value),
                "time" if !legacy => c.time = Some(value),
                "timestamp" if legacy => c.time = Some(value),
                "insert_id" => insert_id = value.as_str(),
                "uuid" if legacy => c.insert_id = value.as_str(),
                "event_properties" => c.event_properties = Some(value).filter(View::is_object),
                "user_properties" => c.user_properties = Some(value).filter(View::is_object),
                _ => {}
            }
        }
        c.insert_id = c.insert_id.or(insert_id);
        match self.dialect {
            Dialect::Identify => c.event_type = Some("$identify"),
            Dialect::GroupIdentify => c.event_type = Some("$groupidentify"),
            Dialect::V2 | Dialect::AmplitudeJs => {}
        }
        c
    }

    /// Number of event properties (0 when absent).
    pub fn property_count(&self) -> usize {
        self.view()
            .get("event_properties")
            .filter(View::is_object)
            .and_then(|p| p.size())
            .unwrap_or(0)
    }
}

/// See [`Event::common`]. Ids and time stay raw values: a number where a
/// string belongs is itself a finding.
#[derive(Debug, Default, Clone, Copy)]
pub struct CommonFields<'a> {
    pub event_type: Option<&'a str>,
    pub user_id: Option<View<'a>>,
    pub device_id: Option<View<'a>>,
    /// `time` (`timestamp` for amplitude-js).
    pub time: Option<View<'a>>,
    /// `insert_id` (`uuid` for amplitude-js).
    pub insert_id: Option<&'a str>,
    /// Objects only.
    pub event_properties: Option<View<'a>>,
    pub user_properties: Option<View<'a>>,
}

impl CommonFields<'_> {
    pub fn time_ms(&self) -> Option<i64> {
        let t = self.time?;
        t.as_i64().or_else(|| t.as_f64().map(|f| f as i64))
    }

    /// The device id, else the user id, as text.
    pub fn device_or_user(&self) -> Option<&str> {
        self.device_id
            .and_then(|v| v.as_str())
            .or_else(|| self.user_id.and_then(|v| v.as_str()))
    }
}

/// One request's worth of events, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub endpoint: Endpoint,
    /// The api key in clear; only ever stored masked (see `capture::mask_api_key`).
    pub api_key: Option<String>,
    /// `options` of an HTTP V2 / Batch body (e.g. `min_id_length`).
    pub options: Option<Value>,
    pub events: Vec<Event>,
    /// Size of the decoded (un-gzipped) body, as Amplitude reports it.
    pub payload_size_bytes: usize,
}

impl Batch {
    /// `options.min_id_length`, which overrides Amplitude's minimum id length of 5.
    pub fn min_id_length(&self) -> Option<usize> {
        min_id_length(self.options.as_ref())
    }
}

/// `min_id_length` of a request's `options` (HTTP V2 / Batch bodies).
pub fn min_id_length(options: Option<&Value>) -> Option<usize> {
    let n = options?.get("min_id_length")?.as_u64()?;
    usize::try_from(n).ok()
}
