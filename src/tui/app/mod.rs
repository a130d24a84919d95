//! The application state and its one entry point, `update(msg) -> effects`.
//! Drawing only reads this state (see `draw`).

use std::path::PathBuf;
use std::sync::Arc;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use time::OffsetDateTime;

mod focus;
mod reconcile;
mod typing;

pub use reconcile::ReconcileState;

use super::columns::{Column, Shown, TimeMode};
use super::input::{quote_word, Input, InputKind};
use super::keymap::{self, Action, Context};
use super::layout;
use super::msg::{Effect, Msg};
use super::theme::Theme;
use crate::filter::Filter;
use crate::pipeline::{Feed as FeedMsg, Item};
use crate::record::Record;
use crate::store::view::View;
use crate::store::{Store, TypeOrder};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Stream,
    Detail,
    Coverage,
    Stats,
    Reconcile,
    Help,
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

/// The focused row's request, read back from its journal line.
#[derive(Debug, Clone)]
pub struct Detail {
    pub id: u64,
    pub record: Result<Arc<Record>, String>,
}

pub struct App {
    pub store: Store,
    pub view: View,
    /// What the detail view shows, once read (reading never blocks a frame).
    pub detail: Option<Detail>,
    /// The row whose line is being read.
    loading: Option<u64>,
    /// The row to copy once its line is read (`y`).
    copy_wanted: Option<u64>,
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
    /// The message on screen and since when: it leaves after a while.
    message_since: Option<(String, OffsetDateTime)>,
    pub warnings: Vec<String>,
    pub size: Rect,
    pub now: OffsetDateTime,
    pub feed_done: bool,
    pub journal_bytes: u64,
    /// Why the journal cannot be written now: shown in the header.
    pub journal_error: Option<String>,
    pub behind: u64,
    pub theme: Theme,
    /// The stream's columns and how times read.
    pub columns: Shown,
    pub time_mode: TimeMode,
    /// How the event-types view is sorted.
    pub type_order: TypeOrder,
    /// The focused event beside the stream on a wide terminal (`v`).
    pub split: bool,
    /// The column chooser is open, on this column.
    pub chooser: Option<usize>,
    /// Something changed since the last frame.
    pub dirty: bool,
    pub quit: bool,
}

impl App {
    /// What `q` says while requests are still arriving.
    const STILL_ARRIVING: &str =
        "requests arrived in the last seconds: q again stops the tap, Q quits at once";

    /// A status message stays MESSAGE_SECONDS after it last changed.
    fn age_message(&mut self, now: OffsetDateTime) {
        const MESSAGE_SECONDS: i64 = 8;
        match (&self.message, &self.message_since) {
            (None, _) => self.message_since = None,
            (Some(m), Some((seen, since))) if m == seen => {
                if (now - *since).whole_seconds() >= MESSAGE_SECONDS {
                    self.message = None;
                    self.message_since = None;
                }
            }
            (Some(m), _) => self.message_since = Some((m.clone(), now)),
        }
    }

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
            detail: None,
            loading: None,
            copy_wanted: None,
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
            message_since: None,
            warnings: Vec::new(),
            size: Rect::new(0, 0, 80, 24),
            now,
            feed_done: false,
            journal_bytes: 0,
            journal_error: None,
            behind: 0,
            theme,
            columns: Shown::default(),
            time_mode: TimeMode::default(),
            type_order: TypeOrder::default(),
            split: true,
            chooser: None,
            dirty: true,
            quit: false,
        }
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
                        self.view.on_ingest(&self.store, ids, &judged);
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
                self.age_message(now);
            }
            Msg::Progress {
                journal_bytes,
                behind,
                journal_error,
            } => {
                let now = (journal_bytes, behind, journal_error);
                if now == (self.journal_bytes, self.behind, self.journal_error.clone()) {
                    return effects;
                }
                (self.journal_bytes, self.behind, self.journal_error) = now;
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
            Msg::Loaded { id, record } => {
                if self.loading == Some(id) {
                    self.loading = None;
                }
                self.detail = Some(Detail { id, record });
                self.copy_focused(&mut effects);
            }
            Msg::Bodies {
                generation,
                verdicts,
            } => self.view.take_bodies(generation, verdicts),
            Msg::ExportDone(result) => {
                self.message = Some(match result {
                    Ok(path) => format!("report written to {}", path.display()),
                    Err(e) => format!("export failed: {e}"),
                });
            }
        }
        self.view.keep_visible(layout::stream_rows(self.size));
        self.load_focused(&mut effects);
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
        if let Some(cursor) = self.chooser {
            self.on_chooser_key(cursor, &key);
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
            (Action::Quit, _) => self.quit_unless_busy(effects),
            (Action::ChooseColumns, Screen::Stream) => self.chooser = Some(0),
            (Action::ToggleSplit, Screen::Stream) => {
                self.split = !self.split;
                if !layout::is_split_wide(self.size) {
                    self.message = Some("the split view needs 180 columns or more".into());
                }
            }
            (Action::NextProblem | Action::PrevProblem, Screen::Stream | Screen::Detail) => {
                let forward = action == Action::NextProblem;
                if self.view.jump_to_problem(&self.store, forward) {
                    self.detail_scroll = 0;
                } else {
                    let way = if forward { "after" } else { "before" };
                    self.message = Some(format!("no event with a finding {way} this one"));
                }
            }
            (Action::CycleTime, _) => {
                self.time_mode = self.time_mode.next();
                self.message = Some(format!("times in {}", self.time_mode.name()));
            }
            (Action::QuitNow, _) => self.quit(effects),
            (Action::Help, s) => {
                self.back_to = s;
                self.help_scroll = 0;
                self.screen = Screen::Help;
            }
            (Action::ShowStream, _) => self.screen = Screen::Stream,
            (Action::ShowCoverage, _) => self.screen = Screen::Coverage,
            (Action::ShowStats, _) => self.screen = Screen::Stats,
            (Action::Reconcile, _) => self.start_reconcile(effects),
            (Action::Up, Screen::Reconcile) => self.reconcile_move(-1),
            (Action::Down, Screen::Reconcile) => self.reconcile_move(1),
            (Action::Sort, Screen::Reconcile) => self.reconcile_class(),
            (Action::Open, Screen::Reconcile) => self.open_reconciled(effects),
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
            (Action::ClearFilter, _) => {
                let scan = self.view.set_filter(Filter::default(), &self.store);
                self.scan(scan, effects);
            }
            (Action::ToggleProblems, _) => {
                let scan = self.view.toggle_only_problems(&self.store);
                self.scan(scan, effects);
            }
            (Action::TogglePause, _) => {
                let scan = self.view.toggle_pause(&self.store);
                self.scan(scan, effects);
            }
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
            (Action::Open, Screen::Stream) if self.view.focus().is_some() => self.open_detail(),
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
                    .and_then(|e| e.event_type())
                    .map(str::to_owned)
                {
                    let words = format!("type:{}", quote_word(&regex::escape(&t)));
                    self.apply_filter_text(&words, effects);
                    self.remember(words, effects);
                    self.screen = Screen::Stream;
                }
            }
            (Action::Copy, _) => {
                self.copy_wanted = self.view.focus();
                self.copy_focused(effects);
            }
            (Action::Up, Screen::Coverage) => {
                self.coverage_row = self.coverage_row.saturating_sub(1)
            }
            (Action::Down, Screen::Coverage) => {
                let types = self.store.counters().types(self.type_order).len();
                self.coverage_row = (self.coverage_row + 1).min(types.saturating_sub(1));
            }
            (Action::Sort, Screen::Coverage) => {
                self.type_order = self.type_order.next();
                self.coverage_row = 0;
            }
            (Action::Open, Screen::Coverage) => {
                let types = self.store.counters().types(self.type_order);
                if let Some(t) = types.get(self.coverage_row).map(|l| l.name.to_owned()) {
                    let words = format!("type:{}", quote_word(&regex::escape(&t)));
                    self.apply_filter_text(&words, effects);
                    self.remember(words, effects);
                    self.screen = Screen::Stream;
                }
            }
            _ => {}
        }
    }

    /// The stream and the focused event side by side: wide enough, and wanted.
    pub fn split_view(&self) -> bool {
        self.split && layout::is_split_wide(self.size)
    }

    fn on_chooser_key(&mut self, cursor: usize, key: &KeyEvent) {
        let last = Column::ALL.len() - 1;
        match keymap::lookup(Context::Chooser, key) {
            Some(Action::Up) => self.chooser = Some(cursor.saturating_sub(1)),
            Some(Action::Down) => self.chooser = Some((cursor + 1).min(last)),
            Some(Action::Toggle) => {
                if let Some(&c) = Column::ALL.get(cursor) {
                    self.columns.toggle(c);
                }
            }
            Some(Action::Cancel) => self.chooser = None,
            _ => {}
        }
    }

    fn quit(&mut self, effects: &mut Vec<Effect>) {
        self.quit = true;
        effects.push(Effect::Quit);
    }

    /// `q` on a live tap that received requests in the last few seconds
    /// asks first: the app may still be sending. `q` again or `Q` quits.
    fn quit_unless_busy(&mut self, effects: &mut Vec<Effect>) {
        const QUIET_SECONDS: i64 = 5;
        let now = self.now.unix_timestamp();
        let last = self.store.counters().per_second.back().map(|(s, _)| *s);
        let busy = self.session.listen.is_some() && last.is_some_and(|s| now - s < QUIET_SECONDS);
        let asked = self.message.as_deref() == Some(Self::STILL_ARRIVING);
        if busy && !asked {
            self.message = Some(Self::STILL_ARRIVING.to_owned());
            return;
        }
        self.quit(effects);
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
                let split = self.split_view();
                let Some(row) = layout::stream_row_at(self.size, split, mouse.column, mouse.row)
                else {
                    return;
                };
                let row = self.view.offset() + row;
                let was = self.view.focus_row();
                self.view.select_row(row);
                // A click on the selected row opens it.
                if was == Some(row) && self.view.focus().is_some() {
                    self.open_detail();
                }
            }
            _ => {}
        }
    }
}
