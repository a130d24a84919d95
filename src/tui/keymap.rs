//! The one key table: context, key, action, help. The help screen and the
//! footer are generated from it, and a test checks it has no clashes.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Context {
    /// Everywhere except while typing in the filter or export line.
    Global,
    Stream,
    Detail,
    Coverage,
    Reconcile,
    Help,
    /// The column chooser over the stream.
    Chooser,
    /// The filter bar and the export prompt.
    Input,
}

impl Context {
    pub fn title(self) -> &'static str {
        match self {
            Context::Global => "Everywhere",
            Context::Stream => "Event stream",
            Context::Detail => "Event detail",
            Context::Coverage => "Event types",
            Context::Reconcile => "Reconcile (captured × Amplitude's export)",
            Context::Help => "Help (any other key returns)",
            Context::Chooser => "Column chooser",
            Context::Input => "Filter bar and export prompt",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    QuitNow,
    Help,
    ShowStream,
    ShowCoverage,
    ShowStats,
    Reconcile,
    NextScreen,
    OpenFilter,
    ClearFilter,
    ToggleProblems,
    TogglePause,
    Export,
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    Open,
    Back,
    FilterToType,
    Copy,
    NextEvent,
    PrevEvent,
    Submit,
    Cancel,
    HistoryPrev,
    HistoryNext,
    NextProblem,
    PrevProblem,
    ChooseColumns,
    ToggleSplit,
    Find,
    CycleTime,
    Sort,
    Toggle,
}

pub struct Binding {
    pub context: Context,
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
    /// How the key is written in help.
    pub label: &'static str,
    pub action: Action,
    pub help: &'static str,
}

const fn key(
    context: Context,
    code: KeyCode,
    label: &'static str,
    action: Action,
    help: &'static str,
) -> Binding {
    Binding {
        context,
        code,
        modifiers: KeyModifiers::NONE,
        label,
        action,
        help,
    }
}

const fn ctrl(
    context: Context,
    c: char,
    label: &'static str,
    action: Action,
    help: &'static str,
) -> Binding {
    Binding {
        context,
        code: KeyCode::Char(c),
        modifiers: KeyModifiers::CONTROL,
        label,
        action,
        help,
    }
}

use Action as A;
use Context as C;
use KeyCode as K;

pub const BINDINGS: &[Binding] = &[
    key(
        C::Global,
        K::Char('q'),
        "q",
        A::Quit,
        "quit; asks first while requests are arriving",
    ),
    key(C::Global, K::Char('Q'), "Q", A::QuitNow, "quit at once"),
    ctrl(C::Global, 'c', "Ctrl-C", A::QuitNow, "quit at once"),
    key(C::Global, K::Char('?'), "?", A::Help, "this help"),
    key(C::Global, K::Char('1'), "1", A::ShowStream, "event stream"),
    key(
        C::Global,
        K::Char('2'),
        "2",
        A::ShowCoverage,
        "event types: counts, problems, rates, plan coverage",
    ),
    key(C::Global, K::Char('3'), "3", A::ShowStats, "stats"),
    key(C::Global, K::Tab, "Tab", A::NextScreen, "next screen"),
    key(
        C::Global,
        K::Char('/'),
        "/",
        A::OpenFilter,
        "filter (see the grammar below)",
    ),
    key(
        C::Global,
        K::Char('\\'),
        "\\",
        A::ClearFilter,
        "clear the filter",
    ),
    key(
        C::Global,
        K::Char('e'),
        "e",
        A::ToggleProblems,
        "only events with findings",
    ),
    key(
        C::Global,
        K::Char(' '),
        "space",
        A::TogglePause,
        "pause the view (capture goes on)",
    ),
    key(
        C::Global,
        K::Char('x'),
        "x",
        A::Export,
        "export the filtered view's findings (on Reconcile: the mismatch report)",
    ),
    key(
        C::Global,
        K::Char('r'),
        "r",
        A::Reconcile,
        "reconcile with Amplitude's export (again: refresh)",
    ),
    key(
        C::Stream,
        K::Up,
        "↑ k",
        A::Up,
        "previous event (stops following)",
    ),
    key(C::Stream, K::Char('k'), "k", A::Up, "previous event"),
    key(C::Stream, K::Down, "↓ j", A::Down, "next event"),
    key(C::Stream, K::Char('j'), "j", A::Down, "next event"),
    key(C::Stream, K::PageUp, "PgUp", A::PageUp, "page up"),
    key(C::Stream, K::PageDown, "PgDn", A::PageDown, "page down"),
    key(C::Stream, K::Home, "Home g", A::Home, "first event"),
    key(C::Stream, K::Char('g'), "g", A::Home, "first event"),
    key(
        C::Stream,
        K::End,
        "End G",
        A::End,
        "last event, follow the tail",
    ),
    key(C::Stream, K::Char('G'), "G", A::End, "follow the tail"),
    key(C::Stream, K::Enter, "Enter", A::Open, "open the event"),
    key(
        C::Stream,
        K::Char(']'),
        "]",
        A::NextProblem,
        "next event with a finding",
    ),
    key(
        C::Stream,
        K::Char('['),
        "[",
        A::PrevProblem,
        "previous event with a finding",
    ),
    key(
        C::Stream,
        K::Char('s'),
        "s",
        A::Sort,
        "sort by event type → user → check → answer → event time → arrival",
    ),
    key(
        C::Stream,
        K::Char('v'),
        "v",
        A::ToggleSplit,
        "the focused event beside the stream (180 columns and wider)",
    ),
    key(
        C::Stream,
        K::Char('c'),
        "c",
        A::ChooseColumns,
        "choose the columns",
    ),
    key(
        C::Global,
        K::Char('T'),
        "T",
        A::CycleTime,
        "times: local → UTC → how long ago",
    ),
    key(
        C::Stream,
        K::Char('t'),
        "t",
        A::FilterToType,
        "filter to the selected event's type",
    ),
    key(
        C::Stream,
        K::Char('y'),
        "y",
        A::Copy,
        "copy the event's JSON (OSC 52)",
    ),
    key(C::Detail, K::Esc, "Esc", A::Back, "back to the stream"),
    key(C::Detail, K::Backspace, "Backspace", A::Back, "back"),
    key(C::Detail, K::Up, "↑ k", A::Up, "scroll up"),
    key(C::Detail, K::Char('k'), "k", A::Up, "scroll up"),
    key(C::Detail, K::Down, "↓ j", A::Down, "scroll down"),
    key(C::Detail, K::Char('j'), "j", A::Down, "scroll down"),
    key(C::Detail, K::PageUp, "PgUp", A::PageUp, "page up"),
    key(C::Detail, K::PageDown, "PgDn", A::PageDown, "page down"),
    key(C::Detail, K::Char('n'), "n", A::NextEvent, "next event"),
    key(
        C::Detail,
        K::Char('f'),
        "f",
        A::Find,
        "find text in this event (marked; Enter: next match)",
    ),
    key(C::Detail, K::Char('p'), "p", A::PrevEvent, "previous event"),
    key(
        C::Detail,
        K::Char(']'),
        "]",
        A::NextProblem,
        "next event with a finding",
    ),
    key(
        C::Detail,
        K::Char('['),
        "[",
        A::PrevProblem,
        "previous event with a finding",
    ),
    key(
        C::Detail,
        K::Char('y'),
        "y",
        A::Copy,
        "copy the event's JSON (OSC 52)",
    ),
    key(
        C::Detail,
        K::Char('t'),
        "t",
        A::FilterToType,
        "filter to this event's type",
    ),
    key(C::Coverage, K::Up, "↑ k", A::Up, "previous event type"),
    key(C::Coverage, K::Char('k'), "k", A::Up, "previous event type"),
    key(C::Coverage, K::Down, "↓ j", A::Down, "next event type"),
    key(C::Coverage, K::Char('j'), "j", A::Down, "next event type"),
    key(
        C::Coverage,
        K::Enter,
        "Enter",
        A::Open,
        "show this type's events",
    ),
    key(
        C::Coverage,
        K::Char('s'),
        "s",
        A::Sort,
        "sort by events → problems → problem rate → name",
    ),
    key(
        C::Input,
        K::Enter,
        "Enter",
        A::Submit,
        "keep the filter / write the report",
    ),
    key(C::Input, K::Esc, "Esc", A::Cancel, "cancel"),
    key(
        C::Input,
        K::Up,
        "↑",
        A::HistoryPrev,
        "earlier filter (kept across runs)",
    ),
    key(C::Input, K::Down, "↓", A::HistoryNext, "later filter"),
    key(C::Reconcile, K::Up, "↑ k", A::Up, "previous problem"),
    key(C::Reconcile, K::Char('k'), "k", A::Up, "previous problem"),
    key(C::Reconcile, K::Down, "↓ j", A::Down, "next problem"),
    key(C::Reconcile, K::Char('j'), "j", A::Down, "next problem"),
    key(C::Reconcile, K::Esc, "Esc", A::Back, "back to the stream"),
    key(
        C::Reconcile,
        K::Enter,
        "Enter",
        A::Open,
        "open the event as it was sent (missing ones too)",
    ),
    key(
        C::Reconcile,
        K::Char('f'),
        "f",
        A::Sort,
        "show one class of problem at a time: missing → rejected → … → all",
    ),
    key(C::Chooser, K::Up, "↑ k", A::Up, "previous column"),
    key(C::Chooser, K::Char('k'), "k", A::Up, "previous column"),
    key(C::Chooser, K::Down, "↓ j", A::Down, "next column"),
    key(C::Chooser, K::Char('j'), "j", A::Down, "next column"),
    key(
        C::Chooser,
        K::Char(' '),
        "space",
        A::Toggle,
        "show or hide it",
    ),
    key(C::Chooser, K::Enter, "Enter", A::Toggle, "show or hide it"),
    key(C::Chooser, K::Esc, "Esc c", A::Cancel, "close"),
    key(C::Chooser, K::Char('c'), "c", A::Cancel, "close"),
    key(C::Help, K::Up, "↑ k", A::Up, "scroll up"),
    key(C::Help, K::Char('k'), "k", A::Up, "scroll up"),
    key(C::Help, K::Down, "↓ j", A::Down, "scroll down"),
    key(C::Help, K::Char('j'), "j", A::Down, "scroll down"),
    key(C::Help, K::PageUp, "PgUp", A::PageUp, "page up"),
    key(C::Help, K::PageDown, "PgDn", A::PageDown, "page down"),
];

/// The action for a key in a context, falling back to the global keys
/// (except while typing, where every other key is text).
pub fn lookup(context: Context, key: &KeyEvent) -> Option<Action> {
    let find = |ctx: Context| {
        BINDINGS.iter().find(|b| {
            b.context == ctx
                && b.code == key.code
                && (b.modifiers == key.modifiers
                    || (b.modifiers == KeyModifiers::NONE && key.modifiers == KeyModifiers::SHIFT))
        })
    };
    find(context)
        .or_else(|| match context {
            Context::Input | Context::Help | Context::Chooser => None,
            _ => find(Context::Global),
        })
        .map(|b| b.action)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn no_key_is_bound_twice_in_a_context_or_shadowed_by_a_global() {
        let mut seen = HashSet::new();
        for b in BINDINGS {
            assert!(
                seen.insert((b.context, b.code, b.modifiers)),
                "{:?} {:?} bound twice",
                b.context,
                b.code
            );
        }
        for b in BINDINGS.iter().filter(|b| b.context == Context::Global) {
            for ctx in [
                Context::Stream,
                Context::Detail,
                Context::Coverage,
                Context::Reconcile,
            ] {
                assert!(
                    !seen.contains(&(ctx, b.code, b.modifiers)),
                    "{:?} shadows global {}",
                    ctx,
                    b.label
                );
            }
        }
    }

    #[test]
    fn lookups_fall_back_to_global_keys_but_not_while_typing() {
        let q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(lookup(Context::Stream, &q), Some(Action::Quit));
        assert_eq!(lookup(Context::Input, &q), None);
        let g = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(lookup(Context::Stream, &g), Some(Action::End));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(lookup(Context::Detail, &ctrl_c), Some(Action::QuitNow));
    }
}
