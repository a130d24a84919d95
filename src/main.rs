//! amptap's binary: parse, set up logging, run a command, map errors to exit codes.

mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;

/// Judging allocates a parsed tree per event and frees it soon after, across
/// threads; mimalloc does that several times faster than glibc's malloc and
/// gives freed memory back instead of keeping it in per-thread arenas.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    amptap::clock::init(); // before any thread starts
                           // The config file's [serve] settings, under the environment and the flags.
    let config = commands::config_dir().join("config.toml");
    let args: Vec<String> = std::env::args().collect();
    // Only the proxy commands read [serve]: a slip in it never stops a `check`.
    let proxy = args.iter().any(|a| a == "serve" || a == "watch");
    let applied = match proxy {
        true => commands::layered::apply(&config, &args),
        false => Ok(()),
    };
    if let Err(e) = applied {
        eprintln!("amptap: error: {}", each_cause_once(&e));
        return ExitCode::from(2);
    }
    let cli = cli::Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("amptap: error: {}", each_cause_once(&e));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes, each said once: an error that quotes its
/// source (`cannot open x: No such file…`) is not followed by it again.
fn each_cause_once(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

fn run(cli: cli::Cli) -> anyhow::Result<ExitCode> {
    commands::init_logging(cli.log_file.as_deref())?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        match cli.command {
            cli::Command::Serve(args) => commands::serve::run(args).await,
            cli::Command::Watch(args) => commands::inspect::watch(args).await,
            cli::Command::Open(args) => commands::inspect::open(args).await,
            cli::Command::Demo(args) => commands::inspect::demo(args).await,
            cli::Command::Check(args) => commands::check::run(args),
            cli::Command::Export(args) => commands::reconcile::export(args).await,
            cli::Command::Reconcile(args) => commands::reconcile::reconcile(args).await,
            cli::Command::Plan(cmd) => commands::plan::run(cmd),
            cli::Command::Har { captures } => commands::docs::har(&captures),
            cli::Command::Completions { shell } => commands::docs::completions(shell),
            cli::Command::Man { command, dir } => {
                let command = (!command.is_empty()).then(|| command.join(" "));
                commands::man::run(command.as_deref(), dir.as_deref())
            }
            cli::Command::FakeAmplitude(args) => commands::fake::run(args).await,
        }
    })
}

/// `amptap check … | head` closes stdout early: that is the reader's choice, not an error.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
