//! Everything that can happen to the app, and everything it can ask for.

use std::path::PathBuf;

use crossterm::event::{KeyEvent, MouseEvent};
use time::OffsetDateTime;

use crate::pipeline::Feed as FeedMsg;
use crate::report::{Format, Report};

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
    },
    ExportDone(Result<PathBuf, String>),
    /// The background reconcile moved on.
    ReconcileProgress(crate::export::Progress),
    /// The background reconcile finished: its report and notes, or why it failed.
    ReconcileDone(Result<(Box<Report>, Vec<String>), String>),
}

/// Work `update` asks the loop to do (it never does I/O itself).
#[derive(Debug)]
pub enum Effect {
    Quit,
    /// Write a report to a file in the background.
    Export {
        path: PathBuf,
        format: Format,
        report: Box<Report>,
    },
    /// Put text on the clipboard through the terminal (OSC 52).
    Copy(String),
    /// Keep the filter history for the next run.
    SaveHistory(Vec<String>),
    /// Run reconcile in the background (the newest request wins).
    Reconcile,
}
