//! The rows as shown: in arrival order, or sorted by a column; moving the
//! focus among them and keeping it on screen.

use super::{sorted, SortKey, View};
use crate::filter::Status;
use crate::store::Store;

impl View {
    /// How many rows are shown.
    pub fn len(&self) -> usize {
        match &self.order {
            Some(order) => order.len(),
            None => self.matches.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The id shown at `row`.
    fn id_at(&self, row: usize) -> Option<u64> {
        match &self.order {
            Some(order) => order.get(row).copied(),
            None => self.matches.get(row).copied(),
        }
    }

    fn row_of(&self, id: u64) -> Option<usize> {
        match &self.order {
            Some(order) => order.iter().position(|&x| x == id),
            None => self.matches.binary_search(&id).ok(),
        }
    }

    pub fn focus(&self) -> Option<u64> {
        self.focus
    }

    /// Row of the focused event.
    pub fn focus_row(&self) -> Option<usize> {
        self.row_of(self.focus?)
    }

    /// The column the rows are sorted by; `None` for arrival order.
    pub fn sort_key(&self) -> Option<SortKey> {
        self.sort
    }

    /// Sorts by `key` (arrival order for `None`); the focus stays on its event.
    pub fn sort_by(&mut self, key: Option<SortKey>, store: &Store) {
        self.sort = key;
        self.resort(store);
        self.refocus();
    }

    /// Puts what matches in the sort's order (once a filter job is done:
    /// until then the rows show as they are found).
    pub(super) fn resort(&mut self, store: &Store) {
        self.order = match self.sort {
            Some(key) if self.job.is_none() => {
                Some(sorted(store, self.matches.iter().copied(), key))
            }
            _ => None,
        };
    }

    /// A new match: at the end of a sorted list until the next sort.
    pub(super) fn arrived(&mut self, id: u64) {
        self.matches.push_back(id);
        if let Some(order) = &mut self.order {
            order.push(id);
        }
    }

    pub(super) fn refocus(&mut self) {
        if self.follow {
            self.focus = self.id_at(self.len().wrapping_sub(1));
            return;
        }
        let Some(id) = self.focus else {
            self.focus = self.id_at(self.len().wrapping_sub(1));
            return;
        };
        if self.order.is_some() {
            // Sorted: keep it if it is shown, else the first row.
            if self.row_of(id).is_none() {
                self.focus = self.id_at(0);
            }
            return;
        }
        // Keep the focused event; if it is gone, the nearest one before it.
        if self.job.is_some() && self.matches.front().is_none_or(|&m| m > id) {
            return; // not reached yet: keep waiting for it
        }
        let pos = self.matches.partition_point(|&m| m <= id);
        self.focus = match pos {
            0 => self.matches.front().copied(),
            p => self.matches.get(p - 1).copied(),
        };
    }

    /// Moves the focus by `delta` rows; moving up stops following, reaching
    /// the bottom does not resume it (`G` does).
    pub fn move_by(&mut self, delta: isize) {
        if self.is_empty() {
            return;
        }
        let last = self.len() - 1;
        let row = self.focus_row().unwrap_or(last);
        let target = row.saturating_add_signed(delta).min(last);
        if delta < 0 || target != last {
            self.follow = false;
        }
        self.focus = self.id_at(target);
    }

    pub fn home(&mut self) {
        self.follow = false;
        self.focus = self.id_at(0);
    }

    /// Focus the last row and follow the tail again.
    pub fn end(&mut self) {
        self.follow = true;
        self.focus = self.id_at(self.len().wrapping_sub(1));
    }

    /// Focuses the next (`forward`) or previous row with a finding; false
    /// when there is none that way.
    pub fn jump_to_problem(&mut self, store: &Store, forward: bool) -> bool {
        let Some(row) = self.focus_row() else {
            return false;
        };
        let is_problem = |row: usize| {
            self.id_at(row)
                .and_then(|id| store.get(id))
                .is_some_and(|r| r.row.status != Status::Ok)
        };
        let found = if forward {
            (row + 1..self.len()).find(|&r| is_problem(r))
        } else {
            (0..row).rev().find(|&r| is_problem(r))
        };
        match found {
            Some(target) => {
                self.follow = false;
                self.focus = self.id_at(target);
                true
            }
            None => false,
        }
    }

    /// Focuses the row `id` (it stays put: following stops), waiting for a
    /// running filter job to reach it.
    pub fn focus_id(&mut self, id: u64) {
        self.follow = false;
        self.focus = Some(id);
        self.refocus();
    }

    pub fn select_row(&mut self, row: usize) {
        if let Some(id) = self.id_at(row) {
            self.follow = row + 1 == self.len();
            self.focus = Some(id);
        }
    }

    /// Ids of rows `range` (clamped), for drawing only the visible slice.
    pub fn rows(&self, range: std::ops::Range<usize>) -> impl Iterator<Item = u64> + '_ {
        let end = range.end.min(self.len());
        let start = range.start.min(end);
        (start..end).filter_map(|row| self.id_at(row))
    }

    /// Every id shown, in the order shown.
    pub fn ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.rows(0..self.len())
    }

    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Scrolls so the focused row is within `height` rows.
    pub fn keep_visible(&mut self, height: usize) {
        let height = height.max(1);
        let Some(row) = self.focus_row() else {
            self.offset = self.offset.min(self.len().saturating_sub(height));
            return;
        };
        if row < self.offset {
            self.offset = row;
        } else if row >= self.offset + height {
            self.offset = row + 1 - height;
        }
        let max_offset = self.len().saturating_sub(height);
        self.offset = self.offset.min(max_offset);
    }
}
