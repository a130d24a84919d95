//! `amptap check`: journals × plan → a report; exit 1 on findings at or above `--fail-on`.
//!
//! JSON and CSV are written as the findings come (nothing held); the other
//! formats list a few examples of each kind of finding and count them all.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use amptap::check::{builder, check_journals, InputWarning};
use amptap::outfile::OutFile;
use amptap::report::{Document, Format, Keep, Report, StreamOut};
use anyhow::Context;

use crate::cli::CheckArgs;

/// Examples listed per (event type, code, path) in text, Markdown, HTML, JUnit.
const EXAMPLES: usize = 20;

pub fn run(mut args: CheckArgs) -> anyhow::Result<ExitCode> {
    // `-` is standard output, as in every Unix tool.
    args.out = super::stdout_if_dash(args.out.take());
    let plan = amptap::plan_file::load(&args.plan)?;
    let (captures, _stdin) = super::spool_inputs(&args.captures)?;
    let paths: Vec<&Path> = captures.iter().map(PathBuf::as_path).collect();
    // Reports name the inputs as given (`-`, kafka://…), not their spools.
    let names: Vec<&Path> = args.captures.iter().map(PathBuf::as_path).collect();
    let label = args.plan.display().to_string();
    let now = time::OffsetDateTime::now_utc();
    let format = args
        .format
        .or_else(|| args.out.as_deref().and_then(Format::from_path))
        .unwrap_or(Format::Text);
    let fail_on = args.fail_on.threshold();
    if args.summary_only && format == Format::Csv {
        anyhow::bail!("--summary-only leaves nothing to write as CSV (one row per finding): use --format text, md, html, json or junit");
    }
    // At most this many listed: per kind in the grouped formats, in all in the streamed ones.
    let listed = match (args.summary_only, args.max_findings) {
        (true, _) => 0,
        (false, Some(n)) => n,
        (false, None) => usize::MAX,
    };
    if !matches!(format, Format::Json | Format::Csv) {
        let keep = Keep::Examples(EXAMPLES.min(listed));
        let mut b = builder(&plan, Some(&label), &names, now, keep);
        let warnings = check_journals(&mut b, &plan, &paths, &mut |_| Ok(()))?;
        print_warnings(&warnings);
        let report = b.finish();
        let exit =
            super::emit_report(&report, Some(format), args.out.as_deref(), fail_on, summary)?;
        return Ok(nothing_checked(&report, &warnings, &args).unwrap_or(exit));
    }
    let mut file = args
        .out
        .as_deref()
        .map(|path| OutFile::create(path).with_context(|| format!("creating {}", path.display())))
        .transpose()?;
    let mut out: Box<dyn Write> = match &mut file {
        Some(file) => Box::new(std::io::BufWriter::new(file)),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let mut b = builder(&plan, Some(&label), &names, now, Keep::Stream);
    let mut stream = StreamOut::begin(format, b.head(), &mut out)?.context("a streamed format")?;
    // `| head` closing stdout stops the writing, not the check: the exit code still stands.
    let to_stdout = args.out.is_none();
    let closed = std::cell::Cell::new(false);
    let keep_going = |result: std::io::Result<()>| match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe && to_stdout => {
            closed.set(true);
            Ok(())
        }
        other => other,
    };
    let warnings = check_journals(&mut b, &plan, &paths, &mut |entry| {
        if closed.get() {
            return Ok(());
        }
        if stream.written() >= listed as u64 {
            stream.omit();
            return Ok(());
        }
        keep_going(stream.finding(entry))
    })?;
    let report = b.finish();
    if closed.get() {
        drop(stream);
    } else {
        keep_going(stream.end(&report))?;
    }
    print_warnings(&warnings);
    keep_going(out.flush())?;
    drop(out);
    if let Some(file) = file {
        file.commit()?;
    }
    if let Some(path) = &args.out {
        eprintln!(
            "amptap: {}; report written to {}",
            summary(&report),
            path.display()
        );
    }
    if let Some(exit) = nothing_checked(&report, &warnings, &args) {
        return Ok(exit);
    }
    Ok(if report.fails(fail_on) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// A check of nothing is not a pass: inputs without a single request (an
/// empty journal, a README, a HAR, a gzip) exit 2 and say why, unless
/// `--allow-empty` says nothing was expected.
fn nothing_checked(
    report: &Report,
    warnings: &[InputWarning],
    args: &CheckArgs,
) -> Option<ExitCode> {
    if report.summary.requests > 0 || args.allow_empty {
        return None;
    }
    let names: Vec<String> = args
        .captures
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let why = if warnings.is_empty() {
        "no requests were recorded: did the SDK reach the tap? Its serverUrl must point at amptap (e.g. http://127.0.0.1:8787/2/httpapi)".to_owned()
    } else {
        format!(
            "not amptap journals: {} lines could not be read as records",
            warnings.len()
        )
    };
    eprintln!(
        "amptap: error: nothing to check in {}: {why}; --allow-empty if no events were expected",
        names.join(", ")
    );
    Some(ExitCode::from(2))
}

fn print_warnings(warnings: &[InputWarning]) {
    for w in warnings {
        eprintln!("amptap: warning: {}: {}", w.file, w.warning);
    }
}

fn summary(r: &Report) -> String {
    let s = &r.summary;
    format!(
        "{} events, {} errors, {} warnings",
        s.events, s.errors, s.warnings
    )
}
