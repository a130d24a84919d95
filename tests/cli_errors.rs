//! What the command line says when something is wrong: each cause once, a
//! hint where there is one, and the exit code a script can rely on.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::amptap_cli as amptap;

#[test]
fn an_os_error_is_said_once() {
    let out = amptap(&[
        "check",
        "--plan",
        "/nonexistent/plan.toml",
        "/nonexistent/j.jsonl",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
}

#[test]
fn open_refuses_what_is_not_a_journal() {
    let readme = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let out = amptap(&["open", readme.to_str().expect("path")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("is not an amptap journal"), "{err}");
}

#[test]
fn a_port_in_use_says_what_to_do_and_localhost_is_understood() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let out = amptap(&[
        "serve",
        "--offline",
        "--listen",
        &format!("127.0.0.1:{port}"),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--listen 127.0.0.1:PORT"), "{err}");
    drop(taken);

    let dir = tempfile::tempdir().expect("dir");
    let mut child = Command::new(env!("CARGO_BIN_EXE_amptap"))
        .args(["serve", "--offline", "--listen", "localhost:0", "--record"])
        .arg(dir.path().join("j.jsonl"))
        .env("AMPTAP_DATA_DIR", dir.path())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stderr = child.stderr.take().expect("stderr");
    let line = std::thread::spawn(move || {
        use std::io::BufRead;
        std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .find(|l| l.contains("listening on"))
    });
    std::thread::sleep(Duration::from_millis(100));
    let line = line.join().expect("join").unwrap_or_default();
    common::signal_term(&child);
    let _ = child.wait();
    assert!(line.contains("http://127.0.0.1:"), "{line}");
}

#[test]
fn out_dash_is_standard_output() {
    let dir = tempfile::tempdir().expect("dir");
    let journal = dir.path().join("empty.jsonl");
    std::fs::write(&journal, "").expect("journal");
    let plan = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/dify-plan.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_amptap"))
        .args([
            "check",
            "--allow-empty",
            "--format",
            "json",
            "--out",
            "-",
            "--plan",
        ])
        .arg(&plan)
        .arg(&journal)
        .current_dir(dir.path())
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"summary\""));
    assert!(!dir.path().join("-").exists(), "no file named -");
}
