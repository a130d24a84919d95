//! The export archive: a zip of per-hour gzipped JSON-lines files, read
//! entry by entry and line by line — never a whole archive or a whole hour
//! in memory. A broken row or entry is reported with where it was, and the
//! rest still reads.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use flate2::read::GzDecoder;

use super::row::ExportedRow;
use super::ExportError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveWarning {
    /// `<entry name>:<line>` or `<entry name>`.
    pub at: String,
    pub message: String,
}

impl std::fmt::Display for ArchiveWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.at, self.message)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArchiveStats {
    pub files: usize,
    pub rows: u64,
    /// Bytes of JSON read (after gunzip).
    pub bytes: u64,
}

/// Reads every row of the archive at `path` into `on_row`.
pub fn read_archive(
    path: &Path,
    mut on_row: impl FnMut(ExportedRow),
    warnings: &mut Vec<ArchiveWarning>,
) -> Result<ArchiveStats, ExportError> {
    let bad = |reason: String| ExportError::BadArchive {
        path: path.display().to_string(),
        reason,
    };
    let file = File::open(path)?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| bad(e.to_string()))?;
    let mut stats = ArchiveStats::default();
    for i in 0..zip.len() {
        let entry = match zip.by_index(i) {
            Ok(entry) => entry,
            Err(e) => {
                warnings.push(ArchiveWarning {
                    at: format!("entry {i}"),
                    message: format!("unreadable, skipped: {e}"),
                });
                continue;
            }
        };
        if entry.is_dir() {
            continue;
        }
        let name = entry.name().to_owned();
        let reader: Box<dyn Read> = if name.ends_with(".gz") {
            Box::new(GzDecoder::new(entry))
        } else if name.ends_with(".json") || name.ends_with(".jsonl") {
            Box::new(entry)
        } else {
            warnings.push(ArchiveWarning {
                at: name,
                message: "not an export file (.json.gz), skipped".into(),
            });
            continue;
        };
        stats.files += 1;
        read_lines(reader, &name, &mut on_row, warnings, &mut stats);
    }
    Ok(stats)
}

/// Reads a plain JSON-lines file of rows (what `amptap export --out` writes).
pub fn read_rows_file(
    path: &Path,
    mut on_row: impl FnMut(ExportedRow),
    warnings: &mut Vec<ArchiveWarning>,
) -> Result<ArchiveStats, ExportError> {
    let mut stats = ArchiveStats {
        files: 1,
        ..ArchiveStats::default()
    };
    let name = path.display().to_string();
    read_lines(File::open(path)?, &name, &mut on_row, warnings, &mut stats);
    Ok(stats)
}

/// Whether a file is a zip archive (by its magic bytes).
pub fn is_zip(path: &Path) -> std::io::Result<bool> {
    let mut magic = [0u8; 4];
    let n = File::open(path)?.read(&mut magic)?;
    Ok(n == 4 && magic == *b"PK\x03\x04")
}

fn read_lines(
    reader: impl Read,
    name: &str,
    on_row: &mut impl FnMut(ExportedRow),
    warnings: &mut Vec<ArchiveWarning>,
    stats: &mut ArchiveStats,
) {
    let mut reader = BufReader::with_capacity(128 * 1024, reader);
    let mut line = Vec::new();
    let mut n = 0usize;
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => return,
            Ok(len) => stats.bytes += len as u64,
            Err(e) => {
                warnings.push(ArchiveWarning {
                    at: format!("{name}:{}", n + 1),
                    message: format!("corrupt from here, rest of this file skipped: {e}"),
                });
                return;
            }
        }
        n += 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<ExportedRow>(&line) {
            Ok(row) => {
                stats.rows += 1;
                on_row(row);
            }
            Err(e) => warnings.push(ArchiveWarning {
                at: format!("{name}:{n}"),
                message: format!("not an event row, skipped: {e}"),
            }),
        }
    }
}

/// Writes rows as Amplitude does: one gzipped JSON-lines file per hour of
/// `server_upload_time`, named `<project>/<project>_<YYYY-MM-DD>_<H>#<N>.json.gz`.
pub fn write_archive(
    rows: &[ExportedRow],
    project: u64,
    out: impl std::io::Write + std::io::Seek,
) -> std::io::Result<()> {
    use std::collections::BTreeMap;
    use std::io::Write;
    let mut by_hour: BTreeMap<String, Vec<&ExportedRow>> = BTreeMap::new();
    for row in rows {
        let ms = row.server_upload_ms().unwrap_or(0);
        let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        let name = format!(
            "{project}/{project}_{:04}-{:02}-{:02}_{}#0.json.gz",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour()
        );
        by_hour.entry(name).or_default().push(row);
    }
    let mut zip = zip::ZipWriter::new(out);
    // The hour files are gzipped already: store them as they are.
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, rows) in by_hour {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        for row in rows {
            serde_json::to_writer(&mut gz, row)?;
            gz.write_all(b"\n")?;
        }
        zip.start_file(name, options)
            .map_err(std::io::Error::other)?;
        zip.write_all(&gz.finish()?)?;
    }
    zip.finish().map_err(std::io::Error::other)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn row(id: &str, upload: &str) -> ExportedRow {
        ExportedRow {
            insert_id: Some(id.into()),
            event_type: Some("e".into()),
            server_upload_time: Some(upload.into()),
            ..ExportedRow::default()
        }
    }

    #[test]
    fn writes_hour_files_and_reads_them_back() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("export.zip");
        let rows = [
            row("a", "2026-11-24 09:59:59.000000"),
            row("b", "2026-11-24 10:00:00.000000"),
            row("c", "2026-11-24 10:30:00.000000"),
        ];
        write_archive(&rows, 187520, File::create(&path).expect("create")).expect("write");
        let names: Vec<String> = {
            let zip = zip::ZipArchive::new(File::open(&path).expect("open")).expect("zip");
            zip.file_names().map(str::to_owned).collect()
        };
        assert!(
            names.contains(&"187520/187520_2026-11-24_9#0.json.gz".to_owned()),
            "{names:?}"
        );
        assert!(
            names.contains(&"187520/187520_2026-11-24_10#0.json.gz".to_owned()),
            "{names:?}"
        );
        let mut ids = Vec::new();
        let mut warnings = Vec::new();
        let stats = read_archive(
            &path,
            |r| ids.push(r.insert_id.unwrap_or_default()),
            &mut warnings,
        )
        .expect("read");
        ids.sort();
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!((stats.files, stats.rows), (2, 3));
        assert!(warnings.is_empty());
        assert!(is_zip(&path).expect("magic"));
    }

    #[test]
    fn a_broken_row_or_entry_is_reported_and_the_rest_reads() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("broken.zip");
        let mut zip = zip::ZipWriter::new(File::create(&path).expect("create"));
        let options = zip::write::SimpleFileOptions::default();
        let mut good = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        good.write_all(b"{\"$insert_id\":\"a\"}\n{broken\n{\"$insert_id\":\"b\"}\n")
            .expect("gz");
        zip.start_file("1/1_2026-11-24_9#0.json.gz", options)
            .expect("start");
        zip.write_all(&good.finish().expect("finish"))
            .expect("write");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&b"{\"$insert_id\":\"c\"}\n".repeat(100))
            .expect("gz");
        let mut cut = gz.finish().expect("finish");
        cut.truncate(cut.len() / 2);
        zip.start_file("1/1_2026-11-24_10#0.json.gz", options)
            .expect("start");
        zip.write_all(&cut).expect("write");
        zip.finish().expect("zip");

        let mut ids = Vec::new();
        let mut warnings = Vec::new();
        read_archive(
            &path,
            |r| ids.push(r.insert_id.unwrap_or_default()),
            &mut warnings,
        )
        .expect("read");
        assert_eq!(&ids[..2], ["a", "b"]);
        assert!(
            warnings
                .iter()
                .any(|w| w.at == "1/1_2026-11-24_9#0.json.gz:2"
                    && w.message.contains("not an event row")),
            "{warnings:?}"
        );
        assert!(
            warnings
                .iter()
                .any(|w| w.at.starts_with("1/1_2026-11-24_10#0.json.gz")
                    && w.message.contains("corrupt")),
            "{warnings:?}"
        );

        std::fs::write(&path, b"PK\x03\x04 not really a zip").expect("write");
        let err = read_archive(&path, |_| {}, &mut Vec::new()).expect_err("corrupt archive");
        assert!(
            err.to_string().contains("not a readable export archive"),
            "{err}"
        );
    }
}
