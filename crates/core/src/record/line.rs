//! The journal line format: exactly one JSON line per record, whatever the
//! bytes a client sent (see `stored` for how), and marker lines (`reset`,
//! `tag`) between them; a reader that streams lines back from any byte source.

use std::io::{BufRead, BufReader, Read};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::Record;

/// A line that is not a request: a session boundary written by the query
/// API, or what the relay's outbox did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Marker {
    pub seq: u64,
    /// `reset` or `tag`.
    pub marker: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// `relayed` / `relay_dropped`: the relay records (by seq) whose events
    /// Amplitude took, or refused by name, with its status and why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seqs: Vec<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Marker {
    /// The relay's outbox: these seqs' events Amplitude took.
    pub const RELAYED: &str = "relayed";
    /// The relay's outbox: Amplitude's 400 named these seqs' events.
    pub const RELAY_DROPPED: &str = "relay_dropped";

    /// A marker line; the journal gives it its seq.
    pub fn new(marker: &str, at: OffsetDateTime) -> Self {
        Marker {
            seq: 0,
            marker: marker.to_owned(),
            at,
            tag: None,
            seqs: Vec::new(),
            status: None,
            reason: None,
        }
    }
}

/// What one journal line holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    Record(Box<Record>),
    Marker(Marker),
}

impl Line {
    pub fn seq(&self) -> u64 {
        match self {
            Line::Record(r) => r.seq,
            Line::Marker(m) => m.seq,
        }
    }
}

/// Appends `record` to `out` as one line, newline included.
pub fn write_record(record: &Record, out: &mut Vec<u8>) -> serde_json::Result<()> {
    serde_json::to_writer(&mut *out, record)?;
    out.push(b'\n');
    Ok(())
}

/// Appends `marker` to `out` as one line, newline included.
pub fn write_marker(marker: &Marker, out: &mut Vec<u8>) -> serde_json::Result<()> {
    serde_json::to_writer(&mut *out, marker)?;
    out.push(b'\n');
    Ok(())
}

/// Reads one line (without or with its newline).
pub fn parse_line(line: &[u8]) -> Result<Line, serde_json::Error> {
    match serde_json::from_slice::<Record>(line) {
        Ok(record) => Ok(Line::Record(Box::new(record))),
        Err(e) => serde_json::from_slice::<Marker>(line)
            .map(Line::Marker)
            .map_err(|_| e),
    }
}

/// A line the reader skipped, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalWarning {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for JournalWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// One line read back, with where it starts in the journal.
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    /// Byte offset of the line in its journal.
    pub offset: u64,
    /// Its length, newline included.
    pub len: u64,
    pub line: Line,
}

/// Where a line is: which of the journals being read, and its bytes there.
/// Stores keep this instead of the line and read it back on demand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct LineAt {
    /// Index of the journal among those being read (0 for a live tap).
    pub file: u32,
    pub offset: u64,
    /// Length, newline included.
    pub len: u64,
}

/// Streams lines back from a journal, one at a time.
///
/// Lines that are neither records nor markers are skipped and reported in
/// [`JournalReader::warnings`]; the last line of a journal cut short by a
/// crash is reported as torn. As an iterator it yields the records only.
pub struct JournalReader<R> {
    input: BufReader<R>,
    line_no: usize,
    /// Bytes consumed so far: the offset of the next line.
    offset: u64,
    line: Vec<u8>,
    warnings: Vec<JournalWarning>,
    /// A journal still being written: an unfinished last line is kept for
    /// the next call instead of being skipped as torn.
    follow: bool,
}

impl<R: Read> JournalReader<R> {
    pub fn new(input: R) -> Self {
        Self::starting_at(input, 0)
    }

    /// Reads from a source already positioned at byte `offset` of its journal.
    pub fn starting_at(input: R, offset: u64) -> Self {
        JournalReader {
            input: BufReader::with_capacity(256 * 1024, input),
            line_no: 0,
            offset,
            line: Vec::new(),
            warnings: Vec::new(),
            follow: false,
        }
    }

    /// Reads a journal that is still growing: `next()` returns `None` at
    /// the current end and picks up from there when called again.
    pub fn following(mut self) -> Self {
        self.follow = true;
        self
    }

    pub fn warnings(&self) -> &[JournalWarning] {
        &self.warnings
    }

    /// Offset of the next line to be read.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    fn warn(&mut self, message: String) {
        self.warnings.push(JournalWarning {
            line: self.line_no,
            message,
        });
    }

    /// The next record or marker, with its place in the journal.
    pub fn next_line(&mut self) -> Option<Located> {
        loop {
            // In follow mode `line` may hold the start of a line from last time.
            let before = self.line.len();
            match self.input.read_until(b'\n', &mut self.line) {
                Ok(0) if self.follow || self.line.is_empty() => return None,
                Ok(_) => {}
                Err(e) => {
                    self.line_no += 1;
                    self.line.truncate(before);
                    self.warn(format!("read error, stopping: {e}"));
                    return None;
                }
            }
            let complete = self.line.last() == Some(&b'\n');
            if !complete && self.follow {
                return None; // the writer has not finished this line yet
            }
            self.line_no += 1;
            let offset = self.offset;
            let len = self.line.len() as u64;
            self.offset += len;
            let blank = self.line.iter().all(u8::is_ascii_whitespace);
            let parsed = (!blank).then(|| parse_line(&self.line));
            self.line.clear(); // keeps its capacity for the next line…
            if self.line.capacity() > 1 << 20 {
                self.line = Vec::new(); // …unless one huge line made it huge
            }
            match parsed {
                None => {}
                Some(Ok(line)) => return Some(Located { offset, len, line }),
                Some(Err(_)) if !complete => {
                    self.warn("incomplete last line (a write cut short by a crash), skipped".into())
                }
                Some(Err(e)) => self.warn(format!("not a journal record, skipped: {e}")),
            }
        }
    }
}

impl<R: Read> Iterator for JournalReader<R> {
    type Item = Record;

    fn next(&mut self) -> Option<Record> {
        loop {
            match self.next_line()?.line {
                Line::Record(record) => return Some(*record),
                Line::Marker(_) => {}
            }
        }
    }
}
