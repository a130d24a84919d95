//! The mismatch report (`amptap reconcile`) in text, CSV, Markdown and HTML.
//! JSON is the serde form of the same model (schema `amptap.report/1`,
//! `reconcile` section).

use std::io::{self, Write};

use serde_json::Value;

use super::{escape_markup as esc, expected_actual, FindingEntry, ReconcileReport};
use crate::reconcile::{Class, Diff, Outcome, Problem, Reconciliation};
use crate::sanitize::sanitize;

/// Problems listed per class in text before "… N more".
const TEXT_PER_CLASS: usize = 20;

/// The problems grouped by class, worst classes first, empty classes left out.
fn by_class(rec: &Reconciliation) -> impl Iterator<Item = (Class, Vec<&Problem>)> {
    Class::ALL.into_iter().filter_map(|class| {
        let problems: Vec<&Problem> = rec.problems.iter().filter(|p| p.class == class).collect();
        (!problems.is_empty()).then_some((class, problems))
    })
}

fn count(r: &Reconciliation, class: Class) -> u64 {
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

fn value(v: &Option<Value>) -> String {
    match v {
        None => "—".into(),
        Some(Value::String(s)) => format!("{:?}", s.chars().take(80).collect::<String>()),
        Some(other) => other.to_string().chars().take(80).collect(),
    }
}

fn diff_line(d: &Diff) -> String {
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
fn cells(p: &Problem) -> [String; 6] {
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

fn where_(p: &Problem) -> String {
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

fn summary_pairs(r: &Reconciliation) -> Vec<(&'static str, u64)> {
    let s = &r.summary;
    vec![
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
    ]
}

fn plan_findings(r: &ReconcileReport) -> impl Iterator<Item = (&'static str, &FindingEntry)> {
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

pub const CSV_COLUMNS: [&str; 18] = [
    "class",
    "severity",
    "insert_id",
    "event_type",
    "user_id",
    "device_id",
    "seq",
    "index",
    "outcome",
    "reason",
    "exported_uuid",
    "server_upload_time",
    "diff",
    "path",
    "captured",
    "exported",
    "expected",
    "note",
];

/// One row per problem (per difference, for changed pairs); plan findings follow as `plan_finding` rows.
pub fn csv(r: &ReconcileReport, rec: &Reconciliation, out: &mut dyn Write) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CSV_COLUMNS)?;
    let text = |v: &Option<Value>| match v {
        None => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    for p in &rec.problems {
        let (seq, index, outcome, reason) = match &p.captured {
            Some(c) => {
                let (o, reason) = match &c.outcome {
                    Outcome::Accepted => ("accepted", String::new()),
                    Outcome::Rejected { reason, .. } => ("rejected", reason.clone()),
                    Outcome::NotForwarded { reason } => ("not_forwarded", reason.clone()),
                };
                (c.seq.to_string(), c.index.to_string(), o, reason)
            }
            None => (String::new(), String::new(), "", String::new()),
        };
        let first = p.exported.first();
        let base = [
            p.class.as_str().to_owned(),
            p.severity.to_string(),
            p.insert_id.clone().unwrap_or_default(),
            p.event_type.clone().unwrap_or_default(),
            p.user_id.clone().unwrap_or_default(),
            p.device_id.clone().unwrap_or_default(),
            seq,
            index,
            outcome.to_owned(),
            reason,
            first.and_then(|e| e.uuid.clone()).unwrap_or_default(),
            first
                .and_then(|e| e.server_upload_time.clone())
                .unwrap_or_default(),
        ];
        if p.diffs.is_empty() {
            let mut record = base.to_vec();
            record.extend([
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                detail(p),
            ]);
            super::csv_out::write_safe(&mut w, &record)?;
        }
        for d in &p.diffs {
            let mut record = base.to_vec();
            record.extend([
                d.kind.to_string(),
                d.path.clone(),
                text(&d.captured),
                text(&d.exported),
                d.expected.to_string(),
                String::new(),
            ]);
            super::csv_out::write_safe(&mut w, &record)?;
        }
    }
    for (side, f) in plan_findings(r) {
        let e = &f.event;
        super::csv_out::write_safe(
            &mut w,
            [
                "plan_finding",
                f.finding.severity.as_str(),
                e.insert_id.as_deref().unwrap_or(""),
                f.finding.event_type.as_deref().unwrap_or(""),
                e.user_id.as_deref().unwrap_or(""),
                e.device_id.as_deref().unwrap_or(""),
                &e.seq.to_string(),
                &e.index.to_string(),
                side,
                f.finding.expected.as_deref().unwrap_or(""),
                "",
                "",
                f.finding.code.as_str(),
                &f.finding.path,
                f.finding.actual.as_deref().unwrap_or(""),
                "",
                "false",
                "",
            ],
        )?;
    }
    w.flush()
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

pub fn html(r: &ReconcileReport, rec: &Reconciliation, out: &mut dyn Write) -> io::Result<()> {
    super::html::page_head(out, "amptap reconcile report")?;
    writeln!(
        out,
        "<h1>amptap reconcile report</h1><p>{} · window {} · captures {}</p>",
        esc(&r.check.tool),
        esc(rec.window.as_deref().unwrap_or("—")),
        esc(&r.check.inputs.join(", "))
    )?;
    let pairs = summary_pairs(rec);
    writeln!(
        out,
        "<table><tr>{}</tr>",
        pairs
            .iter()
            .map(|(k, _)| format!("<th>{k}</th>"))
            .collect::<String>()
    )?;
    writeln!(
        out,
        "<tr>{}</tr></table>",
        pairs
            .iter()
            .map(|(_, v)| format!("<td>{v}</td>"))
            .collect::<String>()
    )?;
    for (class, problems) in by_class(rec) {
        writeln!(
            out,
            "<h2>{} ({})</h2><p>{}</p>",
            esc(class_title(class)),
            count(rec, class),
            esc(class.help())
        )?;
        writeln!(out, "<table><tr><th>event</th><th>insert_id</th><th>user / device</th><th>captured</th><th>exported</th><th>detail</th></tr>")?;
        for p in problems {
            let [event, id, who, captured, exported, detail] = cells(p).map(|c| esc(&c));
            let diffs: String = p
                .diffs
                .iter()
                .map(|d| format!("<br><code>{}</code>", esc(&diff_line(d))))
                .collect();
            writeln!(
                out,
                "<tr><td>{event}</td><td><code>{id}</code></td><td>{who}</td><td>{captured}</td><td>{exported}</td><td>{detail}{diffs}</td></tr>"
            )?;
        }
        writeln!(out, "</table>")?;
    }
    let findings: Vec<_> = plan_findings(r).collect();
    if !findings.is_empty() {
        writeln!(out, "<h2>Plan findings</h2><table><tr><th>side</th><th>severity</th><th>code</th><th>path</th><th>expected / actual</th><th>event</th></tr>")?;
        for (side, f) in findings {
            writeln!(
                out,
                "<tr><td>{side}</td><td class=\"{sev}\">{sev}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                f.finding.code,
                esc(&f.finding.path),
                esc(&expected_actual(&f.finding)),
                esc(&f.event.label()),
                sev = f.finding.severity
            )?;
        }
        writeln!(out, "</table>")?;
    }
    writeln!(out, "</body></html>")
}
