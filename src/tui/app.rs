//! The application state and its one entry point, `update(msg) -> effects`.
//! Drawing only reads this state (see `draw`).

use std::collections::BTreeSet;
use std::path::PathBuf;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::keymap::{self, Action, Context};
use super::layout;
use super::msg::{Effect, Msg};
use super::theme::Theme;
use crate::filter::{Filter, FilterError};
use crate::pipeline::{Feed as FeedMsg, Item};
use crate::report::{EventRef, Format, ReportBuilder};
use crate::store::view::View;
use crate::store::{Entry, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Stream,
    Detail,
    Coverage,
    Stats,
    Reconcile,
    Help,
}

/// The Reconcile view's job and its result.
#[derive(Debug, Default)]
pub struct ReconcileState {
    pub running: bool,
    pub progress: crate::export::Progress,
    pub report: Option<Box<crate::report::Report>>,
    pub notes: Vec<String>,
    pub error: Option<String>,
    /// Selected problem.
    pub row: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Filter,
    Export,
}

/// The line being typed: a filter (applied as you type) or an export path.
#[derive(Debug, Clone)]
pub struct Input {
    pub kind: InputKind,
    pub text: String,
    /// Cursor position in characters.
    pub cursor: usize,
    pub error: Option<FilterError>,
    /// The filter before editing began, restored by Esc.
    before: String,
}

/// What the status line says about where events come from and go.
#[derive(Debug, Clone, Default)]
pub struct Session {
    pub listen: Option<String>,
    pub upstream: String,
    pub plan: Option<String>,
    pub journal: Option<PathBuf>,
    /// The capture files `open` reads.
    pub inputs: Vec<String>,
}

pub struct App {
    pub store: Store,
    pub view: View,
    pub screen: Screen,
    back_to: Screen,
    pub input: Option<Input>,
    pub history: Vec<String>,
    history_pos: Option<usize>,
    pub detail_scroll: u16,
    pub coverage_row: usize,
    pub help_scroll: u16,
    pub reconcile: ReconcileState,
    pub session: Session,
    pub message: Option<String>,
    pub warnings: Vec<String>,
    pub size: Rect,
    pub now: OffsetDateTime,
    pub feed_done: bool,
    pub journal_bytes: u64,
    pub behind: u64,
    pub theme: Theme,
    /// Something changed since the last frame.
    pub dirty: bool,
    pub quit: bool,
}

const HISTORY_MAX: usize = 100;

impl App {
    pub fn new(
        store: Store,
        session: Session,
        history: Vec<String>,
        theme: Theme,
        now: OffsetDateTime,
    ) -> Self {
        App {
            store,
            view: View::new(),
            screen: Screen::Stream,
            back_to: Screen::Stream,
            input: None,
            history,
            history_pos: None,
            detail_scroll: 0,
            coverage_row: 0,
            help_scroll: 0,
            reconcile: ReconcileState::default(),
            session,
            message: None,
            warnings: Vec::new(),
            size: Rect::new(0, 0, 80, 24),
            now,
            feed_done: false,
            journal_bytes: 0,
            behind: 0,
            theme,
            dirty: true,
            quit: false,
        }
    }

    /// The event the stream focuses (and the detail shows).
    pub fn focused(&self) -> Option<&Entry> {
        self.store.get(self.view.focus()?)
    }

    pub fn update(&mut self, msg: Msg) -> Vec<Effect> {
        let mut effects = Vec::new();
        match msg {
            Msg::Key(key) => self.on_key(key, &mut effects),
            Msg::Mouse(mouse) => self.on_mouse(mouse),
            Msg::Resize(w, h) => self.size = Rect::new(0, 0, w, h),
            Msg::Feed(FeedMsg::Batch(batch)) => {
                for item in batch {
                    // The screen shows every session of the journal: markers change nothing.
                    if let Item::Judged(judged) = item {
                        let ids = self.store.ingest(&judged);
                        self.view.on_append(&self.store, ids);
                    }
                }
            }
            Msg::Feed(FeedMsg::Warning(w)) => {
                self.message = Some(format!("warning: {w}"));
                self.warnings.push(w);
            }
            Msg::Feed(FeedMsg::Done) => {
                self.feed_done = true;
                self.message = Some(format!("read {} events", self.store.counters().events));
            }
            Msg::Tick(now) => {
                // Rates and ages move once a second; nothing else changes on a tick.
                if now.unix_timestamp() == self.now.unix_timestamp() {
                    return effects;
                }
                self.now = now;
            }
            Msg::Progress {
                journal_bytes,
                behind,
            } => {
                if (journal_bytes, behind) == (self.journal_bytes, self.behind) {
                    return effects;
                }
                self.journal_bytes = journal_bytes;
                self.behind = behind;
            }
            Msg::ReconcileProgress(p) => self.reconcile.progress = p,
            Msg::ReconcileDone(result) => {
                let r = &mut self.reconcile;
                r.running = false;
                r.row = 0;
                match result {
                    Ok((report, notes)) => {
                        r.report = Some(report);
                        r.notes = notes;
                        r.error = None;
                    }
                    Err(e) => r.error = Some(e),
                }
            }
            Msg::ExportDone(result) => {
                self.message = Some(match result {
                    Ok(path) => format!("report written to {}", path.display()),
                    Err(e) => format!("export failed: {e}"),
                });
            }
        }
        self.view.keep_visible(layout::stream_rows(self.size));
        self.dirty = true;
        effects
    }

    fn on_key(&mut self, key: KeyEvent, effects: &mut Vec<Effect>) {
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            self.quit(effects);
            return;
        }
        if self.input.is_some() {
            self.on_input_key(key, effects);
            return;
        }
        if self.screen == Screen::Help {
            let page = layout::stream_rows(self.size).max(1) as u16;
            match keymap::lookup(Context::Help, &key) {
                Some(Action::Up) => self.help_scroll = self.help_scroll.saturating_sub(1),
                Some(Action::Down) => self.help_scroll = self.help_scroll.saturating_add(1),
                Some(Action::PageUp) => self.help_scroll = self.help_scroll.saturating_sub(page),
                Some(Action::PageDown) => self.help_scroll = self.help_scroll.saturating_add(page),
                // Any other key leaves help (q too: quitting from help would surprise).
                _ => self.screen = self.back_to,
            }
            // Never scroll past the last line.
            let visible = layout::areas(self.size).main.height.saturating_sub(2);
            let lines = super::panes::help::lines(self).len() as u16;
            self.help_scroll = self.help_scroll.min(lines.saturating_sub(visible));
            return;
        }
        let context = match self.screen {
            Screen::Stream => Context::Stream,
            Screen::Detail => Context::Detail,
            Screen::Coverage => Context::Coverage,
            Screen::Reconcile => Context::Reconcile,
            Screen::Stats | Screen::Help => Context::Global,
        };
        if let Some(action) = keymap::lookup(context, &key) {
            self.act(action, effects);
        }
    }

    fn act(&mut self, action: Action, effects: &mut Vec<Effect>) {
        let page = layout::stream_rows(self.size).max(1) as isize;
        match (action, self.screen) {
            (Action::Quit, _) => self.quit(effects),
            (Action::Help, s) => {
                self.back_to = s;
                self.help_scroll = 0;
                self.screen = Screen::Help;
            }
            (Action::ShowStream, _) => self.screen = Screen::Stream,
            (Action::ShowCoverage, _) => self.screen = Screen::Coverage,
            (Action::ShowStats, _) => self.screen = Screen::Stats,
            (Action::Reconcile, _) => {
                self.screen = Screen::Reconcile;
                if !self.reconcile.running {
                    self.reconcile.running = true;
                    self.reconcile.error = None;
                    self.reconcile.progress = crate::export::Progress {
                        state: "reading the journal".into(),
                        ..Default::default()
                    };
                    effects.push(Effect::Reconcile);
                }
            }
            (Action::Up, Screen::Reconcile) => {
                self.reconcile.row = self.reconcile.row.saturating_sub(1)
            }
            (Action::Down, Screen::Reconcile) => {
                let n = self
                    .reconcile
                    .report
                    .as_ref()
                    .and_then(|r| r.reconcile.as_ref())
                    .map_or(0, |r| r.problems.len());
                self.reconcile.row = (self.reconcile.row + 1).min(n.saturating_sub(1));
            }
            (Action::Back, Screen::Reconcile) => self.screen = Screen::Stream,
            (Action::NextScreen, s) => {
                self.screen = match s {
                    Screen::Stream | Screen::Detail => Screen::Coverage,
                    Screen::Coverage => Screen::Stats,
                    Screen::Stats => Screen::Reconcile,
                    Screen::Reconcile | Screen::Help => Screen::Stream,
                }
            }
            (Action::OpenFilter, _) => {
                let current = self.view.filter().as_str().to_owned();
                self.input = Some(Input {
                    kind: InputKind::Filter,
                    cursor: current.chars().count(),
                    text: current.clone(),
                    error: None,
                    before: current,
                });
                self.history_pos = None;
            }
            (Action::ClearFilter, _) => self.view.set_filter(Filter::default(), &self.store),
            (Action::ToggleProblems, _) => self.view.toggle_only_problems(&self.store),
            (Action::TogglePause, _) => self.view.toggle_pause(&self.store),
            (Action::Export, _) => {
                let t = self.now;
                let path = format!(
                    "amptap-report-{:04}{:02}{:02}-{:02}{:02}{:02}.md",
                    t.year(),
                    u8::from(t.month()),
                    t.day(),
                    t.hour(),
                    t.minute(),
                    t.second()
                );
                self.input = Some(Input {
                    kind: InputKind::Export,
                    cursor: path.chars().count(),
                    text: path,
                    error: None,
                    before: String::new(),
                });
            }
            (Action::Up, Screen::Stream) => self.view.move_by(-1),
            (Action::Down, Screen::Stream) => self.view.move_by(1),
            (Action::PageUp, Screen::Stream) => self.view.move_by(-page),
            (Action::PageDown, Screen::Stream) => self.view.move_by(page),
            (Action::Home, Screen::Stream) => self.view.home(),
            (Action::End, Screen::Stream) => self.view.end(),
            (Action::Open, Screen::Stream) if self.view.focus().is_some() => {
                self.screen = Screen::Detail;
                self.detail_scroll = 0;
            }
            (Action::Up, Screen::Detail) => {
                self.detail_scroll = self.detail_scroll.saturating_sub(1)
            }
            (Action::Down, Screen::Detail) => {
                self.detail_scroll = self.detail_scroll.saturating_add(1)
            }
            (Action::PageUp, Screen::Detail) => {
                self.detail_scroll = self.detail_scroll.saturating_sub(page as u16)
            }
            (Action::PageDown, Screen::Detail) => {
                self.detail_scroll = self.detail_scroll.saturating_add(page as u16)
            }
            (Action::NextEvent, Screen::Detail) => {
                self.view.move_by(1);
                self.detail_scroll = 0;
            }
            (Action::PrevEvent, Screen::Detail) => {
                self.view.move_by(-1);
                self.detail_scroll = 0;
            }
            (Action::Back, Screen::Detail) => self.screen = Screen::Stream,
            (Action::FilterToType, _) => {
                if let Some(t) = self
                    .focused()
                    .and_then(|e| e.event.event_type())
                    .map(str::to_owned)
                {
                    let words = format!("type:{}", quote_word(&regex::escape(&t)));
                    self.apply_filter_text(&words);
                    self.remember(words, effects);
                    self.screen = Screen::Stream;
                }
            }
            (Action::Copy, _) => {
                if let Some(e) = self.focused() {
                    let pretty = serde_json::to_string_pretty(e.event.json())
                        .unwrap_or_else(|_| e.event.raw().get().to_owned());
                    effects.push(Effect::Copy(pretty));
                    self.message = Some("event JSON copied (OSC 52)".into());
                }
            }
            (Action::Up, Screen::Coverage) => {
                self.coverage_row = self.coverage_row.saturating_sub(1)
            }
            (Action::Down, Screen::Coverage) => {
                let max = self.store.counters().coverage.len().saturating_sub(1);
                self.coverage_row = (self.coverage_row + 1).min(max);
            }
            (Action::Open, Screen::Coverage) => {
                if let Some(t) = self
                    .store
                    .counters()
                    .coverage
                    .keys()
                    .nth(self.coverage_row)
                    .cloned()
                {
                    let words = format!("type:{}", quote_word(&regex::escape(&t)));
                    self.apply_filter_text(&words);
                    self.remember(words, effects);
                    self.screen = Screen::Stream;
                }
            }
            _ => {}
        }
    }

    fn quit(&mut self, effects: &mut Vec<Effect>) {
        self.quit = true;
        effects.push(Effect::Quit);
    }

    fn apply_filter_text(&mut self, text: &str) -> Option<FilterError> {
        match Filter::parse(text) {
            Ok(filter) => {
                self.view.set_filter(filter, &self.store);
                None
            }
            Err(e) => Some(e),
        }
    }

    fn remember(&mut self, text: String, effects: &mut Vec<Effect>) {
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

    fn on_input_key(&mut self, key: KeyEvent, effects: &mut Vec<Effect>) {
        let Some(mut input) = self.input.take() else {
            return;
        };
        match keymap::lookup(Context::Input, &key) {
            Some(Action::Cancel) => {
                if input.kind == InputKind::Filter {
                    self.apply_filter_text(&input.before);
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
        if input.kind == InputKind::Filter {
            input.error = self.apply_filter_text(&input.text);
        }
        self.input = Some(input);
    }

    fn export(&mut self, path: PathBuf, effects: &mut Vec<Effect>) {
        if path.as_os_str().is_empty() {
            self.message = Some("export cancelled: no file name".into());
            return;
        }
        let format = Format::from_path(&path).unwrap_or(Format::Md);
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
        let planned = self.session.plan.clone().map(|label| {
            (
                label,
                self.store.counters().coverage.keys().cloned().collect(),
            )
        });
        let inputs = match &self.session.journal {
            Some(j) => vec![j.display().to_string()],
            None => self.session.inputs.clone(),
        };
        let mut builder = ReportBuilder::new(
            inputs,
            planned,
            self.now.format(&Rfc3339).unwrap_or_default(),
        );
        let mut requests = BTreeSet::new();
        for id in self.view.ids() {
            let Some(e) = self.store.get(id) else {
                continue;
            };
            if requests.insert(e.request.seq) {
                builder.add_request();
            }
            let event_ref = EventRef {
                insert_id: e.event.insert_id().map(str::to_owned),
                seq: e.request.seq,
                index: e.index,
                received: e.request.received.format(&Rfc3339).unwrap_or_default(),
                user_id: e.event.user_id().map(str::to_owned),
                device_id: e.event.device_id().map(str::to_owned),
                capture: None,
                tag: e.request.tag.clone(),
            };
            builder.add_event(e.event.event_type(), event_ref, e.findings.clone());
        }
        self.message = Some(format!("writing {}…", path.display()));
        effects.push(Effect::Export {
            path,
            format,
            report: Box::new(builder.finish()),
        });
    }

    fn on_mouse(&mut self, mouse: MouseEvent) {
        match (mouse.kind, self.screen) {
            (MouseEventKind::ScrollUp, Screen::Stream) => self.view.move_by(-3),
            (MouseEventKind::ScrollDown, Screen::Stream) => self.view.move_by(3),
            (MouseEventKind::ScrollUp, Screen::Detail) => {
                self.detail_scroll = self.detail_scroll.saturating_sub(3)
            }
            (MouseEventKind::ScrollDown, Screen::Detail) => {
                self.detail_scroll = self.detail_scroll.saturating_add(3)
            }
            (MouseEventKind::Down(MouseButton::Left), Screen::Stream) => {
                let Some(row) = layout::stream_row_at(self.size, mouse.column, mouse.row) else {
                    return;
                };
                let row = self.view.offset() + row;
                let was = self.view.focus_row();
                self.view.select_row(row);
                // A click on the selected row opens it.
                if was == Some(row) && self.view.focus().is_some() {
                    self.screen = Screen::Detail;
                    self.detail_scroll = 0;
                }
            }
            _ => {}
        }
    }
}

/// Quotes a filter word that holds spaces.
fn quote_word(w: &str) -> String {
    if w.chars().any(char::is_whitespace) {
        format!("\"{w}\"")
    } else {
        w.to_owned()
    }
}

/// Line editing: characters, Backspace, Delete, ←, →, Home, End.
fn edit(input: &mut Input, key: KeyEvent) {
    let byte_at = |text: &str, chars: usize| {
        text.char_indices()
            .nth(chars)
            .map_or(text.len(), |(i, _)| i)
    };
    match key.code {
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
            let at = byte_at(&input.text, input.cursor);
            input.text.insert(at, c);
            input.cursor += 1;
        }
        KeyCode::Char('u') => {
            input.text.clear();
            input.cursor = 0;
        }
        KeyCode::Backspace if input.cursor > 0 => {
            let at = byte_at(&input.text, input.cursor - 1);
            input.text.remove(at);
            input.cursor -= 1;
        }
        KeyCode::Delete if input.cursor < input.text.chars().count() => {
            let at = byte_at(&input.text, input.cursor);
            input.text.remove(at);
        }
        KeyCode::Left => input.cursor = input.cursor.saturating_sub(1),
        KeyCode::Right => input.cursor = (input.cursor + 1).min(input.text.chars().count()),
        KeyCode::Home => input.cursor = 0,
        KeyCode::End => input.cursor = input.text.chars().count(),
        _ => {}
    }
}
