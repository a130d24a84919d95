//! The README's CI recipe, run as written: serve in the background, a Node
//! SDK test that asserts through /_amptap/wait, then check → JUnit.

use std::path::Path;
use std::process::Command;

#[test]
fn the_readme_ci_recipe_works_and_is_what_the_readme_shows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let script = std::fs::read_to_string(root.join("tests/ci_recipe.sh")).expect("script");
    let recipe = script
        .split("# --- recipe ---\n")
        .nth(1)
        .and_then(|s| s.split("# --- end ---").next())
        .expect("markers");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README");
    assert!(
        readme.contains(recipe.trim()),
        "the README shows the recipe that is tested:\n{recipe}"
    );

    let work = tempfile::tempdir().expect("dir");
    for dir in ["assets", "tests/clients/node"] {
        std::fs::create_dir_all(work.path().join(dir)).expect("mkdir");
    }
    std::fs::copy(
        root.join("assets/dify-plan.toml"),
        work.path().join("assets/dify-plan.toml"),
    )
    .expect("plan");
    std::fs::copy(
        root.join("tests/clients/node/ci-example.js"),
        work.path().join("tests/clients/node/ci-example.js"),
    )
    .expect("script");
    // The SDK comes from the repository's installed clients.
    std::os::unix::fs::symlink(
        root.join("tests/clients/node/node_modules"),
        work.path().join("tests/clients/node/node_modules"),
    )
    .expect("link");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let out = Command::new("bash")
        .arg(root.join("tests/ci_recipe.sh"))
        .current_dir(work.path())
        .env("AMPTAP", env!("CARGO_BIN_EXE_amptap"))
        .env("PORT", port.to_string())
        .env("AMPTAP_DATA_DIR", work.path())
        .output()
        .expect("bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "recipe failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("ok: 2 events arrived and match the plan"),
        "{stdout}"
    );
    let xml = std::fs::read_to_string(work.path().join("report.xml")).expect("report.xml");
    assert!(
        xml.contains("<testcase classname=\"amptap.events\" name=\"dify_user_query\">"),
        "{xml}"
    );
    assert!(
        !xml.contains("<failure"),
        "clean events: no failures\n{xml}"
    );
    let journal = std::fs::read_to_string(work.path().join("capture.jsonl")).expect("journal");
    assert!(
        journal.contains("\"tag\":\"checkout-test\""),
        "the tag is in the journal"
    );
}
