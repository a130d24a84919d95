//! The official SDKs — `@amplitude/analytics-node` and `amplitude-analytics`
//! (Python), installed into tests/clients/ by tests/clients/install.sh —
//! pointed at the real amptap binary forwarding to the fake Amplitude.

mod common;

use std::path::PathBuf;
use std::process::Command;

use amptap::fake_amplitude::{FakeAmplitude, Fault, RunningFake};
use amptap::tap::Record;
use common::Amptap;
use serde_json::Value;

#[derive(Clone, Copy)]
enum Sdk {
    Node,
    Python,
}

impl Sdk {
    fn command(self, url: &str, scenario: &str) -> Command {
        let clients = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients");
        let (program, script) = match self {
            Sdk::Node => (PathBuf::from("node"), clients.join("node/send.js")),
            Sdk::Python => (
                clients.join("python/.venv/bin/python"),
                clients.join("python/send.py"),
            ),
        };
        let installed = match self {
            Sdk::Node => clients
                .join("node/node_modules/@amplitude/analytics-node")
                .exists(),
            Sdk::Python => program.exists(),
        };
        assert!(installed, "the SDK clients are not installed: run tests/clients/install.sh (the README's test command does)");
        let mut cmd = Command::new(program);
        cmd.arg(script).arg(url).arg(scenario);
        cmd
    }

    /// Runs a scenario; returns what the SDK reported for each event.
    async fn run(self, url: String, scenario: &'static str) -> Vec<Value> {
        let output = tokio::task::spawn_blocking(move || self.command(&url, scenario).output())
            .await
            .expect("join")
            .expect("run SDK");
        assert!(
            output.status.success(),
            "SDK failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = stdout.lines().last().expect("SDK output");
        let report: Value = serde_json::from_str(line).expect("SDK report");
        report["results"].as_array().expect("results").clone()
    }
}

async fn setup() -> (RunningFake, Amptap) {
    let upstream = FakeAmplitude::new()
        .start("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("fake");
    let tap = Amptap::serve(&["--upstream", &upstream.url()]);
    (upstream, tap)
}

fn insert_ids(captures: &[Record]) -> Vec<String> {
    let mut ids: Vec<String> = captures
        .iter()
        .flat_map(|c| {
            c.events
                .iter()
                .filter_map(|e| e.insert_id().map(str::to_owned))
        })
        .collect();
    ids.sort();
    ids
}

async fn basic(sdk: Sdk) {
    let (upstream, tap) = setup().await;
    let results = sdk.run(tap.url("/2/httpapi"), "basic").await;
    assert_eq!(results.len(), 5);
    assert!(
        results.iter().all(|r| r["code"] == 200),
        "the SDK reports success: {results:?}"
    );

    let captures = tap.captures();
    let journaled: Vec<&str> = captures
        .iter()
        .flat_map(|c| c.events.iter().filter_map(|e| e.event_type()))
        .collect();
    for t in [
        "Button Clicked",
        "Page Viewed",
        "Item Added",
        "$identify",
        "revenue_amount",
    ] {
        assert!(
            journaled.contains(&t),
            "{t} missing from the journal: {journaled:?}"
        );
    }
    assert_eq!(journaled.len(), 5);
    // What reached the upstream is what the journal holds, byte for byte.
    let journal_raw: Vec<String> = captures
        .iter()
        .flat_map(|c| c.events.iter().map(|e| e.raw().get().to_owned()))
        .collect();
    assert_eq!(upstream.fake.ingested_events(), journal_raw);
    let mut sdk_ids: Vec<String> = results
        .iter()
        .filter_map(|r| r["insert_id"].as_str().map(str::to_owned))
        .collect();
    sdk_ids.sort();
    assert_eq!(insert_ids(&captures), sdk_ids);
    assert!(captures.iter().all(|c| c.answer.json_code() == Some(200)));
}

/// The first try fails with `status`; the SDK recovers as it does against Amplitude.
async fn retry(sdk: Sdk, status: u16) -> Vec<Record> {
    let (upstream, tap) = setup().await;
    upstream.fake.push_faults([Fault::Status(status)]);
    let results = sdk.run(tap.url("/2/httpapi"), "retry").await;
    assert_eq!(results.len(), 6);
    assert!(
        results.iter().all(|r| r["code"] == 200),
        "recovered after {status}: {results:?}"
    );
    let captures = tap.captures();
    assert_eq!(captures[0].answer.status, status);
    assert_eq!(captures[0].events.len(), 6);
    // Every try is journaled; the successful ones carry each event once.
    let ok: Vec<Record> = captures
        .iter()
        .filter(|c| c.answer.status == 200)
        .cloned()
        .collect();
    let first: Vec<String> = insert_ids(&captures[..1]);
    assert_eq!(insert_ids(&ok), first, "retries reuse the insert ids");
    assert_eq!(upstream.fake.ingested_events().len(), 6);
    captures
}

#[tokio::test(flavor = "multi_thread")]
async fn node_sdk_track_identify_revenue_flush() {
    // Asserted through the query API, as a user's test would: no journal reading, no sleeps.
    let (upstream, tap) = setup().await;
    let url = tap.url("/2/httpapi");
    let sdk = tokio::spawn(Sdk::Node.run(url, "basic"));
    let waited: serde_json::Value = reqwest::get(tap.url("/_amptap/wait?count=5&timeout=20s"))
        .await
        .expect("wait")
        .json()
        .await
        .expect("json");
    let results = sdk.await.expect("join");
    assert!(
        results.iter().all(|r| r["code"] == 200),
        "the SDK reports success: {results:?}"
    );
    assert_eq!(waited["count"], 5, "{waited}");
    let events: serde_json::Value = reqwest::get(tap.url("/_amptap/events?limit=10"))
        .await
        .expect("events")
        .json()
        .await
        .expect("json");
    let listed = events["events"].as_array().expect("events");
    let types: Vec<&str> = listed
        .iter()
        .filter_map(|e| e["event"]["event_type"].as_str())
        .collect();
    for t in [
        "Button Clicked",
        "Page Viewed",
        "Item Added",
        "$identify",
        "revenue_amount",
    ] {
        assert!(types.contains(&t), "{t}: {types:?}");
    }
    assert!(listed
        .iter()
        .all(|e| e["upstream_status"] == 200 && e["delivery"] == "forwarded"));
    // What reached the upstream is what the API shows, byte for byte.
    let shown: Vec<String> = listed.iter().map(|e| e["event"].to_string()).collect();
    let ingested: Vec<String> = upstream
        .fake
        .ingested_events()
        .iter()
        .map(|raw| {
            serde_json::from_str::<serde_json::Value>(raw)
                .expect("json")
                .to_string()
        })
        .collect();
    assert_eq!(shown, ingested);
    let mut sdk_ids: Vec<&str> = results
        .iter()
        .filter_map(|r| r["insert_id"].as_str())
        .collect();
    let mut api_ids: Vec<&str> = listed
        .iter()
        .filter_map(|e| e["event"]["insert_id"].as_str())
        .collect();
    sdk_ids.sort();
    api_ids.sort();
    assert_eq!(api_ids, sdk_ids);
}

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_track_identify_revenue_flush() {
    basic(Sdk::Python).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn node_sdk_retries_after_500() {
    let captures = retry(Sdk::Node, 500).await;
    assert_eq!(captures.len(), 2);
    assert_eq!(captures[1].events.len(), 6);
}

#[tokio::test(flavor = "multi_thread")]
async fn node_sdk_splits_after_413() {
    let captures = retry(Sdk::Node, 413).await;
    assert!(
        captures[1..].iter().all(|c| c.events.len() <= 3),
        "split into halves"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_retries_after_500() {
    let captures = retry(Sdk::Python, 500).await;
    assert!(captures.len() >= 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_splits_after_413() {
    let captures = retry(Sdk::Python, 413).await;
    assert!(
        captures[1..].iter().all(|c| c.events.len() <= 3),
        "split into smaller batches"
    );
}

/// The Python SDK escapes non-ASCII (`"\u3053\u3093…"`); free text still
/// finds `こんにちは`, in the query API and on the screen.
#[tokio::test(flavor = "multi_thread")]
async fn python_sdk_unicode_is_found_by_free_text_in_the_api_and_the_tui() {
    let (_upstream, tap) = setup().await;
    let results = Sdk::Python.run(tap.url("/2/httpapi"), "unicode").await;
    assert_eq!(results.len(), 2, "{results:?}");
    let raw: Vec<String> = tap
        .captures()
        .iter()
        .flat_map(|c| c.events.iter().map(|e| e.raw().get().to_owned()))
        .collect();
    assert!(
        raw.iter().any(|r| r.contains(r"\u3053\u3093")),
        "the SDK sent escapes: {raw:?}"
    );

    let url = format!(
        "{}?q={}",
        tap.url("/_amptap/events"),
        "%E3%81%93%E3%82%93%E3%81%AB%E3%81%A1%E3%81%AF"
    );
    let answer: Value = reqwest::get(url)
        .await
        .expect("query")
        .json()
        .await
        .expect("json");
    assert_eq!(answer["count"], 1, "{answer}");
    assert_eq!(
        answer["events"][0]["event"]["event_properties"]["lang"],
        "ja"
    );

    let journal = tap.journal.clone();
    let screen =
        tokio::task::spawn_blocking(move || common::screen_with_filter(&journal, "こんにちは"))
            .await
            .expect("screen");
    assert!(screen.contains("Events 2 · showing 1"), "{screen}");
    assert!(screen.contains("Greeting Sent"), "{screen}");
}
