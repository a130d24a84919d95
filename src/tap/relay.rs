//! `POST /relay/SOURCE`: an app's own JSON records (Dify's events, a
//! workflow's HTTP Request node) made into Amplitude events through the
//! plan's `[relay]` tables. Each record is journaled as a record of its own
//! before the answer (202): a mapped one with its event, queued for the
//! outbox; one that maps to nothing as a record with the reason. A body
//! that is not JSON is refused whole (400) and nothing of it is kept as
//! accepted, so the sender retries it.

use std::sync::atomic::Ordering;

use bytes::Bytes;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::{Reply, Tap};
use crate::event::{Dialect, Event};
use crate::plan::Plan;
use crate::record::{Delivery, ProblemKind, Record, RelayNote};

/// Most records one relay request may carry (Amplitude's own batch limit).
pub const MAX_RECORDS: usize = 2000;

/// The relay's state in the tap: the plan's mappings and the outbox.
pub struct Relay {
    pub plan: std::sync::Arc<Plan>,
    pub outbox: super::outbox::Outbox,
    /// The plan's throttle rules, deciding for each event.
    pub throttle: std::sync::Mutex<crate::relay::Throttle>,
}

/// Whether the plan maps anything (then the tap relays).
pub fn relays(plan: &Plan) -> bool {
    plan.events.values().any(|e| e.relay.is_some())
}

/// The records of a body: one object, an array of them, or JSON Lines;
/// each with its text as sent.
pub fn split(body: &[u8]) -> Result<Vec<Box<RawValue>>, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8 text".to_owned())?;
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(
            "the body is empty: send a JSON object, an array of them, or JSON Lines".into(),
        );
    }
    if trimmed.starts_with('[') {
        return serde_json::from_str::<Vec<Box<RawValue>>>(text)
            .map_err(|e| format!("the body is not a JSON array of records: {e}"));
    }
    if let Ok(one) = serde_json::from_str::<Box<RawValue>>(text) {
        return Ok(vec![one]);
    }
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, line)| {
            RawValue::from_string(line.trim().to_owned())
                .map_err(|e| format!("line {} is not JSON ({e}): send a JSON object, an array of them, or JSON Lines", n + 1))
        })
        .collect()
}

/// Handles one relay request whose body has arrived; `template` is its
/// record as received (path, client, headers).
pub async fn ingest(tap: &Tap, relay: &Relay, template: Record, body: Bytes) -> Reply {
    let source = template
        .path
        .trim_start_matches("/relay/")
        .trim_matches('/')
        .to_owned();
    let raws = match split(&body) {
        Ok(raws) if raws.len() > MAX_RECORDS => Err(format!(
            "{} records in one request; at most {MAX_RECORDS}",
            raws.len()
        )),
        other => other,
    };
    let raws = match raws {
        Ok(raws) => raws,
        Err(why) => {
            let mut record = template;
            let reason = format!("relay: {why}");
            record.refuse(ProblemKind::Undecodable, reason.clone(), &body);
            let reply = super::proxy::local_error(400, format!("amptap {reason}"));
            tap.stats.undecodable.fetch_add(1, Ordering::Relaxed);
            return super::proxy::close_record(tap, record, reply).await;
        }
    };
    let mut accepted = Vec::new();
    let mut unmappable = Vec::new();
    let mut throttled = Vec::new();
    let mut delayed = Vec::new();
    // Record index → when its event may go (the plan's rate delayed it).
    let mut not_before: Vec<(usize, i64)> = Vec::new();
    let now_ms = template.received_ms();
    let mut records = Vec::with_capacity(raws.len());
    for (i, raw) in raws.iter().enumerate() {
        let mut record = template.clone();
        let value: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
        match crate::relay::map(&relay.plan, &value) {
            Ok(mut mapped) => {
                let event = Value::Object(mapped.event);
                let actor = event["user_id"].as_str().or(event["device_id"].as_str());
                let decision = relay
                    .throttle
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .decide(&relay.plan, &mapped.event_type, actor, now_ms);
                match &decision {
                    crate::relay::Decision::Pass => accepted.push(event["insert_id"].clone()),
                    crate::relay::Decision::Delay { until_ms, why } => {
                        accepted.push(event["insert_id"].clone());
                        delayed.push(json!({"index": i, "until_ms": until_ms, "reason": why}));
                    }
                    crate::relay::Decision::Drop(why) => {
                        throttled.push(json!({"index": i, "reason": why}));
                    }
                }
                let text = event.to_string();
                match RawValue::from_string(text) {
                    Ok(raw_event) => record.events = vec![Event::from_raw(raw_event, Dialect::V2)],
                    Err(e) => tracing::error!("relay: an event that is not JSON: {e}"),
                }
                record.body_bytes = raw.get().len();
                record.delivery = match decision {
                    crate::relay::Decision::Pass => Delivery::Queued,
                    crate::relay::Decision::Delay { until_ms, why } => {
                        not_before.push((records.len(), until_ms));
                        mapped.coerced.push(format!("delayed: {why}"));
                        Delivery::Queued
                    }
                    // Kept and shown, not sent: the rule that held it back says why.
                    crate::relay::Decision::Drop(reason) => Delivery::Refused { reason },
                };
                record.relay = Some(RelayNote {
                    source: source.clone(),
                    record: raw.get().to_owned(),
                    coerced: mapped.coerced,
                    findings: mapped.findings,
                });
            }
            Err(unmapped) => {
                let why = unmapped.finding.actual.unwrap_or_default();
                unmappable.push(json!({"index": i, "error": why}));
                record.refuse(ProblemKind::Unmappable, why.clone(), raw.get().as_bytes());
                record.delivery = Delivery::Refused { reason: why };
                record.relay = Some(RelayNote {
                    source: source.clone(),
                    record: raw.get().to_owned(),
                    coerced: Vec::new(),
                    findings: Vec::new(),
                });
            }
        }
        records.push(record);
    }
    let reply = super::offline::json_reply(
        202,
        &json!({
            "code": 202,
            "accepted": accepted.len(),
            "insert_ids": accepted,
            "unmappable": unmappable,
            "throttled": throttled,
            "delayed": delayed,
        }),
    );
    tap.stats
        .events
        .fetch_add(accepted.len() as u64, Ordering::Relaxed);
    let stats = &relay.outbox.stats;
    stats
        .throttled
        .fetch_add(throttled.len() as u64, Ordering::Relaxed);
    stats
        .delayed
        .fetch_add(delayed.len() as u64, Ordering::Relaxed);
    for (n, mut record) in records.into_iter().enumerate() {
        record.answer = reply.answer();
        let not_before_ms = not_before.iter().find(|(i, _)| *i == n).map(|(_, ms)| *ms);
        let event = (record.delivery == Delivery::Queued)
            .then(|| record.events.first().map(|e| e.raw().get().to_owned()))
            .flatten();
        match super::proxy::journal_record(tap, record).await {
            // On disk first, then queued: what the outbox sends is kept.
            Ok(seq) => {
                if let Some(event) = event {
                    relay.outbox.push(super::outbox::Pending {
                        seq,
                        event,
                        not_before_ms,
                    });
                }
            }
            Err(why) => {
                // What was written before stays; the sender retries the whole
                // body and the stable insert ids keep Amplitude from doubling.
                return super::proxy::local_error(
                    503,
                    format!("amptap could not keep this request ({why}); retry later"),
                );
            }
        }
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn bodies_split_into_records_as_sent() {
        let one = split(br#" {"event":"a"} "#).expect("one");
        assert_eq!(one.len(), 1);
        let many = split(br#"[{"event":"a"}, {"event":"b"}]"#).expect("array");
        assert_eq!(many[1].get(), r#"{"event":"b"}"#);
        let lines = split(b"{\"event\":\"a\"}\n\n{\"event\":\"b\"}\n").expect("lines");
        assert_eq!(lines.len(), 2);
        let bad = split(b"{\"event\":\"a\"}\n{broken\n").expect_err("line 2");
        assert!(bad.contains("line 2"), "{bad}");
        assert!(split(b"").is_err() && split(&[0xff, 0xfe]).is_err());
    }
}
