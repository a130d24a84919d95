//! Reconcile at scale: 1,000,000 captured × 1,000,000 exported events (a
//! few lost, changed and duplicated), and the archive decoder's throughput.
//!
//!   cargo bench --bench reconcile        # prints seconds, peak memory, MB/s

use std::time::Instant;

use amptap::export::archive::write_archive;
use amptap::export::{format_export_time, read_archive, ExportedRow};
use amptap::reconcile::{reconcile, Captured, Options, Outcome};
use serde_json::json;

const T: i64 = 1_795_514_400_000;

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n: usize = if full { 1_000_000 } else { 10_000 };
    let props = |i: usize| {
        serde_json::value::to_raw_value(&json!({"query_text": "How do I reset my password?", "app_id": "app-42", "latency_ms": i % 5000, "model": "gpt-4o"})).ok()
    };
    let captured: Vec<Captured> = (0..n)
        .map(|i| Captured {
            seq: (i / 100) as u64 + 1,
            index: i % 100,
            received_ms: T + i as i64,
            insert_id: Some(format!("00000000-0000-4000-8000-{i:012}")),
            event_type: Some("dify_user_query".into()),
            user_id: Some(format!("user-{:05}", i % 5000)),
            device_id: Some(format!("device-{:05}", i % 7000)),
            time_ms: Some(T + i as i64),
            outcome: Outcome::Accepted,
            properties: props(i),
            revenue: Vec::new(),
        })
        .collect();
    let exported: Vec<ExportedRow> = (0..n)
        .filter(|i| i % 10_000 != 7) // a few lost
        .flat_map(|i| {
            let mut p = props(i);
            if i % 10_000 == 3 {
                p = serde_json::value::to_raw_value(&json!({"query_text": "changed", "app_id": "app-42", "latency_ms": i % 5000, "model": "gpt-4o"})).ok();
            }
            let row = ExportedRow {
                insert_id: Some(format!("00000000-0000-4000-8000-{i:012}")),
                uuid: Some(format!("uuid-{i}")),
                event_type: Some("dify_user_query".into()),
                user_id: Some(format!("user-{:05}", i % 5000)),
                device_id: Some(format!("device-{:05}", i % 7000)),
                client_event_time: Some(format_export_time(T + i as i64)),
                server_upload_time: Some(format_export_time(T + i as i64 + 500)),
                event_properties: p,
                ..ExportedRow::default()
            };
            let copies = if i % 10_000 == 5 { 2 } else { 1 };
            std::iter::repeat_n(row, copies)
        })
        .collect();
    println!(
        "{n} captured × {} exported rows; memory with both in: {:.0} MB peak so far",
        exported.len(),
        peak_rss_mb().unwrap_or(f64::NAN)
    );
    let start = Instant::now();
    let result = reconcile(
        &captured,
        &exported,
        &Options {
            window: None,
            pending_after_ms: i64::MAX,
            tolerance_ms: 1000,
        },
    );
    let took = start.elapsed();
    let s = &result.summary;
    println!(
        "reconcile: {:.2} s · matched {} · missing {} · changed {} · duplicated {} · peak memory {:.0} MB",
        took.as_secs_f64(),
        s.matched,
        s.missing,
        s.changed,
        s.duplicated,
        peak_rss_mb().unwrap_or(f64::NAN)
    );

    // The archive decoder: one export of the exported rows, read back.
    let dir = std::env::temp_dir().join(format!("amptap-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("export.zip");
    let sample = &exported[..exported.len().min(if full { 300_000 } else { 10_000 })];
    write_archive(
        sample,
        187520,
        std::fs::File::create(&path).expect("create"),
    )
    .expect("write");
    let zipped = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let start = Instant::now();
    let mut rows = 0u64;
    let stats = read_archive(&path, |_| rows += 1, &mut Vec::new()).expect("read");
    let took = start.elapsed().as_secs_f64();
    println!(
        "archive decoding: {rows} rows, {:.1} MB of JSON ({:.1} MB zipped) in {took:.2} s = {:.0} MB/s of JSON, {:.0} rows/s",
        stats.bytes as f64 / 1_048_576.0,
        zipped as f64 / 1_048_576.0,
        stats.bytes as f64 / 1_048_576.0 / took,
        rows as f64 / took
    );
    let _ = std::fs::remove_dir_all(&dir);
}
