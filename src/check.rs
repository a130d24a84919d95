//! `check` over journal files: read them in order as one session, judge
//! every record, build the report.

use std::path::Path;

use time::format_description::well_known::Rfc3339;

use crate::journal::{open_reader, JournalError};
use amptap_core::judge::report_capture;
use amptap_core::plan::{Plan, Validator};
use amptap_core::record::JournalWarning;
use amptap_core::report::{Report, ReportBuilder};

/// A journal that could not be read at all, or lines of one that were skipped.
#[derive(Debug)]
pub struct InputWarning {
    pub file: String,
    pub warning: JournalWarning,
}

/// Checks journals, in order, as one session; returns the report and the
/// lines that were skipped.
pub fn check_journals(
    plan: &Plan,
    plan_label: Option<&str>,
    journals: &[&Path],
    generated: time::OffsetDateTime,
) -> Result<(Report, Vec<InputWarning>), JournalError> {
    let inputs: Vec<String> = journals.iter().map(|p| p.display().to_string()).collect();
    let planned = plan_label.map(|label| (label.to_owned(), plan.events.keys().cloned().collect()));
    let mut builder = ReportBuilder::new(
        inputs.clone(),
        planned,
        generated.format(&Rfc3339).unwrap_or_default(),
    );
    let mut validator = Validator::new(plan);
    let mut warnings = Vec::new();
    let several = journals.len() > 1;
    for (path, name) in journals.iter().zip(&inputs) {
        let mut reader = open_reader(path)?;
        for capture in reader.by_ref() {
            report_capture(
                &mut builder,
                Some(&mut validator),
                &capture,
                several.then(|| name.clone()),
            );
        }
        warnings.extend(reader.warnings().iter().map(|w| InputWarning {
            file: name.clone(),
            warning: w.clone(),
        }));
    }
    Ok((builder.finish(), warnings))
}
