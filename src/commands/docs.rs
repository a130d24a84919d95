//! Output for other tools: `amptap har`, `amptap completions`, `amptap man`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::CommandFactory;

use crate::cli::Cli;

pub fn har(captures: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut all = Vec::new();
    for path in captures {
        let mut reader = amptap::journal::open_reader(path)?;
        all.extend(reader.by_ref());
        for w in reader.warnings() {
            eprintln!("amptap: warning: {}: {w}", path.display());
        }
    }
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &amptap::har::archive(&all))?;
    out.write_all(b"\n")?;
    Ok(ExitCode::SUCCESS)
}

pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<ExitCode> {
    clap_complete::generate(shell, &mut Cli::command(), "amptap", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}

pub fn man() -> anyhow::Result<ExitCode> {
    clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
    Ok(ExitCode::SUCCESS)
}
