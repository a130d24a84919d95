//! What a validator remembers about each event type, and the findings that
//! need that memory: type drift and over-firing.

use std::collections::VecDeque;

use rustc_hash::FxHashMap as HashMap;

use super::properties::{nearest, Dotted};
use super::{describe, sdk_profile, Code, Sink, MINUTE_MS};
use crate::event::{CommonFields, View};
use crate::plan::{EventSpec, Plan, PropType};

/// What the validator remembers about one event type.
pub(super) struct TypeState<'p> {
    /// The plan's entry; `None` for a type the plan does not list.
    pub(super) spec: Option<&'p EventSpec>,
    /// Built in (`$identify`…) or matched by `settings.ignore`: no plan checks.
    pub(super) exempt: bool,
    pub(super) follows_convention: bool,
    /// For a type the plan does not list, the planned one it most likely meant.
    pub(super) meant: Option<&'p str>,
    /// The kind each property first had (for `type_drift`).
    pub(super) first_kind: HashMap<String, &'static str>,
    /// Unplanned property → the planned one it most likely meant, worked
    /// out once per name (a distance to every planned name is dear).
    pub(super) meant_properties: HashMap<String, Option<&'p str>>,
    /// Device (or user) → times within the last minute (for `over_firing`).
    pub(super) firings: HashMap<String, VecDeque<i64>>,
}

impl<'p> TypeState<'p> {
    pub(super) fn new(plan: &'p Plan, event_type: &str) -> Self {
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
            meant_properties: HashMap::default(),
            firings: HashMap::default(),
            // Worked out once per type, not per event.
            meant: match plan.events.get(event_type) {
                Some(_) => None,
                None => nearest(event_type, plan.events.keys()),
            },
        }
    }
}

pub(super) fn check_drift(
    state: &mut TypeState<'_>,
    props: &[(&str, View<'_>)],
    sink: &mut Sink<'_, '_>,
) {
    // Where the plan names a type, `type_mismatch` already says it.
    let planned = state.spec.map(|s| &s.properties);
    for &(name, value) in props {
        let Some(kind) = PropType::kind(value) else {
            continue;
        };
        match state.first_kind.get(name) {
            None => {
                state.first_kind.insert(name.to_owned(), kind);
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
                    Some(format!("{kind}: {}", describe(value))),
                );
            }
            Some(_) => {}
        }
    }
}

pub(super) fn check_firing(
    state: &mut TypeState<'_>,
    f: &CommonFields<'_>,
    max: u32,
    received_ms: i64,
    sink: &mut Sink<'_, '_>,
) {
    let who = f.device_or_user().unwrap_or_default();
    let whose = if f.device_id.and_then(|v| v.as_str()).is_some() {
        "device"
    } else {
        "user"
    };
    let at = f.time_ms().unwrap_or(received_ms);
    // Look up by reference: allocate the key only the first time.
    let window = match state.firings.get_mut(who) {
        Some(window) => window,
        None => state.firings.entry(who.to_owned()).or_default(),
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
