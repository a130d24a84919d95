//! The Export API client against the fake's Export API (every failure it
//! must explain), and reconcile end to end: the official Node SDK → amptap
//! → the fake, told to lose 3 events and change 1 → `amptap reconcile
//! --auto --endpoint …` lists exactly those 4.

mod common;

use std::process::Command;
use std::time::Duration;

use amptap::event::Region;
use amptap::export::{Credentials, Downloaded, ExportClient, ExportError, Hour, Progress, Window};
use amptap::fake_amplitude::{
    ExportFault, ExportKnobs, FakeAmplitude, PropertyChange, RunningFake,
};
use amptap::reconcile::{Class, DiffKind};
use amptap::report::ReconcileReport;
use common::Amptap;
use serde_json::json;
use tokio::sync::watch;

const API: &str = "FAKE_EXPORT_API_KEY_0001";
const SECRET: &str = "FAKE_EXPORT_SECRET_0001";

/// `amptap reconcile --auto` of `journal` against the fake's Export API,
/// keys from the environment, config and data in `dir`.
fn reconcile_auto(
    upstream: &RunningFake,
    journal: &std::path::Path,
    dir: &std::path::Path,
    format: &str,
    extra: &[&str],
) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_amptap"))
        .args(["reconcile", "--auto", "--endpoint", &upstream.url()])
        .args(["--format", format, "--capture"])
        .arg(journal)
        .args(extra)
        .env("AMPLITUDE_API_KEY", API)
        .env("AMPLITUDE_SECRET_KEY", SECRET)
        .env("AMPTAP_CONFIG_DIR", dir)
        .env("AMPTAP_DATA_DIR", dir)
        .output()
        .expect("run")
}

async fn fake_with_events(n: usize) -> RunningFake {
    let fake = FakeAmplitude::new()
        .start("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("fake");
    fake.fake.set_export(ExportKnobs {
        credentials: Some((API.into(), SECRET.into())),
        ..ExportKnobs::default()
    });
    let events: Vec<_> = (0..n).map(|i| json!({"event_type": "Test Event", "user_id": "user-12345", "insert_id": format!("id-{i}"), "time": 1_795_514_400_000_i64 + i as i64, "event_properties": {"i": i}})).collect();
    let r = reqwest::Client::new()
        .post(format!("{}/2/httpapi", fake.url()))
        .json(&json!({"api_key": "k", "events": events}))
        .send()
        .await
        .expect("ingest");
    assert_eq!(r.status(), 200);
    fake
}

fn now_window() -> Window {
    let now = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let h = Hour::containing(now);
    Window::new(h.plus_hours(-1), h).expect("window")
}

fn client(fake: &RunningFake, secret: &str, timeout: Duration) -> ExportClient {
    let mut c = ExportClient::new(
        Region::Us,
        Some(&fake.url()),
        Credentials::new(API, secret),
        timeout,
    )
    .expect("client");
    c.first_backoff = Duration::from_millis(20);
    c.attempts = 3;
    c
}

async fn download(c: &ExportClient, dir: &tempfile::TempDir) -> Result<Downloaded, ExportError> {
    let (tx, _rx) = watch::channel(Progress::default());
    c.download(&now_window(), &dir.path().join("export.zip"), &tx)
        .await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_export_client_downloads_and_explains_every_failure() {
    let fake = fake_with_events(5).await;
    let dir = tempfile::tempdir().expect("dir");
    let ok = client(&fake, SECRET, Duration::from_secs(5));

    // 200: an archive in the real format, every ingested event in it.
    let Ok(Downloaded::Archive { path, bytes }) = download(&ok, &dir).await else {
        panic!("no archive")
    };
    assert!(bytes > 0);
    let mut ids = Vec::new();
    amptap::export::read_archive(
        &path,
        |r| ids.push(r.insert_id.unwrap_or_default()),
        &mut Vec::new(),
    )
    .expect("read");
    ids.sort();
    assert_eq!(ids, ["id-0", "id-1", "id-2", "id-3", "id-4"]);

    // 401: which variables to check.
    let e = download(&client(&fake, "wrong", Duration::from_secs(5)), &dir)
        .await
        .expect_err("401");
    assert!(
        matches!(e, ExportError::Unauthorized { status: 401 }),
        "{e}"
    );
    assert!(
        e.to_string().contains("AMPLITUDE_API_KEY")
            && e.to_string().contains("AMPLITUDE_SECRET_KEY"),
        "{e}"
    );

    // 429 then 200: retried with backoff.
    fake.fake.set_export(ExportKnobs {
        faults: [ExportFault::Status(429)].into(),
        ..ExportKnobs::default()
    });
    assert!(matches!(
        download(&ok, &dir).await,
        Ok(Downloaded::Archive { .. })
    ));

    // 504 every time: give up and say to split.
    fake.fake.set_export(ExportKnobs {
        faults: [ExportFault::Status(504); 3].into(),
        ..ExportKnobs::default()
    });
    let e = download(&ok, &dir).await.expect_err("504");
    assert!(
        matches!(e, ExportError::GatewayTimeout { .. }) && e.to_string().contains("split"),
        "{e}"
    );

    // 400: too large, with the first half to try.
    fake.fake.set_export(ExportKnobs {
        faults: [ExportFault::Status(400)].into(),
        ..ExportKnobs::default()
    });
    let e = download(&ok, &dir).await.expect_err("400");
    assert!(
        e.to_string().contains("too large") && e.to_string().contains("--start"),
        "{e}"
    );

    // A download cut off half way.
    fake.fake.set_export(ExportKnobs {
        faults: [ExportFault::Cut].into(),
        ..ExportKnobs::default()
    });
    let e = download(&ok, &dir).await.expect_err("cut");
    assert!(matches!(e, ExportError::CutOff { .. }), "{e}");

    // A server that never answers.
    fake.fake.set_export(ExportKnobs {
        faults: [ExportFault::DelayMs(3000)].into(),
        ..ExportKnobs::default()
    });
    let e = download(&client(&fake, SECRET, Duration::from_millis(500)), &dir)
        .await
        .expect_err("timeout");
    assert!(matches!(e, ExportError::Timeout { .. }), "{e}");

    // 404: no data (not an error).
    fake.fake.set_export(ExportKnobs {
        faults: [ExportFault::Status(404)].into(),
        ..ExportKnobs::default()
    });
    assert_eq!(
        download(&ok, &dir).await.expect("404 is no data"),
        Downloaded::NoData
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn amptap_export_saves_decoded_rows() {
    let fake = fake_with_events(3).await;
    let dir = tempfile::tempdir().expect("dir");
    let out = dir.path().join("rows.jsonl");
    let w = now_window();
    let export = |keys: bool, out: Option<&std::path::Path>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_amptap"));
        cmd.args([
            "export",
            "--start",
            &w.start.to_string(),
            "--end",
            &w.end.to_string(),
        ])
        .args(["--endpoint", &fake.url()])
        .env("AMPTAP_CONFIG_DIR", dir.path())
        .env("AMPTAP_DATA_DIR", dir.path());
        if let Some(out) = out {
            cmd.arg("--out").arg(out);
        }
        if keys {
            cmd.env("AMPLITUDE_API_KEY", API)
                .env("AMPLITUDE_SECRET_KEY", SECRET);
        } else {
            cmd.env_remove("AMPLITUDE_API_KEY")
                .env_remove("AMPLITUDE_SECRET_KEY");
        }
        cmd.output().expect("run")
    };
    let status = export(true, Some(&out));
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let text = std::fs::read_to_string(&out).expect("rows");
    assert_eq!(text.lines().count(), 3);
    assert!(text.contains("\"$insert_id\":\"id-0\""));
    let leftovers = || {
        std::fs::read_dir(dir.path())
            .expect("ls")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.starts_with('.'))
            .collect::<Vec<_>>()
    };
    assert_eq!(leftovers(), Vec::<String>::new(), "no temporary file stays");

    // Cut off half way: an error, the earlier output untouched, nothing left behind.
    fake.fake.set_export(ExportKnobs {
        credentials: Some((API.into(), SECRET.into())),
        faults: [ExportFault::Cut].into(),
        ..ExportKnobs::default()
    });
    assert!(!export(true, Some(&out)).status.success());
    assert_eq!(std::fs::read_to_string(&out).expect("rows"), text);
    assert_eq!(
        leftovers(),
        Vec::<String>::new(),
        "the partial archive is removed"
    );

    // Keys never come from argv; without them the error says where to put them.
    let missing = export(false, None);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("AMPLITUDE_API_KEY"));
}

#[tokio::test(flavor = "multi_thread")]
async fn reconcile_finds_exactly_the_events_amplitude_lost_or_changed() {
    let upstream = FakeAmplitude::new()
        .start("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("fake");
    let mut tap = Amptap::serve(&["--upstream", &upstream.url()]);
    let url = tap.url("/2/httpapi");
    tokio::task::spawn_blocking(move || common::run_node_sdk(&url, "basic"))
        .await
        .expect("join");
    tap.interrupt();
    let captures = tap.captures();
    let events: Vec<_> = captures.iter().flat_map(|c| c.events.iter()).collect();
    assert_eq!(events.len(), 5);
    let id_of = |t: &str| {
        events
            .iter()
            .find(|e| e.event_type() == Some(t))
            .and_then(|e| e.insert_id())
            .expect("insert id")
            .to_owned()
    };
    let dropped: Vec<String> = ["Page Viewed", "Item Added", "$identify"]
        .iter()
        .map(|t| id_of(t))
        .collect();
    let changed = id_of("Button Clicked");
    upstream.fake.set_export(ExportKnobs {
        drop: dropped.iter().cloned().collect(),
        change: vec![PropertyChange {
            insert_id: changed.clone(),
            property: "color".into(),
            value: json!("red"),
        }],
        ..ExportKnobs::default()
    });

    let dir = tempfile::tempdir().expect("dir");
    let run = |format: &str| reconcile_auto(&upstream, &tap.journal, dir.path(), format, &[]);
    let out = run("json");
    assert_eq!(
        out.status.code(),
        Some(1),
        "problems → exit 1: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: ReconcileReport = serde_json::from_slice(&out.stdout).expect("JSON report");
    let rec = report.reconcile;
    let mut got: Vec<(Class, String)> = rec
        .problems
        .iter()
        .map(|p| (p.class, p.insert_id.clone().unwrap_or_default()))
        .collect();
    got.sort();
    let mut want: Vec<(Class, String)> = dropped
        .iter()
        .map(|id| (Class::Missing, id.clone()))
        .collect();
    want.push((Class::Matched, changed.clone()));
    want.sort();
    assert_eq!(got, want, "exactly the 3 lost and the 1 changed");
    let changed_problem = rec
        .problems
        .iter()
        .find(|p| p.class == Class::Matched)
        .expect("changed");
    let diffs: Vec<_> = changed_problem
        .diffs
        .iter()
        .filter(|d| !d.expected)
        .map(|d| (d.kind, d.path.as_str()))
        .collect();
    assert_eq!(diffs, [(DiffKind::ValueChanged, "event_properties.color")]);
    assert_eq!(
        (
            rec.summary.captured,
            rec.summary.matched,
            rec.summary.missing,
            rec.summary.changed
        ),
        (5, 2, 3, 1)
    );

    // Matched in parts on disk (as exports larger than memory are), the
    // same problems and the same counts.
    let parted = reconcile_auto(
        &upstream,
        &tap.journal,
        dir.path(),
        "json",
        &["--max-memory", "1KiB"],
    );
    let said = String::from_utf8_lossy(&parted.stderr);
    assert!(said.contains("matched in parts on disk"), "{said}");
    let parted: ReconcileReport = serde_json::from_slice(&parted.stdout).expect("JSON report");
    assert_eq!(parted.reconcile.summary, rec.summary);
    let mut parted_problems: Vec<(Class, String)> = parted
        .reconcile
        .problems
        .iter()
        .map(|p| (p.class, p.insert_id.clone().unwrap_or_default()))
        .collect();
    parted_problems.sort();
    assert_eq!(parted_problems, want);

    // The other formats carry the same four problems.
    let csv_out = run("csv");
    let mut reader = csv::Reader::from_reader(csv_out.stdout.as_slice());
    let classes: Vec<String> = reader
        .records()
        .map(|r| r.expect("row")[0].to_owned())
        .collect();
    assert_eq!(classes.iter().filter(|c| *c == "missing").count(), 3);
    assert_eq!(classes.iter().filter(|c| *c == "matched").count(), 1);
    let md = String::from_utf8(run("md").stdout).expect("utf8");
    assert!(
        md.contains("## missing (3)") && md.contains("## changed on the way (1)"),
        "{md}"
    );
    // JUnit: a failed test case for each of the four problems, exit 1.
    let junit = run("junit");
    assert_eq!(junit.status.code(), Some(1));
    let xml = String::from_utf8(junit.stdout).expect("utf8");
    let mut reader = quick_xml::Reader::from_str(&xml);
    let (mut failures, mut cases, mut declared) = (0, 0, None);
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Eof => break,
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                match e.name().as_ref() {
                    b"failure" => failures += 1,
                    b"testcase" => cases += 1,
                    b"testsuite" => {
                        declared = e
                            .try_get_attribute("failures")
                            .expect("attr")
                            .map(|a| String::from_utf8_lossy(&a.value).into_owned())
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    assert_eq!(failures, 4, "{xml}");
    assert_eq!(declared.as_deref(), Some("4"), "{xml}");
    assert!(
        cases >= 4 + 5,
        "a case per problem and per empty class: {xml}"
    );
    let html = String::from_utf8(run("html").stdout).expect("utf8");
    assert!(
        html.starts_with("<!DOCTYPE html>")
            && html.contains("value_changed event_properties.color")
    );
    let text = String::from_utf8(run("text").stdout).expect("utf8");
    assert!(
        text.contains("missing — 3")
            && text.contains("value_changed event_properties.color: \"blue\" → \"red\""),
        "{text}"
    );

    // Pipes: `export --out -` into `reconcile --export -` finds the same four.
    let hour = |t: time::OffsetDateTime| {
        format!(
            "{:04}{:02}{:02}T{:02}",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour()
        )
    };
    let now = time::OffsetDateTime::now_utc();
    let rows = Command::new(env!("CARGO_BIN_EXE_amptap"))
        .args(["export", "--endpoint", &upstream.url(), "--out", "-"])
        .args([
            "--start",
            &hour(now - time::Duration::hours(1)),
            "--end",
            &hour(now),
        ])
        .env("AMPLITUDE_API_KEY", API)
        .env("AMPLITUDE_SECRET_KEY", SECRET)
        .env("AMPTAP_DATA_DIR", dir.path())
        .output()
        .expect("export");
    assert!(
        rows.status.success(),
        "{}",
        String::from_utf8_lossy(&rows.stderr)
    );
    let mut piped = Command::new(env!("CARGO_BIN_EXE_amptap"))
        .args([
            "reconcile",
            "--format",
            "json",
            "--export",
            "-",
            "--capture",
        ])
        .arg(&tap.journal)
        .env("AMPTAP_DATA_DIR", dir.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("reconcile");
    std::io::Write::write_all(&mut piped.stdin.take().expect("stdin"), &rows.stdout).expect("pipe");
    let out = piped.wait_with_output().expect("wait");
    let report: ReconcileReport = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report.reconcile.problems.len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_polls_until_amplitude_has_the_events() {
    let upstream = FakeAmplitude::new()
        .start("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("fake");
    let mut tap = Amptap::serve(&["--upstream", &upstream.url()]);
    let now = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let events: Vec<_> = (0..3).map(|i| json!({"event_type": "Waited", "user_id": "user-12345", "insert_id": format!("w-{i}"), "time": now})).collect();
    reqwest::Client::new()
        .post(tap.url("/2/httpapi"))
        .json(&json!({"api_key": "k", "events": events}))
        .send()
        .await
        .expect("post");
    tap.interrupt();
    // The first ask finds nothing yet (404), as right after ingestion.
    upstream.fake.set_export(ExportKnobs {
        faults: [ExportFault::Status(404)].into(),
        ..ExportKnobs::default()
    });
    let dir = tempfile::tempdir().expect("dir");
    let run = |extra: &[&str]| reconcile_auto(&upstream, &tap.journal, dir.path(), "json", extra);
    let out = run(&["--wait", "--poll", "1"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: ReconcileReport = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report.reconcile.summary.matched, 3);

    // Without --wait, a 404 leaves the events pending: not an error.
    upstream.fake.set_export(ExportKnobs {
        faults: [ExportFault::Status(404)].into(),
        ..ExportKnobs::default()
    });
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(0));
    let report: ReconcileReport = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report.reconcile.summary.pending, 3);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no data"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Events sent pretty-printed (line breaks, tabs, U+2028, unicode escapes) and
/// as a form are read back from the journal as sent: each is matched with
/// what the export holds, and no property reads as changed.
#[tokio::test(flavor = "multi_thread")]
async fn reconcile_reads_pretty_printed_and_form_events_as_sent() {
    let upstream = FakeAmplitude::new()
        .start("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("fake");
    let mut tap = Amptap::serve(&["--upstream", &upstream.url()]);
    let now = time::OffsetDateTime::now_utc().unix_timestamp() * 1000;
    let pretty = format!(
        "{{\n  \"event_type\": \"pretty\",\r\n  \"user_id\": \"user-00001\",\n  \"insert_id\": \"pretty-0001\",\n  \"time\": {now},\n  \"event_properties\": {{\"tab\":\t\"a\\tb\", \"sep\": \"\u{2028}\", \"jp\": \"\\u3053\\u3093\"}}\n}}"
    );
    let form_event = format!(
        "[{{\"event_type\":\"form\",\n\"device_id\":\"device-0001\",\"insert_id\":\"form-0001\",\"time\":{now},\"event_properties\":{{\"k\":\"v\\nw\"}}}}]"
    );
    common::post_pretty_and_form(&tap, API, &pretty, &form_event).await;
    tap.interrupt();

    let dir = tempfile::tempdir().expect("dir");
    let out = reconcile_auto(&upstream, &tap.journal, dir.path(), "json", &[]);
    let report: ReconcileReport = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let rec = report.reconcile;
    assert_eq!(
        (
            rec.summary.captured,
            rec.summary.matched,
            rec.summary.changed
        ),
        (2, 2, 0),
        "{:?}",
        rec.problems
    );
    assert_eq!(out.status.code(), Some(0));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_stand_in_drops_a_short_id_on_batch_as_amplitudes_docs_say() {
    let fake = FakeAmplitude::new()
        .start("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("fake");
    for path in ["/batch", "/2/httpapi"] {
        let body = json!({"api_key": "k", "events": [{"event_type": "a", "user_id": "abc", "device_id": "device-1", "insert_id": format!("short{path}"), "time": 1_795_514_400_000_i64}]});
        let r = reqwest::Client::new()
            .post(format!("{}{path}", fake.url()))
            .json(&body)
            .send()
            .await
            .expect("post");
        let want = if path == "/batch" { 200 } else { 400 };
        assert_eq!(r.status(), want, "{path}");
    }
    let rows = fake.fake.export_rows(&now_window());
    assert_eq!(rows.len(), 1, "only the batch was ingested");
    assert_eq!(rows[0].user_id, None, "the short user_id was dropped");
    assert_eq!(rows[0].device_id.as_deref(), Some("device-1"));
}
