//! A file written whole or not at all: the bytes go to a private temporary
//! file beside the destination (0600, an unguessable name, created
//! exclusively, so nothing planted there is followed) and replace the
//! destination only on [`OutFile::commit`]. Dropped uncommitted — an error,
//! a full disk, Ctrl-C — the temporary file is removed and the destination
//! is untouched.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub struct OutFile {
    temp: tempfile::NamedTempFile,
    dest: PathBuf,
}

impl OutFile {
    pub fn create(dest: &Path) -> io::Result<Self> {
        let dir = match dest.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let name = dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".part")
            .tempfile_in(dir)
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("creating a file in {}: {e}", dir.display()),
                )
            })?;
        Ok(OutFile {
            temp,
            dest: dest.to_owned(),
        })
    }

    /// Makes the written bytes durable and puts them at the destination.
    pub fn commit(mut self) -> io::Result<()> {
        self.temp.flush()?;
        self.temp.as_file().sync_data()?;
        self.temp.persist(&self.dest).map(drop).map_err(|e| {
            io::Error::new(
                e.error.kind(),
                format!("{}: {}", self.dest.display(), e.error),
            )
        })
    }
}

impl Write for OutFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.temp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.temp.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_destination_changes_only_on_commit() {
        let dir = tempfile::tempdir().expect("dir");
        let dest = dir.path().join("report.csv");
        std::fs::write(&dest, "old").expect("write");
        let mut out = OutFile::create(&dest).expect("create");
        out.write_all(b"half").expect("write");
        let mode = std::fs::metadata(out.temp.path())
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        drop(out);
        assert_eq!(std::fs::read_to_string(&dest).expect("read"), "old");
        assert_eq!(
            std::fs::read_dir(dir.path()).expect("ls").count(),
            1,
            "no leftovers"
        );
        let mut out = OutFile::create(&dest).expect("create");
        out.write_all(b"new").expect("write");
        out.commit().expect("commit");
        assert_eq!(std::fs::read_to_string(&dest).expect("read"), "new");
    }
}
