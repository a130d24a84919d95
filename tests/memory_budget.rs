//! Memory follows the budget, not the client: `{}` × 7 million in a 20 MB
//! `/batch`, 20 MB batches of half a million short events and requests with
//! 15 MB events, all at once, keep the real binary's peak RSS (VmHWM, from
//! /proc) under the default `--memory`; every request is answered as
//! Amplitude would.

mod common;

use common::Amptap;

/// The most the process has ever held, in bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmHWM")
        * 1024
}

fn batch_of(events: &str, count: usize) -> Vec<u8> {
    let mut body = br#"{"api_key":"FAKE_API_KEY_FLOOD_0123456789","events":["#.to_vec();
    for i in 0..count {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(events.as_bytes());
    }
    body.extend_from_slice(b"]}");
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn floods_and_huge_events_stay_under_the_memory_budget() {
    const BUDGET: u64 = 512 << 20;
    let tap = Amptap::serve(&["--offline", "--quiet"]);
    let empty = batch_of("{}", (20_000_000 - 60) / 3);
    let shortest = r#"{"event_type":"a","user_id":"abcde"}"#;
    let tiny = batch_of(shortest, 19_000_000 / (shortest.len() + 1));
    let blob = "x".repeat(15 << 20);
    let huge = format!(
        r#"{{"api_key":"FAKE_API_KEY_FLOOD_0123456789","events":[{{"event_type":"Huge","user_id":"user-12345","event_properties":{{"blob":"{blob}"}}}}]}}"#
    )
    .into_bytes();
    let client = reqwest::Client::new();
    let send = |body: Vec<u8>| {
        let (client, url) = (client.clone(), tap.url("/batch"));
        tokio::spawn(async move {
            let r = client
                .post(url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .expect("post");
            r.status().as_u16()
        })
    };
    let mut answers = Vec::new();
    for _ in 0..2 {
        answers.push(("{} flood", 413, send(empty.clone())));
        answers.push(("more than 2,000 events", 413, send(tiny.clone())));
        for _ in 0..3 {
            answers.push(("15 MB event", 200, send(huge.clone())));
        }
    }
    for (what, want, answer) in answers {
        assert_eq!(answer.await.expect("join"), want, "{what}");
    }
    let peak = peak_rss(tap.child.id());
    eprintln!(
        "peak RSS {} MiB of a {} MiB budget",
        peak >> 20,
        BUDGET >> 20
    );
    assert!(
        peak < BUDGET,
        "peak RSS {} MiB over the {} MiB budget",
        peak >> 20,
        BUDGET >> 20
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_huge_upstream_answer_streams_through_and_the_record_keeps_its_start() {
    const ANSWER: usize = 256 << 20;
    // An upstream gone wrong: a 256 MB answer.
    let app = axum::Router::new().fallback(|| async {
        let chunk = bytes::Bytes::from(vec![b'x'; 1 << 20]);
        let chunks = futures_util::stream::iter(
            (0..ANSWER >> 20).map(move |_| Ok::<_, std::io::Error>(chunk.clone())),
        );
        axum::response::Response::new(axum::body::Body::from_stream(chunks))
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let upstream = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let mut tap = Amptap::serve(&["--upstream", &format!("http://{upstream}")]);
    let body = r#"{"api_key":"FAKE_API_KEY_FLOOD_0123456789","events":[{"event_type":"a","user_id":"abcde"}]}"#;
    let answer = reqwest::Client::new()
        .post(tap.url("/2/httpapi"))
        .body(body)
        .send()
        .await
        .expect("post");
    assert_eq!(answer.status(), 200);
    let got = answer.bytes().await.expect("the whole answer");
    assert_eq!(got.len(), ANSWER, "the SDK gets every byte");
    let peak = peak_rss(tap.child.id());
    assert!(
        peak < 160 << 20,
        "held {} MiB: the answer was not streamed",
        peak >> 20
    );
    tap.interrupt();
    let records = tap.captures();
    assert_eq!(records[0].answer.body.len(), 64 * 1024);
    assert!(records[0].answer.body_truncated);
}
