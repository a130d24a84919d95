//! The loop: owns the terminal (restored on every exit path), reads input
//! on its own thread, draws on a clock (≤ 30 fps, only when something
//! changed), drains the feed within a time budget per frame, and performs
//! the effects `update` asks for.

use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{
    self, DisableMouseCapture, EnableMouseCapture, Event as TermEvent, KeyEventKind,
};
use crossterm::execute;
use tokio::sync::mpsc;

use super::app::App;
use super::draw::draw;
use super::msg::{Effect, Msg};
use super::reader::Reader;
use crate::export::{ExportClient, Progress};
use crate::journal::JournalStats;
use crate::mismatch::{self, Job, Source};
use crate::pipeline::{Feed as FeedMsg, Stats as FeedStats};
use crate::plan::Plan;
use crate::store::Lines;
use tokio::sync::watch;

/// Where events come from.
pub struct Feed {
    pub rx: mpsc::Receiver<FeedMsg>,
    pub stats: Arc<FeedStats>,
    /// The live journal's counters (watch, demo), to say how far behind the screen is.
    pub journal: Option<Arc<JournalStats>>,
    /// What is wrong with the Kafka link now (`--publish`, `watch kafka://`).
    pub link: Option<Box<dyn Fn() -> Option<String> + Send>>,
}

pub struct RunOptions {
    pub frame: Duration,
    /// Where the filter history is kept between runs.
    pub history_path: Option<PathBuf>,
    /// What the Reconcile view needs; `None` when it cannot run here.
    pub reconcile: Option<ReconcileSetup>,
    /// Reads the journal lines the store points at (detail view, free text).
    pub lines: Option<Arc<dyn Lines>>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            frame: Duration::from_millis(33),
            history_path: None,
            reconcile: None,
            lines: None,
        }
    }
}

/// The journals to reconcile and the Export API to ask.
pub struct ReconcileSetup {
    pub captures: Vec<PathBuf>,
    /// The client, or why there is none (no keys).
    /// Makes the client, or says why it cannot (no keys). Called on every
    /// `r`, so keys set meanwhile (in the config file) are picked up.
    pub client: Box<dyn Fn() -> Result<ExportClient, String> + Send + Sync>,
    pub plan: Option<(String, Plan)>,
}

/// Channels of the background jobs.
struct Jobs {
    exports: mpsc::Sender<Result<PathBuf, String>>,
    results: mpsc::Sender<Msg>,
    progress: Option<watch::Receiver<Progress>>,
    reader: Option<Reader>,
}

/// Most time spent taking in events per frame, so keys stay responsive in a flood.
const FEED_BUDGET: Duration = Duration::from_millis(12);
/// Most time a frame gives a running filter job.
const FILTER_BUDGET: Duration = Duration::from_millis(10);

pub async fn run(mut app: App, mut feed: Feed, options: RunOptions) -> anyhow::Result<()> {
    let mut terminal = ratatui::init();
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = execute!(std::io::stdout(), DisableMouseCapture);
        previous_hook(info);
    }));
    let _ = execute!(std::io::stdout(), EnableMouseCapture);
    let result = event_loop(&mut app, &mut feed, &options, &mut terminal).await;
    let _ = execute!(std::io::stdout(), DisableMouseCapture);
    ratatui::restore();
    result
}

async fn event_loop(
    app: &mut App,
    feed: &mut Feed,
    options: &RunOptions,
    terminal: &mut ratatui::DefaultTerminal,
) -> anyhow::Result<()> {
    let size = terminal.size()?;
    app.update(Msg::Resize(size.width, size.height));
    let stop = Arc::new(AtomicBool::new(false));
    let (input_tx, mut input_rx) = mpsc::channel(256);
    let input_thread = spawn_input(input_tx, stop.clone())?;
    let (done_tx, mut done_rx) = mpsc::channel(4);
    let (results_tx, mut results_rx) = mpsc::channel(4);
    let reader = match &options.lines {
        Some(lines) => Some(Reader::start(lines.clone(), results_tx.clone())?),
        None => None,
    };
    let mut jobs = Jobs {
        exports: done_tx,
        results: results_tx,
        progress: None,
        reader,
    };
    let mut frames = tokio::time::interval(options.frame);
    frames.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut sigterm = sigterm()?;
    let result = loop {
        tokio::select! {
            _ = frames.tick() => {
                let started = Instant::now();
                let mut effects = Vec::new();
                while started.elapsed() < FEED_BUDGET {
                    match feed.rx.try_recv() {
                        Ok(msg) => effects.extend(app.update(Msg::Feed(msg))),
                        Err(_) => break,
                    }
                }
                perform(effects, options, &mut jobs);
                if let Some(rx) = jobs.progress.as_mut() {
                    if rx.has_changed().unwrap_or(false) {
                        let p = rx.borrow_and_update().clone();
                        app.update(Msg::ReconcileProgress(p));
                    }
                }
                app.work(FILTER_BUDGET);
                let read = feed.stats.records.load(Ordering::Relaxed);
                let (written, journal_bytes) = feed.journal.as_ref().map_or((read, 0), |j| {
                    (j.records.load(Ordering::Relaxed), j.bytes.load(Ordering::Relaxed))
                });
                let journal_error = feed.journal.as_ref().and_then(|j| j.broken());
                let behind = written.saturating_sub(app.store.counters().requests);
                let link_error = feed.link.as_ref().and_then(|trouble| trouble());
                app.update(Msg::Progress { journal_bytes, behind, journal_error, link_error });
                app.update(Msg::Tick(time::OffsetDateTime::now_utc()));
                if app.dirty {
                    terminal.draw(|f| draw(f, app))?;
                    app.dirty = false;
                }
            }
            Some(msg) = input_rx.recv() => {
                let effects = app.update(msg);
                if perform(effects, options, &mut jobs) {
                    break Ok(());
                }
            }
            Some(done) = done_rx.recv() => { app.update(Msg::ExportDone(done)); }
            Some(msg) = results_rx.recv() => {
                let effects = app.update(msg);
                perform(effects, options, &mut jobs);
            }
            _ = sigterm.recv() => break Ok(()),
        }
    };
    stop.store(true, Ordering::Relaxed);
    let _ = tokio::task::spawn_blocking(move || input_thread.join()).await;
    result
}

/// Performs effects; returns true to quit.
fn perform(effects: Vec<Effect>, options: &RunOptions, jobs: &mut Jobs) -> bool {
    let mut quit = false;
    for effect in effects {
        match effect {
            Effect::Quit => quit = true,
            Effect::Reconcile => start_reconcile(options, jobs),
            Effect::Export {
                path,
                format,
                report,
            } => {
                let done = jobs.exports.clone();
                tokio::task::spawn_blocking(move || {
                    let result = crate::outfile::OutFile::create(&path)
                        .and_then(|file| {
                            let mut out = std::io::BufWriter::new(file);
                            report.write(format, Some(crate::plan::Severity::Error), &mut out)?;
                            out.into_inner().map_err(|e| e.into_error())?.commit()
                        })
                        .map(|()| std::fs::canonicalize(&path).unwrap_or(path.clone()))
                        .map_err(|e| format!("{}: {e}", path.display()));
                    let _ = done.blocking_send(result);
                });
            }
            Effect::Load { id, seq, at } => match &jobs.reader {
                Some(reader) => reader.load(id, seq, at),
                None => {
                    let record = Err("no journal to read it from".to_owned());
                    let _ = jobs.results.try_send(Msg::Loaded { id, record });
                }
            },
            Effect::Scan(scan) => {
                if let Some(reader) = &jobs.reader {
                    reader.scan(scan);
                }
            }
            Effect::Copy(text) => {
                use base64::Engine;
                let encoded = base64::engine::general_purpose::STANDARD.encode(text);
                let mut out = std::io::stdout();
                let _ = write!(out, "\x1b]52;c;{encoded}\x07");
                let _ = out.flush();
            }
            Effect::SaveHistory(history) => {
                if let Some(path) = options.history_path.clone() {
                    tokio::task::spawn_blocking(move || {
                        if let Some(dir) = path.parent() {
                            let _ = std::fs::create_dir_all(dir);
                        }
                        if let Err(e) = std::fs::write(&path, history.join("\n") + "\n") {
                            tracing::warn!("saving filter history to {}: {e}", path.display());
                        }
                    });
                }
            }
        }
    }
    quit
}

/// Starts a reconcile in the background; its progress and result come back as messages.
fn start_reconcile(options: &RunOptions, jobs: &mut Jobs) {
    let results = jobs.results.clone();
    let Some(setup) = &options.reconcile else {
        let _ = results.try_send(Msg::ReconcileDone(Err(
            "reconcile needs a journal: run watch, open or demo".into(),
        )));
        return;
    };
    let client = match (setup.client)() {
        Ok(c) => c,
        Err(e) => {
            let _ = results.try_send(Msg::ReconcileDone(Err(e)));
            return;
        }
    };
    let job = Job {
        captures: setup.captures.clone(),
        source: Source::Api {
            client,
            window: None,
            wait: None,
            poll: Duration::ZERO,
        },
        plan: setup.plan.clone(),
        tolerance_ms: 1000,
        memory: crate::mismatch::DEFAULT_MEMORY,
    };
    let (tx, rx) = watch::channel(Progress::default());
    jobs.progress = Some(rx);
    tokio::spawn(async move {
        let outcome = mismatch::run(job, &tx).await;
        let msg = outcome
            .map(|o| (Box::new(o.report), o.notes))
            .map_err(|e| e.to_string());
        let _ = results.send(Msg::ReconcileDone(msg)).await;
    });
}

/// Reads terminal input on its own thread: a blocking read never holds up drawing.
fn spawn_input(
    tx: mpsc::Sender<Msg>,
    stop: Arc<AtomicBool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("amptap-input".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match event::poll(Duration::from_millis(50)) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(_) => break,
                }
                let msg = match event::read() {
                    Ok(TermEvent::Key(k)) if k.kind != KeyEventKind::Release => Msg::Key(k),
                    Ok(TermEvent::Mouse(m)) => Msg::Mouse(m),
                    Ok(TermEvent::Resize(w, h)) => Msg::Resize(w, h),
                    Ok(_) => continue,
                    Err(_) => break,
                };
                if tx.blocking_send(msg).is_err() {
                    break;
                }
            }
        })
}

#[cfg(unix)]
fn sigterm() -> std::io::Result<tokio::signal::unix::Signal> {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
}

/// Reads the filter history kept by earlier runs.
pub fn load_history(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .map(|s| {
            s.lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}
