//! `amptap plan infer`: a draft plan from what was actually sent.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use serde_json::Value;

use super::{EventSpec, Plan, PropType, PropertySpec, Settings};
use crate::event::{Event, Kind, View};

/// Most distinct values an inferred enum may have.
const MAX_ENUM: usize = 10;
/// Longest string an inferred enum may hold.
const MAX_ENUM_CHARS: usize = 40;

#[derive(Default)]
struct Seen {
    present: usize,
    nulls: usize,
    ty: Option<PropType>,
    strings: BTreeSet<String>,
    non_string_or_long: bool,
    non_null: usize,
}

impl Seen {
    fn add(&mut self, value: View<'_>) {
        self.present += 1;
        match PropType::of(value) {
            None => self.nulls += 1,
            Some(t) => {
                self.non_null += 1;
                self.ty = Some(match &self.ty {
                    None => t,
                    Some(prev) => prev.unify(&t),
                });
            }
        }
        match value.as_str() {
            Some(s) if s.chars().count() <= MAX_ENUM_CHARS => {
                if self.strings.len() <= MAX_ENUM && !self.strings.contains(s) {
                    self.strings.insert(s.to_owned());
                }
            }
            None if value.is_null() => {}
            _ => self.non_string_or_long = true,
        }
    }

    fn spec(&self, name: &str, occurrences: usize) -> PropertySpec {
        let ty = self.ty.clone().unwrap_or(PropType::Any);
        let mut spec = PropertySpec::of_type(ty.clone());
        spec.required = self.present == occurrences;
        spec.nullable = self.nulls > 0;
        // A list, not an id: few values, each seen more than once on average,
        // under a name that is not an id's and values that do not look like
        // ids or sentences (a test run repeats its user ids and its prompts).
        let is_enum = ty == PropType::String
            && !self.non_string_or_long
            && self.strings.len() <= MAX_ENUM
            && self.non_null > self.strings.len()
            && !names_an_id(name)
            && !self
                .strings
                .iter()
                .any(|v| looks_like_an_id(v) || v.contains(' '));
        if is_enum {
            spec.allowed = Some(self.strings.iter().cloned().map(Value::String).collect());
        }
        spec
    }
}

/// `user_id`, `appId`, `uid`, `conversation_key`…
fn names_an_id(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower == "id"
        || lower.ends_with("_id")
        || lower.ends_with("-id")
        || name.ends_with("Id")
        || name.ends_with("ID")
        || lower.ends_with("uid")
        || lower.ends_with("uuid")
        || lower.ends_with("_key")
}

/// `user-12345`, `app-42`, `a1b2c3d4…`: letters then digits, or hex runs.
fn looks_like_an_id(value: &str) -> bool {
    let digits = value.chars().filter(char::is_ascii_digit).count();
    let hex_run = value.len() >= 8 && value.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    hex_run || (digits >= 2 && value.chars().any(|c| c == '-' || c == '_'))
}

/// Drafts a plan: unified types, required = present every time, nullable =
/// seen null, enums for a few short strings that repeat.
pub fn infer<E: std::borrow::Borrow<Event>>(events: impl IntoIterator<Item = E>) -> Plan {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut props: BTreeMap<String, BTreeMap<String, Seen>> = BTreeMap::new();
    let mut user_props: BTreeMap<String, Seen> = BTreeMap::new();
    let mut user_occurrences = 0;
    for event in events {
        let event = event.borrow();
        let view = event.view();
        if let Some(up) = view.get("user_properties").filter(View::is_object) {
            user_occurrences += 1;
            for (name, value) in flatten_user_properties(up) {
                entry(&mut user_props, name).add(value);
            }
        }
        let Some(event_type) = event.event_type() else {
            continue;
        };
        if event_type.starts_with('$') {
            continue;
        }
        *entry(&mut counts, event_type) += 1;
        let seen = entry(&mut props, event_type);
        if let Some(p) = view.get("event_properties").filter(View::is_object) {
            for (name, value) in p.sorted() {
                entry(seen, name).add(value);
            }
        }
    }
    let events = counts
        .into_iter()
        .map(|(event_type, n)| {
            let properties = props
                .remove(&event_type)
                .unwrap_or_default()
                .into_iter()
                .filter(|(name, _)| !name.starts_with('$'))
                .map(|(name, seen)| {
                    let spec = seen.spec(&name, n);
                    (name, spec)
                })
                .collect();
            let spec = EventSpec {
                description: Some(format!("seen {n} time{}", if n == 1 { "" } else { "s" })),
                properties,
                max_per_minute: None,
                relay: None,
            };
            (event_type, spec)
        })
        .collect();
    let user_properties = user_props
        .into_iter()
        .map(|(name, seen)| {
            // Identify sends only what changes: never required.
            let mut spec = seen.spec(&name, user_occurrences);
            spec.required = false;
            (name, spec)
        })
        .collect();
    Plan {
        settings: Settings::default(),
        events,
        user_properties,
    }
}

/// The entry for `key`, its key allocated only the first time (names repeat).
fn entry<'m, T: Default>(map: &'m mut BTreeMap<String, T>, key: &str) -> &'m mut T {
    if !map.contains_key(key) {
        map.insert(key.to_owned(), T::default());
    }
    map.get_mut(key).expect("inserted above")
}

fn flatten_user_properties(up: View<'_>) -> Vec<(&str, View<'_>)> {
    let mut out = Vec::new();
    for (key, value) in up.sorted() {
        match key {
            "$set" | "$setOnce" if value.kind() == Kind::Object => out.extend(value.sorted()),
            op if op.starts_with('$') => {}
            name => out.push((name, value)),
        }
    }
    out
}

/// Writes a plan as TOML that `parse_toml` reads back to the same plan.
pub fn to_toml(plan: &Plan, header: &str) -> String {
    let mut out = String::new();
    for line in header.lines() {
        let _ = writeln!(out, "# {line}");
    }
    let s = &plan.settings;
    out.push_str("\n[settings]\n");
    if let Some(p) = &s.event_name {
        let _ = writeln!(out, "event_name = {}", quote(p.as_str()));
    }
    if let Some(p) = &s.property_name {
        let _ = writeln!(out, "property_name = {}", quote(p.as_str()));
    }
    let _ = writeln!(out, "unknown_events = \"{}\"", s.unknown_events.as_str());
    let _ = writeln!(
        out,
        "unexpected_properties = \"{}\"",
        s.unexpected_properties.as_str()
    );
    let _ = writeln!(out, "min_id_length = {}", s.min_id_length);
    if !s.sdk_profile {
        let _ = writeln!(out, "sdk_profile = false");
    }
    let ignore: Vec<String> = s.ignore.iter().map(|g| quote(&g.0)).collect();
    let _ = writeln!(out, "ignore = [{}]", ignore.join(", "));
    for (name, spec) in &plan.events {
        let _ = writeln!(out, "\n[events.{}]", key(name));
        if let Some(d) = &spec.description {
            let _ = writeln!(out, "description = {}", quote(d));
        }
        if let Some(m) = spec.max_per_minute {
            let _ = writeln!(out, "max_per_minute = {m}");
        }
        if !spec.properties.is_empty() {
            let _ = writeln!(out, "[events.{}.properties]", key(name));
            for (prop, p) in &spec.properties {
                let _ = writeln!(out, "{} = {}", key(prop), inline(p));
            }
        }
    }
    if !plan.user_properties.is_empty() {
        out.push_str("\n[user_properties]\n");
        for (prop, p) in &plan.user_properties {
            let _ = writeln!(out, "{} = {}", key(prop), inline(p));
        }
    }
    out
}

fn inline(p: &PropertySpec) -> String {
    let mut parts = vec![format!("type = \"{}\"", p.ty)];
    if p.required {
        parts.push("required = true".into());
    }
    if p.nullable {
        parts.push("nullable = true".into());
    }
    if let Some(values) = &p.allowed {
        let vals: Vec<String> = values.iter().map(toml_value).collect();
        parts.push(format!("enum = [{}]", vals.join(", ")));
    }
    if let Some(pattern) = &p.pattern {
        parts.push(format!("pattern = {}", quote(pattern.as_str())));
    }
    for (name, v) in [("min", p.min), ("max", p.max)] {
        if let Some(v) = v {
            parts.push(format!("{name} = {v:?}"));
        }
    }
    for (name, v) in [("min_length", p.min_length), ("max_length", p.max_length)] {
        if let Some(v) = v {
            parts.push(format!("{name} = {v}"));
        }
    }
    if let Some(source) = &p.source {
        parts.push(format!("source = {}", quote(source)));
    }
    if let Some(d) = &p.description {
        parts.push(format!("description = {}", quote(d)));
    }
    format!("{{ {} }}", parts.join(", "))
}

fn toml_value(v: &Value) -> String {
    match v {
        Value::String(s) => quote(s),
        other => other.to_string(),
    }
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// A key as TOML's own serializer writes it: bare when it can be, else a
/// one-line quoted string (a multi-line string is never a valid key).
fn key(k: &str) -> String {
    toml_edit::Key::new(k).display_repr().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Dialect;
    use crate::plan::parse_toml;
    use serde_json::value::RawValue;

    fn ev(json: &str) -> Event {
        Event::from_raw(
            RawValue::from_string(json.to_owned()).expect("json"),
            Dialect::V2,
        )
    }

    #[test]
    fn infers_types_requiredness_nulls_and_enums() {
        let events = [
            ev(
                r#"{"event_type":"Tier Chosen","event_properties":{"tier":"pro","n":1,"note":null,"id":"a1"}}"#,
            ),
            ev(
                r#"{"event_type":"Tier Chosen","event_properties":{"tier":"free","n":2.5,"id":"a2"}}"#,
            ),
            ev(r#"{"event_type":"Tier Chosen","event_properties":{"tier":"pro","n":3,"id":"a3"}}"#),
            ev(r#"{"event_type":"$identify","user_properties":{"$set":{"plan":"pro"}}}"#),
        ];
        let plan = infer(&events);
        let spec = &plan.events["Tier Chosen"].properties;
        assert_eq!(spec["n"].ty, PropType::Number);
        assert!(spec["tier"].required && !spec["note"].required);
        assert!(spec["note"].nullable);
        assert_eq!(
            spec["tier"].allowed,
            Some(vec![Value::from("free"), Value::from("pro")])
        );
        assert_eq!(spec["id"].allowed, None, "ids are not enums");
        assert!(plan.user_properties.contains_key("plan"));
        assert!(!plan.events.contains_key("$identify"));
        let text = to_toml(&plan, "drafted");
        assert_eq!(
            parse_toml(&text, "inferred.toml").expect("reads back"),
            plan
        );
    }

    #[test]
    fn any_name_or_value_reads_back() {
        let names = [
            "it's \"quoted\"",
            "line\nbreak",
            "'''",
            "tab\t\u{7f}",
            "é.ü",
        ];
        let events: Vec<Event> = names
            .iter()
            .map(|name| {
                let props = serde_json::json!({ *name: *name });
                ev(&serde_json::json!({"event_type": name, "event_properties": props}).to_string())
            })
            .collect();
        let plan = infer(&events);
        let text = to_toml(&plan, "drafted from 'odd' \"names\"");
        let back = parse_toml(&text, "inferred.toml").expect("reads back");
        assert_eq!(back, plan, "{text}");
        for name in names {
            assert!(back.events[name].properties.contains_key(name), "{text}");
        }
    }

    #[test]
    fn ids_and_sentences_are_never_enums() {
        let events: Vec<Event> = (0..6)
            .map(|i| {
                ev(&serde_json::json!({"event_type": "q", "event_properties": {
                    "app_id": "app-42",
                    "owner": format!("user-{:05}", i % 2),
                    "prompt": if i % 2 == 0 { "What is Dify?" } else { "How are you?" },
                    "tier": if i % 2 == 0 { "pro" } else { "free" },
                }})
                .to_string())
            })
            .collect();
        let plan = infer(&events);
        let spec = &plan.events["q"].properties;
        for name in ["app_id", "owner", "prompt"] {
            assert_eq!(spec[name].allowed, None, "{name} is not an enum");
        }
        assert!(spec["tier"].allowed.is_some(), "a real list still is");
    }
}
