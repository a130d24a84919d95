//! `amptap export` and `amptap reconcile`.

use std::io::{BufWriter, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use amptap::export::{Credentials, Downloaded, ExportClient, Hour, Progress, Window};
use amptap::mismatch::{self, Job, Source};
use anyhow::Context;
use tokio::sync::watch;

use crate::cli::{ExportApiArgs, ExportArgs, ReconcileArgs};

fn client(api: &ExportApiArgs) -> anyhow::Result<ExportClient> {
    let credentials = Credentials::load(&super::config_dir().join("config.toml"))?;
    Ok(ExportClient::new(
        api.region,
        api.endpoint.as_deref(),
        credentials,
        Duration::from_secs(api.timeout),
    )?)
}

fn window(start: &str, end: &str) -> anyhow::Result<Window> {
    let start: Hour = start
        .parse()
        .map_err(anyhow::Error::msg)
        .context("--start")?;
    let end: Hour = end.parse().map_err(anyhow::Error::msg).context("--end")?;
    Window::new(start, end).map_err(anyhow::Error::msg)
}

/// A progress bar on stderr, when it is a terminal: the download, then
/// reading the captures and matching them part by part.
fn show_progress(mut rx: watch::Receiver<Progress>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if !std::io::stderr().is_terminal() {
            return;
        }
        let style = indicatif::ProgressStyle::with_template(
            "amptap: {msg:40} [{bar:30}] {percent:>3}% {elapsed}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> ");
        let bar = indicatif::ProgressBar::new(1).with_style(style);
        while rx.changed().await.is_ok() {
            let p = rx.borrow_and_update().clone();
            let message = match p.state.as_str() {
                "matching" | "reading captures" => p.state.clone(),
                _ => format!(
                    "{} {:.1} MB (try {})",
                    p.state,
                    p.bytes as f64 / 1_048_576.0,
                    p.attempt
                ),
            };
            bar.set_length(p.total.unwrap_or(0).max(p.bytes).max(1));
            bar.set_position(p.bytes);
            bar.set_message(message);
        }
        bar.finish_and_clear();
    })
}

pub async fn export(mut args: ExportArgs) -> anyhow::Result<ExitCode> {
    // `-` is standard output, as in every Unix tool.
    args.out = super::stdout_if_dash(args.out.take());
    let window = window(&args.start, &args.end)?;
    let client = client(&args.api)?;
    let (tx, rx) = watch::channel(Progress::default());
    let bar = show_progress(rx);
    // The archive is a private temporary file beside the output (0600, a
    // name nobody can guess or plant), gone when this returns, whatever happens.
    let dir = match args.out.as_deref().and_then(std::path::Path::parent) {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        Some(_) => std::path::PathBuf::from("."),
        None => std::env::temp_dir(),
    };
    let archive = tempfile::Builder::new()
        .prefix(".amptap-export-")
        .suffix(".zip")
        .tempfile_in(&dir)
        .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
    let result = client.download(&window, archive.path(), &tx).await;
    drop(tx);
    let _ = bar.await;
    let path = match result? {
        Downloaded::NoData => {
            eprintln!("amptap: Amplitude has no data for {window} (404): nothing exported yet (data appears about 2 hours after ingestion)");
            return Ok(ExitCode::SUCCESS);
        }
        Downloaded::Archive { path, .. } => path,
    };
    let mut file = args
        .out
        .as_deref()
        .map(amptap::outfile::OutFile::create)
        .transpose()?;
    let mut out: Box<dyn Write> = match &mut file {
        Some(file) => Box::new(BufWriter::new(file)),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let mut warnings = Vec::new();
    let mut failed = None;
    let stats = amptap::export::read_archive(
        &path,
        |row| {
            if failed.is_none() {
                if let Err(e) = serde_json::to_writer(&mut out, &row)
                    .map_err(std::io::Error::from)
                    .and_then(|()| out.write_all(b"\n"))
                {
                    failed = Some(e);
                }
            }
        },
        &mut warnings,
    );
    let stats = stats?;
    if let Some(e) = failed {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(e.into());
        }
    }
    out.flush().or_else(|e| {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Ok(())
        } else {
            Err(e)
        }
    })?;
    drop(out);
    if let Some(file) = file {
        file.commit()?;
    }
    for w in &warnings {
        eprintln!("amptap: warning: {w}");
    }
    eprintln!(
        "amptap: {} rows from {} files ({:.1} MB of JSON) for {window}",
        stats.rows,
        stats.files,
        stats.bytes as f64 / 1_048_576.0
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn reconcile(mut args: ReconcileArgs) -> anyhow::Result<ExitCode> {
    // `-` is standard output, as in every Unix tool.
    args.out = super::stdout_if_dash(args.out.take());
    let plan = match &args.plan {
        Some(p) => Some((p.display().to_string(), amptap::plan_file::load(p)?)),
        None => None,
    };
    let source = match (&args.export, &args.start, &args.end) {
        (Some(file), _, _) => Source::File(file.clone()),
        (None, Some(start), Some(end)) => Source::Api {
            client: client(&args.api)?,
            window: Some(window(start, end)?),
            wait: None,
            poll: Duration::ZERO,
        },
        _ => Source::Api {
            client: client(&args.api)?,
            window: None,
            wait: None,
            poll: Duration::ZERO,
        },
    };
    let source = match source {
        Source::Api { client, window, .. } if args.wait => Source::Api {
            client,
            window,
            wait: Some(Duration::from_secs(args.wait_timeout)),
            poll: Duration::from_secs(args.poll.max(1)),
        },
        other => other,
    };
    // `-` is standard input (the captures, or an export file; not both).
    let (captures, _spooled) = super::spool_inputs(&args.capture)?;
    let (source, _stdin_export) = match source {
        Source::File(file) if file.as_os_str() == "-" => {
            if args.capture.iter().any(|c| c.as_os_str() == "-") {
                anyhow::bail!("standard input can be the captures or the export, not both");
            }
            let (mut spooled, guard) = super::spool_inputs(&[file])?;
            (Source::File(spooled.remove(0)), guard)
        }
        other => (other, Vec::new()),
    };
    let job = Job {
        captures,
        source,
        plan,
        tolerance_ms: args.tolerance_ms,
        memory: args.max_memory,
    };
    let (tx, rx) = watch::channel(Progress::default());
    let bar = show_progress(rx);
    let outcome = mismatch::run(job, &tx).await;
    drop(tx);
    let _ = bar.await;
    let outcome = outcome?;
    for note in &outcome.notes {
        eprintln!("amptap: {note}");
    }
    super::emit_report(
        &outcome.report,
        args.format,
        args.out.as_deref(),
        args.fail_on.threshold(),
        |r| {
            let s = &r.reconcile.summary;
            format!(
                "{} captured, {} matched, {} missing, {} rejected, {} not forwarded, {} changed",
                s.captured, s.matched, s.missing, s.rejected, s.not_forwarded, s.changed
            )
        },
    )
}
