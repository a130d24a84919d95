//! The one data path, through the real binary: every request is a record
//! (decodable or not) that reaches the journal, the query API, `check` and
//! the screen; each event is judged once; stopping loses no line.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::tmux::Tmux;
use common::{metric, Amptap};
use serde_json::{json, Value};

fn events(n: usize, tag: &str) -> Value {
    let events: Vec<Value> = (0..n)
        .map(|i| {
            json!({"event_type": "Button Clicked", "user_id": format!("user-{tag}-{i:04}"),
                   "insert_id": format!("{tag}-{i}"), "time": 1_795_559_291_068_i64})
        })
        .collect();
    json!({"api_key": "FAKE_API_KEY_NODE_0123456789", "events": events})
}

/// `amptap check --format json` with the example plan.
fn check_json(journal: &std::path::Path) -> std::process::Output {
    let plan = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/dify-plan.toml");
    Command::new(env!("CARGO_BIN_EXE_amptap"))
        .args(["check", "--format", "json", "--plan"])
        .arg(&plan)
        .arg(journal)
        .output()
        .expect("check")
}

/// Requests a person gets wrong: each must become a record of its own.
async fn send_bad_requests(base: &str) {
    let client = reqwest::Client::new();
    let wrong_path = client
        .post(format!("{base}/2/httpApi"))
        .body(r#"{"api_key":"FAKE_API_KEY_NODE_0123456789","events":[]}"#)
        .send()
        .await
        .expect("post");
    assert_eq!(wrong_path.status(), 404);
    let wrong_method = client
        .get(format!("{base}/batch"))
        .send()
        .await
        .expect("get");
    assert_eq!(wrong_method.status(), 405);
    let broken = client
        .post(format!("{base}/2/httpapi"))
        .body("{\"api_key\": \"FAKE_API_KEY_NODE_0123456789\", \"events\": [\n{\"event_type\": ")
        .send()
        .await
        .expect("post");
    assert_eq!(broken.status(), 400);
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_that_do_not_decode_are_records_everywhere() {
    let tap = Amptap::serve(&["--offline"]);
    let base = format!("http://{}", tap.addr);
    send_bad_requests(&base).await;

    // The journal: one line each, with the reason and the body (key masked).
    let text = std::fs::read_to_string(&tap.journal).expect("journal");
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(!text.contains("NODE_0123"), "{text}");
    let records = tap.captures();
    let kinds: Vec<_> = records
        .iter()
        .map(|r| r.problem.as_ref().map(|p| p.kind.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            Some("wrong_path"),
            Some("wrong_method"),
            Some("undecodable")
        ]
    );

    // The query API lists them, with their reason.
    let r: Value = reqwest::get(format!("{base}/_amptap/events"))
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(r["count"], 3, "{r}");
    let requests: Vec<&str> = r["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["request"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        requests,
        ["POST /2/httpApi", "GET /batch", "POST /2/httpapi"]
    );
    assert_eq!(r["events"][0]["problem"]["kind"], "wrong_path");
    assert_eq!(r["events"][0]["verdict"], "error");

    // check reports them (and fails on them).
    let out = check_json(&tap.journal);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report["summary"]["bad_requests"], 3);
    let codes: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["code"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        codes,
        [
            "misrouted_request",
            "misrouted_request",
            "undecodable_request"
        ]
    );
}

/// `serve` stopped right after a burst prints every request's line first.
#[tokio::test(flavor = "multi_thread")]
async fn serve_prints_every_line_before_it_exits() {
    const REQUESTS: usize = 20;
    for round in 0..50 {
        let mut tap = Amptap::serve(&["--offline", "--session-memory", "0"]);
        let url = tap.url("/2/httpapi");
        let client = reqwest::Client::new();
        let sends: Vec<_> = (0..REQUESTS)
            .map(|i| {
                client
                    .post(&url)
                    .json(&events(5, &format!("{round}-{i}")))
                    .send()
            })
            .collect();
        for answer in futures_util::future::join_all(sends).await {
            assert_eq!(answer.expect("post").status(), 200);
        }
        let rest = tap.interrupt();
        let is_request = |l: &String| l.contains("/2/httpapi") && l.contains(" events ");
        let lines = rest.iter().filter(|l| is_request(l)).count();
        assert_eq!(lines, REQUESTS, "round {round}: {rest:#?}");
        let summary = rest
            .iter()
            .position(|l| l.contains("requests,"))
            .expect("summary");
        let last_line = rest.iter().rposition(is_request).expect("line");
        assert!(last_line < summary, "lines come before the summary");
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// `watch` runs the tap, the query API and the screen over one judge stage:
/// each event is judged once (the stage's own counter, read from /metrics),
/// and requests without events show as rows.
#[tokio::test(flavor = "multi_thread")]
async fn watch_judges_each_event_once_and_shows_bad_requests() {
    let work = tempfile::tempdir().expect("tempdir");
    let work = work.path().to_str().expect("utf-8");
    let port = free_port();
    let bin = env!("CARGO_BIN_EXE_amptap");
    let cmd = format!(
        "AMPTAP_DATA_DIR={work}/data AMPTAP_CONFIG_DIR={work}/config {bin} watch --offline --listen 127.0.0.1:{port} --record {work}/w.jsonl"
    );
    let tmux = Tmux::start("amptap-pipeline", work, (160, 40), &cmd);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while client
        .get(format!("{base}/_amptap/summary"))
        .send()
        .await
        .is_err()
    {
        assert!(Instant::now() < deadline, "watch did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for i in 0..3 {
        let r = client
            .post(format!("{base}/2/httpapi"))
            .json(&events(10, &i.to_string()))
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), 200);
    }
    send_bad_requests(&base).await;
    let rows = ["GET /batch", "POST /2/httpApi", "undecodable"];
    let screen = tmux.wait_for("the bad-request rows", |s| {
        rows.iter().all(|r| s.contains(r))
    });
    assert!(
        screen.contains("wrong_method") && screen.contains("undecodable"),
        "{screen}"
    );
    let judged = metric(&base, "amptap_events_judged_total").await;
    assert_eq!(
        judged,
        Some(30.0),
        "30 events, judged once each for the API and the screen"
    );
    let summary = common::get_json(&format!("{base}/_amptap/summary")).await;
    assert_eq!(summary["events"], 30, "{summary}");
    tmux.keys(&["q"]);
}

/// Pretty-printed JSON, forms, tabs, U+2028, escapes and a 10 MB string:
/// one journal line per request, and every reader gets the bytes back.
#[tokio::test(flavor = "multi_thread")]
async fn events_with_line_breaks_stay_one_line_and_read_back_byte_for_byte() {
    let tap = Amptap::serve(&["--offline", "--max-body", "30000000"]);
    let big = "y".repeat(10 * 1024 * 1024);
    let pretty_event = format!(
        "{{\n  \"event_type\": \"pretty\",\r\n  \"user_id\": \"user-00001\",\n  \"tab\":\t\"a\\tb\",\n  \"sep\": \"\u{2028}\",\n  \"jp\": \"\\u3053\\u3093\",\n  \"big\": \"{big}\"\n}}"
    );
    let form_event = "[{\"event_type\":\"form\",\n\"device_id\":\"device-0001\"}]";
    common::post_pretty_and_form(
        &tap,
        "FAKE_API_KEY_NODE_0123456789",
        &pretty_event,
        form_event,
    )
    .await;

    let journal = std::fs::read(&tap.journal).expect("journal");
    assert_eq!(journal.iter().filter(|&&b| b == b'\n').count(), 2);
    let records = tap.captures();
    assert_eq!(records[0].events[0].raw().get(), pretty_event);
    assert_eq!(
        records[1].events[0].raw().get(),
        "{\"event_type\":\"form\",\n\"device_id\":\"device-0001\"}"
    );

    // open holds them and reads each back from its line for the detail view.
    let journal = tap.journal.clone();
    let opened = tokio::task::spawn_blocking(move || common::opened_events(&journal))
        .await
        .expect("open");
    assert_eq!(opened.len(), 2);
    assert_eq!(opened[0], pretty_event, "byte for byte");
    assert_eq!(opened[1], records[1].events[0].raw().get());

    // check and har read every request back.
    let out = check_json(&tap.journal);
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        report["summary"]["requests"],
        2,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(report["summary"]["events"], 2);
    let out = Command::new(env!("CARGO_BIN_EXE_amptap"))
        .arg("har")
        .arg(&tap.journal)
        .output()
        .expect("har");
    let har: Value = serde_json::from_slice(&out.stdout).expect("har json");
    let text = har["log"]["entries"][0]["request"]["postData"]["text"]
        .as_str()
        .expect("text");
    assert!(text.contains(&pretty_event), "the event's bytes as sent");
}
