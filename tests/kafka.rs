//! Taps and inspectors joined through a real Kafka-compatible broker
//! (tansu, built by `tests/brokers/install.sh`, which `./test` runs): three
//! taps publish, `check kafka://…` sees every event once, a stopped broker
//! loses nothing and duplicates nothing, and `watch kafka://…` in tmux shows
//! every tap's events.

mod common;

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::tmux::Tmux;
use common::{amptap_cli, Amptap};

/// A tansu broker on a free loopback port, with its in-memory store.
struct Broker {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

fn tansu() -> PathBuf {
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/brokers/bin/tansu");
    assert!(
        bin.exists(),
        "{} is missing: run tests/brokers/install.sh (./test does)",
        bin.display()
    );
    bin
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

impl Broker {
    fn start() -> Broker {
        Broker::start_on(free_port())
    }

    fn start_on(port: u16) -> Broker {
        let dir = tempfile::tempdir().expect("dir");
        let log = std::fs::File::create(dir.path().join("tansu.log")).expect("log");
        let listener = format!("tcp://127.0.0.1:{port}");
        let child = Command::new(tansu())
            .args(["broker", "--listener-url", &listener])
            .args(["--advertised-listener-url", &listener])
            .args(["--storage-engine", "memory://tansu/"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start tansu");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "tansu did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Broker {
            child,
            port,
            _dir: dir,
        }
    }

    fn url(&self, topic: &str) -> String {
        format!("kafka://127.0.0.1:{}/{topic}", self.port)
    }

    fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.signal("-CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Posts `requests` batches of `per` events from tap `tap`, each answered 200.
async fn send(tap: &Amptap, name: &str, requests: usize, per: usize, first: usize) {
    let client = reqwest::Client::new();
    let now = 1_795_597_200_000_u64;
    for r in first..first + requests {
        let events: Vec<serde_json::Value> = (0..per)
            .map(|i| {
                serde_json::json!({
                    "event_type": format!("{name}_event"),
                    "device_id": format!("{name}-device-{}", i % 40),
                    "user_id": format!("{name}-user-{}", i % 40),
                    "insert_id": format!("{name}-{r}-{i}"),
                    "time": now + (r * per + i) as u64,
                })
            })
            .collect();
        let body =
            serde_json::json!({"api_key": "0123456789abcdef0123456789abcdef", "events": events});
        let started = Instant::now();
        let answer = client
            .post(tap.url("/2/httpapi"))
            .json(&body)
            .send()
            .await
            .expect("post");
        assert_eq!(answer.status(), 200, "request {r} of {name}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the SDK's answer never waits for Kafka"
        );
    }
}

async fn metric(tap: &Amptap, name: &str) -> Option<f64> {
    common::metric(&tap.url(""), name).await
}

async fn caught_up(tap: &Amptap, records: f64) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let backlog = metric(tap, "amptap_publish_backlog_bytes").await;
        let done = metric(tap, "amptap_publish_records_total").await;
        if backlog == Some(0.0) && done.is_some_and(|d| d >= records) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not caught up: backlog {backlog:?}, published {done:?} of {records}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `check`'s JSON summary of a topic (or journals).
fn check_summary(inputs: &[&str]) -> serde_json::Value {
    let plan = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/dify-plan.toml");
    let mut args = vec![
        "check",
        "--plan",
        plan.to_str().expect("path"),
        "--format",
        "json",
        "--summary-only",
    ];
    args.extend_from_slice(inputs);
    let out = amptap_cli(&args);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    report["summary"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_taps_publish_and_one_check_sees_every_event_once() {
    let broker = Broker::start();
    let topic = broker.url("three");
    let taps: Vec<Amptap> = (0..3)
        .map(|_| Amptap::serve(&["--offline", "--publish", &topic]))
        .collect();
    let names = ["alpha", "beta", "gamma"];
    let sends = taps
        .iter()
        .zip(names)
        .map(|(tap, name)| send(tap, name, 300, 100, 0));
    futures_util::future::join_all(sends).await;
    for tap in &taps {
        caught_up(tap, 300.0).await;
    }

    let summary = check_summary(&[&format!("{topic}?from=earliest")]);
    assert_eq!(summary["requests"], 900, "{summary}");
    assert_eq!(summary["events"], 90_000, "{summary}");
    assert!(
        summary["by_code"].get("duplicate_insert_id").is_none(),
        "each event once: {summary}"
    );
    // The topic and the three journals tell the same story.
    let journals: Vec<String> = taps
        .iter()
        .map(|t| t.journal.display().to_string())
        .collect();
    let from_files = check_summary(&journals.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(from_files["by_code"], summary["by_code"]);

    // Read from a time after everything: nothing; `latest`: nothing yet.
    let later = check_summary(&[
        &format!("{topic}?from=2030-01-01T00:00:00Z"),
        &format!("{topic}?from=latest"),
    ]);
    assert_eq!(later["requests"], 0, "{later}");

    // Every command that reads journals reads the topic.
    let all = format!("{topic}?from=earliest");
    let har: serde_json::Value =
        serde_json::from_slice(&amptap_cli(&["har", &all]).stdout).expect("HAR");
    assert_eq!(har["log"]["entries"].as_array().map(Vec::len), Some(900));
    let plan = String::from_utf8(amptap_cli(&["plan", "infer", &all]).stdout).expect("utf-8");
    for name in names {
        assert!(plan.contains(&format!("{name}_event")), "{plan}");
    }

    for inspector in ["watch", "open"] {
        inspect_in_tmux(inspector, &topic, &names);
    }
}

/// `watch kafka://…` (following) and `open kafka://…` (read to the end) in
/// a real terminal: every event, and the Types view lists each tap's type.
fn inspect_in_tmux(inspector: &str, topic: &str, names: &[&str]) {
    let dir = tempfile::tempdir().expect("dir");
    let work = dir.path().to_str().expect("utf-8");
    let command = format!(
        "AMPTAP_DATA_DIR={work}/data AMPTAP_CONFIG_DIR={work}/config {} {inspector} '{topic}?from=earliest'",
        env!("CARGO_BIN_EXE_amptap")
    );
    let tmux = Tmux::start(
        &format!("amptap-kafka-{inspector}"),
        work,
        (160, 40),
        &command,
    );
    let screen = tmux.wait_for("all 90000 events", |s| s.contains("90000 events"));
    assert!(screen.contains(topic), "the topic is named: {screen}");
    tmux.keys(&["2"]);
    let types = tmux.wait_for("the Types view", |s| {
        names.iter().all(|n| s.contains(&format!("{n}_event")))
    });
    assert!(
        types.contains("30000"),
        "30000 events of each tap:\n{types}"
    );
    tmux.keys(&["q"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_broker_loses_nothing_and_duplicates_nothing() {
    let broker = Broker::start();
    let topic = broker.url("outage");
    let mut tap = Amptap::serve(&["--offline", "--publish", &topic]);
    send(&tap, "before", 50, 20, 0).await;
    caught_up(&tap, 50.0).await;

    // The broker stops (SIGSTOP: connections hang, as a wedged broker's do).
    broker.signal("-STOP");
    send(&tap, "during", 200, 20, 0).await;
    assert!(
        tap.wait_for_line(|l| l.contains("cannot publish to"), Duration::from_secs(40))
            .is_some(),
        "the outage is said on stderr"
    );
    assert_eq!(metric(&tap, "amptap_publish_up").await, Some(0.0));
    assert!(metric(&tap, "amptap_publish_backlog_bytes").await > Some(0.0));
    assert_eq!(tap.captures().len(), 250, "the journal keeps every request");

    broker.signal("-CONT");
    assert!(
        tap.wait_for_line(|l| l.contains("publishing to"), Duration::from_secs(60))
            .is_some(),
        "the recovery is said on stderr"
    );
    caught_up(&tap, 250.0).await;
    let summary = check_summary(&[&format!("{topic}?from=earliest")]);
    assert_eq!(summary["requests"], 250, "each request once: {summary}");
    assert_eq!(summary["events"], 5_000, "{summary}");
    assert!(
        summary["by_code"].get("duplicate_insert_id").is_none(),
        "{summary}"
    );

    // reconcile reads the topic as its captures: offline, none was forwarded.
    let dir = tempfile::tempdir().expect("dir");
    let rows = dir.path().join("rows.jsonl");
    std::fs::write(&rows, "").expect("empty export");
    let out = amptap_cli(&[
        "reconcile",
        "--format",
        "json",
        "--export",
        rows.to_str().expect("utf-8"),
        "--capture",
        &format!("{topic}?from=earliest"),
    ]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let reconciled = &report["reconcile"]["summary"];
    assert_eq!(reconciled["captured"], 5_000, "{reconciled}");
    assert_eq!(reconciled["not_forwarded"], 5_000, "{reconciled}");
    tap.interrupt();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_missing_broker_missed_goes_at_the_next_start_and_only_once() {
    let port = free_port();
    let topic = format!("kafka://127.0.0.1:{port}/restart");
    let dir = tempfile::tempdir().expect("dir");
    let journal = dir.path().join("j.jsonl");
    let journal_arg = journal.to_str().expect("utf-8");
    let args = ["--offline", "--publish", &topic, "--record", journal_arg];

    // No broker at all: the SDK is answered, the journal keeps it.
    let mut tap = Amptap::serve(&args);
    send(&tap, "first", 40, 10, 0).await;
    let said = tap.interrupt();
    assert!(
        said.iter()
            .any(|l| l.contains("not yet in") && l.contains("next start")),
        "{said:?}"
    );

    let broker = Broker::start_on(port);
    let tap = Amptap::serve(&args);
    send(&tap, "second", 10, 10, 0).await;
    caught_up(&tap, 50.0).await;
    drop(tap);
    // A third start publishes nothing again.
    let mut tap = Amptap::serve(&args);
    send(&tap, "third", 5, 10, 0).await;
    caught_up(&tap, 5.0).await;
    tap.interrupt();

    let summary = check_summary(&[&format!("{topic}?from=earliest")]);
    assert_eq!(summary["requests"], 55, "{summary}");
    assert_eq!(summary["events"], 550, "{summary}");
    drop(broker);
}
