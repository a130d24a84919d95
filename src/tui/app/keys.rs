//! Keys and the mouse: what each does on each screen (the key table itself
//! is in `keymap`).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind};

use super::{App, Screen};
use crate::filter::Filter;
use crate::store::SortKey;
use crate::tui::columns::Column;
use crate::tui::input::{quote_word, Input, InputKind};
use crate::tui::keymap::{self, Action, Context};
use crate::tui::layout;
use crate::tui::msg::Effect;

impl App {
    pub(super) fn on_key(&mut self, key: KeyEvent, effects: &mut Vec<Effect>) {
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
            let lines = crate::tui::panes::help::lines(self).len() as u16;
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
            (Action::Sort, Screen::Stream) => {
                let key = SortKey::after(self.view.sort_key());
                self.view.sort_by(key, &self.store);
                self.message = Some(match key {
                    Some(key) => format!(
                        "sorted by {} · new events wait at the end until s sorts again",
                        key.name()
                    ),
                    None => "in arrival order".to_owned(),
                });
            }
            (Action::Find, Screen::Detail) => {
                let text = self.find.clone().unwrap_or_default();
                self.input = Some(Input {
                    kind: InputKind::Find,
                    cursor: text.chars().count(),
                    text,
                    error: None,
                    before: String::new(),
                });
            }
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

    pub(super) fn on_mouse(&mut self, mouse: MouseEvent) {
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
