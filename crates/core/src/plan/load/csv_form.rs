//! The CSV (spreadsheet) form of the plan: one row per property.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{one_line, PlanError};
use crate::plan::{Code, Glob, Pattern, Plan, Policy, PropType, PropertySpec, Settings, Severity};

/// The spreadsheet form: one row per property. A row with an empty
/// `property` describes the event itself; rows of event type `$identify`
/// are user properties; rows of event type `$settings` are settings.
pub(super) const CSV_COLUMNS: [&str; 9] = [
    "event_type",
    "property",
    "type",
    "required",
    "nullable",
    "source_field",
    "allowed",
    "pattern",
    "description",
];
/// Columns a sheet may add to the nine above.
const CSV_OPTIONAL_COLUMNS: [&str; 5] =
    ["min", "max", "min_length", "max_length", "max_per_minute"];

pub fn parse_csv(text: &str, file: &str) -> Result<Plan, PlanError> {
    let err_at = |line: u64, column: usize, message: String| PlanError::At {
        file: file.to_owned(),
        line: line as usize,
        column,
        message,
    };
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| err_at(1, 1, e.to_string()))?
        .clone();
    let mut index = BTreeMap::new();
    for (i, h) in headers.iter().enumerate() {
        if !CSV_COLUMNS.contains(&h) && !CSV_OPTIONAL_COLUMNS.contains(&h) {
            return Err(err_at(
                1,
                i + 1,
                format!("unknown column {h:?}: expected {}", CSV_COLUMNS.join(",")),
            ));
        }
        index.insert(h.to_owned(), i);
    }
    for required in ["event_type", "property", "type"] {
        if !index.contains_key(required) {
            return Err(err_at(
                1,
                1,
                format!(
                    "missing column {required:?}: the header must be {}",
                    CSV_COLUMNS.join(",")
                ),
            ));
        }
    }
    let mut plan = Plan::default();
    for record in reader.records() {
        let record = record.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            err_at(line, 1, e.to_string())
        })?;
        let line = record.position().map_or(0, |p| p.line());
        let cell = |name: &str| index.get(name).and_then(|&i| record.get(i)).unwrap_or("");
        let col = |name: &str| index.get(name).map_or(1, |&i| i + 1);
        let fail = |name: &str, message: String| err_at(line, col(name), message);
        let event_type = cell("event_type");
        if event_type.is_empty() {
            return Err(fail("event_type", "empty event_type".into()));
        }
        let number = |name: &str| -> Result<Option<f64>, PlanError> {
            let c = cell(name);
            if c.is_empty() {
                return Ok(None);
            }
            c.parse()
                .map(Some)
                .map_err(|_| fail(name, format!("{name} {c:?} is not a number")))
        };
        let count = |name: &str| -> Result<Option<usize>, PlanError> {
            let c = cell(name);
            if c.is_empty() {
                return Ok(None);
            }
            c.parse()
                .map(Some)
                .map_err(|_| fail(name, format!("{name} {c:?} is not a whole number")))
        };
        let property = cell("property");
        if event_type == "$settings" {
            apply_csv_setting(
                &mut plan.settings,
                property,
                cell("allowed"),
                cell("pattern"),
            )
            .map_err(|m| fail("property", m))?;
            continue;
        }
        if let Some(key) = property.strip_prefix("$relay.") {
            let spec = plan.events.entry(event_type.to_owned()).or_default();
            spec.relay
                .get_or_insert_with(Default::default)
                .set(key, cell("source_field"))
                .map_err(|m| fail("property", m))?;
            continue;
        }
        if property.is_empty() {
            let spec = plan.events.entry(event_type.to_owned()).or_default();
            spec.description = Some(cell("description"))
                .filter(|d| !d.is_empty())
                .map(str::to_owned);
            spec.max_per_minute = count("max_per_minute")?.map(|n| n as u32);
            continue;
        }
        let ty: PropType = cell("type").parse().map_err(|m| fail("type", m))?;
        let flag = |name: &str| parse_bool(cell(name)).map_err(|m| fail(name, m));
        let allowed = match cell("allowed") {
            "" => None,
            list => Some(
                list.split('|')
                    .map(|v| typed_value(v.trim(), &ty))
                    .collect(),
            ),
        };
        let pattern = match cell("pattern") {
            "" => None,
            p => Some(
                Pattern::new(p)
                    .map_err(|e| fail("pattern", format!("bad regex: {}", one_line(&e))))?,
            ),
        };
        let spec = PropertySpec {
            ty,
            required: flag("required")?,
            nullable: flag("nullable")?,
            allowed,
            pattern,
            min: number("min")?,
            max: number("max")?,
            min_length: count("min_length")?,
            max_length: count("max_length")?,
            source: Some(cell("source_field"))
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            description: Some(cell("description"))
                .filter(|d| !d.is_empty())
                .map(str::to_owned),
        };
        let table = if event_type == "$identify" {
            &mut plan.user_properties
        } else {
            &mut plan
                .events
                .entry(event_type.to_owned())
                .or_default()
                .properties
        };
        if table.insert(property.to_owned(), spec).is_some() {
            return Err(fail(
                "property",
                format!("{event_type}.{property} is listed twice"),
            ));
        }
    }
    Ok(plan)
}

/// `$settings` rows: the setting's name in `property`, its value in
/// `allowed` (lists `|`-separated), regexes in `pattern`.
fn apply_csv_setting(
    settings: &mut Settings,
    name: &str,
    value: &str,
    pattern: &str,
) -> Result<(), String> {
    let regex = |p: &str| {
        Pattern::new(p)
            .map(Some)
            .map_err(|e| format!("bad regex: {}", one_line(&e)))
    };
    match name {
        "event_name" => settings.event_name = regex(pattern)?,
        "property_name" => settings.property_name = regex(pattern)?,
        "unknown_events" => settings.unknown_events = Policy::parse(value)?,
        "unexpected_properties" => settings.unexpected_properties = Policy::parse(value)?,
        "min_id_length" => {
            settings.min_id_length = value
                .parse()
                .map_err(|_| format!("min_id_length {value:?} is not a whole number"))?
        }
        "ignore" => settings.ignore = value.split('|').map(|g| Glob(g.trim().to_owned())).collect(),
        "sdk_profile" => {
            settings.sdk_profile = value
                .parse()
                .map_err(|_| format!("sdk_profile {value:?} is not true or false"))?
        }
        other => match other.strip_prefix("severity.") {
            Some(code) => {
                let code: Code = code.parse()?;
                settings.severity.insert(code, Severity::parse_level(value)?);
            }
            None => {
                return Err(format!(
                    "unknown setting {other:?}: expected event_name, property_name, unknown_events, unexpected_properties, min_id_length, sdk_profile, ignore or severity.CODE"
                ))
            }
        },
    }
    Ok(())
}

fn parse_bool(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "" | "false" | "no" | "n" | "0" => Ok(false),
        "true" | "yes" | "y" | "1" => Ok(true),
        other => Err(format!("{other:?} is not true/false (or yes/no)")),
    }
}

/// A cell of `allowed`, read as the property's type where it fits.
fn typed_value(text: &str, ty: &PropType) -> Value {
    let parsed = match ty {
        PropType::Integer => text.parse::<i64>().ok().map(Value::from),
        PropType::Number => text.parse::<f64>().ok().map(Value::from),
        PropType::Boolean => parse_bool(text).ok().map(Value::from),
        _ => None,
    };
    parsed.unwrap_or_else(|| Value::String(text.to_owned()))
}
