//! Runs the validator over captures: the engine behind `amptap check`,
//! `serve --plan` and the TUI's judgement of each event.

use std::path::Path;

use time::format_description::well_known::Rfc3339;

use crate::capture::journal::{JournalError, JournalWarning};
use crate::capture::{Capture, JournalReader};
use crate::plan::{EventContext, Finding, Plan, Validator};
use crate::report::{EventRef, Report, ReportBuilder};

/// The findings of each event of one capture, in event order.
pub fn check_capture(validator: &mut Validator<'_>, capture: &Capture) -> Vec<Vec<Finding>> {
    let ctx = EventContext {
        received_ms: capture.received_ms(),
        seq: capture.seq,
        delivered: capture.accepted(),
        min_id_length: capture
            .options
            .as_ref()
            .and_then(|o| o.get("min_id_length"))
            .and_then(serde_json::Value::as_u64)
            .and_then(|n| usize::try_from(n).ok()),
    };
    capture
        .events
        .iter()
        .map(|event| {
            let mut findings = Vec::new();
            validator.check(event, &ctx, &mut findings);
            findings
        })
        .collect()
}

/// Puts one capture into a report: a request, and each event with its
/// findings when there is a `validator` (without one, the events are counted only).
pub fn report_capture(
    builder: &mut ReportBuilder,
    validator: Option<&mut Validator<'_>>,
    capture: &Capture,
    capture_name: Option<String>,
) {
    builder.add_request();
    let findings = match validator {
        Some(v) => check_capture(v, capture),
        None => vec![Vec::new(); capture.events.len()],
    };
    let received = capture.received.format(&Rfc3339).unwrap_or_default();
    for (index, (event, findings)) in capture.events.iter().zip(findings).enumerate() {
        let event_ref = EventRef {
            insert_id: event.insert_id().map(str::to_owned),
            seq: capture.seq,
            index,
            received: received.clone(),
            user_id: event.user_id().map(str::to_owned),
            device_id: event.device_id().map(str::to_owned),
            capture: capture_name.clone(),
            tag: capture.tag.clone(),
        };
        builder.add_event(event.event_type(), event_ref, findings);
    }
}

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
        let mut reader = JournalReader::open(path)?;
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
