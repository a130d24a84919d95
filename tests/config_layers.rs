//! Settings in layers through the real binary: the config file's `[serve]`
//! < `AMPTAP_*` variables < flags.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Starts `amptap serve ARGS` with `config` as the config file and `env`
/// set; returns its banner line, then stops it.
fn banner(config: &str, env: &[(&str, &str)], args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("config.toml"), config).expect("config");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_amptap"));
    cmd.arg("serve")
        .args(args)
        .arg("--record")
        .arg(dir.path().join("j.jsonl"))
        .env("AMPTAP_CONFIG_DIR", dir.path())
        .env("AMPTAP_DATA_DIR", dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn");
    let first = BufReader::new(child.stderr.take().expect("stderr"))
        .lines()
        .map_while(Result::ok)
        .next()
        .unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    first
}

#[test]
fn the_file_sets_defaults_the_environment_overrides_it_and_flags_override_both() {
    let file = "[serve]\nlisten = \"127.0.0.1:0\"\nupstream = \"http://127.0.0.1:9\"\n";
    let from_file = banner(file, &[], &[]);
    assert!(
        from_file.contains("forwarding to http://127.0.0.1:9"),
        "{from_file}"
    );

    let env = banner(file, &[("AMPTAP_OFFLINE", "true")], &[]);
    assert!(
        env.contains("offline"),
        "the environment's choice wins: {env}"
    );

    let flag = banner(
        file,
        &[("AMPTAP_UPSTREAM", "http://127.0.0.1:8")],
        &["--offline"],
    );
    assert!(flag.contains("offline"), "a flag wins: {flag}");

    let listen = banner(
        "[serve]\nlisten = \"127.0.0.1:1\"\noffline = true\n",
        &[("AMPTAP_LISTEN", "127.0.0.1:0")],
        &[],
    );
    assert!(
        listen.contains("listening on http://127.0.0.1:") && !listen.contains(":1 "),
        "{listen}"
    );

    let unknown = banner("[serve]\nlisten_on = \"x\"\n", &[], &[]);
    assert!(unknown.contains("no setting \"listen_on\""), "{unknown}");
    let both = banner("[serve]\noffline = true\nregion = \"eu\"\n", &[], &[]);
    assert!(both.contains("one choice"), "{both}");

    // Other commands never read [serve]: a slip there does not stop a check.
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("config.toml"), "[serve]\nbogus = 1\n").expect("w");
    let out = Command::new(env!("CARGO_BIN_EXE_amptap"))
        .args([
            "plan",
            "lint",
            concat!(env!("CARGO_MANIFEST_DIR"), "/assets/dify-plan.toml"),
        ])
        .env("AMPTAP_CONFIG_DIR", dir.path())
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
