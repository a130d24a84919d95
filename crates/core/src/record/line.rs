//! The journal line format: one JSON line per record, and marker lines
//! (`reset`, `tag`) between them; a reader that streams records back from
//! any byte source, skipping what is not a record.

use std::io::{BufRead, BufReader, Read};

use super::Capture;

/// A line that is not a request: a session boundary written by the query API.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Marker {
    pub seq: u64,
    /// `reset` or `tag`.
    pub marker: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: time::OffsetDateTime,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

/// Whether a journal line is a marker (`reset`, `tag`) rather than a request.
pub fn is_marker(line: &[u8]) -> bool {
    serde_json::from_slice::<Marker>(line).is_ok()
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

/// Streams captures back from a journal, one line at a time.
///
/// Lines that are not capture records are skipped and reported in
/// [`JournalReader::warnings`]; the last line of a journal cut short by a
/// crash is reported as torn.
pub struct JournalReader<R> {
    input: BufReader<R>,
    line_no: usize,
    line: Vec<u8>,
    warnings: Vec<JournalWarning>,
    /// A journal still being written: an unfinished last line is kept for
    /// the next call instead of being skipped as torn.
    follow: bool,
}

impl<R: Read> JournalReader<R> {
    pub fn new(input: R) -> Self {
        JournalReader {
            input: BufReader::with_capacity(256 * 1024, input),
            line_no: 0,
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

    fn warn(&mut self, message: String) {
        self.warnings.push(JournalWarning {
            line: self.line_no,
            message,
        });
    }
}

impl<R: Read> Iterator for JournalReader<R> {
    type Item = Capture;

    fn next(&mut self) -> Option<Capture> {
        loop {
            // In follow mode `line` may hold the start of a line from last time.
            match self.input.read_until(b'\n', &mut self.line) {
                Ok(0) if self.follow || self.line.is_empty() => return None,
                Ok(_) => {}
                Err(e) => {
                    self.line_no += 1;
                    self.line.clear();
                    self.warn(format!("read error, stopping: {e}"));
                    return None;
                }
            }
            let complete = self.line.last() == Some(&b'\n');
            if !complete && self.follow {
                return None; // the writer has not finished this line yet
            }
            self.line_no += 1;
            let blank = self.line.iter().all(u8::is_ascii_whitespace);
            let parsed = (!blank).then(|| serde_json::from_slice::<Capture>(&self.line));
            // Session markers (reset, tag) are not requests.
            let marker = matches!(parsed, Some(Err(_))) && is_marker(&self.line);
            self.line.clear(); // keeps its capacity for the next line
            match parsed {
                None => {}
                Some(Ok(capture)) => return Some(capture),
                Some(Err(_)) if !complete => {
                    self.warn(
                        "incomplete last line (a write cut short by a crash), skipped".into(),
                    );
                }
                Some(Err(_)) if marker => {}
                Some(Err(e)) => self.warn(format!("not a capture record, skipped: {e}")),
            }
        }
    }
}
