//! Settings in layers: defaults < the config file's `[serve]` table <
//! `AMPTAP_*` environment variables < flags. The file's settings become
//! the environment variables clap already reads, unless the environment
//! sets them itself; so every layer is resolved by one parser, and
//! `--help` shows each variable.

use std::path::Path;

use anyhow::Context;

/// `[serve]` keys (used by `serve`, `watch`) and the variable each sets:
/// every proxy option clap reads from an `AMPTAP_*` variable, the key its
/// name without the prefix (`AMPTAP_MAX_BODY` → `max_body`), so the file,
/// the environment and the flags can never disagree. The API token is left
/// to the environment and `--api-token-file`.
pub fn serve_keys() -> Vec<(String, String)> {
    use clap::{Args, Command};
    crate::cli::ProxyArgs::augment_args(Command::new("serve"))
        .get_arguments()
        .filter_map(|arg| arg.get_env()?.to_str().map(str::to_owned))
        .filter(|var| var != "AMPTAP_API_TOKEN")
        .filter_map(|var| {
            let key = var.strip_prefix("AMPTAP_")?.to_lowercase();
            Some((key, var))
        })
        .collect()
}

/// The environment variables `[serve]` in `config` would set, for those
/// the environment does not set already. A missing file is no settings.
pub fn from_file(
    config: &Path,
    is_set: impl Fn(&str) -> bool,
) -> anyhow::Result<Vec<(String, String)>> {
    let text = match std::fs::read_to_string(config) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", config.display())),
    };
    let file: toml::Table =
        toml::from_str(&text).with_context(|| format!("reading {}", config.display()))?;
    let Some(serve) = file.get("serve") else {
        return Ok(Vec::new());
    };
    let serve = serve
        .as_table()
        .with_context(|| format!("{}: [serve] must be a table", config.display()))?;
    let chosen: Vec<&str> = ["upstream", "region", "offline"]
        .into_iter()
        .filter(|k| serve.contains_key(*k))
        .collect();
    if chosen.len() > 1 {
        anyhow::bail!(
            "{}: [serve] sets {}: where events go is one choice (upstream, region or offline)",
            config.display(),
            chosen.join(" and ")
        );
    }
    let keys = serve_keys();
    let mut out = Vec::new();
    for (key, value) in serve {
        let Some((_, var)) = keys.iter().find(|(k, _)| k == key) else {
            let known: Vec<&str> = keys.iter().map(|(k, _)| k.as_str()).collect();
            anyhow::bail!(
                "{}: [serve] has no setting {key:?}; it takes {}",
                config.display(),
                known.join(", ")
            );
        };
        let text = match value {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(n) => n.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => anyhow::bail!(
                "{}: [serve] {key} must be a string, number or true/false, not {}",
                config.display(),
                other.type_str()
            ),
        };
        if !is_set(var) {
            out.push((var.clone(), text));
        }
    }
    Ok(out)
}

/// Where events go: one choice, made whole by the highest layer that makes it.
const DESTINATION: [(&str, &str); 3] = [
    ("--upstream", "AMPTAP_UPSTREAM"),
    ("--region", "AMPTAP_REGION"),
    ("--offline", "AMPTAP_OFFLINE"),
];

/// Puts the config file's `[serve]` settings into the environment. Where
/// events go (upstream, region, offline) is one choice: a flag for it sets
/// aside the environment's and the file's, the environment's the file's.
/// Call before any thread starts (the environment is process-wide).
pub fn apply(config: &Path, args: &[String]) -> anyhow::Result<()> {
    let flagged = args.iter().any(|a| {
        DESTINATION
            .iter()
            .any(|(flag, _)| a == flag || a.starts_with(&format!("{flag}=")))
    });
    if flagged {
        for (_, var) in DESTINATION {
            std::env::remove_var(var);
        }
    }
    let in_env = DESTINATION
        .iter()
        .any(|(_, var)| std::env::var_os(var).is_some());
    let destination = |var: &str| DESTINATION.iter().any(|(_, v)| *v == var);
    for (var, value) in from_file(config, |v| std::env::var_os(v).is_some())? {
        if destination(&var) && (flagged || in_env) {
            continue;
        }
        std::env::set_var(var, value);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_fills_what_the_environment_leaves_and_says_what_it_does_not_know() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("config.toml");
        assert!(from_file(&path, |_| false).expect("missing").is_empty());
        std::fs::write(
            &path,
            "[amplitude]\napi_key = \"k\"\n[serve]\nlisten = \"127.0.0.1:9000\"\noffline = true\nmemory = \"1GiB\"\nmax_connections = 64\n",
        )
        .expect("write");
        let got = from_file(&path, |v| v == "AMPTAP_MEMORY").expect("read");
        let has = |var: &str, value: &str| got.contains(&(var.to_owned(), value.to_owned()));
        assert!(has("AMPTAP_LISTEN", "127.0.0.1:9000"));
        assert!(has("AMPTAP_OFFLINE", "true"));
        assert!(has("AMPTAP_MAX_CONNECTIONS", "64"));
        assert!(
            !got.iter().any(|(v, _)| v == "AMPTAP_MEMORY"),
            "the environment wins"
        );
        // The keys are clap's own variables, the token left out.
        let keys = serve_keys();
        assert!(keys.contains(&("max_body".into(), "AMPTAP_MAX_BODY".into())));
        assert!(keys.contains(&(
            "relay_throttle_wait".into(),
            "AMPTAP_RELAY_THROTTLE_WAIT".into()
        )));
        assert!(!keys.iter().any(|(k, _)| k == "api_token"));
        std::fs::write(&path, "[serve]\nlisten_on = \"x\"\n").expect("write");
        let e = from_file(&path, |_| false).expect_err("unknown key");
        assert!(
            format!("{e:#}").contains("no setting \"listen_on\""),
            "{e:#}"
        );
        std::fs::write(&path, "[serve\n").expect("write");
        assert!(from_file(&path, |_| false).is_err());
    }
}
