//! The batch commands over a generated million-event journal, through the
//! real binary: time and peak RSS of `check` (JSON streamed, and text),
//! `plan infer` and `har`. Memory should follow the kinds of events and
//! findings, not their number.
//!
//!   cargo bench --bench batch        # 1,000,000 events
//!   AMPTAP_BENCH_JOURNAL=/tmp/j.jsonl cargo bench --bench batch   # kept for the next run
//!
//! Under `cargo test` it runs a small smoke pass.

#[path = "support/journal.rs"]
#[allow(dead_code)] // the memory probes are the inspector bench's
mod journal;

use std::path::Path;
use std::process::Command;

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let requests = if full { 10_000 } else { 20 };
    let dir = tempfile::tempdir().expect("dir");
    // AMPTAP_BENCH_JOURNAL keeps the generated journal between runs.
    let path = std::env::var_os("AMPTAP_BENCH_JOURNAL")
        .map_or_else(|| dir.path().join("bench.jsonl"), std::path::PathBuf::from);
    let bytes = match std::fs::metadata(&path) {
        Ok(m) if full && m.len() > 0 => m.len(),
        _ => journal::write(&path, requests, 100),
    };
    println!(
        "journal: {} events in {requests} requests, {:.0} MB",
        requests * 100,
        bytes as f64 / 1e6
    );
    let plan = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/dify-plan.toml");
    let (j, p) = (path.to_str().expect("utf-8"), plan.to_str().expect("utf-8"));
    let targets = if full {
        " (target ≤ 2 s, ≤ 150 MB; wave 1: 1.5 GB at 500,000)"
    } else {
        ""
    };
    for (name, args) in [
        (
            "check --format json",
            vec!["check", "--plan", p, j, "--format", "json"],
        ),
        (
            "check --format csv",
            vec!["check", "--plan", p, j, "--format", "csv"],
        ),
        ("check (text)", vec!["check", "--plan", p, j]),
        ("plan infer", vec!["plan", "infer", j]),
        ("har", vec!["har", j]),
    ] {
        let (secs, mib) = measure(&args);
        let note = if name.starts_with("check") {
            targets
        } else {
            ""
        };
        println!("{name:<22} {secs:>6.2} s   peak RSS {mib:>6.0} MiB{note}");
    }
}

/// Runs the binary under `/usr/bin/time`, output to /dev/null: seconds and peak MiB.
fn measure(args: &[&str]) -> (f64, f64) {
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%e %M"])
        .arg(env!("CARGO_BIN_EXE_amptap"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .output()
        .expect("run /usr/bin/time (Debian package `time`)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    let mut fields = last
        .split_whitespace()
        .map(|f| f.parse::<f64>().unwrap_or(f64::NAN));
    let secs = fields.next().unwrap_or(f64::NAN);
    let kib = fields.next().unwrap_or(f64::NAN);
    (secs, kib / 1024.0)
}
