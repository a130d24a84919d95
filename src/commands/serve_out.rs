//! What `serve` prints per request: a line (and a line per finding) on
//! stderr, one JSON object on stdout (`--json`, for `jq`), or nothing.

use std::io::Write;

use amptap::pipeline::{Item, Sink};
use amptap::plan::{Finding, Severity};
use amptap::report::{expected_actual, NO_TYPE};
use amptap::sanitize::sanitize;
use amptap::tap::{Delivery, Record};
use serde_json::{json, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Lines,
    Json,
    Quiet,
}

/// Prints a line per request and, with a plan, a line per finding under
/// it, on the judge stage's thread, in journal order.
pub struct Printer {
    pub output: Output,
    pub with_findings: bool,
}

impl Sink for Printer {
    fn accept(&mut self, batch: &[Item]) {
        let out: &mut dyn Write = match self.output {
            Output::Quiet => return,
            Output::Lines => &mut std::io::stderr().lock(),
            Output::Json => &mut std::io::stdout().lock(),
        };
        for item in batch {
            if let Item::Judged(judged) = item {
                let findings: &[Vec<Finding>] = if self.with_findings {
                    &judged.findings
                } else {
                    &[]
                };
                let record = &judged.record;
                let text = match self.output {
                    Output::Json => request_json(record, findings, &judged.request).to_string(),
                    _ => request_text(record, findings),
                };
                let _ = writeln!(out, "{text}");
            }
        }
        let _ = out.flush();
    }

    fn warn(&mut self, message: &str) {
        let _ = writeln!(std::io::stderr(), "amptap: warning: {message}");
    }
}

/// One request as a JSON object: what was asked, Amplitude's answer, and
/// each event with its verdict and findings. Strings are as sent (JSON
/// escapes them); api keys are masked as in the journal.
pub fn request_json(c: &Record, findings: &[Vec<Finding>], request: &Option<Finding>) -> Value {
    let events: Vec<Value> = c
        .events
        .iter()
        .enumerate()
        .map(|(i, event)| {
            let found = findings.get(i).map_or(&[][..], Vec::as_slice);
            event.with_parsed(|e| {
                json!({
                    "index": i,
                    "event_type": e.event_type(),
                    "insert_id": e.insert_id(),
                    "user_id": e.user_id(),
                    "device_id": e.device_id(),
                    "verdict": verdict(found),
                    "findings": found,
                })
            })
        })
        .collect();
    let delivery = c.delivery.kind();
    let latency_ms = c.delivery.latency_ms();
    let error = match &c.delivery {
        Delivery::Failed { error, .. } => Some(error.as_str()),
        Delivery::Refused { reason } => Some(reason.as_str()),
        _ => None,
    };
    json!({
        "seq": c.seq,
        "received": c.received.format(&time::format_description::well_known::Rfc3339).ok(),
        "method": c.method,
        "path": c.path,
        "client": c.client,
        "api_key": c.api_key,
        "tag": c.tag,
        "status": c.answer.status,
        "answer": c.answer.body,
        "delivery": delivery,
        "latency_ms": latency_ms,
        "error": error,
        "problem": c.problem,
        "request_finding": request,
        "events": events,
    })
}

fn verdict(findings: &[Finding]) -> &'static str {
    match findings.iter().map(|f| f.severity).max() {
        Some(Severity::Error) => "error",
        Some(Severity::Warning) => "warning",
        _ => "ok",
    }
}

/// The request line, then one line per finding (none when `findings` is empty).
pub fn request_text(capture: &Record, findings: &[Vec<Finding>]) -> String {
    let mut text = request_line(capture);
    for (event, findings) in capture.events.iter().zip(findings) {
        if findings.is_empty() {
            continue;
        }
        event.with_parsed(|event| event_lines(&mut text, event, findings));
    }
    text
}

fn event_lines(text: &mut String, event: &amptap::event::Event, findings: &[Finding]) {
    for f in findings {
        let mark = match f.severity {
            Severity::Error => "✗",
            Severity::Warning => "⚠",
            Severity::Info => "·",
        };
        let id = event
            .insert_id()
            .map(|i| format!(" [{}]", sanitize(i)))
            .unwrap_or_default();
        text.push_str(&format!(
            "\n    {mark} {}{id}: {} {} ({})",
            sanitize(event.event_type().unwrap_or(NO_TYPE)),
            f.code,
            sanitize(&f.path),
            sanitize(&expected_actual(f)),
        ));
    }
}

/// `08:30:01.123 /2/httpapi  7 events  Button Clicked, Page Viewed +5  → 200 (3.1 ms)`
/// or, for a request without readable events,
/// `08:30:01.123 GET /2/httpApi  ✗ wrong_path: no Amplitude API at /2/httpApi  → 404`
pub fn request_line(c: &Record) -> String {
    let t = c.received;
    let clock = format!(
        "{:02}:{:02}:{:02}.{:03}",
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    );
    let mut line = match &c.problem {
        Some(problem) => format!(
            "{clock} {:<14} ✗ {}: {}",
            sanitize(&c.request_line()),
            problem.kind.as_str(),
            sanitize(&problem.reason)
        ),
        None => {
            let mut line = format!(
                "{clock} {:<14} {:>4} event{} ",
                sanitize(&c.path),
                c.events.len(),
                if c.events.len() == 1 { " " } else { "s" },
            );
            let types: Vec<_> = c
                .events
                .iter()
                .take(3)
                .map(|e| sanitize(e.event_type().unwrap_or("(no event_type)")).into_owned())
                .collect();
            line.push_str(&types.join(", "));
            if c.events.len() > 3 {
                line.push_str(&format!(" +{}", c.events.len() - 3));
            }
            line
        }
    };
    line.push_str(&format!("  → {}", c.answer.status));
    if c.problem.is_none() && c.answer.status >= 400 {
        // Why Amplitude (or the stand-in) said no: its `error`, else its text.
        let why = serde_json::from_str::<serde_json::Value>(&c.answer.body)
            .ok()
            .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned))
            .unwrap_or_else(|| c.answer.body.chars().take(120).collect());
        if !why.trim().is_empty() {
            line.push_str(&format!(" {}", sanitize(why.trim())));
        }
    }
    match &c.delivery {
        Delivery::Forwarded { latency_ms, .. } => line.push_str(&format!(" ({latency_ms:.1} ms)")),
        Delivery::Offline => line.push_str(" (offline)"),
        Delivery::Failed { error, .. } => {
            line.push_str(&format!(" NOT FORWARDED: {}", sanitize(error)))
        }
        Delivery::Refused { .. } => {}
        Delivery::Queued => line.push_str(" (relayed: queued for Amplitude)"),
    }
    line
}
