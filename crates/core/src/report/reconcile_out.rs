//! The mismatch report (`amptap reconcile`) in text and Markdown, and what
//! every format shares (CSV in `reconcile_csv`, HTML in `reconcile_html`).
//! JSON is the serde form of the same model (schema `amptap.report/1`,
//! `reconcile` section).

use std::io::{self, Write};

use serde_json::Value;

use super::{expected_actual, FindingEntry, ReconcileReport};
use crate::reconcile::{Class, Diff, Outcome, Problem, Reconciliation};
use crate::sanitize::sanitize;

/// Problems listed per class in text before "… N more".
const TEXT_PER_CLASS: usize = 20;

/// The problems grouped by class, worst classes first, empty classes left out.
pub(super) fn by_class(rec: &Reconciliation) -> impl Iterator<Item = (Class, Vec<&Problem>)> {
    Class::ALL.into_iter().filter_map(|class| {
        let problems: Vec<&Problem> = rec.problems.iter().filter(|p| p.class == class).collect();
        (!problems.is_empty()).then_some((class, problems))
    })
}

pub(super) fn count(r: &Reconciliation, class: Class) -> u64 {
    let s = &r.summary;
    match class {
        Class::Matched => s.changed,
        Class::Missing => s.missing,
        Class::Rejected => s.rejected,
        Class::NotForwarded => s.not_forwarded,
        Class::Pending => s.pending,
        Class::Extra => s.extra,
        Class::Duplicated => s.duplicated,
    }
}

pub(super) fn class_title(class: Class) -> &'static str {
    match class {
        Class::Matched => "changed on the way",
        other => other.as_str(),
    }
}

pub(super) fn value(v: &Option<Value>) -> String {
    match v {
        None => "—".into(),
        Some(Value::String(s)) => format!("{:?}", s.chars().take(80).collect::<String>()),
        Some(other) => other.to_string().chars().take(80).collect(),
    }
}

pub(super) fn diff_line(d: &Diff) -> String {
    format!(
        "{} {}: {} → {}{}",
        d.kind,
        d.path,
        value(&d.captured),
        value(&d.exported),
        if d.expected { " (expected)" } else { "" }
    )
}

/// What the problem says beyond its class.
pub(super) fn detail(p: &Problem) -> String {
    let mut parts = Vec::new();
    if let Some(c) = &p.captured {
        match &c.outcome {
            Outcome::Rejected { status, reason } => {
                parts.push(format!("Amplitude answered {status}: {reason}"))
            }
            Outcome::NotForwarded { reason } => parts.push(reason.clone()),
            Outcome::Accepted => {}
        }
        if c.attempts > 1 {
            parts.push(format!("sent {} times", c.attempts));
        }
    }
    if p.class == Class::Duplicated {
        let uuids: Vec<String> = p.exported.iter().filter_map(|e| e.uuid.clone()).collect();
        parts.push(format!(
            "exported {} times ({})",
            p.exported.len(),
            uuids.join(", ")
        ));
    }
    if p.class == Class::Extra {
        if let Some(t) = p
            .exported
            .first()
            .and_then(|e| e.server_upload_time.clone())
        {
            parts.push(format!("uploaded {t}"));
        }
    }
    parts.extend(p.diffs.iter().filter(|d| !d.expected).map(diff_line));
    parts.join("; ")
}

/// A problem's table cells, unescaped: event, insert_id, who, captured, exported, detail.
pub(super) fn cells(p: &Problem) -> [String; 6] {
    let captured = p.captured.as_ref().map_or_else(
        || "—".into(),
        |c| format!("request #{} event {}", c.seq, c.index),
    );
    let exported: Vec<String> = p.exported.iter().filter_map(|e| e.uuid.clone()).collect();
    [
        p.event_type.clone().unwrap_or_default(),
        p.insert_id.clone().unwrap_or_default(),
        p.user_id
            .as_deref()
            .or(p.device_id.as_deref())
            .unwrap_or("")
            .to_owned(),
        captured,
        if exported.is_empty() {
            "—".into()
        } else {
            exported.join(", ")
        },
        detail(p),
    ]
}

pub(super) fn where_(p: &Problem) -> String {
    let id = p.insert_id.as_deref().unwrap_or("(no insert_id)");
    let who = p
        .user_id
        .as_deref()
        .or(p.device_id.as_deref())
        .unwrap_or("—");
    let at = p
        .captured
        .as_ref()
        .map(|c| format!(" request #{} event {}", c.seq, c.index))
        .unwrap_or_default();
    format!(
        "{} {id} {who}{at}",
        p.event_type.as_deref().unwrap_or("(no event_type)")
    )
}

pub(super) fn summary_pairs(r: &Reconciliation) -> Vec<(&'static str, u64)> {
    let s = &r.summary;
    let mut pairs = vec![
        ("captured", s.captured),
        ("forwarded ok", s.forwarded_ok),
        ("matched", s.matched),
        ("changed", s.changed),
        ("missing", s.missing),
        ("rejected", s.rejected),
        ("not forwarded", s.not_forwarded),
        ("pending", s.pending),
        ("extra", s.extra),
        ("duplicated", s.duplicated),
        ("expected transformations", s.expected_transformations),
    ];
    if r.omitted > 0 {
        // A reconcile of millions lists a sample of each class.
        pairs.push(("problems counted, not listed", r.omitted));
    }
    pairs
}

pub(super) fn plan_findings(
    r: &ReconcileReport,
) -> impl Iterator<Item = (&'static str, &FindingEntry)> {
    r.check
        .findings
        .iter()
        .map(|f| ("captured", f))
        .chain(r.exported_findings.iter().map(|f| ("exported", f)))
}

pub fn text(r: &ReconcileReport, rec: &Reconciliation, out: &mut dyn Write) -> io::Result<()> {
    let pairs: Vec<String> = summary_pairs(rec)
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    writeln!(
        out,
        "amptap reconcile{}: {}",
        rec.window
            .as_ref()
            .map(|w| format!(" {w}"))
            .unwrap_or_default(),
        pairs.join(" · ")
    )?;
    writeln!(out, "captures: {}", r.check.inputs.join(", "))?;
    if !rec.summary.diffs_by_kind.is_empty() {
        let kinds: Vec<String> = rec
            .summary
            .diffs_by_kind
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        writeln!(out, "differences: {}", kinds.join(" · "))?;
    }
    for (class, problems) in by_class(rec) {
        writeln!(
            out,
            "\n{} — {} ({})",
            class_title(class),
            problems.len(),
            class.help()
        )?;
        for p in problems.iter().take(TEXT_PER_CLASS) {
            let d = detail(p);
            writeln!(
                out,
                "  {}{}",
                sanitize(&where_(p)),
                if d.is_empty() {
                    String::new()
                } else {
                    format!("\n      {}", sanitize(&d))
                }
            )?;
        }
        if problems.len() > TEXT_PER_CLASS {
            writeln!(
                out,
                "  … {} more (--format json or csv lists all)",
                problems.len() - TEXT_PER_CLASS
            )?;
        }
    }
    let findings: Vec<_> = plan_findings(r).collect();
    if !findings.is_empty() {
        writeln!(out, "\nplan findings: {}", findings.len())?;
        for (side, f) in findings.iter().take(TEXT_PER_CLASS) {
            writeln!(
                out,
                "  {side}: {} {} {} ({})",
                f.finding.code,
                sanitize(&f.finding.path),
                sanitize(&expected_actual(&f.finding)),
                sanitize(&f.event.label())
            )?;
        }
    }
    if rec.problems.is_empty() && findings.is_empty() {
        writeln!(out, "\nevery captured event is in Amplitude as sent ✓")?;
    }
    Ok(())
}

fn md_cell(text: &str) -> String {
    sanitize(text)
        .replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('`', "\\`")
}

pub fn markdown(r: &ReconcileReport, rec: &Reconciliation, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "# amptap reconcile report\n")?;
    writeln!(
        out,
        "Window {} · captures {}\n",
        md_cell(rec.window.as_deref().unwrap_or("—")),
        md_cell(&r.check.inputs.join(", "))
    )?;
    let pairs = summary_pairs(rec);
    writeln!(
        out,
        "| {} |",
        pairs
            .iter()
            .map(|(k, _)| *k)
            .collect::<Vec<_>>()
            .join(" | ")
    )?;
    writeln!(out, "|{}", "---:|".repeat(pairs.len()))?;
    writeln!(
        out,
        "| {} |",
        pairs
            .iter()
            .map(|(_, v)| v.to_string())
            .collect::<Vec<_>>()
            .join(" | ")
    )?;
    for (class, problems) in by_class(rec) {
        writeln!(
            out,
            "\n## {} ({})\n\n{}\n",
            class_title(class),
            count(rec, class),
            class.help()
        )?;
        writeln!(
            out,
            "| event | insert_id | user / device | captured | exported | detail |"
        )?;
        writeln!(out, "|---|---|---|---|---|---|")?;
        for p in problems {
            let [event, id, who, captured, exported, detail] = cells(p).map(|c| md_cell(&c));
            writeln!(
                out,
                "| {event} | `{id}` | {who} | {captured} | {exported} | {detail} |"
            )?;
        }
    }
    let findings: Vec<_> = plan_findings(r).collect();
    if !findings.is_empty() {
        writeln!(out, "\n## Plan findings\n\n| side | severity | code | path | expected / actual | event |\n|---|---|---|---|---|---|")?;
        for (side, f) in findings {
            writeln!(
                out,
                "| {side} | {} | {} | `{}` | {} | {} |",
                f.finding.severity,
                f.finding.code,
                md_cell(&f.finding.path),
                md_cell(&expected_actual(&f.finding)),
                md_cell(&f.event.label())
            )?;
        }
    }
    Ok(())
}
