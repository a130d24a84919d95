//! Shared by the integration tests: the recorded SDK requests, and the real
//! `amptap` binary started as a child process.
#![allow(dead_code)] // each test binary uses its own part of this module

pub mod tmux;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use amptap::journal::open_reader;
use amptap::record::Record;
use base64::Engine;
use serde_json::Value;

/// One request an official SDK sent, from `tests/fixtures/wire/`.
#[derive(Debug, Clone)]
pub struct WireRequest {
    pub file: String,
    pub scenario: String,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub events_count: Option<usize>,
    pub form: Option<Value>,
    pub body_decoded: Option<String>,
}

impl WireRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

pub fn wire_requests(file: &str) -> Vec<WireRequest> {
    let text = std::fs::read_to_string(fixtures().join("wire").join(file)).expect("fixture");
    text.lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).expect("fixture line");
            let body = v["body"].as_str().unwrap_or_default();
            let body = if v["body_encoding"] == "base64" {
                base64::engine::general_purpose::STANDARD
                    .decode(body)
                    .expect("base64 body")
            } else {
                body.as_bytes().to_vec()
            };
            WireRequest {
                file: file.to_owned(),
                scenario: v["scenario"].as_str().unwrap_or_default().to_owned(),
                method: v["method"].as_str().unwrap_or_default().to_owned(),
                path: v["path"].as_str().unwrap_or_default().to_owned(),
                headers: v["headers"]
                    .as_array()
                    .map(|hs| {
                        hs.iter()
                            .map(|h| {
                                (
                                    h[0].as_str().unwrap_or_default().to_owned(),
                                    h[1].as_str().unwrap_or_default().to_owned(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                body,
                events_count: v["events_count"].as_u64().map(|n| n as usize),
                form: v.get("form").cloned(),
                body_decoded: v["body_decoded"].as_str().map(str::to_owned),
            }
        })
        .collect()
}

pub fn all_wire_posts() -> Vec<WireRequest> {
    [
        "node.jsonl",
        "python.jsonl",
        "browser.jsonl",
        "legacy.jsonl",
    ]
    .into_iter()
    .flat_map(wire_requests)
    .filter(|r| r.method == "POST")
    .collect()
}

/// The real binary, serving; killed when dropped.
pub struct Amptap {
    pub child: Child,
    pub addr: SocketAddr,
    pub journal: PathBuf,
    pub stderr: mpsc::Receiver<String>,
    pub data_dir: tempfile::TempDir,
}

impl Amptap {
    /// `amptap serve --listen 127.0.0.1:0 --record <tmp> ARGS…`
    pub fn serve(args: &[&str]) -> Amptap {
        Self::serve_env(args, &[])
    }

    /// [`Amptap::serve`] with these environment variables set.
    pub fn serve_env(args: &[&str], env: &[(&str, &str)]) -> Amptap {
        let data_dir = tempfile::tempdir().expect("tempdir");
        // A test may name its own journal; else one in a fresh directory.
        let journal = match args.iter().position(|a| *a == "--record") {
            Some(i) => PathBuf::from(args[i + 1]),
            None => data_dir.path().join("capture.jsonl"),
        };
        let record: Vec<&str> = if args.contains(&"--record") {
            vec![]
        } else {
            vec!["--record", journal.to_str().expect("utf-8 path")]
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_amptap"))
            .arg("serve")
            .args(if args.contains(&"--listen") {
                &[][..]
            } else {
                &["--listen", "127.0.0.1:0"][..]
            })
            .args(&record)
            .args(args)
            .env("AMPTAP_DATA_DIR", data_dir.path())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn amptap");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut amptap = Amptap {
            child,
            addr: "127.0.0.1:0".parse().expect("addr"),
            journal,
            stderr: rx,
            data_dir,
        };
        let banner = amptap
            .wait_for_line(
                |l| l.contains("listening on http://"),
                Duration::from_secs(20),
            )
            .expect("amptap did not start");
        let addr = banner
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .expect("address in banner");
        amptap.addr = addr.parse().expect("socket address");
        amptap
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Waits for a stderr line matching `want`; returns it.
    pub fn wait_for_line(
        &mut self,
        want: impl Fn(&str) -> bool,
        timeout: Duration,
    ) -> Option<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.checked_duration_since(Instant::now())?;
            match self.stderr.recv_timeout(left) {
                Ok(line) if want(&line) => return Some(line),
                Ok(_) => {}
                Err(_) => return None,
            }
        }
    }

    /// Sends SIGINT and waits for exit; returns the rest of stderr (all of
    /// it: the reader thread ends at the pipe's end of file).
    pub fn interrupt(&mut self) -> Vec<String> {
        signal(self.child.id(), "-INT");
        let _ = self.child.wait();
        self.stderr.iter().collect()
    }

    pub fn kill9(&mut self) {
        signal(self.child.id(), "-KILL");
        let _ = self.child.wait();
    }

    pub fn captures(&self) -> Vec<Record> {
        open_reader(&self.journal).expect("journal").collect()
    }
}

impl Drop for Amptap {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill").arg(sig).arg(pid.to_string()).status();
}

/// Polls `f` until it returns true or `timeout` passes.
pub async fn eventually(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    f()
}

pub fn signal_term(child: &Child) {
    signal(child.id(), "-TERM");
}

/// Runs the official Node SDK (tests/clients/node/send.js) against `url`.
pub fn run_node_sdk(url: &str, scenario: &str) {
    node_sdk_output(url, scenario);
}

/// Runs the official Node SDK's `scenario` against `url`; what it reported (one JSON line).
pub fn node_sdk_output(url: &str, scenario: &str) -> String {
    let clients = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients/node");
    assert!(
        clients
            .join("node_modules/@amplitude/analytics-node")
            .exists(),
        "run tests/clients/install.sh (./test does)"
    );
    let out = Command::new("node")
        .arg(clients.join("send.js"))
        .arg(url)
        .arg(scenario)
        .output()
        .expect("node");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `amptap open JOURNAL` without a terminal: the journal read through the
/// real pipeline into the screen's state (120×30), and the line reader the
/// screen's reader threads use.
pub fn opened(journal: &std::path::Path) -> (amptap::tui::app::App, amptap::lines::FileLines) {
    use amptap::pipeline::{Pipeline, QueueSink, Source};
    use amptap::store::{Store, DEFAULT_BUDGET};
    use amptap::tui::app::{App, Session};
    use amptap::tui::msg::Msg;

    let plan = std::sync::Arc::new(amptap::plan::Plan::none());
    let (tx, mut rx) = tokio::sync::mpsc::channel(amptap::pipeline::SCREEN_QUEUE);
    let source = Source::Files(vec![journal.to_owned()]);
    let lines = amptap::lines::FileLines::new(source.paths());
    let pipeline = Pipeline::start(source, plan, vec![Box::new(QueueSink(tx))]).expect("pipeline");
    let mut app = App::new(
        Store::new(DEFAULT_BUDGET, None),
        Session::default(),
        Vec::new(),
        amptap::tui::theme::Theme { color: false },
        time::OffsetDateTime::UNIX_EPOCH,
    );
    app.update(Msg::Resize(120, 30));
    while let Some(feed) = rx.blocking_recv() {
        let done = matches!(feed, amptap::pipeline::Feed::Done);
        let effects = app.update(Msg::Feed(feed));
        perform(&mut app, effects, &lines);
        if done {
            break;
        }
    }
    pipeline.finish();
    (app, lines)
}

/// `amptap open JOURNAL` with `/FILTER` typed (see [`opened`]); the screen.
pub fn screen_with_filter(journal: &std::path::Path, filter: &str) -> String {
    use amptap::tui::msg::Msg;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    let (mut app, lines) = opened(journal);
    for c in std::iter::once('/').chain(filter.chars()) {
        let key = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        let effects = app.update(Msg::Key(key));
        perform(&mut app, effects, &lines);
    }
    let mut terminal =
        ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 30)).expect("terminal");
    terminal
        .draw(|f| amptap::tui::draw::draw(f, &app))
        .expect("draw");
    terminal.backend().to_string()
}

/// Each event `open` holds, as its detail view reads it back from the journal.
pub fn opened_events(journal: &std::path::Path) -> Vec<String> {
    let (app, lines) = opened(journal);
    (app.store.first_id()..app.store.next_id())
        .filter_map(|id| app.store.get(id))
        .map(|r| {
            let record = amptap::store::load_record(&lines, r.request.at, r.request.seq)
                .expect("the line reads back");
            record.events[r.index()].raw().get().to_owned()
        })
        .collect()
}

/// Does at once what the screen's loop does with effects that read the
/// journal (load a row, scan for a filter), then runs the filter job out.
pub fn perform(
    app: &mut amptap::tui::app::App,
    effects: Vec<amptap::tui::msg::Effect>,
    lines: &dyn amptap::store::Lines,
) {
    use amptap::tui::msg::{Effect, Msg};
    for effect in effects {
        let more = match effect {
            Effect::Load { id, seq, at } => {
                let record = amptap::store::load_record(lines, at, seq)
                    .map(std::sync::Arc::new)
                    .map_err(|e| e.to_string());
                app.update(Msg::Loaded { id, record })
            }
            Effect::Scan(scan) => {
                let verdicts = scan.verdicts(lines, &scan.requests);
                app.update(Msg::Bodies {
                    generation: scan.generation,
                    verdicts,
                })
            }
            _ => Vec::new(),
        };
        perform(app, more, lines);
    }
    while app.work(Duration::from_secs(1)) {}
}

/// Posts `event` pretty-printed inside a `/batch` body, then `form_events`
/// (a JSON array) as an amplitude-js form to `/httpapi`; both must be answered 200.
pub async fn post_pretty_and_form(tap: &Amptap, api_key: &str, event: &str, form_events: &str) {
    let client = reqwest::Client::new();
    let body = format!("{{\n \"api_key\": \"{api_key}\",\n \"events\": [\n{event}\n]\n}}");
    let r = client
        .post(tap.url("/batch"))
        .body(body)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    let form: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("api_key", api_key)
        .append_pair("event", form_events)
        .finish();
    let r = client
        .post(tap.url("/httpapi"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
}

/// GETs `url` and returns its body as text (any status).
pub async fn get_text(url: &str) -> String {
    reqwest::get(url)
        .await
        .expect("request")
        .text()
        .await
        .expect("body")
}

/// GETs `url` and reads its body as JSON.
pub async fn get_json(url: &str) -> serde_json::Value {
    serde_json::from_str(&get_text(url).await).expect("a JSON body")
}

/// Runs the binary with `args` (data in a shared test directory); its output.
pub fn amptap_cli(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_amptap"))
        .args(args)
        .env(
            "AMPTAP_DATA_DIR",
            std::env::temp_dir().join("amptap-test-data"),
        )
        .output()
        .expect("run amptap")
}

/// A metric's value from `base`/metrics (the first sample of that name).
pub async fn metric(base: &str, name: &str) -> Option<f64> {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find(|l| {
            l.starts_with(name)
                && l.as_bytes()
                    .get(name.len())
                    .is_some_and(|b| *b == b' ' || *b == b'{')
        })
        .and_then(|l| l.split_whitespace().last())
        .and_then(|v| v.parse().ok())
}
