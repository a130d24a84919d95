//! The journal: every request the tap receives, appended as one JSON line.
//!
//! One dedicated thread owns the file. Requests queue on a bounded channel;
//! the thread writes whatever has queued, flushes once (group commit) and
//! only then acknowledges, so an SDK is never answered before its request is
//! on disk. After a crash every complete line reads back; a torn last line
//! is skipped with a warning by [`JournalReader`].

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

mod writer;

use crate::record::{JournalReader, Marker, Record};

/// When the journal asks the disk to make its lines durable (`fdatasync`).
/// Every policy writes and flushes each record before the SDK is answered;
/// they differ in what survives a power cut (a crashed amptap loses nothing
/// written in any of them: the lines are in the OS's cache).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Fsync {
    /// Before every answer: nothing acknowledged is lost even to a power cut.
    Always,
    /// Once a second, on a thread of its own (answers never wait for it):
    /// a power cut loses at most the last second.
    #[default]
    Batch,
    /// Never: the OS writes back when it will.
    Never,
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot open journal {path}: {source}")]
    Open { path: PathBuf, source: io::Error },
    #[error("cannot write journal {path}: {source}")]
    Write { path: PathBuf, source: io::Error },
    #[error("the journal writer has stopped")]
    Closed,
    #[error("refusing to append to {path}: it is not an amptap journal (its first line is not a record); name a new or empty file with --record")]
    NotAJournal { path: PathBuf },
}

/// Counters the journal keeps, readable from any thread.
#[derive(Debug, Default)]
pub struct JournalStats {
    pub records: AtomicU64,
    pub bytes: AtomicU64,
    /// Sequence number of the last line on disk (records and markers).
    pub last_seq: AtomicU64,
    /// Rung after every write, for readers following the file.
    pub written: Wake,
    /// Requests whose record could not be written (each was answered 503).
    pub failures: AtomicU64,
    /// The last write failed and none has succeeded since.
    pub broken: std::sync::atomic::AtomicBool,
    /// Why the last write failed.
    pub last_error: std::sync::Mutex<Option<String>>,
}

impl JournalStats {
    /// Why the journal cannot be written now, if it cannot.
    pub fn broken(&self) -> Option<String> {
        if !self.broken.load(Ordering::Relaxed) {
            return None;
        }
        let error = self.last_error.lock().unwrap_or_else(|p| p.into_inner());
        Some(error.clone().unwrap_or_default())
    }
}

/// A bell a follower waits on instead of polling the file.
///
/// The count is an atomic: followers run at idle priority and look at it
/// for every line they read, and were that a lock, one preempted while
/// holding it would stop the writer — the tap's bottleneck — until the
/// machine had a moment to spare. The lock is only the condvar's.
#[derive(Debug, Default)]
pub struct Wake {
    rings: std::sync::atomic::AtomicU64,
    waiting: std::sync::Mutex<()>,
    bell: std::sync::Condvar,
}

impl Wake {
    pub fn ring(&self) {
        self.rings.fetch_add(1, Ordering::SeqCst);
        // Taken (and let go) so that a follower between looking at the
        // count and waiting cannot miss this ring.
        drop(self.waiting.lock().unwrap_or_else(|p| p.into_inner()));
        self.bell.notify_all();
    }

    /// How often it has rung so far.
    pub fn rings(&self) -> u64 {
        self.rings.load(Ordering::SeqCst)
    }

    /// Waits until it rings past `seen`, at most `timeout`; returns the rings.
    pub fn wait_past(&self, seen: u64, timeout: std::time::Duration) -> u64 {
        let waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        let _ = self
            .bell
            .wait_timeout_while(waiting, timeout, |()| self.rings() <= seen)
            .unwrap_or_else(|p| p.into_inner());
        self.rings()
    }
}

enum Line {
    Record(Box<Record>, oneshot::Sender<Result<u64, Arc<JournalError>>>),
    Marker(Marker, oneshot::Sender<Result<u64, Arc<JournalError>>>),
}

type Job = Line;

/// Appends captures; cheap to clone, one per request handler.
#[derive(Clone)]
pub struct Journal {
    tx: mpsc::Sender<Job>,
    path: Arc<PathBuf>,
    stats: Arc<JournalStats>,
    start_offset: u64,
}

/// Waits for the writer thread to finish its queue once every [`Journal`] is dropped.
pub struct JournalWriterHandle(std::thread::JoinHandle<()>);

impl JournalWriterHandle {
    pub async fn finished(self) {
        // The thread exits once the channel is closed and drained.
        let _ = tokio::task::spawn_blocking(move || self.0.join()).await;
    }
}

/// How many requests may wait for the disk before handlers wait too.
const QUEUE_DEPTH: usize = 4096;
/// Most records written per flush.
const GROUP_COMMIT: usize = 512;

impl Journal {
    /// Opens (creating or appending to) `path` and starts the writer thread.
    /// Nothing downstream is fed from here: the pipeline follows the file.
    pub fn open(path: &Path, fsync: Fsync) -> Result<(Journal, JournalWriterHandle), JournalError> {
        let open_err = |source| JournalError::Open {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(open_err)?;
        }
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .map_err(open_err)?;
        if !writer::looks_like_a_journal(&mut file).map_err(open_err)? {
            return Err(JournalError::NotAJournal {
                path: path.to_owned(),
            });
        }
        let (complete_lines, ends_torn) = writer::scan_existing(&mut file).map_err(open_err)?;
        if ends_torn {
            // Start on a fresh line so the next record is not glued to a torn one.
            file.write_all(b"\n").map_err(open_err)?;
        }
        let start_offset = file.seek(SeekFrom::End(0)).map_err(open_err)?;
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let stats = Arc::new(JournalStats::default());
        let next_seq = complete_lines + u64::from(ends_torn) + 1;
        let thread = writer::start(file, path, fsync, start_offset, next_seq, stats.clone(), rx)
            .map_err(open_err)?;
        Ok((
            Journal {
                tx,
                path: Arc::new(path.to_owned()),
                stats,
                start_offset,
            },
            JournalWriterHandle(thread),
        ))
    }

    /// Appends one record; returns its sequence number once it is on disk.
    pub async fn append(&self, capture: Record) -> Result<u64, Arc<JournalError>> {
        let (ack, done) = oneshot::channel();
        self.tx
            .send(Line::Record(Box::new(capture), ack))
            .await
            .map_err(|_| Arc::new(JournalError::Closed))?;
        done.await.map_err(|_| Arc::new(JournalError::Closed))?
    }

    /// Appends a marker line (`reset`, `tag`); returns its sequence number.
    pub async fn mark(&self, marker: &str, tag: Option<String>) -> Result<u64, Arc<JournalError>> {
        let mut line = Marker::new(marker, time::OffsetDateTime::now_utc());
        line.tag = tag;
        self.write_marker(line).await
    }

    /// Appends any marker line (the relay's delivery notes).
    pub async fn write_marker(&self, line: Marker) -> Result<u64, Arc<JournalError>> {
        let (ack, done) = oneshot::channel();
        self.tx
            .send(Line::Marker(line, ack))
            .await
            .map_err(|_| Arc::new(JournalError::Closed))?;
        done.await.map_err(|_| Arc::new(JournalError::Closed))?
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where this session's lines begin in the file (it may hold earlier sessions).
    pub fn start_offset(&self) -> u64 {
        self.start_offset
    }

    pub fn stats(&self) -> &JournalStats {
        &self.stats
    }

    /// The counters, kept alive past the journal itself.
    pub fn stats_handle(&self) -> Arc<JournalStats> {
        self.stats.clone()
    }

    /// Requests waiting for the disk right now.
    pub fn queued(&self) -> usize {
        QUEUE_DEPTH - self.tx.capacity()
    }
}

/// Opens a journal file for reading.
pub fn open_reader(path: &Path) -> Result<JournalReader<File>, JournalError> {
    let file = File::open(path).map_err(|source| JournalError::Open {
        path: path.to_owned(),
        source,
    })?;
    Ok(JournalReader::new(file))
}

/// Whether `path` holds an amptap journal (an empty file counts): its first
/// line reads as a record or a marker.
pub fn is_a_journal(path: &std::path::Path) -> std::io::Result<bool> {
    let mut file = std::fs::File::open(path)?;
    writer::looks_like_a_journal(&mut file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const LINE: &str = r#"{"seq":1,"received":"2026-11-24T10:00:00Z","endpoint":"/2/httpapi","client":"c","body_bytes":1,"events":[],"answer":{"status":200,"body":""},"delivery":{"kind":"offline"}}"#;

    #[test]
    fn a_following_reader_waits_for_a_half_written_line() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("j.jsonl");
        let mut file = File::create(&path).expect("create");
        let (head, tail) = LINE.split_at(40);
        file.write_all(head.as_bytes()).expect("write");
        let mut reader = open_reader(&path).expect("open").following();
        assert!(reader.next().is_none(), "not finished yet");
        writeln!(file, "{tail}").expect("write");
        assert_eq!(reader.next().map(|c| c.seq), Some(1));
        assert!(
            reader.warnings().is_empty(),
            "a line being written is not torn"
        );

        // Read once, the same unfinished line is torn.
        let mut file = File::options().append(true).open(&path).expect("open");
        file.write_all(head.as_bytes()).expect("write");
        let mut once = open_reader(&path).expect("open");
        assert_eq!(once.by_ref().count(), 1);
        assert_eq!(once.warnings().len(), 1);
    }

    #[test]
    fn the_bell_wakes_a_waiting_follower_and_times_out_without_a_ring() {
        let wake = Arc::new(Wake::default());
        let seen = wake.rings();
        let started = std::time::Instant::now();
        assert_eq!(
            wake.wait_past(seen, std::time::Duration::from_millis(50)),
            seen
        );
        assert!(started.elapsed() >= std::time::Duration::from_millis(50));

        let ringer = wake.clone();
        let thread = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(20));
            ringer.ring();
        });
        let rang = wake.wait_past(seen, std::time::Duration::from_secs(10));
        assert_eq!(rang, seen + 1);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "woken, not timed out"
        );
        thread.join().expect("ringer");
    }
}
