//! One exported row, as Amplitude's Export API writes it.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;
use time::macros::format_description;
use time::PrimitiveDateTime;

/// The fields reconcile reads; everything else in the row is skipped.
/// Properties stay raw text: a million rows parsed into maps would not fit
/// the memory budget, and only matched pairs are ever compared.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct ExportedRow {
    #[serde(
        rename = "$insert_id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub insert_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uuid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amplitude_id: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_event_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_upload_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_received_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_upload_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_properties: Option<Box<RawValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_properties: Option<Box<RawValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub library: Option<String>,
}

impl ExportedRow {
    pub fn client_event_ms(&self) -> Option<i64> {
        self.client_event_time
            .as_deref()
            .and_then(parse_export_time)
    }

    pub fn server_upload_ms(&self) -> Option<i64> {
        self.server_upload_time
            .as_deref()
            .and_then(parse_export_time)
    }

    /// The user id, else the device id.
    pub fn actor(&self) -> Option<&str> {
        self.user_id.as_deref().or(self.device_id.as_deref())
    }
}

/// `2026-11-24 10:00:00.123000` (UTC) → ms since the epoch.
pub fn parse_export_time(text: &str) -> Option<i64> {
    let with_fraction =
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond]");
    let without = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let t = PrimitiveDateTime::parse(text.trim(), &with_fraction)
        .or_else(|_| PrimitiveDateTime::parse(text.trim(), &without))
        .ok()?;
    Some((t.assume_utc().unix_timestamp_nanos() / 1_000_000) as i64)
}

/// ms since the epoch → Amplitude's export time text.
pub fn format_export_time(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip() {
        let ms = 1_795_514_400_123;
        assert_eq!(format_export_time(ms), "2026-11-24 10:00:00.123000");
        assert_eq!(parse_export_time("2026-11-24 10:00:00.123000"), Some(ms));
        assert_eq!(parse_export_time("2026-11-24 10:00:00"), Some(ms - 123));
        assert_eq!(parse_export_time("yesterday"), None);
    }
}
