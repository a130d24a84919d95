//! The judge stage and its fan-out: the one place records are judged.
//!
//! One thread follows the journal *file* — the source of truth — from where
//! this session began (or reads saved journals), judges each record once
//! against the plan, and hands the judged batch to every sink in order. A
//! sink that is slow holds the stage back, never the tap: the stage is
//! behind the file, not in the request path, and catches up from the file
//! whenever it can. Stopping drains to the end of the file and joins.

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::journal::JournalStats;
use crate::judge::Judged;
use crate::plan::{Plan, Validator};
use crate::record::line::Line;
use crate::record::{JournalReader, LineAt, Marker};

/// What flows from the stage to its sinks.
#[derive(Debug, Clone)]
pub enum Item {
    Judged(Arc<Judged>),
    /// A session boundary (`reset`, `tag`) written by the query API.
    Marker(Marker),
}

impl Item {
    /// The journal line it came from.
    pub fn seq(&self) -> u64 {
        match self {
            Item::Judged(j) => j.record.seq,
            Item::Marker(m) => m.seq,
        }
    }
}

/// A consumer of judged records. `accept` runs on the stage's thread, in
/// journal order; a sink that queues elsewhere uses a bounded queue, and
/// when it is full the stage waits (behind the file, never the tap).
pub trait Sink: Send {
    fn accept(&mut self, batch: &[Item]);
    /// A journal line skipped, a file that could not be opened.
    fn warn(&mut self, _message: &str) {}
    /// Every given journal was read to its end (not called when following).
    fn done(&mut self) {}
}

/// Progress, readable from any thread.
#[derive(Debug, Default)]
pub struct Stats {
    /// Requests judged.
    pub records: AtomicU64,
    /// Events judged: each exactly once.
    pub events: AtomicU64,
}

/// Where the stage reads from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Saved journals, read once in order.
    Files(Vec<PathBuf>),
    /// A live journal from `offset` on, waking when its writer rings.
    Live {
        path: PathBuf,
        offset: u64,
        journal: Arc<JournalStats>,
    },
}

impl Source {
    /// The journals, in the order [`LineAt::file`] numbers them.
    pub fn paths(&self) -> Vec<PathBuf> {
        match self {
            Source::Files(paths) => paths.clone(),
            Source::Live { path, .. } => vec![path.clone()],
        }
    }
}

pub struct Pipeline {
    thread: Option<std::thread::JoinHandle<()>>,
    control: Arc<Control>,
    stats: Arc<Stats>,
}

#[derive(Default)]
struct Control {
    /// Stop now (the screen was closed).
    abort: AtomicBool,
    /// Read to the end of the file, then stop (the writer has finished).
    finish: AtomicBool,
}

/// Records per batch: large enough to amortise, small enough to stay live.
const BATCH: usize = 256;
/// Events per batch at most: judged events carry their parsed JSON, so a
/// queue of batches is bounded by what they hold, not only by their count.
const BATCH_EVENTS: usize = 2048;
/// Journal bytes per batch at most: a large record is a batch of its own,
/// so the stage holds one of them at a time.
const BATCH_BYTES: usize = 4 << 20;
/// Insert ids the judge stage remembers for `duplicate_insert_id`: about
/// 20 MB, whatever the session's length (`check` over journals keeps all).
pub const LIVE_ID_WINDOW: usize = 250_000;
/// Longest wait between looks at a live journal when no bell rings.
const IDLE: Duration = Duration::from_millis(100);

impl Pipeline {
    pub fn start(
        source: Source,
        plan: Arc<Plan>,
        sinks: Vec<Box<dyn Sink>>,
    ) -> std::io::Result<Self> {
        let control = Arc::new(Control::default());
        let stats = Arc::new(Stats::default());
        let mut stage = Stage {
            plan,
            sinks,
            control: control.clone(),
            stats: stats.clone(),
            batch: Vec::with_capacity(BATCH),
            batch_events: 0,
            batch_bytes: 0,
        };
        let thread = std::thread::Builder::new()
            .name("amptap-judge".into())
            .spawn(move || stage.run(source))?;
        Ok(Pipeline {
            thread: Some(thread),
            control,
            stats,
        })
    }

    pub fn stats(&self) -> Arc<Stats> {
        self.stats.clone()
    }

    /// Reads what is left of the journal, hands it on, and joins: call it
    /// once the journal's writer has finished, so no record is left behind.
    pub fn finish(mut self) {
        self.control.finish.store(true, Ordering::Relaxed);
        self.join();
    }

    fn join(&mut self) {
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                tracing::error!("the judge stage panicked");
            }
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.control.abort.store(true, Ordering::Relaxed);
            self.join();
        }
    }
}

struct Stage {
    plan: Arc<Plan>,
    sinks: Vec<Box<dyn Sink>>,
    control: Arc<Control>,
    stats: Arc<Stats>,
    batch: Vec<Item>,
    batch_events: usize,
    batch_bytes: usize,
}

impl Stage {
    fn run(&mut self, source: Source) {
        let plan = self.plan.clone();
        let mut validator = Validator::new(&plan).with_id_window(LIVE_ID_WINDOW);
        match source {
            Source::Files(paths) => {
                for (index, path) in paths.iter().enumerate() {
                    match File::open(path) {
                        Ok(file) => {
                            let name = path.display().to_string();
                            let reader = JournalReader::new(file);
                            let file = u32::try_from(index).unwrap_or(u32::MAX);
                            if !self.read(reader, &name, file, &mut validator, None) {
                                return;
                            }
                        }
                        Err(e) => self.warn(&format!("{}: {e}", path.display())),
                    }
                }
                for sink in &mut self.sinks {
                    sink.done();
                }
            }
            Source::Live {
                path,
                offset,
                journal,
            } => {
                yield_to_the_tap();
                let opened = File::open(&path).and_then(|mut f| {
                    f.seek(SeekFrom::Start(offset))?;
                    Ok(f)
                });
                match opened {
                    Ok(file) => {
                        let reader = JournalReader::starting_at(file, offset).following();
                        let name = path.display().to_string();
                        self.read(reader, &name, 0, &mut validator, Some(&journal));
                    }
                    Err(e) => self.warn(&format!("{}: {e}", path.display())),
                }
            }
        }
    }

    fn warn(&mut self, message: &str) {
        for sink in &mut self.sinks {
            sink.warn(message);
        }
    }

    /// Reads one journal to its end (a live one until told to finish);
    /// returns false when told to abort.
    fn read(
        &mut self,
        mut reader: JournalReader<File>,
        name: &str,
        file: u32,
        validator: &mut Validator<'_>,
        live: Option<&JournalStats>,
    ) -> bool {
        let mut warned = 0;
        loop {
            if self.control.abort.load(Ordering::Relaxed) {
                return false;
            }
            // Read before looking at `finish`: once the writer is done, one
            // more pass to the end of the file takes everything.
            let finishing = self.control.finish.load(Ordering::Relaxed);
            let rings = live.map(|j| j.written.rings());
            let next = reader.next_line();
            for w in &reader.warnings()[warned..] {
                let message = format!("{name}: {w}");
                for sink in &mut self.sinks {
                    sink.warn(&message);
                }
            }
            warned = reader.warnings().len();
            let at_end = next.is_none();
            if let Some(located) = next {
                let at = LineAt {
                    file,
                    offset: located.offset,
                    len: located.len,
                };
                self.take(located.line, at, validator);
            }
            let full = self.batch.len() >= BATCH
                || self.batch_events >= BATCH_EVENTS
                || self.batch_bytes >= BATCH_BYTES;
            if (at_end || full) && !self.batch.is_empty() {
                self.flush();
            }
            if at_end {
                match (live, rings) {
                    (Some(journal), Some(rings)) if !finishing => {
                        journal.written.wait_past(rings, IDLE);
                    }
                    _ => return true,
                }
            }
        }
    }

    fn take(&mut self, line: Line, at: LineAt, validator: &mut Validator<'_>) {
        let item = match line {
            Line::Record(record) => {
                let judged = Judged::new(validator, *record).at(at);
                self.batch_events += judged.record.events.len();
                self.batch_bytes += at.len as usize;
                self.stats.records.fetch_add(1, Ordering::Relaxed);
                self.stats
                    .events
                    .fetch_add(judged.record.events.len() as u64, Ordering::Relaxed);
                Item::Judged(Arc::new(judged))
            }
            Line::Marker(marker) => {
                if marker.marker == "reset" {
                    // A new session over the same plan: duplicates and rates start again.
                    validator.reset();
                }
                Item::Marker(marker)
            }
        };
        self.batch.push(item);
    }

    fn flush(&mut self) {
        for sink in &mut self.sinks {
            sink.accept(&self.batch);
        }
        self.batch.clear();
        self.batch_events = 0;
        self.batch_bytes = 0;
    }
}

/// Batches waiting for the screen before the judge stage waits too: with
/// [`BATCH_EVENTS`] per batch, a few tens of MB at most.
pub const SCREEN_QUEUE: usize = 4;

/// Behind a live tap the stage runs only when the tap leaves a core idle
/// (Linux `SCHED_IDLE`): judging never competes with answering the SDKs,
/// and the stage catches up from the journal when the flood ends.
pub(crate) fn yield_to_the_tap() {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::unix::{
            set_thread_priority_and_policy, thread_native_id, NormalThreadSchedulePolicy,
            ThreadSchedulePolicy,
        };
        let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
        let set = set_thread_priority_and_policy(
            thread_native_id(),
            thread_priority::ThreadPriority::Min,
            idle,
        );
        if let Err(e) = set {
            tracing::debug!("the judge stage keeps its priority: {e:?}");
        }
    }
}

/// What a queue sink sends.
#[derive(Debug)]
pub enum Feed {
    Batch(Vec<Item>),
    Warning(String),
    Done,
}

/// A sink that passes batches on through a bounded queue (to the screen,
/// to `serve`'s printer): when the queue is full, the stage waits.
pub struct QueueSink(pub tokio::sync::mpsc::Sender<Feed>);

impl Sink for QueueSink {
    fn accept(&mut self, batch: &[Item]) {
        // A receiver that is gone (the screen closed) no longer wants them.
        let _ = self.0.blocking_send(Feed::Batch(batch.to_vec()));
    }

    fn warn(&mut self, message: &str) {
        let _ = self.0.blocking_send(Feed::Warning(message.to_owned()));
    }

    fn done(&mut self) {
        let _ = self.0.blocking_send(Feed::Done);
    }
}
