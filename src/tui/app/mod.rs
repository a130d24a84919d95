//! The application state and its one entry point, `update(msg) -> effects`.
//! Drawing only reads this state (see `draw`).

use std::path::PathBuf;
use std::sync::Arc;

use ratatui::layout::Rect;
use time::OffsetDateTime;

mod focus;
mod keys;
mod reconcile;
mod typing;

pub use reconcile::ReconcileState;

use super::columns::{Shown, TimeMode};
use super::input::Input;
use super::layout;
use super::msg::{Effect, Msg};
use super::theme::Theme;
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
    /// The Kafka broker is away: what is published or followed waits.
    pub link_error: Option<String>,
    pub behind: u64,
    pub theme: Theme,
    /// The stream's columns and how times read.
    pub columns: Shown,
    pub time_mode: TimeMode,
    /// How the event-types view is sorted.
    pub type_order: TypeOrder,
    /// The focused event beside the stream on a wide terminal (`v`).
    pub split: bool,
    /// Text found in the open event (`f`), marked and scrolled to.
    pub find: Option<String>,
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
            link_error: None,
            behind: 0,
            theme,
            columns: Shown::default(),
            time_mode: TimeMode::default(),
            type_order: TypeOrder::default(),
            split: true,
            find: None,
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
                link_error,
            } => {
                let now = (journal_bytes, behind, journal_error, link_error);
                let was = (
                    self.journal_bytes,
                    self.behind,
                    self.journal_error.clone(),
                    self.link_error.clone(),
                );
                if now == was {
                    return effects;
                }
                (
                    self.journal_bytes,
                    self.behind,
                    self.journal_error,
                    self.link_error,
                ) = now;
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

    /// The stream and the focused event side by side: wide enough, and wanted.
    pub fn split_view(&self) -> bool {
        self.split && layout::is_split_wide(self.size)
    }
}
