//! `amptap serve`: the headless proxy. A line per request on stderr, a
//! summary when Ctrl-C or SIGTERM stops it.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// A line on stderr that never panics: with stderr closed (`2>&-`) the tap
/// goes on, and `--json`'s stdout still gets every record at exit.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

use amptap::event::BodyLimits;
use amptap::pipeline::Sink;
use amptap::plan::Plan;
use amptap::tap::{Mode, RunningTap, TapConfig, Target, Upstream};

use anyhow::Context;

use super::serve_out::{Output, Printer};
use crate::cli::{ProxyArgs, ServeArgs};

pub async fn run(serve: ServeArgs) -> anyhow::Result<ExitCode> {
    let args = serve.proxy;
    let plan = args
        .plan
        .as_deref()
        .map(amptap::plan_file::load)
        .transpose()?;
    let with_findings = plan.is_some();
    let config = tap_config(&args, plan)?;
    let mode_text = config.mode.describe();
    let output = match (serve.quiet, serve.json) {
        (true, _) => Output::Quiet,
        (false, true) => Output::Json,
        (false, false) => Output::Lines,
    };
    let printer: Box<dyn Sink> = Box::new(Printer {
        output,
        with_findings,
    });
    let tap = RunningTap::start(config, vec![printer]).await?;
    if !tap.addr.ip().is_loopback() {
        say!(
            "amptap: warning: listening on {}, which is not loopback: anyone who can reach it can send events through it (the query API stays loopback-only unless --api-token is set)",
            tap.addr
        );
    }
    say!("amptap listening on http://{} — {mode_text}", tap.addr);
    say!("  journal: {}", tap.tap.journal.path().display());
    if let Some(path) = &args.plan {
        say!("  plan: {}", path.display());
    }
    let publish = tap.tap.publish.clone();
    if let Some(p) = &publish {
        say!("  publishing to {} (keyed by device)", p.target);
    }
    if tap.tap.session.is_some() {
        say!(
            "  query API: http://{0}/_amptap/summary · metrics: http://{0}/metrics",
            tap.addr
        );
    }
    say!(
        "  point your SDK's serverUrl at http://{}/2/httpapi · Ctrl-C to stop",
        tap.addr
    );

    let watch = tokio::spawn(watch_journal(
        tap.tap.journal.stats_handle(),
        publish.clone(),
    ));
    super::shutdown_signal().await;
    watch.abort();
    say!("amptap: stopping, finishing requests in flight…");
    // Joins every stage: each request's line is printed before the summary.
    let summary = tap.stop().await;
    say!(
        "amptap: {} requests, {} events, {} forward failures, {} undecodable; journal {} ({} bytes)",
        summary.requests,
        summary.events,
        summary.forward_failures,
        summary.undecodable,
        summary.journal_path.display(),
        summary.journal_bytes
    );
    if let Some(p) = publish.filter(|p| p.backlog_bytes() > 0) {
        say!(
            "amptap: {} journal bytes not yet in {} ({}); they are published at the next start with this journal",
            p.backlog_bytes(),
            p.target,
            p.down().unwrap_or_default()
        );
    }
    if summary.journal_failures > 0 {
        say!(
            "amptap: error: {} requests could not be written to the journal (each was answered 503, so SDKs retried)",
            summary.journal_failures
        );
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
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
    let journal_path = match &args.record {
        Some(path) => journal_file(path)?,
        None => super::default_journal_path(),
    };
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
        relay_api_key: relay_api_key(),
        relay_throttle_wait: seconds(args.relay_throttle_wait, "--relay-throttle-wait")?,
        publish: args.publish.clone(),
    })
}

/// The Amplitude project key the relay sends with: `AMPLITUDE_API_KEY`,
/// else `[amplitude] api_key` in the config file (never a flag: argv is public).
fn relay_api_key() -> Option<String> {
    if let Some(key) = std::env::var("AMPLITUDE_API_KEY")
        .ok()
        .filter(|k| !k.is_empty())
    {
        return Some(key);
    }
    let text = std::fs::read_to_string(super::config_dir().join("config.toml")).ok()?;
    let table: toml::Table = toml::from_str(&text).ok()?;
    Some(table.get("amplitude")?.get("api_key")?.as_str()?.to_owned())
}

/// The journal is a file amptap appends to, cuts back after a torn write
/// and reads back: not standard output, a pipe or a device.
fn journal_file(path: &std::path::Path) -> anyhow::Result<std::path::PathBuf> {
    let special = path.as_os_str() == "-" || std::fs::metadata(path).is_ok_and(|m| !m.is_file());
    if special {
        anyhow::bail!(
            "--record {}: the journal must be a regular file (amptap appends to it, repairs it after a crash and reads it back); for records on standard output use `amptap serve --json`",
            path.display()
        );
    }
    Ok(path.to_owned())
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

/// A flag's number of seconds, checked.
fn seconds(value: f64, flag: &str) -> anyhow::Result<Duration> {
    if value.is_finite() && value > 0.0 && value <= 86_400.0 {
        Ok(Duration::from_secs_f64(value))
    } else {
        Err(anyhow::anyhow!(
            "{flag} must be a number of seconds between 0 and 86400"
        ))
    }
}

/// How long clients may take and how many there may be.
pub fn client_limits(args: &ProxyArgs) -> anyhow::Result<amptap::tap::server::ClientLimits> {
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
async fn watch_journal(
    journal: Arc<amptap::journal::JournalStats>,
    publish: Option<Arc<amptap::kafka::PublishStats>>,
) {
    let mut journal_state = Edge::default();
    let mut publish_state = Edge::default();
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tick.tick().await;
        if let Some(p) = &publish {
            publish_state.say(
                p.down(),
                |why| format!("amptap: warning: cannot publish to {} ({why}); the journal keeps every record and publishing catches up when the broker is back", p.target),
                || format!("amptap: publishing to {} again", p.target),
            );
        }
        journal_state.say(
            journal.broken(),
            |why| format!("amptap: error: the journal cannot be written ({why}): answering 503 so SDKs keep their events and retry"),
            || "amptap: the journal is writable again; requests are accepted".to_owned(),
        );
    }
}

/// Something that can break and mend, said once each time it changes.
#[derive(Default)]
struct Edge {
    broken: bool,
}

impl Edge {
    fn say(
        &mut self,
        now: Option<String>,
        broke: impl FnOnce(&str) -> String,
        mended: impl FnOnce() -> String,
    ) {
        match (now, self.broken) {
            (Some(why), false) => say!("{}", broke(&why)),
            (None, true) => say!("{}", mended()),
            _ => return,
        }
        self.broken = !self.broken;
    }
}
