//! The terminal report: grouped by event type with counts, one example per
//! finding code with its exact path. Every event string is sanitized.

use std::io::{self, Write};

use super::{expected_actual, Report, BAD_REQUESTS};
use crate::plan::Severity;
use crate::sanitize::sanitize;

pub fn write(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    let by_type = r.findings_by_type();
    let s = &r.summary;
    writeln!(
        out,
        "amptap check: {} in {}{} · {} with findings · {}, {}{}",
        plural(s.events, "event"),
        plural(s.requests, "request"),
        if s.bad_requests > 0 {
            format!(" ({} without readable events)", s.bad_requests)
        } else {
            String::new()
        },
        s.events_with_findings,
        plural(s.errors, "error"),
        plural(s.warnings, "warning"),
        if s.infos > 0 {
            format!(", {}", plural(s.infos, "info"))
        } else {
            String::new()
        }
    )?;
    if let Some(plan) = &r.plan {
        writeln!(out, "plan: {plan}")?;
    }
    writeln!(out, "captures: {}", r.inputs.join(", "))?;
    for t in &r.event_types {
        writeln!(out)?;
        let name = sanitize(&t.event_type);
        let status = match (t.events, t.events_with_findings, t.in_plan) {
            _ if t.event_type == BAD_REQUESTS => plural(t.events_with_findings, "request"),
            (0, _, true) => "planned, never seen".to_owned(),
            (n, 0, _) => format!("{}, clean ✓", plural(n, "event")),
            (n, k, _) => format!("{}, {k} with findings", plural(n, "event")),
        };
        let unplanned = if t.in_plan || r.plan.is_none() || t.event_type == BAD_REQUESTS {
            ""
        } else {
            " (not in plan)"
        };
        writeln!(out, "{name}{unplanned} — {status}")?;
        for (code, path, count) in t.code_paths() {
            let examples = by_type.of(&t.event_type);
            let Some(example) = examples
                .iter()
                .find(|f| f.finding.code == code && f.finding.path == path)
                .or_else(|| examples.iter().find(|f| f.finding.code == code))
            else {
                // No example kept (`--summary-only`): the count alone.
                writeln!(out, "  • {code} ×{count}  {}", sanitize(path))?;
                continue;
            };
            let f = &example.finding;
            let mark = match f.severity {
                Severity::Error => "✗",
                Severity::Warning => "⚠",
                Severity::Info => "·",
            };
            writeln!(
                out,
                "  {mark} {code} ×{count}  {}  {}",
                sanitize(path),
                sanitize(&expected_actual(f))
            )?;
            writeln!(out, "      e.g. {}", sanitize(&example.event.label()))?;
        }
    }
    if !s.by_code.is_empty() {
        writeln!(out)?;
        let codes: Vec<String> = s.by_code.iter().map(|(c, n)| format!("{c} {n}")).collect();
        writeln!(out, "by code: {}", codes.join(" · "))?;
    }
    Ok(())
}

fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
