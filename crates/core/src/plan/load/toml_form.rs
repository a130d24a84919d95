//! The TOML form of the plan: one table per event type.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use toml::Spanned;

use super::{one_line, regex_problem, PlanError};
use crate::plan::{
    Code, EventSpec, Glob, Pattern, Plan, Policy, PropType, PropertySpec, Settings, Severity,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    #[serde(default)]
    settings: Option<SettingsFile>,
    #[serde(default)]
    events: BTreeMap<String, EventFile>,
    #[serde(default)]
    user_properties: BTreeMap<String, PropertyFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SettingsFile {
    event_name: Option<Spanned<String>>,
    property_name: Option<Spanned<String>>,
    unknown_events: Option<Spanned<String>>,
    unexpected_properties: Option<Spanned<String>>,
    min_id_length: Option<usize>,
    sdk_profile: Option<bool>,
    #[serde(default)]
    ignore: Vec<String>,
    #[serde(default)]
    severity: BTreeMap<String, Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventFile {
    description: Option<String>,
    max_per_minute: Option<u32>,
    relay: Option<crate::plan::RelaySpec>,
    #[serde(default)]
    properties: BTreeMap<String, PropertyFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PropertyFile {
    #[serde(rename = "type")]
    ty: Spanned<String>,
    #[serde(default)]
    required: bool,
    #[serde(default)]
    nullable: bool,
    #[serde(rename = "enum")]
    allowed: Option<Vec<Value>>,
    pattern: Option<Spanned<String>>,
    min: Option<f64>,
    max: Option<f64>,
    min_length: Option<usize>,
    max_length: Option<usize>,
    source: Option<String>,
    description: Option<String>,
}

/// Line and column (1-based) of a byte offset.
fn position(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, column)
}

pub fn parse_toml(text: &str, file: &str) -> Result<Plan, PlanError> {
    let at = |offset: usize, message: String| {
        let (line, column) = position(text, offset);
        PlanError::At {
            file: file.to_owned(),
            line,
            column,
            message,
        }
    };
    let parsed: PlanFile = toml::from_str(text).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        at(offset, e.message().trim().to_owned())
    })?;
    let spanned_pattern = |s: &Spanned<String>| {
        Pattern::new(s.get_ref()).map_err(|e| {
            // Past the opening quote to the character the regex error names
            // (exact unless the pattern holds escapes).
            let offset = regex_problem(&e).1.map_or(0, |o| o + 1);
            at(
                s.span().start + offset,
                format!("bad regex {:?}: {}", s.get_ref(), one_line(&e)),
            )
        })
    };
    let mut settings = Settings::default();
    if let Some(s) = parsed.settings {
        settings.event_name = s.event_name.as_ref().map(spanned_pattern).transpose()?;
        settings.property_name = s.property_name.as_ref().map(spanned_pattern).transpose()?;
        let policy = |p: &Option<Spanned<String>>, default| match p {
            Some(p) => Policy::parse(p.get_ref()).map_err(|m| at(p.span().start, m)),
            None => Ok(default),
        };
        settings.unknown_events = policy(&s.unknown_events, settings.unknown_events)?;
        settings.unexpected_properties =
            policy(&s.unexpected_properties, settings.unexpected_properties)?;
        if let Some(n) = s.min_id_length {
            settings.min_id_length = n;
        }
        if let Some(on) = s.sdk_profile {
            settings.sdk_profile = on;
        }
        settings.ignore = s.ignore.into_iter().map(Glob).collect();
        for (code, level) in &s.severity {
            let code: Code = code
                .parse()
                .map_err(|m: String| at(level.span().start, m))?;
            let level =
                Severity::parse_level(level.get_ref()).map_err(|m| at(level.span().start, m))?;
            settings.severity.insert(code, level);
        }
    }
    let property = |p: PropertyFile| -> Result<PropertySpec, PlanError> {
        let ty: PropType =
            p.ty.get_ref()
                .parse()
                .map_err(|m| at(p.ty.span().start, m))?;
        Ok(PropertySpec {
            ty,
            required: p.required,
            nullable: p.nullable,
            allowed: p.allowed,
            pattern: p.pattern.as_ref().map(spanned_pattern).transpose()?,
            min: p.min,
            max: p.max,
            min_length: p.min_length,
            max_length: p.max_length,
            source: p.source,
            description: p.description,
        })
    };
    let mut events = BTreeMap::new();
    for (name, e) in parsed.events {
        let properties = e
            .properties
            .into_iter()
            .map(|(k, p)| property(p).map(|p| (k, p)))
            .collect::<Result<_, _>>()?;
        events.insert(
            name,
            EventSpec {
                description: e.description,
                properties,
                max_per_minute: e.max_per_minute,
                relay: e.relay,
            },
        );
    }
    let user_properties = parsed
        .user_properties
        .into_iter()
        .map(|(k, p)| property(p).map(|p| (k, p)))
        .collect::<Result<_, _>>()?;
    Ok(Plan {
        settings,
        events,
        user_properties,
    })
}
