//! The reconcile job: journals and an export (a file, or a download) in, one
//! report out. `amptap reconcile` and the TUI's Reconcile view both run it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use time::format_description::well_known::Rfc3339;
use tokio::sync::watch;

use crate::export::{is_zip, read_rows_file};
use crate::export::{
    read_archive, Downloaded, ExportClient, ExportError, ExportedRow, Progress, Window,
};
use crate::judge::report_capture;
use crate::plan::{EventContext, Plan, Validator};
use crate::reconcile::{exported_as_event, reconcile, Captured, Options};
use crate::report::{EventRef, FindingEntry, Keep, ReconcileReport, ReportBuilder};

/// Where the exported side comes from.
pub enum Source {
    /// An archive (zip) or rows (JSON lines) saved earlier.
    File(PathBuf),
    /// The Export API; `window: None` takes it from the captures.
    Api {
        client: ExportClient,
        window: Option<Window>,
        /// Poll until the export covers the captures, at most this long.
        wait: Option<Duration>,
        poll: Duration,
    },
}

pub struct Job {
    pub captures: Vec<PathBuf>,
    pub source: Source,
    pub plan: Option<(String, Plan)>,
    pub tolerance_ms: i64,
}

pub struct Outcome {
    pub report: ReconcileReport,
    /// Skipped lines, corrupt rows, "the window is recent"…
    pub notes: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error("{0}")]
    Input(String),
}

/// Amplitude makes events exportable about two hours after ingestion.
const AVAILABILITY_MS: i64 = 2 * 3_600_000;
/// Amplitude stamps its upload time a moment after the tap forwards.
const WINDOW_MARGIN_MS: i64 = 10 * 60_000;

pub async fn run(job: Job, progress: &watch::Sender<Progress>) -> Result<Outcome, JobError> {
    let mut notes = Vec::new();
    let now = time::OffsetDateTime::now_utc();
    let now_ms = (now.unix_timestamp_nanos() / 1_000_000) as i64;
    let none = Plan::none();
    let plan = job.plan.as_ref().map_or(&none, |(_, p)| p);
    let inputs: Vec<String> = job
        .captures
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let planned = job
        .plan
        .as_ref()
        .map(|(label, p)| (label.clone(), p.events.keys().cloned().collect()));
    // The plan's findings on the captured side: counted, a few of each listed.
    let mut builder = ReportBuilder::new(
        inputs.clone(),
        planned,
        now.format(&Rfc3339).unwrap_or_default(),
    )
    .keep(Keep::Examples(20));

    // The captured side, streamed from the journals.
    let mut captured = Vec::new();

    let mut validator = Validator::new(plan);
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    for path in &job.captures {
        let mut reader =
            crate::journal::open_reader(path).map_err(|e| JobError::Input(e.to_string()))?;
        // Markers name this journal's seqs: applied to its events alone.
        let mut relay_outcomes = RelayOutcomes::default();
        let from = captured.len();
        while let Some(located) = reader.next_line() {
            let capture = match located.line {
                crate::record::line::Line::Record(capture) => *capture,
                crate::record::line::Line::Marker(m) => {
                    relay_outcomes.note(&m);
                    continue;
                }
            };
            first = first.min(capture.received_ms());
            last = last.max(capture.received_ms());
            let name = (job.captures.len() > 1).then(|| path.display().to_string());
            report_capture(
                &mut builder,
                job.plan.is_some().then_some(&mut validator),
                &capture,
                name,
            );
            captured.extend(Captured::from_capture(&capture));
        }
        relay_outcomes.apply(&mut captured[from..]);
        notes.extend(
            reader
                .warnings()
                .iter()
                .map(|w| format!("{}: {w}", path.display())),
        );
    }
    if captured.is_empty() {
        return Err(JobError::Input(format!(
            "no events in {}",
            inputs.join(", ")
        )));
    }

    // The exported side.
    let mut rows = Vec::new();
    let window = match job.source {
        Source::File(path) => {
            read_export_file(&path, &mut rows, &mut notes)?;
            None
        }
        Source::Api {
            client,
            window,
            wait,
            poll,
        } => {
            let window = window.unwrap_or_else(|| Window::around(first, last, WINDOW_MARGIN_MS));
            if window.end.end_ms() > now_ms - AVAILABILITY_MS {
                notes.push(format!(
                    "the window {window} reaches into the last two hours: Amplitude makes events exportable about 2 hours after ingestion, so the newest show as pending{}",
                    if wait.is_some() { "" } else { " (--wait polls until they are there)" }
                ));
            }
            download_rows(
                &client, &window, wait, poll, last, progress, &mut rows, &mut notes,
            )
            .await?;
            Some(window)
        }
    };

    // Absent events newer than the newest exported row: the export has not caught up.
    let pending_after_ms = rows
        .iter()
        .filter_map(ExportedRow::server_upload_ms)
        .max()
        .unwrap_or(i64::MIN);
    let options = Options {
        window,
        pending_after_ms,
        tolerance_ms: job.tolerance_ms,
    };
    let reconciliation = reconcile(&captured, &rows, &options);

    // The plan on the exported side, for the captured users and devices.
    let mut exported_findings = Vec::new();
    if job.plan.is_some() {
        let actors: std::collections::HashSet<&str> = captured
            .iter()
            .flat_map(|c| [c.user_id.as_deref(), c.device_id.as_deref()])
            .flatten()
            .collect();
        let mut v = Validator::new(plan);
        for (index, row) in rows.iter().enumerate() {
            let ours = [row.user_id.as_deref(), row.device_id.as_deref()]
                .into_iter()
                .flatten()
                .any(|a| actors.contains(a));
            if !ours {
                continue;
            }
            let event = exported_as_event(row);
            let ctx = EventContext {
                received_ms: row.server_upload_ms().unwrap_or(now_ms),
                seq: 0,
                delivered: true,
                min_id_length: None,
            };
            let mut findings = Vec::new();
            v.check(&event, &ctx, &mut findings);
            for finding in findings {
                exported_findings.push(FindingEntry {
                    finding,
                    event: EventRef {
                        insert_id: row.insert_id.clone(),
                        seq: 0,
                        index,
                        received: row.server_upload_time.clone().unwrap_or_default(),
                        user_id: row.user_id.clone(),
                        device_id: row.device_id.clone(),
                        capture: Some("export".into()),
                        tag: None,
                    },
                });
            }
        }
    }
    let report = ReconcileReport {
        check: builder.finish(),
        reconcile: reconciliation,
        exported_findings,
    };
    Ok(Outcome { report, notes })
}

fn read_export_file(
    path: &Path,
    rows: &mut Vec<ExportedRow>,
    notes: &mut Vec<String>,
) -> Result<(), JobError> {
    let mut warnings = Vec::new();
    let zip = is_zip(path).map_err(|e| JobError::Input(format!("{}: {e}", path.display())))?;
    if zip {
        read_archive(path, |r| rows.push(r), &mut warnings)?;
    } else {
        read_rows_file(path, |r| rows.push(r), &mut warnings)?;
    }
    notes.extend(warnings.iter().map(|w| format!("{}: {w}", path.display())));
    Ok(())
}

#[expect(
    clippy::too_many_arguments,
    reason = "the download loop's inputs and outputs, each used once"
)]
async fn download_rows(
    client: &ExportClient,
    window: &Window,
    wait: Option<Duration>,
    poll: Duration,
    last_received_ms: i64,
    progress: &watch::Sender<Progress>,
    rows: &mut Vec<ExportedRow>,
    notes: &mut Vec<String>,
) -> Result<(), JobError> {
    let deadline = wait.map(|w| tokio::time::Instant::now() + w);
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
        let downloaded = client.download(window, archive.path(), progress).await;
        rows.clear();
        let covered = match downloaded {
            Ok(Downloaded::Archive { path, .. }) => {
                read_export_file(&path, rows, notes)?;
                rows.iter()
                    .filter_map(ExportedRow::server_upload_ms)
                    .max()
                    .is_some_and(|t| t >= last_received_ms)
            }
            Ok(Downloaded::NoData) => false,
            Err(e) => return Err(e.into()),
        };
        match deadline {
            Some(d) if !covered && tokio::time::Instant::now() + poll < d => {
                progress.send_replace(Progress {
                    state: format!("waiting {} s for Amplitude to catch up", poll.as_secs()),
                    ..Progress::default()
                });
                tokio::time::sleep(poll).await;
            }
            _ => {
                if rows.is_empty() {
                    notes.push(format!("Amplitude has no data for {window} (yet): the captured events show as pending"));
                }
                return Ok(());
            }
        }
    }
}

/// What the relay's outbox journaled about its events (markers after their
/// records): taken by Amplitude, or refused by name.
#[derive(Default)]
struct RelayOutcomes {
    taken: std::collections::HashSet<u64>,
    refused: std::collections::HashMap<u64, (u16, String)>,
}

impl RelayOutcomes {
    fn note(&mut self, m: &crate::record::Marker) {
        match m.marker.as_str() {
            crate::record::Marker::RELAYED => self.taken.extend(&m.seqs),
            crate::record::Marker::RELAY_DROPPED => {
                let why = (
                    m.status.unwrap_or(400),
                    m.reason.clone().unwrap_or_default(),
                );
                self.refused
                    .extend(m.seqs.iter().map(|s| (*s, why.clone())));
            }
            _ => {}
        }
    }

    /// A relayed event is accepted once its marker says so; until then it
    /// stays "not yet confirmed sent".
    fn apply(&self, captured: &mut [crate::reconcile::Captured]) {
        for c in captured {
            if self.taken.contains(&c.seq) {
                c.outcome = crate::reconcile::Outcome::Accepted;
            } else if let Some((status, reason)) = self.refused.get(&c.seq) {
                c.outcome = crate::reconcile::Outcome::Rejected {
                    status: *status,
                    reason: reason.clone(),
                };
            }
        }
    }
}
