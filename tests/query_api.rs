//! The query API, /metrics, HAR, completions and the man page, through the
//! real binary — with the official Node SDK as the client.

mod common;

use std::path::PathBuf;
use std::process::Command;

use amptap::event::{decode_request, BodyLimits};
use common::Amptap;
use serde_json::{json, Value};

async fn get(url: String) -> (u16, Value) {
    let r = reqwest::get(url).await.expect("get");
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn post(url: String, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .expect("post");
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_node_sdk_test_waits_on_the_api_instead_of_reading_the_journal() {
    let tap = Amptap::serve(&["--offline"]);
    let q = |s: &str| s.replace(' ', "%20").replace('$', "%24");

    // Run 1, tagged.
    assert_eq!(
        post(tap.url("/_amptap/tag"), json!({"tag": "run-one"}))
            .await
            .0,
        200
    );
    let url = tap.url("/2/httpapi");
    let sdk = tokio::task::spawn_blocking(move || common::run_node_sdk(&url, "basic"));
    let (status, body) = get(tap.url(&format!(
        "/_amptap/wait?q={}&count=5&timeout=10s",
        q("tag:run-one")
    )))
    .await;
    sdk.await.expect("join");
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["count"], 5);
    let types: Vec<&str> = body["events"]
        .as_array()
        .expect("events")
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
    let first = &body["events"][0];
    assert_eq!(first["upstream_status"], 200);
    assert_eq!(first["delivery"], "offline");
    assert_eq!(first["tag"], "run-one");
    assert!(first["verdict"].is_string() && first["findings"].is_array());

    // Run 2 under another tag: the filter separates them.
    assert_eq!(
        post(tap.url("/_amptap/tag"), json!({"tag": "run-two"}))
            .await
            .0,
        200
    );
    let url = tap.url("/2/httpapi");
    tokio::task::spawn_blocking(move || common::run_node_sdk(&url, "basic"))
        .await
        .expect("join");
    let (_, two) = get(tap.url(&format!(
        "/_amptap/wait?q={}&count=5&timeout=10s",
        q("tag:run-two")
    )))
    .await;
    assert_eq!(two["count"], 5);
    let (_, one) = get(tap.url(&format!("/_amptap/events?q={}", q("tag:run-one")))).await;
    assert_eq!(one["count"], 5, "run one is still five");
    let (_, identify) = get(tap.url(&format!(
        "/_amptap/events?q={}&limit=1",
        q("tag:run-two type:\\$identify").replace('\\', "%5C")
    )))
    .await;
    assert_eq!(
        (
            identify["count"].clone(),
            identify["events"].as_array().map(Vec::len)
        ),
        (json!(1), Some(1))
    );

    // A wait that cannot be met answers 408 with what did arrive.
    let (status, body) = get(tap.url(&format!(
        "/_amptap/wait?q={}&count=99&timeout=300ms",
        q("tag:run-two")
    )))
    .await;
    assert_eq!((status, body["count"].clone()), (408, json!(5)));
    assert!(body["error"]
        .as_str()
        .is_some_and(|e| e.contains("5 of 99")));
    let (status, body) = get(tap.url("/_amptap/events?q=type:(")).await;
    assert_eq!(status, 400, "{body}");
    // The grammar: a group of alternatives, negation, a body term in an OR.
    for (filter, count) in [
        ("tag:run-one (type:page.viewed or type:item.added)", 2),
        ("tag:run-one !(type:page.viewed or type:item.added)", 3),
        ("tag:run-one (type:page.viewed or nothing-has-this)", 1),
    ] {
        let (status, body) = get(tap.url(&format!("/_amptap/events?q={}", q(filter)))).await;
        assert_eq!(
            (status, body["count"].clone()),
            (200, json!(count)),
            "{filter}: {body}"
        );
    }

    // Summary, then reset: the session empties, the journal keeps all and marks it.
    let (_, summary) = get(tap.url("/_amptap/summary")).await;
    assert_eq!(summary["events"], 10);
    assert_eq!(summary["by_type"]["Button Clicked"], 2);
    assert_eq!(summary["upstream"]["200"], 2);
    assert_eq!(post(tap.url("/_amptap/reset"), json!({})).await.0, 200);
    let (_, summary) = get(tap.url("/_amptap/summary")).await;
    assert_eq!(summary["events"], 0);
    let journal = std::fs::read_to_string(&tap.journal).expect("journal");
    assert!(journal.contains("\"marker\":\"reset\"") && journal.contains("\"marker\":\"tag\""));
    let captures = tap.captures();
    assert_eq!(captures.len(), 2, "markers are not requests");
    assert_eq!(
        captures
            .iter()
            .map(|c| c.tag.clone().unwrap_or_default())
            .collect::<Vec<_>>(),
        ["run-one", "run-two"]
    );
    // check reports the tag of each finding's event.
    let plan = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/dify-plan.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_amptap"))
        .args(["check", "--plan"])
        .arg(&plan)
        .arg(&tap.journal)
        .args(["--format", "json", "--fail-on", "never"])
        .output()
        .expect("check");
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .any(|f| f["event"]["tag"] == "run-two"));
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_parse_and_match_what_was_sent() {
    let upstream = amptap::fake_amplitude::FakeAmplitude::new()
        .start("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("fake");
    let plan = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/dify-plan.toml");
    let tap = Amptap::serve(&[
        "--upstream",
        &upstream.url(),
        "--plan",
        plan.to_str().expect("plan"),
    ]);
    let client = reqwest::Client::new();
    let ev = |t: &str, id: &str, props: Value| json!({"event_type": t, "user_id": "user-12345", "insert_id": id, "time": 1_795_514_400_000_i64, "event_properties": props});
    let body = json!({"api_key": "k", "events": [
        ev("dify_response_liked", "a", json!({"response_id": "m", "rating": 4, "app_id": "app-1"})),
        ev("dify_response_liked", "b", json!({"response_id": "m", "rating": "4", "app_id": "app-1"})),
        ev("dify_user_query", "c", json!({}))
    ]});
    for _ in 0..2 {
        client
            .post(tap.url("/2/httpapi"))
            .json(&body)
            .send()
            .await
            .expect("post");
    }
    upstream
        .fake
        .push_faults([amptap::fake_amplitude::Fault::Status(503)]);
    client.post(tap.url("/batch")).json(&json!({"api_key": "k", "events": [ev("dify_response_liked", "z", json!({"response_id": "m", "rating": 1, "app_id": "app-1"}))]})).send().await.expect("post");
    let text = reqwest::get(tap.url("/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .expect("Prometheus text format");
    let value = |name: &str, labels: &[(&str, &str)]| -> f64 {
        scrape
            .samples
            .iter()
            .filter(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => 0.0,
            })
            .sum()
    };
    assert_eq!(
        value("amptap_requests_total", &[("endpoint", "/2/httpapi")]),
        2.0
    );
    assert_eq!(
        value("amptap_requests_total", &[("endpoint", "/batch")]),
        1.0
    );
    assert_eq!(
        value(
            "amptap_events_total",
            &[
                ("endpoint", "/2/httpapi"),
                ("event_type", "dify_response_liked")
            ]
        ),
        4.0
    );
    assert_eq!(
        value("amptap_events_total", &[("event_type", "dify_user_query")]),
        2.0
    );
    assert_eq!(
        value("amptap_upstream_responses_total", &[("status", "200")]),
        2.0
    );
    assert_eq!(
        value("amptap_upstream_responses_total", &[("status", "503")]),
        1.0
    );
    assert_eq!(
        value("amptap_findings_total", &[("code", "type_mismatch")]),
        2.0
    );
    assert_eq!(
        value("amptap_findings_total", &[("code", "missing_property")]),
        10.0,
        "5 required properties, twice"
    );
    assert!(value("amptap_journal_bytes", &[]) > 0.0);
    let histogram = scrape
        .samples
        .iter()
        .find(|s| s.metric == "amptap_upstream_latency_seconds")
        .expect("latency histogram");
    assert!(
        matches!(&histogram.value, prometheus_parse::Value::Histogram(buckets) if buckets.iter().any(|b| b.count == 3.0)),
        "{:?}",
        histogram.value
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_refuses_non_loopback_clients_without_the_token() {
    // This machine's own non-loopback address.
    let probe = std::net::UdpSocket::bind("0.0.0.0:0").expect("udp");
    probe.connect("10.255.255.255:1").expect("route");
    let ip = probe.local_addr().expect("addr").ip();
    assert!(!ip.is_loopback(), "needs a non-loopback interface");

    let open = Amptap::serve(&["--offline", "--listen", "0.0.0.0:0"]);
    let remote = format!("http://{ip}:{}", open.addr.port());
    let r = reqwest::get(format!("{remote}/_amptap/summary"))
        .await
        .expect("get");
    assert_eq!(r.status(), 403);
    assert!(r.text().await.expect("body").contains("--api-token"));
    assert_eq!(
        reqwest::get(format!("{remote}/metrics"))
            .await
            .expect("get")
            .status(),
        403
    );
    assert_eq!(
        reqwest::get(format!(
            "http://127.0.0.1:{}/_amptap/summary",
            open.addr.port()
        ))
        .await
        .expect("get")
        .status(),
        200
    );
    // Ingestion is not the API: remote SDKs still get through.
    let ok = reqwest::Client::new()
        .post(format!("{remote}/2/httpapi"))
        .json(&json!({"api_key": "k", "events": [{"event_type": "e", "user_id": "user-12345"}]}))
        .send()
        .await
        .expect("post");
    assert_eq!(ok.status(), 200);

    let guarded = Amptap::serve(&[
        "--offline",
        "--listen",
        "0.0.0.0:0",
        "--api-token",
        "s3cret-token",
    ]);
    let remote = format!("http://{ip}:{}", guarded.addr.port());
    assert_eq!(
        reqwest::get(format!("{remote}/_amptap/summary"))
            .await
            .expect("get")
            .status(),
        401
    );
    let with = reqwest::Client::new()
        .get(format!("{remote}/_amptap/summary"))
        .bearer_auth("s3cret-token")
        .send()
        .await
        .expect("get");
    assert_eq!(with.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn har_has_every_request_and_round_trips_its_body() {
    let mut tap = Amptap::serve(&["--offline"]);
    let posts = common::all_wire_posts();
    for req in &posts {
        let mut r = reqwest::Client::new()
            .post(tap.url(&req.path))
            .body(req.body.clone());
        for (name, value) in &req.headers {
            if ["content-type", "content-encoding"].contains(&name.to_ascii_lowercase().as_str()) {
                r = r.header(name, value);
            }
        }
        r.send().await.expect("send");
    }
    tap.interrupt();
    let out = Command::new(env!("CARGO_BIN_EXE_amptap"))
        .arg("har")
        .arg(&tap.journal)
        .output()
        .expect("har");
    assert!(out.status.success());
    let har: Value = serde_json::from_slice(&out.stdout).expect("HAR is JSON");
    let log = &har["log"];
    assert_eq!(log["version"], "1.2");
    assert_eq!(log["creator"]["name"], "amptap");
    assert!(log["pages"].is_array());
    let entries = log["entries"].as_array().expect("entries");
    let captures = tap.captures();
    assert_eq!(entries.len(), captures.len());
    for (entry, capture) in entries.iter().zip(&captures) {
        // HAR 1.2 fields, one by one.
        assert!(time::OffsetDateTime::parse(
            entry["startedDateTime"].as_str().expect("date"),
            &time::format_description::well_known::Rfc3339
        )
        .is_ok());
        assert!(entry["time"].is_number());
        let req = &entry["request"];
        assert_eq!(req["method"], "POST");
        assert!(req["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("http") && u.contains(&capture.path)));
        assert_eq!(req["httpVersion"], "HTTP/1.1");
        for key in ["cookies", "headers", "queryString"] {
            assert!(req[key].is_array(), "request.{key}");
        }
        assert!(req["headersSize"].is_number() && req["bodySize"].is_number());
        let res = &entry["response"];
        assert_eq!(res["status"], capture.answer.status);
        assert!(
            res["statusText"].is_string()
                && res["httpVersion"].is_string()
                && res["redirectURL"].is_string()
        );
        assert!(res["cookies"].is_array() && res["headers"].is_array());
        assert_eq!(res["content"]["text"], capture.answer.body.as_str());
        assert!(res["content"]["size"].is_number() && res["content"]["mimeType"].is_string());
        assert!(entry["cache"].is_object());
        for key in ["send", "wait", "receive"] {
            assert!(
                entry["timings"][key].as_f64().is_some_and(|v| v >= 0.0),
                "timings.{key}"
            );
        }
        // The body decodes back to exactly the events that were sent.
        let text = req["postData"]["text"].as_str().expect("postData.text");
        let batch = decode_request(
            capture.endpoint.expect("an ingestion path"),
            None,
            text.as_bytes(),
            BodyLimits::default(),
        )
        .expect("rebuilt body decodes");
        let raws: Vec<&str> = batch.events.iter().map(|e| e.raw().get()).collect();
        let sent: Vec<&str> = capture.events.iter().map(|e| e.raw().get()).collect();
        assert_eq!(raws, sent, "{}", capture.path);
        assert!(
            !text.contains("FAKE_API_KEY_NODE_0123456789"),
            "keys stay masked"
        );
    }
}

#[test]
fn completions_and_man_page_come_from_the_same_definitions() {
    for shell in ["bash", "zsh", "fish"] {
        let out = Command::new(env!("CARGO_BIN_EXE_amptap"))
            .args(["completions", shell])
            .output()
            .expect("run");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("reconcile") && text.contains("plan"),
            "{shell}"
        );
    }
    let man = Command::new(env!("CARGO_BIN_EXE_amptap"))
        .arg("man")
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&man.stdout);
    assert!(
        text.starts_with(".ie") || text.contains(".TH amptap"),
        "{}",
        &text[..200.min(text.len())]
    );
    assert!(text.contains("reconcile"));
    for section in ["ENVIRONMENT", "FILES", "EXIT STATUS", "SEE ALSO"] {
        assert!(text.contains(&format!(".SH \"{section}\"")), "{section}");
    }
    // A page per command, each naming its own variables and exit statuses.
    let serve = Command::new(env!("CARGO_BIN_EXE_amptap"))
        .args(["man", "serve"])
        .output()
        .expect("run");
    let serve = String::from_utf8_lossy(&serve.stdout);
    assert!(
        serve.contains(".TH amptap-serve") && serve.contains("AMPTAP_LISTEN"),
        "{serve}"
    );
    assert!(serve.contains("\\-\\-json"), "serve's own flags");
    let dir = tempfile::tempdir().expect("dir");
    let all = Command::new(env!("CARGO_BIN_EXE_amptap"))
        .arg("man")
        .arg("--dir")
        .arg(dir.path())
        .output()
        .expect("run");
    assert!(
        all.status.success(),
        "{}",
        String::from_utf8_lossy(&all.stderr)
    );
    let top = std::fs::read_to_string(dir.path().join("amptap.1")).expect("amptap.1");
    for page in [
        "amptap-serve",
        "amptap-check",
        "amptap-plan-infer",
        "amptap-reconcile",
    ] {
        let text = std::fs::read_to_string(dir.path().join(format!("{page}.1"))).expect(page);
        assert!(text.contains("EXIT STATUS"), "{page}");
        assert!(
            top.contains(&format!("\\fB{page}\\fR(1)")),
            "amptap(1) refers to {page}"
        );
    }
    let check = std::fs::read_to_string(dir.path().join("amptap-check.1")).expect("check");
    assert!(check.contains("--allow-empty"), "check's own exit status");
    let bad = Command::new(env!("CARGO_BIN_EXE_amptap"))
        .args(["man", "bogus"])
        .output()
        .expect("run");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("amptap-serve"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_refuses_what_a_web_page_would_ask_and_bounds_searches() {
    let tap = Amptap::serve(&["--offline"]);
    let client = reqwest::Client::new();
    let page = client
        .post(tap.url("/_amptap/reset"))
        .header("Origin", "http://evil.example")
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await
        .expect("post");
    assert_eq!(page.status(), 403);
    let cross = client
        .get(tap.url("/_amptap/summary"))
        .header("Sec-Fetch-Site", "cross-site")
        .send()
        .await
        .expect("get");
    assert_eq!(cross.status(), 403);
    let form = client
        .post(tap.url("/_amptap/tag"))
        .header("Content-Type", "text/plain")
        .body(r#"{"tag":"x"}"#)
        .send()
        .await
        .expect("post");
    assert_eq!(form.status(), 415, "a POST must be declared JSON");
    for path in ["/_amptap/reset", "/_amptap/anything"] {
        let preflight = client
            .request(http::Method::OPTIONS, tap.url(path))
            .header("Origin", "http://evil.example")
            .header("Access-Control-Request-Method", "POST")
            .send()
            .await
            .expect("options");
        assert!(
            preflight
                .headers()
                .get("access-control-allow-origin")
                .is_none(),
            "{path}: no CORS answer"
        );
        assert!(preflight.status().is_client_error(), "{path}");
    }
    let long = "x ".repeat(2000);
    let (status, body) = get(tap.url(&format!("/_amptap/events?q={long}"))).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("2048")));
    let events: Vec<Value> = (0..1200)
        .map(|i| json!({"event_type": "Many", "user_id": format!("user-{i:05}")}))
        .collect();
    let r = client
        .post(tap.url("/batch"))
        .json(&json!({"api_key": "k", "events": events}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    let (_, body) = get(tap.url("/_amptap/events?q=type:Many&limit=100000")).await;
    assert_eq!(body["count"], 1200);
    assert_eq!(
        body["events"].as_array().map(Vec::len),
        Some(1000),
        "limit capped"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ipv6_wildcard_listener_takes_ipv4_loopback_for_loopback() {
    let Ok(probe) = std::net::TcpListener::bind("[::]:0") else {
        eprintln!("skipped: no IPv6 on this machine");
        return;
    };
    let port = probe.local_addr().expect("addr").port();
    drop(probe);
    let listen = format!("[::]:{port}");
    let _tap = Amptap::serve(&["--offline", "--listen", &listen]);
    let (status, body) = get(format!("http://127.0.0.1:{port}/_amptap/summary")).await;
    assert_eq!(status, 200, "{body}");
}
