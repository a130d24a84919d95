//! A window over the store: filter, follow, pause and a focus that follows
//! an event (by id), not a row number.
//!
//! New rows are matched as they arrive. A new filter never blocks: it
//! starts a *job* that walks the store from the newest row down, a slice at
//! a time ([`View::work`]), so the screen shows the newest matches at once
//! and the rest as they are found. When the filter reads the events' JSON,
//! whoever owns the journal reads their lines ([`BodyScan`]) and hands the
//! verdicts back ([`View::take_bodies`]); the job waits for them, in order.
//! A newer filter replaces the job (its generation tells late answers).

use std::collections::VecDeque;
use std::ops::Range;

use rustc_hash::FxHashMap;

use super::matcher::body_verdicts;
mod rows;

use super::sort::{sorted, SortKey};
use super::{load_record, Lines, Matcher, Store};
use crate::filter::{ColumnVerdict, Filter, Status};
use crate::judge::Judged;
use crate::record::LineAt;

#[derive(Debug, Default)]
pub struct View {
    matcher: Matcher,
    /// Ids of matching rows, ascending.
    matches: VecDeque<u64>,
    job: Option<Job>,
    generation: u64,
    /// Follow the tail: focus the newest match as it arrives.
    pub follow: bool,
    /// While paused, arrivals are counted but not shown.
    paused_at: Option<u64>,
    arrived_while_paused: u64,
    focus: Option<u64>,
    /// First visible row (kept by `keep_visible`).
    offset: usize,
    /// The column the rows are sorted by, and the ids in that order (new
    /// arrivals at the end until the next sort); `None`: arrival order.
    sort: Option<SortKey>,
    order: Option<Vec<u64>>,
}

#[derive(Debug)]
struct Job {
    /// Rows below this id are still to be looked at (newest first).
    next: u64,
    start: u64,
    /// Verdicts of the filter's body half by request number.
    bodies: FxHashMap<u64, Vec<u64>>,
}

/// Journal lines a filter needs read: the requests still held, newest
/// first; answer with [`View::take_bodies`] and the same generation.
#[derive(Debug, Clone)]
pub struct BodyScan {
    pub generation: u64,
    pub filter: Filter,
    /// Request number, request seq and where its line is.
    pub requests: Vec<(u64, u64, LineAt)>,
}

impl BodyScan {
    /// Reads `requests` (a slice of [`BodyScan::requests`]) and judges
    /// their events with the filter's body half; a line that cannot be
    /// read matches nothing.
    pub fn verdicts(
        &self,
        lines: &dyn Lines,
        requests: &[(u64, u64, LineAt)],
    ) -> Vec<(u64, Vec<u64>)> {
        requests
            .iter()
            .map(|&(number, seq, at)| {
                let found = load_record(lines, Some(at), seq)
                    .map(|record| body_verdicts(&self.filter, &record))
                    .unwrap_or_default();
                (number, found)
            })
            .collect()
    }
}

/// Where a running filter job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub done: u64,
    pub total: u64,
}

impl View {
    pub fn new() -> Self {
        View {
            follow: true,
            ..View::default()
        }
    }

    pub fn filter(&self) -> &Filter {
        self.matcher.filter()
    }

    pub fn only_problems(&self) -> bool {
        self.matcher.only_problems()
    }

    /// Sets the filter and starts looking; focus stays on its event if it
    /// still matches. Returns the journal lines to read, if the filter needs them.
    pub fn set_filter(&mut self, filter: Filter, store: &Store) -> Option<BodyScan> {
        self.matcher = Matcher::new(filter, self.matcher.only_problems());
        self.restart(store)
    }

    pub fn toggle_only_problems(&mut self, store: &Store) -> Option<BodyScan> {
        let filter = self.matcher.filter().clone();
        let on = !self.matcher.only_problems();
        self.matcher = Matcher::new(filter, on);
        if on && self.job.is_none() {
            // A narrowing of what is shown: no need to look at the store again.
            self.generation += 1;
            self.matches
                .retain(|&id| store.get(id).is_some_and(|r| r.row.status != Status::Ok));
            self.resort(store);
            self.refocus();
            return None;
        }
        self.restart(store)
    }

    fn restart(&mut self, store: &Store) -> Option<BodyScan> {
        self.generation += 1;
        self.matches.clear();
        self.order = None; // sorted again when the job is done
        let start = self
            .paused_at
            .unwrap_or(store.next_id())
            .min(store.next_id());
        self.job = Some(Job {
            next: start,
            start,
            bodies: FxHashMap::default(),
        });
        // Small stores are done at once; big ones go on in `work`.
        self.work(store, 4096);
        if !self.matcher.needs_body() {
            return None;
        }
        let requests = store
            .requests_newest_first()
            .filter(|(_, r)| r.first_row < start)
            .filter_map(|(n, r)| Some((n, r.seq, r.at?)))
            .collect();
        Some(BodyScan {
            generation: self.generation,
            filter: self.matcher.filter().clone(),
            requests,
        })
    }

    /// Verdicts read from the journal for the job of `generation`.
    pub fn take_bodies(&mut self, generation: u64, verdicts: Vec<(u64, Vec<u64>)>) {
        if generation != self.generation {
            return;
        }
        if let Some(job) = &mut self.job {
            job.bodies.extend(verdicts);
        }
    }

    /// Looks at up to `budget` more rows of a running job; returns whether
    /// it still runs (it may be waiting for journal lines).
    pub fn work(&mut self, store: &Store, budget: usize) -> bool {
        let Some(job) = &mut self.job else {
            return false;
        };
        let needs_body = self.matcher.needs_body();
        let first = store.first_id();
        let mut looked = 0;
        while job.next > first && looked < budget {
            let id = job.next - 1;
            let Some(r) = store.get(id) else { break };
            let hit = match self.matcher.columns(store, &r) {
                ColumnVerdict::Match => true,
                ColumnVerdict::NoMatch => false,
                // A row without its line cannot be read back: no match.
                ColumnVerdict::NeedsBody(_) if r.request.at.is_none() => false,
                ColumnVerdict::NeedsBody(known) => {
                    let Some(verdicts) = job.bodies.get(&r.row.request) else {
                        break; // its line has not been read yet
                    };
                    let body = verdicts.get(r.index()).copied().unwrap_or(0);
                    self.matcher.filter().decide(known, body)
                }
            };
            if needs_body && id == r.request.first_row {
                job.bodies.remove(&r.row.request);
            }
            if hit {
                self.matches.push_front(id);
            }
            job.next = id;
            looked += 1;
        }
        let done = job.next <= first;
        if done {
            self.job = None;
            self.resort(store);
        }
        self.refocus();
        !done
    }

    /// How far the running job is, if one runs.
    pub fn progress(&self) -> Option<Progress> {
        let job = self.job.as_ref()?;
        Some(Progress {
            done: job.start - job.next,
            total: job.start,
        })
    }

    /// `judged` was stored as rows `ids`; old rows may have left the store.
    pub fn on_ingest(&mut self, store: &Store, ids: Range<u64>, judged: &Judged) {
        let first = store.first_id();
        while self.matches.front().is_some_and(|&id| id < first) {
            self.matches.pop_front();
        }
        if self.paused_at.is_some() {
            self.arrived_while_paused += ids.end - ids.start;
            return;
        }
        let verdicts = self
            .matcher
            .needs_body()
            .then(|| body_verdicts(self.matcher.filter(), &judged.record));
        for id in ids {
            let Some(r) = store.get(id) else { continue };
            let hit = match self.matcher.columns(store, &r) {
                ColumnVerdict::Match => true,
                ColumnVerdict::NoMatch => false,
                ColumnVerdict::NeedsBody(known) => {
                    let body = verdicts
                        .as_ref()
                        .and_then(|v| v.get(r.index()).copied())
                        .unwrap_or(0);
                    self.matcher.filter().decide(known, body)
                }
            };
            if hit {
                self.arrived(id);
            }
        }
        self.refocus();
    }

    /// Pauses or resumes; resuming looks again at everything (what arrived
    /// meanwhile included).
    pub fn toggle_pause(&mut self, store: &Store) -> Option<BodyScan> {
        match self.paused_at.take() {
            Some(_) => {
                self.arrived_while_paused = 0;
                self.restart(store)
            }
            None => {
                self.paused_at = Some(store.next_id());
                None
            }
        }
    }

    pub fn paused(&self) -> Option<u64> {
        self.paused_at.map(|_| self.arrived_while_paused)
    }
}
