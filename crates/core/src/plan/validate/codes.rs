//! The finding codes, their severities and the context an event is judged in.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

macro_rules! codes {
    ($($variant:ident = $name:literal, $severity:ident, $help:literal;)*) => {
        /// What kind of problem a finding is.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum Code { $($variant),* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $name),* }
            }

            pub fn default_severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity),* }
            }

            /// One line on what the code means, for reports and help.
            pub fn help(self) -> &'static str {
                match self { $(Code::$variant => $help),* }
            }
        }
    };
}

codes! {
    MissingEventType = "missing_event_type", Error, "the event has no event_type";
    UnknownEvent = "unknown_event", Warning, "the event type is not in the plan";
    BadEventName = "bad_event_name", Warning, "the event type breaks the naming convention";
    MissingProperty = "missing_property", Error, "a required property is absent";
    NullProperty = "null_property", Error, "a property that may not be null is null";
    TypeMismatch = "type_mismatch", Error, "a property has another type than planned";
    EnumViolation = "enum_violation", Error, "a value outside the allowed list";
    PatternViolation = "pattern_violation", Error, "a string that does not match the planned pattern";
    RangeViolation = "range_violation", Warning, "a number or length outside the planned range";
    UnmappedField = "unmapped_field", Error, "the app's own field name was sent instead of the planned name";
    MisnamedField = "misnamed_field", Error, "a top-level key Amplitude does not read (timestamp, userId…): the key it meant";
    UnexpectedProperty = "unexpected_property", Warning, "a property the plan does not list";
    BadPropertyName = "bad_property_name", Warning, "a property name breaks the naming convention";
    MissingId = "missing_id", Error, "neither user_id nor device_id";
    ShortId = "short_id", Error, "an id shorter than the minimum length: Amplitude refuses it";
    PlaceholderId = "placeholder_id", Error, "an id such as \"null\" or \"undefined\": Amplitude refuses it";
    BadTime = "bad_time", Warning, "time absent, in seconds, in the future or years old";
    DuplicateInsertId = "duplicate_insert_id", Warning, "the same insert_id sent again: a retry or a double fire";
    TypeDrift = "type_drift", Warning, "a property seen with different types across events";
    OverFiring = "over_firing", Warning, "more events of one type from one device per minute than planned";
    UndecodableRequest = "undecodable_request", Error, "a request whose body cannot be read as Amplitude's (its events are lost)";
    MisroutedRequest = "misrouted_request", Error, "a request to a path or with a method Amplitude does not serve";
    RefusedRequest = "refused_request", Error, "a request refused: too large, cut off, or not kept because the journal could not be written";
    UnmappableRecord = "unmappable_record", Error, "a relayed record the plan cannot make into an event: none maps it, a source is absent or a value cannot be coerced";
}

impl Code {
    /// Codes about a whole request (one that carried no readable events).
    pub fn is_request_level(self) -> bool {
        matches!(
            self,
            Code::UndecodableRequest | Code::MisroutedRequest | Code::RefusedRequest
        )
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Code {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Code::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("unknown finding code {s:?}"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    /// `error | warning | info | off` (off = `None`).
    pub fn parse_level(s: &str) -> Result<Option<Severity>, String> {
        match s {
            "error" => Ok(Some(Severity::Error)),
            "warning" => Ok(Some(Severity::Warning)),
            "info" => Ok(Some(Severity::Info)),
            "off" => Ok(None),
            _ => Err(format!(
                "unknown severity {s:?}: expected error, warning, info or off"
            )),
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem with one event.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    pub event_type: Option<String>,
    /// Where in the event: `event_properties.app_id`, `user_id`, `time`.
    pub path: String,
    pub expected: Option<String>,
    pub actual: Option<String>,
}

/// What the validator knows about the request an event came in.
#[derive(Debug, Clone, Copy)]
pub struct EventContext {
    /// When the tap received it: `now` for time checks.
    pub received_ms: i64,
    /// The journal line (request) it came in.
    pub seq: u64,
    /// Amplitude accepted the request (2xx with code 200, or `success`).
    pub delivered: bool,
    /// `options.min_id_length` of the request, which overrides the plan's.
    pub min_id_length: Option<usize>,
}

/// Ids Amplitude refuses with a 400 (its HTTP V2 docs, "Invalid IDs that
/// result in a 400 error"; `""""` there is the two-character `""`).
pub const PLACEHOLDER_IDS: [&str; 14] = [
    "anonymous",
    "nil",
    "none",
    "null",
    "n/a",
    "na",
    "undefined",
    "unknown",
    "\"\"",
    "00000000-0000-0000-0000-000000000000",
    "{}",
    "lmy47d",
    "0",
    "-1",
];

/// Whether Amplitude refuses `id` as a placeholder.
pub fn is_placeholder_id(id: &str) -> bool {
    let trimmed = id.trim();
    trimmed.len() <= PLACEHOLDER_MAX_LEN
        && (trimmed.is_empty()
            || PLACEHOLDER_IDS
                .iter()
                .any(|p| p.eq_ignore_ascii_case(trimmed)))
}

/// The longest placeholder: longer ids skip the list.
const PLACEHOLDER_MAX_LEN: usize = 36;
