//! How far a journal has been published to a topic, remembered beside the
//! journal (`JOURNAL.published.json`), so a restart neither skips records
//! nor publishes them twice.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One journal's progress towards one topic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// This journal's name in the topic (the `amptap-source` header), so a
    /// batch whose answer was lost can be found there before it is sent again.
    pub source: String,
    /// Journal bytes before this offset are in the topic.
    pub offset: u64,
    /// A batch sent but not yet acknowledged: the lines from `offset` to
    /// `end`, and where each partition stood before it (search from there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<Pending>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub end: u64,
    pub partitions: BTreeMap<i32, i64>,
}

/// A journal's positions by topic address, kept in memory and written whole
/// to its file (other topics' entries stay as they were read).
#[derive(Debug)]
pub struct Book {
    file: PathBuf,
    all: BTreeMap<String, Position>,
}

impl Book {
    /// The positions remembered beside `journal` (none yet is no error).
    pub fn of(journal: &Path) -> std::io::Result<Book> {
        let file = path_for(journal);
        let all = match std::fs::read(&file) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| std::io::Error::other(format!("{}: {e}", file.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(e),
        };
        Ok(Book { file, all })
    }

    pub fn file(&self) -> &Path {
        &self.file
    }

    pub fn get(&self, target: &str) -> Option<&Position> {
        self.all.get(target)
    }

    /// Saves `position` for `target`: written to a new file and renamed
    /// over the old, so a crash leaves one or the other whole.
    pub fn put(&mut self, target: &str, position: &Position) -> std::io::Result<()> {
        self.all.insert(target.to_owned(), position.clone());
        let dir = self.file.parent().filter(|d| !d.as_os_str().is_empty());
        let mut tmp = tempfile::NamedTempFile::new_in(dir.unwrap_or(Path::new(".")))?;
        serde_json::to_writer(&mut tmp, &self.all).map_err(std::io::Error::other)?;
        tmp.write_all(b"\n")?;
        tmp.persist(&self.file).map_err(|e| e.error)?;
        Ok(())
    }
}

fn path_for(journal: &Path) -> PathBuf {
    let mut name = journal.file_name().unwrap_or_default().to_os_string();
    name.push(".published.json");
    journal.with_file_name(name)
}

/// A new name for a journal in a topic.
pub fn new_source() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_each_topic_apart() {
        let dir = tempfile::tempdir().expect("dir");
        let journal = dir.path().join("j.jsonl");
        let mut book = Book::of(&journal).expect("none yet");
        assert!(book.file().ends_with("j.jsonl.published.json"));
        assert_eq!(book.get("kafka://a/t"), None);
        let mut p = Position {
            source: new_source(),
            offset: 10,
            pending: None,
        };
        book.put("kafka://a/t", &p).expect("save");
        p.offset = 20;
        p.pending = Some(Pending {
            end: 30,
            partitions: BTreeMap::from([(0, 5)]),
        });
        book.put("kafka://b/t", &p).expect("save");
        let again = Book::of(&journal).expect("read");
        assert_eq!(again.get("kafka://a/t").map(|p| p.offset), Some(10));
        assert_eq!(again.get("kafka://b/t"), Some(&p));
        std::fs::write(again.file(), "{").expect("write");
        assert!(
            Book::of(&journal).is_err(),
            "a damaged file is said, not ignored"
        );
    }
}
