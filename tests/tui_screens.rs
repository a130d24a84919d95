//! Every screen drawn on ratatui's TestBackend at 80×24 and 160×48, from a
//! fixed session: clean events, events with findings, and one carrying
//! escape sequences and bidi overrides in its strings.

mod common;

use std::path::Path;
use std::sync::{Arc, OnceLock};

use amptap::event::{decode_request, BodyLimits, Endpoint};
use amptap::judge::Judged;
use amptap::pipeline::Item;
use amptap::plan::{self, Validator};
use amptap::record::line::write_record;
use amptap::record::LineAt;
use amptap::store::{MemoryLines, Store, DEFAULT_BUDGET};
use amptap::tap::{Answer, Delivery, Record};
use amptap::tui::app::{App, Session};
use amptap::tui::draw::draw;
use amptap::tui::msg::Msg;
use amptap::tui::theme::Theme;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use serde_json::json;
use time::macros::datetime;

const T0: i64 = 1_795_514_400_000; // 2026-11-24 10:00:00 UTC

fn request(seq: u64, events: serde_json::Value, status: u16) -> Record {
    let body = json!({"api_key": "FAKE_API_KEY_TEST_0123456789", "events": events}).to_string();
    let batch = decode_request(
        Endpoint::HttpV2,
        None,
        body.as_bytes(),
        BodyLimits::default(),
    )
    .expect("decodes");
    let received = datetime!(2026-11-24 10:00:00 UTC) + time::Duration::seconds(seq as i64);
    Record {
        seq,
        content_type: Some("application/json".into()),
        body_bytes: body.len(),
        api_key: Some("FAKE…6789".into()),
        events: batch.events,
        answer: Answer::new(
            status,
            Some("application/json".into()),
            format!(r#"{{"code":{status},"events_ingested":1}}"#).as_bytes(),
        ),
        delivery: Delivery::Forwarded {
            url: "https://api2.amplitude.com/2/httpapi".into(),
            latency_ms: 84.2,
        },
        ..Record::new("POST", "/2/httpapi", received, "127.0.0.1:50000".into())
    }
}

fn query(id: u32, props: serde_json::Value) -> serde_json::Value {
    json!({"event_type": "dify_user_query", "user_id": "user-ada", "device_id": "device-a11ce-0", "insert_id": format!("00000000-0000-4000-8000-{id:012}"), "time": T0 + i64::from(id), "event_properties": props})
}

fn captures() -> Vec<Record> {
    let good = json!({"query_text": "How do I reset my password?", "app_id": "app-42", "conversation_id": "conv-1", "uid": "user-ada", "createTime": T0});
    vec![
        request(
            1,
            json!([query(1, good.clone()), {"event_type": "dify_workflow_executed", "user_id": "user-ada", "insert_id": "00000000-0000-4000-8000-000000000002", "time": T0, "event_properties": {"app_id": "app-42", "workflow_id": "wf-1", "model": "gpt-4o", "latency_ms": 812, "total_tokens": 420, "status": "succeeded", "error": null}}]),
            200,
        ),
        // Findings: the app's own field name, a null, a missing required property.
        request(
            2,
            json!([query(
                3,
                json!({"appId": "app-42", "conversation_id": null, "uid": "user-ada", "createTime": T0})
            )]),
            200,
        ),
        // Escape sequences and a bidi override in every string a screen shows.
        request(
            3,
            json!([{"event_type": "dify_feedback_submitted\u{1b}[2J", "user_id": "user-\u{202e}evil", "insert_id": "00000000-0000-4000-8000-000000000004", "time": T0, "event_properties": {"response_id": "msg-1", "rating": "like", "comment": "\u{1b}]0;pwned\u{7}\u{1b}[31mred\u{1b}[0m"}}]),
            200,
        ),
        request(
            4,
            json!([{"event_type": "dify_response_liked", "user_id": "user-grace", "insert_id": "00000000-0000-4000-8000-000000000005", "time": T0, "event_properties": {"response_id": "msg-2", "rating": "5", "app_id": "app-7"}}]),
            502,
        ),
        request(5, json!([query(6, good)]), 200),
    ]
}

fn app(width: u16, height: u16) -> App {
    let plan = amptap::plan_file::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/dify-plan.toml"),
    )
    .expect("plan");
    let session = Session {
        listen: Some("http://127.0.0.1:8787".into()),
        upstream: "forwarding to Amplitude US (https://api2.amplitude.com)".into(),
        plan: Some("assets/dify-plan.toml".into()),
        journal: Some("/tmp/capture.jsonl".into()),
        inputs: Vec::new(),
    };
    let store = Store::new(DEFAULT_BUDGET, Some(&plan));
    let mut app = App::new(
        store,
        session,
        vec!["type:dify_user_query".into()],
        Theme { color: true },
        datetime!(2026-11-24 10:00:30 UTC),
    );
    let mut validator = Validator::new(&plan);
    let batch = journal()
        .1
        .into_iter()
        .map(|(capture, at)| Item::Judged(Arc::new(Judged::new(&mut validator, capture).at(at))))
        .collect();
    app.update(Msg::Resize(width, height));
    let effects = app.update(Msg::Feed(amptap::pipeline::Feed::Batch(batch)));
    common::perform(&mut app, effects, lines());
    let effects = app.update(Msg::Progress {
        journal_bytes: 4096,
        behind: 0,
        journal_error: None,
        link_error: None,
    });
    common::perform(&mut app, effects, lines());
    app
}

/// The captures as journal lines, and each record with where its line is.
fn journal() -> (MemoryLines, Vec<(Record, LineAt)>) {
    let mut bytes = Vec::new();
    let records = captures()
        .into_iter()
        .map(|record| {
            let offset = bytes.len() as u64;
            write_record(&record, &mut bytes).expect("line");
            let len = bytes.len() as u64 - offset;
            (
                record,
                LineAt {
                    file: 0,
                    offset,
                    len,
                },
            )
        })
        .collect();
    (MemoryLines(vec![bytes]), records)
}

/// The captures' journal lines, made once.
fn lines() -> &'static MemoryLines {
    static LINES: OnceLock<MemoryLines> = OnceLock::new();
    LINES.get_or_init(|| journal().0)
}

fn key(app: &mut App, code: KeyCode) {
    let effects = app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
    common::perform(app, effects, lines());
}

fn typed(app: &mut App, text: &str) {
    for c in text.chars() {
        key(app, KeyCode::Char(c));
    }
}

fn screen(app: &App) -> String {
    let mut terminal =
        Terminal::new(TestBackend::new(app.size.width, app.size.height)).expect("terminal");
    terminal.draw(|f| draw(f, app)).expect("draw");
    let text = terminal.backend().to_string();
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{202e}') && !text.contains('\u{7}'),
        "a control character reached the screen"
    );
    text
}

/// Each screen at the sizes people use, as `name_80x24` … `name_200x50`.
fn snap(name: &str, setup: impl Fn(&mut App)) {
    for (w, h) in [(80, 24), (100, 30), (120, 40), (200, 50)] {
        let mut app = app(w, h);
        setup(&mut app);
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), screen(&app));
    }
}

#[test]
fn stream() {
    snap("stream", |_| {});
}

#[test]
fn the_column_chooser_hides_and_shows_columns_and_times_change_mode() {
    snap("column_chooser", |app| {
        key(app, KeyCode::Char('c'));
        key(app, KeyCode::Down);
        key(app, KeyCode::Char(' ')); // event time off
    });
    let mut a = app(120, 40);
    let header = |a: &App| screen(a).lines().nth(2).unwrap_or_default().to_owned();
    assert!(header(&a).contains("event time"), "{}", header(&a));
    key(&mut a, KeyCode::Char('c'));
    key(&mut a, KeyCode::Down);
    key(&mut a, KeyCode::Char(' '));
    key(&mut a, KeyCode::Esc);
    assert!(!header(&a).contains("event time"), "{}", header(&a));
    assert!(header(&a).contains("event type"));
    key(&mut a, KeyCode::Char('T'));
    assert!(header(&a).contains("received UTC"), "{}", header(&a));
    key(&mut a, KeyCode::Char('T'));
    assert!(header(&a).contains("received ago"), "{}", header(&a));
    assert!(screen(&a).contains("times in time ago"));
}

#[test]
fn problems_are_a_key_away_and_the_detail_says_where_it_is() {
    let mut a = app(120, 40);
    key(&mut a, KeyCode::Char('g')); // the first event, which is clean
    key(&mut a, KeyCode::Char(']'));
    key(&mut a, KeyCode::Enter);
    let text = screen(&a);
    assert!(text.contains(" 3/6 · dify_user_query"), "{text}");
    key(&mut a, KeyCode::Char(']'));
    assert!(screen(&a).contains(" 4/6 · dify_feedback_submitted"));
    key(&mut a, KeyCode::Char(']'));
    key(&mut a, KeyCode::Char(']'));
    assert!(screen(&a).contains("no event with a finding after this one"));
    key(&mut a, KeyCode::Char('['));
    assert!(screen(&a).contains(" 4/6 · "), "{}", screen(&a));
}

#[test]
fn a_wide_terminal_shows_the_focused_event_beside_the_stream() {
    let mut a = app(200, 50);
    let text = screen(&a);
    assert!(
        text.contains("Events 6") && text.contains(" 6/6 · dify_user_query"),
        "{text}"
    );
    key(&mut a, KeyCode::Char('v'));
    assert!(!screen(&a).contains(" 6/6 · "), "v puts it away");
    let narrow = app(160, 48);
    assert!(
        !screen(&narrow).contains(" 6/6 · "),
        "160 columns: the stream alone"
    );
}

#[test]
fn columns_fit_every_width_without_starving_the_event_type() {
    for width in [80, 100, 116, 120, 135, 160, 200] {
        let a = app(width, 30);
        let text = screen(&a);
        assert!(
            text.contains("dify_workflow_executed"),
            "{width} columns cut the event type:\n{text}"
        );
        assert!(
            text.contains("✗ 2 ⚠ 1"),
            "{width}: the header keeps its counts"
        );
        if width >= 120 {
            assert!(text.contains("user-grace") && text.contains("received"));
        }
    }
}

#[test]
fn stream_filtered_to_problems() {
    snap("stream_problems", |app| key(app, KeyCode::Char('e')));
}

#[test]
fn detail_of_an_event_with_findings() {
    snap("detail_findings", |app| {
        typed(app, "/code:unmapped_field");
        key(app, KeyCode::Enter);
        key(app, KeyCode::Enter);
    });
    let mut a = app(160, 48);
    typed(&mut a, "/code:unmapped_field");
    key(&mut a, KeyCode::Enter);
    key(&mut a, KeyCode::Enter);
    let text = screen(&a);
    assert!(
        text.contains("‹missing: string (required)›"),
        "ghost line for query_text:\n{text}"
    );
    assert!(text.contains("unmapped_field"));
}

#[test]
fn detail_of_an_event_with_escape_sequences() {
    snap("detail_escapes", |app| {
        typed(app, "/prop.response_id=msg-1");
        key(app, KeyCode::Enter);
        key(app, KeyCode::Enter);
    });
}

#[test]
fn filter_bar_with_a_bad_regex() {
    snap("filter_error", |app| typed(app, "/type:dify_( user:ada"));
}

#[test]
fn coverage() {
    snap("coverage", |app| key(app, KeyCode::Char('2')));
}

#[test]
fn stats() {
    snap("stats", |app| key(app, KeyCode::Char('3')));
}

#[test]
fn help() {
    snap("help", |app| key(app, KeyCode::Char('?')));
}

#[test]
fn paused_view_counts_what_arrives() {
    let mut a = app(80, 24);
    key(&mut a, KeyCode::Char(' '));
    let none = plan::Plan::none();
    let mut validator = Validator::new(&none);
    let c = request(9, json!([query(9, json!({}))]), 200);
    let judged = Judged::new(&mut validator, c);
    a.update(Msg::Feed(amptap::pipeline::Feed::Batch(vec![
        Item::Judged(std::sync::Arc::new(judged)),
    ])));
    let text = screen(&a);
    assert!(text.contains("⏸ paused, 1 arrived"), "{text}");
    assert!(text.contains("Events 7 · showing 6"), "{text}");
}

#[test]
fn help_scrolls_to_the_filter_grammar_on_a_small_screen() {
    let mut a = app(80, 24);
    key(&mut a, KeyCode::Char('?'));
    assert!(!screen(&a).contains("prop.PATH=VALUE"));
    for _ in 0..10 {
        key(&mut a, KeyCode::PageDown);
    }
    let text = screen(&a);
    assert!(text.contains("prop.PATH=VALUE"), "{text}");
    key(&mut a, KeyCode::Char('z'));
    assert!(screen(&a).contains("Events 6"), "any other key returns");
}

#[test]
fn the_mouse_scrolls_selects_and_opens() {
    use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut a = app(80, 24);
    let mouse = |kind, row| {
        Msg::Mouse(MouseEvent {
            kind,
            column: 10,
            row,
            modifiers: KeyModifiers::NONE,
        })
    };
    assert_eq!(a.view.focus(), Some(5), "following the newest");
    a.update(mouse(MouseEventKind::ScrollUp, 5));
    assert_eq!(a.view.focus(), Some(2));
    assert!(!a.view.follow);
    // Rows start under the border and the header: screen row 3 is the first event.
    a.update(mouse(MouseEventKind::Down(MouseButton::Left), 3));
    assert_eq!(a.view.focus(), Some(0));
    a.update(mouse(MouseEventKind::Down(MouseButton::Left), 3));
    assert!(
        screen(&a).contains("Findings"),
        "a click on the selected row opens it"
    );
}

#[test]
fn earlier_filters_come_back_with_up() {
    let mut a = app(80, 24);
    key(&mut a, KeyCode::Char('/'));
    key(&mut a, KeyCode::Up);
    assert_eq!(
        a.input.as_ref().map(|i| i.text.as_str()),
        Some("type:dify_user_query")
    );
    key(&mut a, KeyCode::Enter);
    assert_eq!(a.view.len(), 3, "the recalled filter applies");
    key(&mut a, KeyCode::Char('/'));
    for _ in 0.."type:dify_user_query".len() {
        key(&mut a, KeyCode::Backspace);
    }
    typed(&mut a, "user:user-grace");
    let effects = a.update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    assert!(
        effects.iter().any(|e| matches!(e, amptap::tui::msg::Effect::SaveHistory(h) if h.last().map(String::as_str) == Some("user:user-grace"))),
        "a kept filter is saved for the next run"
    );
}

#[test]
fn no_color_draws_without_colours() {
    let mut a = app(80, 24);
    a.theme = Theme { color: false };
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    terminal.draw(|f| draw(f, &a)).expect("draw");
    let buffer = terminal.backend().buffer();
    let coloured = buffer
        .content()
        .iter()
        .any(|c| c.fg != ratatui::style::Color::Reset || c.bg != ratatui::style::Color::Reset);
    assert!(!coloured, "NO_COLOR: no cell has a colour");
}

/// The Reconcile view once its job is done: the problems by class, one side by side.
fn reconciled(app: &mut App) {
    use amptap::plan::Severity;
    use amptap::reconcile::{
        CapturedSide, Class, Diff, DiffKind, ExportedSide, Outcome, Problem, ReconcileSummary,
        Reconciliation,
    };
    let side = |seq| {
        Some(CapturedSide {
            seq,
            index: 0,
            received_ms: T0,
            attempts: 1,
            outcome: Outcome::Accepted,
        })
    };
    let problems = vec![
        Problem {
            class: Class::Missing,
            severity: Severity::Error,
            insert_id: Some("00000000-0000-4000-8000-000000000003".into()),
            event_type: Some("dify_user_query".into()),
            user_id: Some("user-ada".into()),
            device_id: None,
            captured: side(2),
            exported: vec![],
            diffs: vec![],
        },
        Problem {
            class: Class::Matched,
            severity: Severity::Error,
            insert_id: Some("00000000-0000-4000-8000-000000000001".into()),
            event_type: Some("dify_user_query".into()),
            user_id: Some("user-ada".into()),
            device_id: None,
            captured: side(1),
            exported: vec![ExportedSide {
                uuid: Some("uuid-1".into()),
                server_upload_time: Some("2026-11-24 10:00:01.000000".into()),
                event_time: None,
            }],
            diffs: vec![
                Diff {
                    kind: DiffKind::ValueChanged,
                    path: "event_properties.app_id".into(),
                    captured: Some(json!("app-42")),
                    exported: Some(json!("app-0")),
                    expected: false,
                },
                Diff {
                    kind: DiffKind::NullDropped,
                    path: "event_properties.error".into(),
                    captured: Some(json!(null)),
                    exported: None,
                    expected: true,
                },
            ],
        },
    ];
    let check = amptap::report::ReportBuilder::new(
        vec!["/tmp/capture.jsonl".into()],
        None,
        "2026-11-24T10:00:30Z".into(),
    )
    .finish();
    let reconcile = Reconciliation {
        omitted: 0,
        window: Some("20261124T09–20261124T10".into()),
        summary: ReconcileSummary {
            captured: 6,
            forwarded_ok: 6,
            matched: 5,
            changed: 1,
            missing: 1,
            expected_transformations: 1,
            ..ReconcileSummary::default()
        },
        problems,
    };
    let report = amptap::report::ReconcileReport {
        check,
        reconcile,
        exported_findings: Vec::new(),
    };
    key(app, KeyCode::Char('r'));
    app.update(Msg::ReconcileDone(Ok((Box::new(report), vec![]))));
}

#[test]
fn reconcile_view() {
    snap("reconcile", |app| {
        reconciled(app);
        key(app, KeyCode::Down);
    });
    let mut a = app(160, 48);
    key(&mut a, KeyCode::Char('r'));
    assert!(
        screen(&a).contains("Reconciling with Amplitude's export"),
        "a gauge while it runs"
    );
    reconciled(&mut a);
    key(&mut a, KeyCode::Down);
    let text = screen(&a);
    assert!(
        text.contains("missing") && text.contains("changed"),
        "{text}"
    );
    assert!(
        text.contains("\"app-42\"") && text.contains("\"app-0\"") && text.contains("value_changed"),
        "side by side:\n{text}"
    );
    assert!(text.contains("null_dropped (expected)"), "{text}");
    // x writes the mismatch report, not the stream's findings.
    key(&mut a, KeyCode::Char('x'));
    let effects = a.update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
    assert!(effects.iter().any(|e| matches!(e, amptap::tui::msg::Effect::Export { report, .. } if report.kind() == "reconcile")));
}

#[test]
fn reconcile_shows_one_class_at_a_time_and_opens_a_missing_event_as_sent() {
    let mut a = app(120, 40);
    typed(&mut a, "/type:nothing");
    key(&mut a, KeyCode::Enter);
    key(&mut a, KeyCode::Char('r'));
    reconciled(&mut a);
    key(&mut a, KeyCode::Char('f'));
    let text = screen(&a);
    assert!(text.contains(" 1 missing of 2 problems"), "{text}");
    key(&mut a, KeyCode::Char('f'));
    assert!(screen(&a).contains(" 1 matched of 2 problems"));
    key(&mut a, KeyCode::Char('f'));
    assert!(
        screen(&a).contains(" 2 problems · f one class"),
        "back to all"
    );
    // The missing event (request #2) opens as it was sent, though the
    // stream's filter hid it.
    key(&mut a, KeyCode::Enter);
    let detail = screen(&a);
    assert!(detail.contains("request #2 event 0"), "{detail}");
    assert!(
        detail.contains("00000000-0000-4000-8000-000000000003"),
        "{detail}"
    );
    assert!(
        a.view.filter().is_empty(),
        "the filter was cleared to show it"
    );
}

#[test]
fn an_open_event_stays_put_while_events_arrive_and_y_copies_from_the_stream() {
    let mut a = app(160, 48);
    key(&mut a, KeyCode::Enter);
    let title = |a: &App| {
        let text = screen(a);
        text.lines()
            .find(|l| l.contains("request #"))
            .map(str::to_owned)
    };
    let before = title(&a).expect("detail title");
    assert!(before.contains("request #5"), "{before}");
    let none = plan::Plan::none();
    let mut validator = Validator::new(&none);
    let judged = Judged::new(
        &mut validator,
        request(9, json!([query(9, json!({}))]), 200),
    );
    a.update(Msg::Feed(amptap::pipeline::Feed::Batch(vec![
        Item::Judged(Arc::new(judged)),
    ])));
    // The same event, one more behind it.
    assert_eq!(
        title(&a),
        Some(before.replace(" 6/6 ·", " 6/7 ·")),
        "the open event stays"
    );

    let mut b = app(80, 24);
    let effects = b.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('y'),
        KeyModifiers::NONE,
    )));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, amptap::tui::msg::Effect::Load { .. })),
        "y reads the focused event's line first"
    );
    let mut copied = Vec::new();
    for effect in effects {
        if let amptap::tui::msg::Effect::Load { id, seq, at } = effect {
            let record = amptap::store::load_record(lines(), at, seq)
                .map(Arc::new)
                .map_err(|e| e.to_string());
            copied.extend(b.update(Msg::Loaded { id, record }));
        }
    }
    assert!(
        copied.iter().any(|e| matches!(e, amptap::tui::msg::Effect::Copy(text) if text.contains("dify_user_query"))),
        "then copies it"
    );
}

#[test]
fn a_broker_outage_shows_in_the_header_as_far_as_it_fits() {
    for (width, full) in [(80, false), (200, true)] {
        let mut a = app(width, 30);
        a.update(Msg::Progress {
            journal_bytes: 4096,
            behind: 0,
            journal_error: None,
            link_error: Some(
                "KAFKA DOWN (produce: no answer in 10 s): 12 KB wait in the journal".into(),
            ),
        });
        let text = screen(&a);
        let header = text.lines().next().unwrap_or_default();
        assert!(header.contains("⚠ KAFKA DOWN"), "{width}: {header}");
        assert_eq!(
            header.contains("wait in the journal"),
            full,
            "{width}: {header}"
        );
        assert!(
            header.contains("✗ ") && header.contains("events"),
            "the counts stay: {header}"
        );
    }
}

#[test]
fn a_journal_that_cannot_be_written_shows_in_the_header() {
    let mut a = app(160, 48);
    a.update(Msg::Progress {
        journal_bytes: 4096,
        behind: 0,
        journal_error: Some("No space left on device (os error 28)".into()),
        link_error: None,
    });
    let text = screen(&a);
    let header = text.lines().next().unwrap_or_default();
    assert!(
        header.contains("JOURNAL NOT WRITABLE (No space left on device"),
        "{header}"
    );
    assert!(header.contains("SDKs get 503"), "{header}");
}

#[test]
fn before_the_first_event_the_stream_shows_each_sdks_setting() {
    let plan = amptap::plan::Plan::none();
    let session = Session {
        listen: Some("http://127.0.0.1:8787".into()),
        upstream: "offline (answering as Amplitude would)".into(),
        plan: None,
        journal: Some("/tmp/capture.jsonl".into()),
        inputs: Vec::new(),
    };
    let mut app = App::new(
        Store::new(DEFAULT_BUDGET, Some(&plan)),
        session,
        Vec::new(),
        Theme { color: true },
        datetime!(2026-11-24 10:00:30 UTC),
    );
    for (w, h) in [(80, 24), (120, 30)] {
        app.update(Msg::Resize(w, h));
        let text = screen(&app);
        assert!(text.contains("waiting for events"), "{text}");
        assert!(
            text.contains("Config(server_url='http://127.0.0.1:8787/2/httpapi')"),
            "{w}x{h}:\n{text}"
        );
        assert!(
            text.contains("apiEndpoint: '127.0.0.1:8787'"),
            "{w}x{h}:\n{text}"
        );
    }
}

#[test]
fn a_request_without_events_is_a_row_with_its_reason() {
    let mut app = app(200, 30);
    let mut record = Record::new(
        "POST",
        "/",
        datetime!(2026-11-24 10:00:20 UTC),
        "127.0.0.1:5000".to_owned(),
    );
    let why = "JSON was posted to /, which takes amplitude-js's form posts: the SDK's serverUrl lacks its path";
    record.refuse(
        amptap::record::ProblemKind::WrongPath,
        why.to_owned(),
        b"{}",
    );
    record.seq = 99;
    let plan = plan::Plan::none();
    let judged = Judged::new(&mut Validator::new(&plan), record);
    app.update(Msg::Feed(amptap::pipeline::Feed::Batch(vec![
        Item::Judged(Arc::new(judged)),
    ])));
    app.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('\\'),
        KeyModifiers::NONE,
    )));
    let text = screen(&app);
    assert!(text.contains("POST / · JSON was posted to /"), "{text}");
}

#[test]
fn export_takes_the_format_from_the_name_and_refuses_one_it_does_not_know() {
    let mut a = app(160, 48);
    let name = |a: &mut App, text: &str| {
        key(a, KeyCode::Char('x'));
        for _ in 0..80 {
            key(a, KeyCode::Backspace);
        }
        typed(a, text);
        a.update(Msg::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)))
    };
    let effects = name(&mut a, "report.pdf");
    assert!(effects.is_empty(), "nothing is written");
    let text = screen(&a);
    assert!(text.contains(".pdf is not a report format"), "{text}");
    let effects = name(&mut a, "~/report.html");
    let home = std::env::var("HOME").unwrap_or_default();
    assert!(
        effects.iter().any(|e| matches!(e,
            amptap::tui::msg::Effect::Export { path, format, .. }
                if *format == amptap::report::Format::Html && path.starts_with(&home) && !path.starts_with("~"))),
        "{effects:?}"
    );
}

#[test]
fn a_status_message_leaves_after_a_while() {
    let mut a = app(120, 30);
    a.message = Some("something happened".into());
    let start = datetime!(2026-11-24 10:01:00 UTC);
    for s in 0..5 {
        a.update(Msg::Tick(start + time::Duration::seconds(s)));
    }
    assert!(a.message.is_some(), "still there after 4 s");
    for s in 5..12 {
        a.update(Msg::Tick(start + time::Duration::seconds(s)));
    }
    assert!(a.message.is_none(), "gone after 8 s");
}

#[test]
fn q_asks_while_requests_are_arriving_and_capital_q_quits_at_once() {
    // The fixture's requests arrived at 10:00:01–10:00:05.
    let mut a = app(120, 30);
    a.update(Msg::Tick(datetime!(2026-11-24 10:00:07 UTC)));
    let effects = a.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('q'),
        KeyModifiers::NONE,
    )));
    assert!(effects.is_empty() && !a.quit, "asks first");
    assert!(screen(&a).contains("q again stops the tap"));
    let effects = a.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('q'),
        KeyModifiers::NONE,
    )));
    assert!(a.quit && !effects.is_empty(), "q again quits");

    let mut a = app(120, 30);
    a.update(Msg::Tick(datetime!(2026-11-24 10:00:07 UTC)));
    a.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('Q'),
        KeyModifiers::SHIFT,
    )));
    assert!(a.quit, "Q quits at once");

    let mut a = app(120, 30);
    a.update(Msg::Tick(datetime!(2026-11-24 10:05:00 UTC)));
    a.update(Msg::Key(KeyEvent::new(
        KeyCode::Char('q'),
        KeyModifiers::NONE,
    )));
    assert!(a.quit, "quiet for minutes: q quits");
}

#[test]
fn the_detail_marks_what_the_free_text_matched() {
    let mut a = app(120, 40);
    typed(&mut a, "/conv-1");
    key(&mut a, KeyCode::Enter);
    key(&mut a, KeyCode::Enter);
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
    terminal.draw(|f| draw(f, &a)).expect("draw");
    let buffer = terminal.backend().buffer().clone();
    let (mut marked, mut plain) = (0, 0);
    for y in 0..buffer.area.height {
        let row: String = (0..buffer.area.width)
            .map(|x| buffer[(x, y)].symbol().to_owned())
            .collect();
        let Some(at) = row.find("\"conv-1\"") else {
            continue;
        };
        let x = row[..at].chars().count() as u16 + 1; // inside the quotes
        let cell = &buffer[(x, y)];
        if cell.bg == ratatui::style::Color::DarkGray {
            marked += 1;
        } else {
            plain += 1;
        }
    }
    assert!(marked >= 1 && plain == 0, "marked {marked}, plain {plain}");
}

#[test]
fn f_finds_text_in_the_open_event_and_enter_goes_to_the_next_match() {
    let mut a = app(100, 30);
    key(&mut a, KeyCode::Enter);
    key(&mut a, KeyCode::Char('f'));
    typed(&mut a, "_ID");
    let text = screen(&a);
    assert!(text.contains("find in this event: _ID"), "{text}");
    assert!(text.contains("lines hold it"), "{text}");
    let first = a.detail_scroll;
    key(&mut a, KeyCode::Enter);
    key(&mut a, KeyCode::Char('f'));
    key(&mut a, KeyCode::Enter);
    assert_ne!(a.detail_scroll, first, "the next match");
    key(&mut a, KeyCode::Char('f'));
    typed(&mut a, "zzz-nowhere");
    assert!(screen(&a).contains("not in this event"));
    key(&mut a, KeyCode::Esc);
    assert!(a.find.is_none(), "Esc forgets it");
}

#[test]
fn s_sorts_the_stream_by_each_column_in_turn() {
    let mut a = app(120, 40);
    let first_row = |a: &App| screen(a).lines().nth(3).unwrap_or_default().to_owned();
    assert!(first_row(&a).contains("dify_user_query"), "arrival order");
    key(&mut a, KeyCode::Char('s'));
    let text = screen(&a);
    assert!(
        text.contains("sorted by event type") && text.contains("event type▼"),
        "{text}"
    );
    assert!(
        first_row(&a).contains("dify_feedback_submitted"),
        "{}",
        first_row(&a)
    );
    key(&mut a, KeyCode::Char('s')); // user
    key(&mut a, KeyCode::Char('s')); // check: errors first
    assert!(first_row(&a).contains("✗"), "{}", first_row(&a));
    key(&mut a, KeyCode::Char('s')); // answer: failures first
    assert!(first_row(&a).contains("502"), "{}", first_row(&a));
    key(&mut a, KeyCode::Char('s')); // event time
    key(&mut a, KeyCode::Char('s'));
    assert!(screen(&a).contains("in arrival order"));
    assert!(first_row(&a).contains("dify_user_query"));
}
