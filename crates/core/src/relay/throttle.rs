//! The plan's throttle rules for relayed events (the guide's §4.3): a
//! debounce window per user (or device) and event type, and
//! `max_per_minute`. Each event gets a decision that is counted and shown:
//! it passes, or it is dropped with the rule that dropped it.

use std::collections::{HashMap, VecDeque};

use crate::plan::Plan;

const MINUTE_MS: i64 = 60_000;
/// Keys remembered before old ones are forgotten: a flood of new users
/// cannot grow this without bound.
const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Pass,
    /// Not sent: why, in words.
    Drop(String),
}

#[derive(Debug, Default)]
pub struct Throttle {
    /// (event type, user or device) → receive times in the last minute.
    recent: HashMap<(String, String), VecDeque<i64>>,
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
                .retain(|_, times| times.back().is_some_and(|t| now_ms - t < MINUTE_MS));
        }
        let times = self
            .recent
            .entry((event_type.to_owned(), actor.to_owned()))
            .or_default();
        while times.front().is_some_and(|t| now_ms - t >= MINUTE_MS) {
            times.pop_front();
        }
        if let (Some(window), Some(&last)) = (debounce, times.back()) {
            let since = now_ms - last;
            if since < window as i64 {
                return Decision::Drop(format!(
                    "debounced: {event_type} from {actor} {since} ms after the last (debounce_ms = {window})"
                ));
            }
        }
        if let Some(max) = spec.max_per_minute {
            if times.len() >= max as usize {
                return Decision::Drop(format!(
                    "over max_per_minute = {max}: {event_type} from {actor}"
                ));
            }
        }
        times.push_back(now_ms);
        Decision::Pass
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
        assert!(
            matches!(t.decide(&plan, "clicked", Some("u1"), 200), Decision::Drop(why) if why.starts_with("debounced"))
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
        assert!(
            matches!(t.decide(&plan, "clicked", Some("u1"), 3_000), Decision::Drop(why) if why.contains("max_per_minute = 3"))
        );
        assert_eq!(
            t.decide(&plan, "clicked", Some("u1"), 61_000),
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
