//! The tap's cost, measured: the same load straight to the fake Amplitude
//! and through amptap (journal on) to it, plus mitmdump when installed.
//!
//!   cargo bench --bench tap                 # full run (about two minutes)
//!   AMPTAP_BENCH_SECS=2 cargo bench --bench tap
//!   AMPTAP_BENCH_MITMDUMP=/path/to/mitmdump cargo bench --bench tap
//!
//! The full run installs mitmproxy from PyPI into benches/tools/ (once) as
//! the outside reference. Two loads per target: saturation (32
//! connections, 100 events per request, flat out) and a fixed 300
//! requests/s. Prints requests/s, events/s, p50 and p99, then judging on
//! against judging off. Under `cargo test` it runs a short smoke pass.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use amptap::event::BodyLimits;
use amptap::fake_amplitude::FakeAmplitude;
use amptap::journal::Fsync;
use amptap::tap::{Mode, RunningTap, TapConfig, Target, Upstream};
use bytes::Bytes;
use serde_json::json;

/// As in the binary (src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CONNECTIONS: usize = 32;
const EVENTS_PER_REQUEST: usize = 100;
const FIXED_RATE: u64 = 300;

struct Stats {
    requests: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    errors: usize,
}

impl Stats {
    fn percentile(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i].as_secs_f64() * 1000.0
    }

    fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    fn print(&self, name: &str) {
        println!(
            "{name:<34} {:>9.0} req/s {:>10.0} events/s   p50 {:>7.3} ms   p99 {:>7.3} ms   errors {}",
            self.rps(),
            self.rps() * EVENTS_PER_REQUEST as f64,
            self.percentile(0.5),
            self.percentile(0.99),
            self.errors
        );
    }
}

fn body() -> Bytes {
    let events: Vec<_> = (0..EVENTS_PER_REQUEST)
        .map(|i| {
            json!({
                "event_type": "dify_user_query",
                "user_id": format!("user-{:05}", i % 50),
                "device_id": format!("device-{:05}", i % 80),
                "insert_id": format!("00000000-0000-4000-8000-{i:012}"),
                "time": 1_795_559_291_068_i64 + i as i64,
                "session_id": 1_795_559_000_000_i64,
                "platform": "Web",
                "event_properties": {"query_text": "How do I reset my password?", "app_id": "app-1234", "latency_ms": 812, "model": "gpt-4o"},
                "library": "amplitude-ts/2.48.1"
            })
        })
        .collect();
    Bytes::from(json!({"api_key": "FAKE_API_KEY_BENCH_0123456789", "events": events}).to_string())
}

async fn saturate(url: &str, body: Bytes, secs: f64) -> Stats {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .build()
        .expect("client");
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let started = Instant::now();
    let workers: Vec<_> = (0..CONNECTIONS)
        .map(|_| {
            let (client, url, body) = (client.clone(), url.to_owned(), body.clone());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut errors = 0;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let ok = post(&client, &url, body.clone()).await;
                    lat.push(t.elapsed());
                    errors += usize::from(!ok);
                }
                (lat, errors)
            })
        })
        .collect();
    collect(workers, started).await
}

async fn fixed_rate(url: &str, body: Bytes, secs: f64) -> Stats {
    let client = reqwest::Client::new();
    let n = (FIXED_RATE as f64 * secs) as usize;
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / FIXED_RATE));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for _ in 0..n {
        tick.tick().await;
        let (client, url, body) = (client.clone(), url.to_owned(), body.clone());
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let ok = post(&client, &url, body).await;
            (vec![t.elapsed()], usize::from(!ok))
        }));
    }
    collect(tasks, started).await
}

async fn post(client: &reqwest::Client, url: &str, body: Bytes) -> bool {
    match client
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
    {
        Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
        Err(_) => false,
    }
}

async fn collect(
    tasks: Vec<tokio::task::JoinHandle<(Vec<Duration>, usize)>>,
    started: Instant,
) -> Stats {
    let mut latencies = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((l, e)) = t.await {
            latencies.extend(l);
            errors += e;
        }
    }
    let elapsed = started.elapsed();
    latencies.sort();
    Stats {
        requests: latencies.len(),
        elapsed,
        latencies,
        errors,
    }
}

struct Mitm(Child);
impl Drop for Mitm {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// mitmdump from $AMPTAP_BENCH_MITMDUMP, else (full runs) installed by
/// benches/install-mitmdump.sh.
fn mitmdump(full: bool) -> Option<String> {
    if let Ok(exe) = std::env::var("AMPTAP_BENCH_MITMDUMP") {
        return Some(exe);
    }
    if !full {
        return None;
    }
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/install-mitmdump.sh");
    let out = Command::new(script).output().ok()?;
    let path = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !path.is_empty()).then_some(path)
}

fn start_mitmdump(exe: String, upstream: &str) -> Option<(Mitm, String)> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let child = Command::new(exe)
        .args([
            "--mode",
            &format!("reverse:{upstream}"),
            "--listen-host",
            "127.0.0.1",
            "-p",
            &port.to_string(),
            "-q",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().ok()?;
    for _ in 0..100 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return Some((Mitm(child), format!("http://{addr}/2/httpapi")));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    None
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let secs: f64 = std::env::var("AMPTAP_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if full { 8.0 } else { 0.3 });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let fake = FakeAmplitude::forgetful().start("127.0.0.1:0".parse().expect("addr")).await.expect("fake");
        let dir = tempfile::tempdir().expect("tempdir");
        // The tap alone (journal on, judging off) under each fsync policy, then
        // `amptap serve` as shipped: judging on, feeding the query API's session.
        let mut taps = Vec::new();
        for (fsync, judging) in [
            (Fsync::Batch, false),
            (Fsync::Always, false),
            (Fsync::Never, false),
            (Fsync::Batch, true),
        ] {
            let tap = RunningTap::start(
                TapConfig {
                    listen: "127.0.0.1:0".parse().expect("addr"),
                    mode: Mode::Forward(Upstream::new(Target::Base(fake.url()), Duration::from_secs(30)).expect("upstream")),
                    limits: BodyLimits::default(),
                    journal_path: dir.path().join(format!("bench-{fsync:?}-{judging}.jsonl")),
                    fsync,
                    plan: Arc::new(amptap::plan::Plan::none()),
                    session_memory: judging.then_some(128 << 20),
                    api_token: None,
                    judging,
                    clients: Default::default(),
                    in_flight_memory: amptap::tap::default_in_flight(),
                    relay_api_key: None,
                    relay_throttle_wait: std::time::Duration::from_secs(30),
                    publish: None,
                },
                Vec::new(),
            )
            .await
            .expect("tap");
            taps.push(tap);
        }
        let body = body();
        println!("{} events per request ({} bytes), {CONNECTIONS} connections, {secs} s per run", EVENTS_PER_REQUEST, body.len());
        let url = |i: usize| format!("http://{}/2/httpapi", taps[i].addr);
        let mut targets = vec![
            ("fake Amplitude directly", format!("{}/2/httpapi", fake.url())),
            ("through amptap (judging off, --fsync batch)", url(0)),
            ("through amptap serve as shipped (judging on)", url(3)),
            ("through amptap (judging off, --fsync always)", url(1)),
            ("through amptap (judging off, --fsync never)", url(2)),
        ];
        let mitm = mitmdump(full).and_then(|exe| start_mitmdump(exe, &fake.url()));
        match &mitm {
            Some((_, url)) => targets.push(("through mitmdump --mode reverse", url.clone())),
            None if full => println!("(mitmdump could not be installed: set AMPTAP_BENCH_MITMDUMP=/path/to/mitmdump)"),
            None => {}
        }
        let mut results = Vec::new();
        for (name, url) in &targets {
            let sat = saturate(url, body.clone(), secs).await;
            sat.print(&format!("saturation · {name}"));
            // Let a session judge its backlog before the latency run.
            if let Some(session) = &taps[3].tap.session {
                session.caught_up(taps[3].tap.written_seq()).await;
            }
            let fixed = fixed_rate(url, body.clone(), secs).await;
            fixed.print(&format!("{FIXED_RATE} req/s · {name}"));
            results.push((sat, fixed));
        }
        let (direct, tapped) = (&results[0], &results[1]);
        println!(
            "amptap adds p99 {:+.3} ms at {FIXED_RATE} req/s (p50 {:+.3} ms); saturation throughput {:.0}% of direct",
            tapped.1.percentile(0.99) - direct.1.percentile(0.99),
            tapped.1.percentile(0.5) - direct.1.percentile(0.5),
            100.0 * tapped.0.rps() / direct.0.rps()
        );
        let judged = &results[2];
        println!(
            "serve as shipped (judging on): {:.0}% of judging off at saturation (target ≥ 90%), {:.0} events/s (target ≥ 500,000); adds p99 {:+.3} ms at {FIXED_RATE} req/s over direct (target ≤ 1 ms)",
            100.0 * judged.0.rps() / tapped.0.rps(),
            judged.0.rps() * EVENTS_PER_REQUEST as f64,
            judged.1.percentile(0.99) - direct.1.percentile(0.99),
        );
        for (name, i) in [("--fsync always", 3), ("--fsync never", 4)] {
            println!(
                "{name}: {:.0}% of --fsync batch's throughput, p99 at {FIXED_RATE} req/s {:+.3} ms against batch",
                100.0 * results[i].0.rps() / tapped.0.rps(),
                results[i].1.percentile(0.99) - tapped.1.percentile(0.99)
            );
        }
        for tap in taps {
            let journal = tap.stop().await;
            println!("journal: {} requests, {} events, {} bytes", journal.requests, journal.events, journal.journal_bytes);
        }
        assert_eq!(results.iter().map(|r| r.0.errors + r.1.errors).sum::<usize>(), 0, "requests failed");
    });
}
