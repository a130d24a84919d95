//! JUnit XML for a reconcile: a test case per class, passing when the class
//! is empty, and one failed test case per problem at or above `--fail-on`
//! (below it, a passing case with the problem in its output), so a CI's test
//! view lists every event that did not arrive as sent.

use std::io::{self, Write};

use super::reconcile_out::{class_title, detail};
use super::{escape_markup as esc, ReconcileReport};
use crate::plan::Severity;
use crate::reconcile::{Problem, Reconciliation};

pub fn write(
    r: &ReconcileReport,
    rec: &Reconciliation,
    fail_on: Option<Severity>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let failing = |p: &Problem| fail_on.is_some_and(|level| p.severity >= level);
    let failures = rec.problems.iter().filter(|p| failing(p)).count();
    let empty_classes: Vec<_> = crate::reconcile::Class::ALL
        .into_iter()
        .filter(|c| !rec.problems.iter().any(|p| p.class == *c))
        .collect();
    let tests = rec.problems.len() + empty_classes.len();
    writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
    writeln!(
        out,
        "<testsuites name=\"amptap reconcile\" tests=\"{tests}\" failures=\"{failures}\">"
    )?;
    writeln!(
        out,
        "  <testsuite name=\"amptap reconcile\" tests=\"{tests}\" failures=\"{failures}\" skipped=\"0\" errors=\"0\" timestamp=\"{}\">",
        esc(&r.check.generated)
    )?;
    for class in empty_classes {
        writeln!(
            out,
            "    <testcase classname=\"amptap.reconcile.{}\" name=\"no event {}\"/>",
            class.as_str(),
            esc(class_title(class))
        )?;
    }
    for p in &rec.problems {
        let name = format!(
            "{} {}",
            p.event_type.as_deref().unwrap_or("(no event_type)"),
            p.insert_id.as_deref().unwrap_or("(no insert_id)")
        );
        writeln!(
            out,
            "    <testcase classname=\"amptap.reconcile.{}\" name=\"{}\">",
            p.class.as_str(),
            esc(&name)
        )?;
        let what = format!("{}: {}", class_title(p.class), p.class.help());
        let detail = detail(p);
        if failing(p) {
            writeln!(
                out,
                "      <failure message=\"{}\" type=\"amptap.{}\">{}</failure>",
                esc(&what),
                p.class.as_str(),
                esc(&detail)
            )?;
        } else {
            writeln!(
                out,
                "      <system-out>{} — {}</system-out>",
                esc(&what),
                esc(&detail)
            )?;
        }
        writeln!(out, "    </testcase>")?;
    }
    writeln!(out, "  </testsuite>\n</testsuites>")
}
