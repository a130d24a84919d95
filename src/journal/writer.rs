//! The writer thread: group commit, the durability policy, cutting back a
//! torn write, and the checks on the file it appends to.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;

use super::{Fsync, Job, JournalError, JournalStats, Line, GROUP_COMMIT};
use crate::record::line as line_format;

/// How often `Fsync::Batch` syncs.
const BATCH_SYNC: std::time::Duration = std::time::Duration::from_secs(1);

/// Starts the writer on `file` (already at its end, `len` bytes of whole
/// lines) and, for `Fsync::Batch`, the thread that syncs it once a second.
pub(super) fn start(
    file: File,
    path: &Path,
    fsync: Fsync,
    len: u64,
    next_seq: u64,
    stats: Arc<JournalStats>,
    rx: mpsc::Receiver<Job>,
) -> io::Result<std::thread::JoinHandle<()>> {
    let closed = Arc::new(AtomicBool::new(false));
    if fsync == Fsync::Batch {
        let file = file.try_clone()?;
        let (closed, path) = (closed.clone(), path.to_owned());
        std::thread::Builder::new()
            .name("amptap-fsync".into())
            .spawn(move || sync_every_second(&file, &closed, &path))?;
    }
    let writer = Writer {
        file,
        fsync,
        closed,
        len,
        path: path.to_owned(),
        next_seq,
        stats,
    };
    std::thread::Builder::new()
        .name("amptap-journal".into())
        .spawn(move || writer.run(rx))
}

struct Writer {
    file: File,
    fsync: Fsync,
    /// Set when the writer ends: the batch syncer's signal to stop.
    closed: Arc<AtomicBool>,
    /// Bytes of whole lines in the file: where a failed write is cut back to.
    len: u64,
    path: PathBuf,
    next_seq: u64,
    stats: Arc<JournalStats>,
}

/// The most the line buffer keeps between groups.
const KEEP_BUFFER: usize = 1 << 20;

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
            // A 20 MB record once must not keep 20 MB for good.
            if buf.capacity() > KEEP_BUFFER {
                buf = Vec::with_capacity(64 * 1024);
            }
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
        // Sized up front: a buffer doubling its way to 20 MB holds 1.5 times
        // that while it copies.
        let estimate: usize = jobs
            .iter()
            .map(|job| match job {
                Line::Record(record, _) => {
                    let events: usize =
                        record.events.iter().map(|e| e.raw().get().len() + 64).sum();
                    events + record.body.as_ref().map_or(0, |b| 2 * b.bytes.len()) + 4096
                }
                Line::Marker(..) => 256,
            })
            .sum();
        buf.reserve(estimate);
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
fn sync_every_second(file: &File, closed: &AtomicBool, path: &Path) {
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
pub(super) fn looks_like_a_journal(file: &mut File) -> io::Result<bool> {
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
pub(super) fn scan_existing(file: &mut File) -> io::Result<(u64, bool)> {
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
