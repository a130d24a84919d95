//! The alerting rules and the Grafana dashboard in assets/monitoring/:
//! promtool checks and unit-tests the rules, and every metric they and the
//! dashboard name is one a running tap really exposes.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use common::Amptap;
use serde_json::json;

fn monitoring() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/monitoring"))
}

fn promtool(args: &[&str]) -> String {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(monitoring())
        .output()
        .expect("promtool (Debian's prometheus package; ./test installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?}:\n{text}");
    text
}

#[test]
fn promtool_checks_the_rules_and_their_unit_tests_pass() {
    assert!(promtool(&["check", "rules", "alerts.yml"]).contains("11 rules found"));
    assert!(promtool(&["test", "rules", "alerts_test.yml"]).contains("SUCCESS"));
}

/// The amptap metric names in a text (PromQL, exposition, JSON).
fn metric_names(text: &str) -> BTreeSet<String> {
    let name = regex::Regex::new("amptap_[a-z_]+").expect("regex");
    name.find_iter(text)
        .map(|m| m.as_str().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_metric_the_rules_and_dashboard_name_is_exposed() {
    let plan = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/dify-plan.toml");
    // Publishing (to a broker that is not there: the metrics are what counts),
    // since the publish metrics exist only on a tap that publishes.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a port")
        .port();
    let publish = format!("kafka://127.0.0.1:{closed}/amptap-monitoring");
    let tap = Amptap::serve(&["--offline", "--plan", plan, "--publish", &publish]);
    // An event with an error finding, so every family has a sample.
    let r = reqwest::Client::new()
        .post(tap.url("/2/httpapi"))
        .json(&json!({"api_key": "0123456789abcdef0123456789abcdef", "events": [
            {"event_type": "dify_user_query", "user_id": "user-12345", "insert_id": "mon-1", "time": 1_795_559_291_068_i64}
        ]}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    let mut exposed = BTreeSet::new();
    let mut outage_seen = false;
    for _ in 0..100 {
        let text = common::get_text(&tap.url("/metrics")).await;
        exposed = metric_names(&text);
        outage_seen = text.contains("amptap_publish_up 0");
        if outage_seen && text.contains("amptap_findings_by_severity_total{severity=\"error\"}") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        exposed.contains("amptap_findings_by_severity_total"),
        "{exposed:?}"
    );
    assert!(
        outage_seen,
        "a broker that is not there reads as publish_up 0"
    );
    let rules = std::fs::read_to_string(monitoring().join("alerts.yml")).expect("rules");
    let dashboard =
        std::fs::read_to_string(monitoring().join("grafana-dashboard.json")).expect("dashboard");
    let parsed: serde_json::Value =
        serde_json::from_str(&dashboard).expect("the dashboard is JSON");
    assert!(parsed["panels"].as_array().is_some_and(|p| p.len() >= 8));
    for (what, text) in [
        ("alerts.yml", &rules),
        ("grafana-dashboard.json", &dashboard),
    ] {
        let named = metric_names(text);
        assert!(!named.is_empty());
        let unknown: Vec<&String> = named.difference(&exposed).collect();
        assert!(
            unknown.is_empty(),
            "{what} names metrics amptap does not expose: {unknown:?}"
        );
    }
}
