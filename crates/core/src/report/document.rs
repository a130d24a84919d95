//! The two report models — the check report and the reconcile report —
//! and what both can do: be written in every format, and give a verdict.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use super::{
    csv_out, html, junit, markdown, reconcile_csv, reconcile_html, reconcile_junit, reconcile_out,
    text, FindingEntry, Format, Report,
};
use crate::plan::Severity;
use crate::reconcile::Reconciliation;

/// The reconcile report: what was captured (checked against the plan, as
/// in a check report, whose fields it carries at the top level) × what
/// Amplitude's Export API holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReconcileReport {
    #[serde(flatten)]
    pub check: Report,
    pub reconcile: Reconciliation,
    /// The plan held against the exported rows (their `event.capture` is `"export"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exported_findings: Vec<FindingEntry>,
}

/// What every report can do: be written in each format, and give a verdict.
pub trait Document: std::fmt::Debug + Send {
    /// Writes it; `fail_on` marks JUnit test cases as failed.
    fn write(
        &self,
        format: Format,
        fail_on: Option<Severity>,
        out: &mut dyn Write,
    ) -> io::Result<()>;
    /// Whether anything is at or above `threshold` (`None`: never fail).
    fn fails(&self, threshold: Option<Severity>) -> bool;
    /// `check` or `reconcile`.
    fn kind(&self) -> &'static str;
}

impl Document for Report {
    fn write(
        &self,
        format: Format,
        fail_on: Option<Severity>,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        match format {
            Format::Text => text::write(self, out),
            Format::Json => {
                serde_json::to_writer_pretty(&mut *out, self)?;
                out.write_all(b"\n")
            }
            Format::Csv => csv_out::write(self, out),
            Format::Md => markdown::write(self, out),
            Format::Html => html::write(self, out),
            Format::Junit => junit::write(self, fail_on, out),
        }
    }

    fn fails(&self, threshold: Option<Severity>) -> bool {
        let s = &self.summary;
        let counted = |t: Severity| match t {
            Severity::Error => s.errors,
            Severity::Warning => s.errors + s.warnings,
            Severity::Info => s.errors + s.warnings + s.infos,
        };
        threshold.is_some_and(|t| {
            counted(t) > 0 || self.findings.iter().any(|f| f.finding.severity >= t)
        })
    }

    fn kind(&self) -> &'static str {
        "check"
    }
}

impl Document for ReconcileReport {
    fn write(
        &self,
        format: Format,
        fail_on: Option<Severity>,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let rec = &self.reconcile;
        match format {
            Format::Text => reconcile_out::text(self, rec, out),
            Format::Csv => reconcile_csv::csv(self, rec, out),
            Format::Md => reconcile_out::markdown(self, rec, out),
            Format::Html => reconcile_html::html(self, rec, out),
            Format::Junit => reconcile_junit::write(self, rec, fail_on, out),
            Format::Json => {
                serde_json::to_writer_pretty(&mut *out, self)?;
                out.write_all(b"\n")
            }
        }
    }

    fn fails(&self, threshold: Option<Severity>) -> bool {
        self.check.fails(threshold)
            || threshold.is_some_and(|t| {
                self.exported_findings
                    .iter()
                    .any(|f| f.finding.severity >= t)
                    || self.reconcile.problems.iter().any(|p| p.severity >= t)
            })
    }

    fn kind(&self) -> &'static str {
        "reconcile"
    }
}
