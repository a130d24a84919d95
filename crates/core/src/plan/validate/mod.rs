//! Event × Plan → findings. Pure: no I/O, `now` comes in with the event.
//!
//! A [`Validator`] is one session's worth of memory (insert ids seen, the
//! type each property first had, recent firings per device) so that
//! duplicates, drift and over-firing are found across events.

use rustc_hash::FxHashMap as HashMap;

use super::insert_ids::InsertIds;
use super::sdk_profile;
use std::fmt;

use super::{describe, Plan};
use crate::event::{CommonFields, Event};

mod codes;
mod fields;
mod properties;
mod type_state;

pub use codes::{is_placeholder_id, Code, EventContext, Finding, Severity, PLACEHOLDER_IDS};
use fields::{check_ids, check_time};
use properties::{check_properties, check_user_properties, Dotted};
use type_state::{check_drift, check_firing, TypeState};

const MINUTE_MS: i64 = 60_000;
/// Unplanned property names remembered per event type for "did you mean".
const MEANT_NAMES: usize = 1024;
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
        self.check_fields(event, &event.common(), ctx, out);
    }

    /// [`Validator::check`] with the event's fields already found (a
    /// caller that reads them too finds them once).
    pub fn check_fields(
        &mut self,
        event: &Event,
        fields: &CommonFields<'_>,
        ctx: &EventContext,
        out: &mut Vec<Finding>,
    ) {
        let mut sink = Sink {
            plan: self.plan,
            out,
            event_type: fields.event_type,
        };
        self.check_into(event, fields, ctx, &mut sink);
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
        if !event.view().is_object() {
            sink.push(
                Code::MissingEventType,
                "",
                Some("a JSON object"),
                Some(describe(event.view())),
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
                event.view().get("event_type").map(describe),
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
        // By key, each once: how the plan's properties are walked beside them.
        let props = f.event_properties.map(|p| p.sorted()).unwrap_or_default();
        check_drift(state, &props, sink);
        if let Some(convention) = &settings.property_name {
            let sdks = |k: &str| settings.sdk_profile && sdk_profile::is_sdk_property(k);
            let names = props.iter().map(|(name, _)| *name);
            for name in names.filter(|k| !k.starts_with('$') && !sdks(k)) {
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
        check_properties(
            "event_properties",
            &props,
            &spec.properties,
            &mut state.meant_properties,
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
        if let Some((seq, delivered)) = self.insert_ids.note(id, ctx.seq, ctx.delivered) {
            let actual = if delivered {
                format!("also sent in request #{seq}, which Amplitude accepted: a double fire (Amplitude drops the copy)")
            } else {
                format!("also sent in request #{seq}, which failed: an SDK retry")
            };
            // Resending what failed is what SDKs must do: information.
            let severity = if !delivered && self.plan.settings.sdk_profile {
                Severity::Info
            } else {
                Code::DuplicateInsertId.default_severity()
            };
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
