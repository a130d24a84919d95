//! Reading a plan from TOML or CSV. Every error names the file, the line
//! and what was expected; unknown keys and columns are errors; regexes are
//! compiled here, once.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;
use toml::Spanned;

use super::{
    Code, EventSpec, Glob, Pattern, Plan, Policy, PropType, PropertySpec, Settings, Severity,
};

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("cannot read plan {file}: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}:{line}:{column}: {message}")]
    At {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}: {message}")]
    File { file: String, message: String },
}

/// Parses a plan read from `file`, choosing the form by its extension
/// (`.csv`, else TOML). Reading the file is the caller's job.
pub fn parse(text: &str, file: &str) -> Result<Plan, PlanError> {
    let is_csv = Path::new(file)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    if is_csv {
        parse_csv(text, file)
    } else {
        parse_toml(text, file)
    }
}

// ---- TOML ----

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
    relay: Option<super::RelaySpec>,
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

/// A regex error in one line, and the character of the pattern it points at
/// (the regex crate marks it with carets under the pattern).
fn regex_problem(e: &regex::Error) -> (String, Option<usize>) {
    let text = e.to_string();
    let lines: Vec<&str> = text.lines().collect();
    let caret = lines
        .iter()
        .position(|l| l.trim_start().starts_with('^') && l.trim().chars().all(|c| c == '^'));
    let offset = caret.and_then(|i| {
        let pattern_line = lines.get(i.checked_sub(1)?)?;
        let indent = pattern_line.len() - pattern_line.trim_start().len();
        lines[i].find('^').map(|c| c.saturating_sub(indent))
    });
    let reason = lines
        .iter()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .map_or_else(
            || text.split_whitespace().collect::<Vec<_>>().join(" "),
            str::to_owned,
        );
    (reason, offset)
}

fn one_line(e: &regex::Error) -> String {
    match regex_problem(e) {
        (reason, Some(at)) => format!("{reason} (at character {} of the pattern)", at + 1),
        (reason, None) => reason,
    }
}

// ---- CSV ----

/// The spreadsheet form: one row per property. A row with an empty
/// `property` describes the event itself; rows of event type `$identify`
/// are user properties; rows of event type `$settings` are settings.
pub const CSV_COLUMNS: [&str; 9] = [
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
pub const CSV_OPTIONAL_COLUMNS: [&str; 5] =
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

#[cfg(test)]
mod tests {
    use super::*;

    fn toml_err(text: &str) -> String {
        parse_toml(text, "plan.toml")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    fn csv_err(text: &str) -> String {
        parse_csv(text, "plan.csv")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn toml_errors_name_file_line_and_expectation() {
        let e = toml_err("[events.a.properties]\nx = { type = \"string\", requird = true }\n");
        assert!(e.starts_with("plan.toml:2:"), "{e}");
        assert!(
            e.contains("unknown field `requird`") && e.contains("expected one of"),
            "{e}"
        );

        let e = toml_err("[events.a.properties]\nx = { type = \"strng\" }\n");
        assert!(e.starts_with("plan.toml:2:14:"), "{e}");
        assert!(e.contains("unknown type \"strng\""), "{e}");

        let e = toml_err("[settings]\nevent_name = \"^[a-z\"\n");
        assert!(
            e.starts_with(
                "plan.toml:2:16: bad regex \"^[a-z\": unclosed character class (at character 2"
            ),
            "{e}"
        );

        let e = toml_err("[settings]\nunknown_events = \"maybe\"\n");
        assert!(
            e.contains("plan.toml:2:") && e.contains("allow, warning or error"),
            "{e}"
        );

        let e = toml_err("[settings.severity]\nmissing_propety = \"error\"\n");
        assert!(e.contains("unknown finding code"), "{e}");

        let e = toml_err("[bogus]\n");
        assert!(
            e.starts_with("plan.toml:1:") && e.contains("unknown field `bogus`"),
            "{e}"
        );

        let e = toml_err("[events.a]\nproperties = 3\n");
        assert!(e.starts_with("plan.toml:2:"), "{e}");
    }

    #[test]
    fn csv_errors_name_file_line_and_expectation() {
        let header = CSV_COLUMNS.join(",");
        let e = csv_err(&format!("{header}\na,x,strng,true,false,,,,\n"));
        assert!(e.starts_with("plan.csv:2:3: unknown type"), "{e}");
        let e = csv_err(&format!("{header}\na,x,string,maybe,false,,,,\n"));
        assert!(
            e.starts_with("plan.csv:2:4:") && e.contains("true/false"),
            "{e}"
        );
        let e = csv_err(&format!("{header}\na,x,string,true,false,,,(,\n"));
        assert!(e.starts_with("plan.csv:2:8: bad regex"), "{e}");
        let e = csv_err("event_type,property,kind\n");
        assert!(
            e.starts_with("plan.csv:1:3: unknown column \"kind\""),
            "{e}"
        );
        let e = csv_err(&format!("{header}\na,x,string,,,,,,\na,x,integer,,,,,,\n"));
        assert!(
            e.starts_with("plan.csv:3:2:") && e.contains("listed twice"),
            "{e}"
        );
    }

    #[test]
    fn the_sdk_profile_is_on_unless_the_plan_turns_it_off() {
        assert!(
            parse_toml("[settings]\n", "p.toml")
                .expect("plan")
                .settings
                .sdk_profile
        );
        let off = parse_toml("[settings]\nsdk_profile = false\n", "p.toml").expect("plan");
        assert!(!off.settings.sdk_profile);
    }
}
