//! The reconcile job: journals and an export (a file, or a download) in, one
//! report out. `amptap reconcile` and the TUI's Reconcile view both run it.

use std::path::PathBuf;
use std::time::Duration;

use time::format_description::well_known::Rfc3339;
use tokio::sync::watch;

use std::collections::HashSet;

use crate::export::{ExportClient, ExportError, ExportedRow, Progress, Window};
use crate::judge::report_capture;
use crate::plan::{EventContext, Plan, Validator};
use crate::reconcile::partition::actor_hash;
use crate::reconcile::{
    exported_as_event, reconcile_in, Captured, Options, Problem, ReconcileSummary, Reconciliation,
};
use crate::report::{EventRef, FindingEntry, Keep, ReconcileReport, ReportBuilder};

mod export_side;
mod keep;
mod parts;
mod relay;

use export_side::{download, read_export_file, Fetch};
use keep::Kept;
use parts::Parts;
use relay::RelayOutcomes;

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
    /// Bytes the match may use: larger sides go to disk in parts.
    pub memory: usize,
}

/// What a reconcile may hold when nobody says.
pub const DEFAULT_MEMORY: usize = 1 << 30;

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
    #[error("reconcile's working files: {0}")]
    Spill(#[from] std::io::Error),
}

/// Amplitude makes events exportable about two hours after ingestion.
const AVAILABILITY_MS: i64 = 2 * 3_600_000;
/// Amplitude stamps its upload time a moment after the tap forwards.
const WINDOW_MARGIN_MS: i64 = 10 * 60_000;

/// The captured side as read: in parts, with who is in it and when.
struct Captures {
    parts: Parts,
    /// Hashes of every captured user and device id (exported rows of
    /// anyone else are out of scope, not `extra`).
    actors: HashSet<u64>,
    /// Per journal, what the relay's markers say became of its events.
    relays: Vec<RelayOutcomes>,
    first_ms: i64,
    last_ms: i64,
}

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
    let judge = job.plan.is_some().then(|| Validator::new(plan));
    let parts = Parts::new(job.memory);
    let mut side = read_captures(
        &job.captures,
        parts,
        &mut builder,
        judge,
        &mut notes,
        progress,
    )?;
    if side.parts.captured == 0 {
        return Err(JobError::Input(format!(
            "no events in {}",
            inputs.join(", ")
        )));
    }

    // The exported side, streamed into the same parts.
    let mut newest_row = i64::MIN;
    let window = match job.source {
        Source::File(path) => {
            read_export_file(&path, &mut side.parts, &mut newest_row, &mut notes)?;
            None
        }
        Source::Api {
            client,
            window,
            wait,
            poll,
        } => {
            let window = window
                .unwrap_or_else(|| Window::around(side.first_ms, side.last_ms, WINDOW_MARGIN_MS));
            if window.end.end_ms() > now_ms - AVAILABILITY_MS {
                notes.push(format!(
                    "the window {window} reaches into the last two hours: Amplitude makes events exportable about 2 hours after ingestion, so the newest show as pending{}",
                    if wait.is_some() { "" } else { " (--wait polls until they are there)" }
                ));
            }
            let fetch = Fetch {
                client: &client,
                window: &window,
                wait,
                poll,
                last_received_ms: side.last_ms,
            };
            let archive = download(&fetch, progress, &mut notes).await?;
            if let Some(archive) = &archive {
                read_export_file(archive.path(), &mut side.parts, &mut newest_row, &mut notes)?;
                if side.parts.rows == 0 {
                    notes.push(export_side::no_data(&window));
                }
            }
            Some(window)
        }
    };
    if side.parts.spilled() {
        notes.push(format!(
            "{} captured events and {} exported rows matched in parts on disk (memory stays bounded)",
            side.parts.captured, side.parts.rows
        ));
    }

    // Absent events newer than the newest exported row: the export has not caught up.
    let options = Options {
        window,
        pending_after_ms: newest_row,
        tolerance_ms: job.tolerance_ms,
    };
    let judge_rows = job.plan.is_some().then(|| Validator::new(plan));
    let (reconciliation, exported_findings) =
        match_parts(side, &options, judge_rows, now_ms, progress, &mut notes)?;
    let report = ReconcileReport {
        check: builder.finish(),
        reconcile: reconciliation,
        exported_findings,
    };
    Ok(Outcome { report, notes })
}

fn say(progress: &watch::Sender<Progress>, state: &str, done: u64, total: u64) {
    progress.send_replace(Progress {
        bytes: done,
        total: Some(total),
        attempt: 1,
        state: state.to_owned(),
    });
}

/// Streams the journals: the plan's findings into `builder`, each event
/// into its part.
fn read_captures(
    captures: &[PathBuf],
    parts: Parts,
    builder: &mut ReportBuilder,
    mut judge: Option<Validator<'_>>,
    notes: &mut Vec<String>,
    progress: &watch::Sender<Progress>,
) -> Result<Captures, JobError> {
    let total: u64 = captures
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let mut side = Captures {
        parts,
        actors: HashSet::new(),
        relays: Vec::new(),
        first_ms: i64::MAX,
        last_ms: i64::MIN,
    };
    let mut read_before = 0;
    for (journal, path) in captures.iter().enumerate() {
        let mut reader =
            crate::journal::open_reader(path).map_err(|e| JobError::Input(e.to_string()))?;
        // Markers name this journal's seqs: applied to its events alone.
        let mut relay_outcomes = RelayOutcomes::default();
        let name = (captures.len() > 1).then(|| path.display().to_string());
        let mut lines = 0_u64;
        while let Some(located) = reader.next_line() {
            lines += 1;
            if lines % 4096 == 0 {
                say(
                    progress,
                    "reading captures",
                    read_before + reader.offset(),
                    total,
                );
            }
            let capture = match located.line {
                crate::record::line::Line::Record(capture) => *capture,
                crate::record::line::Line::Marker(m) => {
                    relay_outcomes.note(&m);
                    continue;
                }
            };
            side.first_ms = side.first_ms.min(capture.received_ms());
            side.last_ms = side.last_ms.max(capture.received_ms());
            report_capture(builder, judge.as_mut(), &capture, name.clone());
            for c in Captured::from_capture(&capture) {
                for actor in [c.user_id.as_deref(), c.device_id.as_deref()]
                    .into_iter()
                    .flatten()
                {
                    side.actors.insert(actor_hash(actor));
                }
                side.parts
                    .push_captured(u32::try_from(journal).unwrap_or(u32::MAX), c)?;
            }
        }
        read_before += reader.offset();
        side.relays.push(relay_outcomes);
        notes.extend(
            reader
                .warnings()
                .iter()
                .map(|w| format!("{}: {w}", path.display())),
        );
    }
    Ok(side)
}

/// Matches part by part, keeping a bounded sample of problems and findings.
fn match_parts(
    side: Captures,
    options: &Options,
    mut judge: Option<Validator<'_>>,
    now_ms: i64,
    progress: &watch::Sender<Progress>,
    notes: &mut Vec<String>,
) -> Result<(Reconciliation, Vec<FindingEntry>), JobError> {
    let Captures {
        parts,
        actors,
        relays,
        ..
    } = side;
    let ours = |a: &str| actors.contains(&actor_hash(a));
    let mut summary = ReconcileSummary::default();
    let mut problems = Kept::<Problem>::new(keep::PROBLEMS_PER_CLASS);
    let mut findings = Kept::<FindingEntry>::new(keep::FINDINGS);
    let mut match_one = |tagged: Vec<parts::Tagged>, rows: Vec<ExportedRow>, done: f64| {
        let captured: Vec<Captured> = tagged
            .into_iter()
            .map(|(journal, mut c)| {
                if let Some(relay) = relays.get(journal as usize) {
                    relay.apply(&mut c);
                }
                c
            })
            .collect();
        let part = reconcile_in(&captured, &rows, options, &ours);
        summary.absorb(&part.summary);
        for p in part.problems {
            problems.push(p.class as usize, p);
        }
        if let Some(v) = judge.as_mut() {
            judge_rows(v, &rows, &ours, now_ms, &mut findings);
        }
        say(progress, "matching", (done * 1000.0) as u64, 1000);
        Ok::<(), JobError>(())
    };
    parts.for_each(&mut match_one)?;
    let omitted = problems.omitted;
    let mut problems = problems.into_vec();
    problems.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.class.cmp(&b.class)));
    if findings.omitted > 0 {
        notes.push(format!(
            "{} more findings on the exported side are counted but not listed",
            findings.omitted
        ));
    }
    let reconciliation = Reconciliation {
        window: options.window.map(|w| w.to_string()),
        summary,
        problems,
        omitted,
    };
    Ok((reconciliation, findings.into_vec()))
}

/// The plan on the exported side, for the captured users and devices.
fn judge_rows(
    v: &mut Validator<'_>,
    rows: &[ExportedRow],
    ours: &dyn Fn(&str) -> bool,
    now_ms: i64,
    out: &mut Kept<FindingEntry>,
) {
    for (index, row) in rows.iter().enumerate() {
        let mine = [row.user_id.as_deref(), row.device_id.as_deref()]
            .into_iter()
            .flatten()
            .any(ours);
        if !mine {
            continue;
        }
        let event = exported_as_event(row);
        let ctx = EventContext {
            received_ms: row.server_upload_ms().unwrap_or(now_ms),
            seq: 0,
            delivered: true,
            min_id_length: None,
        };
        let mut found = Vec::new();
        v.check(&event, &ctx, &mut found);
        for finding in found {
            out.push(
                0,
                FindingEntry {
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
                },
            );
        }
    }
}
