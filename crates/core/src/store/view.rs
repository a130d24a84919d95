//! A window over the store: filter, follow, pause and a focus that follows
//! an event (by id), not a row number. New events are matched as they
//! arrive; only a filter change rescans what the store holds.

use std::collections::VecDeque;
use std::ops::Range;

use super::{Entry, Store};
use crate::filter::{Filter, Status};

#[derive(Debug, Default)]
pub struct View {
    filter: Filter,
    only_problems: bool,
    /// Ids of matching events, ascending.
    matches: VecDeque<u64>,
    /// Follow the tail: focus the newest match as it arrives.
    pub follow: bool,
    /// While paused, arrivals are counted but not shown.
    paused_at: Option<u64>,
    arrived_while_paused: u64,
    focus: Option<u64>,
    /// First visible row (kept by `keep_visible`).
    offset: usize,
}

impl View {
    pub fn new() -> Self {
        View {
            follow: true,
            ..View::default()
        }
    }

    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    pub fn only_problems(&self) -> bool {
        self.only_problems
    }

    fn accepts(&self, e: &Entry) -> bool {
        (!self.only_problems || e.status != Status::Ok) && self.filter.matches(&e.candidate())
    }

    /// Sets the filter and rescans; focus stays on its event if it still matches.
    pub fn set_filter(&mut self, filter: Filter, store: &Store) {
        self.filter = filter;
        self.refilter(store);
    }

    pub fn toggle_only_problems(&mut self, store: &Store) {
        self.only_problems = !self.only_problems;
        self.refilter(store);
    }

    fn refilter(&mut self, store: &Store) {
        let upto = self.paused_at.unwrap_or(u64::MAX);
        self.matches = store
            .iter()
            .filter(|e| e.id < upto && self.accepts(e))
            .map(|e| e.id)
            .collect();
        self.refocus();
    }

    /// New events arrived (ids in `ids`); old ones may have left the store.
    pub fn on_append(&mut self, store: &Store, ids: Range<u64>) {
        let first = store.first_id();
        while self.matches.front().is_some_and(|&id| id < first) {
            self.matches.pop_front();
        }
        if self.paused_at.is_some() {
            self.arrived_while_paused += ids.end - ids.start;
            return;
        }
        for id in ids {
            if store.get(id).is_some_and(|e| self.accepts(e)) {
                self.matches.push_back(id);
            }
        }
        self.refocus();
    }

    /// Pauses or resumes; resuming shows what arrived meanwhile.
    pub fn toggle_pause(&mut self, store: &Store) {
        match self.paused_at.take() {
            Some(from) => {
                let upto = store.iter().next_back().map_or(from, |e| e.id + 1);
                self.arrived_while_paused = 0;
                self.on_append(store, from.max(store.first_id())..upto);
            }
            None => {
                self.paused_at = Some(store.iter().next_back().map_or(0, |e| e.id + 1));
            }
        }
    }

    pub fn paused(&self) -> Option<u64> {
        self.paused_at.map(|_| self.arrived_while_paused)
    }

    fn refocus(&mut self) {
        if self.follow {
            self.focus = self.matches.back().copied();
            return;
        }
        // Keep the focused event; if it is gone, the nearest one before it.
        if let Some(id) = self.focus {
            let pos = self.matches.partition_point(|&m| m <= id);
            self.focus = match pos {
                0 => self.matches.front().copied(),
                p => self.matches.get(p - 1).copied(),
            };
        } else {
            self.focus = self.matches.back().copied();
        }
    }

    pub fn len(&self) -> usize {
        self.matches.len()
    }

    pub fn is_empty(&self) -> bool {
        self.matches.is_empty()
    }

    pub fn focus(&self) -> Option<u64> {
        self.focus
    }

    /// Row of the focused event.
    pub fn focus_row(&self) -> Option<usize> {
        let id = self.focus?;
        self.matches.binary_search(&id).ok()
    }

    /// Moves the focus by `delta` rows; moving up stops following, reaching
    /// the bottom does not resume it (`G` does).
    pub fn move_by(&mut self, delta: isize) {
        if self.matches.is_empty() {
            return;
        }
        let row = self.focus_row().unwrap_or(self.matches.len() - 1);
        let last = self.matches.len() - 1;
        let target = row.saturating_add_signed(delta).min(last);
        if delta < 0 || target != last {
            self.follow = false;
        }
        self.focus = self.matches.get(target).copied();
    }

    pub fn home(&mut self) {
        self.follow = false;
        self.focus = self.matches.front().copied();
    }

    /// Focus the newest match and follow the tail again.
    pub fn end(&mut self) {
        self.follow = true;
        self.focus = self.matches.back().copied();
    }

    pub fn select_row(&mut self, row: usize) {
        if let Some(&id) = self.matches.get(row) {
            self.follow = row + 1 == self.matches.len();
            self.focus = Some(id);
        }
    }

    /// Ids of rows `range` (clamped), for drawing only the visible slice.
    pub fn rows(&self, range: Range<usize>) -> impl Iterator<Item = u64> + '_ {
        let end = range.end.min(self.matches.len());
        let start = range.start.min(end);
        self.matches.range(start..end).copied()
    }

    pub fn ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.matches.iter().copied()
    }

    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Scrolls so the focused row is within `height` rows.
    pub fn keep_visible(&mut self, height: usize) {
        let height = height.max(1);
        let Some(row) = self.focus_row() else {
            self.offset = 0;
            return;
        };
        if row < self.offset {
            self.offset = row;
        } else if row >= self.offset + height {
            self.offset = row + 1 - height;
        }
        let max_offset = self.matches.len().saturating_sub(height);
        self.offset = self.offset.min(max_offset);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Dialect, Event};
    use crate::judge::Judged;
    use crate::plan::{Code, Finding, Severity};
    use crate::record::{Answer, Record};
    use serde_json::value::RawValue;

    fn checked(types: &[&str], bad: &[bool]) -> Judged {
        let events = types
            .iter()
            .map(|t| {
                let raw =
                    RawValue::from_string(format!(r#"{{"event_type":"{t}","user_id":"user-1"}}"#))
                        .expect("json");
                Event::from_raw(raw, Dialect::V2)
            })
            .collect();
        let findings = bad
            .iter()
            .map(|&b| {
                if b {
                    vec![Finding {
                        code: Code::MissingProperty,
                        severity: Severity::Error,
                        event_type: None,
                        path: "p".into(),
                        expected: None,
                        actual: None,
                    }]
                } else {
                    vec![]
                }
            })
            .collect();
        Judged {
            record: Record {
                seq: 1,
                events,
                answer: Answer::new(200, None, b"{}"),
                ..Record::new(
                    "POST",
                    "/2/httpapi",
                    time::OffsetDateTime::UNIX_EPOCH,
                    "127.0.0.1:1".into(),
                )
            },
            findings,
            request: None,
        }
    }

    #[test]
    fn follows_filters_pauses_and_keeps_focus_on_an_event() {
        let mut store = Store::new(100, None);
        let mut view = View::new();
        let ids = store.ingest(&checked(&["a", "b", "a"], &[false, true, false]));
        view.on_append(&store, ids);
        assert_eq!(view.len(), 3);
        assert_eq!(view.focus(), Some(2), "follows the tail");

        view.move_by(-1);
        assert!(!view.follow);
        assert_eq!(view.focus(), Some(1));
        let ids = store.ingest(&checked(&["c"], &[false]));
        view.on_append(&store, ids);
        assert_eq!(
            view.focus(),
            Some(1),
            "focus stays on its event while not following"
        );

        view.set_filter(Filter::parse("type:a|c").expect("filter"), &store);
        assert_eq!(view.ids().collect::<Vec<_>>(), [0, 2, 3]);
        assert_eq!(
            view.focus(),
            Some(0),
            "the focused event left: nearest before it"
        );

        view.end();
        view.toggle_pause(&store);
        let ids = store.ingest(&checked(&["a", "a"], &[false, false]));
        view.on_append(&store, ids);
        assert_eq!(view.paused(), Some(2));
        assert_eq!(view.len(), 3, "paused: nothing new shown");
        view.toggle_pause(&store);
        assert_eq!(view.len(), 5);
        assert_eq!(view.focus(), Some(5));

        view.set_filter(Filter::default(), &store);
        view.toggle_only_problems(&store);
        assert_eq!(view.ids().collect::<Vec<_>>(), [1]);
    }

    #[test]
    fn the_memory_cap_drops_the_oldest() {
        let mut store = Store::new(3, None);
        let mut view = View::new();
        for _ in 0..3 {
            let ids = store.ingest(&checked(&["a", "b"], &[false, false]));
            view.on_append(&store, ids);
        }
        assert_eq!(store.len(), 3);
        assert_eq!(store.evicted(), 3);
        assert_eq!(store.first_id(), 3);
        assert_eq!(view.ids().collect::<Vec<_>>(), [3, 4, 5]);
        assert!(store.get(2).is_none() && store.get(5).is_some());
        assert_eq!(store.counters().events, 6, "counters keep counting");
    }

    #[test]
    fn keep_visible_scrolls_to_the_focus() {
        let mut store = Store::new(100, None);
        let mut view = View::new();
        let ids = store.ingest(&checked(&["a"; 30], &[false; 30]));
        view.on_append(&store, ids);
        view.keep_visible(10);
        assert_eq!(view.offset(), 20);
        view.home();
        view.keep_visible(10);
        assert_eq!(view.offset(), 0);
        view.move_by(15);
        view.keep_visible(10);
        assert_eq!(view.offset(), 6);
    }
}
