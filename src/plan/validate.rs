//! Event × Plan → findings. Pure: no I/O, `now` comes in with the event.
//!
//! A [`Validator`] is one session's worth of memory (insert ids seen, the
//! type each property first had, recent firings per device) so that
//! duplicates, drift and over-firing are found across events.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{describe_value, Plan, PropType, PropertySpec};
use crate::event::Event;

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
    UnexpectedProperty = "unexpected_property", Warning, "a property the plan does not list";
    BadPropertyName = "bad_property_name", Warning, "a property name breaks the naming convention";
    MissingId = "missing_id", Error, "neither user_id nor device_id";
    ShortId = "short_id", Error, "an id shorter than the minimum length: Amplitude refuses it";
    PlaceholderId = "placeholder_id", Error, "an id such as \"null\" or \"undefined\": Amplitude refuses it";
    BadTime = "bad_time", Warning, "time absent, in seconds, in the future or years old";
    DuplicateInsertId = "duplicate_insert_id", Warning, "the same insert_id sent again: a retry or a double fire";
    TypeDrift = "type_drift", Warning, "a property seen with different types across events";
    OverFiring = "over_firing", Warning, "more events of one type from one device per minute than planned";
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// Ids Amplitude refuses or silences (its docs list these and a few bogus device ids).
const PLACEHOLDER_IDS: [&str; 14] = [
    "null",
    "none",
    "nil",
    "undefined",
    "unknown",
    "anonymous",
    "n/a",
    "na",
    "0",
    "-1",
    "00000000-0000-0000-0000-000000000000",
    "<null>",
    "lmy47v",
    "9774d56d682e549c",
];

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;
/// Before 1973 in milliseconds is after 5000 AD in seconds: a time below
/// this was sent in seconds.
const SECONDS_CUTOFF: i64 = 100_000_000_000;

/// One session's validation.
pub struct Validator<'p> {
    plan: &'p Plan,
    insert_ids: HashMap<String, (u64, bool)>,
    first_kind: HashMap<String, HashMap<String, &'static str>>,
    firings: HashMap<(String, String), VecDeque<i64>>,
}

impl<'p> Validator<'p> {
    pub fn new(plan: &'p Plan) -> Self {
        Validator {
            plan,
            insert_ids: HashMap::new(),
            first_kind: HashMap::new(),
            firings: HashMap::new(),
        }
    }

    pub fn plan(&self) -> &Plan {
        self.plan
    }

    /// Forgets what was seen (a new session over the same plan).
    pub fn reset(&mut self) {
        self.insert_ids.clear();
        self.first_kind.clear();
        self.firings.clear();
    }

    /// Checks one event, appending its findings to `out`.
    pub fn check(&mut self, event: &Event, ctx: &EventContext, out: &mut Vec<Finding>) {
        let mut sink = Sink {
            plan: self.plan,
            out,
            event_type: event.event_type(),
        };
        self.check_into(event, ctx, &mut sink);
    }

    fn check_into(&mut self, event: &Event, ctx: &EventContext, sink: &mut Sink<'_, '_>) {
        let settings = &self.plan.settings;
        if event.fields().is_none() {
            sink.push(
                Code::MissingEventType,
                "",
                Some("a JSON object"),
                Some(describe_value(event.json())),
            );
            return;
        }
        check_ids(
            event,
            ctx.min_id_length.unwrap_or(settings.min_id_length),
            sink,
        );
        check_time(event, ctx.received_ms, sink);
        self.check_duplicate(event, ctx, sink);

        let Some(event_type) = event.event_type().filter(|t| !t.is_empty()) else {
            sink.push(
                Code::MissingEventType,
                "event_type",
                Some("a non-empty string"),
                event.get("event_type").map(describe_value),
            );
            return;
        };
        if let Some(props) = event.event_properties() {
            self.check_drift(event_type, props, sink);
            if let Some(convention) = &settings.property_name {
                for name in props
                    .keys()
                    .filter(|k| !k.starts_with('$') && !convention.is_match(k))
                {
                    sink.push(
                        Code::BadPropertyName,
                        &format!("event_properties.{name}"),
                        Some(&format!("a name matching {}", convention.as_str())),
                        Some(format!("{name:?}")),
                    );
                }
            }
        }
        check_user_properties(self.plan, event, sink);

        let builtin = event_type.starts_with('$');
        if builtin || settings.is_ignored(event_type) {
            return;
        }
        if let Some(convention) = &settings.event_name {
            if !convention.is_match(event_type) {
                sink.push(
                    Code::BadEventName,
                    "event_type",
                    Some(&format!("a name matching {}", convention.as_str())),
                    Some(format!("{event_type:?}")),
                );
            }
        }
        let Some(spec) = self.plan.events.get(event_type) else {
            if let Some(severity) = settings.unknown_events.severity() {
                sink.push_with(
                    Code::UnknownEvent,
                    severity,
                    "event_type",
                    Some("an event type in the plan"),
                    Some(format!("{event_type:?}")),
                );
            }
            return;
        };
        let empty = Map::new();
        let props = event.event_properties().unwrap_or(&empty);
        check_properties("event_properties", props, &spec.properties, self.plan, sink);
        if let Some(max) = spec.max_per_minute {
            self.check_firing(event, event_type, max, ctx.received_ms, sink);
        }
    }

    fn check_duplicate(&mut self, event: &Event, ctx: &EventContext, sink: &mut Sink<'_, '_>) {
        let Some(id) = event.insert_id() else { return };
        match self.insert_ids.get_mut(id) {
            None => {
                self.insert_ids
                    .insert(id.to_owned(), (ctx.seq, ctx.delivered));
            }
            Some((seq, delivered)) => {
                let actual = if *delivered {
                    format!("also sent in request #{seq}, which Amplitude accepted: a double fire (Amplitude drops the copy)")
                } else {
                    format!("also sent in request #{seq}, which failed: an SDK retry")
                };
                *seq = ctx.seq;
                *delivered |= ctx.delivered;
                sink.push(
                    Code::DuplicateInsertId,
                    "insert_id",
                    Some("an insert_id used once"),
                    Some(actual),
                );
            }
        }
    }

    fn check_drift(
        &mut self,
        event_type: &str,
        props: &Map<String, Value>,
        sink: &mut Sink<'_, '_>,
    ) {
        if !self.first_kind.contains_key(event_type) {
            self.first_kind
                .insert(event_type.to_owned(), HashMap::new());
        }
        let Some(kinds) = self.first_kind.get_mut(event_type) else {
            return;
        };
        // Where the plan names a type, `type_mismatch` already says it.
        let planned = self.plan.events.get(event_type).map(|s| &s.properties);
        for (name, value) in props {
            let Some(kind) = PropType::kind(value) else {
                continue;
            };
            if planned
                .and_then(|p| p.get(name))
                .is_some_and(|s| s.ty != PropType::Any)
            {
                continue;
            }
            match kinds.get(name.as_str()) {
                None => {
                    kinds.insert(name.clone(), kind);
                }
                Some(&first) if first != kind => {
                    sink.push(
                        Code::TypeDrift,
                        &format!("event_properties.{name}"),
                        Some(&format!("{first} (as first seen)")),
                        Some(format!("{kind}: {}", describe_value(value))),
                    );
                }
                Some(_) => {}
            }
        }
    }

    fn check_firing(
        &mut self,
        event: &Event,
        event_type: &str,
        max: u32,
        received_ms: i64,
        sink: &mut Sink<'_, '_>,
    ) {
        let who = event
            .device_id()
            .or_else(|| event.user_id())
            .unwrap_or_default();
        let at = event.time().unwrap_or(received_ms);
        let window = self
            .firings
            .entry((event_type.to_owned(), who.to_owned()))
            .or_default();
        while window.front().is_some_and(|&t| t <= at - MINUTE_MS) {
            window.pop_front();
        }
        window.push_back(at);
        if window.len() > max as usize {
            sink.push(
                Code::OverFiring,
                "event_type",
                Some(&format!("at most {max} per minute per device")),
                Some(format!("{} within a minute from {who:?}", window.len())),
            );
        }
    }
}

/// Collects findings with the plan's severities applied.
struct Sink<'a, 'p> {
    plan: &'p Plan,
    out: &'a mut Vec<Finding>,
    event_type: Option<&'a str>,
}

impl Sink<'_, '_> {
    fn push(&mut self, code: Code, path: &str, expected: Option<&str>, actual: Option<String>) {
        self.push_with(code, code.default_severity(), path, expected, actual);
    }

    fn push_with(
        &mut self,
        code: Code,
        default: Severity,
        path: &str,
        expected: Option<&str>,
        actual: Option<String>,
    ) {
        let severity = match self.plan.settings.severity.get(&code) {
            Some(None) => return,
            Some(Some(s)) => *s,
            None => default,
        };
        self.out.push(Finding {
            code,
            severity,
            event_type: self.event_type.map(str::to_owned),
            path: path.to_owned(),
            expected: expected.map(str::to_owned),
            actual,
        });
    }
}

fn check_ids(event: &Event, min_len: usize, sink: &mut Sink<'_, '_>) {
    let mut any = false;
    for field in ["user_id", "device_id"] {
        let Some(value) = event.get(field).filter(|v| !v.is_null()) else {
            continue;
        };
        any = true;
        let Some(id) = value.as_str() else {
            sink.push(
                Code::TypeMismatch,
                field,
                Some("string"),
                Some(describe_value(value)),
            );
            continue;
        };
        if PLACEHOLDER_IDS
            .iter()
            .any(|p| p.eq_ignore_ascii_case(id.trim()))
            || id.trim().is_empty()
        {
            sink.push(
                Code::PlaceholderId,
                field,
                Some("a real id"),
                Some(format!("{id:?}")),
            );
        } else if id.chars().count() < min_len {
            sink.push(
                Code::ShortId,
                field,
                Some(&format!("at least {min_len} characters")),
                Some(format!("{id:?} ({} characters)", id.chars().count())),
            );
        }
    }
    // Identify endpoints and group identify carry ids of their own kind.
    if !any && event.event_type() != Some("$groupidentify") {
        sink.push(
            Code::MissingId,
            "user_id",
            Some("user_id or device_id"),
            Some("neither".into()),
        );
    }
}

fn check_time(event: &Event, now_ms: i64, sink: &mut Sink<'_, '_>) {
    if event.event_type() == Some("$groupidentify")
        || event.dialect() == crate::event::Dialect::Identify
    {
        return;
    }
    let field = match event.dialect() {
        crate::event::Dialect::AmplitudeJs => "timestamp",
        _ => "time",
    };
    let Some(value) = event.get(field) else {
        sink.push(
            Code::BadTime,
            field,
            Some("ms since the epoch"),
            Some("absent: Amplitude uses the upload time".into()),
        );
        return;
    };
    let Some(t) = event.time() else {
        sink.push(
            Code::BadTime,
            field,
            Some("ms since the epoch"),
            Some(describe_value(value)),
        );
        return;
    };
    let problem = if t < SECONDS_CUTOFF {
        Some(format!("{t}: seconds, not milliseconds"))
    } else if t > now_ms + DAY_MS {
        Some(format!("{t}: {} days in the future", (t - now_ms) / DAY_MS))
    } else if t < now_ms - 365 * DAY_MS {
        Some(format!("{t}: {} days old", (now_ms - t) / DAY_MS))
    } else {
        None
    };
    if let Some(actual) = problem {
        sink.push(
            Code::BadTime,
            field,
            Some("ms since the epoch, near the time it was sent"),
            Some(actual),
        );
    }
}

/// Identify operations (`$set`, `$setOnce`) and plain user properties, held
/// against the plan's user properties.
fn check_user_properties(plan: &Plan, event: &Event, sink: &mut Sink<'_, '_>) {
    if plan.user_properties.is_empty() {
        return;
    }
    let Some(user_props) = event.user_properties() else {
        return;
    };
    for (key, value) in user_props {
        match (key.as_str(), value) {
            ("$set" | "$setOnce", Value::Object(ops)) => {
                for (name, v) in ops {
                    check_value(
                        &format!("user_properties.{key}.{name}"),
                        name,
                        v,
                        plan.user_properties.get(name),
                        plan,
                        sink,
                    );
                }
            }
            (op, _) if op.starts_with('$') => {}
            (name, v) => check_value(
                &format!("user_properties.{name}"),
                name,
                v,
                plan.user_properties.get(name),
                plan,
                sink,
            ),
        }
    }
}

fn check_value(
    path: &str,
    name: &str,
    value: &Value,
    spec: Option<&PropertySpec>,
    plan: &Plan,
    sink: &mut Sink<'_, '_>,
) {
    match spec {
        Some(spec) => check_property(path, value, spec, sink),
        None => {
            if let Some(severity) = plan.settings.unexpected_properties.severity() {
                sink.push_with(
                    Code::UnexpectedProperty,
                    severity,
                    path,
                    Some("a property in the plan"),
                    Some(format!("{name:?}")),
                );
            }
        }
    }
}

fn check_properties(
    scope: &str,
    props: &Map<String, Value>,
    specs: &std::collections::BTreeMap<String, PropertySpec>,
    plan: &Plan,
    sink: &mut Sink<'_, '_>,
) {
    for (name, spec) in specs {
        let path = format!("{scope}.{name}");
        match props.get(name) {
            Some(value) => check_property(&path, value, spec, sink),
            None => {
                let source = spec.source.as_deref().filter(|s| props.contains_key(*s));
                if let Some(source) = source {
                    sink.push(
                        Code::UnmappedField,
                        &format!("{scope}.{source}"),
                        Some(&format!("{name:?} (the plan maps {source:?} → {name:?})")),
                        Some(format!("{source:?}")),
                    );
                } else if spec.required {
                    sink.push(
                        Code::MissingProperty,
                        &path,
                        Some(&format!("{} (required)", spec.ty)),
                        Some("absent".into()),
                    );
                }
            }
        }
    }
    let Some(severity) = plan.settings.unexpected_properties.severity() else {
        return;
    };
    for name in props.keys() {
        let mapped_source = specs
            .values()
            .any(|s| s.source.as_deref() == Some(name.as_str()));
        if !specs.contains_key(name) && !mapped_source && !name.starts_with('$') {
            sink.push_with(
                Code::UnexpectedProperty,
                severity,
                &format!("{scope}.{name}"),
                Some("a property in the plan"),
                Some(format!("{name:?}")),
            );
        }
    }
}

fn check_property(path: &str, value: &Value, spec: &PropertySpec, sink: &mut Sink<'_, '_>) {
    if value.is_null() {
        if !spec.nullable {
            sink.push(
                Code::NullProperty,
                path,
                Some(&format!("{} (not nullable)", spec.ty)),
                Some("null".into()),
            );
        }
        return;
    }
    if !spec.ty.accepts(value) {
        let actual = PropType::of(value).map_or_else(|| "null".into(), |t| t.to_string());
        sink.push(
            Code::TypeMismatch,
            path,
            Some(&spec.ty.to_string()),
            Some(format!("{actual}: {}", describe_value(value))),
        );
        return;
    }
    if let Some(allowed) = &spec.allowed {
        if !allowed.iter().any(|a| same_value(a, value)) {
            let list: Vec<String> = allowed.iter().map(|a| a.to_string()).collect();
            sink.push(
                Code::EnumViolation,
                path,
                Some(&format!("one of {}", list.join(", "))),
                Some(describe_value(value)),
            );
        }
    }
    if let (Some(pattern), Some(text)) = (&spec.pattern, value.as_str()) {
        if !pattern.is_match(text) {
            sink.push(
                Code::PatternViolation,
                path,
                Some(&format!("matching {}", pattern.as_str())),
                Some(describe_value(value)),
            );
        }
    }
    if let Some(n) = value.as_f64() {
        let low = spec.min.is_some_and(|min| n < min);
        let high = spec.max.is_some_and(|max| n > max);
        if low || high {
            sink.push(
                Code::RangeViolation,
                path,
                Some(&range_text(spec.min, spec.max)),
                Some(value.to_string()),
            );
        }
    }
    let length = match value {
        Value::String(s) => Some(s.chars().count()),
        Value::Array(a) => Some(a.len()),
        _ => None,
    };
    if let Some(len) = length {
        let short = spec.min_length.is_some_and(|m| len < m);
        let long = spec.max_length.is_some_and(|m| len > m);
        if short || long {
            let want = range_text(
                spec.min_length.map(|m| m as f64),
                spec.max_length.map(|m| m as f64),
            );
            sink.push(
                Code::RangeViolation,
                path,
                Some(&format!("length {want}")),
                Some(format!("length {len}")),
            );
        }
    }
}

/// Enum members compare as numbers when both are numbers (3 == 3.0).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn range_text(min: Option<f64>, max: Option<f64>) -> String {
    match (min, max) {
        (Some(a), Some(b)) => format!("between {a} and {b}"),
        (Some(a), None) => format!("at least {a}"),
        (None, Some(b)) => format!("at most {b}"),
        (None, None) => String::new(),
    }
}
