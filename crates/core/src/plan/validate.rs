//! Event × Plan → findings. Pure: no I/O, `now` comes in with the event.
//!
//! A [`Validator`] is one session's worth of memory (insert ids seen, the
//! type each property first had, recent firings per device) so that
//! duplicates, drift and over-firing are found across events.

use std::collections::VecDeque;

use rustc_hash::FxHashMap as HashMap;

use super::insert_ids::InsertIds;
use super::sdk_profile;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{describe_value, EventSpec, Plan, PropType, PropertySpec};
use crate::event::{CommonFields, Dialect, Event};

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

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;
/// Before 1973 in milliseconds is after 5000 AD in seconds: a time below
/// this was sent in seconds.
const SECONDS_CUTOFF: i64 = 100_000_000_000;

/// One session's validation.
pub struct Validator<'p> {
    plan: &'p Plan,
    insert_ids: InsertIds,
    /// Everything known per event type, found with one lookup per event.
    type_index: HashMap<String, usize>,
    types: Vec<TypeState<'p>>,
    /// Property name → whether it follows the naming convention (names repeat).
    good_names: HashMap<String, bool>,
}

/// What the validator remembers about one event type.
struct TypeState<'p> {
    /// The plan's entry; `None` for a type the plan does not list.
    spec: Option<&'p EventSpec>,
    /// Built in (`$identify`…) or matched by `settings.ignore`: no plan checks.
    exempt: bool,
    follows_convention: bool,
    /// For a type the plan does not list, the planned one it most likely meant.
    meant: Option<&'p str>,
    /// The kind each property first had (for `type_drift`).
    first_kind: HashMap<String, &'static str>,
    /// Device (or user) → times within the last minute (for `over_firing`).
    firings: HashMap<String, VecDeque<i64>>,
}

impl<'p> TypeState<'p> {
    fn new(plan: &'p Plan, event_type: &str) -> Self {
        let settings = &plan.settings;
        TypeState {
            spec: plan.events.get(event_type),
            exempt: event_type.starts_with('$')
                || settings.is_ignored(event_type)
                || (settings.sdk_profile
                    && sdk_profile::is_sdk_event(event_type)
                    && !plan.events.contains_key(event_type)),
            follows_convention: settings
                .event_name
                .as_ref()
                .is_none_or(|c| c.is_match(event_type)),
            first_kind: HashMap::default(),
            firings: HashMap::default(),
            // Worked out once per type, not per event.
            meant: match plan.events.get(event_type) {
                Some(_) => None,
                None => nearest(event_type, plan.events.keys()),
            },
        }
    }
}

impl<'p> Validator<'p> {
    pub fn new(plan: &'p Plan) -> Self {
        Validator {
            plan,
            insert_ids: InsertIds::default(),
            type_index: HashMap::default(),
            types: Vec::new(),
            good_names: HashMap::default(),
        }
    }

    /// The plan it judges with.
    pub fn plan(&self) -> &'p Plan {
        self.plan
    }

    /// Remembers at most the last `window` insert ids (a live session that
    /// runs for days keeps its memory; duplicates are found within it).
    pub fn with_id_window(mut self, window: usize) -> Self {
        self.insert_ids = InsertIds::within(window);
        self
    }

    /// Forgets what was seen (a new session over the same plan).
    pub fn reset(&mut self) {
        self.insert_ids.clear();
        self.type_index.clear();
        self.types.clear();
    }

    /// Checks one event, appending its findings to `out`.
    pub fn check(&mut self, event: &Event, ctx: &EventContext, out: &mut Vec<Finding>) {
        let fields = event.common();
        let mut sink = Sink {
            plan: self.plan,
            out,
            event_type: fields.event_type,
        };
        self.check_into(event, &fields, ctx, &mut sink);
    }

    fn check_into(
        &mut self,
        event: &Event,
        f: &CommonFields<'_>,
        ctx: &EventContext,
        sink: &mut Sink<'_, '_>,
    ) {
        let plan = self.plan;
        let settings = &plan.settings;
        if event.fields().is_none() {
            sink.push(
                Code::MissingEventType,
                "",
                Some("a JSON object"),
                Some(describe_value(event.json())),
            );
            return;
        }
        if f.event_type.is_some_and(|t| settings.is_ignored(t)) {
            return; // `ignore` means not judged at all
        }
        let min_id = ctx.min_id_length.unwrap_or(settings.min_id_length);
        check_ids(f, min_id, sink);
        check_time(event, f, ctx.received_ms, sink);
        super::misnamed::check(event, sink);
        self.check_duplicate(f, ctx, sink);

        let Some(event_type) = f.event_type.filter(|t| !t.is_empty()) else {
            sink.push(
                Code::MissingEventType,
                "event_type",
                Some("a non-empty string"),
                event.get("event_type").map(describe_value),
            );
            return;
        };
        let index = match self.type_index.get(event_type) {
            Some(&i) => i,
            None => {
                self.types.push(TypeState::new(plan, event_type));
                self.type_index
                    .insert(event_type.to_owned(), self.types.len() - 1);
                self.types.len() - 1
            }
        };
        let Some(state) = self.types.get_mut(index) else {
            return;
        };
        check_user_properties(plan, f, sink);
        if state.exempt {
            return;
        }
        let props = f.event_properties;
        if let Some(props) = props {
            check_drift(state, props, sink);
            if let Some(convention) = &settings.property_name {
                let sdks = |k: &str| settings.sdk_profile && sdk_profile::is_sdk_property(k);
                for name in props.keys().filter(|k| !k.starts_with('$') && !sdks(k)) {
                    if follows(&mut self.good_names, convention, name) {
                        continue;
                    }
                    sink.push(
                        Code::BadPropertyName,
                        Dotted("event_properties", name),
                        Some(&format!("a name matching {}", convention.as_str())),
                        Some(format!("\"{name}\"")),
                    );
                }
            }
        }
        if !state.follows_convention {
            let convention = settings.event_name.as_ref().map_or("", |c| c.as_str());
            sink.push(
                Code::BadEventName,
                "event_type",
                Some(&format!("a name matching {convention}")),
                Some(format!("\"{event_type}\"")),
            );
        }
        let Some(spec) = state.spec else {
            if let Some(severity) = settings.unknown_events.severity() {
                let expected = match state.meant {
                    Some(meant) => format!("an event type in the plan: did you mean \"{meant}\"?"),
                    None => "an event type in the plan".to_owned(),
                };
                sink.push_with(
                    Code::UnknownEvent,
                    severity,
                    "event_type",
                    Some(&expected),
                    Some(format!("\"{event_type}\"")),
                );
            }
            return;
        };
        let empty = Map::new();
        check_properties(
            "event_properties",
            props.unwrap_or(&empty),
            &spec.properties,
            plan,
            sink,
        );
        if let Some(max) = spec.max_per_minute {
            check_firing(state, f, max, ctx.received_ms, sink);
        }
    }

    fn check_duplicate(
        &mut self,
        f: &CommonFields<'_>,
        ctx: &EventContext,
        sink: &mut Sink<'_, '_>,
    ) {
        let Some(id) = f.insert_id else { return };
        match self
            .insert_ids
            .first_or_previous(id, (ctx.seq, ctx.delivered))
        {
            None => {}
            Some((seq, delivered)) => {
                let actual = if *delivered {
                    format!("also sent in request #{seq}, which Amplitude accepted: a double fire (Amplitude drops the copy)")
                } else {
                    format!("also sent in request #{seq}, which failed: an SDK retry")
                };
                // Resending what failed is what SDKs must do: information.
                let severity = if !*delivered && self.plan.settings.sdk_profile {
                    Severity::Info
                } else {
                    Code::DuplicateInsertId.default_severity()
                };
                *seq = ctx.seq;
                *delivered |= ctx.delivered;
                sink.push_with(
                    Code::DuplicateInsertId,
                    severity,
                    "insert_id",
                    Some("an insert_id used once"),
                    Some(actual),
                );
            }
        }
    }
}

fn check_drift(state: &mut TypeState<'_>, props: &Map<String, Value>, sink: &mut Sink<'_, '_>) {
    // Where the plan names a type, `type_mismatch` already says it.
    let planned = state.spec.map(|s| &s.properties);
    for (name, value) in props {
        let Some(kind) = PropType::kind(value) else {
            continue;
        };
        match state.first_kind.get(name.as_str()) {
            None => {
                state.first_kind.insert(name.clone(), kind);
            }
            Some(&first) if first != kind => {
                if planned
                    .and_then(|p| p.get(name))
                    .is_some_and(|s| s.ty != PropType::Any)
                {
                    continue;
                }
                sink.push(
                    Code::TypeDrift,
                    Dotted("event_properties", name),
                    Some(&format!("{first} (as first seen)")),
                    Some(format!("{kind}: {}", describe_value(value))),
                );
            }
            Some(_) => {}
        }
    }
}

fn check_firing(
    state: &mut TypeState<'_>,
    f: &CommonFields<'_>,
    max: u32,
    received_ms: i64,
    sink: &mut Sink<'_, '_>,
) {
    let who = f.device_or_user().unwrap_or_default();
    let whose = if f.device_id.and_then(Value::as_str).is_some() {
        "device"
    } else {
        "user"
    };
    let at = f.time_ms().unwrap_or(received_ms);
    // Look up by reference: allocate the key only the first time.
    if !state.firings.contains_key(who) {
        state.firings.insert(who.to_owned(), VecDeque::new());
    }
    let Some(window) = state.firings.get_mut(who) else {
        return;
    };
    while window.front().is_some_and(|&t| t <= at - MINUTE_MS) {
        window.pop_front();
    }
    window.push_back(at);
    if window.len() > max as usize {
        sink.push(
            Code::OverFiring,
            "event_type",
            Some(&format!(
                "at most {max} per minute per device (or user, without one)"
            )),
            Some(format!(
                "{} within a minute from {whose} \"{who}\"",
                window.len()
            )),
        );
    }
}

/// Whether `name` matches a naming convention; names repeat, so the
/// verdict is remembered instead of running the regex per event.
fn follows(cache: &mut HashMap<String, bool>, convention: &super::Pattern, name: &str) -> bool {
    if let Some(&good) = cache.get(name) {
        return good;
    }
    let good = convention.is_match(name);
    cache.insert(name.to_owned(), good);
    good
}

/// Collects findings with the plan's severities applied.
pub(super) struct Sink<'a, 'p> {
    plan: &'p Plan,
    out: &'a mut Vec<Finding>,
    event_type: Option<&'a str>,
}

impl Sink<'_, '_> {
    pub(super) fn push(
        &mut self,
        code: Code,
        path: impl fmt::Display,
        expected: Option<&str>,
        actual: Option<String>,
    ) {
        self.push_with(code, code.default_severity(), path, expected, actual);
    }

    fn push_with(
        &mut self,
        code: Code,
        default: Severity,
        path: impl fmt::Display,
        expected: Option<&str>,
        actual: Option<String>,
    ) {
        let Some(severity) = self.plan.severity_of(code, default) else {
            return;
        };
        self.out.push(Finding {
            code,
            severity,
            event_type: self.event_type.map(str::to_owned),
            path: path.to_string(),
            expected: expected.map(str::to_owned),
            actual,
        });
    }
}

fn check_ids(f: &CommonFields<'_>, min_len: usize, sink: &mut Sink<'_, '_>) {
    let mut any = false;
    for (field, value) in [("user_id", f.user_id), ("device_id", f.device_id)] {
        let Some(value) = value.filter(|v| !v.is_null()) else {
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
        if is_placeholder_id(id) {
            sink.push(
                Code::PlaceholderId,
                field,
                Some("a real id"),
                Some(format!("\"{id}\"")),
            );
        } else if id.chars().count() < min_len {
            sink.push(
                Code::ShortId,
                field,
                Some(&format!("at least {min_len} characters")),
                Some(format!("\"{id}\" ({} characters)", id.chars().count())),
            );
        }
    }
    // Identify endpoints and group identify carry ids of their own kind.
    if !any && f.event_type != Some("$groupidentify") {
        sink.push(
            Code::MissingId,
            "user_id",
            Some("user_id or device_id"),
            Some("neither".into()),
        );
    }
}

fn check_time(event: &Event, f: &CommonFields<'_>, now_ms: i64, sink: &mut Sink<'_, '_>) {
    if f.event_type == Some("$groupidentify") || event.dialect() == Dialect::Identify {
        return;
    }
    let field = match event.dialect() {
        Dialect::AmplitudeJs => "timestamp",
        _ => "time",
    };
    let Some(value) = f.time else {
        // Amplitude documents `time` as optional: some SDKs leave it out.
        let severity = if sink.plan.settings.sdk_profile {
            Severity::Info
        } else {
            Code::BadTime.default_severity()
        };
        sink.push_with(
            Code::BadTime,
            severity,
            field,
            Some("ms since the epoch"),
            Some("absent: Amplitude uses the upload time".into()),
        );
        return;
    };
    let Some(t) = value.as_i64().or_else(|| value.as_f64().map(|f| f as i64)) else {
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
fn check_user_properties(plan: &Plan, f: &CommonFields<'_>, sink: &mut Sink<'_, '_>) {
    if plan.user_properties.is_empty() {
        return;
    }
    let Some(user_props) = f.user_properties else {
        return;
    };
    for (key, value) in user_props {
        match (key.as_str(), value) {
            ("$set" | "$setOnce", Value::Object(ops)) => {
                let scope = format!("user_properties.{key}");
                for (name, v) in ops {
                    check_value(&Dotted(&scope, name), v, plan, sink);
                }
            }
            (op, _) if op.starts_with('$') => {}
            (name, v) => check_value(&Dotted("user_properties", name), v, plan, sink),
        }
    }
}

fn check_value(path: &Dotted<'_>, value: &Value, plan: &Plan, sink: &mut Sink<'_, '_>) {
    let name = path.1;
    let spec = plan.user_properties.get(name);
    match spec {
        Some(spec) => check_property(path, value, spec, sink),
        None if plan.settings.sdk_profile && sdk_profile::is_sdk_property(name) => {}
        None => {
            if let Some(severity) = plan.settings.unexpected_properties.severity() {
                sink.push_with(
                    Code::UnexpectedProperty,
                    severity,
                    path,
                    Some("a property in the plan"),
                    Some(format!("\"{name}\"")),
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
    // Both maps iterate in key order (serde_json's Map is a BTreeMap), so one
    // merge walk pairs every sent property with its spec, no lookups.
    let unexpected = plan.settings.unexpected_properties.severity();
    let mut sent = props.iter().peekable();
    for (name, spec) in specs {
        while let Some((key, _)) = sent.next_if(|(key, _)| key.as_str() < name.as_str()) {
            report_unexpected(scope, key, specs, unexpected, sink);
        }
        match sent.next_if(|(key, _)| *key == name) {
            Some((_, value)) => check_property(&Dotted(scope, name), value, spec, sink),
            None => check_absent(scope, name, spec, props, sink),
        }
    }
    for (key, _) in sent {
        report_unexpected(scope, key, specs, unexpected, sink);
    }
}

fn check_absent(
    scope: &str,
    name: &str,
    spec: &PropertySpec,
    props: &Map<String, Value>,
    sink: &mut Sink<'_, '_>,
) {
    let source = spec.source.as_deref().filter(|s| props.contains_key(*s));
    if let Some(source) = source {
        sink.push(
            Code::UnmappedField,
            Dotted(scope, source),
            Some(&format!(
                "\"{name}\" (the plan maps \"{source}\" → \"{name}\")"
            )),
            Some(format!("\"{source}\"")),
        );
    } else if spec.required {
        sink.push(
            Code::MissingProperty,
            Dotted(scope, name),
            Some(&format!("{} (required)", spec.ty)),
            Some("absent".into()),
        );
    }
}

/// A sent property the plan does not list (a mapped source is reported as
/// `unmapped_field` instead; `$` properties belong to Amplitude).
fn report_unexpected(
    scope: &str,
    name: &str,
    specs: &std::collections::BTreeMap<String, PropertySpec>,
    severity: Option<Severity>,
    sink: &mut Sink<'_, '_>,
) {
    let Some(severity) = severity else { return };
    let mapped_source = specs.values().any(|s| s.source.as_deref() == Some(name));
    let sdks = sink.plan.settings.sdk_profile && sdk_profile::is_sdk_property(name);
    if !mapped_source && !name.starts_with('$') && !sdks {
        // Bounded: a flood of junk properties must not cost a distance each.
        let near = (specs.len() <= 64 && name.len() <= 64)
            .then(|| nearest(name, specs.keys()))
            .flatten();
        let expected = match near {
            Some(meant) => format!("a property in the plan: did you mean \"{meant}\"?"),
            None => "a property in the plan".to_owned(),
        };
        sink.push_with(
            Code::UnexpectedProperty,
            severity,
            Dotted(scope, name),
            Some(&expected),
            Some(format!("\"{name}\"")),
        );
    }
}

/// The planned name a stray one most likely meant: the same but for case
/// and separators, or a typo or two away (names of four letters or more).
fn nearest<'n>(name: &str, planned: impl Iterator<Item = &'n String>) -> Option<&'n str> {
    let fold = |n: &str| -> String {
        n.chars()
            .filter(|c| !matches!(c, '_' | '-' | ' ' | '.'))
            .flat_map(char::to_lowercase)
            .collect()
    };
    let folded = fold(name);
    planned
        .map(|p| {
            let distance = if fold(p) == folded {
                0
            } else {
                crate::event::edit_distance(&folded, &fold(p))
            };
            (distance, p)
        })
        .filter(|(d, p)| *d == 0 || (*d <= 2 && p.len() >= 4 && name.len() >= 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, p)| p.as_str())
}

fn check_property(path: &Dotted<'_>, value: &Value, spec: &PropertySpec, sink: &mut Sink<'_, '_>) {
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

/// `scope.name`, formatted only when a finding needs it.
struct Dotted<'a>(&'a str, &'a str);

impl fmt::Display for Dotted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}
