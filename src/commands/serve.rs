//! `amptap serve`: the headless proxy. A line per request on stderr, a
//! summary when Ctrl-C or SIGTERM stops it.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use std::io::Write;

use amptap::event::BodyLimits;
use amptap::pipeline::{Item, Sink};
use amptap::plan::{Finding, Plan, Severity};
use amptap::report::{expected_actual, NO_TYPE};
use amptap::sanitize::sanitize;
use amptap::tap::{Delivery, Mode, Record, RunningTap, TapConfig, Target, Upstream};

use anyhow::Context;

use crate::cli::ProxyArgs;

pub async fn run(args: ProxyArgs) -> anyhow::Result<ExitCode> {
    let plan = args
        .plan
        .as_deref()
        .map(amptap::plan_file::load)
        .transpose()?;
    let with_findings = plan.is_some();
    let config = tap_config(&args, plan)?;
    let mode_text = config.mode.describe();
    let printer: Box<dyn Sink> = Box::new(Printer {
        quiet: args.quiet,
        with_findings,
    });
    let tap = RunningTap::start(config, vec![printer]).await?;
    if !tap.addr.ip().is_loopback() {
        eprintln!(
            "amptap: warning: listening on {}, which is not loopback: anyone who can reach it can send events through it (the query API stays loopback-only unless --api-token is set)",
            tap.addr
        );
    }
    eprintln!("amptap listening on http://{} — {mode_text}", tap.addr);
    eprintln!("  journal: {}", tap.tap.journal.path().display());
    if let Some(path) = &args.plan {
        eprintln!("  plan: {}", path.display());
    }
    if tap.tap.session.is_some() {
        eprintln!(
            "  query API: http://{0}/_amptap/summary · metrics: http://{0}/metrics",
            tap.addr
        );
    }
    eprintln!(
        "  point your SDK's serverUrl at http://{}/2/httpapi · Ctrl-C to stop",
        tap.addr
    );

    let watch = tokio::spawn(watch_journal(tap.tap.journal.stats_handle()));
    super::shutdown_signal().await;
    watch.abort();
    eprintln!("amptap: stopping, finishing requests in flight…");
    // Joins every stage: each request's line is printed before the summary.
    let summary = tap.stop().await;
    eprintln!(
        "amptap: {} requests, {} events, {} forward failures, {} undecodable; journal {} ({} bytes)",
        summary.requests,
        summary.events,
        summary.forward_failures,
        summary.undecodable,
        summary.journal_path.display(),
        summary.journal_bytes
    );
    if summary.journal_failures > 0 {
        eprintln!(
            "amptap: error: {} requests could not be written to the journal (each was answered 503, so SDKs retried)",
            summary.journal_failures
        );
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints a line per request and, with a plan, a line per finding under
/// it, on the judge stage's thread, in journal order.
struct Printer {
    quiet: bool,
    with_findings: bool,
}

impl Sink for Printer {
    fn accept(&mut self, batch: &[Item]) {
        if self.quiet {
            return;
        }
        let mut err = std::io::stderr().lock();
        for item in batch {
            if let Item::Judged(judged) = item {
                let findings: &[Vec<Finding>] = if self.with_findings {
                    &judged.findings
                } else {
                    &[]
                };
                let _ = writeln!(err, "{}", request_text(&judged.record, findings));
            }
        }
    }

    fn warn(&mut self, message: &str) {
        eprintln!("amptap: warning: {message}");
    }
}

/// The tap's settings; `plan` judges the live session behind the query API.
pub fn tap_config(args: &ProxyArgs, plan: Option<Plan>) -> anyhow::Result<TapConfig> {
    let mode = if args.offline {
        Mode::Offline
    } else {
        let target = match &args.upstream {
            Some(url) => Target::Base(url.clone()),
            None => Target::Region(args.region),
        };
        if !(args.upstream_timeout.is_finite() && args.upstream_timeout > 0.0) {
            anyhow::bail!("--upstream-timeout must be a positive number of seconds");
        }
        let timeout = Duration::from_secs_f64(args.upstream_timeout);
        Mode::Forward(Upstream::new(target, timeout)?)
    };
    let journal_path = args
        .record
        .clone()
        .unwrap_or_else(super::default_journal_path);
    Ok(TapConfig {
        listen: args.listen,
        mode,
        limits: BodyLimits {
            max_body_bytes: args.max_body,
        },
        journal_path,
        fsync: args.fsync,
        plan: Arc::new(plan.unwrap_or_else(Plan::none)),
        session_memory: (args.session_memory > 0).then_some(args.session_memory),
        api_token: api_token(args)?,
        judging: true,
        clients: client_limits(args)?,
        in_flight_memory: in_flight_memory(args)?,
    })
}

/// What `--memory` leaves for requests in flight once the session and the
/// tap itself have their share; enough for the largest body at least.
pub fn in_flight_memory(args: &ProxyArgs) -> anyhow::Result<usize> {
    use amptap::tap::budget::{judge_cost, request_cost};
    // The runtime and buffers, and the judge stage holding the largest record.
    let own = (64 << 20) + judge_cost(args.max_body);
    let need = args.session_memory + own + request_cost(args.max_body);
    if args.memory < need {
        anyhow::bail!(
            "--memory {} MiB is too little: the session takes {} MiB (--session-memory), amptap and its judge stage {} MiB, and the largest request (--max-body {} MiB) up to {} MiB while it is handled; give at least {} MiB",
            args.memory >> 20,
            args.session_memory >> 20,
            own >> 20,
            args.max_body >> 20,
            request_cost(args.max_body) >> 20,
            need.div_ceil(1 << 20)
        );
    }
    Ok(args.memory - args.session_memory - own)
}

/// How long clients may take and how many there may be.
pub fn client_limits(args: &ProxyArgs) -> anyhow::Result<amptap::tap::server::ClientLimits> {
    let seconds = |value: f64, flag: &str| {
        if value.is_finite() && value > 0.0 && value <= 86_400.0 {
            Ok(Duration::from_secs_f64(value))
        } else {
            Err(anyhow::anyhow!(
                "{flag} must be a number of seconds between 0 and 86400"
            ))
        }
    };
    if args.max_connections == 0 {
        anyhow::bail!("--max-connections must be at least 1");
    }
    // Past the file-descriptor limit every accept fails and every client
    // times out; below it, one connection too many is told to retry.
    let mut max_connections = args.max_connections;
    if let Some(fds) = open_files_limit() {
        let room = fds.saturating_sub(64).max(16);
        if max_connections > room {
            tracing::info!(
                fds,
                "--max-connections {max_connections} lowered to {room}: the open-files limit"
            );
            max_connections = room;
        }
    }
    Ok(amptap::tap::server::ClientLimits {
        client_timeout: seconds(args.client_timeout, "--client-timeout")?,
        min_body_rate: args.min_body_rate.max(1) as u64,
        max_connections,
        drain: seconds(args.drain, "--drain")?,
    })
}

/// The soft limit on open files (Linux, from /proc; `ulimit -n`).
fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// The query API's token: from `--api-token-file`, else `--api-token` or
/// `AMPTAP_API_TOKEN`; an empty one is none.
fn api_token(args: &ProxyArgs) -> anyhow::Result<Option<String>> {
    let token = match &args.api_token_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading --api-token-file {}", path.display()))?;
            text.lines().next().unwrap_or_default().trim().to_owned()
        }
        None => args.api_token.clone().unwrap_or_default(),
    };
    Ok(Some(token).filter(|t| !t.is_empty()))
}

/// Says at once when the journal stops taking records, and when it takes
/// them again: requests in between are answered 503.
async fn watch_journal(journal: Arc<amptap::journal::JournalStats>) {
    let mut was_broken = false;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tick.tick().await;
        match (journal.broken(), was_broken) {
            (Some(why), false) => {
                eprintln!("amptap: error: the journal cannot be written ({why}): answering 503 so SDKs keep their events and retry");
                was_broken = true;
            }
            (None, true) => {
                eprintln!("amptap: the journal is writable again; requests are accepted");
                was_broken = false;
            }
            _ => {}
        }
    }
}

/// The request line, then one line per finding (none when `findings` is empty).
pub fn request_text(capture: &Record, findings: &[Vec<Finding>]) -> String {
    let mut text = request_line(capture);
    for (event, findings) in capture.events.iter().zip(findings) {
        if findings.is_empty() {
            continue;
        }
        event.with_parsed(|event| event_lines(&mut text, event, findings));
    }
    text
}

fn event_lines(text: &mut String, event: &amptap::event::Event, findings: &[Finding]) {
    for f in findings {
        let mark = match f.severity {
            Severity::Error => "✗",
            Severity::Warning => "⚠",
            Severity::Info => "·",
        };
        let id = event
            .insert_id()
            .map(|i| format!(" [{}]", sanitize(i)))
            .unwrap_or_default();
        text.push_str(&format!(
            "\n    {mark} {}{id}: {} {} ({})",
            sanitize(event.event_type().unwrap_or(NO_TYPE)),
            f.code,
            sanitize(&f.path),
            sanitize(&expected_actual(f)),
        ));
    }
}

/// `08:30:01.123 /2/httpapi  7 events  Button Clicked, Page Viewed +5  → 200 (3.1 ms)`
/// or, for a request without readable events,
/// `08:30:01.123 GET /2/httpApi  ✗ wrong_path: no Amplitude API at /2/httpApi  → 404`
pub fn request_line(c: &Record) -> String {
    let t = c.received;
    let clock = format!(
        "{:02}:{:02}:{:02}.{:03}",
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    );
    let mut line = match &c.problem {
        Some(problem) => format!(
            "{clock} {:<14} ✗ {}: {}",
            sanitize(&c.request_line()),
            problem.kind.as_str(),
            sanitize(&problem.reason)
        ),
        None => {
            let mut line = format!(
                "{clock} {:<14} {:>4} event{} ",
                sanitize(&c.path),
                c.events.len(),
                if c.events.len() == 1 { " " } else { "s" },
            );
            let types: Vec<_> = c
                .events
                .iter()
                .take(3)
                .map(|e| sanitize(e.event_type().unwrap_or("(no event_type)")).into_owned())
                .collect();
            line.push_str(&types.join(", "));
            if c.events.len() > 3 {
                line.push_str(&format!(" +{}", c.events.len() - 3));
            }
            line
        }
    };
    line.push_str(&format!("  → {}", c.answer.status));
    if c.problem.is_none() && c.answer.status >= 400 {
        // Why Amplitude (or the stand-in) said no: its `error`, else its text.
        let why = serde_json::from_str::<serde_json::Value>(&c.answer.body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
            .unwrap_or_else(|| c.answer.body.chars().take(120).collect());
        if !why.trim().is_empty() {
            line.push_str(&format!(" {}", sanitize(why.trim())));
        }
    }
    match &c.delivery {
        Delivery::Forwarded { latency_ms, .. } => line.push_str(&format!(" ({latency_ms:.1} ms)")),
        Delivery::Offline => line.push_str(" (offline)"),
        Delivery::Failed { error, .. } => {
            line.push_str(&format!(" NOT FORWARDED: {}", sanitize(error)))
        }
        Delivery::Refused { .. } => {}
    }
    line
}
