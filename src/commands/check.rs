//! `amptap check`: journals × plan → a report; exit 1 on findings at or above `--fail-on`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use amptap::check::check_journals;

use crate::cli::CheckArgs;

pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    let plan = amptap::plan_file::load(&args.plan)?;
    let paths: Vec<&Path> = args.captures.iter().map(PathBuf::as_path).collect();
    let label = args.plan.display().to_string();
    let (report, warnings) =
        check_journals(&plan, Some(&label), &paths, time::OffsetDateTime::now_utc())?;
    for w in &warnings {
        eprintln!("amptap: warning: {}: {}", w.file, w.warning);
    }
    super::emit_report(
        &report,
        args.format,
        args.out.as_deref(),
        args.fail_on.threshold(),
        |r| {
            let s = &r.summary;
            format!(
                "{} events, {} errors, {} warnings",
                s.events, s.errors, s.warnings
            )
        },
    )
}
