//! Publishing to Kafka, measured against a real broker (tansu, from
//! `tests/brokers/install.sh`): the tap's events/s with and without
//! `--publish` in one run, and the latency from the SDK's request to the
//! line in an inspector following the topic (tap → broker → inspector).
//!
//!   cargo bench --bench kafka
//!   AMPTAP_BENCH_SECS=2 cargo bench --bench kafka

use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use amptap::event::BodyLimits;
use amptap::fake_amplitude::FakeAmplitude;
use amptap::journal::Fsync;
use amptap::kafka::consume::Follower;
use amptap::kafka::KafkaUrl;
use amptap::tap::{Mode, RunningTap, TapConfig, Target, Upstream};

#[path = "support/load.rs"]
mod load;

use load::{body, saturate, Killed, EVENTS_PER_REQUEST};

/// As in the binary (src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn broker(port: u16) -> Option<Killed> {
    let bin = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/brokers/bin/tansu");
    if !bin.exists() {
        println!("(no broker: run tests/brokers/install.sh)");
        return None;
    }
    let listener = format!("tcp://127.0.0.1:{port}");
    let child = Command::new(bin)
        .args([
            "broker",
            "--listener-url",
            &listener,
            "--advertised-listener-url",
            &listener,
        ])
        .args(["--storage-engine", "memory://tansu/"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(Killed(child))
}

async fn tap(fake: &str, journal: std::path::PathBuf, publish: Option<KafkaUrl>) -> RunningTap {
    RunningTap::start(
        TapConfig {
            listen: "127.0.0.1:0".parse().expect("addr"),
            mode: Mode::Forward(
                Upstream::new(Target::Base(fake.to_owned()), Duration::from_secs(30))
                    .expect("upstream"),
            ),
            limits: BodyLimits::default(),
            journal_path: journal,
            fsync: Fsync::Batch,
            plan: Arc::new(amptap::plan::Plan::none()),
            session_memory: Some(128 << 20),
            api_token: None,
            judging: true,
            clients: Default::default(),
            in_flight_memory: amptap::tap::default_in_flight(),
            relay_api_key: None,
            relay_throttle_wait: Duration::from_secs(30),
            publish,
        },
        Vec::new(),
    )
    .await
    .expect("tap")
}

/// Sends `n` one-event requests, `gap` apart, and times each from the send
/// to its line in the follower's spool.
async fn latency(url: &str, spool: std::fs::File, n: usize, gap: Duration) -> Vec<Duration> {
    let sent: Arc<std::sync::Mutex<Vec<Option<Instant>>>> =
        Arc::new(std::sync::Mutex::new(vec![None; n]));
    let seen = {
        let sent = sent.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(spool);
            let _ = reader.seek(SeekFrom::Start(0));
            let mut got = vec![None; n];
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut line = String::new();
            while got.iter().any(Option::is_none) && Instant::now() < deadline {
                line.clear();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => std::thread::sleep(Duration::from_micros(200)),
                    Ok(_) => {
                        let Some(k) = line
                            .split("\"insert_id\":\"lat-")
                            .nth(1)
                            .and_then(|r| r.split('"').next())
                            .and_then(|k| k.parse::<usize>().ok())
                        else {
                            continue;
                        };
                        let at = Instant::now();
                        let from = sent.lock().ok().and_then(|s| s.get(k).copied().flatten());
                        if let (Some(slot), Some(from)) = (got.get_mut(k), from) {
                            *slot = Some(at - from);
                        }
                    }
                }
            }
            got
        })
    };
    let client = reqwest::Client::new();
    for k in 0..n {
        let body = serde_json::json!({"api_key": "FAKE_API_KEY_BENCH_0123456789", "events": [{"event_type": "latency_probe", "device_id": format!("device-{k}"), "insert_id": format!("lat-{k}"), "time": 1_795_559_291_068_i64}]});
        if let Ok(mut s) = sent.lock() {
            s[k] = Some(Instant::now());
        }
        let _ = client.post(url).json(&body).send().await;
        tokio::time::sleep(gap).await;
    }
    let got = tokio::task::spawn_blocking(move || seen.join().unwrap_or_default())
        .await
        .unwrap_or_default();
    let mut all: Vec<Duration> = got.into_iter().flatten().collect();
    all.sort();
    all
}

fn ms(all: &[Duration], p: f64) -> f64 {
    if all.is_empty() {
        return f64::NAN;
    }
    all[((all.len() - 1) as f64 * p).round() as usize].as_secs_f64() * 1000.0
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let secs: f64 = std::env::var("AMPTAP_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if full { 8.0 } else { 0.3 });
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(19_392);
    let Some(_broker) = broker(port) else { return };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let fake = FakeAmplitude::forgetful().start("127.0.0.1:0".parse().expect("addr")).await.expect("fake");
        let dir = tempfile::tempdir().expect("tempdir");
        let topic: KafkaUrl = format!("kafka://127.0.0.1:{port}/bench").parse().expect("url");
        let plain = tap(&fake.url(), dir.path().join("plain.jsonl"), None).await;
        let publishing = tap(&fake.url(), dir.path().join("published.jsonl"), Some(topic.clone())).await;
        let body = body();
        println!("{EVENTS_PER_REQUEST} events per request, 32 connections, {secs} s per run; broker: tansu (in-memory) on loopback");
        let without = saturate(&format!("http://{}/2/httpapi", plain.addr), body.clone(), secs).await;
        without.print("saturation · serve (judging on)");
        let with = saturate(&format!("http://{}/2/httpapi", publishing.addr), body.clone(), secs).await;
        with.print("saturation · serve --publish kafka://…");
        println!(
            "with --publish: {:.0}% of the tap's events/s without it",
            100.0 * with.rps() / without.rps()
        );
        // Let the publisher catch up before timing the path end to end.
        let stats = publishing.tap.publish.clone().expect("publishing");
        let caught = Instant::now();
        let deadline = caught + Duration::from_secs(if full { 600 } else { 60 });
        while stats.backlog_bytes() > 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let published = stats.records.load(std::sync::atomic::Ordering::Relaxed);
        println!(
            "publisher: {published} records acknowledged, the last {:.1} s after the load ended (publishing {:.0} events/s while the tap took {:.0})",
            caught.elapsed().as_secs_f64(),
            published as f64 * EVENTS_PER_REQUEST as f64 / (with.elapsed + caught.elapsed()).as_secs_f64(),
            with.rps() * EVENTS_PER_REQUEST as f64
        );
        let spool = tempfile::NamedTempFile::new_in(dir.path()).expect("spool");
        let mut latest = topic.clone();
        latest.from = Some(amptap::kafka::StartAt::Latest);
        let follower = Follower::start(latest, spool.reopen().expect("reopen")).expect("follower");
        tokio::time::sleep(Duration::from_secs(2)).await;
        let n = if full { 400 } else { 20 };
        let all = latency(&format!("http://{}/2/httpapi", publishing.addr), spool.reopen().expect("reopen"), n, Duration::from_millis(20)).await;
        println!(
            "tap → broker → inspector: {} of {n} probes seen · p50 {:.1} ms · p99 {:.1} ms · max {:.1} ms",
            all.len(),
            ms(&all, 0.5),
            ms(&all, 0.99),
            ms(&all, 1.0)
        );
        drop(follower);
        plain.stop().await;
        publishing.stop().await;
    });
}
