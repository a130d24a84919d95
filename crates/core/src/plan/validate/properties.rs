//! Properties against the plan's specs: types, ranges, enums, required,
//! unexpected ones (with the planned name they most likely meant).

use std::fmt;

use rustc_hash::FxHashMap as HashMap;
use serde_json::Value;

use super::{describe, sdk_profile, Code, Severity, Sink, MEANT_NAMES};
use crate::event::{CommonFields, Kind, View};
use crate::plan::{Plan, PropType, PropertySpec};

/// Identify operations (`$set`, `$setOnce`) and plain user properties, held
/// against the plan's user properties.
pub(super) fn check_user_properties(plan: &Plan, f: &CommonFields<'_>, sink: &mut Sink<'_, '_>) {
    if plan.user_properties.is_empty() {
        return;
    }
    let Some(user_props) = f.user_properties else {
        return;
    };
    for (key, value) in user_props.sorted() {
        match key {
            "$set" | "$setOnce" if value.is_object() => {
                let scope = format!("user_properties.{key}");
                for (name, v) in value.sorted() {
                    check_value(&Dotted(&scope, name), v, plan, sink);
                }
            }
            op if op.starts_with('$') => {}
            name => check_value(&Dotted("user_properties", name), value, plan, sink),
        }
    }
}

fn check_value(path: &Dotted<'_>, value: View<'_>, plan: &Plan, sink: &mut Sink<'_, '_>) {
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

/// `props` by key, each once ([`View::sorted`]).
pub(super) fn check_properties<'p>(
    scope: &str,
    props: &[(&str, View<'_>)],
    specs: &'p std::collections::BTreeMap<String, PropertySpec>,
    meant: &mut HashMap<String, Option<&'p str>>,
    plan: &Plan,
    sink: &mut Sink<'_, '_>,
) {
    // Both lists are in key order, so one merge walk pairs every sent
    // property with its spec, no lookups.
    let unexpected = plan.settings.unexpected_properties.severity();
    let mut sent = props.iter().peekable();
    for (name, spec) in specs {
        while let Some((key, _)) = sent.next_if(|(key, _)| *key < name.as_str()) {
            report_unexpected(scope, key, specs, meant, unexpected, sink);
        }
        match sent.next_if(|(key, _)| *key == name) {
            Some(&(_, value)) => check_property(&Dotted(scope, name), value, spec, sink),
            None => check_absent(scope, name, spec, props, sink),
        }
    }
    for (key, _) in sent {
        report_unexpected(scope, key, specs, meant, unexpected, sink);
    }
}

fn check_absent(
    scope: &str,
    name: &str,
    spec: &PropertySpec,
    props: &[(&str, View<'_>)],
    sink: &mut Sink<'_, '_>,
) {
    let sent = |name: &str| props.binary_search_by(|(key, _)| (*key).cmp(name)).is_ok();
    let source = spec.source.as_deref().filter(|s| sent(s));
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
fn report_unexpected<'p>(
    scope: &str,
    name: &str,
    specs: &'p std::collections::BTreeMap<String, PropertySpec>,
    meant: &mut HashMap<String, Option<&'p str>>,
    severity: Option<Severity>,
    sink: &mut Sink<'_, '_>,
) {
    let Some(severity) = severity else { return };
    let mapped_source = specs.values().any(|s| s.source.as_deref() == Some(name));
    let sdks = sink.plan.settings.sdk_profile && sdk_profile::is_sdk_property(name);
    if !mapped_source && !name.starts_with('$') && !sdks {
        // Bounded: a flood of junk names must neither cost a distance each
        // nor grow the memory of them.
        let near = match meant.get(name) {
            Some(near) => *near,
            None if specs.len() <= 64 && name.len() <= 64 && meant.len() < MEANT_NAMES => {
                let near = nearest(name, specs.keys());
                meant.insert(name.to_owned(), near);
                near
            }
            None => None,
        };
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
pub(super) fn nearest<'n>(
    name: &str,
    planned: impl Iterator<Item = &'n String>,
) -> Option<&'n str> {
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

fn check_property(
    path: &Dotted<'_>,
    value: View<'_>,
    spec: &PropertySpec,
    sink: &mut Sink<'_, '_>,
) {
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
    if !spec.ty.fits(value) {
        let actual = PropType::of(value).map_or_else(|| "null".into(), |t| t.to_string());
        sink.push(
            Code::TypeMismatch,
            path,
            Some(&spec.ty.to_string()),
            Some(format!("{actual}: {}", describe(value))),
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
                Some(describe(value)),
            );
        }
    }
    if let (Some(pattern), Some(text)) = (&spec.pattern, value.as_str()) {
        if !pattern.is_match(text) {
            sink.push(
                Code::PatternViolation,
                path,
                Some(&format!("matching {}", pattern.as_str())),
                Some(describe(value)),
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
                Some(value.to_value().to_string()),
            );
        }
    }
    let length = match value.as_str() {
        Some(s) => Some(s.chars().count()),
        None if value.kind() == Kind::Array => value.size(),
        None => None,
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
fn same_value(a: &Value, b: View<'_>) -> bool {
    match (a.as_f64(), b.as_f64(), b.kind()) {
        (Some(x), Some(y), _) => x == y,
        (_, _, Kind::String) => a.as_str() == b.as_str(),
        (_, _, Kind::Bool) => a.as_bool() == b.as_bool(),
        (_, _, Kind::Null) => a.is_null(),
        _ => *a == b.to_value(),
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
pub(super) struct Dotted<'a>(pub(super) &'a str, pub(super) &'a str);

impl fmt::Display for Dotted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}
