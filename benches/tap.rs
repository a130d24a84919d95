//! The tap's cost, measured: the same load straight to the fake Amplitude
//! and through amptap (journal on) to it, plus mitmdump when installed.
//!
//!   cargo bench --bench tap                 # full run (about seven minutes)
//!   AMPTAP_BENCH_SECS=2 cargo bench --bench tap
//!   AMPTAP_BENCH_MITMDUMP=/path/to/mitmdump cargo bench --bench tap
//!
//! The full run installs mitmproxy from PyPI into benches/tools/ (once) as
//! the outside reference. Two loads per target: saturation (32
//! connections, 100 events per request, flat out) and a fixed 300
//! requests/s. Each tap run starts a fresh tap; judging off and on
//! alternate five times. Prints every run's requests/s, events/s, p50 and
//! p99, then judging on against judging off: mean throughput, p99 over all
//! the runs' requests. Under `cargo test` it runs a short smoke pass.

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

/// One tap configuration the bench measures.
#[derive(Clone, Copy)]
struct Setup {
    name: &'static str,
    fsync: Fsync,
    judging: bool,
}

const OFF: Setup = Setup {
    name: "through amptap (judging off, --fsync batch)",
    fsync: Fsync::Batch,
    judging: false,
};
const ON: Setup = Setup {
    name: "through amptap serve as shipped (judging on)",
    fsync: Fsync::Batch,
    judging: true,
};
const ALWAYS: Setup = Setup {
    name: "through amptap (judging off, --fsync always)",
    fsync: Fsync::Always,
    judging: false,
};
const NEVER: Setup = Setup {
    name: "through amptap (judging off, --fsync never)",
    fsync: Fsync::Never,
    judging: false,
};

async fn start_tap(setup: Setup, upstream: &str, journal: std::path::PathBuf) -> RunningTap {
    RunningTap::start(
        TapConfig {
            listen: "127.0.0.1:0".parse().expect("addr"),
            mode: Mode::Forward(
                Upstream::new(Target::Base(upstream.to_owned()), Duration::from_secs(30))
                    .expect("upstream"),
            ),
            limits: BodyLimits::default(),
            journal_path: journal,
            fsync: setup.fsync,
            plan: Arc::new(amptap::plan::Plan::none()),
            session_memory: setup.judging.then_some(128 << 20),
            api_token: None,
            judging: setup.judging,
            clients: Default::default(),
            in_flight_memory: amptap::tap::default_in_flight(),
            relay_api_key: None,
            relay_throttle_wait: std::time::Duration::from_secs(30),
            publish: None,
        },
        Vec::new(),
    )
    .await
    .expect("tap")
}

/// Saturation then the fixed rate against a fresh tap. The judge stage
/// (idle priority) finishes its backlog before the fixed-rate run, so that
/// run measures the steady state, not a catch-up behind it. The journal is
/// deleted afterwards: a run writes 1–2 GB, and the next run should not
/// pay for the page cache this one filled.
async fn measure_tap(
    setup: Setup,
    upstream: &str,
    dir: &std::path::Path,
    body: &bytes::Bytes,
    secs: f64,
) -> (load::Stats, load::Stats) {
    let journal = dir.join("bench.jsonl");
    let tap = start_tap(setup, upstream, journal.clone()).await;
    let url = format!("http://{}/2/httpapi", tap.addr);
    let settled = async {
        if let Some(session) = &tap.tap.session {
            let seq = tap.tap.written_seq();
            session
                .caught_up_within(seq, Duration::from_secs(300))
                .await;
        }
    };
    let runs = measure_url(setup.name, &url, body, secs, settled).await;
    let summary = tap.stop().await;
    println!(
        "  journal: {} requests, {} events, {} bytes",
        summary.requests, summary.events, summary.journal_bytes
    );
    let _ = std::fs::remove_file(&journal);
    runs
}

/// Saturation, then `settled`, then the fixed rate.
async fn measure_url(
    name: &str,
    url: &str,
    body: &bytes::Bytes,
    secs: f64,
    settled: impl std::future::Future<Output = ()>,
) -> (load::Stats, load::Stats) {
    let sat = saturate(url, body.clone(), secs).await;
    sat.print(&format!("saturation · {name}"));
    settled.await;
    let fixed = fixed_rate(url, body.clone(), secs).await;
    fixed.print(&format!("{FIXED_RATE} req/s · {name}"));
    (sat, fixed)
}

/// The mean of the runs' saturation throughput (requests/s) and the p99
/// of all their fixed-rate requests together.
fn summary(runs: &[(load::Stats, load::Stats)]) -> (f64, f64) {
    let rps = runs.iter().map(|r| r.0.rps()).sum::<f64>() / runs.len() as f64;
    let mut latencies: Vec<Duration> = runs.iter().flat_map(|r| r.1.latencies.clone()).collect();
    latencies.sort();
    let pooled = load::Stats {
        requests: latencies.len(),
        elapsed: Duration::ZERO,
        latencies,
        errors: 0,
    };
    (rps, pooled.percentile(0.99))
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let secs: f64 = std::env::var("AMPTAP_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if full { 8.0 } else { 0.3 });
    // Judging off and on alternate, so neither gets the quieter minute.
    let rounds = if full { 5 } else { 1 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let fake = FakeAmplitude::forgetful().start("127.0.0.1:0".parse().expect("addr")).await.expect("fake");
        let dir = tempfile::tempdir().expect("tempdir");
        let body = body();
        println!("{} events per request ({} bytes), {CONNECTIONS} connections, {secs} s per run, judging off and on alternated {rounds} times", EVENTS_PER_REQUEST, body.len());
        let upstream = fake.url();
        let direct = measure_url("fake Amplitude directly", &format!("{upstream}/2/httpapi"), &body, secs, async {}).await;
        let (mut off, mut on) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            off.push(measure_tap(OFF, &upstream, dir.path(), &body, secs).await);
            on.push(measure_tap(ON, &upstream, dir.path(), &body, secs).await);
        }
        let always = measure_tap(ALWAYS, &upstream, dir.path(), &body, secs).await;
        let never = measure_tap(NEVER, &upstream, dir.path(), &body, secs).await;
        let mitm = match mitmdump(full).and_then(|exe| start_mitmdump(exe, &upstream)) {
            Some((process, url)) => {
                let runs = measure_url("through mitmdump --mode reverse", &url, &body, secs, async {}).await;
                drop(process);
                Some(runs)
            }
            None if full => {
                println!("(mitmdump could not be installed: set AMPTAP_BENCH_MITMDUMP=/path/to/mitmdump)");
                None
            }
            None => None,
        };
        let direct_p99 = direct.1.percentile(0.99);
        let ((off_rps, off_p99), (on_rps, on_p99)) = (summary(&off), summary(&on));
        println!(
            "amptap (judging off) adds p99 {:+.3} ms at {FIXED_RATE} req/s (all {rounds} runs' requests); saturation throughput {:.0}% of direct",
            off_p99 - direct_p99,
            100.0 * off_rps / direct.0.rps()
        );
        println!(
            "serve as shipped (judging on), mean of {rounds} runs: {:.0}% of judging off at saturation (target ≥ 90%), {:.0} events/s (target ≥ 500,000); adds p99 {:+.3} ms at {FIXED_RATE} req/s over direct, all {rounds} runs' requests (target ≤ 1 ms)",
            100.0 * on_rps / off_rps,
            on_rps * EVENTS_PER_REQUEST as f64,
            on_p99 - direct_p99,
        );
        for (name, runs) in [("--fsync always", &always), ("--fsync never", &never)] {
            println!(
                "{name}: {:.0}% of --fsync batch's throughput, p99 at {FIXED_RATE} req/s {:+.3} ms against batch",
                100.0 * runs.0.rps() / off_rps,
                runs.1.percentile(0.99) - off_p99
            );
        }
        let all = [&direct, &always, &never].into_iter().chain(&off).chain(&on).chain(&mitm);
        assert_eq!(all.map(|r| r.0.errors + r.1.errors).sum::<usize>(), 0, "requests failed");
    });
}
