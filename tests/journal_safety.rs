//! The journal keeps what it acknowledges and harms nothing else. On a full
//! disk (a small tmpfs) every request whose record cannot be written is
//! answered 503 so the SDK keeps its events; the failure shows on stderr, in
//! `/metrics` and `/_amptap/summary`; when space returns the journal goes on
//! with whole lines and continuous numbering, and every event that was
//! answered 200 is in it. Every fsync policy writes before it answers.
//! `--record` refuses a file that is not a journal.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::Amptap;
use serde_json::{json, Value};

/// A tmpfs of `size` at `dir`; `None` where this machine cannot mount one.
fn mount_tmpfs(dir: &Path, size: &str) -> Option<Unmount> {
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .status()
        .is_ok_and(|s| s.success());
    ok.then(|| Unmount(dir.to_owned()))
}

struct Unmount(std::path::PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn batch(n: usize) -> Value {
    let events: Vec<Value> = (0..20)
        .map(|i| json!({"event_type": "filler", "user_id": "user-00001", "insert_id": format!("id-{n}-{i}"), "time": 1_795_514_400_000_i64, "event_properties": {"pad": "x".repeat(900)}}))
        .collect();
    json!({"api_key": "FAKE_API_KEY_DISK_0123456789", "events": events})
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_is_the_sdks_failure_and_the_journal_resumes_whole() {
    let dir = tempfile::tempdir().expect("dir");
    let Some(mounted) = mount_tmpfs(dir.path(), "256k") else {
        eprintln!("skipped: cannot mount a tmpfs here");
        return;
    };
    let journal = dir.path().join("j.jsonl");
    let mut tap = Amptap::serve(&["--offline", "--record", journal.to_str().expect("utf-8")]);
    let client = reqwest::Client::new();
    let url = tap.url("/2/httpapi");
    let post = |n: usize| client.post(&url).json(&batch(n)).send();
    let mut accepted = BTreeSet::new();
    let mut refused = None;
    for n in 0..100 {
        let r = post(n).await.expect("post");
        match r.status().as_u16() {
            200 => {
                accepted.insert(n);
            }
            503 => {
                refused = Some(
                    r.json::<Value>()
                        .await
                        .expect("an Amplitude-shaped JSON body"),
                );
                break;
            }
            other => panic!("unexpected {other}"),
        }
    }
    let body = refused.expect("the disk filled up");
    assert_eq!(body["code"], 503, "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| e.contains("retry")),
        "{body}"
    );
    assert!(!accepted.is_empty());
    // While it is full, nothing is taken: every request is answered 503.
    assert_eq!(post(1000).await.expect("post").status(), 503);
    let line = tap
        .wait_for_line(
            |l| l.contains("the journal cannot be written"),
            Duration::from_secs(5),
        )
        .expect("stderr says so at once");
    assert!(line.contains("503"), "{line}");
    let summary = common::get_json(&tap.url("/_amptap/summary")).await;
    assert_eq!(summary["journal"]["writable"], false, "{summary}");
    assert!(summary["journal"]["failures"]
        .as_u64()
        .is_some_and(|n| n >= 2));
    let metrics = common::get_text(&tap.url("/metrics")).await;
    assert!(metrics.contains("amptap_journal_writable 0"), "{metrics}");

    // Space returns: the next requests are taken again.
    let grown = Command::new("mount")
        .args(["-o", "remount,size=16m"])
        .arg(dir.path())
        .status()
        .expect("remount");
    assert!(grown.success());
    let mut resumed = false;
    for n in 200..210 {
        if post(n).await.expect("post").status() == 200 {
            accepted.insert(n);
            resumed = true;
        }
    }
    assert!(resumed, "requests are taken again once space returns");
    tap.wait_for_line(|l| l.contains("writable again"), Duration::from_secs(5))
        .expect("stderr says it recovered");
    tap.interrupt();

    // Whole lines, numbered without a gap, holding every accepted event.
    let mut reader = amptap::journal::open_reader(&journal).expect("journal");
    let records: Vec<_> = reader.by_ref().collect();
    assert!(reader.warnings().is_empty(), "{:?}", reader.warnings());
    let seqs: Vec<u64> = records.iter().map(|r| r.seq).collect();
    let want: Vec<u64> = (1..=seqs.len() as u64).collect();
    assert_eq!(seqs, want, "continuous numbering");
    let kept: BTreeSet<String> = records
        .iter()
        .flat_map(|r| {
            r.events
                .iter()
                .filter_map(|e| e.insert_id().map(str::to_owned))
        })
        .collect();
    for n in &accepted {
        assert!(
            kept.contains(&format!("id-{n}-0")),
            "request {n} was answered 200 but is not in the journal"
        );
    }
    drop(mounted);
}

/// The official Node SDK through a full disk: it is answered 503, keeps
/// its events and retries; once space returns, every event it was told was
/// accepted is in the journal.
#[tokio::test(flavor = "multi_thread")]
async fn the_node_sdk_retries_through_a_full_disk_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let Some(mounted) = mount_tmpfs(dir.path(), "128k") else {
        eprintln!("skipped: cannot mount a tmpfs here");
        return;
    };
    // Room for a few requests only.
    let filler = dir.path().join("filler");
    std::fs::write(&filler, vec![0u8; 116 * 1024]).expect("filler");
    let journal = dir.path().join("j.jsonl");
    let mut tap = Amptap::serve(&["--offline", "--record", journal.to_str().expect("utf-8")]);
    let url = tap.url("/2/httpapi");
    let sdk = std::thread::spawn(move || common::node_sdk_output(&url, "disk"));
    tap.wait_for_line(
        |l| l.contains("the journal cannot be written"),
        Duration::from_secs(30),
    )
    .expect("the disk fills up while the SDK sends");
    std::fs::remove_file(&filler).expect("space returns");
    let report: Value = serde_json::from_str(&sdk.join().expect("join")).expect("the SDK's report");
    tap.interrupt();
    let told_accepted: Vec<String> = report["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| r["code"] == 200)
        .filter_map(|r| r["insert_id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        told_accepted.len(),
        20,
        "the SDK retried until each was taken: {report}"
    );
    let kept: BTreeSet<String> = amptap::journal::open_reader(&journal)
        .expect("journal")
        .flat_map(|r| {
            r.events
                .into_iter()
                .filter_map(|e| e.insert_id().map(str::to_owned))
        })
        .collect();
    for id in &told_accepted {
        assert!(
            kept.contains(id),
            "{id} was accepted but is not in the journal"
        );
    }
    drop(mounted);
}

/// Each durability policy keeps every acknowledged request.
#[tokio::test(flavor = "multi_thread")]
async fn every_fsync_policy_writes_before_it_answers() {
    for policy in ["always", "batch", "never"] {
        let tap = Amptap::serve(&["--offline", "--fsync", policy]);
        let r = reqwest::Client::new()
            .post(tap.url("/2/httpapi"))
            .json(&batch(7))
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), 200, "{policy}");
        // Answered means written: the line is there before anything else happens.
        let records = tap.captures();
        assert_eq!(records.len(), 1, "{policy}");
        assert_eq!(records[0].events.len(), 20, "{policy}");
    }
}

/// Swapping `--plan` and `--record` must not append to the plan.
#[test]
fn record_refuses_a_file_that_is_not_a_journal() {
    let dir = tempfile::tempdir().expect("dir");
    let plan = dir.path().join("plan.toml");
    let text = "[events.a]\n";
    std::fs::write(&plan, text).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_amptap"))
        .args(["serve", "--offline", "--listen", "127.0.0.1:0", "--record"])
        .arg(&plan)
        .env("AMPTAP_DATA_DIR", dir.path())
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not an amptap journal") && stderr.contains("plan.toml"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&plan).expect("read"),
        text,
        "untouched"
    );
}
