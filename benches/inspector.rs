//! The inspector holding a million events, measured the way `amptap open`
//! runs: a generated journal of realistic SDK traffic read through the real
//! pipeline into the real screen state, then filters typed key by key.
//!
//!   cargo bench --bench inspector          # 1,000,000 events (a minute or two)
//!
//! Prints: time to read it, the store's bytes and the process's peak RSS;
//! for each column filter the worst keystroke-to-frame time and the time
//! until every match is found; for free text (read back from the journal)
//! the time to the first results on screen and to the end. Under
//! `cargo test` it runs a small smoke pass.

#[path = "support/journal.rs"]
mod journal;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use amptap::lines::FileLines;
use amptap::pipeline::{Feed, Pipeline, QueueSink, Source};
use amptap::store::{Lines, Store, DEFAULT_BUDGET};
use amptap::tui::app::{App, Session};
use amptap::tui::draw::draw;
use amptap::tui::msg::{Effect, Msg};
use amptap::tui::theme::Theme;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

/// As in the binary (src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// What the real loop gives a filter job per frame.
const SLICE: Duration = Duration::from_millis(10);
/// Journal lines per answer of the real reader thread.
const CHUNK: usize = 64;

type Screen = Terminal<TestBackend>;

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let requests = if full { 10_000 } else { 30 };
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("bench.jsonl");
    let bytes = journal::write(&path, requests, 100);
    println!(
        "journal: {} events in {requests} requests, {:.0} MB",
        requests * 100,
        bytes as f64 / 1e6
    );
    let mut app = open(&path);
    let lines = FileLines::new(vec![path.clone()]);
    let mut screen = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
    for filter in [
        "type:dify_user_query",
        "user:user-0004.",
        "code:missing_property",
        "status:error",
    ] {
        let (worst, done) = type_filter(&mut app, &mut screen, filter);
        println!(
            "{filter:<24} keystroke→frame worst {:>6.1} ms (target ≤ 33)   all {:>7} matches in {:>6.1} ms",
            ms(worst),
            app.view.len(),
            ms(done)
        );
    }
    free_text(&mut app, &mut screen, "password", &lines);
    sort_keys(&mut app, &mut screen);
}

/// `s` through every sort column with everything held: key to frame.
fn sort_keys(app: &mut App, screen: &mut Screen) {
    if app.input.is_some() {
        key(app, KeyCode::Esc, KeyModifiers::NONE); // leave the filter bar
    }
    key(app, KeyCode::Char('\\'), KeyModifiers::NONE); // every event
    while frame(app, screen) {}
    for _ in 0..6 {
        let started = Instant::now();
        key(app, KeyCode::Char('s'), KeyModifiers::NONE);
        frame(app, screen);
        let name = app.view.sort_key().map_or("arrival", |k| k.name());
        println!(
            "sort by {name:<24} keystroke→frame {:>6.1} ms over {} rows",
            ms(started.elapsed()),
            app.view.len()
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `amptap open`: the real pipeline feeding the real screen state.
fn open(path: &Path) -> App {
    let plan = amptap::plan_file::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/dify-plan.toml"),
    )
    .expect("plan");
    journal::reset_peak();
    let before = journal::rss_mib();
    let started = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::channel(amptap::pipeline::SCREEN_QUEUE);
    let source = Source::Files(vec![path.to_owned()]);
    let pipeline = Pipeline::start(
        source,
        Arc::new(plan.clone()),
        vec![Box::new(QueueSink(tx))],
    )
    .expect("pipeline");
    let mut app = App::new(
        Store::new(DEFAULT_BUDGET, Some(&plan)),
        Session::default(),
        Vec::new(),
        Theme { color: true },
        time::OffsetDateTime::UNIX_EPOCH,
    );
    app.update(Msg::Resize(160, 48));
    while let Some(feed) = rx.blocking_recv() {
        let done = matches!(feed, Feed::Done);
        app.update(Msg::Feed(feed));
        if done {
            break;
        }
    }
    pipeline.finish();
    println!(
        "open: {} events held in {:.1} s; store {:.0} MiB of a {:.0} MiB budget; RSS {:.0} MiB, peak {:.0} MiB (before: {before:.0}; target ≤ 250 MB; wave 1: 947 MB at 500,000)",
        app.store.len(),
        started.elapsed().as_secs_f64(),
        app.store.bytes() as f64 / 1048576.0,
        app.store.budget() as f64 / 1048576.0,
        journal::rss_mib(),
        journal::peak_rss_mib(),
    );
    app
}

fn key(app: &mut App, code: KeyCode, modifiers: KeyModifiers) -> Vec<Effect> {
    app.update(Msg::Key(KeyEvent::new(code, modifiers)))
}

/// One frame as the loop makes it: a slice of the filter job, then drawing.
fn frame(app: &mut App, screen: &mut Screen) -> bool {
    let running = app.work(SLICE);
    screen.draw(|f| draw(f, app)).expect("draw");
    running
}

/// Clears the filter bar and types `filter`; returns the worst keystroke
/// to frame and the time from the last key until the job is done.
fn type_filter(app: &mut App, screen: &mut Screen, filter: &str) -> (Duration, Duration) {
    key(app, KeyCode::Char('/'), KeyModifiers::NONE);
    key(app, KeyCode::Char('u'), KeyModifiers::CONTROL);
    let mut worst = Duration::ZERO;
    for c in filter.chars() {
        let t = Instant::now();
        // `t`, `ty`… are free text until the colon: their scans start and
        // are replaced by the next key, as on screen.
        key(app, KeyCode::Char(c), KeyModifiers::NONE);
        frame(app, screen);
        worst = worst.max(t.elapsed());
    }
    let t = Instant::now();
    while frame(app, screen) {}
    let done = t.elapsed();
    key(app, KeyCode::Enter, KeyModifiers::NONE);
    (worst, done)
}

/// Free text: the lines are read back newest first, a chunk per answer.
fn free_text(app: &mut App, screen: &mut Screen, text: &str, lines: &dyn Lines) {
    key(app, KeyCode::Char('/'), KeyModifiers::NONE);
    key(app, KeyCode::Char('u'), KeyModifiers::CONTROL);
    let mut scan = None;
    let mut worst = Duration::ZERO;
    for c in text.chars() {
        let t = Instant::now();
        for effect in key(app, KeyCode::Char(c), KeyModifiers::NONE) {
            if let Effect::Scan(s) = effect {
                scan = Some(s);
            }
        }
        frame(app, screen);
        worst = worst.max(t.elapsed());
    }
    let scan = scan.expect("free text reads the journal");
    let t = Instant::now();
    let mut first = None;
    for chunk in scan.requests.chunks(CHUNK) {
        let verdicts = scan.verdicts(lines, chunk);
        app.update(Msg::Bodies {
            generation: scan.generation,
            verdicts,
        });
        frame(app, screen);
        if first.is_none() && !app.view.is_empty() {
            first = Some(t.elapsed());
        }
    }
    while frame(app, screen) {}
    println!(
        "{:<24} keystroke→frame worst {:>6.1} ms   first results in {:>6.1} ms (target ≤ 100)   all {} matches in {:.0} ms",
        text,
        ms(worst),
        first.map_or(f64::NAN, ms),
        app.view.len(),
        ms(t.elapsed())
    );
}
