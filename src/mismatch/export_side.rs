//! The exported side: a saved export or a download, streamed into the parts.

use std::path::Path;
use std::time::Duration;

use tokio::sync::watch;

use super::parts::Parts;
use super::JobError;
use crate::export::{
    is_zip, read_archive, read_rows_file, Downloaded, ExportClient, ExportedRow, Progress, Window,
};

/// Streams an export (archive or rows) into the parts; `newest` is the
/// latest upload time seen.
pub(super) fn read_export_file(
    path: &Path,
    parts: &mut Parts,
    newest: &mut i64,
    notes: &mut Vec<String>,
) -> Result<(), JobError> {
    let mut warnings = Vec::new();
    let mut spill_error = None;
    let mut take = |r: ExportedRow| {
        if spill_error.is_some() {
            return;
        }
        if let Some(t) = r.server_upload_ms() {
            *newest = (*newest).max(t);
        }
        if let Err(e) = parts.push_row(r) {
            spill_error = Some(e);
        }
    };
    let zip = is_zip(path).map_err(|e| JobError::Input(format!("{}: {e}", path.display())))?;
    if zip {
        read_archive(path, &mut take, &mut warnings)?;
    } else {
        read_rows_file(path, &mut take, &mut warnings)?;
    }
    if let Some(e) = spill_error {
        return Err(e.into());
    }
    notes.extend(warnings.iter().map(|w| format!("{}: {w}", path.display())));
    Ok(())
}

/// What to download and how long to wait for it.
pub(super) struct Fetch<'a> {
    pub client: &'a ExportClient,
    pub window: &'a Window,
    pub wait: Option<Duration>,
    pub poll: Duration,
    pub last_received_ms: i64,
}

/// Downloads the window's archive to a private temporary file, polling
/// (with `wait`) until it covers the newest capture; `None`: no data.
pub(super) async fn download(
    fetch: &Fetch<'_>,
    progress: &watch::Sender<Progress>,
    notes: &mut Vec<String>,
) -> Result<Option<tempfile::NamedTempFile>, JobError> {
    let deadline = fetch.wait.map(|w| tokio::time::Instant::now() + w);
    let dir = std::env::temp_dir();
    loop {
        // Private (0600, unguessable) and removed when dropped, whatever happens.
        let archive = tempfile::Builder::new()
            .prefix(".amptap-export-")
            .suffix(".zip")
            .tempfile_in(&dir)
            .map_err(|e| {
                JobError::Input(format!(
                    "cannot create a temporary file in {}: {e}",
                    dir.display()
                ))
            })?;
        let downloaded = fetch
            .client
            .download(fetch.window, archive.path(), progress)
            .await;
        let path = match downloaded {
            Ok(Downloaded::Archive { path, .. }) => Some(path),
            Ok(Downloaded::NoData) => None,
            Err(e) => return Err(e.into()),
        };
        // Only a wait needs to know whether the export covers the captures
        // now (a pass over the archive); otherwise it is read once, into the parts.
        let covered = |path: &Path| -> Result<bool, JobError> {
            let mut newest = i64::MIN;
            let mut on_row = |r: ExportedRow| {
                if let Some(t) = r.server_upload_ms() {
                    newest = newest.max(t);
                }
            };
            read_archive(path, &mut on_row, &mut Vec::new())?;
            Ok(newest >= fetch.last_received_ms)
        };
        let again = match (deadline, &path) {
            (Some(d), _) if tokio::time::Instant::now() + fetch.poll >= d => false,
            (Some(_), Some(path)) => !covered(path)?,
            (Some(_), None) => true,
            (None, _) => false,
        };
        match path {
            _ if again => {
                progress.send_replace(Progress {
                    state: format!(
                        "waiting {} s for Amplitude to catch up",
                        fetch.poll.as_secs()
                    ),
                    ..Progress::default()
                });
                tokio::time::sleep(fetch.poll).await;
            }
            Some(_) => return Ok(Some(archive)),
            None => {
                notes.push(no_data(fetch.window));
                return Ok(None);
            }
        }
    }
}

/// Said when the window holds nothing yet (404, or an archive without rows).
pub(super) fn no_data(window: &Window) -> String {
    format!("Amplitude has no data for {window} (yet): the captured events show as pending")
}
