//! Output for other tools: `amptap har`, `amptap completions` (and `man`, in `man.rs`).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::Cli;

/// Streams every journal's records into one archive on stdout.
pub fn har(captures: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let (captures, _stdin) = super::spool_inputs(captures)?;
    let records = super::records(&captures)?;
    let stdout = std::io::stdout().lock();
    let mut out = std::io::BufWriter::new(stdout);
    amptap::har::write_archive(records, &mut out)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<ExitCode> {
    clap_complete::generate(shell, &mut Cli::command(), "amptap", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}
