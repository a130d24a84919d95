//! Ordering the stream by a column: a key per row, worked out from what the
//! store keeps (names ranked once per distinct value, not compared per row),
//! then one sort of a million `u64`s.

use rustc_hash::FxHashMap;

use super::{RowRef, Store, Sym};
use crate::filter::Status;

/// The columns the stream sorts by (arrival order is no key: the default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    EventType,
    Who,
    /// Errors first, then warnings, most findings first.
    Check,
    /// Failures and refusals first: the highest status first.
    Answer,
    EventTime,
}

impl SortKey {
    /// Arrival → event type → user → check → answer → event time → arrival.
    pub fn after(current: Option<SortKey>) -> Option<SortKey> {
        match current {
            None => Some(SortKey::EventType),
            Some(SortKey::EventType) => Some(SortKey::Who),
            Some(SortKey::Who) => Some(SortKey::Check),
            Some(SortKey::Check) => Some(SortKey::Answer),
            Some(SortKey::Answer) => Some(SortKey::EventTime),
            Some(SortKey::EventTime) => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SortKey::EventType => "event type",
            SortKey::Who => "user / device",
            SortKey::Check => "check (errors first)",
            SortKey::Answer => "answer (failures first)",
            SortKey::EventTime => "event time",
        }
    }
}

/// `ids` in `key` order, arrival order among equals.
pub fn sorted(store: &Store, ids: impl Iterator<Item = u64>, key: SortKey) -> Vec<u64> {
    let rows: Vec<RowRef<'_>> = ids.filter_map(|id| store.get(id)).collect();
    let mut ranks = Ranks::default();
    let mut keyed: Vec<(u64, u64)> = rows
        .iter()
        .map(|r| {
            let k = match key {
                SortKey::EventType => ranks.of(r.row.event_type),
                SortKey::Who => {
                    let sym = if r.user().is_some() {
                        r.row.user
                    } else {
                        r.row.device
                    };
                    ranks.of(sym)
                }
                SortKey::Check => {
                    let worst = match r.row.status {
                        Status::Error => 0u64,
                        Status::Warning => 1,
                        Status::Ok => 2,
                    };
                    (worst << 32) | u64::from(u32::MAX - r.findings().len() as u32)
                }
                SortKey::Answer => {
                    let failed = u64::from(!r.request.failed);
                    (failed << 32) | u64::from(u16::MAX - r.request.status)
                }
                // Events without a time go last.
                SortKey::EventTime => r.event_time().map_or(u64::MAX, |t| (t as u64) ^ (1 << 63)),
            };
            (k, r.id)
        })
        .collect();
    // Names are ranked lazily below: finish the ranks, then map them.
    if matches!(key, SortKey::EventType | SortKey::Who) {
        let order = ranks.finish(store);
        for (k, _) in &mut keyed {
            *k = order.get(k).copied().unwrap_or(u64::MAX);
        }
    }
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, id)| id).collect()
}

/// Distinct names seen, each given a provisional number, then ranked by
/// the name itself (any case) once all are known.
#[derive(Default)]
struct Ranks {
    provisional: FxHashMap<Sym, u64>,
}

impl Ranks {
    fn of(&mut self, sym: Sym) -> u64 {
        let next = self.provisional.len() as u64;
        *self.provisional.entry(sym).or_insert(next)
    }

    /// Provisional number → rank by name; a row without the name goes last.
    fn finish(self, store: &Store) -> FxHashMap<u64, u64> {
        let mut named: Vec<(Option<String>, u64)> = self
            .provisional
            .into_iter()
            .map(|(sym, n)| (store.string(sym).map(str::to_lowercase), n))
            .collect();
        // By name, rows without one last.
        named.sort_by(|a, b| (a.0.is_none(), &a.0).cmp(&(b.0.is_none(), &b.0)));
        // Names equal but for case share a rank: arrival order decides.
        let mut ranks = FxHashMap::default();
        let mut rank = 0u64;
        for (i, (name, n)) in named.iter().enumerate() {
            if i > 0 && named[i - 1].0 != *name {
                rank += 1;
            }
            ranks.insert(*n, rank);
        }
        ranks
    }
}
