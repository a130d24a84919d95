//! What waits to be sent: batches within Amplitude's limits, and events the
//! plan's rate delayed until their time.

use std::collections::VecDeque;
use std::time::Duration;

use super::{MAX_BYTES, MAX_EVENTS};

/// One journaled event waiting to be sent.
#[derive(Debug, Clone)]
pub struct Pending {
    /// Its relay record's journal seq.
    pub seq: u64,
    /// The event's JSON.
    pub event: String,
    /// Not before this (ms since the epoch): the plan's rate delayed it.
    pub not_before_ms: Option<i64>,
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// How long from now until `ms` (ms since the epoch).
pub(super) fn until(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms - now_ms()).unwrap_or(0))
}

pub(super) async fn sleep_until(wake: Option<tokio::time::Instant>) {
    match wake {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Into the queue now, or to wait for its time.
pub(super) fn park(p: Pending, waiting: &mut Vec<Pending>, queue: &mut VecDeque<Pending>) {
    match p.not_before_ms {
        Some(ms) if ms > now_ms() => waiting.push(p),
        _ => queue.push_back(p),
    }
}

/// Moves what is due from `waiting` to the queue, in time order.
pub(super) fn due(waiting: &mut Vec<Pending>, queue: &mut VecDeque<Pending>) {
    let now = now_ms();
    waiting.sort_by_key(|p| p.not_before_ms);
    let ready = waiting.partition_point(|p| p.not_before_ms.is_none_or(|ms| ms <= now));
    queue.extend(waiting.drain(..ready));
}

/// The first events of `queue` that fit one request.
pub(super) fn take_batch(queue: &mut VecDeque<Pending>) -> Vec<Pending> {
    let mut batch = Vec::new();
    let mut bytes = 0;
    while let Some(next) = queue.front() {
        let full = batch.len() >= MAX_EVENTS || bytes + next.event.len() > MAX_BYTES;
        if full && !batch.is_empty() {
            break;
        }
        bytes += next.event.len() + 1;
        batch.extend(queue.pop_front());
    }
    batch
}

#[cfg(test)]
mod tests {
    use super::super::answers::{indices, named_events};
    use super::*;

    #[test]
    fn batches_stay_within_amplitudes_limits_and_400s_name_events() {
        let mut queue: VecDeque<Pending> = (0..4500)
            .map(|i| Pending {
                seq: i,
                event: "{}".into(),
                not_before_ms: None,
            })
            .collect();
        assert_eq!(take_batch(&mut queue).len(), 2000);
        let big = "x".repeat(400_000);
        let mut queue: VecDeque<Pending> = (0..5)
            .map(|i| Pending {
                seq: i,
                event: big.clone(),
                not_before_ms: None,
            })
            .collect();
        assert_eq!(take_batch(&mut queue).len(), 2, "1 MB a request");
        let body = r#"{"code":400,"error":"Request missing required field","events_with_invalid_fields":{"time":[3,5]},"events_with_missing_fields":{"event_type":[0]}}"#;
        assert_eq!(named_events(body), [0, 3, 5].into());
        assert!(named_events(r#"{"code":400,"error":"Invalid API key"}"#).is_empty());
        let throttled = r#"{"code":429,"throttled_users":{"u1":12},"throttled_events":[1,2]}"#;
        assert_eq!(indices(throttled, &["throttled_events"]), [1, 2].into());
    }

    #[test]
    fn delayed_events_wait_for_their_time_then_go_in_order() {
        let at = |seq, not_before_ms| Pending {
            seq,
            event: "{}".into(),
            not_before_ms,
        };
        let (mut waiting, mut queue) = (Vec::new(), VecDeque::new());
        let now = now_ms();
        park(at(1, None), &mut waiting, &mut queue);
        park(at(2, Some(now + 60_000)), &mut waiting, &mut queue);
        park(at(3, Some(now - 1)), &mut waiting, &mut queue);
        park(at(4, Some(now + 30_000)), &mut waiting, &mut queue);
        assert_eq!(queue.iter().map(|p| p.seq).collect::<Vec<_>>(), [1, 3]);
        due(&mut waiting, &mut queue);
        assert_eq!(waiting.len(), 2, "not yet");
        for p in &mut waiting {
            p.not_before_ms = p.not_before_ms.map(|ms| ms - 120_000);
        }
        due(&mut waiting, &mut queue);
        assert!(waiting.is_empty());
        assert_eq!(
            queue.iter().map(|p| p.seq).collect::<Vec<_>>(),
            [1, 3, 4, 2],
            "in time order"
        );
        assert!(until(now - 5).is_zero() && until(now + 60_000) > Duration::from_secs(50));
    }
}
