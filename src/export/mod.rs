//! Amplitude's Export API: the client that downloads a window of events,
//! and the decoder of its archive (a zip of per-hour gzipped JSON lines).

pub mod archive;
pub mod client;
mod row;
pub mod window;

pub use archive::{read_archive, ArchiveStats, ArchiveWarning};
pub use client::{Credentials, Downloaded, ExportClient, Progress};
pub use row::{format_export_time, parse_export_time, ExportedRow};
pub use window::{Hour, Window};

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
