//! Journal lines read back by position ([`crate::store::Lines`]): the store
//! keeps where each request's line is, and this reads it when the detail
//! view, free-text search or the query API needs the events themselves.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::record::LineAt;
use crate::store::Lines;

/// The journals a store was filled from, in the order their `LineAt::file`
/// numbers them; each opened once, on first use, and read with `pread` (a
/// live journal still growing is fine: lines are only read once written).
pub struct FileLines {
    paths: Vec<PathBuf>,
    open: Mutex<Vec<Option<Arc<File>>>>,
}

/// A line longer than this is not a journal line of ours (the tap caps bodies).
const MAX_LINE: u64 = 1 << 30;

impl FileLines {
    pub fn new(paths: Vec<PathBuf>) -> Self {
        let open = Mutex::new(vec![None; paths.len()]);
        FileLines { paths, open }
    }

    fn file(&self, index: u32) -> std::io::Result<Arc<File>> {
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let slot = open
            .get_mut(index as usize)
            .ok_or_else(|| std::io::Error::other(format!("no journal number {index}")))?;
        if let Some(file) = slot {
            return Ok(file.clone());
        }
        let file = Arc::new(File::open(&self.paths[index as usize])?);
        *slot = Some(file.clone());
        Ok(file)
    }
}

impl Lines for FileLines {
    fn read(&self, at: LineAt) -> std::io::Result<Vec<u8>> {
        if at.len > MAX_LINE {
            return Err(std::io::Error::other("line too long"));
        }
        let file = self.file(at.file)?;
        let mut buf = vec![0; at.len as usize];
        file.read_exact_at(&mut buf, at.offset)?;
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lines_by_position_and_says_when_it_cannot() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("j.jsonl");
        std::fs::write(&path, "first\nsecond\n").expect("write");
        let lines = FileLines::new(vec![path]);
        let at = |offset, len| LineAt {
            file: 0,
            offset,
            len,
        };
        assert_eq!(lines.read(at(6, 7)).expect("line"), b"second\n");
        assert!(lines.read(at(10, 7)).is_err(), "past the end");
        assert!(lines
            .read(LineAt {
                file: 1,
                ..at(0, 1)
            })
            .is_err());
    }
}
