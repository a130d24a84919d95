//! `--publish kafka://…`: every journal line, published to a topic.
//!
//! The publisher follows the journal *file* on a thread of its own, behind
//! the tap like the judge stage: the SDK's answer never waits for Kafka.
//! While the broker is away the journal is the buffer — the publisher holds
//! one batch in memory, and when the broker returns it carries on from the
//! position it remembered (in `JOURNAL.published.json`, so a restart goes on
//! from there too). A batch whose answer was lost (a timeout, a crash) is
//! looked for in the topic before it is sent again: nothing twice.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::conn::{own_thread, Health};
use super::position::{self, Position};
use super::KafkaUrl;
use crate::journal::JournalStats;

mod work;

/// Header naming the journal a record came from, and its byte offset there.
pub const SOURCE_HEADER: &str = "amptap-source";
pub const OFFSET_HEADER: &str = "amptap-offset";

/// What the publisher has done, readable from any thread.
#[derive(Debug)]
pub struct PublishStats {
    pub target: String,
    /// The broker took the last batch (or nothing has been tried yet).
    pub health: Health,
    /// Records the broker acknowledged this session.
    pub records: AtomicU64,
    /// Attempts that failed (the batch waits and is sent again).
    pub failures: AtomicU64,
    /// Lines larger than the broker takes, left in the journal only.
    pub too_large: AtomicU64,
    /// Journal offset published up to.
    pub published: AtomicU64,
    /// The journal's counters, and where this session's lines began: its
    /// end is `start + bytes written`.
    journal: Arc<JournalStats>,
    journal_start: u64,
}

impl PublishStats {
    /// Journal bytes written but not yet in the topic.
    pub fn backlog_bytes(&self) -> u64 {
        let end = self.journal_start + self.journal.bytes.load(Ordering::Relaxed);
        end.saturating_sub(self.published.load(Ordering::Relaxed))
    }

    /// Why the broker cannot be used now, if it cannot.
    pub fn down(&self) -> Option<String> {
        self.health.down()
    }
}

#[derive(Default)]
pub(super) struct Control {
    pub(super) abort: AtomicBool,
    /// Publish to the end of the journal, but give up at this instant.
    finish_by: Mutex<Option<Instant>>,
}

impl Control {
    pub(super) fn finish_by(&self) -> Option<Instant> {
        *self.finish_by.lock().unwrap_or_else(|p| p.into_inner())
    }
    pub(super) fn past_deadline(&self) -> bool {
        self.abort.load(Ordering::Relaxed) || self.finish_by().is_some_and(|t| Instant::now() >= t)
    }
}

pub struct Publisher {
    thread: Option<std::thread::JoinHandle<()>>,
    control: Arc<Control>,
    pub stats: Arc<PublishStats>,
}

impl Publisher {
    /// Starts publishing `journal` from where it was last published to this
    /// topic, or from `session_start` the first time.
    pub fn start(
        url: KafkaUrl,
        journal: &Path,
        written: Arc<JournalStats>,
        session_start: u64,
    ) -> std::io::Result<Publisher> {
        let target = url.to_string();
        let mut positions = position::Book::of(journal)?;
        let position = match positions.get(&target) {
            Some(p) => p.clone(),
            None => {
                // Remembered at once: if the broker is away for this whole
                // session, the next start still knows where to begin.
                let first = Position {
                    source: position::new_source(),
                    offset: session_start,
                    pending: None,
                };
                positions.put(&target, &first)?;
                first
            }
        };
        let stats = Arc::new(PublishStats {
            target: target.clone(),
            health: Health::new(true),
            records: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            too_large: AtomicU64::new(0),
            published: AtomicU64::new(position.offset),
            journal: written.clone(),
            journal_start: session_start,
        });
        let control = Arc::new(Control::default());
        let mut work = work::Work {
            url,
            target,
            journal: journal.to_owned(),
            positions,
            position,
            written,
            stats: stats.clone(),
            control: control.clone(),
            topic: None,
            marks: Vec::new(),
        };
        let thread = own_thread("amptap-publish", async move {
            // Behind the tap, like the judge stage: the journal waits, the SDK does not.
            crate::pipeline::yield_to_the_tap();
            work.run().await;
        })?;
        Ok(Publisher {
            thread: Some(thread),
            control,
            stats,
        })
    }

    /// Publishes what the journal holds, for at most `grace` (a broker that
    /// is away keeps the rest for the next start), and joins.
    pub fn finish(mut self, grace: Duration) {
        *self
            .control
            .finish_by
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(Instant::now() + grace);
        self.join();
    }

    fn join(&mut self) {
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the publisher panicked");
            }
        }
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.control.abort.store(true, Ordering::Relaxed);
        self.join();
    }
}
