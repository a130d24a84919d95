//! Amplitude's Export API data: the rows it returns, the hour windows it is
//! asked for, and the decoder of its archive (a zip of per-hour gzipped JSON
//! lines). The HTTP client lives in the app.

pub mod archive;
mod row;
pub mod window;

pub use archive::{read_archive, ArchiveError, ArchiveStats, ArchiveWarning};
pub use row::{format_export_time, parse_export_time, ExportedRow};
pub use window::{Hour, Window};
