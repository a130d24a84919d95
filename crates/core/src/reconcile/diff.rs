//! Field diffs of one matched pair, with Amplitude's by-design changes
//! marked expected (../shared/amplitude/api.md, "What changes between
//! ingestion and export").

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Captured;
use crate::export::ExportedRow;

/// Longest string property Amplitude keeps; longer ones are cut to this.
const MAX_STRING: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffKind {
    /// A property sent with a value is not in the export.
    PropertyDropped,
    /// Same type, another value.
    ValueChanged,
    /// Another type.
    TypeChanged,
    /// A property sent as null is not in the export (expected).
    NullDropped,
    /// A top-level field (user_id, device_id) sent but not exported.
    FieldDropped,
    /// A string over 1,024 characters cut to 1,024 (expected).
    Truncated,
    /// A revenue field moved into event properties as `$price`… (expected).
    RevenueMoved,
}

impl DiffKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DiffKind::PropertyDropped => "property_dropped",
            DiffKind::ValueChanged => "value_changed",
            DiffKind::TypeChanged => "type_changed",
            DiffKind::NullDropped => "null_dropped",
            DiffKind::FieldDropped => "field_dropped",
            DiffKind::Truncated => "truncated",
            DiffKind::RevenueMoved => "revenue_moved",
        }
    }
}

impl std::fmt::Display for DiffKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diff {
    pub kind: DiffKind,
    /// `event_properties.model`, `user_id`, `time`.
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub captured: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exported: Option<Value>,
    /// Amplitude does this by design: not a problem.
    pub expected: bool,
}

fn diff(kind: DiffKind, path: String, captured: Option<Value>, exported: Option<Value>) -> Diff {
    let expected = matches!(
        kind,
        DiffKind::NullDropped | DiffKind::Truncated | DiffKind::RevenueMoved
    );
    Diff {
        kind,
        path,
        captured,
        exported,
        expected,
    }
}

fn parse_props(raw: Option<&serde_json::value::RawValue>) -> Map<String, Value> {
    raw.and_then(|r| serde_json::from_str(r.get()).ok())
        .unwrap_or_default()
}

/// Compares what was sent with what Amplitude exported for it.
pub fn diff_pair(c: &Captured, row: &ExportedRow) -> Vec<Diff> {
    let mut out = Vec::new();
    let sent = parse_props(c.properties.as_deref());
    let stored = parse_props(row.event_properties.as_deref());
    for (name, value) in &sent {
        let path = format!("event_properties.{name}");
        match stored.get(name) {
            None if value.is_null() => {
                out.push(diff(DiffKind::NullDropped, path, Some(Value::Null), None))
            }
            None => out.push(diff(
                DiffKind::PropertyDropped,
                path,
                Some(value.clone()),
                None,
            )),
            Some(got) if same(value, got) => {}
            Some(got) => out.push(compare(path, value, got)),
        }
    }
    for (field, value) in &c.revenue {
        let moved = format!("${field}");
        match stored.get(&moved) {
            Some(got) if same(value, got) => out.push(diff(
                DiffKind::RevenueMoved,
                format!("{field} → event_properties.{moved}"),
                Some(value.clone()),
                Some(got.clone()),
            )),
            Some(got) => out.push(compare(format!("event_properties.{moved}"), value, got)),
            None => out.push(diff(
                DiffKind::PropertyDropped,
                field.clone(),
                Some(value.clone()),
                None,
            )),
        }
    }
    // Ids: the Batch API silently drops an id that is too short.
    for (field, sent, stored) in [
        ("user_id", &c.user_id, &row.user_id),
        ("device_id", &c.device_id, &row.device_id),
    ] {
        match (sent, stored) {
            (Some(s), None) => out.push(diff(
                DiffKind::FieldDropped,
                field.into(),
                Some(Value::from(s.clone())),
                None,
            )),
            (Some(s), Some(g)) if s != g => out.push(diff(
                DiffKind::ValueChanged,
                field.into(),
                Some(Value::from(s.clone())),
                Some(Value::from(g.clone())),
            )),
            _ => {}
        }
    }
    if let (Some(s), Some(g)) = (&c.event_type, &row.event_type) {
        if s != g {
            out.push(diff(
                DiffKind::ValueChanged,
                "event_type".into(),
                Some(Value::from(s.clone())),
                Some(Value::from(g.clone())),
            ));
        }
    }
    // `client_event_time` is the sent time; `event_time` may be skew-corrected by
    // design. Pairs matched without an insert id were matched on time already.
    if let (Some(sent), Some(got), Some(_)) = (c.time_ms, row.client_event_ms(), &c.insert_id) {
        if sent != got {
            out.push(diff(
                DiffKind::ValueChanged,
                "time".into(),
                Some(Value::from(sent)),
                Some(Value::from(got)),
            ));
        }
    }
    out
}

fn compare(path: String, sent: &Value, got: &Value) -> Diff {
    match (sent, got) {
        (Value::String(s), Value::String(g))
            if s.chars().count() > MAX_STRING
                && g.chars().count() == MAX_STRING
                && s.starts_with(g.as_str()) =>
        {
            diff(
                DiffKind::Truncated,
                path,
                Some(sent.clone()),
                Some(got.clone()),
            )
        }
        _ if kind(sent) != kind(got) => diff(
            DiffKind::TypeChanged,
            path,
            Some(sent.clone()),
            Some(got.clone()),
        ),
        _ => diff(
            DiffKind::ValueChanged,
            path,
            Some(sent.clone()),
            Some(got.clone()),
        ),
    }
}

/// Equal, with numbers compared as numbers (3 == 3.0).
fn same(a: &Value, b: &Value) -> bool {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
