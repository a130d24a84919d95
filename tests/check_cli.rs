//! `amptap check`, `plan infer`, `plan lint` and `serve --plan`, through the
//! real binary, on the example plan in assets/.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use amptap::report::Report;
use common::Amptap;
use serde_json::{json, Value};

fn asset(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets")
        .join(name)
}

use common::amptap_cli as amptap;

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

fn query(id: &str, props: Value) -> Value {
    let mut p = json!({"query_text": "What is Dify?", "app_id": "app-42", "conversation_id": "conv-1", "uid": "user-12345", "createTime": now_ms()});
    for (k, v) in props.as_object().expect("object") {
        if v == "<delete>" {
            p.as_object_mut().expect("object").remove(k);
        } else {
            p[k] = v.clone();
        }
    }
    json!({"event_type": "dify_user_query", "user_id": "user-12345", "device_id": "device-12345", "insert_id": id, "time": now_ms(), "event_properties": p})
}

fn other(id: &str, event_type: &str, props: Value) -> Value {
    json!({"event_type": event_type, "user_id": "user-12345", "device_id": "device-12345", "insert_id": id, "time": now_ms(), "event_properties": props})
}

fn workflow(id: &str, model: Value, latency: Value) -> Value {
    other(
        id,
        "dify_workflow_executed",
        json!({"app_id": "app-42", "workflow_id": "wf-1", "model": model, "latency_ms": latency, "total_tokens": 420, "status": "succeeded", "error": null}),
    )
}

/// The events with known problems, and exactly what check must find.
fn known_problems() -> (Vec<Value>, BTreeSet<(String, String, String)>) {
    let events = vec![
        query("q-ok", json!({})),
        query("q-missing", json!({"query_text": "<delete>"})),
        query(
            "q-unmapped",
            json!({"app_id": "<delete>", "appId": "app-42"}),
        ),
        query("q-null", json!({"conversation_id": null})),
        workflow("w-ok", json!("gpt-4o"), json!(812)),
        workflow("w-enum", json!("gpt-5"), json!(812)),
        workflow("w-type", json!("claude-sonnet-4"), json!("812")),
        other(
            "l-range",
            "dify_response_liked",
            json!({"response_id": "msg-1", "rating": 9, "app_id": "app-42"}),
        ),
        other(
            "f-html",
            "dify_feedback_submitted",
            json!({"response_id": "msg-1", "rating": "like", "comment": "<script>alert(1)</script>"}),
        ),
        other("x-unknown", "<script>alert(2)</script>", json!({})),
    ];
    let expected = [
        (
            "missing_property",
            "event_properties.query_text",
            "q-missing",
        ),
        ("unmapped_field", "event_properties.appId", "q-unmapped"),
        (
            "null_property",
            "event_properties.conversation_id",
            "q-null",
        ),
        ("enum_violation", "event_properties.model", "w-enum"),
        ("type_mismatch", "event_properties.latency_ms", "w-type"),
        ("range_violation", "event_properties.rating", "l-range"),
        ("bad_event_name", "event_type", "x-unknown"),
        ("unknown_event", "event_type", "x-unknown"),
    ]
    .into_iter()
    .map(|(c, p, i)| (c.to_owned(), p.to_owned(), i.to_owned()))
    .collect();
    (events, expected)
}

/// Sends the known problems through `serve --offline --plan` and returns its journal.
async fn journal_with_known_problems(dir: &Path) -> (PathBuf, Vec<String>) {
    let journal = dir.join("problems.jsonl");
    let plan = asset("dify-plan.toml");
    let mut tap = Amptap::serve(&[
        "--offline",
        "--plan",
        plan.to_str().expect("path"),
        "--record",
        journal.to_str().expect("path"),
    ]);
    let (events, _) = known_problems();
    let body = json!({"api_key": "FAKE_API_KEY_TEST_0123456789", "events": events});
    let r = reqwest::Client::new()
        .post(tap.url("/2/httpapi"))
        .json(&body)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    let stderr = tap.interrupt();
    (journal, stderr)
}

fn found(report: &Report) -> BTreeSet<(String, String, String)> {
    report
        .findings
        .iter()
        .map(|f| {
            (
                f.finding.code.to_string(),
                f.finding.path.clone(),
                f.event.insert_id.clone().unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn the_toml_and_csv_forms_of_the_example_plan_are_one_plan() {
    let toml = amptap::plan_file::load(&asset("dify-plan.toml")).expect("toml");
    let csv = amptap::plan_file::load(&asset("dify-plan.csv")).expect("csv");
    assert_eq!(toml, csv);
    assert_eq!(toml.events.len(), 6);
    assert!(
        toml.events.contains_key("dify_user_query")
            && toml.events.contains_key("dify_response_liked")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_with_a_plan_then_check_finds_exactly_the_known_problems() {
    let dir = tempfile::tempdir().expect("dir");
    let (journal, stderr) = journal_with_known_problems(dir.path()).await;
    // Live: each finding logged under its request line.
    let live = stderr.join("\n");
    assert!(
        live.contains(
            "✗ dify_user_query [q-missing]: missing_property event_properties.query_text"
        ),
        "{live}"
    );
    assert!(
        live.contains("⚠ dify_response_liked [l-range]: range_violation event_properties.rating"),
        "{live}"
    );
    assert!(!live.contains("<script>alert(2)</script>\u{1b}"));

    let (_, expected) = known_problems();
    for plan in ["dify-plan.toml", "dify-plan.csv"] {
        let out = amptap(&[
            "check",
            "--plan",
            asset(plan).to_str().expect("p"),
            journal.to_str().expect("j"),
            "--format",
            "json",
        ]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "errors found → exit 1: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let report: Report = serde_json::from_slice(&out.stdout).expect("JSON report parses");
        assert_eq!(found(&report), expected, "{plan}");
        assert_eq!(report.summary.events, 10);
        assert_eq!(report.summary.requests, 1);
        assert_eq!(report.summary.errors, 5);
        let unseen = report
            .event_types
            .iter()
            .find(|t| t.event_type == "dify_conversation_started")
            .expect("planned type listed");
        assert_eq!((unseen.events, unseen.in_plan), (0, true));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_format_parses_back() {
    let dir = tempfile::tempdir().expect("dir");
    let (journal, _) = journal_with_known_problems(dir.path()).await;
    let plan = asset("dify-plan.toml");
    let run = |format: &str| {
        let out_file = dir.path().join(format!("report.{format}"));
        let out = amptap(&[
            "check",
            "--plan",
            plan.to_str().expect("p"),
            journal.to_str().expect("j"),
            "--format",
            format,
            "--out",
            out_file.to_str().expect("o"),
        ]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read_to_string(&out_file).expect("report file")
    };
    let (_, expected) = known_problems();

    let csv_text = run("csv");
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let headers = reader.headers().expect("headers").clone();
    let col = |name: &str| headers.iter().position(|h| h == name).expect("column");
    let rows: BTreeSet<(String, String, String)> = reader
        .records()
        .map(|r| r.expect("row"))
        .map(|r| {
            (
                r[col("code")].to_owned(),
                r[col("path")].to_owned(),
                r[col("insert_id")].to_owned(),
            )
        })
        .collect();
    assert_eq!(rows, expected);

    let xml = run("junit");
    let mut reader = quick_xml::Reader::from_str(&xml);
    let (mut cases, mut failures, mut in_failure) = (Vec::new(), Vec::new(), None::<String>);
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                let attr = |name: &[u8]| {
                    e.attributes()
                        .filter_map(Result::ok)
                        .find(|a| a.key.as_ref() == name)
                        .map(|a| a.unescape_value().expect("attr").into_owned())
                };
                match e.name().as_ref() {
                    b"testcase" => cases.push(attr(b"name").expect("name")),
                    b"failure" => in_failure = cases.last().cloned(),
                    _ => {}
                }
            }
            quick_xml::events::Event::End(e) if e.name().as_ref() == b"failure" => {
                failures.extend(in_failure.take());
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    for t in [
        "dify_user_query",
        "dify_workflow_executed",
        "dify_response_liked",
        "dify_feedback_submitted",
        "dify_conversation_started",
        "<script>alert(2)</script>",
    ] {
        assert!(
            cases.contains(&t.to_owned()),
            "test case for {t}: {cases:?}"
        );
    }
    assert_eq!(cases.len(), 7, "one test case per event type");
    failures.sort();
    assert_eq!(
        failures,
        ["dify_user_query", "dify_workflow_executed"],
        "fail on errors only"
    );

    let html = run("html");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("<script>"), "event content is escaped");
    assert!(html.contains("&lt;script&gt;alert(2)&lt;/script&gt;"));
    assert!(!html.contains("src=\"http"), "self-contained");

    let md = run("md");
    assert!(md.contains("| dify_user_query | 4 | 3 |"), "{md}");
    assert!(md.contains("`event_properties.query_text`"));

    let text = run("text");
    assert!(
        text.contains("dify_user_query — 4 events, 3 with findings"),
        "{text}"
    );
    assert!(text.contains("✗ missing_property ×1  event_properties.query_text  expected string (required), got absent"), "{text}");
    assert!(
        text.contains("e.g. insert_id q-missing (request #1, event 1)"),
        "{text}"
    );
    assert!(text.contains("dify_conversation_started — planned, never seen"));
}

#[tokio::test(flavor = "multi_thread")]
async fn exit_codes_follow_fail_on() {
    let dir = tempfile::tempdir().expect("dir");
    let (journal, _) = journal_with_known_problems(dir.path()).await;
    let plan = asset("dify-plan.toml");
    let (p, j) = (plan.to_str().expect("p"), journal.to_str().expect("j"));
    assert_eq!(
        amptap(&["check", "--plan", p, j, "--fail-on", "never"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        amptap(&["check", "--plan", p, j, "--fail-on", "error"])
            .status
            .code(),
        Some(1)
    );

    // Only warnings: a fail only at --fail-on warning.
    let mut tap = Amptap::serve(&[
        "--offline",
        "--record",
        dir.path().join("warn.jsonl").to_str().expect("w"),
    ]);
    let body = json!({"api_key": "k", "events": [other("l-range", "dify_response_liked", json!({"response_id": "msg-1", "rating": 9, "app_id": "app-42"}))]});
    reqwest::Client::new()
        .post(tap.url("/2/httpapi"))
        .json(&body)
        .send()
        .await
        .expect("post");
    tap.interrupt();
    let w = tap.journal.to_str().expect("w").to_owned();
    assert_eq!(amptap(&["check", "--plan", p, &w]).status.code(), Some(0));
    assert_eq!(
        amptap(&["check", "--plan", p, &w, "--fail-on", "warning"])
            .status
            .code(),
        Some(1)
    );

    // Bad input: exit 2 with a clear message.
    let missing = amptap(&["check", "--plan", p, "/nonexistent/capture.jsonl"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/capture.jsonl"));
    let bad_plan = dir.path().join("bad.toml");
    std::fs::write(
        &bad_plan,
        "[events.a.properties]\nx = { type = \"strng\" }\n",
    )
    .expect("write");
    let out = amptap(&["check", "--plan", bad_plan.to_str().expect("b"), j]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.toml:2:14: unknown type \"strng\""),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_infer_then_check_on_the_same_capture_is_clean() {
    let dir = tempfile::tempdir().expect("dir");
    let (journal, _) = journal_with_known_problems(dir.path()).await;
    let out = amptap(&["plan", "infer", journal.to_str().expect("j")]);
    assert_eq!(out.status.code(), Some(0));
    let inferred = dir.path().join("inferred.toml");
    std::fs::write(&inferred, &out.stdout).expect("write");
    let drafted = amptap::plan_file::load(&inferred).expect("the draft loads");
    assert!(drafted.events.contains_key("dify_user_query"));
    let out = amptap(&[
        "check",
        "--plan",
        inferred.to_str().expect("i"),
        journal.to_str().expect("j"),
        "--format",
        "json",
    ]);
    let report: Report = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report.summary.errors, 0, "{:?}", report.findings);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        amptap(&["plan", "lint", inferred.to_str().expect("i")])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn plan_lint_reports_problems_and_exits_1_on_errors() {
    let dir = tempfile::tempdir().expect("dir");
    let ok = amptap(&["plan", "lint", asset("dify-plan.toml").to_str().expect("a")]);
    assert_eq!(ok.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&ok.stdout).contains("6 event types, 3 user properties; 0 errors")
    );
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "event_type,property,type,required,nullable,source_field,allowed,pattern,description,min,max\nsignup,age,integer,true,false,,,,,18,10\n").expect("write");
    let out = amptap(&["plan", "lint", bad.to_str().expect("b")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("error signup.age: min 18 is greater than max 10"));
}

/// JSON and CSV are written as findings come: a reader that stops after
/// the first line (`| head -1`) gets it, and the exit code still says
/// there were errors. The streamed JSON reads back as a whole report.
#[tokio::test(flavor = "multi_thread")]
async fn streamed_reports_survive_a_closed_pipe_and_read_back_whole() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let dir = tempfile::tempdir().expect("dir");
    let (journal, _) = journal_with_known_problems(dir.path()).await;
    let plan = asset("dify-plan.toml");
    let (p, j) = (plan.to_str().expect("p"), journal.to_str().expect("j"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_amptap"))
        .args(["check", "--plan", p, j, "--format", "csv"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("first line");
    assert!(first.starts_with("severity,code,"), "{first}");
    assert_eq!(child.wait().expect("exit").code(), Some(1));

    let out = amptap(&["check", "--plan", p, j, "--format", "json"]);
    let report: Report = serde_json::from_slice(&out.stdout).expect("one JSON report");
    assert_eq!(
        report.findings.len() as u64,
        report.summary.errors + report.summary.warnings + report.summary.infos
    );
    assert_eq!(report.omitted, 0);
    assert_eq!(out.status.code(), Some(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_check_of_nothing_fails_and_says_why() {
    let dir = tempfile::tempdir().expect("dir");
    let plan = asset("dify-plan.toml");
    let plan = plan.to_str().expect("plan");
    let empty = dir.path().join("empty.jsonl");
    std::fs::write(&empty, "").expect("empty");
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let (journal, _) = journal_with_known_problems(dir.path()).await;
    let har = dir.path().join("capture.har");
    std::fs::write(&har, amptap(&["har", journal.to_str().expect("j")]).stdout).expect("har");
    for input in [&empty, &readme, &har] {
        let out = amptap(&["check", "--plan", plan, input.to_str().expect("path")]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {err}", input.display());
        assert!(err.contains("nothing to check"), "{err}");
    }
    let out = amptap(&[
        "check",
        "--plan",
        plan,
        empty.to_str().expect("p"),
        "--allow-empty",
    ]);
    assert_eq!(out.status.code(), Some(0));

    // A journal whose only request did not decode: a finding, exit 1.
    let bad = dir.path().join("bad.jsonl");
    let mut tap = Amptap::serve(&["--offline", "--record", bad.to_str().expect("path")]);
    let r = reqwest::Client::new()
        .post(tap.url("/2/httpapi"))
        .body("{not json")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 400);
    tap.interrupt();
    let out = amptap(&[
        "check",
        "--plan",
        plan,
        bad.to_str().expect("p"),
        "--format",
        "json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Report = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report.summary.bad_requests, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn text_and_junit_count_each_path_on_its_own_line() {
    let dir = tempfile::tempdir().expect("dir");
    let journal = dir.path().join("paths.jsonl");
    let mut tap = Amptap::serve(&["--offline", "--record", journal.to_str().expect("path")]);
    let events: Vec<Value> = (0..2)
        .map(|i| {
            query(
                &format!("paths-{i}"),
                json!({"query_text": "<delete>", "app_id": "<delete>", "conversation_id": "<delete>"}),
            )
        })
        .collect();
    let r = reqwest::Client::new()
        .post(tap.url("/2/httpapi"))
        .json(&json!({"api_key": "FAKE_API_KEY_TEST_0123456789", "events": events}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    tap.interrupt();
    let plan = asset("dify-plan.toml");
    let out = amptap(&[
        "check",
        "--plan",
        plan.to_str().expect("plan"),
        journal.to_str().expect("j"),
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    for prop in ["query_text", "app_id", "conversation_id"] {
        let line = format!("missing_property ×2  event_properties.{prop}");
        assert!(text.contains(&line), "{line} in:\n{text}");
    }
    let out = amptap(&[
        "check",
        "--plan",
        plan.to_str().expect("plan"),
        journal.to_str().expect("j"),
        "--format",
        "junit",
    ]);
    let xml = String::from_utf8_lossy(&out.stdout);
    assert!(
        xml.contains("missing_property ×2 event_properties.app_id"),
        "{xml}"
    );
    // Planned types this capture never saw are said so, never shown as clean.
    for format in ["html", "md"] {
        let out = amptap(&[
            "check",
            "--plan",
            plan.to_str().expect("plan"),
            journal.to_str().expect("j"),
            "--format",
            format,
        ]);
        let doc = String::from_utf8_lossy(&out.stdout);
        assert!(doc.contains("(planned, never seen)"), "{format}: {doc}");
        assert!(
            !doc.contains("<td class=\"clean\">dify_response_liked"),
            "{doc}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn check_reads_a_journal_from_standard_input() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("dir");
    let (journal, _) = journal_with_known_problems(dir.path()).await;
    let plan = asset("dify-plan.toml");
    let mut child = Command::new(env!("CARGO_BIN_EXE_amptap"))
        .args(["check", "--format", "json", "--plan"])
        .arg(&plan)
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let bytes = std::fs::read(&journal).expect("journal");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&bytes)
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    let report: Report = serde_json::from_slice(&out.stdout).expect("json");
    assert!(report.summary.events > 0, "{:?}", report.summary);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the known problems fail the check"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn huge_captures_can_be_cut_to_a_few_findings_or_to_the_counts() {
    let dir = tempfile::tempdir().expect("dir");
    let (journal, _) = journal_with_known_problems(dir.path()).await;
    let (plan, journal) = (
        asset("dify-plan.toml"),
        journal.to_str().expect("j").to_owned(),
    );
    let check = |extra: &[&str]| {
        let mut args = vec!["check", "--plan", plan.to_str().expect("p"), &journal];
        args.extend_from_slice(extra);
        amptap(&args)
    };
    let (_, expected) = known_problems();
    let all = expected.len();

    let out = check(&["--format", "json", "--max-findings", "2"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the exit code judges everything"
    );
    let report: Report = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(report.findings.len(), 2);
    assert_eq!(report.omitted as usize, all - 2);
    assert_eq!(report.summary.errors, 5, "all still counted");

    let out = check(&["--format", "json", "--summary-only"]);
    let report: Report = serde_json::from_slice(&out.stdout).expect("json");
    assert!(report.findings.is_empty());
    assert_eq!(report.omitted as usize, all);
    assert_eq!(report.summary.errors, 5);

    let out = check(&["--summary-only"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("• missing_property ×1  event_properties.query_text"),
        "{text}"
    );
    assert!(!text.contains("e.g."), "no examples: {text}");

    let out = check(&["--format", "csv", "--summary-only"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to write as CSV"));
    let out = check(&["--summary-only", "--max-findings", "3"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "the two flags exclude each other"
    );
}
