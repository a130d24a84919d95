//! Amplitude's Export API: the client that downloads a window of events,
//! and archive files on disk (decoded by `amptap_core::export`).

pub mod client;

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

pub use amptap_core::export::{
    archive, format_export_time, parse_export_time, window, ArchiveStats, ArchiveWarning,
    ExportedRow, Hour, Window,
};
pub use client::{Credentials, Downloaded, ExportClient, Progress};

/// Reads every row of the export archive (zip) at `path` into `on_row`.
pub fn read_archive(
    path: &Path,
    on_row: impl FnMut(ExportedRow),
    warnings: &mut Vec<ArchiveWarning>,
) -> Result<ArchiveStats, ExportError> {
    let file = BufReader::new(File::open(path)?);
    let name = path.display().to_string();
    archive::read_archive(file, &name, on_row, warnings).map_err(|e| ExportError::BadArchive {
        path: e.name,
        reason: e.reason,
    })
}

/// Reads a JSON-lines file of rows (what `amptap export --out` writes).
pub fn read_rows_file(
    path: &Path,
    on_row: impl FnMut(ExportedRow),
    warnings: &mut Vec<ArchiveWarning>,
) -> Result<ArchiveStats, ExportError> {
    let file = File::open(path)?;
    let name = path.display().to_string();
    Ok(archive::read_rows(file, &name, on_row, warnings))
}

/// Whether the file at `path` is a zip archive (by its magic bytes).
pub fn is_zip(path: &Path) -> std::io::Result<bool> {
    let mut head = [0u8; 4];
    let n = File::open(path)?.read(&mut head)?;
    Ok(archive::is_zip(&head[..n]))
}

/// Everything that can go wrong talking to the Export API or reading its archive.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("no Amplitude keys: set AMPLITUDE_API_KEY and AMPLITUDE_SECRET_KEY (or [amplitude] api_key / secret_key in {config})")]
    NoCredentials { config: String },
    #[error("{0}")]
    Config(String),
    #[error("Amplitude refused the keys (HTTP {status}): check AMPLITUDE_API_KEY (the project's API key) and AMPLITUDE_SECRET_KEY (its secret key){}", region_hint(*status))]
    Unauthorized { status: u16 },
    #[error("Amplitude says the export for {window} is too large (HTTP 400: over 4 GB): split it, e.g. --start {first_half_start} --end {first_half_end}")]
    TooLarge {
        window: String,
        first_half_start: String,
        first_half_end: String,
    },
    #[error(
        "Amplitude took too long to build the export for {window} (HTTP 504): split the range"
    )]
    GatewayTimeout { window: String },
    #[error("Amplitude kept answering {status} after {attempts} tries: {body}")]
    GaveUp {
        status: u16,
        attempts: u32,
        body: String,
    },
    #[error("Amplitude answered HTTP {status}: {body}")]
    Unexpected { status: u16, body: String },
    #[error("the download timed out after {seconds} s")]
    Timeout { seconds: u64 },
    #[error("the download was cut off after {got} of {expected} bytes")]
    CutOff { got: u64, expected: u64 },
    #[error("cannot reach {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{path}: not a readable export archive: {reason}")]
    BadArchive { path: String, reason: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

fn region_hint(status: u16) -> &'static str {
    if status == 403 {
        " — and that the project is in this region (--region eu for EU projects)"
    } else {
        ""
    }
}
