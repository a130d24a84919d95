//! The export archive: a zip of per-hour gzipped JSON-lines files, read
//! entry by entry and line by line — never a whole archive or a whole hour
//! in memory. A broken row or entry is reported with where it was, and the
//! rest still reads.

use std::io::{BufRead, BufReader, Read, Seek};

use flate2::read::GzDecoder;

use super::row::ExportedRow;

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

/// An archive that cannot be read at all (a broken row or entry is only a warning).
#[derive(Debug, thiserror::Error)]
#[error("{name}: not a readable export archive: {reason}")]
pub struct ArchiveError {
    pub name: String,
    pub reason: String,
}

/// Reads every row of the zip archive `input` (called `name` in warnings) into `on_row`.
pub fn read_archive<R: Read + Seek>(
    input: R,
    name: &str,
    mut on_row: impl FnMut(ExportedRow),
    warnings: &mut Vec<ArchiveWarning>,
) -> Result<ArchiveStats, ArchiveError> {
    let mut zip = zip::ZipArchive::new(input).map_err(|e| ArchiveError {
        name: name.to_owned(),
        reason: e.to_string(),
    })?;
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

/// Reads a plain JSON-lines stream of rows (what `amptap export --out` writes).
pub fn read_rows(
    input: impl Read,
    name: &str,
    mut on_row: impl FnMut(ExportedRow),
    warnings: &mut Vec<ArchiveWarning>,
) -> ArchiveStats {
    let mut stats = ArchiveStats {
        files: 1,
        ..ArchiveStats::default()
    };
    read_lines(input, name, &mut on_row, warnings, &mut stats);
    stats
}

/// Whether bytes start a zip archive (its magic number).
pub fn is_zip(head: &[u8]) -> bool {
    head.starts_with(b"PK\x03\x04")
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
    use std::io::{Cursor, Write};

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
        let rows = [
            row("a", "2026-11-24 09:59:59.000000"),
            row("b", "2026-11-24 10:00:00.000000"),
            row("c", "2026-11-24 10:30:00.000000"),
        ];
        let mut bytes = Cursor::new(Vec::new());
        write_archive(&rows, 187520, &mut bytes).expect("write");
        let names: Vec<String> = {
            let zip = zip::ZipArchive::new(Cursor::new(bytes.get_ref())).expect("zip");
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
            Cursor::new(bytes.get_ref()),
            "export.zip",
            |r| ids.push(r.insert_id.unwrap_or_default()),
            &mut warnings,
        )
        .expect("read");
        ids.sort();
        assert_eq!(ids, ["a", "b", "c"]);
        assert_eq!((stats.files, stats.rows), (2, 3));
        assert!(warnings.is_empty());
        assert!(is_zip(bytes.get_ref()));
    }

    #[test]
    fn a_broken_row_or_entry_is_reported_and_the_rest_reads() {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
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
        let bytes = zip.finish().expect("zip").into_inner();

        let mut ids = Vec::new();
        let mut warnings = Vec::new();
        read_archive(
            Cursor::new(&bytes),
            "broken.zip",
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

        let not_zip = Cursor::new(b"PK\x03\x04 not really a zip");
        let err = read_archive(not_zip, "x.zip", |_| {}, &mut Vec::new()).expect_err("corrupt");
        assert!(
            err.to_string().contains("not a readable export archive"),
            "{err}"
        );
    }
}
