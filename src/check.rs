//! `check` over journal files: read them in order as one session, judge
//! every record once, and add it to a report builder — a stream: memory
//! grows with the kinds of findings kept, not with events.

use std::path::Path;

use time::format_description::well_known::Rfc3339;

use crate::journal::{open_reader, JournalError};
use amptap_core::judge::report_capture;
use amptap_core::plan::{Plan, Validator};
use amptap_core::record::JournalWarning;
use amptap_core::report::{FindingEntry, Keep, ReportBuilder};

/// A journal that could not be read at all, or lines of one that were skipped.
#[derive(Debug)]
pub struct InputWarning {
    pub file: String,
    pub warning: JournalWarning,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error("writing the report: {0}")]
    Write(#[from] std::io::Error),
}

/// The builder a check of `journals` against `plan` fills.
pub fn builder(
    plan: &Plan,
    plan_label: Option<&str>,
    journals: &[&Path],
    generated: time::OffsetDateTime,
    keep: Keep,
) -> ReportBuilder {
    let inputs: Vec<String> = journals.iter().map(|p| p.display().to_string()).collect();
    let planned = plan_label.map(|label| (label.to_owned(), plan.events.keys().cloned().collect()));
    ReportBuilder::new(
        inputs,
        planned,
        generated.format(&Rfc3339).unwrap_or_default(),
    )
    .keep(keep)
}

/// Checks journals, in order, as one session, into `builder`; with
/// [`Keep::Stream`] each finding goes to `found` as soon as it is made.
/// Returns the lines that were skipped.
pub fn check_journals(
    builder: &mut ReportBuilder,
    plan: &Plan,
    journals: &[&Path],
    found: &mut dyn FnMut(&FindingEntry) -> std::io::Result<()>,
) -> Result<Vec<InputWarning>, CheckError> {
    let mut validator = Validator::new(plan);
    let mut warnings = Vec::new();
    let several = journals.len() > 1;
    for path in journals {
        let name = path.display().to_string();
        let mut reader = open_reader(path)?;
        for capture in reader.by_ref() {
            report_capture(
                builder,
                Some(&mut validator),
                &capture,
                several.then(|| name.clone()),
            );
            for entry in builder.drain() {
                found(&entry)?;
            }
        }
        warnings.extend(reader.warnings().iter().map(|w| InputWarning {
            file: name.clone(),
            warning: w.clone(),
        }));
    }
    Ok(warnings)
}
