//! The fields every event carries: ids and time.

use super::{describe, is_placeholder_id, Code, Severity, Sink, DAY_MS, SECONDS_CUTOFF};
use crate::event::{CommonFields, Dialect, Event};

pub(super) fn check_ids(f: &CommonFields<'_>, min_len: usize, sink: &mut Sink<'_, '_>) {
    let mut any = false;
    for (field, value) in [("user_id", f.user_id), ("device_id", f.device_id)] {
        let Some(value) = value.filter(|v| !v.is_null()) else {
            continue;
        };
        any = true;
        let Some(id) = value.as_str() else {
            sink.push(
                Code::TypeMismatch,
                field,
                Some("string"),
                Some(describe(value)),
            );
            continue;
        };
        if is_placeholder_id(id) {
            sink.push(
                Code::PlaceholderId,
                field,
                Some("a real id"),
                Some(format!("\"{id}\"")),
            );
        } else if id.chars().count() < min_len {
            sink.push(
                Code::ShortId,
                field,
                Some(&format!("at least {min_len} characters")),
                Some(format!("\"{id}\" ({} characters)", id.chars().count())),
            );
        }
    }
    // Identify endpoints and group identify carry ids of their own kind.
    if !any && f.event_type != Some("$groupidentify") {
        sink.push(
            Code::MissingId,
            "user_id",
            Some("user_id or device_id"),
            Some("neither".into()),
        );
    }
}

pub(super) fn check_time(
    event: &Event,
    f: &CommonFields<'_>,
    now_ms: i64,
    sink: &mut Sink<'_, '_>,
) {
    if f.event_type == Some("$groupidentify") || event.dialect() == Dialect::Identify {
        return;
    }
    let field = match event.dialect() {
        Dialect::AmplitudeJs => "timestamp",
        _ => "time",
    };
    let Some(value) = f.time else {
        // Amplitude documents `time` as optional: some SDKs leave it out.
        let severity = if sink.plan.settings.sdk_profile {
            Severity::Info
        } else {
            Code::BadTime.default_severity()
        };
        sink.push_with(
            Code::BadTime,
            severity,
            field,
            Some("ms since the epoch"),
            Some("absent: Amplitude uses the upload time".into()),
        );
        return;
    };
    let Some(t) = value.as_i64().or_else(|| value.as_f64().map(|f| f as i64)) else {
        sink.push(
            Code::BadTime,
            field,
            Some("ms since the epoch"),
            Some(describe(value)),
        );
        return;
    };
    let problem = if t < SECONDS_CUTOFF {
        Some(format!("{t}: seconds, not milliseconds"))
    } else if t > now_ms + DAY_MS {
        Some(format!("{t}: {} days in the future", (t - now_ms) / DAY_MS))
    } else if t < now_ms - 365 * DAY_MS {
        Some(format!("{t}: {} days old", (now_ms - t) / DAY_MS))
    } else {
        None
    };
    if let Some(actual) = problem {
        sink.push(
            Code::BadTime,
            field,
            Some("ms since the epoch, near the time it was sent"),
            Some(actual),
        );
    }
}
