//! The real binary in a real terminal: `amptap demo` driven through tmux as
//! a person would — wait for rows, filter, open an event with a finding,
//! export a report, quit — asserting on the screen, the report file and the
//! terminal left behind.

mod common;

use std::path::Path;
use std::process::Command;

use common::tmux::Tmux;

/// A private tmux server running `amptap demo` in `work`, once rows show.
fn demo(socket: &str, work: &str, width: u16, height: u16) -> Tmux {
    let bin = env!("CARGO_BIN_EXE_amptap");
    let command = format!(
        "AMPTAP_DATA_DIR={work}/data AMPTAP_CONFIG_DIR={work}/config {bin} demo; echo EXITED $?"
    );
    let tmux = Tmux::start(socket, work, (width, height), &command);
    tmux.wait_for("event rows", |s| {
        s.contains("dify_") && s.contains("Events")
    });
    tmux
}

#[test]
fn demo_filter_detail_export_quit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path().to_str().expect("utf-8 path");
    let tmux = demo("amptap-test", work, 120, 40);

    // Rows arrive, and at least one event with an error finding.
    tmux.wait_for("an error finding", |s| {
        s.lines().any(|l| l.contains("│") && l.contains("✗ "))
    });

    // Filter to errors, as typed.
    tmux.keys(&["/"]);
    tmux.literal("status:error");
    let screen = tmux.wait_for("the filter applied as typed", |s| {
        s.contains("/ status:error")
    });
    assert!(screen.contains("showing"), "{screen}");
    tmux.keys(&["Enter"]);
    tmux.wait_for("the filter kept", |s| s.contains("filter status:error"));

    // Open the focused event: its findings and its request.
    tmux.keys(&["Enter"]);
    let detail = tmux.wait_for("the detail view", |s| {
        s.contains("Findings") && s.contains("Request")
    });
    assert!(
        detail.contains("✗ "),
        "an error finding is listed:\n{detail}"
    );
    assert!(detail.contains("POST /"), "{detail}");
    tmux.keys(&["Escape"]);
    tmux.wait_for("back to the stream", |s| {
        s.contains("received") && s.contains("event time")
    });

    // Export what the filter shows.
    tmux.keys(&["x"]);
    tmux.wait_for("the export prompt", |s| s.contains("export to"));
    tmux.keys(&["Enter"]);
    let screen = tmux.wait_for("the report path", |s| s.contains("report written to"));
    let report = std::fs::read_dir(dir.path())
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "md"))
        .unwrap_or_else(|| panic!("no report file; screen:\n{screen}"));
    let text = std::fs::read_to_string(&report).expect("report");
    assert!(text.starts_with("# amptap check report"), "{text}");
    assert!(
        text.contains("| severity | code | path |"),
        "the report lists findings:\n{text}"
    );
    assert!(
        screen.contains(&*report.file_name().expect("name").to_string_lossy()),
        "the path is shown:\n{screen}"
    );

    // Quit: the demo keeps sending, so q asks first; q again quits. The
    // terminal comes back as it was, the summary is printed.
    tmux.keys(&["q"]);
    tmux.wait_for("q asks first", |s| s.contains("q again stops the tap"));
    tmux.keys(&["q"]);
    let after = tmux.wait_for("the shell again", |s| s.contains("EXITED 0"));
    assert!(
        after.contains("amptap: ") && after.contains("events"),
        "summary:\n{after}"
    );
    assert!(
        !after.contains("time (UTC)"),
        "the TUI is gone from the screen:\n{after}"
    );
    assert_eq!(
        tmux.pane("#{alternate_on}").trim(),
        "0",
        "alternate screen left"
    );
    let history =
        std::fs::read_to_string(Path::new(work).join("config/filter-history")).unwrap_or_default();
    assert!(
        history.lines().any(|l| l == "status:error"),
        "the filter is kept for the next run: {history:?}"
    );
    let journal_dir = Path::new(work).join("data/captures");
    assert!(
        std::fs::read_dir(journal_dir).expect("journal dir").count() == 1,
        "the demo journal is kept"
    );
}

#[test]
fn sigterm_restores_the_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let work = dir.path().to_str().expect("utf-8 path");
    let tmux = demo("amptap-term", work, 100, 30);
    let shell = tmux.pane("#{pane_pid}");
    let children = Command::new("pgrep")
        .args(["-P", shell.trim()])
        .output()
        .expect("pgrep");
    let pid = String::from_utf8_lossy(&children.stdout)
        .lines()
        .next()
        .expect("amptap's pid")
        .to_owned();
    Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    let after = tmux.wait_for("the shell again", |s| {
        s.lines().any(|l| l.starts_with("EXITED "))
    });
    assert!(
        after.contains("amptap: ") && after.contains("events"),
        "the summary is printed:\n{after}"
    );
    assert_eq!(
        tmux.pane("#{alternate_on}").trim(),
        "0",
        "alternate screen left"
    );
}
