//! The real `amptap serve` binary between real HTTP clients and the fake
//! Amplitude: transparency, answers, CORS, failures and the journal.

mod common;

use std::time::Duration;

use amptap::fake_amplitude::{FakeAmplitude, Fault, RunningFake};
use amptap::journal::open_reader;
use amptap::record::Delivery;
use common::Amptap;
use serde_json::{json, Value};

async fn fake() -> RunningFake {
    FakeAmplitude::new()
        .start("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("fake")
}

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

fn event(i: usize) -> Value {
    json!({"event_type": format!("Test Event {i}"), "user_id": "user-12345", "insert_id": format!("id-{i:05}"), "time": 1_795_559_291_068_i64 + i as i64})
}

async fn post_events(tap: &Amptap, events: Vec<Value>) -> (u16, Value) {
    let body = json!({"api_key": "FAKE_API_KEY_TEST_0123456789", "events": events});
    let r = client()
        .post(tap.url("/2/httpapi"))
        .json(&body)
        .send()
        .await
        .expect("send");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_recorded_sdk_request_passes_through_byte_identical() {
    let upstream = fake().await;
    let mut tap = Amptap::serve(&["--upstream", &upstream.url()]);
    let posts = common::all_wire_posts();
    let mut expected_events = 0;
    for req in &posts {
        let mut r = client().post(tap.url(&req.path)).body(req.body.clone());
        for (name, value) in &req.headers {
            if ["content-type", "content-encoding"].contains(&name.to_ascii_lowercase().as_str()) {
                r = r.header(name, value);
            }
        }
        let answer = r.send().await.expect("send");
        assert_eq!(answer.status(), 200, "{} {}", req.file, req.scenario);
        let text = answer.text().await.expect("body");
        if req.path == "/" {
            assert_eq!(text, "success");
        } else {
            let body: Value = serde_json::from_str(&text).expect("json answer");
            assert_eq!(body["code"], 200);
            assert_eq!(
                Some(body["events_ingested"].as_u64().unwrap_or(0) as usize),
                req.events_count
            );
        }
        expected_events += req.events_count.unwrap_or(0);
    }
    let received = upstream.fake.received();
    assert_eq!(received.len(), posts.len());
    for (sent, got) in posts.iter().zip(&received) {
        assert_eq!(
            got.body.as_ref(),
            sent.body.as_slice(),
            "{}: body changed on the way",
            sent.scenario
        );
        assert_eq!(
            got.content_type.as_deref(),
            sent.header("content-type"),
            "{}",
            sent.scenario
        );
        assert_eq!(
            got.content_encoding.as_deref(),
            sent.header("content-encoding"),
            "{}",
            sent.scenario
        );
    }
    let stderr = tap.interrupt();
    let captures = open_reader(&tap.journal)
        .expect("journal")
        .collect::<Vec<_>>();
    assert_eq!(captures.len(), posts.len());
    let journaled: usize = captures.iter().map(|c| c.events.len()).sum();
    assert_eq!(journaled, expected_events);
    // The journal holds each event exactly as the upstream got it.
    let upstream_events: Vec<String> = received
        .iter()
        .flat_map(|r| r.events.iter().map(|e| e.get().to_owned()))
        .collect();
    let journal_events: Vec<String> = captures
        .iter()
        .flat_map(|c| c.events.iter().map(|e| e.raw().get().to_owned()))
        .collect();
    assert_eq!(journal_events, upstream_events);
    assert!(captures
        .iter()
        .all(|c| matches!(c.delivery, Delivery::Forwarded { .. })));
    // Keys are masked: the clear key is nowhere in the file.
    let text = std::fs::read_to_string(&tap.journal).expect("journal text");
    assert!(!text.contains("FAKE_API_KEY_NODE_0123456789"));
    assert!(!text.contains("FAKE_API_KEY_LEGACY_0123456789"));
    assert_eq!(captures[0].api_key.as_deref(), Some("FAKE…6789"));
    let summary = stderr
        .iter()
        .find(|l| l.contains("requests,"))
        .expect("summary line");
    assert!(
        summary.contains(&format!(
            "{} requests, {expected_events} events",
            posts.len()
        )),
        "{summary}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_upstreams_answers_reach_the_sdk_unchanged() {
    let upstream = fake().await;
    let tap = Amptap::serve(&["--upstream", &upstream.url()]);
    for status in [500u16, 503, 429, 413] {
        upstream.fake.push_faults([Fault::Status(status)]);
        let (got, body) = post_events(&tap, vec![event(1), event(2)]).await;
        assert_eq!(got, status);
        assert_eq!(body["code"], status);
        if status == 429 {
            assert_eq!(body["throttled_events"], json!([0, 1]));
        }
    }
    // Amplitude's own 400 for an event without an id.
    let (got, body) = post_events(&tap, vec![json!({"event_type": "No Id"})]).await;
    assert_eq!(got, 400);
    assert_eq!(body["events_with_missing_fields"]["device_id"], json!([0]));
    let (got, body) = post_events(&tap, vec![event(3)]).await;
    assert_eq!((got, body["code"].clone()), (200, json!(200)));

    let captures = tap.captures();
    let statuses: Vec<u16> = captures.iter().map(|c| c.answer.status).collect();
    assert_eq!(statuses, [500, 503, 429, 413, 400, 200]);
    assert!(captures.iter().all(|c| c.delivery.latency_ms().is_some()));
    assert!(captures[0].answer.body.contains("\"code\":500"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_upstream_is_a_502_and_the_events_are_kept() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let tap = Amptap::serve(&["--upstream", &format!("http://127.0.0.1:{port}")]);
    let (status, body) = post_events(&tap, vec![event(1), event(2), event(3)]).await;
    assert_eq!(status, 502);
    assert_eq!(body["code"], 502);
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("unreachable")),
        "{body}"
    );
    let captures = tap.captures();
    assert_eq!(captures[0].events.len(), 3);
    assert!(matches!(
        &captures[0].delivery,
        Delivery::Failed {
            timed_out: false,
            ..
        }
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_upstream_is_a_504_and_a_dropped_connection_a_502() {
    let upstream = fake().await;
    let tap = Amptap::serve(&["--upstream", &upstream.url(), "--upstream-timeout", "0.5"]);
    upstream
        .fake
        .push_faults([Fault::Delay(Duration::from_secs(5)), Fault::Drop]);
    let (status, body) = post_events(&tap, vec![event(1)]).await;
    assert_eq!((status, body["code"].clone()), (504, json!(504)));
    let (status, _) = post_events(&tap, vec![event(2)]).await;
    assert_eq!(status, 502);
    let captures = tap.captures();
    assert!(matches!(
        &captures[0].delivery,
        Delivery::Failed {
            timed_out: true,
            ..
        }
    ));
    assert!(matches!(
        &captures[1].delivery,
        Delivery::Failed {
            timed_out: false,
            ..
        }
    ));
    assert_eq!(captures.iter().map(|c| c.events.len()).sum::<usize>(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn browsers_get_cors_on_preflights_and_on_every_answer() {
    let upstream = fake().await;
    let tap = Amptap::serve(&["--upstream", &upstream.url()]);
    for (path, asked) in [
        ("/2/httpapi", "content-encoding,content-type"),
        ("/", "cross-origin-resource-policy"),
    ] {
        let r = client()
            .request(reqwest::Method::OPTIONS, tap.url(path))
            .header("Origin", "http://localhost:5173")
            .header("Access-Control-Request-Method", "POST")
            .header("Access-Control-Request-Headers", asked)
            .send()
            .await
            .expect("preflight");
        assert!(r.status().is_success());
        let h = r.headers();
        assert_eq!(h["access-control-allow-origin"], "http://localhost:5173");
        assert_eq!(h["access-control-allow-headers"], asked);
        assert!(h["access-control-allow-methods"]
            .to_str()
            .is_ok_and(|m| m.contains("POST")));
    }
    // Without a list, the default covers what every SDK sends.
    let r = client()
        .request(reqwest::Method::OPTIONS, tap.url("/batch"))
        .send()
        .await
        .expect("preflight");
    let allowed = r.headers()["access-control-allow-headers"]
        .to_str()
        .expect("text")
        .to_owned();
    for h in [
        "content-type",
        "content-encoding",
        "cross-origin-resource-policy",
    ] {
        assert!(allowed.contains(h));
    }
    // Forwarded answers, errors included, carry the origin too.
    upstream.fake.push_faults([Fault::Status(500)]);
    for expected in [500, 200] {
        let r = client()
            .post(tap.url("/2/httpapi"))
            .header("Origin", "http://localhost:5173")
            .json(&json!({"api_key": "k", "events": [event(1)]}))
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), expected);
        assert_eq!(
            r.headers()["access-control-allow-origin"],
            "http://localhost:5173"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_gets_a_clear_4xx_and_the_server_keeps_serving() {
    let tap = Amptap::serve(&["--offline", "--max-body", "100000"]);
    let deep = format!(
        r#"{{"api_key":"k","events":[{}{}]}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    // (case, method [path], body, content-encoding, expected status, expected message)
    type Case<'a> = (&'a str, &'a str, Vec<u8>, Option<&'a str>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "broken JSON",
            "POST",
            b"{\"api_key\":".to_vec(),
            None,
            400,
            "Invalid JSON",
        ),
        (
            "events not an array",
            "POST",
            br#"{"api_key":"k","events":{"a":1}}"#.to_vec(),
            None,
            400,
            "events",
        ),
        (
            "invalid gzip",
            "POST",
            b"definitely not gzip".to_vec(),
            Some("gzip"),
            400,
            "gzip",
        ),
        (
            "body over the cap",
            "POST",
            vec![b' '; 200_000],
            None,
            413,
            "Payload too large",
        ),
        (
            "invalid UTF-8",
            "POST",
            b"{\"api_key\":\"k\",\"events\":[{\"event_type\":\"\xff\xfe\"}]}".to_vec(),
            None,
            400,
            "Invalid JSON",
        ),
        (
            "10,000-deep nesting",
            "POST",
            deep.into_bytes(),
            None,
            400,
            "Invalid JSON",
        ),
        ("empty body", "POST", Vec::new(), None, 400, "empty"),
        ("wrong method", "GET", Vec::new(), None, 405, "takes POST"),
        (
            "PUT on the legacy path",
            "PUT /",
            b"x".to_vec(),
            None,
            405,
            "takes POST",
        ),
        (
            "unknown path",
            "POST /v3",
            b"{}".to_vec(),
            None,
            404,
            "no Amplitude API",
        ),
    ];
    let count = cases.len();
    let mut answers = Vec::new();
    for (name, method, body, encoding, status, message) in cases {
        let (method, path) = match method.split_once(' ') {
            Some((m, p)) => (m, p),
            None => (method, "/2/httpapi"),
        };
        let mut r = client()
            .request(method.parse().expect("method"), tap.url(path))
            .header("content-type", "application/json")
            .body(body);
        if let Some(e) = encoding {
            r = r.header("content-encoding", e);
        }
        let answer = r.send().await.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(answer.status().as_u16(), status, "{name}");
        let text = answer.text().await.expect("body");
        answers.push((name, message, text));
    }
    let (status, _) = post_events(&tap, vec![event(1)]).await;
    assert_eq!(status, 200, "still serving");
    // Every request is in the journal, decodable, routable or not: one line
    // each, with the reason and (where there was one) the body as received.
    let captures = tap.captures();
    assert_eq!(captures.len(), count + 1);
    assert!(captures[..count].iter().all(|c| c.problem.is_some()));
    // The SDK gets Amplitude's documented body; why is in the record too.
    for ((name, message, text), record) in answers.iter().zip(&captures) {
        let reason = record.problem.as_ref().map_or("", |p| p.reason.as_str());
        assert!(
            text.contains(message) || reason.contains(message),
            "{name}: answered {text}, recorded {reason}"
        );
        assert!(
            !text.contains("detail"),
            "{name}: a key Amplitude does not send: {text}"
        );
    }
    let kinds: Vec<_> = captures[count - 3..count]
        .iter()
        .map(|c| (c.request_line(), c.problem.as_ref().map(|p| p.kind)))
        .collect();
    use amptap::record::ProblemKind;
    assert_eq!(
        kinds,
        [
            ("GET /2/httpapi".to_owned(), Some(ProblemKind::WrongMethod)),
            ("PUT /".to_owned(), Some(ProblemKind::WrongMethod)),
            ("POST /v3".to_owned(), Some(ProblemKind::WrongPath)),
        ]
    );
    let wrong_path = &captures[count - 1];
    assert_eq!(
        wrong_path.body.as_ref().map(|b| b.bytes.as_slice()),
        Some(&b"{}"[..])
    );
    assert!(captures[count].problem.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn after_kill_9_every_complete_line_reads_back() {
    let upstream = fake().await;
    let mut tap = Amptap::serve(&["--upstream", &upstream.url()]);
    for i in 0..20 {
        let (status, _) = post_events(&tap, vec![event(i), event(i + 100)]).await;
        assert_eq!(status, 200);
    }
    tap.kill9();
    let captures = tap.captures();
    assert_eq!(captures.len(), 20);
    assert_eq!(
        captures.iter().map(|c| c.seq).collect::<Vec<_>>(),
        (1..=20).collect::<Vec<_>>()
    );
    // A write cut short: the torn line is skipped with a warning, the rest reads.
    let text = std::fs::read_to_string(&tap.journal).expect("journal");
    let last_line = text.lines().last().expect("a line");
    std::fs::write(
        &tap.journal,
        format!("{text}{}", &last_line[..last_line.len() / 2]),
    )
    .expect("tear");
    let mut reader = open_reader(&tap.journal).expect("journal");
    assert_eq!(reader.by_ref().count(), 20);
    assert_eq!(reader.warnings().len(), 1);
    assert!(reader.warnings()[0]
        .message
        .contains("incomplete last line"));
    assert_eq!(reader.warnings()[0].line, 21);

    // A new session appends after the torn line and numbers on.
    let tap2 = Amptap::serve(&[
        "--upstream",
        &upstream.url(),
        "--record",
        tap.journal.to_str().expect("path"),
    ]);
    let (status, _) = post_events(&tap2, vec![event(1)]).await;
    assert_eq!(status, 200);
    let mut reader = open_reader(&tap.journal).expect("journal");
    let seqs: Vec<u64> = reader.by_ref().map(|c| c.seq).collect();
    assert_eq!(seqs.len(), 21);
    assert_eq!(seqs[20], 22);
    assert_eq!(reader.warnings().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_logs_one_line_per_request() {
    let mut tap = Amptap::serve(&["--offline"]);
    let (status, _) = post_events(
        &tap,
        vec![
            event(1),
            event(2),
            json!({"event_type": "Evil \u{1b}[2J", "user_id": "user-12345"}),
        ],
    )
    .await;
    assert_eq!(status, 200);
    let line = tap
        .wait_for_line(|l| l.contains("→"), Duration::from_secs(5))
        .expect("request line");
    assert!(line.contains("3 events"), "{line}");
    assert!(
        line.contains("Test Event 1, Test Event 2, Evil ␛[2J"),
        "{line}"
    );
    assert!(line.contains("→ 200"), "{line}");
    assert!(
        !line.contains('\u{1b}'),
        "escape sequences never reach the terminal"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_drains_requests_in_flight() {
    let upstream = fake().await;
    let mut tap = Amptap::serve(&["--upstream", &upstream.url()]);
    upstream
        .fake
        .push_faults([Fault::Delay(Duration::from_millis(800))]);
    let in_flight = {
        let url = tap.url("/2/httpapi");
        tokio::spawn(async move {
            let body = json!({"api_key": "k", "events": [event(7)]});
            client()
                .post(url)
                .json(&body)
                .send()
                .await
                .map(|r| r.status().as_u16())
        })
    };
    assert!(
        common::eventually(Duration::from_secs(5), || upstream.fake.request_count()
            == 1)
        .await
    );
    let stderr = {
        common::signal_term(&tap.child);
        let _ = tap.child.wait();
        tap.stderr.try_iter().collect::<Vec<_>>()
    };
    assert_eq!(in_flight.await.expect("join").expect("answered"), 200);
    assert!(
        stderr.iter().any(|l| l.contains("1 requests, 1 events")),
        "{stderr:?}"
    );
    assert_eq!(tap.captures().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_non_loopback_address_is_warned_about() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_amptap"))
        .args(["serve", "--offline", "--listen", "0.0.0.0:0", "--record"])
        .arg(tempfile::tempdir().expect("dir").path().join("j.jsonl"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stderr.take().expect("stderr")),
        &mut first,
    )
    .expect("line");
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        first.contains("warning") && first.contains("not loopback"),
        "{first}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_fake_amplitude_subcommand_takes_fault_knobs() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_amptap"))
        .args(["fake-amplitude", "--listen", "127.0.0.1:0", "--fail", "503"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut banner = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stderr.take().expect("stderr")),
        &mut banner,
    )
    .expect("line");
    let base = banner.trim().rsplit(' ').next().expect("url").to_owned();
    let body = json!({"api_key": "k", "events": [event(1)]});
    let statuses: Vec<u16> = {
        let mut s = Vec::new();
        for _ in 0..2 {
            s.push(
                client()
                    .post(format!("{base}/2/httpapi"))
                    .json(&body)
                    .send()
                    .await
                    .expect("post")
                    .status()
                    .as_u16(),
            );
        }
        s
    };
    let faults = client()
        .post(format!("{base}/_fake/faults"))
        .json(&json!(["429x2"]))
        .send()
        .await
        .expect("faults");
    assert!(faults.status().is_success());
    let third = client()
        .post(format!("{base}/2/httpapi"))
        .json(&body)
        .send()
        .await
        .expect("post")
        .status();
    let received: Value = client()
        .get(format!("{base}/_fake/received"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(statuses, [503, 200]);
    assert_eq!(third, 429);
    assert_eq!(received.as_array().map(Vec::len), Some(3));
    assert_eq!(received[1]["events"][0]["event_type"], "Test Event 1");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_in_the_query_string_goes_upstream_but_not_into_the_journal() {
    let upstream = fake().await;
    let tap = Amptap::serve(&["--upstream", &upstream.url()]);
    let form = "api_key=FAKE_API_KEY_QUERY_0123456789&event=%7B%22event_type%22%3A%22a%22%2C%22user_id%22%3A%22user-12345%22%7D";
    let r = client()
        .post(tap.url("/httpapi?api_key=FAKE_API_KEY_QUERY_0123456789&probe=1"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    let text = std::fs::read_to_string(&tap.journal).expect("journal");
    assert!(!text.contains("FAKE_API_KEY_QUERY_0123456789"), "{text}");
    assert!(text.contains("probe=1"));
    assert_eq!(
        upstream.fake.received()[0].body.as_ref(),
        form.as_bytes(),
        "the upstream gets the request unchanged"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn opening_the_tap_in_a_browser_says_what_it_is() {
    let tap = Amptap::serve(&["--offline"]);
    let r = client().get(tap.url("/")).send().await.expect("get");
    assert_eq!(r.status(), 200);
    assert!(r.text().await.expect("text").contains("serverUrl"));
    // Every request the tap answers is a record, this one too: a row saying
    // it was not an ingestion request.
    let records = tap.captures();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].request_line(), "GET /");
    assert_eq!(
        records[0].problem.as_ref().map(|p| p.kind),
        Some(amptap::record::ProblemKind::WrongMethod)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_session_serve_still_logs_and_the_api_says_why_it_is_off() {
    let plan = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/dify-plan.toml");
    let mut tap = Amptap::serve(&[
        "--offline",
        "--session-memory",
        "0",
        "--plan",
        plan.to_str().expect("plan"),
    ]);
    let (status, _) = post_events(&tap, vec![json!({"event_type": "dify_user_query", "user_id": "user-12345", "insert_id": "q-1", "time": 1_795_559_291_068_i64})]).await;
    assert_eq!(status, 200);
    let line = tap
        .wait_for_line(|l| l.contains("missing_property"), Duration::from_secs(5))
        .expect("a finding line");
    assert!(line.contains("[q-1]"), "{line}");
    let r = client()
        .get(tap.url("/_amptap/summary"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 404);
}

/// `serve --json`: one object per request on stdout, parsed by what jq would see.
#[tokio::test(flavor = "multi_thread")]
async fn serve_json_prints_one_object_per_request_and_the_journal_must_be_a_file() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().expect("dir");
    let journal = dir.path().join("j.jsonl");
    let plan = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/dify-plan.toml");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_amptap"))
        .args(["serve", "--offline", "--json", "--listen", "127.0.0.1:0"])
        .args(["--plan", plan, "--record"])
        .arg(&journal)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    // stderr is read to its end on a thread: closed early, it would fail
    // the summary amptap prints there at exit.
    let stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let banner = rx
        .iter()
        .find(|l| l.contains("listening on http://"))
        .expect("banner");
    let addr = banner
        .split("http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .expect("addr")
        .to_owned();
    let client = reqwest::Client::new();
    let body = json!({"api_key": "0123456789abcdef0123456789abcdef", "events": [
        {"event_type": "dify_user_query", "user_id": "user-12345", "insert_id": "json-1", "time": 1_795_559_291_068_i64, "event_properties": {"app_id": "app-42"}}
    ]});
    let ok = client
        .post(format!("http://{addr}/2/httpapi"))
        .json(&body)
        .send()
        .await
        .expect("post");
    assert_eq!(ok.status(), 200);
    let typo = client
        .post(format!("http://{addr}/2/httpApi"))
        .body("x")
        .send()
        .await
        .expect("post");
    assert_eq!(typo.status(), 404);
    common::signal_term(&child);
    let output = child.wait_with_output().expect("wait");
    let lines: Vec<Value> = output
        .stdout
        .lines()
        .map(|l| serde_json::from_str(&l.expect("utf-8")).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["status"], 200);
    assert_eq!(lines[0]["delivery"], "offline");
    assert_eq!(lines[0]["events"][0]["insert_id"], "json-1");
    assert_eq!(lines[0]["events"][0]["verdict"], "error");
    let codes: Vec<&str> = lines[0]["events"][0]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["code"].as_str())
        .collect();
    assert!(codes.contains(&"missing_property"), "{codes:?}");
    assert!(
        !lines[0]["api_key"]
            .as_str()
            .unwrap_or_default()
            .contains("0123456789abcdef0123"),
        "the key is masked"
    );
    assert_eq!(lines[1]["status"], 404);
    assert_eq!(lines[1]["problem"]["kind"], "wrong_path");

    for special in ["/dev/null", "-"] {
        let out = common::amptap_cli(&["serve", "--offline", "--record", special]);
        assert_eq!(out.status.code(), Some(2), "{special}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("must be a regular file") && err.contains("--json"),
            "{err}"
        );
    }
}
