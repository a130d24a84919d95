//! The Reconcile view's state: the background job, its report, which class
//! of problem is shown, and opening a problem's event as it was sent.

use super::{App, Screen};
use crate::filter::Filter;
use crate::reconcile::{Class, Problem};
use crate::tui::msg::Effect;

/// The Reconcile view's job and its result.
#[derive(Debug, Default)]
pub struct ReconcileState {
    pub running: bool,
    pub progress: crate::export::Progress,
    pub report: Option<Box<crate::report::ReconcileReport>>,
    pub notes: Vec<String>,
    pub error: Option<String>,
    /// Selected problem, among those shown.
    pub row: usize,
    /// Only problems of this class (`f` cycles); `None` shows all.
    pub class: Option<Class>,
}

impl ReconcileState {
    /// The problems shown: all, or those of the chosen class.
    pub fn shown(&self) -> Vec<&Problem> {
        self.report
            .iter()
            .flat_map(|r| &r.reconcile.problems)
            .filter(|p| self.class.is_none_or(|c| c == p.class))
            .collect()
    }

    pub fn selected(&self) -> Option<&Problem> {
        self.shown().get(self.row).copied()
    }

    /// The next class that has problems, then all of them again.
    fn next_class(&mut self) {
        let present: Vec<Class> = Class::ALL
            .into_iter()
            .filter(|c| {
                self.report
                    .iter()
                    .flat_map(|r| &r.reconcile.problems)
                    .any(|p| p.class == *c)
            })
            .collect();
        let after = match self.class {
            None => 0,
            Some(c) => present.iter().position(|p| *p == c).map_or(0, |i| i + 1),
        };
        self.class = present.get(after).copied();
        self.row = 0;
    }
}

impl App {
    pub(super) fn start_reconcile(&mut self, effects: &mut Vec<Effect>) {
        self.screen = Screen::Reconcile;
        let r = &mut self.reconcile;
        if !r.running {
            r.running = true;
            r.error = None;
            r.progress = crate::export::Progress {
                state: "reading the journal".into(),
                ..Default::default()
            };
            effects.push(Effect::Reconcile);
        }
    }

    pub(super) fn reconcile_move(&mut self, delta: isize) {
        let n = self.reconcile.shown().len();
        let r = &mut self.reconcile;
        r.row = r.row.saturating_add_signed(delta).min(n.saturating_sub(1));
    }

    pub(super) fn reconcile_class(&mut self) {
        self.reconcile.next_class();
        let shown = self.reconcile.class.map_or("every class", Class::as_str);
        self.message = Some(format!("reconcile: showing {shown}"));
    }

    /// Opens the selected problem's event as it was sent (missing ones
    /// too: they were captured); the stream's filter is cleared so it is there.
    pub(super) fn open_reconciled(&mut self, effects: &mut Vec<Effect>) {
        let Some(captured) = self.reconcile.selected().and_then(|p| p.captured.clone()) else {
            self.message = Some("this event was never captured: only Amplitude has it".into());
            return;
        };
        let row = self
            .store
            .requests_newest_first()
            .find(|(_, r)| r.seq == captured.seq)
            .map(|(_, r)| r.first_row + captured.index as u64);
        let Some(id) = row.filter(|id| self.store.get(*id).is_some()) else {
            self.message = Some(format!(
                "request #{} has left memory (the journal keeps it): amptap open the journal to see it",
                captured.seq
            ));
            return;
        };
        if !self.view.filter().is_empty() || self.view.only_problems() {
            let scan = self.view.set_filter(Filter::default(), &self.store);
            if self.view.only_problems() {
                let more = self.view.toggle_only_problems(&self.store);
                self.scan(more, effects);
            }
            self.scan(scan, effects);
        }
        self.view.focus_id(id);
        self.open_detail();
    }
}
