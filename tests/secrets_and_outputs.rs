//! What amptap writes never carries a secret or a trap: a key in any
//! spelling of the query string, an upstream URL's `user:password@`, a CSV
//! cell that would run as a formula or retitle a terminal, a plan draft that
//! would not load back. Through the real binary.

mod common;

use amptap::fake_amplitude::FakeAmplitude;
use common::Amptap;
use serde_json::json;

const KEY: &str = "FAKE_API_KEY_SECRET_0123456789";

use common::amptap_cli as amptap;

#[tokio::test(flavor = "multi_thread")]
async fn keys_and_user_info_are_in_no_journal_har_answer_or_log() {
    let upstream = FakeAmplitude::new()
        .start("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("fake");
    let with_user = upstream.url().replace("http://", "http://bob:hunter2@");
    let mut tap = Amptap::serve(&["--upstream", &with_user]);
    let client = reqwest::Client::new();
    let body =
        json!({"api_key": KEY, "events": [{"event_type": "Keyed", "user_id": "user-12345"}]});
    for spelling in [
        "api_key",
        "api%5Fkey",
        "API_KEY",
        "key",
        "apiKey",
        "Api-Key",
        "client",
    ] {
        let r = client
            .post(tap.url(&format!("/2/httpapi?{spelling}={KEY}&probe=1")))
            .json(&body)
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), 200, "{spelling}");
    }
    let answer = reqwest::get(tap.url("/_amptap/events?q=type:Keyed"))
        .await
        .expect("events")
        .text()
        .await
        .expect("text");
    let stderr = tap.interrupt().join("\n");
    let journal = std::fs::read_to_string(&tap.journal).expect("journal");
    let har = amptap(&["har", tap.journal.to_str().expect("path")]);
    let har = String::from_utf8_lossy(&har.stdout).into_owned();
    assert!(
        har.contains("Keyed") && journal.contains("probe=1"),
        "{har}"
    );
    for (what, text) in [
        ("journal", &journal),
        ("har", &har),
        ("api", &answer),
        ("stderr", &stderr),
    ] {
        assert!(
            !text.contains("SECRET_0123"),
            "{what} shows the key: {text}"
        );
        assert!(
            !text.contains("hunter2"),
            "{what} shows the password: {text}"
        );
    }
    assert_eq!(upstream.fake.received().len(), 7, "all went upstream");

    let bad = amptap(&[
        "serve",
        "--upstream",
        "ftp://bob:hunter2@example.com/",
        "--offline",
    ]);
    let bad = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.contains("hunter2"), "{bad}");
}

#[tokio::test(flavor = "multi_thread")]
async fn csv_cells_are_text_and_plan_drafts_load_back() {
    let dir = tempfile::tempdir().expect("dir");
    let journal = dir.path().join("hostile.jsonl");
    let mut tap = Amptap::serve(&["--offline", "--record", journal.to_str().expect("path")]);
    let odd = "it's \"quoted\"";
    let events = json!([
        {"event_type": "=HYPERLINK(\"http://evil.example\",\"click\")", "user_id": "user-12345"},
        {"event_type": "Title", "user_id": "@SUM(A1)", "event_properties": {"t": "\u{1b}]0;pwned\u{7}"}},
        {"event_type": odd, "user_id": "user-12345", "event_properties": {odd: 1}},
    ]);
    let r = reqwest::Client::new()
        .post(tap.url("/2/httpapi"))
        .json(&json!({"api_key": KEY, "events": events}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    tap.interrupt();

    // A plan that knows none of them: every event is a finding, in CSV.
    let plan = dir.path().join("plan.toml");
    std::fs::write(&plan, "[events.Known]\n").expect("plan");
    let out = amptap(&[
        "check",
        "--plan",
        plan.to_str().expect("p"),
        journal.to_str().expect("j"),
        "--format",
        "csv",
    ]);
    let csv = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!csv.contains('\u{1b}') && !csv.contains('\u{7}'), "{csv:?}");
    let mut cells = csv::Reader::from_reader(csv.as_bytes());
    let mut risky = 0;
    for row in cells.records() {
        for cell in row.expect("row").iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{cell:?} in {csv}"
            );
            risky += usize::from(cell.starts_with("'=") || cell.starts_with("'@"));
        }
    }
    assert!(risky >= 2, "the formula cells are kept as text: {csv}");

    let drafted = amptap(&["plan", "infer", journal.to_str().expect("j")]);
    assert_eq!(drafted.status.code(), Some(0));
    let inferred = dir.path().join("inferred.toml");
    std::fs::write(&inferred, &drafted.stdout).expect("write");
    let loaded = amptap::plan_file::load(&inferred).expect("the draft loads");
    assert!(loaded.events[odd].properties.contains_key(odd));
}
