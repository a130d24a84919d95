//! The focused row: its request read back for the detail view and for
//! copying, and the filter job that decides which rows there are.

use std::sync::Arc;

use super::{App, Detail, Screen};
use crate::record::Record;
use crate::store::view::BodyScan;
use crate::store::RowRef;
use crate::tui::layout;
use crate::tui::msg::Effect;

impl App {
    /// The row the stream focuses (and the detail shows).
    pub fn focused(&self) -> Option<RowRef<'_>> {
        self.store.get(self.view.focus()?)
    }

    /// The focused row's request, when it has been read back.
    pub fn focused_record(&self) -> Option<&Result<Arc<Record>, String>> {
        let detail = self.detail.as_ref()?;
        (Some(detail.id) == self.view.focus()).then_some(&detail.record)
    }

    /// Runs the filter job for at most `budget`; true while it goes on.
    pub fn work(&mut self, budget: std::time::Duration) -> bool {
        let started = std::time::Instant::now();
        let before = self.view.progress();
        let mut running = true;
        while running && started.elapsed() < budget {
            running = self.view.work(&self.store, 16_384);
            if self.view.progress() == before {
                break; // waiting for journal lines
            }
        }
        if self.view.progress() != before {
            self.view.keep_visible(layout::stream_rows(self.size));
            self.dirty = true;
        }
        running
    }

    pub(super) fn scan(&mut self, scan: Option<BodyScan>, effects: &mut Vec<Effect>) {
        if let Some(scan) = scan {
            effects.push(Effect::Scan(scan));
        }
    }

    /// Opens the focused row: it stays put while new events arrive.
    pub(super) fn open_detail(&mut self) {
        self.view.follow = false;
        self.screen = Screen::Detail;
        self.detail_scroll = 0;
    }

    /// Copies the focused event's JSON (a bad request's body), once its
    /// line has been read back.
    pub(super) fn copy_focused(&mut self, effects: &mut Vec<Effect>) {
        if self.copy_wanted.is_none() || self.copy_wanted != self.view.focus() {
            return;
        }
        let index = self.focused().map(|r| r.index());
        let text = match (self.focused_record(), index) {
            (Some(Ok(record)), Some(i)) => match (record.events.get(i), &record.body) {
                (Some(e), _) => Some((
                    serde_json::to_string_pretty(e.json())
                        .unwrap_or_else(|_| e.raw().get().to_owned()),
                    "event JSON",
                )),
                (None, Some(body)) => Some((body.text().into_owned(), "request body")),
                (None, None) => Some((String::new(), "empty body")),
            },
            (Some(Err(e)), _) => {
                self.message = Some(format!("cannot copy: {e}"));
                self.copy_wanted = None;
                return;
            }
            _ => None, // not read yet: copied when it arrives
        };
        if let Some((text, what)) = text {
            effects.push(Effect::Copy(text));
            self.message = Some(format!("{what} copied (OSC 52)"));
            self.copy_wanted = None;
        }
    }

    /// Asks for the focused row's line when the detail view (or a copy) needs it.
    pub(super) fn load_focused(&mut self, effects: &mut Vec<Effect>) {
        let beside = self.screen == Screen::Stream && self.split_view();
        if self.screen != Screen::Detail && !beside && self.copy_wanted.is_none() {
            return;
        }
        let Some(r) = self.focused() else { return };
        let id = r.id;
        if self.detail.as_ref().is_some_and(|d| d.id == id) || self.loading == Some(id) {
            return;
        }
        let (seq, at) = (r.request.seq, r.request.at);
        // Rows of one request share a line: no need to read it again.
        if let Some(d) = &self.detail {
            if d.record.as_ref().is_ok_and(|rec| rec.seq == seq) {
                self.detail = Some(Detail { id, ..d.clone() });
                return;
            }
        }
        self.loading = Some(id);
        effects.push(Effect::Load { id, seq, at });
    }
}
