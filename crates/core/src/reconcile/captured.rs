//! The captured side: each event a journal record holds, with what became
//! of its request (accepted, rejected with Amplitude's reason, or never
//! forwarded).

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

use crate::record::{Delivery, Record};

/// What happened to the request a captured event came in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Outcome {
    /// Amplitude answered 200 with `code` 200 (or `success`).
    Accepted,
    /// Amplitude answered 4xx; `reason` is what it said about this event.
    Rejected { status: u16, reason: String },
    /// Never reached Amplitude, or Amplitude failed (5xx): the SDK retries.
    NotForwarded { reason: String },
}

impl Outcome {
    pub(super) fn rank(&self) -> u8 {
        match self {
            Outcome::Accepted => 2,
            Outcome::Rejected { .. } => 1,
            Outcome::NotForwarded { .. } => 0,
        }
    }
}

/// One captured event, reduced to what reconcile needs (a million of them
/// must fit in memory: properties stay raw until a pair is compared).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Captured {
    pub seq: u64,
    pub index: usize,
    pub received_ms: i64,
    pub insert_id: Option<String>,
    pub event_type: Option<String>,
    pub user_id: Option<String>,
    pub device_id: Option<String>,
    pub time_ms: Option<i64>,
    pub outcome: Outcome,
    pub properties: Option<Box<RawValue>>,
    /// Top-level revenue fields (`price`, `quantity`…), which Amplitude moves into properties.
    pub revenue: Vec<(String, Value)>,
}

impl Captured {
    /// The events of one journal record.
    pub fn from_capture(c: &Record) -> Vec<Captured> {
        let accepted = c.accepted() && c.delivery.reached_upstream();
        c.events
            .iter()
            .enumerate()
            .map(|(index, e)| {
                let outcome = if accepted {
                    Outcome::Accepted
                } else {
                    outcome_of(c, index)
                };
                let fields = e.common();
                let view = e.view();
                let revenue = ["price", "quantity", "revenue", "productId", "revenueType"]
                    .iter()
                    .filter_map(|k| view.get(k).map(|v| ((*k).to_owned(), v.to_value())))
                    .collect();
                Captured {
                    seq: c.seq,
                    index,
                    received_ms: c.received_ms(),
                    insert_id: fields.insert_id.map(str::to_owned),
                    event_type: fields.event_type.map(str::to_owned),
                    user_id: fields.user_id.and_then(|v| v.as_str()).map(str::to_owned),
                    device_id: fields.device_id.and_then(|v| v.as_str()).map(str::to_owned),
                    time_ms: fields.time_ms(),
                    outcome,
                    properties: view
                        .get("event_properties")
                        .and_then(|p| serde_json::value::to_raw_value(&p.to_value()).ok()),
                    revenue,
                }
            })
            .collect()
    }

    pub fn actor(&self) -> Option<&str> {
        self.user_id.as_deref().or(self.device_id.as_deref())
    }
}

/// Why a request's event did not make it, in Amplitude's own words.
fn outcome_of(c: &Record, index: usize) -> Outcome {
    let status = c.answer.status;
    match &c.delivery {
        Delivery::Forwarded { .. } if (400..500).contains(&status) => {
            let body: Value = serde_json::from_str(&c.answer.body).unwrap_or(Value::Null);
            let mut reason = body
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or(&c.answer.body)
                .to_owned();
            for key in [
                "events_with_invalid_fields",
                "events_with_missing_fields",
                "events_with_invalid_id_lengths",
            ] {
                if let Some(fields) = body.get(key).and_then(Value::as_object) {
                    for (field, indices) in fields {
                        let named = indices
                            .as_array()
                            .is_some_and(|a| a.iter().any(|i| i.as_u64() == Some(index as u64)));
                        if named {
                            reason.push_str(&format!("; this event: {field} ({key})"));
                        }
                    }
                }
            }
            if body
                .get("throttled_events")
                .and_then(Value::as_array)
                .is_some_and(|a| a.iter().any(|i| i.as_u64() == Some(index as u64)))
            {
                reason.push_str("; this event was throttled");
            }
            Outcome::Rejected { status, reason }
        }
        Delivery::Forwarded { .. } => Outcome::NotForwarded {
            reason: format!(
                "Amplitude answered {status}: {}",
                c.answer.body.chars().take(120).collect::<String>()
            ),
        },
        Delivery::Failed { error, .. } => Outcome::NotForwarded {
            reason: format!("upstream failure: {error}"),
        },
        Delivery::Offline => Outcome::NotForwarded {
            reason: "captured offline: never sent to Amplitude".into(),
        },
        Delivery::Refused { reason } => Outcome::NotForwarded {
            reason: format!("refused by amptap: {reason}"),
        },
        Delivery::Queued => Outcome::NotForwarded {
            reason: "taken by the relay, not yet confirmed sent to Amplitude".into(),
        },
    }
}
