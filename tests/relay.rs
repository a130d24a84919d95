//! The relay through the real binary: Dify-shaped records in, Amplitude
//! events journaled with their source, findings for what cannot be mapped.

mod common;

use common::Amptap;
use serde_json::{json, Value};

const PLAN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/dify-plan.toml");

fn message_created(id: &str) -> Value {
    json!({"event":"MessageCreated","data":{"conversation_id":"conv_abc123","message_id":id,"content":"Hello, AI!","timestamp":"2025-04-05T10:00:00Z","user_id":"user-12345","app_id":"app-42"}})
}

#[tokio::test(flavor = "multi_thread")]
async fn dify_records_become_planned_events_and_the_rest_are_findings() {
    let mut tap = Amptap::serve(&["--offline", "--plan", PLAN]);
    let client = reqwest::Client::new();
    let body =
        json!([message_created("msg_1"), {"event": "WorkflowFinished"}, message_created("msg_2")]);
    let r = client
        .post(tap.url("/relay/dify"))
        .json(&body)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 202);
    let answer: Value = r.json().await.expect("json");
    assert_eq!(answer["accepted"], 2);
    assert_eq!(answer["insert_ids"], json!(["msg_1", "msg_2"]));
    assert_eq!(answer["unmappable"][0]["index"], 1);
    // JSON Lines too; a broken body is refused whole.
    let lines = format!(
        "{}\n{}\n",
        message_created("msg_3"),
        message_created("msg_4")
    );
    let r = client
        .post(tap.url("/relay/dify"))
        .body(lines)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 202);
    let r = client
        .post(tap.url("/relay/dify"))
        .body("{\"event\":1}\n{broken")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 400);
    let error: Value = r.json().await.expect("json");
    assert!(
        error["error"]
            .as_str()
            .is_some_and(|e| e.contains("line 2")),
        "{error}"
    );
    tap.interrupt();

    let records = tap.captures();
    let relayed: Vec<_> = records.iter().filter(|r| !r.events.is_empty()).collect();
    assert_eq!(relayed.len(), 4, "one journal record per mapped record");
    let first = relayed[0];
    let event: Value = serde_json::from_str(first.events[0].raw().get()).expect("event");
    assert_eq!(event["event_type"], "dify_user_query");
    assert_eq!(event["time"], 1_743_847_200_000_i64, "ISO 8601 → ms");
    assert_eq!(event["insert_id"], "msg_1");
    assert_eq!(event["event_properties"]["query_text"], "Hello, AI!");
    let note = first.relay.as_ref().expect("relay note");
    assert_eq!(note.source, "dify");
    assert!(
        note.record.contains("\"MessageCreated\""),
        "the record as sent"
    );
    assert!(note.coerced.iter().any(|c| c.contains("ISO 8601")));
    assert!(records.iter().any(|r| r
        .problem
        .as_ref()
        .is_some_and(|p| p.reason.contains("WorkflowFinished"))));

    // The inspector marks relayed events (↪) and shows the app's record
    // beside the event it became.
    let journal = tap.journal.clone();
    let screen = tokio::task::spawn_blocking(move || common::screen_with_filter(&journal, "msg_1"))
        .await
        .expect("join");
    assert!(screen.contains("↪ dify_user_query"), "{screen}");
    let journal = tap.journal.clone();
    let detail = tokio::task::spawn_blocking(move || {
        use amptap::tui::msg::Msg;
        use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
        let (mut app, lines) = common::opened(&journal);
        for code in [KeyCode::Char('g'), KeyCode::Enter] {
            let effects = app.update(Msg::Key(KeyEvent::new(code, KeyModifiers::NONE)));
            common::perform(&mut app, effects, &lines);
        }
        let mut terminal =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(160, 40)).expect("terminal");
        terminal
            .draw(|f| amptap::tui::draw::draw(f, &app))
            .expect("draw");
        terminal.backend().to_string()
    })
    .await
    .expect("join");
    assert!(detail.contains("relayed from dify"), "{detail}");
    assert!(
        detail.contains("\"MessageCreated\"") && detail.contains("ISO 8601 → ms"),
        "{detail}"
    );

    // check reads relay journals: the unmappable record is an error finding.
    let out = common::amptap_cli(&[
        "check",
        "--plan",
        PLAN,
        tap.journal.to_str().expect("path"),
        "--format",
        "json",
    ]);
    let report: Value = serde_json::from_slice(&out.stdout).expect("report");
    assert_eq!(
        report["summary"]["by_code"]["unmappable_record"], 1,
        "{report}"
    );
    assert_eq!(report["summary"]["events"], 4);
}

/// The fake Amplitude, with these faults first (`500x2,429`).
async fn amplitude_failing(faults: &str) -> amptap::fake_amplitude::RunningFake {
    use amptap::fake_amplitude::{parse_faults, FakeAmplitude};
    let upstream = FakeAmplitude::new()
        .start("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("fake");
    upstream
        .fake
        .push_faults(parse_faults(faults).expect("faults"));
    upstream
}

fn insert_ids(events: &[String]) -> Vec<String> {
    let mut ids: Vec<String> = events
        .iter()
        .filter_map(|e| serde_json::from_str::<Value>(e).ok())
        .filter_map(|e| e["insert_id"].as_str().map(str::to_owned))
        .collect();
    ids.sort();
    ids
}

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let ok = common::eventually(std::time::Duration::from_secs(30), &mut done).await;
    assert!(ok, "waited 30 s for {what}");
}

fn markers(journal: &std::path::Path) -> Vec<amptap::record::Marker> {
    let mut reader = amptap::journal::open_reader(journal).expect("journal");
    let mut out = Vec::new();
    while let Some(line) = reader.next_line() {
        if let amptap::record::line::Line::Marker(m) = line.line {
            out.push(m);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn the_outbox_retries_splits_and_drops_only_what_amplitude_names() {
    let upstream = amplitude_failing("500x2,429,413").await;
    let mut tap = Amptap::serve_env(
        &[
            "--upstream",
            &upstream.url(),
            "--plan",
            PLAN,
            "--relay-throttle-wait",
            "1",
        ],
        &[("AMPLITUDE_API_KEY", "0123456789abcdef0123456789abcdef")],
    );
    let mut placeholder = message_created("msg_null");
    placeholder["data"]["user_id"] = json!("null");
    let body = json!([
        message_created("msg_a"),
        message_created("msg_b"),
        message_created("msg_c"),
        placeholder
    ]);
    let r = reqwest::Client::new()
        .post(tap.url("/relay/dify"))
        .json(&body)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 202, "answered at once, whatever Amplitude does");
    until("three events at Amplitude", || {
        upstream.fake.ingested_events().len() >= 3
    })
    .await;
    until("the outbox to note every event", || {
        markers(&tap.journal)
            .iter()
            .map(|m| m.seqs.len())
            .sum::<usize>()
            >= 4
    })
    .await;
    let metrics = common::get_text(&tap.url("/metrics")).await;
    for line in [
        "amptap_relay_delivered_total 3",
        "amptap_relay_dropped_total 1",
        "amptap_relay_backlog 0",
    ] {
        assert!(metrics.contains(line), "{line} in:\n{metrics}");
    }
    assert!(
        !metrics.contains("amptap_relay_retries_total 0\n"),
        "retries counted"
    );
    tap.interrupt();
    assert_eq!(
        insert_ids(&upstream.fake.ingested_events()),
        ["msg_a", "msg_b", "msg_c"],
        "each exactly once, the placeholder id dropped"
    );
    // What reached Amplitude is the mapped event: the plan's name and
    // properties, time in ms, the record's own id.
    let at_amplitude: Vec<Value> = upstream
        .fake
        .ingested_events()
        .iter()
        .map(|e| serde_json::from_str(e).expect("json"))
        .collect();
    let a = at_amplitude
        .iter()
        .find(|e| e["insert_id"] == "msg_a")
        .expect("msg_a");
    assert_eq!(a["event_type"], "dify_user_query");
    assert_eq!(a["time"], 1_743_847_200_000_i64);
    assert_eq!(a["user_id"], "user-12345");
    assert_eq!(a["event_properties"]["query_text"], "Hello, AI!");
    assert_eq!(a["event_properties"]["app_id"], "app-42");
    let marks = markers(&tap.journal);
    let dropped: Vec<_> = marks
        .iter()
        .filter(|m| m.marker == "relay_dropped")
        .collect();
    assert_eq!(dropped.len(), 1, "{marks:?}");
    assert_eq!(dropped[0].status, Some(400));
    assert!(
        dropped[0]
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("user_id")),
        "{:?}",
        dropped[0]
    );
    assert!(
        upstream.fake.request_count() >= 7,
        "500, 500, 429, 413, two halves, the rest"
    );

    // Reconcile proves it end to end: Dify's records are in Amplitude's
    // export, and the one Amplitude refused is said to be refused.
    upstream
        .fake
        .set_export(amptap::fake_amplitude::ExportKnobs::default());
    let dir = tempfile::tempdir().expect("dir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_amptap"))
        .args([
            "reconcile",
            "--auto",
            "--endpoint",
            &upstream.url(),
            "--format",
            "json",
            "--capture",
        ])
        .arg(&tap.journal)
        .env("AMPLITUDE_API_KEY", "FAKE_EXPORT_API_KEY_0001")
        .env("AMPLITUDE_SECRET_KEY", "FAKE_EXPORT_SECRET_0001")
        .env("AMPTAP_CONFIG_DIR", dir.path())
        .env("AMPTAP_DATA_DIR", dir.path())
        .output()
        .expect("reconcile");
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let summary = &report["reconcile"]["summary"];
    assert_eq!(
        (
            summary["captured"].clone(),
            summary["matched"].clone(),
            summary["missing"].clone(),
            summary["rejected"].clone()
        ),
        (json!(4), json!(3), json!(0), json!(1)),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn after_kill_9_with_a_backlog_the_rest_is_sent_once() {
    let upstream = amplitude_failing("503x1000").await;
    let dir = tempfile::tempdir().expect("dir");
    let journal = dir.path().join("relay.jsonl");
    let args = [
        "--upstream",
        &upstream.url(),
        "--plan",
        PLAN,
        "--record",
        journal.to_str().expect("path"),
    ];
    let env = [("AMPLITUDE_API_KEY", "0123456789abcdef0123456789abcdef")];
    let mut tap = Amptap::serve_env(&args, &env);
    let records: Vec<Value> = (0..20)
        .map(|i| message_created(&format!("msg_{i:02}")))
        .collect();
    let r = reqwest::Client::new()
        .post(tap.url("/relay/dify"))
        .json(&records)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 202);
    until("a failed attempt", || upstream.fake.request_count() >= 1).await;
    tap.kill9();
    assert!(
        upstream.fake.ingested_events().is_empty(),
        "nothing got through yet"
    );

    upstream.fake.reset(); // Amplitude is back
    let mut again = Amptap::serve_env(&args, &env);
    until("the backlog at Amplitude", || {
        upstream.fake.ingested_events().len() >= 20
    })
    .await;
    again.interrupt();
    let ids = insert_ids(&upstream.fake.ingested_events());
    let want: Vec<String> = (0..20).map(|i| format!("msg_{i:02}")).collect();
    assert_eq!(ids, want, "every event once");
}

/// The plan's throttle rules decide for each relayed event, visibly:
/// `max_per_minute` (30 for dify_user_query) delays what a loop would flood
/// Amplitude with; `debounce_ms` (1 s for likes) drops a double click.
#[tokio::test(flavor = "multi_thread")]
async fn the_plans_throttle_rules_delay_a_flood_and_drop_a_double_click() {
    let mut tap = Amptap::serve(&["--offline", "--plan", PLAN]);
    let client = reqwest::Client::new();
    let records: Vec<Value> = (0..35)
        .map(|i| message_created(&format!("flood_{i:02}")))
        .collect();
    let answer: Value = client
        .post(tap.url("/relay/dify"))
        .json(&records)
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(answer["accepted"], 35, "none lost");
    let delayed = answer["delayed"].as_array().expect("delayed");
    assert_eq!(delayed.len(), 5, "{answer}");
    assert!(delayed[0]["reason"]
        .as_str()
        .is_some_and(|r| r.contains("max_per_minute = 30")));
    assert!(delayed[0]["until_ms"].as_i64().is_some_and(|t| t > 0));

    let like = |id: &str| json!({"event":"MessageFeedback","data":{"rating":"like","message_id":"m1","feedback_id":id,"user_id":"user-12345","app_id":"app-42","score":5}});
    let answer: Value = client
        .post(tap.url("/relay/dify"))
        .json(&json!([like("f1"), like("f2")]))
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(answer["accepted"], 1);
    let throttled = answer["throttled"].as_array().expect("throttled");
    assert!(
        throttled[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("debounced")),
        "{answer}"
    );

    let metrics = common::get_text(&tap.url("/metrics")).await;
    assert!(
        metrics.contains("amptap_relay_delayed_total 5"),
        "{metrics}"
    );
    assert!(
        metrics.contains("amptap_relay_throttled_total 1"),
        "{metrics}"
    );
    tap.interrupt();
    let held: Vec<_> = tap
        .captures()
        .into_iter()
        .filter(|r| matches!(&r.delivery, amptap::record::Delivery::Refused { reason } if reason.contains("debounced")))
        .collect();
    assert_eq!(
        held.len(),
        1,
        "the held-back like is a record with the rule"
    );
    assert_eq!(
        held[0].events.len(),
        1,
        "the event as it would have been sent"
    );
}

/// A 503 with `Retry-After`: the outbox waits what Amplitude asked, and the
/// tap passes the header on to an SDK as it came.
#[tokio::test(flavor = "multi_thread")]
async fn retry_after_is_honoured_by_the_outbox_and_passed_on_to_sdks() {
    let upstream = amplitude_failing("retry-after:2").await;
    let mut tap = Amptap::serve_env(
        &["--upstream", &upstream.url(), "--plan", PLAN],
        &[("AMPLITUDE_API_KEY", "0123456789abcdef0123456789abcdef")],
    );
    let client = reqwest::Client::new();
    let r = client
        .post(tap.url("/relay/dify"))
        .json(&message_created("msg_ra"))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 202);
    until("the retried event at Amplitude", || {
        !upstream.fake.ingested_events().is_empty()
    })
    .await;
    let received = upstream.fake.received();
    let waited = received[1].received_ms - received[0].received_ms;
    assert!(waited >= 1_900, "waited {waited} ms for Retry-After: 2");
    // An SDK's request through the tap sees Amplitude's Retry-After as sent.
    upstream
        .fake
        .push_faults(amptap::fake_amplitude::parse_faults("retry-after:7").expect("faults"));
    let sdk = client
        .post(tap.url("/2/httpapi"))
        .json(&json!({"api_key": "0123456789abcdef0123456789abcdef", "events": [{"event_type": "x", "user_id": "user-12345"}]}))
        .send()
        .await
        .expect("post");
    assert_eq!(sdk.status(), 503);
    assert_eq!(
        sdk.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("7")
    );
    tap.interrupt();
}
