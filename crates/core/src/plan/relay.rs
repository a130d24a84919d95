//! The plan's relay mapping: which records from an app's own JSON (a Dify
//! workflow's HTTP Request node, a webhook) make which Amplitude event, and
//! where each field comes from: the event's own fields, and each property's
//! path in the record (`query_text = "data.content"`; without one, the
//! property's `source`, else its own name).

use std::collections::BTreeMap;

use serde::Deserialize;

/// `[events.NAME.relay]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelaySpec {
    /// The record's `event` (or `type`) values that make this event type.
    #[serde(default, deserialize_with = "one_or_many")]
    pub from: Vec<String>,
    /// Further conditions: path → the value it must hold (as text).
    #[serde(default)]
    pub when: BTreeMap<String, String>,
    pub user_id: Option<String>,
    pub device_id: Option<String>,
    /// ISO 8601 or a number (ms; seconds are recognised) → `time` in ms.
    pub time: Option<String>,
    /// The record's own id (`data.message_id`): retries never duplicate.
    /// Without one, a hash of the whole record.
    pub insert_id: Option<String>,
    pub session_id: Option<String>,
    /// The same event from the same user (or device) within this many ms of
    /// the last is dropped: a double click, a retried webhook.
    pub debounce_ms: Option<u64>,
    /// Property → the path of its value in the record.
    #[serde(default)]
    pub properties: BTreeMap<String, String>,
}

impl RelaySpec {
    /// Sets one key from a CSV row (`$relay.user_id` → `user_id`,
    /// `$relay.when.data.role` → a condition).
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        let value = value.to_owned();
        match key {
            "from" => self.from = value.split('|').map(str::to_owned).collect(),
            "user_id" => self.user_id = Some(value),
            "device_id" => self.device_id = Some(value),
            "time" => self.time = Some(value),
            "insert_id" => self.insert_id = Some(value),
            "session_id" => self.session_id = Some(value),
            "debounce_ms" => {
                self.debounce_ms = Some(
                    value
                        .parse()
                        .map_err(|_| format!("$relay.debounce_ms {value:?} is not a whole number"))?,
                )
            }
            other => match (other.strip_prefix("when."), other.strip_prefix("properties.")) {
                (Some(path), _) if !path.is_empty() => {
                    self.when.insert(path.to_owned(), value);
                }
                (_, Some(name)) if !name.is_empty() => {
                    self.properties.insert(name.to_owned(), value);
                }
                _ => {
                    return Err(format!(
                        "$relay.{other}? the relay takes from, when.PATH, user_id, device_id, time, insert_id, session_id, debounce_ms and properties.NAME"
                    ))
                }
            },
        }
        Ok(())
    }
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}
