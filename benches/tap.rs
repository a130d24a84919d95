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
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use amptap::event::BodyLimits;
use amptap::fake_amplitude::FakeAmplitude;
use amptap::journal::Fsync;
use amptap::tap::{Mode, RunningTap, TapConfig, Target, Upstream};

/// As in the binary (src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "support/load.rs"]
mod load;

use load::{body, fixed_rate, saturate, Killed, CONNECTIONS, EVENTS_PER_REQUEST, FIXED_RATE};

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

fn start_mitmdump(exe: String, upstream: &str) -> Option<(Killed, String)> {
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
            return Some((Killed(child), format!("http://{addr}/2/httpapi")));
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
