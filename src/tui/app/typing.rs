//! The line at the bottom: a filter applied as it is typed (with its
//! history), or the path an export is written to.

use std::path::PathBuf;

use crossterm::event::KeyEvent;

use super::{App, Screen};
use crate::filter::{Filter, FilterError};
use crate::report::Format;
use crate::tui::input::{edit, InputKind};
use crate::tui::keymap::{self, Action, Context};
use crate::tui::msg::Effect;

/// Filters kept in the history.
const HISTORY_MAX: usize = 100;

impl App {
    pub(super) fn apply_filter_text(
        &mut self,
        text: &str,
        effects: &mut Vec<Effect>,
    ) -> Option<FilterError> {
        match Filter::parse(text) {
            Ok(filter) => {
                // Typing the same filter again (a space) need not start over.
                if filter.as_str() != self.view.filter().as_str() || self.view.is_empty() {
                    let scan = self.view.set_filter(filter, &self.store);
                    self.scan(scan, effects);
                }
                None
            }
            Err(e) => Some(e),
        }
    }

    pub(super) fn remember(&mut self, text: String, effects: &mut Vec<Effect>) {
        if text.trim().is_empty() {
            return;
        }
        self.history.retain(|h| *h != text);
        self.history.push(text);
        if self.history.len() > HISTORY_MAX {
            self.history.remove(0);
        }
        effects.push(Effect::SaveHistory(self.history.clone()));
    }

    pub(super) fn on_input_key(&mut self, key: KeyEvent, effects: &mut Vec<Effect>) {
        let Some(mut input) = self.input.take() else {
            return;
        };
        match keymap::lookup(Context::Input, &key) {
            Some(Action::Cancel) => {
                match input.kind {
                    InputKind::Filter => {
                        self.apply_filter_text(&input.before, effects);
                    }
                    InputKind::Find => self.find = None,
                    InputKind::Export => {}
                }
                return;
            }
            Some(Action::Submit) => match input.kind {
                InputKind::Filter if input.error.is_none() => {
                    self.remember(input.text.trim().to_owned(), effects);
                    return;
                }
                InputKind::Filter => {}
                InputKind::Export => {
                    self.export(PathBuf::from(input.text.trim()), effects);
                    return;
                }
                InputKind::Find => {
                    // Enter again goes on to the next match.
                    self.find_next(true);
                    return;
                }
            },
            Some(Action::HistoryPrev)
                if input.kind == InputKind::Filter && !self.history.is_empty() =>
            {
                let pos = self
                    .history_pos
                    .map_or(self.history.len() - 1, |p| p.saturating_sub(1));
                self.history_pos = Some(pos);
                input.text = self.history[pos].clone();
                input.cursor = input.text.chars().count();
            }
            Some(Action::HistoryNext) if input.kind == InputKind::Filter => {
                match self.history_pos {
                    Some(p) if p + 1 < self.history.len() => {
                        self.history_pos = Some(p + 1);
                        input.text = self.history[p + 1].clone();
                    }
                    _ => {
                        self.history_pos = None;
                        input.text.clear();
                    }
                }
                input.cursor = input.text.chars().count();
            }
            _ => edit(&mut input, key),
        }
        match input.kind {
            InputKind::Filter => input.error = self.apply_filter_text(&input.text, effects),
            InputKind::Find => {
                self.find = Some(input.text.clone()).filter(|t| !t.is_empty());
                self.find_next(false);
            }
            InputKind::Export => {}
        }
        self.input = Some(input);
    }

    /// Scrolls the open event to the first line holding the find text at or
    /// after the top (`after`: after the top), wrapping round; says so when
    /// the event holds none.
    pub(super) fn find_next(&mut self, after: bool) {
        let Some(needle) = self.find.as_deref().map(str::to_lowercase) else {
            return;
        };
        let (Some(Ok(record)), Some(row)) = (self.focused_record(), self.focused()) else {
            return;
        };
        let Some(event) = record.events.get(row.index()) else {
            return;
        };
        let lines = crate::tui::panes::event_lines(event, row.findings(), self.theme);
        let hits: Vec<u16> = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| {
                let text: String = l.spans.iter().map(|s| s.content.as_ref()).collect();
                text.to_lowercase().contains(&needle)
            })
            .filter_map(|(i, _)| u16::try_from(i).ok())
            .collect();
        let from = self.detail_scroll + u16::from(after);
        match hits.iter().find(|&&i| i >= from).or(hits.first()) {
            Some(&line) => {
                self.detail_scroll = line;
                self.message = Some(format!("{} lines hold it · Enter: next", hits.len()));
            }
            None => self.message = Some("not in this event".into()),
        }
    }

    pub(super) fn export(&mut self, path: PathBuf, effects: &mut Vec<Effect>) {
        if path.as_os_str().is_empty() {
            self.message = Some("export cancelled: no file name".into());
            return;
        }
        let path = expand_home(path);
        // The extension says the format, as on the command line; one that
        // names none is refused, not written as something else.
        let format = match (Format::from_path(&path), path.extension()) {
            (Some(format), _) => format,
            (None, None) => Format::Text,
            (None, Some(ext)) => {
                self.message = Some(format!(
                    "export: .{} is not a report format; use .txt, .md, .html, .json, .csv or .xml (JUnit)",
                    ext.to_string_lossy()
                ));
                return;
            }
        };
        if self.screen == Screen::Reconcile {
            let Some(report) = self.reconcile.report.clone() else {
                self.message = Some("nothing to export yet: the reconcile has not finished".into());
                return;
            };
            self.message = Some(format!("writing {}…", path.display()));
            effects.push(Effect::Export {
                path,
                format,
                report,
            });
            return;
        }
        let report = crate::tui::export::stream_report(self);
        self.message = Some(format!("writing {}…", path.display()));
        effects.push(Effect::Export {
            path,
            format,
            report: Box::new(report),
        });
    }
}

/// `~/reports/x.md` → the home directory's `reports/x.md`, as a shell would.
fn expand_home(path: PathBuf) -> PathBuf {
    let Ok(rest) = path.strip_prefix("~") else {
        return path;
    };
    match std::env::var_os("HOME") {
        Some(home) => PathBuf::from(home).join(rest),
        None => path,
    }
}
