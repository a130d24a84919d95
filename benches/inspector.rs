//! The inspector under a flood: how fast the store and view take events in,
//! and how long a frame takes with many events held (it should not grow:
//! only the visible rows are built).
//!
//!   cargo bench --bench inspector

use std::time::{Duration, Instant};

use amptap::event::{decode_request, BodyLimits, Endpoint};
use amptap::judge::Judged;
use amptap::pipeline::{Feed as FeedMsg, Item};
use amptap::plan::Plan;
use amptap::store::Store;
use amptap::tap::{Answer, Record};
use amptap::tui::app::{App, Session};
use amptap::tui::draw::draw;
use amptap::tui::msg::Msg;
use amptap::tui::theme::Theme;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

fn capture(seq: u64, events: usize) -> Record {
    let events: Vec<String> = (0..events)
        .map(|i| format!(r#"{{"event_type":"dify_user_query","user_id":"user-{:04}","insert_id":"id-{seq}-{i}","time":1795514400000,"event_properties":{{"query_text":"hello","app_id":"app-42"}}}}"#, i % 100))
        .collect();
    let body = format!(r#"{{"api_key":"k","events":[{}]}}"#, events.join(","));
    let batch = decode_request(
        Endpoint::HttpV2,
        None,
        body.as_bytes(),
        BodyLimits::default(),
    )
    .expect("decodes");
    Record {
        seq,
        body_bytes: body.len(),
        events: batch.events,
        answer: Answer::new(200, None, b"{}"),
        ..Record::new(
            "POST",
            "/2/httpapi",
            time::OffsetDateTime::UNIX_EPOCH,
            "127.0.0.1:1".into(),
        )
    }
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let requests = if full { 2_000 } else { 20 };
    let per_request = 100;
    let plan = Plan::none();
    let mut app = App::new(
        Store::new(200_000, Some(&plan)),
        Session::default(),
        Vec::new(),
        Theme { color: true },
        time::OffsetDateTime::UNIX_EPOCH,
    );
    app.update(Msg::Resize(160, 48));
    let batches: Vec<Vec<Item>> = (0..requests as u64)
        .map(|seq| {
            vec![Item::Judged(std::sync::Arc::new(Judged {
                record: capture(seq, per_request),
                findings: vec![vec![]; per_request],
                request: None,
                at: None,
            }))]
        })
        .collect();
    let start = Instant::now();
    for batch in batches {
        app.update(Msg::Feed(FeedMsg::Batch(batch)));
    }
    let ingest = start.elapsed();
    let events = requests * per_request;
    println!(
        "ingest into store + view: {:.0} events/s ({events} events)",
        events as f64 / ingest.as_secs_f64()
    );

    let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
    let frames = if full { 200 } else { 5 };
    let mut worst = Duration::ZERO;
    let start = Instant::now();
    for _ in 0..frames {
        let t = Instant::now();
        terminal.draw(|f| draw(f, &app)).expect("draw");
        worst = worst.max(t.elapsed());
    }
    println!(
        "a 160×48 frame with {} events held: {:.3} ms mean, {:.3} ms worst",
        app.store.len(),
        start.elapsed().as_secs_f64() * 1000.0 / frames as f64,
        worst.as_secs_f64() * 1000.0
    );
    let t = Instant::now();
    app.update(Msg::Key(crossterm::event::KeyEvent::new(
        crossterm::event::KeyCode::Char('e'),
        crossterm::event::KeyModifiers::NONE,
    )));
    println!(
        "re-filter over {} events: {:.1} ms",
        app.store.len(),
        t.elapsed().as_secs_f64() * 1000.0
    );
}
