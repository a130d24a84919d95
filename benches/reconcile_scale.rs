//! Reconcile far larger than memory: a generated journal of N captured
//! events and an export of N rows (a few lost, changed and duplicated),
//! matched by the real job (`amptap reconcile`'s) with its default 1 GiB,
//! so in parts on disk. Prints the time, the peak RSS and the extrapolation
//! to 100 million.
//!
//!   cargo bench --bench reconcile_scale -- --events 10000000

use std::io::Write;
use std::time::Instant;

use amptap::export::format_export_time;
use amptap::mismatch::{run, Job, Source, DEFAULT_MEMORY};

const T: i64 = 1_795_514_400_000;
const PER_REQUEST: usize = 100;

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn insert_id(i: usize) -> String {
    format!("00000000-0000-4000-8000-{i:012}")
}

/// The journal: requests of 100 events each, all accepted by Amplitude.
fn write_journal(path: &std::path::Path, n: usize) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let received = time::OffsetDateTime::from_unix_timestamp(T / 1000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let received = received
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    for (r, start) in (0..n).step_by(PER_REQUEST).enumerate() {
        write!(
            out,
            r#"{{"seq":{},"received":"{received}","endpoint":"/2/httpapi","method":"POST","path":"/2/httpapi","client":"127.0.0.1:1","body_bytes":1,"events":["#,
            r + 1
        )?;
        for i in start..(start + PER_REQUEST).min(n) {
            if i > start {
                out.write_all(b",")?;
            }
            write!(
                out,
                r#"{{"event_type":"dify_user_query","user_id":"user-{:05}","device_id":"device-{:05}","insert_id":"{}","time":{},"event_properties":{{"query_text":"How do I reset my password?","app_id":"app-42","latency_ms":{}}}}}"#,
                i % 50_000,
                i % 70_000,
                insert_id(i),
                T + i as i64,
                i % 5000
            )?;
        }
        out.write_all(br#"],"answer":{"status":200,"content_type":"application/json","body":"{\"code\":200}"},"delivery":{"kind":"forwarded","url":"https://api2.amplitude.com/2/httpapi","latency_ms":1.0}}"#)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// The export: one row per event, a few lost, changed or twice.
fn write_export(path: &std::path::Path, n: usize) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    for i in (0..n).filter(|i| i % 10_000 != 7) {
        let text = if i % 10_000 == 3 {
            "changed"
        } else {
            "How do I reset my password?"
        };
        let copies = if i % 10_000 == 5 { 2 } else { 1 };
        for _ in 0..copies {
            writeln!(
                out,
                r#"{{"$insert_id":"{}","uuid":"uuid-{i}","event_type":"dify_user_query","user_id":"user-{:05}","device_id":"device-{:05}","client_event_time":"{}","server_upload_time":"{}","event_properties":{{"query_text":"{text}","app_id":"app-42","latency_ms":{}}}}}"#,
                insert_id(i),
                i % 50_000,
                i % 70_000,
                format_export_time(T + i as i64),
                format_export_time(T + i as i64 + 500),
                i % 5000
            )?;
        }
    }
    out.flush()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let full = args.iter().any(|a| a == "--bench");
    let n = args
        .iter()
        .position(|a| a == "--events")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 10_000_000 } else { 20_000 });
    let dir = tempfile::tempdir().expect("dir");
    let journal = dir.path().join("capture.jsonl");
    let export = dir.path().join("export.jsonl");
    let started = Instant::now();
    write_journal(&journal, n).expect("journal");
    write_export(&export, n).expect("export");
    let size = |p: &std::path::Path| std::fs::metadata(p).map_or(0, |m| m.len()) as f64 / 1e9;
    println!(
        "generated {n} events ({:.2} GB journal) and {n} rows ({:.2} GB export) in {:.0} s; peak RSS so far {:.0} MB",
        size(&journal),
        size(&export),
        started.elapsed().as_secs_f64(),
        peak_rss_mb()
    );
    let job = Job {
        captures: vec![journal],
        source: Source::File(export),
        plan: None,
        tolerance_ms: 1000,
        memory: DEFAULT_MEMORY,
    };
    let (tx, _rx) = tokio::sync::watch::channel(Default::default());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let started = Instant::now();
    let outcome = rt.block_on(run(job, &tx)).expect("reconcile");
    let took = started.elapsed().as_secs_f64();
    let s = &outcome.report.reconcile.summary;
    println!(
        "reconcile {n} × {} rows: {took:.1} s ({:.0} events/s), peak RSS {:.0} MB (the budget: {} MB) · matched {} · missing {} · changed {} · duplicated {} · listed {} + {} omitted",
        s.exported_rows,
        n as f64 / took,
        peak_rss_mb(),
        DEFAULT_MEMORY >> 20,
        s.matched,
        s.missing,
        s.changed,
        s.duplicated,
        outcome.report.reconcile.problems.len(),
        outcome.report.reconcile.omitted
    );
    let factor = 100_000_000.0 / n as f64;
    println!(
        "extrapolated to 100,000,000 × 100,000,000: about {:.0} min (time grows with the bytes: every part is read, spilled and read back once); memory stays within the budget (parts are split to a tenth of it), plus 8 bytes per distinct user and device",
        took * factor / 60.0
    );
    for note in outcome.notes.iter().take(3) {
        println!("note: {note}");
    }
    let lost = n / 10_000 + usize::from(n % 10_000 > 7);
    assert_eq!((s.matched as usize, s.missing as usize), (n - lost, lost));
}
