//! What a person meets first, told truthfully: an SDK whose serverUrl is the
//! bare address, a typo'd path or one behind a prefix, and another tracker's
//! payload — each is a row with its diagnosis, a line in `serve`'s output
//! and an entry of `/_amptap/bad`; no Rust or serde internals anywhere.

mod common;

use std::time::Duration;

use common::Amptap;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn wrong_server_urls_and_foreign_payloads_are_diagnosed() {
    let mut tap = Amptap::serve(&["--offline"]);
    let base = tap.url("");
    for (url, says) in [
        (base.clone(), "serverUrl lacks its path"),
        (format!("{base}/2/httpApi"), "did you mean /2/httpapi"),
        (format!("{base}/api/2/httpapi"), "did you mean /2/httpapi"),
    ] {
        let sdk = tokio::task::spawn_blocking(move || common::node_sdk_output(&url, "basic"));
        let report = sdk.await.expect("join");
        assert!(
            !report.contains("\"code\":200"),
            "the SDK was not told it worked: {report}"
        );
        let line = tap
            .wait_for_line(|l| l.contains(says), Duration::from_secs(10))
            .unwrap_or_else(|| panic!("serve prints a line saying {says:?}"));
        assert!(line.contains('✗'), "{line}");
    }
    let client = reqwest::Client::new();
    for payload in [
        r#"{"event":"prompt_sent","timestamp":"2024-05-01T10:00:00Z","user_id":"user-1","context":{"app_id":"app-42"}}"#,
        r#"{"event":"MessageCreated","data":{"id":"msg-1"}}"#,
        r#"[{"event_type":"a"}]"#,
    ] {
        let r = client
            .post(tap.url("/2/httpapi"))
            .body(payload)
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), 400);
        let text = r.text().await.expect("text");
        assert!(
            serde_json::from_str::<Value>(&text).is_ok(),
            "a JSON answer: {text}"
        );
        assert!(
            !text.contains("JsonBody") && !text.contains("struct"),
            "{text}"
        );
    }
    let bad = common::get_json(&tap.url("/_amptap/bad")).await;
    let reasons: Vec<String> = bad["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["problem"]["reason"].as_str().map(str::to_owned))
        .collect();
    for want in [
        "serverUrl lacks its path",
        "did you mean /2/httpapi",
        "Dify custom tracking",
        "Dify event payload",
        "JSON array",
    ] {
        assert!(
            reasons.iter().any(|r| r.contains(want)),
            "{want}: {reasons:#?}"
        );
    }
    assert!(
        reasons
            .iter()
            .all(|r| !r.contains("JsonBody") && !r.contains("struct")),
        "{reasons:#?}"
    );
    tap.interrupt();
    let journal = std::fs::read_to_string(&tap.journal).expect("journal");
    assert!(
        !journal.contains("JsonBody"),
        "no serde internals in the journal"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_guides_mistakes_name_the_key_meant() {
    let mut tap = Amptap::serve(&["--offline"]);
    // The request from the guide this project started from, and a camelCase id.
    let body = serde_json::json!({"api_key": "FAKE_API_KEY_GUIDE_0123456789", "events": [
        {"event_type": "dify_user_query", "user_id": "user-12345", "timestamp": "2024-05-01T10:00:00Z"},
        {"event_type": "dify_user_query", "userId": "user-12345", "time": 1_714_557_600_000_i64},
    ]});
    let r = reqwest::Client::new()
        .post(tap.url("/2/httpapi"))
        .json(&body)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 400, "Amplitude refuses an event without an id");
    tap.wait_for_line(
        |l| l.contains("→ 400") && l.contains("Invalid field values on some events"),
        Duration::from_secs(10),
    )
    .expect("serve's line says why Amplitude refused it");
    let found = common::get_json(&tap.url("/_amptap/events?q=code:misnamed_field")).await;
    let findings: Vec<&Value> = found["events"]
        .as_array()
        .expect("events")
        .iter()
        .flat_map(|e| e["findings"].as_array().into_iter().flatten())
        .filter(|f| f["code"] == "misnamed_field")
        .collect();
    let timestamp = findings
        .iter()
        .find(|f| f["path"] == "timestamp")
        .expect("timestamp named");
    assert!(
        timestamp["expected"]
            .as_str()
            .is_some_and(|e| e.starts_with("time ")),
        "{timestamp}"
    );
    assert!(
        timestamp["actual"]
            .as_str()
            .is_some_and(|a| a.contains("\"time\": 1714557600000")),
        "{timestamp}"
    );
    let user = findings
        .iter()
        .find(|f| f["path"] == "userId")
        .expect("userId named");
    assert!(
        user["expected"]
            .as_str()
            .is_some_and(|e| e.starts_with("user_id")),
        "{user}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_near_miss_of_a_planned_name_names_it() {
    let plan = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/dify-plan.toml");
    let tap = Amptap::serve(&["--offline", "--plan", plan.to_str().expect("plan")]);
    let body = serde_json::json!({"api_key": "FAKE_API_KEY_GUIDE_0123456789", "events": [
        {"event_type": "dify_user_querry", "user_id": "user-12345", "time": 1_714_557_600_000_i64},
        {"event_type": "dify_user_query", "user_id": "user-12345", "time": 1_714_557_600_000_i64,
         "event_properties": {"queryText": "hi", "app_id": "app-42", "conversation_id": "c1", "uid": "user-12345", "createTime": 1}},
    ]});
    let r = reqwest::Client::new()
        .post(tap.url("/2/httpapi"))
        .json(&body)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    let found = common::get_json(&tap.url("/_amptap/events?limit=10")).await;
    let expected: Vec<String> = found["events"]
        .as_array()
        .expect("events")
        .iter()
        .flat_map(|e| e["findings"].as_array().into_iter().flatten())
        .filter_map(|f| f["expected"].as_str().map(str::to_owned))
        .collect();
    assert!(
        expected
            .iter()
            .any(|e| e.contains("did you mean \"dify_user_query\"")),
        "{expected:#?}"
    );
    assert!(
        expected
            .iter()
            .any(|e| e.contains("did you mean \"query_text\"")),
        "{expected:#?}"
    );
}
