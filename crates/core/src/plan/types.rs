//! Property types a plan can name, and how JSON values fit them.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use crate::event::{Kind, View};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropType {
    String,
    Integer,
    Number,
    Boolean,
    Object,
    /// `array` (any items) or `array<T>`.
    Array(Option<Box<PropType>>),
    Any,
}

impl PropType {
    /// [`PropType::fits`] for a value the plan or the relay holds as a
    /// tree (not on the judge's path: it is written out and read as a tape).
    pub fn accepts(&self, value: &Value) -> bool {
        let text = value.to_string();
        self.fits(crate::event::Tape::parse(&text).root(&text))
    }

    /// Whether a non-null value fits this type (integers fit `number`).
    pub fn fits(&self, value: View<'_>) -> bool {
        match (self, value.kind()) {
            (PropType::Any, _)
            | (PropType::String, Kind::String)
            | (PropType::Integer, Kind::Integer)
            | (PropType::Number, Kind::Integer | Kind::Float)
            | (PropType::Boolean, Kind::Bool)
            | (PropType::Object, Kind::Object)
            | (PropType::Array(None), Kind::Array) => true,
            (PropType::Array(Some(item)), Kind::Array) => {
                value.items().all(|v| v.is_null() || item.fits(v))
            }
            _ => false,
        }
    }

    /// The narrowest type of a value, as `plan infer` sees it.
    pub fn of(value: View<'_>) -> Option<PropType> {
        Some(match value.kind() {
            Kind::Null => return None,
            Kind::Bool => PropType::Boolean,
            Kind::Integer => PropType::Integer,
            Kind::Float => PropType::Number,
            Kind::String => PropType::String,
            Kind::Object => PropType::Object,
            Kind::Array => {
                let mut item: Option<PropType> = None;
                for t in value.items().filter_map(PropType::of) {
                    item = Some(match item {
                        None => t,
                        Some(prev) => prev.unify(&t),
                    });
                }
                PropType::Array(item.map(Box::new))
            }
        })
    }

    /// The narrowest type both fit.
    pub fn unify(&self, other: &PropType) -> PropType {
        use PropType::*;
        match (self, other) {
            (a, b) if a == b => a.clone(),
            (Integer, Number) | (Number, Integer) => Number,
            (Array(a), Array(b)) => match (a, b) {
                (Some(a), Some(b)) => Array(Some(Box::new(a.unify(b)))),
                (Some(t), None) | (None, Some(t)) => Array(Some(t.clone())),
                (None, None) => Array(None),
            },
            _ => Any,
        }
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self, PropType::Integer | PropType::Number)
    }

    /// Coarse kind for drift detection: integer and number are one kind.
    pub fn kind(value: View<'_>) -> Option<&'static str> {
        Some(match value.kind() {
            Kind::Null => return None,
            Kind::Bool => "boolean",
            Kind::Integer | Kind::Float => "number",
            Kind::String => "string",
            Kind::Object => "object",
            Kind::Array => "array",
        })
    }
}

impl fmt::Display for PropType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PropType::String => f.write_str("string"),
            PropType::Integer => f.write_str("integer"),
            PropType::Number => f.write_str("number"),
            PropType::Boolean => f.write_str("boolean"),
            PropType::Object => f.write_str("object"),
            PropType::Array(None) => f.write_str("array"),
            PropType::Array(Some(t)) => write!(f, "array<{t}>"),
            PropType::Any => f.write_str("any"),
        }
    }
}

impl FromStr for PropType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        Ok(match s {
            "string" => PropType::String,
            "integer" | "int" => PropType::Integer,
            "number" | "float" => PropType::Number,
            "boolean" | "bool" => PropType::Boolean,
            "object" => PropType::Object,
            "array" => PropType::Array(None),
            "any" => PropType::Any,
            _ => match s.strip_prefix("array<").and_then(|r| r.strip_suffix('>')) {
                Some(inner) => PropType::Array(Some(Box::new(inner.parse()?))),
                None => {
                    return Err(format!(
                        "unknown type {s:?}: expected string, integer, number, boolean, object, array, array<T> or any"
                    ))
                }
            },
        })
    }
}

/// A short rendering of a value for findings (`"abc"`, `42`, `array of 3`).
pub fn describe_value(value: &Value) -> String {
    match value {
        Value::String(s) => quoted(s),
        Value::Array(items) => format!("array of {}", items.len()),
        Value::Object(o) => format!("object with {} keys", o.len()),
        other => other.to_string(),
    }
}

/// [`describe_value`] for a value as the judge reads it.
pub fn describe(value: View<'_>) -> String {
    match (value.as_str(), value.size()) {
        (Some(s), _) => quoted(s),
        (None, Some(n)) if value.kind() == Kind::Array => format!("array of {n}"),
        (None, Some(n)) => format!("object with {n} keys"),
        (None, None) => value.to_value().to_string(),
    }
}

/// Quoted as sent: every output sanitizes it its own way (␛ on a
/// terminal), never Rust's escapes. Long text is cut.
fn quoted(s: &str) -> String {
    if s.chars().count() > 60 {
        let cut: String = s.chars().take(57).collect();
        format!("\"{cut}...\"")
    } else {
        format!("\"{s}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn types_parse_and_print() {
        for s in [
            "string",
            "integer",
            "number",
            "boolean",
            "object",
            "array",
            "array<string>",
            "array<array<integer>>",
            "any",
        ] {
            assert_eq!(
                s.parse::<PropType>().map(|t| t.to_string()),
                Ok(s.to_owned())
            );
        }
        assert!("strng".parse::<PropType>().is_err());
        assert!("array<nope>".parse::<PropType>().is_err());
    }

    #[test]
    fn values_fit_types() {
        assert!(PropType::Number.accepts(&json!(3)));
        assert!(!PropType::Integer.accepts(&json!(3.5)));
        assert!(PropType::Array(Some(Box::new(PropType::String))).accepts(&json!(["a", null])));
        assert!(!PropType::Array(Some(Box::new(PropType::String))).accepts(&json!(["a", 1])));
        let raw = "[1, 2.5]";
        assert_eq!(
            PropType::of(crate::event::Tape::parse(raw).root(raw)),
            Some(PropType::Array(Some(Box::new(PropType::Number))))
        );
        assert_eq!(PropType::Integer.unify(&PropType::String), PropType::Any);
    }
}
