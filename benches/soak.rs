//! The soak: the real binary as a user runs it — `amptap watch`, the proxy
//! and the inspector in one process, in tmux — forwarding to a counting
//! upstream for ten minutes at 20,000 events/s from steady clients, with one
//! slow client (a body at 1 KB/s) and one flooding client (2,000-event
//! batches back to back, up to 40,000 events/s) at the same time. Every ten seconds a line: RSS,
//! events acknowledged, upstream, the steady clients' p99. At the end:
//! events the clients were answered 200 for = events upstream = events in
//! the journal, and RSS against the budget.
//!
//!   cargo bench --bench soak                  # ten minutes
//!   AMPTAP_SOAK_SECS=60 cargo bench --bench soak
//!
//! Under `cargo test` it runs a five-second smoke pass.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use amptap::event::{decode_request, BodyLimits, Endpoint};

const STEADY_EVENTS_PER_SECOND: u64 = 20_000;
const EVENTS_PER_REQUEST: u64 = 100;
const MEMORY: u64 = 768 << 20;
const SCREEN_MEMORY: u64 = 128 << 20;

#[derive(Default)]
struct Counts {
    acked: AtomicU64,
    upstream: AtomicU64,
    failed: AtomicU64,
    slow: AtomicU64,
    flood: AtomicU64,
}

/// An upstream that answers as Amplitude does and only counts.
async fn counting_upstream(counts: Arc<Counts>) -> SocketAddr {
    use axum::routing::post;
    let count = move |body: axum::body::Bytes| {
        let counts = counts.clone();
        async move {
            let n = decode_request(Endpoint::Batch, None, &body, BodyLimits::default())
                .map_or(0, |b| b.events.len());
            counts.upstream.fetch_add(n as u64, Ordering::Relaxed);
            axum::Json(
                serde_json::json!({"code": 200, "events_ingested": n, "payload_size_bytes": body.len(), "server_upload_time": 0}),
            )
        }
    };
    let app = axum::Router::new()
        .route("/2/httpapi", post(count.clone()))
        .route("/batch", post(count));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

fn body(prefix: &str, n: u64) -> String {
    let events: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"event_type":"Soak Event","user_id":"user-{:05}","device_id":"device-soak-1","insert_id":"{prefix}-{i}","time":1795514400000,"event_properties":{{"i":{i},"note":"steady"}}}}"#, i % 500))
        .collect();
    format!(
        r#"{{"api_key":"FAKE_API_KEY_SOAK_0123456789","events":[{}]}}"#,
        events.join(",")
    )
}

/// 20,000 events/s in requests of 100, at most 32 in flight; latencies kept.
async fn steady(
    tap: String,
    counts: Arc<Counts>,
    stop: Arc<AtomicBool>,
    rate: u64,
    latencies: Arc<Mutex<Vec<f64>>>,
) {
    let client = reqwest::Client::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(32));
    let per_second = (rate / EVENTS_PER_REQUEST).max(1);
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / per_second as f64));
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        n += 1;
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let (client, url, counts, latencies) = (
            client.clone(),
            tap.clone(),
            counts.clone(),
            latencies.clone(),
        );
        let body = body(&format!("s{n}"), EVENTS_PER_REQUEST);
        tokio::spawn(async move {
            let started = Instant::now();
            let ok = client
                .post(&url)
                .body(body)
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if ok {
                counts
                    .acked
                    .fetch_add(EVENTS_PER_REQUEST, Ordering::Relaxed);
                latencies
                    .lock()
                    .expect("lock")
                    .push(started.elapsed().as_secs_f64() * 1000.0);
            } else {
                counts.failed.fetch_add(1, Ordering::Relaxed);
            }
            drop(slot);
        });
    }
}

/// One event per request, its body sent at about 1 KB/s.
fn slow(tap: SocketAddr, counts: Arc<Counts>, stop: Arc<AtomicBool>) {
    let mut n = 0;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let payload = body(&format!("slow{n}"), 1).replace("steady", &"s".repeat(3000));
        let Ok(mut s) = TcpStream::connect(tap) else {
            return;
        };
        let head = format!("POST /2/httpapi HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", payload.len());
        let _ = s.write_all(head.as_bytes());
        for chunk in payload.as_bytes().chunks(100) {
            if s.write_all(chunk).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        if answer.starts_with("HTTP/1.1 200") {
            counts.acked.fetch_add(1, Ordering::Relaxed);
            counts.slow.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// 2,000-event batches back to back on one connection, up to 20 a second
/// (40,000 events/s: twice the steady load; flat out it would fill the
/// disk with journal before the ten minutes are up).
async fn flood(tap: String, counts: Arc<Counts>, stop: Arc<AtomicBool>) {
    let client = reqwest::Client::new();
    let mut n = 0;
    let mut pace = tokio::time::interval(Duration::from_millis(50));
    while !stop.load(Ordering::Relaxed) {
        pace.tick().await;
        n += 1;
        let r = client
            .post(&tap)
            .body(body(&format!("flood{n}"), 2000))
            .send()
            .await;
        if r.is_ok_and(|r| r.status() == 200) {
            counts.acked.fetch_add(2000, Ordering::Relaxed);
            counts.flood.fetch_add(2000, Ordering::Relaxed);
        }
    }
}

fn rss(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix(field))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024
}

/// The tap's pid: the process whose command line names `journal`.
fn pid_of(journal: &Path) -> Option<u32> {
    let want = journal.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .ok()?
        .filter_map(Result::ok)
        .find_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&cmd);
            (cmd.contains(&want) && cmd.contains("amptap") && !cmd.contains("tmux")).then_some(pid)
        })
}

/// Events in the journal's records that were answered 200.
fn journaled(journal: &Path) -> u64 {
    amptap::journal::open_reader(journal)
        .map(|records| {
            records
                .filter(|r| r.answer.status == 200)
                .map(|r| r.events.len() as u64)
                .sum()
        })
        .unwrap_or(0)
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let secs: u64 = std::env::var("AMPTAP_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if full { 600 } else { 5 });
    let rate = if full {
        STEADY_EVENTS_PER_SECOND
    } else {
        2_000
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(soak(secs, rate, full));
}

async fn soak(secs: u64, rate: u64, full: bool) {
    let counts = Arc::new(Counts::default());
    let upstream = counting_upstream(counts.clone()).await;
    let dir = tempfile::tempdir().expect("dir");
    let journal = dir.path().join("soak.jsonl");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let tap: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let binary = env!("CARGO_BIN_EXE_amptap");
    let with_screen = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    let args = format!(
        "--upstream http://{upstream} --listen {tap} --record {} --memory {}MiB --log-file {}",
        journal.display(),
        MEMORY >> 20,
        dir.path().join("amptap.log").display()
    );
    let session = format!("amptap-soak-{port}");
    let mut headless = None;
    if with_screen {
        let cmd = format!(
            "{binary} watch {args} --max-memory {}MiB",
            SCREEN_MEMORY >> 20
        );
        let ok = Command::new("tmux")
            .args([
                "new-session",
                "-d",
                "-s",
                &session,
                "-x",
                "160",
                "-y",
                "45",
                &cmd,
            ])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "tmux new-session");
    } else {
        println!("(no tmux: amptap serve, without the inspector)");
        headless = Some(
            Command::new(binary)
                .arg("serve")
                .args(args.split(' '))
                .arg("--quiet")
                .stderr(std::process::Stdio::null())
                .spawn()
                .expect("amptap serve"),
        );
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    let pid = loop {
        if let (Some(pid), Ok(_)) = (pid_of(&journal), TcpStream::connect(tap)) {
            break pid;
        }
        assert!(Instant::now() < deadline, "amptap did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let budget = MEMORY + if with_screen { SCREEN_MEMORY } else { 0 };
    println!(
        "soak: {secs} s, steady {rate} events/s + a slow client + a flooding client, through {} (pid {pid}); budget {} MiB",
        if with_screen { "`amptap watch` in tmux" } else { "`amptap serve`" },
        budget >> 20
    );
    let stop = Arc::new(AtomicBool::new(false));
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let url = format!("http://{tap}/2/httpapi");
    let steady_task = tokio::spawn(steady(
        url.clone(),
        counts.clone(),
        stop.clone(),
        rate,
        latencies.clone(),
    ));
    let flood_task = tokio::spawn(flood(
        format!("http://{tap}/batch"),
        counts.clone(),
        stop.clone(),
    ));
    let slow_thread = {
        let (counts, stop) = (counts.clone(), stop.clone());
        std::thread::spawn(move || slow(tap, counts, stop))
    };
    let started = Instant::now();
    let every = Duration::from_secs(if full { 10 } else { 1 });
    let mut rss_seen = Vec::new();
    while started.elapsed() < Duration::from_secs(secs) {
        tokio::time::sleep(every).await;
        let now = rss(pid, "VmRSS:");
        rss_seen.push(now);
        let p99 = {
            let mut l = std::mem::take(&mut *latencies.lock().expect("lock"));
            l.sort_by(f64::total_cmp);
            l.get(l.len().saturating_sub(1) * 99 / 100)
                .copied()
                .unwrap_or(f64::NAN)
        };
        println!(
            "{:>5.0} s  RSS {:>4} MiB  acked {:>10}  upstream {:>10}  steady p99 {:>7.1} ms  failed {}",
            started.elapsed().as_secs_f64(),
            now >> 20,
            counts.acked.load(Ordering::Relaxed),
            counts.upstream.load(Ordering::Relaxed),
            p99,
            counts.failed.load(Ordering::Relaxed)
        );
    }
    stop.store(true, Ordering::Relaxed);
    let _ = steady_task.await;
    let _ = flood_task.await;
    let _ = slow_thread.join();
    tokio::time::sleep(Duration::from_secs(1)).await; // the last in flight land
    let peak = rss(pid, "VmHWM:");
    if with_screen {
        let _ = Command::new("tmux")
            .args(["send-keys", "-t", &session, "Q"])
            .status();
        tokio::time::sleep(Duration::from_secs(3)).await;
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &session])
            .status();
    } else if let Some(mut child) = headless {
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let _ = child.wait();
    }
    let acked = counts.acked.load(Ordering::Relaxed);
    let upstream_events = counts.upstream.load(Ordering::Relaxed);
    let in_journal = journaled(&journal);
    let half = rss_seen.len() / 2;
    let first_half = rss_seen[..half].iter().max().copied().unwrap_or(0);
    let second_half = rss_seen[half..].iter().max().copied().unwrap_or(0);
    println!(
        "events answered 200: {acked} (steady {}, slow {}, flood {}); upstream {upstream_events}; journal {in_journal}; lost {}",
        acked - counts.slow.load(Ordering::Relaxed) - counts.flood.load(Ordering::Relaxed),
        counts.slow.load(Ordering::Relaxed),
        counts.flood.load(Ordering::Relaxed),
        acked.saturating_sub(in_journal.min(upstream_events))
    );
    println!(
        "RSS: peak {} MiB of a {} MiB budget; highest in the first half {} MiB, in the second {} MiB",
        peak >> 20,
        budget >> 20,
        first_half >> 20,
        second_half >> 20
    );
    assert_eq!(
        acked, upstream_events,
        "every acknowledged event went upstream"
    );
    assert_eq!(
        acked, in_journal,
        "every acknowledged event is in the journal"
    );
    assert!(peak < budget, "peak RSS over the budget");
}
