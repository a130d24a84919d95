//! `amptap plan lint`: problems in a plan that need no events to see.

use serde::Serialize;
use serde_json::Value;

use super::{Plan, PropType, PropertySpec, Severity};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LintIssue {
    pub severity: Severity,
    /// `event_type` or `event_type.property` (`user_properties.x`).
    pub location: String,
    pub message: String,
}

pub fn lint(plan: &Plan) -> Vec<LintIssue> {
    let mut issues = Vec::new();
    let mut issue = |severity, location: &str, message: String| {
        issues.push(LintIssue {
            severity,
            location: location.to_owned(),
            message,
        })
    };
    let s = &plan.settings;
    for (name, spec) in &plan.events {
        if let Some(convention) = &s.event_name {
            if !convention.is_match(name) {
                issue(
                    Severity::Warning,
                    name,
                    format!(
                        "event name does not match event_name {}",
                        convention.as_str()
                    ),
                );
            }
        }
        if s.is_ignored(name) {
            issue(
                Severity::Warning,
                name,
                "planned but also ignored by settings.ignore: it is never checked".into(),
            );
        }
        if spec.max_per_minute == Some(0) {
            issue(
                Severity::Error,
                name,
                "max_per_minute = 0 flags every event".into(),
            );
        }
        for (prop, p) in &spec.properties {
            let location = format!("{name}.{prop}");
            check_property(&location, prop, p, plan, &mut issue);
            if let Some(source) = &p.source {
                if spec.properties.contains_key(source) {
                    issue(Severity::Error, &location, format!("source {source:?} is itself a planned property: the mapping is ambiguous"));
                }
            }
        }
    }
    for (prop, p) in &plan.user_properties {
        check_property(
            &format!("user_properties.{prop}"),
            prop,
            p,
            plan,
            &mut issue,
        );
    }
    issues
}

fn check_property(
    location: &str,
    name: &str,
    p: &PropertySpec,
    plan: &Plan,
    issue: &mut impl FnMut(Severity, &str, String),
) {
    if let Some(convention) = &plan.settings.property_name {
        if !convention.is_match(name) {
            issue(
                Severity::Warning,
                location,
                format!(
                    "property name does not match property_name {}",
                    convention.as_str()
                ),
            );
        }
    }
    if let Some(values) = &p.allowed {
        if values.is_empty() {
            issue(
                Severity::Error,
                location,
                "enum is empty: no value can pass".into(),
            );
        }
        for v in values.iter().filter(|v| !p.ty.accepts(v)) {
            issue(
                Severity::Error,
                location,
                format!("enum value {v} is not a {}", p.ty),
            );
        }
        if let Some(pattern) = &p.pattern {
            for v in values
                .iter()
                .filter_map(Value::as_str)
                .filter(|v| !pattern.is_match(v))
            {
                issue(
                    Severity::Error,
                    location,
                    format!(
                        "enum value {v:?} does not match its own pattern {}",
                        pattern.as_str()
                    ),
                );
            }
        }
    }
    if p.pattern.is_some() && !matches!(p.ty, PropType::String | PropType::Any) {
        issue(
            Severity::Warning,
            location,
            format!("pattern on a {}: only strings are matched", p.ty),
        );
    }
    if (p.min.is_some() || p.max.is_some()) && !(p.ty.is_numeric() || p.ty == PropType::Any) {
        issue(
            Severity::Warning,
            location,
            format!("min/max on a {}: only numbers are compared", p.ty),
        );
    }
    if let (Some(a), Some(b)) = (p.min, p.max) {
        if a > b {
            issue(
                Severity::Error,
                location,
                format!("min {a} is greater than max {b}"),
            );
        }
    }
    if let (Some(a), Some(b)) = (p.min_length, p.max_length) {
        if a > b {
            issue(
                Severity::Error,
                location,
                format!("min_length {a} is greater than max_length {b}"),
            );
        }
    }
    if (p.min_length.is_some() || p.max_length.is_some())
        && !matches!(p.ty, PropType::String | PropType::Array(_) | PropType::Any)
    {
        issue(
            Severity::Warning,
            location,
            format!(
                "min_length/max_length on a {}: only strings and arrays have a length",
                p.ty
            ),
        );
    }
    if p.source.as_deref() == Some(name) {
        issue(
            Severity::Warning,
            location,
            "source is the property's own name: nothing to map".into(),
        );
    }
    if p.required && p.nullable && p.ty == PropType::Any {
        issue(
            Severity::Info,
            location,
            "required, nullable and of any type: it only checks presence".into(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::parse_toml;

    #[test]
    fn finds_contradictions() {
        let plan = parse_toml(
            r#"
[settings]
event_name = "^[a-z_]+$"
ignore = ["debug_*"]
[events."Bad Name".properties]
tier = { type = "string", enum = ["pro", 3], pattern = "^[a-z]+$" }
n = { type = "integer", min = 5, max = 1 }
s = { type = "boolean", min_length = 2 }
[events.debug_ping.properties]
appId = { type = "string", source = "appId" }
"#,
            "p.toml",
        )
        .expect("loads");
        let issues = lint(&plan);
        let text: Vec<String> = issues
            .iter()
            .map(|i| format!("{} {}: {}", i.severity, i.location, i.message))
            .collect();
        let has = |s: &str| text.iter().any(|t| t.contains(s));
        assert!(
            has("warning Bad Name: event name does not match"),
            "{text:#?}"
        );
        assert!(has("error Bad Name.tier: enum value 3 is not a string"));
        assert!(has("error Bad Name.n: min 5 is greater than max 1"));
        assert!(has(
            "warning Bad Name.s: min_length/max_length on a boolean"
        ));
        assert!(has("warning debug_ping: planned but also ignored"));
        assert!(has(
            "warning debug_ping.appId: source is the property's own name"
        ));
        assert_eq!(lint(&Plan::default()), vec![]);
    }
}
