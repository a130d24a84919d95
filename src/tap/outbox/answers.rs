//! Reading what Amplitude and the journal said: the events a 400 or a 429
//! names, and what an earlier run left unsent.

use std::collections::BTreeSet;

use serde_json::Value;

use super::Pending;
use crate::record::Delivery;

/// The events a 400 names by index: `events_with_invalid_fields` and its kin.
pub(super) fn named_events(body: &str) -> BTreeSet<usize> {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return BTreeSet::new();
    };
    [
        "events_with_invalid_fields",
        "events_with_missing_fields",
        "events_with_invalid_id_lengths",
    ]
    .iter()
    .filter_map(|k| v.get(*k)?.as_object())
    .flat_map(|fields| fields.values())
    .filter_map(Value::as_array)
    .flatten()
    .filter_map(Value::as_u64)
    .map(|i| i as usize)
    .collect()
}

/// Indices listed under `keys` (`throttled_events`: `[3, 4]`).
pub(super) fn indices(body: &str, keys: &[&str]) -> BTreeSet<usize> {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return BTreeSet::new();
    };
    keys.iter()
        .filter_map(|k| v.get(*k)?.as_array())
        .flatten()
        .filter_map(Value::as_u64)
        .map(|i| i as usize)
        .collect()
}

/// What an earlier run left unsent: relay records without a `relayed` or
/// `relay_dropped` marker, in journal order.
pub fn pending_in(path: &std::path::Path) -> Vec<Pending> {
    let Ok(mut reader) = crate::journal::open_reader(path) else {
        return Vec::new();
    };
    let mut queued: Vec<Pending> = Vec::new();
    let mut settled = BTreeSet::new();
    while let Some(line) = reader.next_line() {
        match line.line {
            crate::record::line::Line::Record(r) if r.delivery == Delivery::Queued => {
                // A delay does not outlive the run: what is left goes now.
                queued.extend(r.events.first().map(|e| Pending {
                    seq: r.seq,
                    event: e.raw().get().to_owned(),
                    not_before_ms: None,
                }));
            }
            crate::record::line::Line::Marker(m)
                if m.marker == "relayed" || m.marker == "relay_dropped" =>
            {
                settled.extend(m.seqs);
            }
            _ => {}
        }
    }
    queued.retain(|p| !settled.contains(&p.seq));
    queued
}
