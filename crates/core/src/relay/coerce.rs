//! Values from an app's record made into what the plan says, or a reason
//! why not: never a silent change.

use serde_json::Value;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::plan::PropType;

/// Before 1973 in milliseconds is after 5000 AD in seconds.
const SECONDS_CUTOFF: f64 = 100_000_000_000.0;

/// A time as ms since the epoch: a number (seconds are recognised and
/// multiplied), a numeric string, or ISO 8601 / RFC 3339 text.
pub fn time_ms(v: &Value) -> Result<(i64, Option<&'static str>), String> {
    let number = match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    if let Some(n) = number.filter(|n| n.is_finite() && *n > 0.0) {
        return Ok(if n < SECONDS_CUTOFF {
            ((n * 1000.0) as i64, Some("seconds → ms"))
        } else {
            (n as i64, None)
        });
    }
    match v {
        Value::String(s) => OffsetDateTime::parse(s.trim(), &Rfc3339)
            .map(|t| {
                (
                    (t.unix_timestamp_nanos() / 1_000_000) as i64,
                    Some("ISO 8601 → ms"),
                )
            })
            .map_err(|_| format!("{v} is neither ISO 8601 nor a number of ms")),
        other => Err(format!("{other} is not a time")),
    }
}

/// `v` as the planned type: numeric strings become numbers, "true"/"false"
/// booleans, ISO 8601 text an integer of ms; anything else that does not
/// fit is an error. Returns the value and what was done to it, if anything.
pub fn to_type(v: &Value, ty: &PropType) -> Result<(Value, Option<&'static str>), String> {
    if ty.accepts(v) || v.is_null() {
        return Ok((v.clone(), None));
    }
    let text = v.as_str().map(str::trim);
    let coerced = match (ty, text) {
        (PropType::Integer, Some(t)) => t
            .parse::<i64>()
            .map(|n| (Value::from(n), "text → integer"))
            .ok()
            .or_else(|| {
                time_ms(v)
                    .ok()
                    .filter(|(_, how)| how.is_some())
                    .map(|(ms, _)| (Value::from(ms), "ISO 8601 → ms"))
            }),
        (PropType::Number, Some(t)) => t
            .parse::<f64>()
            .ok()
            .filter(|n| n.is_finite())
            .and_then(serde_json::Number::from_f64)
            .map(|n| (Value::Number(n), "text → number")),
        (PropType::Boolean, Some("true")) => Some((Value::Bool(true), "text → boolean")),
        (PropType::Boolean, Some("false")) => Some((Value::Bool(false), "text → boolean")),
        (PropType::String, None) if v.is_number() || v.is_boolean() => {
            Some((Value::String(v.to_string()), "→ text"))
        }
        _ => None,
    };
    coerced
        .map(|(v, how)| (v, Some(how)))
        .ok_or_else(|| format!("{v} cannot be made {ty}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn times_and_types_are_coerced_or_refused_with_a_reason() {
        assert_eq!(
            time_ms(&json!("2025-04-05T10:00:00Z")),
            Ok((1_743_847_200_000, Some("ISO 8601 → ms")))
        );
        assert_eq!(
            time_ms(&json!(1_743_847_200)),
            Ok((1_743_847_200_000, Some("seconds → ms")))
        );
        assert_eq!(
            time_ms(&json!(1_743_847_200_123_i64)),
            Ok((1_743_847_200_123, None))
        );
        assert!(time_ms(&json!("yesterday")).is_err());
        assert_eq!(
            to_type(&json!("820"), &PropType::Integer).map(|r| r.0),
            Ok(json!(820))
        );
        assert_eq!(
            to_type(&json!("0.5"), &PropType::Number).map(|r| r.0),
            Ok(json!(0.5))
        );
        assert_eq!(
            to_type(&json!("2025-04-05T10:00:00Z"), &PropType::Integer).map(|r| r.0),
            Ok(json!(1_743_847_200_000_i64))
        );
        assert!(to_type(&json!("fast"), &PropType::Integer).is_err());
        assert_eq!(
            to_type(&json!("gpt-4"), &PropType::String).map(|r| r.1),
            Ok(None)
        );
    }
}
