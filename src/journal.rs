//! The journal: every request the tap receives, appended as one JSON line.
//!
//! One dedicated thread owns the file. Requests queue on a bounded channel;
//! the thread writes whatever has queued, flushes once (group commit) and
//! only then acknowledges, so an SDK is never answered before its request is
//! on disk. After a crash every complete line reads back; a torn last line
//! is skipped with a warning by [`JournalReader`].

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::record::line as line_format;
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

/// How often `Fsync::Batch` syncs.
const BATCH_SYNC: std::time::Duration = std::time::Duration::from_secs(1);

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
#[derive(Debug, Default)]
pub struct Wake {
    rings: std::sync::Mutex<u64>,
    bell: std::sync::Condvar,
}

impl Wake {
    pub fn ring(&self) {
        let mut rings = self.rings.lock().unwrap_or_else(|p| p.into_inner());
        *rings += 1;
        self.bell.notify_all();
    }

    /// How often it has rung so far.
    pub fn rings(&self) -> u64 {
        *self.rings.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until it rings past `seen`, at most `timeout`; returns the rings.
    pub fn wait_past(&self, seen: u64, timeout: std::time::Duration) -> u64 {
        let rings = self.rings.lock().unwrap_or_else(|p| p.into_inner());
        let (rings, _) = self
            .bell
            .wait_timeout_while(rings, timeout, |r| *r <= seen)
            .unwrap_or_else(|p| p.into_inner());
        *rings
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
        if !looks_like_a_journal(&mut file).map_err(open_err)? {
            return Err(JournalError::NotAJournal {
                path: path.to_owned(),
            });
        }
        let (complete_lines, ends_torn) = scan_existing(&mut file).map_err(open_err)?;
        if ends_torn {
            // Start on a fresh line so the next record is not glued to a torn one.
            file.write_all(b"\n").map_err(open_err)?;
        }
        let start_offset = file.seek(SeekFrom::End(0)).map_err(open_err)?;
        let (tx, rx) = mpsc::channel(QUEUE_DEPTH);
        let stats = Arc::new(JournalStats::default());
        let closed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        if fsync == Fsync::Batch {
            let file = file.try_clone().map_err(open_err)?;
            let (closed, path) = (closed.clone(), path.to_owned());
            std::thread::Builder::new()
                .name("amptap-fsync".into())
                .spawn(move || sync_every_second(&file, &closed, &path))
                .map_err(open_err)?;
        }
        let writer = Writer {
            file,
            fsync,
            closed,
            len: start_offset,
            path: path.to_owned(),
            next_seq: complete_lines + u64::from(ends_torn) + 1,
            stats: stats.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("amptap-journal".into())
            .spawn(move || writer.run(rx))
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
        let (ack, done) = oneshot::channel();
        let line = Marker {
            seq: 0,
            marker: marker.to_owned(),
            at: time::OffsetDateTime::now_utc(),
            tag,
        };
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

struct Writer {
    file: File,
    fsync: Fsync,
    /// Set when the writer ends: the batch syncer's signal to stop.
    closed: Arc<std::sync::atomic::AtomicBool>,
    /// Bytes of whole lines in the file: where a failed write is cut back to.
    len: u64,
    path: PathBuf,
    next_seq: u64,
    stats: Arc<JournalStats>,
}

impl Writer {
    fn run(mut self, mut rx: mpsc::Receiver<Job>) {
        let mut jobs = Vec::with_capacity(GROUP_COMMIT);
        let mut buf = Vec::with_capacity(64 * 1024);
        while let Some(first) = rx.blocking_recv() {
            jobs.push(first);
            while jobs.len() < GROUP_COMMIT {
                match rx.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            self.commit(&mut jobs, &mut buf);
        }
        self.closed.store(true, Ordering::Relaxed);
        if self.fsync != Fsync::Never {
            if let Err(e) = self.file.sync_data() {
                tracing::error!(path = %self.path.display(), %e, "journal: last sync failed");
            }
        }
    }

    fn commit(&mut self, jobs: &mut Vec<Job>, buf: &mut Vec<u8>) {
        buf.clear();
        let first_seq = self.next_seq;
        for job in jobs.iter_mut() {
            // Captures and markers hold only strings, numbers and raw JSON: they always serialize.
            let ok = match job {
                Line::Record(capture, _) => {
                    capture.seq = self.next_seq;
                    line_format::write_record(capture, buf).is_ok()
                }
                Line::Marker(marker, _) => {
                    marker.seq = self.next_seq;
                    line_format::write_marker(marker, buf).is_ok()
                }
            };
            debug_assert!(ok, "records hold only strings, numbers and raw JSON");
            self.next_seq += 1;
        }
        let written = self
            .file
            .write_all(buf)
            .and_then(|()| self.file.flush())
            .and_then(|()| self.sync());
        let captures = jobs
            .iter()
            .filter(|j| matches!(j, Line::Record(..)))
            .count() as u64;
        let result = match written {
            Ok(()) => {
                self.len += buf.len() as u64;
                if self.stats.broken.swap(false, Ordering::Relaxed) {
                    tracing::warn!(path = %self.path.display(), "journal writable again");
                }
                // Requests only: markers are not records anyone waits for.
                self.stats.records.fetch_add(captures, Ordering::Relaxed);
                self.stats
                    .bytes
                    .fetch_add(buf.len() as u64, Ordering::Relaxed);
                self.stats
                    .last_seq
                    .store(self.next_seq - 1, Ordering::Relaxed);
                self.stats.written.ring();
                Ok(())
            }
            Err(source) => {
                tracing::error!(path = %self.path.display(), %source, "journal write failed");
                self.fail(first_seq, captures, &source);
                Err(Arc::new(JournalError::Write {
                    path: self.path.clone(),
                    source,
                }))
            }
        };
        for job in jobs.drain(..) {
            match job {
                Line::Record(capture, ack) => {
                    let _ = ack.send(result.clone().map(|()| capture.seq));
                }
                Line::Marker(marker, ack) => {
                    let _ = ack.send(result.clone().map(|()| marker.seq));
                }
            }
        }
    }
}

impl Writer {
    /// Makes the lines durable as the policy says; a failed sync is a
    /// failed write (the disk may not hold them).
    fn sync(&mut self) -> io::Result<()> {
        match self.fsync {
            Fsync::Always => self.file.sync_data(),
            Fsync::Batch | Fsync::Never => Ok(()),
        }
    }

    /// A write failed (a full disk): cut what part of it reached the file,
    /// so the next record starts on a line of its own, and give its
    /// numbers back, so numbering stays continuous when space returns.
    fn fail(&mut self, first_seq: u64, captures: u64, source: &io::Error) {
        if let Err(e) = self.file.set_len(self.len) {
            tracing::error!(path = %self.path.display(), %e, "cannot cut a torn write back");
        }
        self.next_seq = first_seq;
        self.stats.failures.fetch_add(captures, Ordering::Relaxed);
        *self
            .stats
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(source.to_string());
        self.stats.broken.store(true, Ordering::Relaxed);
    }
}

/// `Fsync::Batch`: the journal made durable once a second, beside the writer.
fn sync_every_second(file: &File, closed: &std::sync::atomic::AtomicBool, path: &Path) {
    while !closed.load(Ordering::Relaxed) {
        std::thread::sleep(BATCH_SYNC);
        if let Err(e) = file.sync_data() {
            tracing::error!(path = %path.display(), %e, "journal: sync failed");
        }
    }
}

/// Empty, or its first line is one of ours (a record or a marker; a lone
/// line cut short by a crash counts when it begins as a record does).
/// Appending to anything else — a plan named by mistake — would corrupt it.
fn looks_like_a_journal(file: &mut File) -> io::Result<bool> {
    let mut head = Vec::new();
    file.seek(SeekFrom::Start(0))?;
    std::io::BufRead::read_until(
        &mut io::BufReader::new(&mut *file).take(1 << 20),
        b'\n',
        &mut head,
    )?;
    file.seek(SeekFrom::End(0))?;
    if head.is_empty() {
        return Ok(true);
    }
    if head.ends_with(b"\n") {
        return Ok(line_format::parse_line(&head).is_ok());
    }
    Ok(head.starts_with(b"{\"seq\":"))
}

/// Counts the complete lines already in a journal and tells whether it ends torn.
fn scan_existing(file: &mut File) -> io::Result<(u64, bool)> {
    let len = file.seek(SeekFrom::End(0))?;
    if len == 0 {
        return Ok((0, false));
    }
    file.seek(SeekFrom::Start(0))?;
    let mut lines = 0;
    let mut last = 0u8;
    let mut chunk = [0u8; 64 * 1024];
    loop {
        let n = file.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        lines += chunk[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        last = chunk[n - 1];
    }
    file.seek(SeekFrom::End(0))?;
    Ok((lines, last != b'\n'))
}

/// Opens a journal file for reading.
pub fn open_reader(path: &Path) -> Result<JournalReader<File>, JournalError> {
    let file = File::open(path).map_err(|source| JournalError::Open {
        path: path.to_owned(),
        source,
    })?;
    Ok(JournalReader::new(file))
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
}
