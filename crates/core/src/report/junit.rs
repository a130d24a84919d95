//! JUnit XML: one test case per event type, failed when it has findings at
//! or above `--fail-on`; planned types never seen are skipped cases.

use std::io::{self, Write};

use super::{escape_markup as esc, expected_actual, Report};
use crate::plan::Severity;

pub fn write(r: &Report, fail_on: Option<Severity>, out: &mut dyn Write) -> io::Result<()> {
    let by_type = r.findings_by_type();
    let failing = |t: &str| {
        fail_on.is_some_and(|level| by_type.of(t).iter().any(|f| f.finding.severity >= level))
    };
    let failures = r
        .event_types
        .iter()
        .filter(|t| failing(&t.event_type))
        .count();
    let skipped = r.event_types.iter().filter(|t| t.events == 0).count();
    writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
    writeln!(out, "<testsuites name=\"amptap check\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\">", r.event_types.len())?;
    writeln!(
        out,
        "  <testsuite name=\"amptap check\" tests=\"{}\" failures=\"{failures}\" skipped=\"{skipped}\" errors=\"0\" timestamp=\"{}\">",
        r.event_types.len(),
        esc(&r.generated)
    )?;
    for t in &r.event_types {
        writeln!(
            out,
            "    <testcase classname=\"amptap.events\" name=\"{}\">",
            esc(&t.event_type)
        )?;
        if t.events == 0 {
            writeln!(out, "      <skipped message=\"planned, never seen\"/>")?;
        }
        let lines: Vec<String> = by_type
            .of(&t.event_type)
            .iter()
            .map(|e| {
                let f = &e.finding;
                format!(
                    "{} {} at {}: {} ({})",
                    f.severity,
                    f.code,
                    f.path,
                    expected_actual(f),
                    e.event.label()
                )
            })
            .collect();
        if failing(&t.event_type) {
            let codes: Vec<String> = t
                .code_paths()
                .into_iter()
                .map(|(c, p, n)| format!("{c} ×{n} {p}").trim_end().to_owned())
                .collect();
            writeln!(
                out,
                "      <failure message=\"{} of {} events with findings: {}\" type=\"amptap.findings\">{}</failure>",
                t.events_with_findings,
                t.events,
                esc(&codes.join(", ")),
                esc(&lines.join("\n"))
            )?;
        } else if !lines.is_empty() {
            writeln!(
                out,
                "      <system-out>{}</system-out>",
                esc(&lines.join("\n"))
            )?;
        }
        writeln!(out, "    </testcase>")?;
    }
    writeln!(out, "  </testsuite>\n</testsuites>")
}
