//! `amptap man [COMMAND] [--dir DIR]`: roff pages from the same definitions
//! as `--help`, one per command (`amptap-serve(1)`…), each with the
//! environment, files and exit status that apply to it.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::CommandFactory;

use super::layered::serve_keys;
use crate::cli::Cli;

/// Exit statuses, per command (the top-level page lists them all).
fn exit_status(command: &str) -> Vec<(&'static str, &'static str)> {
    const ERROR: &str =
        "an error: bad arguments, unreadable input, a port in use; the message says which";
    match command {
        "check" => vec![
            ("0", "no finding at or above --fail-on"),
            ("1", "a finding at or above --fail-on (error by default)"),
            ("2", "an error, or captures that hold no request at all (unless --allow-empty)"),
        ],
        "reconcile" => vec![
            ("0", "every captured event is in Amplitude as sent"),
            ("1", "a problem at or above --fail-on: missing, rejected, not forwarded or changed"),
            ("2", ERROR),
        ],
        "serve" => vec![
            ("0", "stopped by Ctrl-C or SIGTERM with every request journaled"),
            ("2", "an error, or requests that could not be journaled (each was answered 503)"),
        ],
        "amptap" => vec![
            ("0", "success; for check and reconcile, nothing at or above --fail-on"),
            ("1", "check, reconcile: findings or problems at or above --fail-on; plan lint: errors in the plan"),
            ("2", ERROR),
        ],
        "plan-lint" => vec![("0", "the plan has no errors"), ("1", "the plan has errors"), ("2", ERROR)],
        _ => vec![("0", "success"), ("2", ERROR)],
    }
}

/// Variables a command reads.
fn environment(command: &str) -> Vec<(String, String)> {
    let mut vars = vec![
        (
            "AMPTAP_DATA_DIR".into(),
            "where journals and the log go (default: the platform's data directory)".into(),
        ),
        (
            "AMPTAP_CONFIG_DIR".into(),
            "where config.toml and the filter history are (default ~/.config/amptap)".into(),
        ),
        ("AMPTAP_LOG".into(), "the log level (default info)".into()),
        ("NO_COLOR".into(), "no colours in the inspector".into()),
    ];
    if matches!(command, "serve" | "watch" | "amptap") {
        for (key, var) in serve_keys() {
            let flag = key.replace('_', "-");
            vars.push((var, format!("--{flag} ([serve] {key} in config.toml)")));
        }
        vars.push((
            "AMPTAP_API_TOKEN".into(),
            "the query API's bearer token (never on the command line)".into(),
        ));
    }
    if matches!(command, "export" | "reconcile" | "watch" | "amptap") {
        vars.push((
            "AMPLITUDE_API_KEY".into(),
            "the project's API key for the Export API ([amplitude] api_key)".into(),
        ));
        vars.push((
            "AMPLITUDE_SECRET_KEY".into(),
            "its secret key ([amplitude] secret_key)".into(),
        ));
    }
    vars
}

const FILES: &[(&str, &str)] = &[
    ("$AMPTAP_CONFIG_DIR/config.toml", "[serve] settings for serve and watch (under the environment and the flags); [amplitude] keys"),
    ("$AMPTAP_CONFIG_DIR/filter-history", "the inspector's filter history"),
    ("$AMPTAP_DATA_DIR/captures/", "journals written when --record is not given"),
    ("$AMPTAP_DATA_DIR/amptap.log", "the log (--log-file elsewhere)"),
];

pub fn run(command: Option<&str>, dir: Option<&Path>) -> anyhow::Result<ExitCode> {
    let root = Cli::command();
    let names: Vec<String> = pages(&root).into_iter().map(|(name, _)| name).collect();
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        for (name, cmd) in pages(&root) {
            let path = dir.join(format!("{name}.1"));
            let mut out = Vec::new();
            render(&name, cmd, &names, &mut out)?;
            std::fs::write(&path, out).with_context(|| format!("writing {}", path.display()))?;
        }
        eprintln!("amptap: {} pages written to {}", names.len(), dir.display());
        return Ok(ExitCode::SUCCESS);
    }
    let wanted = match command {
        None => "amptap".to_owned(),
        Some(c) => format!("amptap-{}", c.replace(' ', "-")),
    };
    let Some((name, cmd)) = pages(&root).into_iter().find(|(n, _)| *n == wanted) else {
        anyhow::bail!("no page for {wanted}: there are {}", names.join(", "));
    };
    render(&name, cmd, &names, &mut std::io::stdout().lock())?;
    Ok(ExitCode::SUCCESS)
}

/// `amptap`, then `amptap-serve`, `amptap-plan-infer`…: every visible command.
fn pages(root: &clap::Command) -> Vec<(String, clap::Command)> {
    let mut out = vec![("amptap".to_owned(), root.clone())];
    for sub in root.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("amptap-{}", sub.get_name());
        let version = env!("CARGO_PKG_VERSION");
        out.push((
            name.clone(),
            sub.clone().name(name.clone()).version(version),
        ));
        for inner in sub.get_subcommands().filter(|s| !s.is_hide_set()) {
            let name = format!("{name}-{}", inner.get_name());
            out.push((name.clone(), inner.clone().name(name).version(version)));
        }
    }
    out
}

fn render(
    name: &str,
    cmd: clap::Command,
    all: &[String],
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let man = clap_mangen::Man::new(cmd.clone());
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(out)?;
    }
    if cmd.get_subcommands().next().is_some() {
        man.render_subcommands_section(out)?;
    }
    let command = name.strip_prefix("amptap-").unwrap_or(name);
    section(out, "ENVIRONMENT", &environment(command))?;
    let files: Vec<(String, String)> = FILES
        .iter()
        .map(|(a, b)| ((*a).into(), (*b).into()))
        .collect();
    section(out, "FILES", &files)?;
    let status: Vec<(String, String)> = exit_status(command)
        .iter()
        .map(|(a, b)| ((*a).into(), (*b).into()))
        .collect();
    section(out, "EXIT STATUS", &status)?;
    let see: Vec<String> = all
        .iter()
        .filter(|n| n.as_str() != name)
        .map(|n| format!("\\fB{n}\\fR(1)"))
        .collect();
    writeln!(out, ".SH \"SEE ALSO\"\n{}", see.join(", "))?;
    man.render_version_section(out)?;
    Ok(())
}

fn section(out: &mut dyn Write, title: &str, items: &[(String, String)]) -> std::io::Result<()> {
    writeln!(out, ".SH \"{title}\"")?;
    for (term, text) in items {
        writeln!(out, ".TP\n\\fB{}\\fR\n{}", roff(term), roff(text))?;
    }
    Ok(())
}

/// Text safe in roff: backslashes doubled, a leading dot or quote escaped.
fn roff(text: &str) -> String {
    let text = text.replace('\\', "\\\\");
    match text.chars().next() {
        Some('.' | '\'') => format!("\\&{text}"),
        _ => text,
    }
}
