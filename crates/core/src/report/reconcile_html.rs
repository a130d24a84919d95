//! The mismatch report as one HTML page.

use std::io::{self, Write};

use super::reconcile_out::{
    by_class, cells, class_title, count, diff_line, plan_findings, summary_pairs,
};
use super::{escape_markup as esc, expected_actual, ReconcileReport};
use crate::reconcile::Reconciliation;

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
