//! Whole journal lines read from a byte offset on: what the publisher sends.

use std::fs::File;
use std::os::unix::fs::FileExt;

pub struct JournalLine {
    /// Where the line starts in the journal.
    pub offset: u64,
    /// The line without its newline.
    pub bytes: Vec<u8>,
}

pub struct Batch {
    pub lines: Vec<JournalLine>,
    /// Just past the last line's newline: where the next batch starts.
    pub end: u64,
}

/// A line longer than this is not one of ours (the tap caps bodies).
const MAX_LINE: usize = 1 << 30;

/// Complete lines from `offset`: up to `max_bytes` (but always at least one
/// line, however long) and `max_lines`. A last line still being written is
/// left for the next call.
pub fn read_batch(
    file: &File,
    offset: u64,
    max_bytes: usize,
    max_lines: usize,
) -> std::io::Result<Batch> {
    let file_len = file.metadata()?.len();
    let mut batch = Batch {
        lines: Vec::new(),
        end: offset,
    };
    if file_len <= offset {
        return Ok(batch);
    }
    let mut want = max_bytes.min(usize::try_from(file_len - offset).unwrap_or(usize::MAX));
    loop {
        let mut buf = vec![0; want];
        let got = read_at_most(file, &mut buf, offset)?;
        buf.truncate(got);
        let mut start = 0;
        while let Some(nl) = buf[start..].iter().position(|&b| b == b'\n') {
            let line = &buf[start..start + nl];
            batch.lines.push(JournalLine {
                offset: offset + start as u64,
                bytes: line.to_vec(),
            });
            start += nl + 1;
            if batch.lines.len() >= max_lines {
                break;
            }
        }
        batch.end = offset + start as u64;
        let whole_file = offset + got as u64 >= file_len;
        if !batch.lines.is_empty() || whole_file || want >= MAX_LINE {
            return Ok(batch);
        }
        // One line longer than a batch: read further until its newline.
        want = (want * 2).min(MAX_LINE);
    }
}

fn read_at_most(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_whole_lines_and_leaves_a_torn_one() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("j");
        std::fs::write(&path, "aa\nbbbbbbbb\ncc\ndd").expect("write");
        let file = File::open(&path).expect("open");
        let b = read_batch(&file, 0, 4, 10).expect("read");
        assert_eq!(b.lines.len(), 1, "a batch of 4 bytes holds aa");
        assert_eq!(b.end, 3);
        let b = read_batch(&file, 3, 4, 10).expect("read");
        assert_eq!(b.lines[0].bytes, b"bbbbbbbb", "a long line is read whole");
        assert_eq!(
            b.lines.iter().map(|l| l.offset).collect::<Vec<_>>(),
            [3, 12]
        );
        assert_eq!(b.end, 15);
        let b = read_batch(&file, b.end, 100, 10).expect("read");
        assert!(b.lines.is_empty(), "dd has no newline yet");
        assert_eq!(b.end, 15);
        let b = read_batch(&file, 0, 100, 2).expect("read");
        assert_eq!((b.lines.len(), b.end), (2, 12));
    }
}
