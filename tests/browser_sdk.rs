//! The official browser SDK (`@amplitude/analytics-browser`, its UMD bundle)
//! in Debian's headless Chromium, on a page from another origin, sending
//! through the real amptap binary: preflights answered, CORS on every
//! answer, gzip bodies decoded — and the SDK reports success.

mod common;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;

use amptap::fake_amplitude::FakeAmplitude;
use axum::response::IntoResponse;
use common::Amptap;

fn clients() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/clients/browser")
}

/// Serves the test page and the SDK bundle from `localhost:<port>`: another
/// origin than amptap's `127.0.0.1:<port>`, as a real site would be.
async fn page_server() -> SocketAddr {
    let dir = clients();
    let installed = dir.join("amplitude-min.umd.js").exists()
        && dir.join("node_modules/playwright-core").exists();
    assert!(installed, "run tests/clients/install.sh (./test does)");
    let file = |name: &'static str, mime: &'static str| {
        let path = dir.join(name);
        move || {
            let path = path.clone();
            async move {
                (
                    [(http::header::CONTENT_TYPE, mime)],
                    std::fs::read(path).unwrap_or_default(),
                )
                    .into_response()
            }
        }
    };
    let app = axum::Router::new()
        .route(
            "/page.html",
            axum::routing::get(file("page.html", "text/html; charset=utf-8")),
        )
        .route(
            "/attack.html",
            axum::routing::get(file("attack.html", "text/html; charset=utf-8")),
        )
        .route(
            "/amplitude-min.umd.js",
            axum::routing::get(file("amplitude-min.umd.js", "text/javascript")),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

/// Loads the page in headless Chromium; returns what the SDK reported per event.
async fn run_page(page: SocketAddr, server: &str, gzip: bool) -> String {
    open_page(format!(
        "http://localhost:{}/page.html?server={server}&gzip={}",
        page.port(),
        u8::from(gzip)
    ))
    .await
}

/// Loads `url` in headless Chromium; returns what the page wrote to `data-result`.
async fn open_page(url: String) -> String {
    let out = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(clients().join("run.js"))
            .arg(url)
            .output()
            .expect("node (tests/clients/browser/run.js drives chromium)")
    })
    .await
    .expect("join");
    assert!(
        out.status.success(),
        "the page did not finish: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_browser_sdk_sends_through_amptap_from_another_origin() {
    let upstream = FakeAmplitude::new()
        .start("127.0.0.1:0".parse().expect("addr"))
        .await
        .expect("fake");
    let mut tap = Amptap::serve(&["--upstream", &upstream.url()]);
    let page = page_server().await;
    let server = tap.url("/2/httpapi");

    assert_eq!(
        run_page(page, &server, false).await,
        "[200,200]",
        "the SDK reports success for both events"
    );
    // With compression on and a body over 2 KiB, the browser gzips it.
    assert_eq!(run_page(page, &server, true).await, "[200,200]");
    tap.interrupt();

    let captures = tap.captures();
    assert_eq!(captures.len(), 2, "one request per page");
    let origin = format!("http://localhost:{}", page.port());
    for c in &captures {
        assert_eq!(
            c.origin.as_deref(),
            Some(origin.as_str()),
            "a cross-origin request"
        );
        let types: Vec<&str> = c.events.iter().filter_map(|e| e.event_type()).collect();
        assert_eq!(types, ["Button Clicked", "Page Viewed"]);
        assert_eq!(c.events[0].platform(), Some("Web"));
        assert_eq!(c.answer.status, 200);
    }
    assert_eq!(captures[0].content_encoding, None);
    assert_eq!(
        captures[1].content_encoding.as_deref(),
        Some("gzip"),
        "the second page's body was gzipped"
    );
    assert_eq!(
        captures[1].events[0]
            .event_properties()
            .and_then(|p| p.get("note"))
            .and_then(|n| n.as_str())
            .map(str::len),
        Some(4000)
    );
    // Forwarded unchanged: the upstream got the same gzip bytes and four events.
    let received = upstream.fake.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[1].content_encoding.as_deref(), Some("gzip"));
    assert_eq!(upstream.fake.ingested_events().len(), 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_on_another_origin_cannot_use_the_query_api() {
    let mut tap = Amptap::serve(&["--offline"]);
    let page = page_server().await;
    // Something to lose: one event in the session.
    let event = serde_json::json!({"api_key": "FAKE_API_KEY_BROWSER_0123456789",
        "events": [{"event_type": "Kept", "user_id": "user-browser-1"}]});
    let sent = reqwest::Client::new()
        .post(tap.url("/2/httpapi"))
        .json(&event)
        .send()
        .await
        .expect("post");
    assert_eq!(sent.status(), 200);

    let base = tap.url("");
    let tried = open_page(format!(
        "http://localhost:{}/attack.html?tap={}",
        page.port(),
        base.trim_end_matches('/')
    ))
    .await;
    let tried: serde_json::Value = serde_json::from_str(&tried).expect("the page's result");
    assert_eq!(
        tried["json_tag"], "blocked",
        "no preflight is answered: {tried}"
    );
    assert_eq!(
        tried["read_events"], "blocked",
        "no CORS on the API: {tried}"
    );

    let summary: serde_json::Value = reqwest::get(tap.url("/_amptap/summary"))
        .await
        .expect("summary")
        .json()
        .await
        .expect("json");
    assert_eq!(summary["events"], 1, "the session was not reset: {summary}");
    assert_eq!(
        summary["tag"],
        serde_json::Value::Null,
        "no tag was set: {summary}"
    );
    let stderr = tap.interrupt();
    let journal = std::fs::read_to_string(&tap.journal).expect("journal");
    assert!(
        !journal.contains("\"marker\""),
        "no reset or tag reached the journal: {journal}\n{stderr:?}"
    );
}
