//! Reading what Amplitude and the journal said: the events a 400 or a 429
//! names, and what an earlier run left unsent.

use std::collections::BTreeSet;

use serde_json::Value;

use super::Pending;
use crate::record::line::Line;
use crate::record::{Delivery, Marker};

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
/// `relay_dropped` marker, in journal order. Runs at start-up over the
/// whole journal, so only the lines that can matter are parsed: a journal of
/// SDK traffic is read at disk speed, not at JSON-parsing speed.
pub fn pending_in(path: &std::path::Path) -> Vec<Pending> {
    use std::io::BufRead;
    let Ok(file) = std::fs::File::open(path) else {
        return Vec::new();
    };
    let mut input = std::io::BufReader::with_capacity(256 * 1024, file);
    let mut line = Vec::new();
    let mut queued: Vec<Pending> = Vec::new();
    let mut settled = BTreeSet::new();
    let relevant = |l: &[u8]| {
        [&b"\"kind\":\"queued\""[..], b"\"marker\":\"relay"]
            .iter()
            .any(|needle| l.windows(needle.len()).any(|w| w == *needle))
    };
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) if !relevant(&line) => continue,
            Ok(_) => {}
        }
        match crate::record::line::parse_line(&line) {
            Ok(Line::Record(r)) if r.delivery == Delivery::Queued => {
                // A delay does not outlive the run: what is left goes now.
                queued.extend(r.events.first().map(|e| Pending {
                    seq: r.seq,
                    event: e.raw().get().to_owned(),
                    not_before_ms: None,
                }));
            }
            Ok(Line::Marker(m))
                if m.marker == Marker::RELAYED || m.marker == Marker::RELAY_DROPPED =>
            {
                settled.extend(m.seqs);
            }
            _ => {}
        }
    }
    queued.retain(|p| !settled.contains(&p.seq));
    queued
}
