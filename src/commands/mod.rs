//! One module per subcommand, plus what they share: paths, logging, signals.

pub mod check;
pub mod docs;
pub mod fake;
pub mod inspect;
pub mod plan;
pub mod reconcile;
pub mod serve;

use std::path::{Path, PathBuf};

use anyhow::Context;
use tracing_subscriber::EnvFilter;

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
