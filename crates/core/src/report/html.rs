//! HTML: one self-contained file (inline CSS, no scripts, nothing fetched),
//! every piece of event content escaped.

use std::io::{self, Write};

use super::{escape_markup as esc, expected_actual, Report};

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}\
th{background:#f4f4f4}.error{color:#b00020}.warning{color:#8a6d00}.info{color:#555}code{background:#f4f4f4;padding:0 3px}\
.clean{color:#1b7f3b}.unseen{color:#888;font-style:italic}";

/// The start of a self-contained page: inline style, nothing fetched, no scripts.
pub(super) fn page_head(out: &mut dyn Write, title: &str) -> io::Result<()> {
    writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
    )?;
    writeln!(out, "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">")?;
    writeln!(
        out,
        "<title>{title}</title><style>{STYLE}</style></head><body>"
    )
}

pub fn write(r: &Report, out: &mut dyn Write) -> io::Result<()> {
    let by_type = r.findings_by_type();
    let s = &r.summary;
    page_head(out, "amptap check report")?;
    writeln!(out, "<h1>amptap check report</h1>")?;
    writeln!(
        out,
        "<p>{} · generated {}{}</p>",
        esc(&r.tool),
        esc(&r.generated),
        r.plan
            .as_ref()
            .map(|p| format!(" · plan <code>{}</code>", esc(p)))
            .unwrap_or_default()
    )?;
    writeln!(out, "<table><tr><th>requests</th><th>events</th><th>with findings</th><th>errors</th><th>warnings</th></tr>")?;
    writeln!(out, "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"error\">{}</td><td class=\"warning\">{}</td></tr></table>", s.requests, s.events, s.events_with_findings, s.errors, s.warnings)?;
    writeln!(out, "<h2>Event types</h2><table><tr><th>event type</th><th>events</th><th>with findings</th><th>findings by code</th></tr>")?;
    for t in &r.event_types {
        let codes: Vec<String> = t.by_code.iter().map(|(c, n)| format!("{c} ×{n}")).collect();
        let note = if t.events == 0 && t.in_plan {
            " <em>(planned, never seen)</em>"
        } else if t.in_plan || r.plan.is_none() {
            ""
        } else {
            " <em>(not in plan)</em>"
        };
        // Green means seen and clean: a planned type never seen is not.
        let class = match (t.events, t.events_with_findings) {
            (0, _) => " class=\"unseen\"",
            (_, 0) => " class=\"clean\"",
            _ => "",
        };
        writeln!(
            out,
            "<tr><td{class}>{}{note}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&t.event_type),
            t.events,
            t.events_with_findings,
            esc(&codes.join(", "))
        )?;
    }
    writeln!(out, "</table>")?;
    for t in r.event_types.iter().filter(|t| t.events_with_findings > 0) {
        writeln!(out, "<h2>{}</h2><table><tr><th>severity</th><th>code</th><th>path</th><th>expected / actual</th><th>event</th></tr>", esc(&t.event_type))?;
        for e in by_type.of(&t.event_type) {
            let f = &e.finding;
            writeln!(
                out,
                "<tr><td class=\"{sev}\">{sev}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
                f.code,
                esc(&f.path),
                esc(&expected_actual(f)),
                esc(&e.event.label()),
                sev = f.severity
            )?;
        }
        writeln!(out, "</table>")?;
    }
    writeln!(out, "</body></html>")
}
