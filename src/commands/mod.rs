//! One module per subcommand, plus what they share: paths, logging, signals.

pub mod check;
pub mod docs;
pub mod fake;
pub mod inspect;
pub mod layered;
pub mod man;
pub mod plan;
pub mod reconcile;
pub mod serve;
mod serve_out;

use std::path::{Path, PathBuf};

use anyhow::Context;
use tracing_subscriber::EnvFilter;

/// Writes a report (to `out`, else stdout) in the asked format (else the
/// one `out`'s extension names, else text) and turns it into the exit code:
/// 1 when something is at or above `fail_on`. `written` says what went to a file.
pub fn emit_report<R: amptap::report::Document>(
    report: &R,
    format: Option<amptap::report::Format>,
    out: Option<&Path>,
    fail_on: Option<amptap::plan::Severity>,
    written: impl Fn(&R) -> String,
) -> anyhow::Result<std::process::ExitCode> {
    use amptap::report::Format;
    let format = format
        .or_else(|| out.and_then(Format::from_path))
        .unwrap_or(Format::Text);
    match out {
        Some(path) => {
            let file = amptap::outfile::OutFile::create(path)
                .with_context(|| format!("creating {}", path.display()))?;
            let mut w = std::io::BufWriter::new(file);
            report.write(format, fail_on, &mut w)?;
            w.into_inner().map_err(|e| e.into_error())?.commit()?;
            eprintln!(
                "amptap: {}; report written to {}",
                written(report),
                path.display()
            );
        }
        None => match report.write(format, fail_on, &mut std::io::stdout().lock()) {
            // `| head` closed stdout: the verdict (exit code) still stands.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
            other => other?,
        },
    }
    Ok(if report.fails(fail_on) {
        std::process::ExitCode::from(1)
    } else {
        std::process::ExitCode::SUCCESS
    })
}

/// Every record of `paths`, in order, read as a stream; lines a journal
/// skips are warned about on stderr when it ends. All are opened first,
/// so a missing file fails before any output.
pub fn records(paths: &[PathBuf]) -> anyhow::Result<impl Iterator<Item = amptap::record::Record>> {
    let mut readers = Vec::new();
    for path in paths {
        readers.push((path.clone(), amptap::journal::open_reader(path)?));
    }
    Ok(readers.into_iter().flat_map(|(path, mut reader)| {
        std::iter::from_fn(move || {
            let next = reader.next();
            if next.is_none() {
                for w in reader.warnings() {
                    eprintln!("amptap: warning: {}: {w}", path.display());
                }
            }
            next
        })
    }))
}

/// Where captures and the log go: `$AMPTAP_DATA_DIR`, else the platform's data directory.
pub fn data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("AMPTAP_DATA_DIR") {
        return PathBuf::from(dir);
    }
    directories::ProjectDirs::from("", "", "amptap")
        .map(|d| d.data_dir().to_owned())
        .unwrap_or_else(|| PathBuf::from(".amptap"))
}

/// A new journal path: `<data dir>/captures/2026-11-25T08-30-00Z.jsonl`.
pub fn default_journal_path() -> PathBuf {
    let now = time::OffsetDateTime::now_utc();
    let name = format!(
        "{:04}-{:02}-{:02}T{:02}-{:02}-{:02}Z.jsonl",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    data_dir().join("captures").join(name)
}

/// Where settings that outlive a run go (the filter history):
/// `$AMPTAP_CONFIG_DIR`, else the platform's config directory.
pub fn config_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("AMPTAP_CONFIG_DIR") {
        return PathBuf::from(dir);
    }
    directories::ProjectDirs::from("", "", "amptap")
        .map(|d| d.config_dir().to_owned())
        .unwrap_or_else(|| PathBuf::from(".amptap"))
}

/// The terminal belongs to the command's output: tracing goes to a file.
/// `AMPTAP_LOG` sets the level (default `info`).
pub fn init_logging(log_file: Option<&Path>) -> anyhow::Result<()> {
    let path = log_file.map_or_else(|| data_dir().join("amptap.log"), Path::to_owned);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("opening log file {}", path.display()))?;
    let filter = EnvFilter::try_from_env("AMPTAP_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .init();
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// `--out -` means standard output.
pub fn stdout_if_dash(out: Option<PathBuf>) -> Option<PathBuf> {
    out.filter(|p| p.as_os_str() != "-")
}

/// Spooled inputs, removed when dropped.
pub type Spools = Vec<tempfile::NamedTempFile>;

/// Journals named `-` (standard input) and `kafka://…` topics (read to
/// their end as they stand) are spooled to private temporary files:
/// journals are read by position. The files go when the guard is dropped.
pub fn spool_inputs(paths: &[PathBuf]) -> anyhow::Result<(Vec<PathBuf>, Spools)> {
    let mut spools = Vec::new();
    let mut stdin: Option<PathBuf> = None;
    let mut out = Vec::with_capacity(paths.len());
    for p in paths {
        if p.as_os_str() == "-" {
            if stdin.is_none() {
                let mut spool = new_spool("stdin")?;
                std::io::copy(&mut std::io::stdin().lock(), spool.as_file_mut())
                    .context("reading standard input")?;
                stdin = Some(spool.path().to_owned());
                spools.push(spool);
            }
            out.extend(stdin.clone());
        } else if amptap::kafka::is_kafka(p.as_os_str()) {
            let spool = spool_topic(&p.to_string_lossy())?;
            out.push(spool.path().to_owned());
            spools.push(spool);
        } else {
            out.push(p.clone());
        }
    }
    Ok((out, spools))
}

fn new_spool(what: &str) -> anyhow::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(&format!(".amptap-{what}-"))
        .suffix(".jsonl")
        .tempfile()
        .with_context(|| format!("a temporary file for {what}"))
}

fn spool_topic(url: &str) -> anyhow::Result<tempfile::NamedTempFile> {
    let url: amptap::kafka::KafkaUrl = url.parse()?;
    let mut spool = new_spool("kafka")?;
    let mut out = std::io::BufWriter::new(spool.as_file_mut());
    let done =
        amptap::kafka::consume::spool(&url, &mut out).with_context(|| format!("reading {url}"))?;
    drop(out);
    if done.skipped > 0 {
        eprintln!(
            "amptap: warning: {url}: {} messages were not journal lines (not published by amptap) and were skipped",
            done.skipped
        );
    }
    tracing::info!(records = done.records, "read {url}");
    Ok(spool)
}
