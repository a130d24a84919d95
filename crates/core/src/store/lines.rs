//! Reading a journal line back by where it is. The store keeps locations,
//! not lines; whoever owns the files (the app) implements [`Lines`].

use crate::record::line::{parse_line, Line};
use crate::record::{LineAt, Record};

/// Reads the bytes of a line from the journals a store was filled from.
pub trait Lines: Send + Sync {
    fn read(&self, at: LineAt) -> std::io::Result<Vec<u8>>;
}

#[derive(Debug, thiserror::Error)]
pub enum LineError {
    #[error("reading the journal: {0}")]
    Io(#[from] std::io::Error),
    #[error(
        "the journal line at byte {offset} is no longer request #{seq}: was the file replaced?"
    )]
    Changed { offset: u64, seq: u64 },
    #[error("this request was not read from a journal")]
    NoLine,
}

/// The record of request `seq`, read back from its line.
pub fn load_record(lines: &dyn Lines, at: Option<LineAt>, seq: u64) -> Result<Record, LineError> {
    let at = at.ok_or(LineError::NoLine)?;
    let bytes = lines.read(at)?;
    match parse_line(&bytes) {
        Ok(Line::Record(record)) if record.seq == seq => Ok(*record),
        _ => Err(LineError::Changed {
            offset: at.offset,
            seq,
        }),
    }
}

/// Journals held in memory, one `Vec` per file: for tests and small tools.
#[derive(Debug, Default, Clone)]
pub struct MemoryLines(pub Vec<Vec<u8>>);

impl Lines for MemoryLines {
    fn read(&self, at: LineAt) -> std::io::Result<Vec<u8>> {
        let missing = || std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
        let file = self.0.get(at.file as usize).ok_or_else(missing)?;
        let start = usize::try_from(at.offset).map_err(|_| missing())?;
        let end = start.saturating_add(usize::try_from(at.len).map_err(|_| missing())?);
        file.get(start..end).map(<[u8]>::to_vec).ok_or_else(missing)
    }
}
