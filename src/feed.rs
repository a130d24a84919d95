//! Follows journals into checked batches for the TUI.
//!
//! The screen never reads the network: it reads the journal, the source of
//! truth, through this follower on its own thread. A live session and a
//! saved one take the same path; when the screen falls behind, the
//! follower simply waits on its bounded channel while the journal keeps
//! being written, and catches up from the file.

use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::judge::check_capture;
use crate::plan::{Plan, Validator};
use crate::record::JournalReader;
use crate::store::Checked;

/// What the follower reports.
#[derive(Debug)]
pub enum FeedMsg {
    Batch(Vec<Checked>),
    /// A line skipped, a file that could not be opened.
    Warning(String),
    /// Every given journal was read to its end (not sent when following).
    Done,
}

/// Progress, readable from any thread.
#[derive(Debug, Default)]
pub struct FeedStats {
    /// Requests read so far.
    pub records: AtomicU64,
}

pub struct FeedConfig {
    pub journals: Vec<PathBuf>,
    /// Keep reading the last journal as it grows (watch, demo).
    pub follow: bool,
    pub plan: Arc<Plan>,
}

/// Captures per batch: large enough to amortise, small enough to draw between.
const BATCH: usize = 256;
const POLL: Duration = Duration::from_millis(25);

/// Starts the follower thread; it stops when `stop` is set or the receiver is gone.
pub fn spawn(
    config: FeedConfig,
    tx: mpsc::Sender<FeedMsg>,
    stats: Arc<FeedStats>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("amptap-feed".into())
        .spawn(move || follow(config, &tx, &stats, &stop))
}

fn follow(config: FeedConfig, tx: &mpsc::Sender<FeedMsg>, stats: &FeedStats, stop: &AtomicBool) {
    let mut validator = Validator::new(&config.plan);
    let count = config.journals.len();
    for (i, path) in config.journals.iter().enumerate() {
        let tail = config.follow && i + 1 == count;
        let file = loop {
            match File::open(path) {
                Ok(f) => break Some(f),
                // A live journal may not exist for a moment after start.
                Err(_) if tail && !stop.load(Ordering::Relaxed) => std::thread::sleep(POLL),
                Err(e) => {
                    let _ = tx.blocking_send(FeedMsg::Warning(format!("{}: {e}", path.display())));
                    break None;
                }
            }
        };
        let Some(file) = file else { continue };
        let name = path.display().to_string();
        if !read_journal(file, &name, tail, &mut validator, tx, stats, stop) {
            return;
        }
    }
    let _ = tx.blocking_send(FeedMsg::Done);
}

/// Reads one journal; returns false when the receiver is gone or asked to stop.
fn read_journal(
    file: File,
    name: &str,
    tail: bool,
    validator: &mut Validator<'_>,
    tx: &mpsc::Sender<FeedMsg>,
    stats: &FeedStats,
    stop: &AtomicBool,
) -> bool {
    // The same reader as `check` and `open`; following keeps a half-written
    // last line until the journal writer finishes it.
    let reader = JournalReader::new(file);
    let mut reader = if tail { reader.following() } else { reader };
    let mut warned = 0;
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        let next = reader.next();
        for w in &reader.warnings()[warned..] {
            let _ = tx.blocking_send(FeedMsg::Warning(format!("{name}: {w}")));
        }
        warned = reader.warnings().len();
        let at_end = next.is_none();
        if let Some(capture) = next {
            stats.records.fetch_add(1, Ordering::Relaxed);
            let findings = check_capture(validator, &capture);
            let tag = capture.tag.clone();
            batch.push(Checked {
                capture,
                findings,
                tag,
            });
        }
        if (at_end || batch.len() >= BATCH)
            && !batch.is_empty()
            && tx
                .blocking_send(FeedMsg::Batch(std::mem::take(&mut batch)))
                .is_err()
        {
            return false;
        }
        if at_end {
            if !tail {
                return true;
            }
            std::thread::sleep(POLL);
        }
    }
}
