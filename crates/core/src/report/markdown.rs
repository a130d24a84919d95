//! Markdown: a summary table, then one section per event type with findings.

use std::io::{self, Write};

use super::{expected_actual, Report};
use crate::sanitize::sanitize;

/// Table cells: no pipes, no newlines, no HTML.
fn cell(text: &str) -> String {
    sanitize(text)
        .replace('\\', "\\\\")
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('`', "\\`")
}

pub fn write(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    let by_type = r.findings_by_type();
    let s = &r.summary;
    writeln!(out, "# amptap check report\n")?;
    if let Some(plan) = &r.plan {
        writeln!(
            out,
            "Plan `{}` · captures {}\n",
            cell(plan),
            r.inputs
                .iter()
                .map(|i| format!("`{}`", cell(i)))
                .collect::<Vec<_>>()
                .join(", ")
        )?;
    }
    writeln!(
        out,
        "| requests | events | with findings | errors | warnings |"
    )?;
    writeln!(out, "|---:|---:|---:|---:|---:|")?;
    writeln!(
        out,
        "| {} | {} | {} | {} | {} |\n",
        s.requests, s.events, s.events_with_findings, s.errors, s.warnings
    )?;
    writeln!(
        out,
        "| event type | events | with findings | findings by code |"
    )?;
    writeln!(out, "|---|---:|---:|---|")?;
    for t in &r.event_types {
        let codes: Vec<String> = t.by_code.iter().map(|(c, n)| format!("{c} ×{n}")).collect();
        let name = if t.events == 0 && t.in_plan {
            format!("{} (planned, never seen)", cell(&t.event_type))
        } else if t.in_plan || r.plan.is_none() {
            cell(&t.event_type)
        } else {
            format!("{} (not in plan)", cell(&t.event_type))
        };
        writeln!(
            out,
            "| {name} | {} | {} | {} |",
            t.events,
            t.events_with_findings,
            codes.join(", ")
        )?;
    }
    for t in r.event_types.iter().filter(|t| t.events_with_findings > 0) {
        writeln!(out, "\n## {}\n", cell(&t.event_type))?;
        writeln!(
            out,
            "| severity | code | path | expected / actual | event |"
        )?;
        writeln!(out, "|---|---|---|---|---|")?;
        for e in by_type.of(&t.event_type) {
            let f = &e.finding;
            writeln!(
                out,
                "| {} | {} | `{}` | {} | {} |",
                f.severity,
                f.code,
                cell(&f.path),
                cell(&expected_actual(f)),
                cell(&e.event.label())
            )?;
        }
    }
    Ok(())
}
