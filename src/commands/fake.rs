//! `amptap fake-amplitude`: the stand-in on a port, for scripts and manual tests.

use std::process::ExitCode;

use amptap::fake_amplitude::{parse_faults, FakeAmplitude};
use anyhow::Context;

use crate::cli::FakeArgs;

pub async fn run(args: FakeArgs) -> anyhow::Result<ExitCode> {
    let fake = FakeAmplitude::new();
    if let Some(spec) = &args.fail {
        fake.push_faults(parse_faults(spec).map_err(anyhow::Error::msg)?);
    }
    let running = fake
        .start(args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    eprintln!("fake Amplitude listening on {}", running.url());
    super::shutdown_signal().await;
    Ok(ExitCode::SUCCESS)
}
