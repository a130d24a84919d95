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
