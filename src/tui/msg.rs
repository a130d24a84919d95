//! Everything that can happen to the app, and everything it can ask for.

use std::path::PathBuf;

use crossterm::event::{KeyEvent, MouseEvent};
use time::OffsetDateTime;

use std::sync::Arc;

use crate::pipeline::Feed as FeedMsg;
use crate::record::{LineAt, Record};
use crate::report::{Document, Format, ReconcileReport};
use crate::store::view::BodyScan;

#[derive(Debug)]
pub enum Msg {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Resize(u16, u16),
    Feed(FeedMsg),
    /// The frame clock; `now` drives rates and ages.
    Tick(OffsetDateTime),
    /// Progress of the tap and the follower, read off their counters.
    Progress {
        journal_bytes: u64,
        behind: u64,
        /// Why the journal cannot be written now (requests get 503).
        journal_error: Option<String>,
        /// What is wrong with the Kafka link (publishing or following), if anything.
        link_error: Option<String>,
    },
    ExportDone(Result<PathBuf, String>),
    /// The background reconcile moved on.
    ReconcileProgress(crate::export::Progress),
    /// The background reconcile finished: its report and notes, or why it failed.
    ReconcileDone(Result<(Box<ReconcileReport>, Vec<String>), String>),
    /// A row's request, read back from its journal line for the detail view.
    Loaded {
        id: u64,
        record: Result<Arc<Record>, String>,
    },
    /// Verdicts of a filter's body half, read from journal lines, for the
    /// filter job of `generation`: (request number, one verdict per row).
    Bodies {
        generation: u64,
        verdicts: Vec<(u64, Vec<u64>)>,
    },
}

/// Work `update` asks the loop to do (it never does I/O itself).
#[derive(Debug)]
pub enum Effect {
    Quit,
    /// Write a report to a file in the background.
    Export {
        path: PathBuf,
        format: Format,
        report: Box<dyn Document>,
    },
    /// Put text on the clipboard through the terminal (OSC 52).
    Copy(String),
    /// Keep the filter history for the next run.
    SaveHistory(Vec<String>),
    /// Run reconcile in the background (the newest request wins).
    Reconcile,
    /// Read a row's journal line (answered by `Msg::Loaded`).
    Load {
        id: u64,
        seq: u64,
        at: Option<LineAt>,
    },
    /// Read the lines a filter's body half needs (answered by `Msg::Bodies`).
    Scan(BodyScan),
}
