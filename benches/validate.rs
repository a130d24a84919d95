//! Validation throughput on one core: a 50-event-type plan, realistic
//! events (about one in ten with a problem).
//!
//!   cargo bench --bench validate
//!
//! Prints events/s for validation of already-decoded events (what the tap
//! and `check` do once an event is parsed), and for parse + validate from
//! raw JSON. Under `cargo test` it runs a short smoke pass.

use std::fmt::Write;
use std::hint::black_box;
use std::time::{Duration, Instant};

use amptap::event::{Dialect, Event};
use amptap::plan::{parse_toml, EventContext, Validator};
use serde_json::value::RawValue;

const TYPES: usize = 50;

fn plan_text() -> String {
    let mut t = String::from(
        "[settings]\nevent_name = \"^[a-z][a-z0-9_]*$\"\nproperty_name = \"^[a-z][a-z0-9_]*$\"\nignore = [\"[Amplitude] *\"]\n",
    );
    for i in 0..TYPES {
        let _ = write!(
            t,
            "\n[events.event_{i}]\nmax_per_minute = 1000\n[events.event_{i}.properties]\n\
             app_id = {{ type = \"string\", required = true, pattern = \"^app-[0-9]+$\", source = \"appId\" }}\n\
             query_text = {{ type = \"string\", required = true, min_length = 1, max_length = 4000 }}\n\
             model = {{ type = \"string\", enum = [\"gpt-4o\", \"gpt-4o-mini\", \"claude\"] }}\n\
             latency_ms = {{ type = \"integer\", min = 0, max = 600000 }}\n\
             tags = {{ type = \"array<string>\" }}\n\
             rating = {{ type = \"number\", nullable = true }}\n"
        );
    }
    t
}

fn raw_events(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let ty = i % TYPES;
            let bad = i % 10 == 0;
            format!(
                r#"{{"event_type":"event_{ty}","user_id":"user-{:05}","device_id":"device-{:05}","insert_id":"00000000-0000-4000-8000-{i:012}","time":1795559291000,"session_id":1795559000000,"platform":"Web","library":"amplitude-ts/2.48.1","event_properties":{{"app_id":"{}","query_text":"How do I reset my password?","model":"gpt-4o","latency_ms":{},"tags":["a","b"],"rating":null}}}}"#,
                i % 977,
                i % 1311,
                if bad { "APP-1" } else { "app-1234" },
                if bad { "\"812\"".to_owned() } else { (i % 5000).to_string() },
            )
        })
        .collect()
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n = if full { 200_000 } else { 2_000 };
    let rounds = if full { 5 } else { 1 };
    let plan = parse_toml(&plan_text(), "bench.toml").expect("plan");
    let raws = raw_events(n);
    let ctx = EventContext {
        received_ms: 1_795_559_292_000,
        seq: 1,
        delivered: true,
        min_id_length: None,
    };
    let decode = |raws: &[String]| -> Vec<Event> {
        raws.iter()
            .map(|r| Event::from_raw(RawValue::from_string(r.clone()).expect("json"), Dialect::V2))
            .collect()
    };

    let mut best_validate = Duration::MAX;
    let mut best_both = Duration::MAX;
    let mut findings_total = 0;
    let decoded = decode(&raws);
    decoded.iter().for_each(|e| {
        black_box(e.view());
    });
    let validate_only = std::env::var("AMPTAP_BENCH_ONLY").is_ok_and(|v| v == "validate");
    for _ in 0..rounds {
        let events = &decoded;
        let mut validator = Validator::new(&plan);
        let mut out = Vec::with_capacity(64);
        let start = Instant::now();
        for e in events {
            out.clear();
            validator.check(e, &ctx, &mut out);
            findings_total += out.len();
        }
        best_validate = best_validate.min(start.elapsed());
        if validate_only {
            continue;
        }

        let events = decode(&raws);
        let mut validator = Validator::new(&plan);
        let start = Instant::now();
        for e in &events {
            out.clear();
            validator.check(e, &ctx, &mut out);
        }
        best_both = best_both.min(start.elapsed());
    }
    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    println!(
        "{TYPES}-event-type plan, {n} events, ~10% with findings ({} findings per round)",
        findings_total / rounds
    );
    println!(
        "validate (decoded events):  {:>12.0} events/s",
        rate(best_validate)
    );
    println!(
        "parse + validate (raw JSON): {:>12.0} events/s",
        rate(best_both)
    );
}
