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

use super::proxy::local_error;
use super::{Reply, Tap};
use crate::event::{Dialect, Event};
use crate::plan::Plan;
use crate::record::{Delivery, ProblemKind, Record, RelayNote};
use crate::relay::Decision;

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

/// `/relay/SOURCE` once its body has arrived: refused unless the plan relays,
/// it is a POST and the body is plain; else [`ingest`].
pub async fn request(tap: &Tap, method: &http::Method, mut record: Record, body: Bytes) -> Reply {
    let path = record.path.clone();
    let refusal = match &tap.relay {
        None => Some((
            ProblemKind::WrongPath,
            404,
            format!("no relay at {path}: no event type in the plan has a [relay] table (amptap serve --plan PLAN)"),
        )),
        Some(_) if method != http::Method::POST => Some((
            ProblemKind::WrongMethod,
            405,
            format!("{path} takes POST, not {method}"),
        )),
        Some(_) if record.content_encoding.is_some() => Some((
            ProblemKind::Undecodable,
            415,
            "the relay takes plain JSON: send it without Content-Encoding".to_owned(),
        )),
        Some(_) => None,
    };
    match (refusal, &tap.relay) {
        (None, Some(relay)) => ingest(tap, relay, record, body).await,
        (refusal, _) => {
            let (kind, status, reason) =
                refusal.unwrap_or((ProblemKind::WrongPath, 404, "no relay".into()));
            record.refuse(kind, reason.clone(), &body);
            super::proxy::refused(
                tap,
                record,
                local_error(status, format!("amptap: {reason}")),
            )
            .await
        }
    }
}

/// What became of one record, for the 202's lists and the outbox.
enum Outcome {
    /// Queued, now or (delayed by the plan's rate) not before a time, and why.
    Accepted {
        insert_id: Value,
        delay: Option<(i64, String)>,
    },
    /// Held back by a throttle rule, or mapped to nothing: why.
    Throttled(String),
    Unmappable(String),
}

/// Maps, throttles and journals each record of the body; answers 202 with
/// what became of each, once all are on disk.
async fn ingest(tap: &Tap, relay: &Relay, template: Record, body: Bytes) -> Reply {
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
            let reply = local_error(400, format!("amptap {reason}"));
            return super::proxy::refused(tap, record, reply).await;
        }
    };
    let made: Vec<(Record, Outcome)> = raws.iter().map(|raw| make(relay, &template, raw)).collect();
    let reply = answer(&made);
    let stats = &relay.outbox.stats;
    for (_, outcome) in &made {
        let counters: &[&std::sync::atomic::AtomicU64] = match outcome {
            Outcome::Accepted { delay: None, .. } => &[&tap.stats.events],
            Outcome::Accepted { .. } => &[&tap.stats.events, &stats.delayed],
            Outcome::Throttled(_) => &[&stats.throttled],
            Outcome::Unmappable(_) => &[],
        };
        for counter in counters {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }
    for (mut record, outcome) in made {
        record.answer = reply.answer();
        let event = record.events.first().map(|e| e.raw().get().to_owned());
        // On disk first, then queued: what the outbox sends is kept. What was
        // written before a failure stays; the sender retries the whole body
        // and the stable insert ids keep Amplitude from doubling.
        let seq = match super::proxy::journal(tap, record).await {
            Ok(seq) => seq,
            Err(why) => return super::proxy::unkept(&why),
        };
        if let (Outcome::Accepted { delay, .. }, Some(event)) = (outcome, event) {
            relay.outbox.push(super::outbox::Pending {
                seq,
                event,
                not_before_ms: delay.map(|(until_ms, _)| until_ms),
            });
        }
    }
    reply
}

/// One record of the body made into its journal record.
fn make(relay: &Relay, template: &Record, raw: &RawValue) -> (Record, Outcome) {
    let mut record = template.clone();
    let source = template
        .path
        .trim_start_matches("/relay/")
        .trim_matches('/');
    let value: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
    let mut note = RelayNote {
        source: source.to_owned(),
        record: raw.get().to_owned(),
        coerced: Vec::new(),
        findings: Vec::new(),
    };
    let mapped = match crate::relay::map(&relay.plan, &value) {
        Ok(mapped) => mapped,
        Err(unmapped) => {
            let why = unmapped.finding.actual.unwrap_or_default();
            record.refuse(ProblemKind::Unmappable, why.clone(), raw.get().as_bytes());
            record.delivery = Delivery::Refused {
                reason: why.clone(),
            };
            record.relay = Some(note);
            return (record, Outcome::Unmappable(why));
        }
    };
    let event = Value::Object(mapped.event);
    let actor = event["user_id"].as_str().or(event["device_id"].as_str());
    let decision = relay
        .throttle
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .decide(
            &relay.plan,
            &mapped.event_type,
            actor,
            template.received_ms(),
        );
    note.coerced = mapped.coerced;
    note.findings = mapped.findings;
    let insert_id = event["insert_id"].clone();
    let outcome = match decision {
        Decision::Pass => Outcome::Accepted {
            insert_id,
            delay: None,
        },
        Decision::Delay { until_ms, why } => {
            note.coerced.push(format!("delayed: {why}"));
            Outcome::Accepted {
                insert_id,
                delay: Some((until_ms, why)),
            }
        }
        Decision::Drop(why) => Outcome::Throttled(why),
    };
    record.delivery = match &outcome {
        Outcome::Accepted { .. } => Delivery::Queued,
        // Kept and shown, not sent: the rule that held it back says why.
        Outcome::Throttled(why) | Outcome::Unmappable(why) => Delivery::Refused {
            reason: why.clone(),
        },
    };
    match RawValue::from_string(event.to_string()) {
        Ok(raw_event) => record.events = vec![Event::from_raw(raw_event, Dialect::V2)],
        Err(e) => tracing::error!("relay: an event that is not JSON: {e}"),
    }
    record.body_bytes = raw.get().len();
    record.relay = Some(note);
    (record, outcome)
}

/// The 202: the insert ids accepted, and by index what was delayed, held
/// back or not mapped.
fn answer(made: &[(Record, Outcome)]) -> Reply {
    let (mut accepted, mut delayed, mut throttled, mut unmappable) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (i, (_, outcome)) in made.iter().enumerate() {
        match outcome {
            Outcome::Accepted { insert_id, delay } => {
                accepted.push(insert_id.clone());
                if let Some((until_ms, why)) = delay {
                    delayed.push(json!({"index": i, "until_ms": until_ms, "reason": why}));
                }
            }
            Outcome::Throttled(why) => throttled.push(json!({"index": i, "reason": why})),
            Outcome::Unmappable(why) => unmappable.push(json!({"index": i, "error": why})),
        }
    }
    super::offline::json_reply(
        202,
        &json!({
            "code": 202,
            "accepted": accepted.len(),
            "insert_ids": accepted,
            "unmappable": unmappable,
            "throttled": throttled,
            "delayed": delayed,
        }),
    )
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
