//! No client holds the tap: slow headers, slow bodies, short bodies, idle
//! sockets and one connection too many are each ended on time, and SIGTERM
//! exits within its drain bound while a client stalls. The real binary over
//! raw sockets; the bounds are generous (a busy machine is slow, never fast).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use amptap::record::ProblemKind;
use common::Amptap;

/// Reads until the peer closes (or `limit` passes); what arrived.
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, bool) {
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let deadline = Instant::now() + limit;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), true),
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), false)
}

/// Sends `bytes` one at a time, `gap` apart, until the peer stops taking them.
fn trickle(stream: &mut TcpStream, bytes: &[u8], gap: Duration, limit: Duration) {
    let deadline = Instant::now() + limit;
    for b in bytes {
        if Instant::now() > deadline || stream.write_all(&[*b]).is_err() {
            return;
        }
        std::thread::sleep(gap);
    }
}

const BODY: &str = r#"{"api_key":"FAKE_API_KEY_SLOW_0123456789","events":[{"event_type":"Slow","user_id":"user-12345"}]}"#;

#[test]
fn slow_headers_slow_bodies_and_short_bodies_are_ended() {
    let mut tap = Amptap::serve(&[
        "--offline",
        "--client-timeout",
        "1",
        "--min-body-rate",
        "1KiB",
    ]);

    // Headers at a byte every 300 ms: closed after about a second.
    let mut slow_head = TcpStream::connect(tap.addr).expect("connect");
    let started = Instant::now();
    let head = format!(
        "POST /2/httpapi HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        BODY.len()
    );
    let writer = {
        let mut s = slow_head.try_clone().expect("clone");
        let head = head.clone();
        std::thread::spawn(move || {
            trickle(
                &mut s,
                head.as_bytes(),
                Duration::from_millis(300),
                Duration::from_secs(30),
            )
        })
    };
    let (_, closed) = read_until_closed(&mut slow_head, Duration::from_secs(15));
    assert!(closed, "a slow header is closed");
    assert!(started.elapsed() < Duration::from_secs(15));
    writer.join().expect("join");

    // A body at a byte every 300 ms: 408 once its time is up (1 s + its length at 1 KiB/s).
    let mut slow_body = TcpStream::connect(tap.addr).expect("connect");
    slow_body.write_all(head.as_bytes()).expect("head");
    let writer = {
        let mut s = slow_body.try_clone().expect("clone");
        std::thread::spawn(move || {
            trickle(
                &mut s,
                BODY.as_bytes(),
                Duration::from_millis(300),
                Duration::from_secs(30),
            )
        })
    };
    let (answer, _) = read_until_closed(&mut slow_body, Duration::from_secs(15));
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    writer.join().expect("join");

    // A Content-Length longer than the body: 408, not a hang.
    let mut short = TcpStream::connect(tap.addr).expect("connect");
    let lying = format!(
        "POST /2/httpapi HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{BODY}",
        BODY.len() + 100
    );
    short.write_all(lying.as_bytes()).expect("write");
    let (answer, _) = read_until_closed(&mut short, Duration::from_secs(15));
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("\"code\":408"),
        "Amplitude's shape: {answer}"
    );

    tap.interrupt();
    let records = tap.captures();
    let not_received = records
        .iter()
        .filter(|r| {
            r.problem
                .as_ref()
                .is_some_and(|p| p.kind == ProblemKind::NotReceived)
        })
        .count();
    assert_eq!(not_received, 2, "each is a record: {records:?}");
}

#[test]
fn idle_sockets_are_closed_and_one_too_many_is_told_to_retry() {
    let tap = Amptap::serve(&[
        "--offline",
        "--client-timeout",
        "1",
        "--max-connections",
        "8",
    ]);
    let mut idle: Vec<TcpStream> = (0..8)
        .map(|_| TcpStream::connect(tap.addr).expect("connect"))
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let mut extra = TcpStream::connect(tap.addr).expect("connect");
    let (answer, closed) = read_until_closed(&mut extra, Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 503") && closed, "{answer}");
    assert!(answer.contains("--max-connections"), "{answer}");

    // Idle sockets are closed after --client-timeout; the tap takes requests again.
    for socket in &mut idle {
        let (_, closed) = read_until_closed(socket, Duration::from_secs(15));
        assert!(closed, "an idle socket is closed");
    }
    let request = format!(
        "POST /2/httpapi HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{BODY}",
        BODY.len()
    );
    let mut fresh = TcpStream::connect(tap.addr).expect("connect");
    fresh.write_all(request.as_bytes()).expect("write");
    let (answer, closed) = read_until_closed(&mut fresh, Duration::from_secs(15));
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        closed,
        "a kept-alive connection idle after its answer is closed too"
    );
}

#[test]
fn sigterm_exits_within_the_drain_bound_while_a_client_stalls() {
    let mut tap = Amptap::serve(&["--offline", "--client-timeout", "60", "--drain", "2"]);
    let mut stalled = TcpStream::connect(tap.addr).expect("connect");
    let head = format!(
        "POST /2/httpapi HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{{",
        BODY.len()
    );
    stalled.write_all(head.as_bytes()).expect("write");
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    common::signal_term(&tap.child);
    let deadline = Instant::now() + Duration::from_secs(20);
    let exited = loop {
        if let Ok(Some(status)) = tap.child.try_wait() {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exited.is_some(), "still running 20 s after SIGTERM");
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "exited after {:?} (drain 2 s)",
        started.elapsed()
    );
}

#[test]
fn connections_stop_short_of_the_open_files_limit_with_a_clear_refusal() {
    if Command::new("prlimit").arg("--version").output().is_err() {
        eprintln!("skipped: no prlimit");
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let addr = format!("127.0.0.1:{port}");
    let mut tap = Command::new("prlimit")
        .args([
            "--nofile=128:128",
            env!("CARGO_BIN_EXE_amptap"),
            "serve",
            "--offline",
            "--quiet",
        ])
        .args(["--listen", &addr, "--record"])
        .arg(dir.path().join("j.jsonl"))
        .env("AMPTAP_DATA_DIR", dir.path())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("prlimit amptap");
    let started = Instant::now();
    while TcpStream::connect(&addr).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "amptap did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300)); // the probe's connection is gone
                                                    // 128 descriptors: 64 connections are held, the rest are told to retry.
    let mut held: Vec<TcpStream> = (0..100)
        .map(|_| TcpStream::connect(&addr).expect("connect"))
        .collect();
    let (answer, closed) = read_until_closed(&mut held[99], Duration::from_secs(5));
    assert!(answer.starts_with("HTTP/1.1 503") && closed, "{answer}");
    common::signal_term(&tap);
    let _ = tap.wait();
}
