//! Settings in layers: defaults < the config file's `[serve]` table <
//! `AMPTAP_*` environment variables < flags. The file's settings become
//! the environment variables clap already reads, unless the environment
//! sets them itself; so every layer is resolved by one parser, and
//! `--help` shows each variable.

use std::path::Path;

use anyhow::Context;

/// `[serve]` keys (used by `serve`, `watch`), and the variable each sets.
pub const SERVE_KEYS: &[(&str, &str)] = &[
    ("listen", "AMPTAP_LISTEN"),
    ("upstream", "AMPTAP_UPSTREAM"),
    ("region", "AMPTAP_REGION"),
    ("offline", "AMPTAP_OFFLINE"),
    ("plan", "AMPTAP_PLAN"),
    ("record", "AMPTAP_RECORD"),
    ("max_body", "AMPTAP_MAX_BODY"),
    ("upstream_timeout", "AMPTAP_UPSTREAM_TIMEOUT"),
    ("memory", "AMPTAP_MEMORY"),
    ("session_memory", "AMPTAP_SESSION_MEMORY"),
    ("fsync", "AMPTAP_FSYNC"),
    ("client_timeout", "AMPTAP_CLIENT_TIMEOUT"),
    ("min_body_rate", "AMPTAP_MIN_BODY_RATE"),
    ("max_connections", "AMPTAP_MAX_CONNECTIONS"),
    ("drain", "AMPTAP_DRAIN"),
    ("relay_throttle_wait", "AMPTAP_RELAY_THROTTLE_WAIT"),
];

/// The environment variables `[serve]` in `config` would set, for those
/// the environment does not set already. A missing file is no settings.
pub fn from_file(
    config: &Path,
    is_set: impl Fn(&str) -> bool,
) -> anyhow::Result<Vec<(&'static str, String)>> {
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
    let mut out = Vec::new();
    for (key, value) in serve {
        let Some(&(_, var)) = SERVE_KEYS.iter().find(|(k, _)| k == key) else {
            let known: Vec<&str> = SERVE_KEYS.iter().map(|(k, _)| *k).collect();
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
            out.push((var, text));
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
        if destination(var) && (flagged || in_env) {
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
        assert!(got.contains(&("AMPTAP_LISTEN", "127.0.0.1:9000".into())));
        assert!(got.contains(&("AMPTAP_OFFLINE", "true".into())));
        assert!(got.contains(&("AMPTAP_MAX_CONNECTIONS", "64".into())));
        assert!(
            !got.iter().any(|(v, _)| *v == "AMPTAP_MEMORY"),
            "the environment wins"
        );
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
