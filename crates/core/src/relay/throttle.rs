//! The plan's throttle rules for relayed events (the guide's §4.3): a
//! debounce window per user (or device) and event type, and
//! `max_per_minute`. Each event gets a decision that is counted and shown:
//! it passes; over the rate it is delayed until the minute has room (held
//! back when that is more than ten minutes away); a repeat inside the
//! debounce window is dropped.

use std::collections::{HashMap, VecDeque};

use crate::plan::Plan;

const MINUTE_MS: i64 = 60_000;
/// Keys remembered before old ones are forgotten: a flood of new users
/// cannot grow this without bound.
const MAX_KEYS: usize = 100_000;
/// Longer than this in the rate's queue and an event is held back instead.
const MAX_DELAY_MS: i64 = 10 * MINUTE_MS;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Pass,
    /// Sent at `until_ms` (ms since the epoch), when the rate has room.
    Delay {
        until_ms: i64,
        why: String,
    },
    /// Not sent: why, in words.
    Drop(String),
}

#[derive(Debug, Default)]
pub struct Throttle {
    /// (event type, user or device) → what the rules remember of it.
    recent: HashMap<(String, String), Seen>,
}

#[derive(Debug, Default)]
struct Seen {
    /// When its events go (received, or later when delayed), the last minute's.
    slots: VecDeque<i64>,
    /// When the last one was received (for the debounce).
    last: Option<i64>,
}

impl Throttle {
    /// Decides for one event of `event_type` from `actor` received at `now_ms`.
    pub fn decide(
        &mut self,
        plan: &Plan,
        event_type: &str,
        actor: Option<&str>,
        now_ms: i64,
    ) -> Decision {
        let Some(spec) = plan.events.get(event_type) else {
            return Decision::Pass;
        };
        let debounce = spec.relay.as_ref().and_then(|r| r.debounce_ms);
        if debounce.is_none() && spec.max_per_minute.is_none() {
            return Decision::Pass;
        }
        let Some(actor) = actor else {
            return Decision::Pass;
        };
        if self.recent.len() >= MAX_KEYS {
            self.recent
                .retain(|_, seen| seen.last.is_some_and(|t| now_ms - t < MINUTE_MS));
        }
        let seen = self
            .recent
            .entry((event_type.to_owned(), actor.to_owned()))
            .or_default();
        let previous = seen.last.replace(now_ms);
        if let (Some(window), Some(last)) = (debounce, previous) {
            let since = now_ms - last;
            if since < window as i64 {
                return Decision::Drop(format!(
                    "debounced: {event_type} from {actor} {since} ms after the last (debounce_ms = {window})"
                ));
            }
        }
        let times = &mut seen.slots;
        while times.front().is_some_and(|t| now_ms - t >= MINUTE_MS) {
            times.pop_front();
        }
        // Times here include slots given to delayed events (in the future):
        // the next event goes a minute after the max-th last one.
        let slot = match spec.max_per_minute.map(|m| m as usize) {
            Some(0) => {
                return Decision::Drop(format!("max_per_minute = 0: {event_type} is never sent"))
            }
            Some(max) if times.len() >= max => times[times.len() - max] + MINUTE_MS,
            _ => now_ms,
        }
        .max(now_ms);
        if slot - now_ms > MAX_DELAY_MS {
            return Decision::Drop(format!(
                "over max_per_minute = {}: {event_type} from {actor} has more than 10 minutes queued",
                spec.max_per_minute.unwrap_or_default()
            ));
        }
        times.push_back(slot);
        match slot > now_ms {
            true => Decision::Delay {
                until_ms: slot,
                why: format!(
                    "over max_per_minute = {}: {event_type} from {actor} waits {} ms",
                    spec.max_per_minute.unwrap_or_default(),
                    slot - now_ms
                ),
            },
            false => Decision::Pass,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::parse_toml;

    #[test]
    fn debounce_and_rate_decide_per_user_and_type() {
        let plan = parse_toml(
            "[events.clicked]\nmax_per_minute = 3\n[events.clicked.relay]\nfrom = \"Click\"\ndebounce_ms = 500\n[events.free.relay]\nfrom = \"Free\"\n",
            "p.toml",
        )
        .expect("plan");
        let mut t = Throttle::default();
        assert_eq!(t.decide(&plan, "clicked", Some("u1"), 0), Decision::Pass);
        let debounced = t.decide(&plan, "clicked", Some("u1"), 200);
        assert!(
            matches!(&debounced, Decision::Drop(why) if why.starts_with("debounced")),
            "{debounced:?}"
        );
        assert_eq!(
            t.decide(&plan, "clicked", Some("u2"), 200),
            Decision::Pass,
            "per user"
        );
        assert_eq!(
            t.decide(&plan, "clicked", Some("u1"), 1_000),
            Decision::Pass
        );
        assert_eq!(
            t.decide(&plan, "clicked", Some("u1"), 2_000),
            Decision::Pass
        );
        // The fourth in a minute waits for the first to be a minute old.
        let fourth = t.decide(&plan, "clicked", Some("u1"), 3_000);
        assert!(
            matches!(&fourth, Decision::Delay { until_ms: 60_000, why } if why.contains("max_per_minute = 3")),
            "{fourth:?}"
        );
        let fifth = t.decide(&plan, "clicked", Some("u1"), 4_000);
        assert!(
            matches!(
                fifth,
                Decision::Delay {
                    until_ms: 61_000,
                    ..
                }
            ),
            "{fifth:?}"
        );
        // Ten minutes of queue at most; then held back.
        let mut last = Decision::Pass;
        for i in 0..40 {
            last = t.decide(&plan, "clicked", Some("u1"), 5_000 + i * 600);
        }
        assert!(
            matches!(&last, Decision::Drop(why) if why.contains("10 minutes")),
            "{last:?}"
        );
        let mut fresh = Throttle::default();
        assert_eq!(
            fresh.decide(&plan, "clicked", Some("u1"), 0),
            Decision::Pass
        );
        assert_eq!(
            fresh.decide(&plan, "clicked", Some("u1"), 61_000),
            Decision::Pass,
            "a minute later"
        );
        for i in 0..10 {
            assert_eq!(
                t.decide(&plan, "free", Some("u1"), i),
                Decision::Pass,
                "no rule, no limit"
            );
        }
    }
}
