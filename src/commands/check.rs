//! `amptap check`: journals × plan → a report; exit 1 on findings at or above `--fail-on`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use amptap::check::check_journals;
use amptap::plan;
use amptap::report::Format;
use anyhow::Context;

use crate::cli::CheckArgs;

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let plan = plan::load(&args.plan)?;
    let paths: Vec<&Path> = args.captures.iter().map(PathBuf::as_path).collect();
    let label = args.plan.display().to_string();
    let (report, warnings) =
        check_journals(&plan, Some(&label), &paths, time::OffsetDateTime::now_utc())?;
    for w in &warnings {
        eprintln!("amptap: warning: {}: {}", w.file, w.warning);
    }
    let format = args
        .format
        .or_else(|| args.out.as_deref().and_then(Format::from_path))
        .unwrap_or(Format::Text);
    let threshold = args.fail_on.threshold();
    match &args.out {
        Some(path) => {
            let file =
                File::create(path).with_context(|| format!("creating {}", path.display()))?;
            let mut out = BufWriter::new(file);
            report.write(format, threshold, &mut out)?;
            out.flush()?;
            eprintln!(
                "amptap: {} events, {} errors, {} warnings; report written to {}",
                report.summary.events,
                report.summary.errors,
                report.summary.warnings,
                path.display()
            );
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            match report.write(format, threshold, &mut out) {
                // `| head` closed stdout: the verdict (exit code) still stands.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                other => other?,
            }
        }
    }
    Ok(if report.fails(threshold) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
